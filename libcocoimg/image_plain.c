/*
 * require-encrypted: refuse an image with a plaintext layer before any
 * layer is touched (see image_plain.h).
 */
#include "image_plain.h"
#include "oci/resolve.h"

#include <stdlib.h>

#define MAX_DEPTH 4

int coco_op_require_encrypted(cocoimg_ctx *ctx, const coco_manifest *man, const char *ref)
{
	if (!coco_opt_bool(ctx, NULL, "require-encrypted", false))
		return 0;
	for (size_t i = 0; i < man->n_layers; i++)
		if (!coco_mt_is_encrypted(man->layers[i].media_type))
			return coco_seterr(ctx, COCOIMG_EPOLICY, "%s: layer %s is not encrypted and "
			                   "encrypted layers are required (require-encrypted)", ref,
			                   man->layers[i].digest);
	return 0;
}

static int check_tree(cocoimg_ctx *ctx, coco_src *src, const coco_manifest *m, const char *ref,
                      int depth)
{
	if (m->kind != COCO_KIND_INDEX)
		return coco_op_require_encrypted(ctx, m, ref);
	if (depth > MAX_DEPTH)
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: image index nested too deeply", ref);
	int rc = 0;
	for (size_t i = 0; !rc && i < m->n_manifests; i++) {
		const coco_desc *d = &m->manifests[i];
		if (!coco_mt_is_manifest(d->media_type))
			continue;   /* not an image: copied as it is, never unpacked */
		coco_buf raw = COCO_BUF_INIT;
		char *mt = NULL;
		char dg[COCO_DIGEST_STRLEN];
		coco_manifest *im = NULL;
		rc = coco_fetch_manifest(src, d, &raw, &mt, dg, &im);
		if (!rc)
			rc = check_tree(ctx, src, im, ref, depth + 1);
		coco_manifest_free(im);
		free(mt);
		coco_buf_free(&raw);
	}
	return rc;
}

int coco_op_require_encrypted_tree(cocoimg_ctx *ctx, coco_src *src, const coco_manifest *m,
                                   const char *ref)
{
	if (!coco_opt_bool(ctx, NULL, "require-encrypted", false))
		return 0;
	return check_tree(ctx, src, m, ref, 0);
}
