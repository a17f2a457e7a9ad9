/*
 * Sigstore bundles -- work in progress: every entry point answers
 * COCOIMG_EUNSUPPORTED until the verifier lands.
 */
#include "sigstore.h"

#include <stdlib.h>
#include <string.h>

const char *coco_sigcheck_name(coco_sigcheck c)
{
	switch (c) {
	case COCO_SIGCHECK_NONE: return "";
	case COCO_SIGCHECK_BUNDLE: return "bundle";
	case COCO_SIGCHECK_CHAIN: return "chain";
	case COCO_SIGCHECK_SCT: return "sct";
	case COCO_SIGCHECK_TLOG: return "tlog";
	case COCO_SIGCHECK_TIMESTAMP: return "timestamp";
	case COCO_SIGCHECK_IDENTITY: return "identity";
	case COCO_SIGCHECK_ISSUER: return "issuer";
	case COCO_SIGCHECK_DIGEST: return "digest";
	case COCO_SIGCHECK_SIGNATURE: return "signature";
	}
	return "unknown";
}

void coco_sigstore_result_clear(coco_sigstore_result *r)
{
	if (!r)
		return;
	free(r->media_type);
	free(r->payload_type);
	coco_buf_free(&r->payload);
	free(r->predicate_type);
	free(r->san);
	free(r->issuer);
	*r = (coco_sigstore_result){0};
}

int coco_sigstore_verify_bundle(cocoimg_ctx *ctx, const void *bundle, size_t len,
                                const coco_sigstore_artifact *art,
                                const coco_sigstore_policy *pol, coco_sigstore_result *res)
{
	(void)bundle;
	(void)len;
	(void)art;
	(void)pol;
	if (res)
		*res = (coco_sigstore_result){0};
	return coco_seterr(ctx, COCOIMG_EUNSUPPORTED, "Sigstore bundles: not supported yet");
}

/* Placeholders until fulcio.c, rekor.c and tsa.c land. */
void coco_fulcio_identity_clear(coco_fulcio_identity *id)
{
	if (!id)
		return;
	free(id->san);
	coco_strv_free(id->sans, id->n_sans);
	free(id->issuer);
	*id = (coco_fulcio_identity){0};
}

int coco_fulcio_verify(cocoimg_ctx *ctx, const coco_trustroot *root, X509 *leaf,
                       STACK_OF(X509) *chain, int64_t at, bool check_sct,
                       coco_fulcio_identity *id, coco_sigcheck *failed)
{
	(void)root, (void)leaf, (void)chain, (void)at, (void)check_sct, (void)id;
	if (failed)
		*failed = COCO_SIGCHECK_CHAIN;
	return coco_seterr(ctx, COCOIMG_EUNSUPPORTED, "Fulcio certificates: not supported yet");
}

int coco_fulcio_match(cocoimg_ctx *ctx, const coco_fulcio_identity *id,
                      const coco_sigstore_policy *pol, coco_sigcheck *failed)
{
	(void)id, (void)pol;
	if (failed)
		*failed = COCO_SIGCHECK_IDENTITY;
	return coco_seterr(ctx, COCOIMG_EUNSUPPORTED, "certificate identities: not supported yet");
}

int coco_rekor_set_verify(cocoimg_ctx *ctx, const coco_trustroot *root, const char *body_b64,
                          int64_t integrated_time, int64_t log_index,
                          const unsigned char *log_id, size_t log_id_len,
                          const unsigned char *set, size_t set_len)
{
	(void)root, (void)body_b64, (void)integrated_time, (void)log_index;
	(void)log_id, (void)log_id_len, (void)set, (void)set_len;
	return coco_seterr(ctx, COCOIMG_EUNSUPPORTED, "Rekor SET: not supported yet");
}

int coco_merkle_verify_inclusion(cocoimg_ctx *ctx, uint64_t index, uint64_t tree_size,
                                 const unsigned char leaf_hash[32],
                                 const unsigned char (*hashes)[32], size_t n,
                                 const unsigned char root[32])
{
	(void)index, (void)tree_size, (void)leaf_hash, (void)hashes, (void)n, (void)root;
	return coco_seterr(ctx, COCOIMG_EUNSUPPORTED, "inclusion proofs: not supported yet");
}

void coco_merkle_leaf_hash(const void *data, size_t len, unsigned char out[32])
{
	(void)data, (void)len;
	memset(out, 0, 32);
}

int coco_checkpoint_verify(cocoimg_ctx *ctx, const coco_trustroot *root, const char *envelope,
                           size_t len, const coco_tlog_key **by, coco_checkpoint *out)
{
	(void)root, (void)by;
	return coco_checkpoint_parse(ctx, envelope, len, out);
}

int coco_checkpoint_parse(cocoimg_ctx *ctx, const char *envelope, size_t len, coco_checkpoint *out)
{
	(void)envelope, (void)len;
	*out = (coco_checkpoint){0};
	return coco_seterr(ctx, COCOIMG_EUNSUPPORTED, "checkpoints: not supported yet");
}

void coco_checkpoint_clear(coco_checkpoint *c)
{
	if (c) {
		free(c->origin);
		*c = (coco_checkpoint){0};
	}
}

int coco_tsa_verify(cocoimg_ctx *ctx, const coco_trustroot *root, const unsigned char *token,
                    size_t token_len, const unsigned char *signature, size_t sig_len,
                    int64_t *at)
{
	(void)root, (void)token, (void)token_len, (void)signature, (void)sig_len;
	*at = 0;
	return coco_seterr(ctx, COCOIMG_EUNSUPPORTED, "RFC 3161 timestamps: not supported yet");
}
