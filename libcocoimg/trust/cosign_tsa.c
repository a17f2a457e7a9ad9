/*
 * The RFC 3161 timestamp of a legacy cosign signature.
 *
 * `cosign sign --timestamp-server-url` asks a timestamp authority to stamp
 * the raw signature bytes (the base64-decoded signature annotation) and
 * stores the answer on the signature layer, beside or instead of the
 * Rekor bundle annotation, as dev.sigstore.cosign/rfc3161timestamp: a JSON
 * object whose member "SignedRFC3161Timestamp" is the base64 DER of the
 * TimeStampResp.  cosign reads that object as a map of strings and the
 * member as standard base64; so does this parser.
 *
 * The token is verified by tsa.c against the timestamp authorities of a
 * sigstore trusted root (trustedRootPath, --trusted-root): its message
 * imprint must be the hash of the signature bytes, and the TSA chain valid
 * at the token's time.  That time is then a proven signing time, at which
 * the certificate must be valid (cosign_cert.c).
 */
#include "sigstore.h"
#include "trust.h"
#include "../base.h"
#include "../json.h"

#include <string.h>

#define MEMBER "SignedRFC3161Timestamp"
#define WHAT "the " COCO_COSIGN_ANN_RFC3161 " annotation"

/* Every member of a JSON object is a string (Go's map[string]string). */
static bool all_strings(json_t *o)
{
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		(void)k;
		if (!json_is_string(v))
			return false;
	}
	return true;
}

int coco_cosign_rfc3161_parse(cocoimg_ctx *ctx, const char *json, size_t len, coco_buf *der)
{
	json_t *j = NULL;
	int rc = coco_json_parse(ctx, json, len, WHAT, COCOIMG_EPOLICY, &j);
	if (rc)
		return rc;
	const char *b64 = json_string_value(json_object_get(j, MEMBER));
	if (!json_is_object(j) || !all_strings(j))
		rc = coco_seterr(ctx, COCOIMG_EPOLICY, "%s is not a JSON object of strings", WHAT);
	else if (!b64)
		rc = coco_seterr(ctx, COCOIMG_EPOLICY, "%s has no %s", WHAT, MEMBER);
	else if ((rc = coco_go_b64_decode(b64, json_string_length(json_object_get(j, MEMBER)),
	                                  der)) == COCOIMG_ENOMEM)
		rc = coco_oom(ctx);
	else if (rc || !der->len)
		rc = coco_seterr(ctx, COCOIMG_EPOLICY, "%s: %s is not base64", WHAT, MEMBER);
	json_decref(j);
	return rc;
}

int coco_cosign_rfc3161_verify(cocoimg_ctx *ctx, const coco_trustroot *root, const char *json,
                               const unsigned char *raw_sig, size_t raw_sig_len, int64_t *at)
{
	coco_buf der = COCO_BUF_INIT;
	*at = 0;
	int rc = coco_cosign_rfc3161_parse(ctx, json, strlen(json), &der);
	if (rc == 0 && !root->n_tsas)
		rc = coco_seterr(ctx, COCOIMG_EPOLICY, "the trusted root lists no timestamp authority");
	if (rc == 0)
		rc = coco_tsa_verify(ctx, root, der.data, der.len, raw_sig, raw_sig_len, at);
	coco_buf_free(&der);
	return rc;
}

bool coco_cosign_rfc3161_usable(const coco_sigstore_sig *sig, const coco_cosign_trust *t)
{
	return sig->rfc3161_json && t->tlog_root && t->tlog_root->n_tsas > 0;
}
