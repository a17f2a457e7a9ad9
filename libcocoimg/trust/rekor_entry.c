/*
 * The signing side of Rekor v1 (see rekor_entry.h).  Facts from Rekor's
 * sources (sigstore/rekor: openapi.yaml, pkg/types/hashedrekord/v0.0.1,
 * pkg/types/dsse/v0.0.1, pkg/tle) and sigstore-go's pkg/sign
 * transparency.go: a DSSE envelope is logged as a dsse 0.0.1 entry whose
 * proposed content is the envelope JSON as a string plus the verifiers'
 * PEM; a message signature as a hashedrekord 0.0.1 entry of the
 * artifact's SHA-256.  The log answers 201 with {UUID: LogEntry}; its
 * logID, rootHash and proof hashes are hex, its body and SET base64.
 */
#include "rekor_entry.h"
#include "sigstore.h"
#include "../base.h"
#include "../json.h"

#include <stdlib.h>
#include <string.h>

#define MAX_PROOF_HASHES 64

int coco_rekor_propose_hashedrekord(cocoimg_ctx *ctx, const unsigned char digest[32],
                                    const unsigned char *sig, size_t sig_len,
                                    const char *signer_pem, coco_buf *out)
{
	char hex[65];
	coco_hex_encode(digest, 32, hex);
	char *s64 = coco_b64_encode(sig, sig_len);
	char *p64 = coco_b64_encode((const unsigned char *)signer_pem, strlen(signer_pem));
	int rc = !s64 || !p64;
	if (!rc)
		rc = coco_buf_appendf(out, "{\"apiVersion\":\"0.0.1\",\"kind\":\"hashedrekord\","
		                           "\"spec\":{\"data\":{\"hash\":{\"algorithm\":\"sha256\","
		                           "\"value\":\"%s\"}},\"signature\":{\"content\":\"%s\","
		                           "\"publicKey\":{\"content\":\"%s\"}}}}",
		                      hex, s64, p64);
	COCO_FREE_FIELDS(s64, p64);
	return rc ? coco_oom(ctx) : 0;
}

int coco_rekor_propose_dsse(cocoimg_ctx *ctx, const char *envelope, const char *signer_pem,
                            coco_buf *out)
{
	char *p64 = coco_b64_encode((const unsigned char *)signer_pem, strlen(signer_pem));
	json_t *j = p64 ? json_pack("{s:s,s:s,s:{s:{s:s,s:[s]}}}", "apiVersion", "0.0.1", "kind",
	                            "dsse", "spec", "proposedContent", "envelope", envelope,
	                            "verifiers", p64)
	                : NULL;
	char *s = j ? coco_json_dump(j) : NULL;
	int rc = s ? coco_buf_append(out, s, strlen(s)) : COCOIMG_ENOMEM;
	json_decref(j);
	COCO_FREE_FIELDS(p64, s);
	return rc ? coco_oom(ctx) : 0;
}

void coco_rekor_logentry_clear(coco_rekor_logentry *e)
{
	coco_buf_free(&e->body);
	coco_buf_free(&e->set);
	COCO_FREE_FIELDS(e->uuid, e->kind, e->version, e->hashes, e->checkpoint);
	memset(e, 0, sizeof(*e));
}

/* A string member of exactly 64 hex digits into out[32]. */
static bool hex32(json_t *v, unsigned char out[32])
{
	const char *s = json_string_value(v);
	return s && json_string_length(v) == 64 && !coco_hex_decode(s, 64, out);
}

/* A JSON integer >= 0. */
static bool u63(json_t *o, const char *k, int64_t *out)
{
	json_t *v = json_object_get(o, k);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (int64_t)json_integer_value(v);
	return true;
}

static int bad(cocoimg_ctx *ctx, const char *what)
{
	return coco_seterr(ctx, COCOIMG_EBADIMAGE, "transparency log answer: %s", what);
}

/* The body: base64 of a JSON object naming its kind and apiVersion. */
static int parse_body(cocoimg_ctx *ctx, json_t *entry, coco_rekor_logentry *e)
{
	if (coco_pbjson_bytes(entry, "body", false, &e->body))
		return bad(ctx, "body is not base64");
	json_t *b = json_loadb((const char *)e->body.data, e->body.len, JSON_REJECT_DUPLICATES, NULL);
	const char *k = json_string_value(json_object_get(b, "kind"));
	const char *v = json_string_value(json_object_get(b, "apiVersion"));
	int rc = 0;
	if (!k || !v)
		rc = bad(ctx, "the body names no kind and apiVersion");
	else if (!(e->kind = coco_strdup(k)) || !(e->version = coco_strdup(v)))
		rc = coco_oom(ctx);
	json_decref(b);
	return rc;
}

static int parse_proof(cocoimg_ctx *ctx, json_t *p, coco_rekor_logentry *e)
{
	json_t *hs = json_object_get(p, "hashes");
	const char *cp = json_string_value(json_object_get(p, "checkpoint"));
	if (!u63(p, "logIndex", &e->proof_index) || !u63(p, "treeSize", &e->tree_size) ||
	    e->proof_index >= e->tree_size || !hex32(json_object_get(p, "rootHash"), e->root_hash))
		return bad(ctx, "inclusionProof: logIndex, treeSize or rootHash missing or malformed");
	if (!cp)
		return bad(ctx, "inclusionProof has no checkpoint");
	if (!json_is_array(hs) || json_array_size(hs) > MAX_PROOF_HASHES)
		return bad(ctx, "inclusionProof.hashes is not an array of at most 64 hashes");
	e->n_hashes = json_array_size(hs);
	e->hashes = calloc(e->n_hashes ? e->n_hashes : 1, 32);
	if (!e->hashes || !(e->checkpoint = coco_strdup(cp)))
		return coco_oom(ctx);
	for (size_t i = 0; i < e->n_hashes; i++)
		if (!hex32(json_array_get(hs, i), e->hashes[i]))
			return bad(ctx, "inclusionProof.hashes: not 64 hex digits");
	return 0;
}

static int parse_entry(cocoimg_ctx *ctx, json_t *entry, coco_rekor_logentry *e)
{
	json_t *ver = json_object_get(entry, "verification");
	int rc = parse_body(ctx, entry, e);
	if (rc)
		return rc;
	if (!u63(entry, "integratedTime", &e->integrated_time) ||
	    !u63(entry, "logIndex", &e->log_index) ||
	    !hex32(json_object_get(entry, "logID"), e->log_id))
		return bad(ctx, "integratedTime, logIndex or logID missing or malformed");
	if (coco_pbjson_bytes(ver, "signedEntryTimestamp", false, &e->set) || !e->set.len)
		return bad(ctx, "no signed entry timestamp (verification.signedEntryTimestamp)");
	json_t *p = json_object_get(ver, "inclusionProof");
	if (!json_is_object(p))
		return bad(ctx, "no inclusion proof (verification.inclusionProof)");
	return parse_proof(ctx, p, e);
}

int coco_rekor_logentry_parse(cocoimg_ctx *ctx, const void *json, size_t len,
                              coco_rekor_logentry *out)
{
	memset(out, 0, sizeof(*out));
	json_t *j = NULL;
	int rc = coco_json_parse(ctx, json, len, "transparency log answer", COCOIMG_EBADIMAGE, &j);
	if (rc)
		return rc;
	const char *uuid = NULL;
	json_t *entry = NULL;
	if (json_object_size(j) != 1) {
		rc = bad(ctx, "not exactly one log entry");
	} else {
		void *it = json_object_iter(j);
		uuid = json_object_iter_key(it);
		entry = json_object_iter_value(it);
		if (!json_is_object(entry))
			rc = bad(ctx, "the log entry is not an object");
		else if (!(out->uuid = coco_strdup(uuid)))
			rc = coco_oom(ctx);
		else
			rc = parse_entry(ctx, entry, out);
	}
	json_decref(j);
	return rc;
}

int coco_rekor_logentry_check(cocoimg_ctx *ctx, const coco_rekor_logentry *e,
                              const coco_sig_content *c)
{
	int rc = coco_rekor_body_verify(ctx, e->kind, e->version, e->body.data, e->body.len, c);
	if (rc)
		return rc;
	unsigned char leaf[32];
	coco_merkle_leaf_hash(e->body.data, e->body.len, leaf);
	rc = coco_merkle_verify_inclusion(ctx, (uint64_t)e->proof_index, (uint64_t)e->tree_size,
	                                  leaf, (const unsigned char (*)[32])e->hashes, e->n_hashes,
	                                  e->root_hash);
	if (rc) {
		coco_preferr(ctx, rc, "the transparency log's answer");
		return rc;
	}
	coco_checkpoint cp;
	rc = coco_checkpoint_parse(ctx, e->checkpoint, strlen(e->checkpoint), &cp);
	if (!rc && (cp.size != (uint64_t)e->tree_size || memcmp(cp.root, e->root_hash, 32)))
		rc = coco_seterr(ctx, COCOIMG_EPOLICY, "the transparency log's checkpoint is not of "
		                 "the tree its inclusion proof names");
	else if (rc)
		coco_preferr(ctx, rc = COCOIMG_EPOLICY, "the transparency log's checkpoint");
	coco_checkpoint_clear(&cp);
	return rc;
}

/* A string member holding base64 of n bytes. */
static int set_b64(json_t *o, const char *k, const unsigned char *p, size_t n)
{
	char *s = coco_b64_encode(p, n);
	int rc = s ? json_object_set_new(o, k, json_string(s)) : -1;
	free(s);
	return rc;
}

/* A protobuf-JSON int64 (a decimal string). */
static int set_i64(json_t *o, const char *k, int64_t v)
{
	char s[24];
	snprintf(s, sizeof(s), "%lld", (long long)v);
	return json_object_set_new(o, k, json_string(s));
}

/* j, or NULL (and j released) when building it failed. */
static json_t *unless_bad(json_t *j, int bad)
{
	if (!bad)
		return j;
	json_decref(j);
	return NULL;
}

static json_t *proof_json(const coco_rekor_logentry *e)
{
	json_t *p = json_object(), *hs = json_array();
	int bad = !p || !hs || set_i64(p, "logIndex", e->proof_index) ||
	          set_b64(p, "rootHash", e->root_hash, 32) || set_i64(p, "treeSize", e->tree_size);
	for (size_t i = 0; !bad && i < e->n_hashes; i++) {
		char *s = coco_b64_encode(e->hashes[i], 32);
		bad = !s || json_array_append_new(hs, json_string(s));
		free(s);
	}
	bad = bad || json_object_set(p, "hashes", hs) ||
	      json_object_set_new(p, "checkpoint", json_pack("{s:s}", "envelope", e->checkpoint));
	json_decref(hs);
	return unless_bad(p, bad);
}

json_t *coco_rekor_logentry_tlog_json(const coco_rekor_logentry *e)
{
	json_t *t = json_object(), *id = json_object(), *promise = json_object();
	int bad = !t || !id || !promise || set_i64(t, "logIndex", e->log_index) ||
	          set_b64(id, "keyId", e->log_id, 32) || json_object_set(t, "logId", id) ||
	          json_object_set_new(t, "kindVersion", json_pack("{s:s,s:s}", "kind", e->kind,
	                                                          "version", e->version)) ||
	          set_i64(t, "integratedTime", e->integrated_time) ||
	          set_b64(promise, "signedEntryTimestamp", e->set.data, e->set.len) ||
	          json_object_set(t, "inclusionPromise", promise) ||
	          json_object_set_new(t, "inclusionProof", proof_json(e)) ||
	          set_b64(t, "canonicalizedBody", e->body.data, e->body.len);
	json_decref(id);
	json_decref(promise);
	return unless_bad(t, bad);
}

char *coco_rekor_logentry_cosign_bundle(const coco_rekor_logentry *e)
{
	char *set = coco_b64_encode(e->set.data, e->set.len);
	char *body = coco_b64_encode(e->body.data, e->body.len);
	char hex[65];
	coco_hex_encode(e->log_id, 32, hex);
	char *s = set && body ? coco_asprintf("{\"SignedEntryTimestamp\":\"%s\",\"Payload\":{"
	                                      "\"body\":\"%s\",\"integratedTime\":%lld,"
	                                      "\"logIndex\":%lld,\"logID\":\"%s\"}}",
	                                      set, body, (long long)e->integrated_time,
	                                      (long long)e->log_index, hex)
	                      : NULL;
	COCO_FREE_FIELDS(set, body);
	return s;
}
