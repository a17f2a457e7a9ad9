/*
 * The Rekor SET of a legacy cosign signature: the annotation
 * dev.sigstore.cosign/bundle = {"SignedEntryTimestamp": B64,
 * "Payload": {"body", "integratedTime", "logIndex", "logID"}}, checked as
 * containers/image's VerifyRekorSET does:
 *
 *   1. the SET is an ECDSA signature over SHA-256 of the RFC 8785
 *      canonical form of Payload, by one of the policy's Rekor keys (the
 *      logID is signed but not looked at); with a sigstore trusted root the
 *      key is the log the logID names, valid at the integrated time;
 *   2. the body is a hashedrekord 0.0.1 entry (the only kind cosign writes
 *      for a legacy signature) whose logged key or certificate has the same
 *      DER as the signer, whose logged signature is this signature and
 *      whose data hash is SHA-256 of this payload (sha256 only, as
 *      containers/image);
 *   3. the integrated time is the time the signature is proven to exist:
 *      the Fulcio certificate is checked at that time (cosign_cert.c).
 *
 * Canonical JSON: the four members sorted by name, no whitespace, strings
 * escaped as RFC 8785 does; integers beyond 2^53 are refused (the Go
 * canonicalizer would print them as rounded doubles).
 */
#include "trust.h"
#include "sigstore.h"
#include "../base.h"

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#define JS_SAFE_INT ((int64_t)1 << 53)

/* A JSON string, escaped as RFC 8785 (ES6 JSON.stringify) writes it. */
static int jcs_string(coco_buf *b, const char *s)
{
	int rc = coco_buf_putc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; !rc && *p; p++) {
		static const char short_esc[] = "btn\0fr";
		if (*p == '"' || *p == '\\')
			rc = coco_buf_appendf(b, "\\%c", *p);
		else if (*p >= 0x08 && *p <= 0x0d && *p != 0x0b)
			rc = coco_buf_appendf(b, "\\%c", short_esc[*p - 0x08]);
		else if (*p < 0x20)
			rc = coco_buf_appendf(b, "\\u%04x", *p);
		else
			rc = coco_buf_putc(b, (char)*p);
	}
	return rc ? rc : coco_buf_putc(b, '"');
}

/* The canonical Payload the SET signs. */
static int set_canonical(const coco_rekor_bundle *rb, coco_buf *out)
{
	int rc;
	if ((rc = coco_buf_appendf(out, "{\"body\":")) || (rc = jcs_string(out, rb->body_b64)) ||
	    (rc = coco_buf_appendf(out, ",\"integratedTime\":%lld,\"logID\":",
	                           (long long)rb->integrated_time)) ||
	    (rc = jcs_string(out, rb->log_id)) ||
	    (rc = coco_buf_appendf(out, ",\"logIndex\":%lld}", (long long)rb->log_index)))
		return rc;
	return 0;
}

static int set_err(cocoimg_ctx *ctx, const char *why)
{
	return coco_seterr(ctx, COCOIMG_EPOLICY, "Rekor SET: %s", why);
}

/* The SET by one of the policy's Rekor keys (ECDSA over SHA-256). */
static bool set_by_policy_keys(const coco_cosign_trust *t, const coco_buf *canon,
                               const coco_buf *set)
{
	unsigned char h[SHA256_DIGEST_LENGTH];
	SHA256(canon->data, canon->len, h);
	for (size_t i = 0; i < t->n_rekor_keys; i++)
		if (coco_sigstore_verify_digest(t->rekor_keys[i], set->data, set->len, EVP_sha256(), h,
		                                sizeof(h)) == 1)
			return true;
	return false;
}

/* 64 hex digits into 32 bytes. */
static bool log_id_decode(const char *s, unsigned char out[32])
{
	return strlen(s) == 64 && coco_hex_decode(s, 64, out) == 0;
}

/* The SET by the trusted root's log its logID names, valid at the
 * integrated time. */
static int set_by_root_log(cocoimg_ctx *ctx, const coco_cosign_trust *t,
                           const coco_rekor_bundle *rb, const coco_buf *canon,
                           const coco_buf *set)
{
	unsigned char id[32];
	if (!log_id_decode(rb->log_id, id))
		return set_err(ctx, "the logID is not a SHA-256 log id");
	const coco_tlog_key *log = coco_trustroot_find_log(t->tlog_root->tlogs,
	                                                   t->tlog_root->n_tlogs, id, sizeof(id));
	if (!log)
		return set_err(ctx, "signed by a log the trusted root does not list");
	if (!coco_validity_contains(&log->valid, rb->integrated_time))
		return set_err(ctx, "the log's key was not valid at the integrated time");
	if (coco_sigstore_verify_data(log->key, set->data, set->len, canon->data, canon->len) != 1)
		return set_err(ctx, "cryptographic signature verification of the SET failed");
	return 0;
}

static int set_signature(cocoimg_ctx *ctx, const coco_cosign_trust *t,
                         const coco_rekor_bundle *rb)
{
	if (rb->integrated_time < -JS_SAFE_INT || rb->integrated_time > JS_SAFE_INT ||
	    rb->log_index < -JS_SAFE_INT || rb->log_index > JS_SAFE_INT)
		return set_err(ctx, "integratedTime or logIndex out of range");
	coco_buf canon = COCO_BUF_INIT, set = COCO_BUF_INIT;
	int rc = set_canonical(rb, &canon);
	if (rc == 0)
		rc = coco_go_b64_decode(rb->set_b64, strlen(rb->set_b64), &set);
	if (rc == COCOIMG_ENOMEM)
		rc = coco_oom(ctx);
	else if (rc)
		rc = set_err(ctx, "SignedEntryTimestamp is not base64");
	else if (t->tlog_root)
		rc = set_by_root_log(ctx, t, rb, &canon, &set);
	else if (!set_by_policy_keys(t, &canon, &set))
		rc = set_err(ctx, "cryptographic signature verification of the SET failed");
	coco_buf_free(&canon);
	coco_buf_free(&set);
	return rc;
}

/* kind "hashedrekord", apiVersion "0.0.1" (containers/image reads no other). */
static int body_kind_ok(cocoimg_ctx *ctx, const coco_buf *body)
{
	json_t *j = json_loadb((const char *)body->data, body->len, 0, NULL);
	const char *k = json_string_value(json_object_get(j, "kind"));
	const char *v = json_string_value(json_object_get(j, "apiVersion"));
	int rc = 0;
	if (!k || strcmp(k, "hashedrekord"))
		rc = set_err(ctx, "the logged entry is not a hashedrekord");
	else if (!v || strcmp(v, "0.0.1"))
		rc = set_err(ctx, "unsupported hashedrekord version (0.0.1 is required)");
	json_decref(j);
	return rc;
}

int coco_cosign_set_verify(cocoimg_ctx *ctx, const coco_cosign_trust *trust,
                           const char *set_json, const unsigned char *signer_der,
                           size_t signer_der_len, const unsigned char *sig, size_t sig_len,
                           const coco_buf *payload, int64_t *integrated_time)
{
	coco_rekor_bundle rb;
	int rc = coco_rekor_bundle_parse(ctx, set_json, &rb);
	if (rc)
		return rc;
	coco_buf body = COCO_BUF_INIT;
	if ((rc = set_signature(ctx, trust, &rb)))
		goto out;
	rc = coco_go_b64_decode(rb.body_b64, strlen(rb.body_b64), &body);
	if (rc == COCOIMG_ENOMEM || (rc && (rc = set_err(ctx, "the body is not base64"))))
		goto out;
	if ((rc = body_kind_ok(ctx, &body)))
		goto out;
	unsigned char h[SHA256_DIGEST_LENGTH];
	SHA256(payload->data, payload->len, h);
	bool is_cert = trust->fulcio || trust->pki;
	coco_sig_content c = { .sig = sig, .sig_len = sig_len, .digest_alg = "sha256",
	                       .digest = h, .digest_len = sizeof(h), .signer_der = signer_der,
	                       .signer_der_len = signer_der_len, .signer_is_cert = is_cert };
	rc = coco_rekor_body_verify(ctx, "hashedrekord", "0.0.1", body.data, body.len, &c);
	if (rc == 0)
		*integrated_time = rb.integrated_time;
out:
	if (rc == COCOIMG_ENOMEM)
		rc = coco_oom(ctx);
	coco_buf_free(&body);
	coco_rekor_bundle_clear(&rb);
	return rc;
}
