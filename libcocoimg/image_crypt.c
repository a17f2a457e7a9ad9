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
#include "pipeline.h"
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

/* Where a layer's progress is reported: phase, 1-based index of n. */
static coco_meter_opts layer_meter(const coco_desc *in, int phase, size_t idx, size_t n)
{
	coco_meter_opts mo = { .what = "layer", .digest = in->digest, .total = in->size,
		               .phase = phase, .layer = (unsigned)idx + 1, .layers = (unsigned)n };
	return mo;
}

/* Copy the blob unchanged (the destination sink verifies it); *written
 * gets the bytes stored (0 when the destination had it). */
static int copy_blob(coco_src *src, coco_dest *dst, const coco_desc *in, size_t idx, size_t n,
                     uint64_t *written)
{
	int phase = dst->ref && dst->ref->transport == COCO_TR_DOCKER ? COCOIMG_PHASE_UPLOAD
	                                                               : COCOIMG_PHASE_DOWNLOAD;
	coco_meter_opts mo = layer_meter(in, phase, idx, n);
	int has = dst->ops->has_blob ? dst->ops->has_blob(dst, in->digest, in->size) : 0;
	if (has < 0)
		return has;
	if (has == 1) {
		coco_progress_src ps = { mo.what, mo.digest, mo.phase, mo.layer, mo.layers };
		return coco_progress(dst->ctx, &ps, (uint64_t)in->size, (uint64_t)in->size, 1);
	}
	coco_stage *sink = NULL, *s;
	int rc = dst->ops->put_blob(dst, in->digest, in->size, &sink);
	if (rc)
		return rc;
	/* progress over the blob; also where a cancellation lands */
	coco_pipe pl;
	coco_pipe_init(&pl, dst->ctx, sink);
	coco_pipe_push(&pl, coco_meter_stage_new(dst->ctx, &mo, coco_pipe_head(&pl), &s), &s);
	if (!coco_pipe_built(&pl))
		coco_pipe_note(&pl, 0, src->ops->get_blob(src, in, coco_pipe_head(&pl)));
	rc = coco_pipe_end(&pl);
	if (!rc)
		*written = in->size > 0 ? (uint64_t)in->size : 0;
	return rc;
}

/* Per-stage nanoseconds of a finished chain into report "stats" (the
 * stage names; summed by image.c into the copy report). */
static void chain_stats(coco_stage *head, json_t *report)
{
	static const char *const names[] = { "network", "digest", "decrypt", "encrypt", "write" };
	static const char *const keys[] = { "network_ns", "digest_ns", "decrypt_ns", "encrypt_ns",
		                             "write_ns" };
	uint64_t ns[COCO_ARRAY_SIZE(names)] = { 0 };
	for (coco_stage *s = head; s; s = s->next)
		for (size_t k = 0; k < COCO_ARRAY_SIZE(names); k++)
			if (s->name && !strcmp(s->name, names[k]))
				ns[k] += s->nsec;
	json_t *st = json_object();
	for (size_t k = 0; st && k < COCO_ARRAY_SIZE(names); k++)
		if (ns[k])
			json_object_set_new(st, keys[k], json_integer((json_int_t)ns[k]));
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
                           const coco_meter_opts *mo, json_t **out_desc, json_t *report,
                           uint64_t *written)
{
	coco_crypt_layer *l = NULL;
	coco_stage *sink = NULL;
	coco_pipe pl;
	int rc = encrypt ? coco_crypt_encrypt_begin(ctx, opts->keys, in, what, &l)
	                 : coco_crypt_decrypt_begin(ctx, opts->keys, in, what, &l);
	if (!rc)
		rc = dst->ops->put_blob(dst, NULL, -1, &sink);
	coco_pipe_init(&pl, ctx, sink);
	if (!rc)
		rc = coco_crypt_chain_build(l, &pl);
	/* the cipher digests the ciphertext in its HMAC pass: the sink need not */
	if (!rc && coco_crypt_layer_has_out_digest(l))
		coco_dest_blob_digest_from(sink, coco_crypt_layer_out_digest, l);
	/* progress over the source bytes; also where a cancellation lands */
	coco_stage *crypt_head = coco_pipe_head(&pl);
	if (!rc) {
		coco_stage *s;
		coco_pipe_push(&pl, coco_meter_stage_new(ctx, mo, coco_pipe_head(&pl), &s), &s);
		rc = coco_pipe_built(&pl);
	}
	if (!rc)
		rc = coco_pipe_note(&pl, 0, src->ops->get_blob(src, in, coco_pipe_head(&pl)));
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
		rc = coco_crypt_layer_done(ctx, l, digest, size, out_desc, report);
	if (!rc)
		*written = size;
	if (!rc && report && stats)
		chain_stats(crypt_head, report);
	int prc = coco_pipe_end(&pl);
	rc = rc ? rc : prc;
	coco_crypt_layer_free(l);
	if (rc == COCOIMG_ENOMEM && encrypt)
		coco_seterr(ctx, rc, "%s: out of memory", what);
	return rc;
}

int coco_crypt_transform_layer(cocoimg_ctx *ctx, const cocoimg_copy_options *opts, coco_src *src,
                               coco_dest *dst, const coco_desc *in, size_t idx, size_t n,
                               json_t **out_desc, json_t *report, uint64_t *written)
{
	*out_desc = NULL;
	*written = 0;
	char *what = coco_asprintf("layer %s", in->digest ? in->digest : "(no digest)");
	if (!what)
		return coco_oom(ctx);
	coco_crypt_action act;
	bool selected;
	int rc = coco_crypt_plan_layer(ctx, opts, in, idx, n, &act, &selected);
	if (!rc && (act == COCO_CRYPT_ENCRYPT || act == COCO_CRYPT_DECRYPT)) {
		bool enc = act == COCO_CRYPT_ENCRYPT;
		coco_meter_opts mo = layer_meter(in, enc ? COCOIMG_PHASE_ENCRYPT : COCOIMG_PHASE_DECRYPT,
		                                 idx, n);
		rc = transcode_layer(ctx, opts, src, dst, in, what, enc, &mo, out_desc, report, written);
	} else if (!rc) {
		/* copy or rewrap: the same blob under the old or a new descriptor */
		if (act == COCO_CRYPT_REWRAP)
			rc = coco_crypt_rewrap(ctx, opts, in, selected, what, out_desc, report);
		if (!rc)
			rc = copy_blob(src, dst, in, idx, n, written);
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
