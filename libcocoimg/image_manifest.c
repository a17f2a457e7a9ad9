/*
 * cocoimg_image_fetch_manifest: the manifest or index a reference names,
 * byte for byte as the source holds it, with no platform selection (what
 * `skopeo inspect --raw` prints).  Operations layer.
 */
#include "api.h"
#include "base.h"
#include "digest.h"
#include "image_open.h"
#include "transport.h"

#include <stdlib.h>
#include <string.h>

static int check_pinned(cocoimg_ctx *ctx, const coco_src *src, const coco_buf *b,
                        char dg[COCO_DIGEST_STRLEN])
{
	const char *want = src->ref && src->ref->transport == COCO_TR_DOCKER ? src->ref->docker.digest
	                                                                      : NULL;
	if (coco_digest_like(want, b->data, b->len, dg))
		return coco_oom(ctx);
	if (want && strcmp(want, dg))
		return coco_seterr(ctx, COCOIMG_EDIGEST, "manifest %s: content has digest %s", want, dg);
	return 0;
}

/* The bytes, media type and digest into the caller's pointers. */
static int hand_out(cocoimg_ctx *ctx, const coco_buf *b, const char *mt, const char *dg,
                    char **manifest, size_t *len, char **media_type, char **digest)
{
	*manifest = coco_strndup((const char *)b->data, b->len);
	char *m = media_type ? coco_strdup(mt ? mt : "") : NULL;
	char *d = digest ? coco_strdup(dg) : NULL;
	if (!*manifest || (media_type && !m) || (digest && !d)) {
		free(*manifest);
		*manifest = NULL;
		free(m);
		free(d);
		return coco_oom(ctx);
	}
	if (media_type)
		*media_type = m;
	if (digest)
		*digest = d;
	if (len)
		*len = b->len;
	return 0;
}

COCOIMG_API int cocoimg_image_fetch_manifest(cocoimg_ctx *ctx, const char *image, char **manifest,
                                             size_t *len, char **media_type, char **digest)
{
	COCO_API_ENTER(ctx);
	if (manifest)
		*manifest = NULL;
	if (media_type)
		*media_type = NULL;
	if (digest)
		*digest = NULL;
	if (len)
		*len = 0;
	if (!image || !manifest)
		return coco_seterr(ctx, COCOIMG_EINVAL, "an image reference and an output are required");
	coco_src *src = NULL;
	coco_buf b = COCO_BUF_INIT;
	char *mt = NULL;
	char dg[COCO_DIGEST_STRLEN];
	int rc = coco_src_open(ctx, image, "src", &src);
	if (!rc)
		rc = src->ops->get_manifest(src, NULL, &b, &mt);
	if (!rc)
		rc = check_pinned(ctx, src, &b, dg);
	if (!rc)
		rc = hand_out(ctx, &b, mt, dg, manifest, len, media_type, digest);
	free(mt);
	coco_buf_free(&b);
	coco_src_close(src);
	return rc;
}
