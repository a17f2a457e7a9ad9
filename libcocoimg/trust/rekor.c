/*
 * Rekor: the signed entry timestamp (SET, an inclusion promise) and the
 * entry body a bundle's transparency log entry carries, matched against
 * the signature being verified.
 *
 * SET: the log signs the canonical JSON (RFC 8785: keys sorted, no
 * spaces) {"body":B64,"integratedTime":N,"logID":HEX,"logIndex":N}.
 *
 * Bodies (Rekor types):
 *   hashedrekord 0.0.1  spec.data.hash {algorithm, value hex},
 *                       spec.signature {content b64, publicKey.content b64 PEM}
 *   hashedrekord 0.0.2  spec.hashedRekordV002 {data {algorithm SHA2_*, digest b64},
 *                       signature {content b64, verifier {x509Certificate |
 *                       publicKey} {rawBytes b64}}} (Rekor v2; for a DSSE
 *                       envelope the digest is that of PAE(type, payload))
 *   dsse 0.0.1          spec.payloadHash {algorithm, value hex},
 *                       spec.signatures [{signature b64, verifier b64 PEM}]
 *   intoto 0.0.2        spec.content.payloadHash, spec.content.envelope
 *                       .signatures [{sig b64(b64), publicKey b64 PEM}]
 */
#include "sigstore.h"
#include "../base.h"
#include "../json.h"

#include <stdlib.h>
#include <string.h>

static int body_err(cocoimg_ctx *ctx, const char *kind, const char *why)
{
	return coco_seterr(ctx, COCOIMG_EPOLICY, "transparency log entry (%s): %s", kind, why);
}

int coco_rekor_set_verify(cocoimg_ctx *ctx, const coco_tlog_key *log, const unsigned char *body,
                          size_t body_len, int64_t integrated_time, int64_t log_index,
                          const unsigned char *set, size_t set_len)
{
	char *b64 = coco_b64_encode(body, body_len);
	char hex[2 * sizeof(log->log_id) + 1];
	if (!b64)
		return coco_oom(ctx);
	coco_hex_encode(log->log_id, log->log_id_len, hex);
	coco_buf canon = COCO_BUF_INIT;
	int rc = coco_buf_appendf(&canon, "{\"body\":\"%s\",\"integratedTime\":%lld,\"logID\":\"%s\","
	                          "\"logIndex\":%lld}", b64, (long long)integrated_time, hex,
	                          (long long)log_index);
	free(b64);
	if (rc) {
		coco_buf_free(&canon);
		return coco_oom(ctx);
	}
	int ok = coco_sigstore_verify_data(log->key, set, set_len, canon.data, canon.len);
	coco_buf_free(&canon);
	if (!ok)
		return coco_seterr(ctx, COCOIMG_EPOLICY,
		                   "transparency log entry: the signed entry timestamp does not verify");
	return 0;
}

/* ---- body helpers ---- */

static bool bytes_eq(const coco_buf *b, const unsigned char *p, size_t n)
{
	return b->len == n && (!n || !memcmp(b->data, p, n));
}

/* A JSON string holding hex equal to p[0..n). */
static bool hex_eq(json_t *v, const unsigned char *p, size_t n)
{
	const char *s = json_string_value(v);
	if (!s || strlen(s) != 2 * n || n > 64)
		return false;
	char hex[129];
	coco_hex_encode(p, n, hex);
	return !strcmp(hex, s);
}

/* A string member holding base64 of bytes equal to p[0..n). */
static bool b64_member_eq(json_t *o, const char *key, const unsigned char *p, size_t n)
{
	coco_buf b = COCO_BUF_INIT;
	bool eq = !coco_pbjson_bytes(o, key, false, &b) && bytes_eq(&b, p, n);
	coco_buf_free(&b);
	return eq;
}

/* A member with base64 of a PEM block whose DER equals the signer. */
static bool pem_member_is_signer(json_t *o, const char *key, const coco_sig_content *c)
{
	coco_buf pem = COCO_BUF_INIT;
	coco_pem_block blk = { 0 };
	bool eq = false;
	if (!coco_pbjson_bytes(o, key, false, &pem) &&
	    coco_pem_first_block(pem.data, pem.len, &blk) == 0) {
		bool want_cert = !strcmp(blk.name, "CERTIFICATE");
		eq = want_cert == c->signer_is_cert && (size_t)blk.len == c->signer_der_len &&
		     !memcmp(blk.der, c->signer_der, c->signer_der_len);
	}
	coco_pem_block_free(&blk, false);
	coco_buf_free(&pem);
	return eq;
}

/* ---- one function per kind ---- */

static int hashedrekord_001(cocoimg_ctx *ctx, json_t *spec, const coco_sig_content *c)
{
	const char *k = "hashedrekord 0.0.1";
	if (c->dsse)
		return body_err(ctx, k, "a message-signature entry for a DSSE envelope");
	json_t *hash = json_object_get(json_object_get(spec, "data"), "hash");
	json_t *sig = json_object_get(spec, "signature");
	const char *alg = json_string_value(json_object_get(hash, "algorithm"));
	if (!alg || strcmp(alg, c->digest_alg) ||
	    !hex_eq(json_object_get(hash, "value"), c->digest, c->digest_len))
		return body_err(ctx, k, "the logged digest is not the artifact's");
	if (!b64_member_eq(sig, "content", c->sig, c->sig_len))
		return body_err(ctx, k, "the logged signature is not the bundle's");
	if (!pem_member_is_signer(json_object_get(sig, "publicKey"), "content", c))
		return body_err(ctx, k, "the logged key or certificate is not the signer's");
	return 0;
}

static const char *pb_hash_name(const char *rekor_alg)
{
	static const char *const names[][2] = {
		{ "sha256", "SHA2_256" }, { "sha384", "SHA2_384" }, { "sha512", "SHA2_512" }
	};
	return coco_str_lookup(names, COCO_ARRAY_SIZE(names), rekor_alg, "");
}

static int hashedrekord_002(cocoimg_ctx *ctx, json_t *spec, const coco_sig_content *c)
{
	const char *k = "hashedrekord 0.0.2";
	json_t *v2 = json_object_get(spec, "hashedRekordV002");
	json_t *data = json_object_get(v2, "data"), *sig = json_object_get(v2, "signature");
	const char *alg = json_string_value(json_object_get(data, "algorithm"));
	const unsigned char *want = c->dsse ? c->pae_digest : c->digest;
	size_t want_len = c->dsse ? 32 : c->digest_len;
	const char *want_alg = c->dsse ? "SHA2_256" : pb_hash_name(c->digest_alg);
	if (!alg || strcmp(alg, want_alg) || !b64_member_eq(data, "digest", want, want_len))
		return body_err(ctx, k, "the logged digest is not the signed content's");
	if (!b64_member_eq(sig, "content", c->sig, c->sig_len))
		return body_err(ctx, k, "the logged signature is not the bundle's");
	json_t *ver = json_object_get(sig, "verifier");
	json_t *who = json_object_get(ver, c->signer_is_cert ? "x509Certificate" : "publicKey");
	if (!b64_member_eq(who, "rawBytes", c->signer_der, c->signer_der_len))
		return body_err(ctx, k, "the logged key or certificate is not the signer's");
	return 0;
}

/* payloadHash {algorithm "sha256", value hex} against SHA-256(payload). */
static bool payload_hash_ok(json_t *ph, const coco_sig_content *c)
{
	const char *alg = json_string_value(json_object_get(ph, "algorithm"));
	return alg && !strcmp(alg, "sha256") &&
	       hex_eq(json_object_get(ph, "value"), c->digest, c->digest_len);
}

/* The DSSE entries' last checks: the logged payload hash and the logged key
 * or certificate (member key_member of sig) are the envelope's. */
static int envelope_hash_signer(cocoimg_ctx *ctx, const char *k, json_t *payload_hash,
                                json_t *sig, const char *key_member,
                                const coco_sig_content *c)
{
	if (!payload_hash_ok(payload_hash, c))
		return body_err(ctx, k, "the logged payload hash is not the envelope's");
	if (!pem_member_is_signer(sig, key_member, c))
		return body_err(ctx, k, "the logged key or certificate is not the signer's");
	return 0;
}

static int dsse_001(cocoimg_ctx *ctx, json_t *spec, const coco_sig_content *c)
{
	const char *k = "dsse 0.0.1";
	if (!c->dsse)
		return body_err(ctx, k, "a DSSE entry for a message signature");
	json_t *sigs = json_object_get(spec, "signatures");
	if (json_array_size(sigs) != 1)
		return body_err(ctx, k, "the entry must hold exactly one signature");
	json_t *s0 = json_array_get(sigs, 0);
	if (!b64_member_eq(s0, "signature", c->sig, c->sig_len))
		return body_err(ctx, k, "the logged signature is not the envelope's");
	return envelope_hash_signer(ctx, k, json_object_get(spec, "payloadHash"), s0, "verifier",
	                            c);
}

static int intoto_002(cocoimg_ctx *ctx, json_t *spec, const coco_sig_content *c)
{
	const char *k = "intoto 0.0.2";
	if (!c->dsse)
		return body_err(ctx, k, "an in-toto entry for a message signature");
	json_t *content = json_object_get(spec, "content");
	json_t *sigs = json_object_get(json_object_get(content, "envelope"), "signatures");
	if (json_array_size(sigs) != 1)
		return body_err(ctx, k, "the entry must hold exactly one signature");
	json_t *s0 = json_array_get(sigs, 0);
	/* "sig" is base64 of the base64 signature text. */
	coco_buf inner = COCO_BUF_INIT, sig = COCO_BUF_INIT;
	bool same = !coco_pbjson_bytes(s0, "sig", false, &inner) &&
	            !coco_b64_decode((const char *)inner.data, inner.len, &sig) &&
	            bytes_eq(&sig, c->sig, c->sig_len);
	coco_buf_free(&inner);
	coco_buf_free(&sig);
	if (!same)
		return body_err(ctx, k, "the logged signature is not the envelope's");
	return envelope_hash_signer(ctx, k, json_object_get(content, "payloadHash"), s0,
	                            "publicKey", c);
}

int coco_rekor_body_verify(cocoimg_ctx *ctx, const char *kind, const char *version,
                           const unsigned char *body, size_t len, const coco_sig_content *c)
{
	json_t *j = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		return body_err(ctx, kind, "the body is not a JSON object");
	}
	const char *bk = json_string_value(json_object_get(j, "kind"));
	const char *bv = json_string_value(json_object_get(j, "apiVersion"));
	json_t *spec = json_object_get(j, "spec");
	int rc;
	if (!bk || !bv || strcmp(bk, kind) || strcmp(bv, version))
		rc = body_err(ctx, kind, "the body's kind or apiVersion differs from the bundle's");
	else if (!strcmp(kind, "hashedrekord") && !strcmp(version, "0.0.1"))
		rc = hashedrekord_001(ctx, spec, c);
	else if (!strcmp(kind, "hashedrekord") && !strcmp(version, "0.0.2"))
		rc = hashedrekord_002(ctx, spec, c);
	else if (!strcmp(kind, "dsse") && !strcmp(version, "0.0.1"))
		rc = dsse_001(ctx, spec, c);
	else if (!strcmp(kind, "intoto") && !strcmp(version, "0.0.2"))
		rc = intoto_002(ctx, spec, c);
	else
		rc = coco_seterr(ctx, COCOIMG_EPOLICY, "transparency log entry: kind %.40s %.20s "
		                 "is not one this verifier knows", kind, version);
	json_decref(j);
	return rc;
}
