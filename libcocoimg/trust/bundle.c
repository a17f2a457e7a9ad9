/*
 * Sigstore bundles v0.1 .. v0.3 (sigstore/protobuf-specs
 * dev.sigstore.bundle.v1.Bundle, JSON form), parsed into coco_bundle:
 *
 *   mediaType              application/vnd.dev.sigstore.bundle+json;version=0.N
 *                          or application/vnd.dev.sigstore.bundle.v0.3+json
 *   verificationMaterial   x509CertificateChain {certificates [{rawBytes}]}
 *                          | certificate {rawBytes} (v0.3) | publicKey {hint};
 *                          tlogEntries [...]; timestampVerificationData
 *                          {rfc3161Timestamps [{signedTimestamp}]}
 *   messageSignature       {messageDigest {algorithm, digest}, signature}
 *   | dsseEnvelope         {payload, payloadType, signatures [{sig, keyid}]}
 *
 * v0.1 entries need an inclusion promise (SET); v0.2 and later an
 * inclusion proof (protobuf-specs' bundle rules, as sigstore-go checks).
 */
#include "sigstore.h"
#include "../base.h"
#include "../json.h"

#include <stdlib.h>
#include <string.h>

#define BUNDLE_MT_PREFIX "application/vnd.dev.sigstore.bundle+json;version=0."
#define BUNDLE_MT_V03 "application/vnd.dev.sigstore.bundle.v0.3+json"

static int b_err(cocoimg_ctx *ctx, const char *where, const char *why)
{
	return coco_seterr(ctx, COCOIMG_EBADIMAGE, "Sigstore bundle: %s: %s", where, why);
}

const char *coco_sigcheck_name(coco_sigcheck c)
{
	static const char *const names[] = {
		[COCO_SIGCHECK_NONE] = "", [COCO_SIGCHECK_BUNDLE] = "bundle",
		[COCO_SIGCHECK_CHAIN] = "chain", [COCO_SIGCHECK_SCT] = "sct",
		[COCO_SIGCHECK_TLOG] = "tlog", [COCO_SIGCHECK_TIMESTAMP] = "timestamp",
		[COCO_SIGCHECK_IDENTITY] = "identity", [COCO_SIGCHECK_ISSUER] = "issuer",
		[COCO_SIGCHECK_DIGEST] = "digest", [COCO_SIGCHECK_SIGNATURE] = "signature",
	};
	if ((unsigned)c < COCO_ARRAY_SIZE(names))
		return names[c];
	return "unknown";
}

static void entry_clear(coco_tlog_entry *e)
{
	coco_buf_free(&e->body);
	coco_buf_free(&e->set);
	COCO_FREE_FIELDS(e->kind, e->version, e->hashes, e->checkpoint);
}

void coco_bundle_clear(coco_bundle *b)
{
	if (!b)
		return;
	free(b->media_type);
	X509_free(b->leaf);
	sk_X509_pop_free(b->chain, X509_free);
	COCO_FREE_ARRAY(b->tlogs, b->n_tlogs, entry_clear);
	COCO_FREE_ARRAY(b->tsts, b->n_tsts, coco_buf_free);
	free(b->digest_alg);
	coco_buf_free(&b->msg_digest);
	coco_buf_free(&b->sig);
	free(b->payload_type);
	coco_buf_free(&b->payload);
	*b = (coco_bundle){0};
}

static int parse_media_type(cocoimg_ctx *ctx, json_t *j, coco_bundle *b)
{
	const char *mt = json_string_value(json_object_get(j, "mediaType"));
	if (!mt)
		return b_err(ctx, "mediaType", "missing");
	if (!(b->media_type = coco_strdup(mt)))
		return coco_oom(ctx);
	size_t pl = strlen(BUNDLE_MT_PREFIX);
	if (!strcmp(mt, BUNDLE_MT_V03))
		b->minor = 3;
	else if (!strncmp(mt, BUNDLE_MT_PREFIX, pl) && mt[pl] >= '1' && mt[pl] <= '3' && !mt[pl + 1])
		b->minor = mt[pl] - '0';
	else
		return b_err(ctx, "mediaType", "not a bundle version this verifier knows (v0.1 to v0.3)");
	return 0;
}

/* ---- verification material ---- */

static X509 *cert_member(json_t *o)
{
	coco_buf der = COCO_BUF_INIT;
	X509 *x = NULL;
	if (!coco_pbjson_bytes(o, "rawBytes", false, &der))
		x = coco_x509_from_der(der.data, der.len);
	coco_buf_free(&der);
	return x;
}

static int parse_chain(cocoimg_ctx *ctx, json_t *chain, coco_bundle *b)
{
	json_t *certs = json_object_get(chain, "certificates");
	if (!json_is_array(certs) || !json_array_size(certs))
		return b_err(ctx, "x509CertificateChain", "no certificate");
	if (!(b->chain = sk_X509_new_null()))
		return coco_oom(ctx);
	size_t i;
	json_t *e;
	json_array_foreach(certs, i, e) {
		X509 *x = cert_member(e);
		if (!x)
			return b_err(ctx, "x509CertificateChain", "a certificate does not parse");
		if (i == 0) {
			b->leaf = x;
		} else if (!sk_X509_push(b->chain, x)) {
			X509_free(x);
			return coco_oom(ctx);
		}
	}
	return 0;
}

/* An optional array field a of the bundle: *items gets a zeroed
 * element of `size` bytes for each entry (none when a is absent or
 * empty), *n their count.  0, or the error recorded. */
static int b_array(cocoimg_ctx *ctx, json_t *a, const char *field, size_t size, void **items,
                   size_t *n)
{
	*n = 0;
	if (!a)
		return 0;
	if (!json_is_array(a))
		return b_err(ctx, field, "must be an array");
	size_t len = json_array_size(a);
	if (len && !(*items = calloc(len, size)))
		return coco_oom(ctx);
	*n = len;
	return 0;
}

static int parse_tsts(cocoimg_ctx *ctx, json_t *tvd, coco_bundle *b)
{
	json_t *a = json_object_get(tvd, "rfc3161Timestamps");
	void *items = NULL;
	size_t n;
	int rc = b_array(ctx, a, "rfc3161Timestamps", sizeof(*b->tsts), &items, &n);
	b->tsts = items;
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		b->n_tsts++;
		if (coco_pbjson_bytes(json_array_get(a, i), "signedTimestamp", false, &b->tsts[i]))
			return b_err(ctx, "rfc3161Timestamps", "signedTimestamp missing or not base64");
	}
	return 0;
}

/* ---- transparency log entries ---- */

static int parse_proof_hashes(json_t *a, coco_tlog_entry *e)
{
	size_t n = json_array_size(a);
	if (!json_is_array(a))
		return -1;
	if (n && !(e->hashes = calloc(n, sizeof(*e->hashes))))
		return COCOIMG_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		coco_buf h = COCO_BUF_INIT;
		json_t *v = json_array_get(a, i);
		int bad = !json_is_string(v) ||
		          coco_b64_decode(json_string_value(v), json_string_length(v), &h) || h.len != 32;
		if (!bad)
			memcpy(e->hashes[i], h.data, 32);
		coco_buf_free(&h);
		if (bad)
			return -1;
		e->n_hashes++;
	}
	return 0;
}

static int parse_proof(cocoimg_ctx *ctx, json_t *p, coco_tlog_entry *e)
{
	coco_buf root = COCO_BUF_INIT;
	e->has_proof = true;
	int bad = coco_pbjson_u63(p, "logIndex", false, &e->proof_index) ||
	          coco_pbjson_u63(p, "treeSize", false, &e->tree_size) ||
	          coco_pbjson_bytes(p, "rootHash", false, &root) || root.len != 32;
	if (!bad)
		memcpy(e->root_hash, root.data, 32);
	coco_buf_free(&root);
	if (bad)
		return b_err(ctx, "inclusionProof", "logIndex, treeSize or rootHash missing or malformed");
	int rc = parse_proof_hashes(json_object_get(p, "hashes"), e);
	if (rc == COCOIMG_ENOMEM)
		return coco_oom(ctx);
	if (rc)
		return b_err(ctx, "inclusionProof", "hashes malformed");
	/* A missing checkpoint is the verifier's business (old v0.1 bundles
	 * predate them). */
	json_t *cp = json_object_get(p, "checkpoint");
	const char *env = json_string_value(json_object_get(cp, "envelope"));
	if (cp && !env)
		return b_err(ctx, "inclusionProof", "checkpoint without an envelope");
	if (env && !(e->checkpoint = coco_strdup(env)))
		return coco_oom(ctx);
	return 0;
}

static int parse_entry_ids(cocoimg_ctx *ctx, json_t *o, coco_tlog_entry *e)
{
	coco_buf id = COCO_BUF_INIT;
	int bad = coco_pbjson_u63(o, "logIndex", false, &e->log_index) ||
	          coco_pbjson_u63(o, "integratedTime", true, &e->integrated_time) ||
	          coco_pbjson_bytes(json_object_get(o, "logId"), "keyId", false, &id) || !id.len ||
	          id.len > sizeof(e->log_id);
	if (!bad) {
		memcpy(e->log_id, id.data, id.len);
		e->log_id_len = id.len;
	}
	coco_buf_free(&id);
	if (bad)
		return b_err(ctx, "tlogEntries", "logIndex, integratedTime or logId missing or malformed");
	json_t *kv = json_object_get(o, "kindVersion");
	const char *k = json_string_value(json_object_get(kv, "kind"));
	const char *v = json_string_value(json_object_get(kv, "version"));
	if (!k || !v)
		return b_err(ctx, "tlogEntries", "kindVersion missing");
	if (!(e->kind = coco_strdup(k)) || !(e->version = coco_strdup(v)))
		return coco_oom(ctx);
	return 0;
}

static int parse_entry(cocoimg_ctx *ctx, json_t *o, int minor, coco_tlog_entry *e)
{
	if (!json_is_object(o))
		return b_err(ctx, "tlogEntries", "an entry is not an object");
	int rc = parse_entry_ids(ctx, o, e);
	if (rc)
		return rc;
	if (coco_pbjson_bytes(o, "canonicalizedBody", false, &e->body) || !e->body.len)
		return b_err(ctx, "tlogEntries", "canonicalizedBody missing or not base64");
	json_t *promise = json_object_get(o, "inclusionPromise");
	if (promise && (coco_pbjson_bytes(promise, "signedEntryTimestamp", false, &e->set) ||
	                !e->set.len))
		return b_err(ctx, "inclusionPromise", "signedEntryTimestamp missing or not base64");
	json_t *proof = json_object_get(o, "inclusionProof");
	if (proof && (rc = parse_proof(ctx, proof, e)))
		return rc;
	if (minor == 1 && !e->set.len)
		return b_err(ctx, "tlogEntries", "a v0.1 bundle entry needs an inclusion promise");
	if (minor >= 2 && !e->has_proof)
		return b_err(ctx, "tlogEntries", "a v0.2+ bundle entry needs an inclusion proof");
	return 0;
}

static int parse_entries(cocoimg_ctx *ctx, json_t *a, coco_bundle *b)
{
	void *items = NULL;
	size_t n;
	int rc = b_array(ctx, a, "tlogEntries", sizeof(*b->tlogs), &items, &n);
	b->tlogs = items;
	for (size_t i = 0; i < n && !rc; i++) {
		b->n_tlogs++;
		rc = parse_entry(ctx, json_array_get(a, i), b->minor, &b->tlogs[i]);
	}
	return rc;
}

static int parse_material(cocoimg_ctx *ctx, json_t *vm, coco_bundle *b)
{
	if (!json_is_object(vm))
		return b_err(ctx, "verificationMaterial", "missing");
	json_t *chain = json_object_get(vm, "x509CertificateChain");
	json_t *cert = json_object_get(vm, "certificate");
	json_t *pk = json_object_get(vm, "publicKey");
	int rc = 0;
	if ((chain != NULL) + (cert != NULL) + (pk != NULL) != 1)
		return b_err(ctx, "verificationMaterial",
		             "needs exactly one of x509CertificateChain, certificate, publicKey");
	if (chain)
		rc = parse_chain(ctx, chain, b);
	else if (cert && !(b->leaf = cert_member(cert)))
		rc = b_err(ctx, "certificate", "does not parse");
	b->key_hint = pk != NULL;
	if (!rc)
		rc = parse_entries(ctx, json_object_get(vm, "tlogEntries"), b);
	if (!rc)
		rc = parse_tsts(ctx, json_object_get(vm, "timestampVerificationData"), b);
	return rc;
}

/* ---- content ---- */

static const char *hash_name(const char *pb)
{
	static const char *const map[][2] = {
		{ "SHA2_256", "sha256" }, { "SHA2_384", "sha384" }, { "SHA2_512", "sha512" },
	};
	for (size_t i = 0; i < COCO_ARRAY_SIZE(map); i++)
		if (!strcmp(pb, map[i][0]))
			return map[i][1];
	return NULL;
}

static int parse_message(cocoimg_ctx *ctx, json_t *ms, coco_bundle *b)
{
	if (coco_pbjson_bytes(ms, "signature", false, &b->sig) || !b->sig.len)
		return b_err(ctx, "messageSignature", "signature missing or not base64");
	json_t *md = json_object_get(ms, "messageDigest");
	if (!md)
		return 0;
	const char *alg = json_string_value(json_object_get(md, "algorithm"));
	const char *name = alg ? hash_name(alg) : NULL;
	if (!name)
		return b_err(ctx, "messageDigest", "algorithm missing or unknown");
	if (!(b->digest_alg = coco_strdup(name)))
		return coco_oom(ctx);
	if (coco_pbjson_bytes(md, "digest", false, &b->msg_digest))
		return b_err(ctx, "messageDigest", "digest missing or not base64");
	return 0;
}

static int parse_dsse(cocoimg_ctx *ctx, json_t *env, coco_bundle *b)
{
	b->dsse = true;
	const char *pt = json_string_value(json_object_get(env, "payloadType"));
	if (!pt)
		return b_err(ctx, "dsseEnvelope", "payloadType missing");
	if (!(b->payload_type = coco_strdup(pt)))
		return coco_oom(ctx);
	if (coco_pbjson_bytes(env, "payload", false, &b->payload))
		return b_err(ctx, "dsseEnvelope", "payload missing or not base64");
	json_t *sigs = json_object_get(env, "signatures");
	if (json_array_size(sigs) != 1)
		return b_err(ctx, "dsseEnvelope", "exactly one signature is required");
	if (coco_pbjson_bytes(json_array_get(sigs, 0), "sig", false, &b->sig) || !b->sig.len)
		return b_err(ctx, "dsseEnvelope", "sig missing or not base64");
	return 0;
}

int coco_bundle_parse(cocoimg_ctx *ctx, const void *json, size_t len, coco_bundle *out)
{
	*out = (coco_bundle){0};
	json_t *j = NULL;
	int rc = coco_json_parse(ctx, json, len, "Sigstore bundle", COCOIMG_EBADIMAGE, &j);
	if (rc)
		return rc;
	json_t *ms = json_object_get(j, "messageSignature");
	json_t *env = json_object_get(j, "dsseEnvelope");
	if (!(rc = parse_media_type(ctx, j, out)))
		rc = parse_material(ctx, json_object_get(j, "verificationMaterial"), out);
	if (!rc && (ms != NULL) == (env != NULL))
		rc = b_err(ctx, "content", "needs exactly one of messageSignature, dsseEnvelope");
	if (!rc)
		rc = ms ? parse_message(ctx, ms, out) : parse_dsse(ctx, env, out);
	json_decref(j);
	return rc;
}
