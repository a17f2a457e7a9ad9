/*
 * trusted_root.json (sigstore/protobuf-specs dev.sigstore.trustroot.v1
 * TrustedRoot, JSON form): transparency logs and CT logs (public key,
 * logId, validity), Fulcio certificate authorities and timestamp
 * authorities (certificate chain, validity).
 *
 * Members protobuf-specs does not define are ignored (protojson with
 * DiscardUnknown, as sigstore-go reads roots); what is defined must be
 * well formed: every key and certificate parses, and a validity window
 * has a start (sigstore-conformance
 * trust-root-tlog-missing-validity-start_fail: a missing start is not
 * "since forever").
 */
#include "sigstore.h"
#include "../base.h"
#include "../json.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#define TR_MT_V01 "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
#define TR_MT_V02 "application/vnd.dev.sigstore.trustedroot.v0.2+json"

static int tr_err(cocoimg_ctx *ctx, const char *where, const char *why)
{
	return coco_seterr(ctx, COCOIMG_ECONFIG, "trusted root: %s: %s", where, why);
}

static void tlog_key_clear(coco_tlog_key *k)
{
	EVP_PKEY_free(k->key);
	free(k->base_url);
	free(k->origin);
}

static void ca_clear(coco_ca *c)
{
	for (size_t i = 0; i < c->n_certs; i++)
		X509_free(c->certs[i]);
	free(c->certs);
	free(c->uri);
}

void coco_trustroot_free(coco_trustroot *tr)
{
	if (!tr)
		return;
	COCO_FREE_ARRAY(tr->tlogs, tr->n_tlogs, tlog_key_clear);
	COCO_FREE_ARRAY(tr->ctlogs, tr->n_ctlogs, tlog_key_clear);
	COCO_FREE_ARRAY(tr->cas, tr->n_cas, ca_clear);
	COCO_FREE_ARRAY(tr->tsas, tr->n_tsas, ca_clear);
	free(tr);
}

int coco_trustroot_new(cocoimg_ctx *ctx, coco_trustroot **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : coco_oom(ctx);
}

/* validFor {start, end}: start required, end optional (open). */
static int parse_validity(cocoimg_ctx *ctx, json_t *v, const char *where, coco_validity *out)
{
	out->start = 0;
	out->end = INT64_MAX;
	if (!json_is_object(v))
		return tr_err(ctx, where, "\"validFor\" missing");
	json_t *s = json_object_get(v, "start"), *e = json_object_get(v, "end");
	if (!json_is_string(s) || coco_rfc3339_parse(json_string_value(s), &out->start))
		return tr_err(ctx, where, "\"validFor.start\" missing or not an RFC 3339 time");
	if (e && !json_is_null(e) && (!json_is_string(e) || coco_rfc3339_parse(json_string_value(e), &out->end)))
		return tr_err(ctx, where, "\"validFor.end\" is not an RFC 3339 time");
	return 0;
}

/* A public key as DER SubjectPublicKeyInfo, or a PKCS#1 RSA public key
 * (keyDetails PKCS1_RSA_*). */
static EVP_PKEY *key_from_der(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	EVP_PKEY *k = d2i_PUBKEY(NULL, &p, (long)len);
	if (!k || p != der + len) {
		EVP_PKEY_free(k);
		p = der;
		k = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
		if (k && p != der + len) {
			EVP_PKEY_free(k);
			k = NULL;
		}
	}
	ERR_clear_error();
	return k;
}

/* "https://rekor.sigstore.dev/" -> "rekor.sigstore.dev" (the checkpoint
 * origin / signer name a log uses). */
static char *origin_from_url(const char *url)
{
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	size_t n = strlen(p);
	while (n && p[n - 1] == '/')
		n--;
	return coco_strndup(p, n);
}

static int parse_log(cocoimg_ctx *ctx, json_t *o, const char *where, coco_tlog_key *k)
{
	json_t *pk = json_object_get(o, "publicKey");
	coco_buf der = COCO_BUF_INIT, id = COCO_BUF_INIT;
	int rc = 0;
	if (!json_is_object(o) || !json_is_object(pk))
		return tr_err(ctx, where, "\"publicKey\" missing");
	if (coco_pbjson_bytes(pk, "rawBytes", false, &der) || der.len > INT32_MAX ||
	    !(k->key = key_from_der(der.data, der.len))) {
		rc = tr_err(ctx, where, "\"publicKey.rawBytes\" is not a public key");
		goto out;
	}
	if ((rc = parse_validity(ctx, json_object_get(pk, "validFor"), where, &k->valid)))
		goto out;
	if (coco_pbjson_bytes(json_object_get(o, "logId"), "keyId", false, &id) || !id.len ||
	    id.len > sizeof(k->log_id)) {
		rc = tr_err(ctx, where, "\"logId.keyId\" missing or malformed");
		goto out;
	}
	memcpy(k->log_id, id.data, id.len);
	k->log_id_len = id.len;
	const char *url = json_string_value(json_object_get(o, "baseUrl"));
	if (url && (!(k->base_url = coco_strdup(url)) || !(k->origin = origin_from_url(url))))
		rc = coco_oom(ctx);
out:
	coco_buf_free(&der);
	coco_buf_free(&id);
	return rc;
}

static int push_cert(cocoimg_ctx *ctx, coco_ca *c, X509 *x)
{
	X509 **n = realloc(c->certs, (c->n_certs + 1) * sizeof(*n));
	if (!n) {
		X509_free(x);
		return coco_oom(ctx);
	}
	c->certs = n;
	c->certs[c->n_certs++] = x;
	return 0;
}

static int parse_ca(cocoimg_ctx *ctx, json_t *o, const char *where, coco_ca *c)
{
	json_t *certs = json_object_get(json_object_get(o, "certChain"), "certificates");
	if (!json_is_array(certs) || !json_array_size(certs))
		return tr_err(ctx, where, "\"certChain.certificates\" missing or empty");
	size_t i;
	json_t *e;
	json_array_foreach(certs, i, e) {
		coco_buf der = COCO_BUF_INIT;
		X509 *x = NULL;
		if (!coco_pbjson_bytes(e, "rawBytes", false, &der))
			x = coco_x509_from_der(der.data, der.len);
		coco_buf_free(&der);
		if (!x)
			return tr_err(ctx, where, "a certificate does not parse");
		int rc = push_cert(ctx, c, x);
		if (rc)
			return rc;
	}
	const char *uri = json_string_value(json_object_get(o, "uri"));
	if (uri && !(c->uri = coco_strdup(uri)))
		return coco_oom(ctx);
	return parse_validity(ctx, json_object_get(o, "validFor"), where, &c->valid);
}

typedef int (*item_parser)(cocoimg_ctx *ctx, json_t *o, const char *where, void *item);

static int parse_list(cocoimg_ctx *ctx, json_t *root, const char *member, size_t item_size,
                      item_parser parse, void **items, size_t *n)
{
	json_t *a = json_object_get(root, member);
	if (!a)
		return 0;
	if (!json_is_array(a))
		return tr_err(ctx, member, "must be an array");
	size_t count = json_array_size(a);
	if (!count)
		return 0;
	*items = calloc(count, item_size);
	if (!*items)
		return coco_oom(ctx);
	for (size_t i = 0; i < count; i++) {
		char where[64];
		snprintf(where, sizeof(where), "%s[%zu]", member, i);
		(*n)++;
		int rc = parse(ctx, json_array_get(a, i), where, (char *)*items + i * item_size);
		if (rc)
			return rc;
	}
	return 0;
}

static int parse_log_v(cocoimg_ctx *ctx, json_t *o, const char *where, void *item)
{
	return parse_log(ctx, o, where, item);
}

static int parse_ca_v(cocoimg_ctx *ctx, json_t *o, const char *where, void *item)
{
	if (!json_is_object(o))
		return tr_err(ctx, where, "must be an object");
	return parse_ca(ctx, o, where, item);
}

int coco_trustroot_parse(cocoimg_ctx *ctx, const void *json, size_t len, coco_trustroot **out)
{
	*out = NULL;
	json_t *j = NULL;
	int rc = coco_json_parse(ctx, json, len, "trusted root", COCOIMG_ECONFIG, &j);
	if (rc)
		return rc;
	coco_trustroot *tr = NULL;
	const char *mt = json_string_value(json_object_get(j, "mediaType"));
	if (!mt || (strcmp(mt, TR_MT_V01) && strcmp(mt, TR_MT_V02))) {
		rc = tr_err(ctx, "mediaType", "not a trusted root media type this verifier knows");
		goto out;
	}
	if ((rc = coco_trustroot_new(ctx, &tr)))
		goto out;
	if ((rc = parse_list(ctx, j, "tlogs", sizeof(coco_tlog_key), parse_log_v,
	                     (void **)&tr->tlogs, &tr->n_tlogs)) ||
	    (rc = parse_list(ctx, j, "ctlogs", sizeof(coco_tlog_key), parse_log_v,
	                     (void **)&tr->ctlogs, &tr->n_ctlogs)) ||
	    (rc = parse_list(ctx, j, "certificateAuthorities", sizeof(coco_ca), parse_ca_v,
	                     (void **)&tr->cas, &tr->n_cas)) ||
	    (rc = parse_list(ctx, j, "timestampAuthorities", sizeof(coco_ca), parse_ca_v,
	                     (void **)&tr->tsas, &tr->n_tsas)))
		goto out;
	*out = tr;
	tr = NULL;
out:
	coco_trustroot_free(tr);
	json_decref(j);
	return rc;
}

int coco_trustroot_load(cocoimg_ctx *ctx, const char *path, coco_trustroot **out)
{
	*out = NULL;
	coco_buf raw = COCO_BUF_INIT;
	int rc = coco_read_file(ctx, path, COCO_TRUSTROOT_MAX, &raw, COCOIMG_EINVAL);
	if (rc) {
		coco_buf_free(&raw);
		return coco_preferr(ctx, COCOIMG_EINVAL, "trusted root %s", path);
	}
	rc = coco_trustroot_parse(ctx, raw.data, raw.len, out);
	coco_buf_free(&raw);
	if (rc && rc != COCOIMG_ENOMEM)
		coco_preferr(ctx, rc, "%s", path);
	return rc;
}

int coco_trustroot_add_ca_pem(cocoimg_ctx *ctx, coco_trustroot *tr, const void *pem, size_t len)
{
	if (len > INT32_MAX)
		return coco_seterr(ctx, COCOIMG_ECONFIG, "CA certificates: too large");
	coco_ca *n = realloc(tr->cas, (tr->n_cas + 1) * sizeof(*n));
	if (!n)
		return coco_oom(ctx);
	tr->cas = n;
	coco_ca *c = &tr->cas[tr->n_cas++];
	*c = (coco_ca){ .valid = { 0, INT64_MAX } };
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	if (!b)
		return coco_oom(ctx);
	X509 *x;
	int rc = 0;
	while (!rc && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)))
		rc = push_cert(ctx, c, x);
	BIO_free(b);
	ERR_clear_error();
	if (!rc && !c->n_certs)
		rc = coco_seterr(ctx, COCOIMG_ECONFIG, "CA certificates: no PEM certificate found");
	return rc;
}

int coco_trustroot_add_tlog_key(cocoimg_ctx *ctx, coco_trustroot *tr, EVP_PKEY *key)
{
	coco_buf der = COCO_BUF_INIT;
	if (coco_spki_der(key, &der))
		return coco_oom(ctx);
	coco_tlog_key *n = realloc(tr->tlogs, (tr->n_tlogs + 1) * sizeof(*n));
	if (!n) {
		coco_buf_free(&der);
		return coco_oom(ctx);
	}
	tr->tlogs = n;
	coco_tlog_key *k = &tr->tlogs[tr->n_tlogs++];
	*k = (coco_tlog_key){ .valid = { 0, INT64_MAX }, .log_id_len = 32 };
	SHA256(der.data, der.len, k->log_id);
	coco_buf_free(&der);
	EVP_PKEY_up_ref(key);
	k->key = key;
	return 0;
}

const coco_tlog_key *coco_trustroot_find_log(const coco_tlog_key *logs, size_t n,
                                             const unsigned char *id, size_t id_len)
{
	for (size_t i = 0; i < n; i++)
		if (logs[i].log_id_len == id_len && !memcmp(logs[i].log_id, id, id_len))
			return &logs[i];
	return NULL;
}
