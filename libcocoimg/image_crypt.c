/*
 * The operations layer's side of crypt/: keyrings get their way to the
 * ocicrypt keyproviders here (crypt/ only sees coco_provider_ops; the
 * client lives in broker/keyprovider.c), and layers are encrypted,
 * decrypted or rewrapped during a copy: crypt/transform.c decides what
 * happens and builds the stage chain, this file fetches the source blob
 * and stores the result at the destination.
 */
#include "base.h"
#include "broker/keyprovider.h"
#include "api.h"
#include "image_broker.h"
#include "crypt/crypt.h"
#include "digest.h"
#include "image_crypt.h"
#include "json.h"
#include "oci/oci.h"
#include "stream.h"
#include "transport.h"

#include <stdlib.h>
#include <string.h>

static const coco_provider_ops keyprovider_ops = {
	.open = coco_kp_open,
	.invoke = coco_kp_invoke,
	.close = coco_kp_close,
};

COCOIMG_API int cocoimg_keyring_new(cocoimg_keyring **out)
{
	int rc = coco_keyring_alloc(out);
	if (!rc) {
		coco_keyring_set_provider_ops(*out, &keyprovider_ops, NULL);
		coco_op_keyring_attach(*out);
	}
	return rc;
}

/* A decryption key may be a resource URI (a private key the trust broker
 * releases): the context must reach the broker before crypt/ reads it. */
COCOIMG_API int cocoimg_keyring_add_decryption_key(cocoimg_ctx *ctx, cocoimg_keyring *kr,
                                                   const char *spec)
{
	COCO_API_ENTER(ctx);
	coco_op_broker_attach(ctx);
	return coco_keyring_add_decryption_key(ctx, kr, spec);
}

/* ---- layers during a copy (crypt/transform.c decides, this moves) ---- */

/* Copy the blob unchanged (the destination sink verifies it). */
static int copy_blob(coco_src *src, coco_dest *dst, const coco_desc *in)
{
	int has = dst->ops->has_blob ? dst->ops->has_blob(dst, in->digest, in->size) : 0;
	if (has < 0)
		return has;
	if (has == 1)
		return 0;
	coco_stage *sink = NULL, *top = NULL;
	int rc = dst->ops->put_blob(dst, in->digest, in->size, &sink);
	if (!rc && !(top = coco_prog_stage_new(dst->ctx, "layer", in->digest, in->size, sink)))
		rc = coco_oom(dst->ctx);
	if (!rc)
		rc = src->ops->get_blob(src, in, top);
	coco_stage_chain_free(top ? top : sink);
	return rc;
}

/* Per-stage nanoseconds of a finished chain into report "stats" (the
 * stage names; summed by image.c into the copy report). */
static void chain_stats(coco_stage *head, json_t *report)
{
	static const char *const names[] = { "network", "digest", "decrypt", "encrypt", "write" };
	uint64_t ns[COCO_ARRAY_SIZE(names)] = { 0 };
	for (coco_stage *s = head; s; s = s->next)
		for (size_t k = 0; k < COCO_ARRAY_SIZE(names); k++)
			if (s->name && !strcmp(s->name, names[k]))
				ns[k] += s->nsec;
	json_t *st = json_object();
	for (size_t k = 0; st && k < COCO_ARRAY_SIZE(names); k++)
		if (ns[k])
			json_object_set_new(st, names[k], json_integer((json_int_t)ns[k]));
	if (st)
		json_object_set_new(report, "stats", st);
}

/*
 * Encrypt or decrypt: source blob -> the chain crypt/ builds -> a new blob
 * at the destination.  The HMAC is checked (decrypt) when the stream ends,
 * before the destination blob is committed.
 */
static int transcode_layer(cocoimg_ctx *ctx, const cocoimg_copy_options *opts, coco_src *src,
                           coco_dest *dst, const coco_desc *in, const char *what, bool encrypt,
                           json_t **out_desc, json_t *report)
{
	coco_crypt_layer *l = NULL;
	coco_stage *sink = NULL, *head = NULL, *top = NULL;
	int rc = encrypt ? coco_crypt_encrypt_begin(ctx, opts->keys, in, what, &l)
	                 : coco_crypt_decrypt_begin(ctx, opts->keys, in, what, &l);
	if (!rc)
		rc = dst->ops->put_blob(dst, NULL, -1, &sink);
	if (!rc)
		rc = coco_crypt_chain_new(ctx, l, sink, &head);
	/* progress over the source bytes; also where a cancellation lands */
	if (!rc && !(top = coco_prog_stage_new(ctx, "layer", in->digest, in->size, head)))
		rc = coco_oom(ctx);
	if (!rc)
		rc = src->ops->get_blob(src, in, top);
	char digest[COCO_DIGEST_STRLEN];
	uint64_t size = 0;
	if (!rc) {
		coco_dest_blob_done(sink, digest, &size);
		if (!digest[0])
			rc = coco_seterr(ctx, COCOIMG_EINTERNAL, "%s: destination did not report the blob",
			                 what);
	}
	bool stats = opts->collect_stats;
	if (!rc)
		rc = coco_crypt_layer_done(ctx, l, digest, size, stats, out_desc, report);
	if (!rc && report && stats)
		chain_stats(head, report);
	coco_stage_chain_free(top ? top : head);
	coco_crypt_layer_free(l);
	if (rc == COCOIMG_ENOMEM && encrypt)
		coco_seterr(ctx, rc, "%s: out of memory", what);
	return rc;
}

int coco_crypt_transform_layer(cocoimg_ctx *ctx, const cocoimg_copy_options *opts, coco_src *src,
                               coco_dest *dst, const coco_desc *in, size_t idx, size_t n,
                               json_t **out_desc, json_t *report)
{
	*out_desc = NULL;
	char *what = coco_asprintf("layer %s", in->digest ? in->digest : "(no digest)");
	if (!what)
		return coco_oom(ctx);
	coco_crypt_action act;
	bool selected;
	int rc = coco_crypt_plan_layer(ctx, opts, in, idx, n, report, &act, &selected);
	if (!rc && (act == COCO_CRYPT_ENCRYPT || act == COCO_CRYPT_DECRYPT)) {
		rc = transcode_layer(ctx, opts, src, dst, in, what, act == COCO_CRYPT_ENCRYPT, out_desc,
		                     report);
	} else if (!rc) {
		/* copy or rewrap: the same blob under the old or a new descriptor */
		if (act == COCO_CRYPT_REWRAP)
			rc = coco_crypt_rewrap(ctx, opts, in, selected, what, out_desc, report);
		if (!rc)
			rc = copy_blob(src, dst, in);
		if (!rc && !*out_desc && !(*out_desc = json_deep_copy(in->json)))
			rc = coco_oom(ctx);
	}
	if (rc) {
		json_decref(*out_desc);
		*out_desc = NULL;
	}
	free(what);
	return rc;
}
