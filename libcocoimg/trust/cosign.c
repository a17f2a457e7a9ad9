/*
 * cosign signatures (legacy sigstore attachments): verifying the signature
 * annotation against what a sigstoreSigned requirement trusts
 * (coco_cosign_trust: public keys, optionally proven logged by a Rekor SET;
 * Fulcio or PKI certificates, cosign_cert.c; SETs, cosign_set.c) and parsing
 * the payload with containers/image's strictness.
 */
#include "trust.h"
#include "sigstore.h"
#include "../base.h"
#include "../json.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

void coco_sigstore_sigs_free(coco_sigstore_sig *sigs, size_t n)
{
	if (!sigs)
		return;
	for (size_t i = 0; i < n; i++) {
		coco_buf_free(&sigs[i].payload);
		free(sigs[i].signature_b64);
		free(sigs[i].cert_pem);
		free(sigs[i].chain_pem);
		free(sigs[i].bundle_json);
		free(sigs[i].rfc3161_json);
	}
	free(sigs);
}

/*
 * Go's base64.StdEncoding: padding required, '\r' and '\n' ignored
 * anywhere.  coco_b64_decode alone would also take unpadded input.
 */
int coco_go_b64_decode(const char *in, size_t len, coco_buf *out)
{
	char *clean = malloc(len + 1);
	if (!clean)
		return COCOIMG_ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (in[i] != '\r' && in[i] != '\n')
			clean[n++] = in[i];
	clean[n] = 0;
	int rc = 0;
	if (n % 4)
		rc = COCOIMG_EINVAL;
	else
		rc = coco_b64_decode(clean, n, out);
	free(clean);
	return rc;
}

/*
 * go-digest's Parse: a registered algorithm (sha256, sha384, sha512) and
 * lower-case hex of the right length.  (coco_digest_validate knows only the
 * two algorithms OCI blobs use; a sha384 value is valid in a payload and
 * then simply never matches.)
 */
bool coco_go_digest_valid(const char *s)
{
	static const struct { const char *alg; size_t hexlen; } algs[] = {
		{ "sha256", 64 }, { "sha384", 96 }, { "sha512", 128 },
	};
	const char *colon = strchr(s, ':');
	if (!colon || colon == s)
		return false;
	size_t alen = (size_t)(colon - s);
	for (size_t i = 0; i < COCO_ARRAY_SIZE(algs); i++) {
		if (strlen(algs[i].alg) != alen || strncmp(s, algs[i].alg, alen))
			continue;
		const char *h = colon + 1;
		if (strlen(h) != algs[i].hexlen)
			return false;
		for (; *h; h++)
			if (!((*h >= '0' && *h <= '9') || (*h >= 'a' && *h <= 'f')))
				return false;
		return true;
	}
	return false;
}

char *coco_cosign_attachment_tag(const char *digest)
{
	if (!digest || !coco_go_digest_valid(digest))
		return NULL;
	char *t = coco_asprintf("%s.sig", digest);
	if (t)
		*strchr(t, ':') = '-';
	return t;
}

/* A JSON string member as Go decodes it into a string: null leaves "" and
 * anything else but a string is an error.  NUL bytes are refused (they
 * cannot survive as C strings; Go would fail the identity parse anyway). */
static int go_string(cocoimg_ctx *ctx, json_t *v, const char *field, const char **out)
{
	if (json_is_null(v)) {
		*out = "";
		return 0;
	}
	if (!json_is_string(v))
		return coco_seterr(ctx, COCOIMG_EPOLICY,
		                   "invalid signature payload: field %s is not a string", field);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return coco_seterr(ctx, COCOIMG_EPOLICY,
		                   "invalid signature payload: field %s contains a NUL byte", field);
	*out = json_string_value(v);
	return 0;
}

/* The object must have exactly the listed keys (ParanoidUnmarshalJSONObjectExactFields). */
static int exact_fields(cocoimg_ctx *ctx, json_t *o, const char *what, const char *const *keys,
                        size_t n)
{
	if (!json_is_object(o))
		return coco_seterr(ctx, COCOIMG_EPOLICY,
		                   "invalid signature payload: %s is not a JSON object", what);
	for (size_t i = 0; i < n; i++)
		if (!json_object_get(o, keys[i]))
			return coco_seterr(ctx, COCOIMG_EPOLICY,
			                   "invalid signature payload: %s: missing field \"%s\"", what,
			                   keys[i]);
	if (json_object_size(o) != n) {
		const char *k;
		json_t *v;
		json_object_foreach(o, k, v) {
			bool known = false;
			for (size_t i = 0; i < n; i++)
				known |= !strcmp(k, keys[i]);
			if (!known)
				return coco_seterr(ctx, COCOIMG_EPOLICY,
				                   "invalid signature payload: %s: unknown field \"%.64s\"",
				                   what, k);
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Payload                                                             */
/* ------------------------------------------------------------------ */

/* "optional": null, or an object whose unknown members are ignored;
 * creator must be a string and timestamp (Go: a float64 that must be
 * integral) a whole number. */
static int payload_optional(cocoimg_ctx *ctx, json_t *opt)
{
	if (json_is_null(opt))
		return 0;      /* cosign writes null without annotations */
	if (!json_is_object(opt))
		return coco_seterr(ctx, COCOIMG_EPOLICY,
		                   "invalid signature payload: optional is not a JSON object");
	const char *s;
	json_t *v = json_object_get(opt, "creator");
	int rc = v ? go_string(ctx, v, "optional.creator", &s) : 0;
	if (rc)
		return rc;
	v = json_object_get(opt, "timestamp");
	if (!v || json_is_null(v) || json_is_integer(v))
		return 0;
	if (!json_is_real(v))
		return coco_seterr(ctx, COCOIMG_EPOLICY,
		                   "invalid signature payload: field optional.timestamp is not a number");
	double d = json_real_value(v);
	if (!(d >= -9.2e18 && d <= 9.2e18) || (double)(int64_t)d != d)
		return coco_seterr(ctx, COCOIMG_EPOLICY,
		                   "invalid signature payload: field optional.timestamp is not an integer");
	return 0;
}

/* "critical": type, image.docker-manifest-digest, identity.docker-reference
 * (each object with exactly its fields).  *digest and *ref are borrowed
 * from crit. */
static int payload_critical(cocoimg_ctx *ctx, json_t *crit, const char **digest,
                            const char **ref)
{
	static const char *const crit_keys[] = { "type", "image", "identity" };
	static const char *const img_keys[] = { "docker-manifest-digest" };
	static const char *const id_keys[] = { "docker-reference" };
	const char *s = NULL;
	json_t *img = json_object_get(crit, "image"), *id = json_object_get(crit, "identity");
	int rc;
	if ((rc = exact_fields(ctx, crit, "critical", crit_keys, 3)) ||
	    (rc = go_string(ctx, json_object_get(crit, "type"), "critical.type", &s)))
		return rc;
	if (strcmp(s, "cosign container image signature"))
		return coco_seterr(ctx, COCOIMG_EPOLICY, "Unrecognized signature type %.100s", s);
	if ((rc = exact_fields(ctx, img, "critical.image", img_keys, 1)) ||
	    (rc = go_string(ctx, json_object_get(img, "docker-manifest-digest"),
	                    "critical.image.docker-manifest-digest", digest)))
		return rc;
	if (!coco_go_digest_valid(*digest))
		return coco_seterr(ctx, COCOIMG_EPOLICY,
		                   "invalid signature payload: invalid docker-manifest-digest value \"%.150s\"",
		                   *digest);
	if ((rc = exact_fields(ctx, id, "critical.identity", id_keys, 1)))
		return rc;
	return go_string(ctx, json_object_get(id, "docker-reference"),
	                 "critical.identity.docker-reference", ref);
}

int coco_payload_claims_copy(cocoimg_ctx *ctx, const char *digest, const char *ref,
                             char **digest_out, char **ref_out)
{
	*digest_out = coco_strdup(digest);
	*ref_out = coco_strdup(ref);
	if (*digest_out && *ref_out)
		return 0;
	free(*digest_out);
	free(*ref_out);
	*digest_out = *ref_out = NULL;
	return coco_oom(ctx);
}

/*
 * Differences from Go that remain: jansson refuses invalid UTF-8 and
 * duplicate keys at any depth (Go ignores nested duplicates inside unknown
 * "optional" members); both only make us reject what Go might accept.
 */
int coco_cosign_payload_parse(cocoimg_ctx *ctx, const void *data, size_t len,
                              char **manifest_digest, char **docker_reference)
{
	*manifest_digest = NULL;
	*docker_reference = NULL;
	json_error_t je;
	json_t *top = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
	if (!top)
		return coco_seterr(ctx, COCOIMG_EPOLICY,
		                   "invalid signature payload: invalid JSON at line %d column %d: %s",
		                   je.line, je.column, je.text);
	static const char *const top_keys[] = { "critical", "optional" };
	const char *digest = NULL, *ref = NULL;
	int rc;
	if (!(rc = exact_fields(ctx, top, "the payload", top_keys, 2)) &&
	    !(rc = payload_optional(ctx, json_object_get(top, "optional"))) &&
	    !(rc = payload_critical(ctx, json_object_get(top, "critical"), &digest, &ref)))
		rc = coco_payload_claims_copy(ctx, digest, ref, manifest_digest, docker_reference);
	json_decref(top);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Public keys                                                         */
/* ------------------------------------------------------------------ */

void coco_pubkeys_free(EVP_PKEY **keys, size_t n)
{
	if (!keys)
		return;
	for (size_t i = 0; i < n; i++)
		EVP_PKEY_free(keys[i]);
	free(keys);
}

/* Key types a cosign verifier can use (sigstore LoadVerifier): ECDSA on
 * the curves Go parses, RSA, Ed25519. */
static bool usable_key(EVP_PKEY *k)
{
	switch (EVP_PKEY_get_base_id(k)) {
	case EVP_PKEY_RSA:
	case EVP_PKEY_ED25519:
		return true;
	case EVP_PKEY_EC: {
		char curve[64];
		size_t clen = 0;
		if (!EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, curve,
		                                    sizeof(curve), &clen))
			return false;
		return !strcmp(curve, "prime256v1") || !strcmp(curve, "secp384r1") ||
		       !strcmp(curve, "secp521r1") || !strcmp(curve, "secp224r1");
	}
	default:
		return false;
	}
}

/*
 * Like sigstore's cryptoutils.UnmarshalPEMToPublicKey (what containers/image
 * uses for keyPath/keyPaths/keyData/keyDatas): the FIRST PEM block is the
 * key, of type "PUBLIC KEY" (SubjectPublicKeyInfo) or "RSA PUBLIC KEY"
 * (PKCS#1); anything after it is ignored.  So every file or data entry
 * yields exactly one key; several keys mean several keyPaths entries.
 * (The interface returns an array so a future bundle of keys fits.)
 */
int coco_pubkeys_load_pem(cocoimg_ctx *ctx, const unsigned char *pem, size_t len,
                          EVP_PKEY ***keys, size_t *n)
{
	*keys = NULL;
	*n = 0;
	if (len > INT32_MAX)
		return coco_seterr(ctx, COCOIMG_ECONFIG, "public key data is too large");
	coco_pem_block blk;
	EVP_PKEY *k = NULL;
	int rc = coco_pem_first_block(pem, len, &blk);
	if (rc == COCOIMG_ENOMEM)
		return coco_oom(ctx);
	if (rc) {
		rc = coco_seterr(ctx, COCOIMG_ECONFIG, "public key: PEM decoding failed");
		goto out;
	}
	const unsigned char *p = blk.der;
	if (!strcmp(blk.name, "PUBLIC KEY")) {
		k = d2i_PUBKEY(NULL, &p, blk.len);
	} else if (!strcmp(blk.name, "RSA PUBLIC KEY")) {
		k = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, blk.len);
	} else {
		rc = coco_seterr(ctx, COCOIMG_ECONFIG, "public key: unknown PEM block type \"%.40s\"",
		                 blk.name);
		goto out;
	}
	if (!k) {
		rc = coco_seterr(ctx, COCOIMG_ECONFIG, "public key: malformed %s", blk.name);
		goto out;
	}
	if (p != blk.der + blk.len) {
		rc = coco_seterr(ctx, COCOIMG_ECONFIG, "public key: trailing data after the key");
		goto out;
	}
	if (!usable_key(k)) {
		rc = coco_seterr(ctx, COCOIMG_ECONFIG,
		                 "public key: unsupported key type %s (ECDSA, RSA or Ed25519 needed)",
		                 EVP_PKEY_get0_type_name(k) ? EVP_PKEY_get0_type_name(k) : "?");
		goto out;
	}
	*keys = calloc(1, sizeof(**keys));
	if (!*keys) {
		rc = coco_oom(ctx);
		goto out;
	}
	(*keys)[0] = k;
	k = NULL;
	*n = 1;
out:
	EVP_PKEY_free(k);
	coco_pem_block_free(&blk, false);
	ERR_clear_error();         /* leave no stale OpenSSL errors behind */
	return rc;
}

/* ------------------------------------------------------------------ */
/* Signature verification                                              */
/* ------------------------------------------------------------------ */

static int digest_verify(EVP_PKEY *key, const unsigned char *sig, size_t sig_len,
                         const void *payload, size_t len)
{
	/* containers/image verifies with SHA-256 whatever the key size
	 * (sigstoreHarcodedHashAlgorithm), so a P-384 signature made with
	 * SHA-384 (cosign >= 2.6 defaults, sigstore-rs) is rejected there and
	 * here; RSA is PKCS#1 v1.5 only (sigstore's LoadVerifier, no PSS);
	 * Ed25519 is pure (not Ed25519ph). */
	const EVP_MD *md = EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 ? NULL : EVP_sha256();
	return coco_sigstore_verify_md(key, md, sig, sig_len, payload, len);
}

int coco_cosign_verify_raw(EVP_PKEY *key, const unsigned char *sig, size_t sig_len,
                           const void *payload, size_t len)
{
	int ok = digest_verify(key, sig, sig_len, payload, len);
	if (ok != 0 || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC)
		return ok;
	/* Current sigstore falls back to a raw r||s signature when the
	 * ASN.1 form does not verify. */
	int bits = EVP_PKEY_get_bits(key);
	size_t half = (size_t)(bits + 7) / 8;
	if (bits <= 0 || sig_len != 2 * half)
		return 0;
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, (int)half, NULL);
	BIGNUM *s = BN_bin2bn(sig + half, (int)half, NULL);
	unsigned char *der = NULL;
	int der_len = -1;
	if (es && r && s && ECDSA_SIG_set0(es, r, s) == 1) {
		r = s = NULL;
		der_len = i2d_ECDSA_SIG(es, &der);
	}
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	if (der_len <= 0)
		return 0;
	ok = digest_verify(key, der, (size_t)der_len, payload, len);
	OPENSSL_free(der);
	return ok;
}

void coco_rekor_bundle_clear(coco_rekor_bundle *b)
{
	COCO_CLEAR_FIELDS(b, b->set_b64, b->body_b64, b->log_id);
}

static int bundle_err(cocoimg_ctx *ctx, const char *why)
{
	return coco_seterr(ctx, COCOIMG_EPOLICY, "invalid %s annotation: %s",
	                   COCO_COSIGN_ANN_BUNDLE, why);
}

int coco_rekor_bundle_parse(cocoimg_ctx *ctx, const char *json, coco_rekor_bundle *out)
{
	memset(out, 0, sizeof(*out));
	json_error_t je;
	json_t *top = json_loads(json, JSON_REJECT_DUPLICATES, &je);
	if (!top)
		return bundle_err(ctx, "not valid JSON");
	int rc = 0;
	json_t *pl = json_object_get(top, "Payload");
	json_t *set = json_object_get(top, "SignedEntryTimestamp");
	if (!json_is_object(top) || json_object_size(top) != 2 || !json_is_object(pl) ||
	    !json_is_string(set)) {
		rc = bundle_err(ctx, "expected exactly SignedEntryTimestamp and Payload");
		goto out;
	}
	json_t *body = json_object_get(pl, "body");
	json_t *it = json_object_get(pl, "integratedTime");
	json_t *li = json_object_get(pl, "logIndex");
	json_t *lid = json_object_get(pl, "logID");
	if (json_object_size(pl) != 4 || !json_is_string(body) || !json_is_integer(it) ||
	    !json_is_integer(li) || !json_is_string(lid)) {
		rc = bundle_err(ctx, "Payload needs exactly body, integratedTime, logIndex, logID");
		goto out;
	}
	out->set_b64 = coco_strdup(json_string_value(set));
	out->body_b64 = coco_strdup(json_string_value(body));
	out->log_id = coco_strdup(json_string_value(lid));
	out->integrated_time = (int64_t)json_integer_value(it);
	out->log_index = (int64_t)json_integer_value(li);
	if (!out->set_b64 || !out->body_b64 || !out->log_id)
		rc = coco_oom(ctx);
out:
	json_decref(top);
	if (rc)
		coco_rekor_bundle_clear(out);
	return rc;
}

/* Go's pem.Decode with nothing after the block (trailing blanks and one
 * line end allowed). */
int coco_pem_single_der(const char *pem, coco_buf *der)
{
	const char *end = strstr(pem, "-----END ");
	const char *close = end ? strstr(end + 9, "-----") : NULL;
	if (!close)
		return COCOIMG_EINVAL;
	const char *p = close + 5;
	p += strspn(p, " \t");
	if (*p == '\r')
		p++;
	if (*p == '\n')
		p++;
	if (*p)
		return COCOIMG_EINVAL;
	coco_pem_block blk;
	int rc = coco_pem_first_block(pem, strlen(pem), &blk);
	if (rc == 0 && coco_buf_append(der, blk.der, (size_t)blk.len))
		rc = COCOIMG_ENOMEM;
	else if (rc == 1)
		rc = COCOIMG_EINVAL;
	coco_pem_block_free(&blk, false);
	return rc;
}

static int sig_fail(cocoimg_ctx *ctx, coco_sigcheck *failed, coco_sigcheck what, int rc)
{
	if (failed && rc && rc != COCOIMG_ENOMEM)
		*failed = what;
	return rc;
}

/* Key mode with a Rekor requirement: the first key the SET logs (the
 * SET holds one key; containers/image tries them in order). */
static int keys_logged(cocoimg_ctx *ctx, const coco_sigstore_sig *sig,
                       const coco_cosign_trust *t, const coco_buf *raw, EVP_PKEY **chosen)
{
	if (!sig->bundle_json)
		return coco_seterr(ctx, COCOIMG_EPOLICY, "missing %s annotation",
		                   COCO_COSIGN_ANN_BUNDLE);
	coco_buf why = COCO_BUF_INIT;
	for (size_t i = 0; i < t->n_keys; i++) {
		coco_buf der = COCO_BUF_INIT;
		int64_t at;
		int rc = coco_spki_der(t->keys[i], &der) ? COCOIMG_ENOMEM :
		         coco_cosign_set_verify(ctx, t, sig->bundle_json, der.data, der.len, raw->data,
		                                raw->len, &sig->payload, &at);
		coco_buf_free(&der);
		if (rc == 0) {
			*chosen = t->keys[i];
			coco_buf_free(&why);
			return 0;
		}
		if (rc == COCOIMG_ENOMEM) {
			coco_buf_free(&why);
			return coco_oom(ctx);
		}
		coco_buf_appendf(&why, "%s%s", why.len ? ", " : "", cocoimg_ctx_last_error(ctx));
	}
	int rc = coco_seterr(ctx, COCOIMG_EPOLICY, "No public key verified against the Rekor SET: "
	                     "%.600s", why.len ? (char *)why.data : "no keys");
	coco_buf_free(&why);
	return rc;
}

/* The keys the signature must verify with: the policy's (those a SET
 * logs when a log is required) or the certificate's. */
static int signer_keys(cocoimg_ctx *ctx, const coco_sigstore_sig *sig,
                       const coco_cosign_trust *t, const coco_buf *raw, EVP_PKEY **one,
                       bool *cert_key, coco_sigcheck *failed)
{
	*one = NULL;
	*cert_key = false;
	if (t->fulcio || t->pki) {
		*cert_key = true;
		return coco_cosign_cert_key(ctx, sig, t, raw->data, raw->len, one, failed);
	}
	if (!t->n_keys)
		return sig_fail(ctx, failed, COCO_SIGCHECK_SIGNATURE,
		                coco_seterr(ctx, COCOIMG_EPOLICY, "No public keys imported"));
	if ((!t->n_rekor_keys && !t->tlog_root) || t->ignore_tlog)
		return 0;
	/* a trusted timestamp may stand for the log entry (then any policy
	 * key may have signed: the signature check says which); when there
	 * are both, both must verify */
	bool ts = coco_cosign_rfc3161_usable(sig, t);
	int rc = 0;
	if (sig->bundle_json || !ts)
		rc = sig_fail(ctx, failed, COCO_SIGCHECK_TLOG, keys_logged(ctx, sig, t, raw, one));
	int64_t at;
	if (!rc && ts)
		rc = sig_fail(ctx, failed, COCO_SIGCHECK_TIMESTAMP,
		              coco_cosign_rfc3161_verify(ctx, t->tlog_root, sig->rfc3161_json,
		                                         raw->data, raw->len, &at));
	return rc;
}

int coco_cosign_verify_ex(cocoimg_ctx *ctx, const coco_sigstore_sig *sig,
                          const coco_cosign_trust *trust, char **manifest_digest,
                          char **docker_reference, coco_sigcheck *failed)
{
	*manifest_digest = NULL;
	*docker_reference = NULL;
	if (failed)
		*failed = COCO_SIGCHECK_NONE;
	if (!sig->signature_b64)
		return sig_fail(ctx, failed, COCO_SIGCHECK_SIGNATURE,
		                coco_seterr(ctx, COCOIMG_EPOLICY, "missing %s annotation",
		                            COCO_COSIGN_ANN_SIGNATURE));
	coco_buf raw = COCO_BUF_INIT;
	int rc = coco_go_b64_decode(sig->signature_b64, strlen(sig->signature_b64), &raw);
	if (rc)
		return rc == COCOIMG_ENOMEM ? coco_oom(ctx) : sig_fail(ctx, failed,
		       COCO_SIGCHECK_SIGNATURE, coco_seterr(ctx, COCOIMG_EPOLICY,
		       "invalid signature: base64 decoding of %s failed", COCO_COSIGN_ANN_SIGNATURE));
	EVP_PKEY *one = NULL;
	bool cert_key = false;
	if ((rc = signer_keys(ctx, sig, trust, &raw, &one, &cert_key, failed))) {
		coco_buf_free(&raw);
		return rc;
	}
	EVP_PKEY *const *keys = one ? &one : trust->keys;
	size_t n = one ? 1 : trust->n_keys;
	int ok = 0;
	for (size_t i = 0; i < n && ok == 0; i++)
		ok = coco_cosign_verify_raw(keys[i], raw.data, raw.len, sig->payload.data,
		                            sig->payload.len);
	coco_buf_free(&raw);
	if (cert_key)
		EVP_PKEY_free(one);
	if (ok < 0)
		return coco_oom(ctx);
	if (!ok)
		return sig_fail(ctx, failed, COCO_SIGCHECK_SIGNATURE,
		                coco_seterr(ctx, COCOIMG_EPOLICY, "cryptographic signature "
		                            "verification failed: %s", cert_key ?
		                            "the certificate's key does not verify the signature" :
		                            "no trusted key verifies the signature"));
	rc = coco_cosign_payload_parse(ctx, sig->payload.data, sig->payload.len, manifest_digest,
	                               docker_reference);
	return sig_fail(ctx, failed, COCO_SIGCHECK_SIGNATURE, rc);
}

int coco_cosign_verify(cocoimg_ctx *ctx, const coco_sigstore_sig *sig, EVP_PKEY *const *keys,
                       size_t n_keys, char **manifest_digest, char **docker_reference)
{
	coco_cosign_trust t = { .keys = keys, .n_keys = n_keys };
	return coco_cosign_verify_ex(ctx, sig, &t, manifest_digest, docker_reference, NULL);
}

/* ------------------------------------------------------------------ */
/* containers/image's stored form (dir: layouts)                       */
/* ------------------------------------------------------------------ */

static int ann_dup(json_t *ann, const char *key, char **out)
{
	json_t *v = json_object_get(ann, key);
	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return COCOIMG_EBADIMAGE;
	*out = coco_strdup(json_string_value(v));
	return *out ? 0 : COCOIMG_ENOMEM;
}

int coco_sigstore_sig_from_annotations(json_t *ann, coco_sigstore_sig *s)
{
	int rc;
	if (ann && !json_is_object(ann))
		return COCOIMG_EBADIMAGE;
	if ((rc = ann_dup(ann, COCO_COSIGN_ANN_SIGNATURE, &s->signature_b64)) ||
	    (rc = ann_dup(ann, COCO_COSIGN_ANN_CERTIFICATE, &s->cert_pem)) ||
	    (rc = ann_dup(ann, COCO_COSIGN_ANN_CHAIN, &s->chain_pem)) ||
	    (rc = ann_dup(ann, COCO_COSIGN_ANN_BUNDLE, &s->bundle_json)) ||
	    (rc = ann_dup(ann, COCO_COSIGN_ANN_RFC3161, &s->rfc3161_json)))
		return rc;
	return 0;
}

int coco_sigstore_sig_from_blob(cocoimg_ctx *ctx, const void *blob, size_t len,
                                coco_sigstore_sig *out, char **mime_type)
{
	static const char magic[] = "\0sigstore-json\n";
	memset(out, 0, sizeof(*out));
	*mime_type = NULL;
	if (len < sizeof(magic) - 1 || memcmp(blob, magic, sizeof(magic) - 1))
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "not a sigstore-json signature blob");
	json_t *j = NULL;
	int rc = coco_json_parse(ctx, (const char *)blob + sizeof(magic) - 1,
	                         len - (sizeof(magic) - 1), "sigstore signature", COCOIMG_EBADIMAGE,
	                         &j);
	if (rc)
		return rc;
	const char *mt = NULL, *pl = NULL;
	if ((rc = coco_json_str(ctx, j, "mimeType", "sigstore signature", COCOIMG_EBADIMAGE, &mt)) ||
	    (rc = coco_json_str(ctx, j, "payload", "sigstore signature", COCOIMG_EBADIMAGE, &pl)))
		goto out;
	if (coco_go_b64_decode(pl, strlen(pl), &out->payload)) {
		rc = coco_seterr(ctx, COCOIMG_EBADIMAGE, "sigstore signature: payload is not base64");
		goto out;
	}
	rc = coco_sigstore_sig_from_annotations(json_object_get(j, "annotations"), out);
	if (rc) {
		rc = coco_seterr(ctx, rc, "sigstore signature: malformed annotations");
		goto out;
	}
	*mime_type = coco_strdup(mt);
	if (!*mime_type)
		rc = coco_oom(ctx);
out:
	json_decref(j);
	if (rc) {
		coco_buf_free(&out->payload);
		free(out->signature_b64);
		free(out->cert_pem);
		free(out->chain_pem);
		free(out->bundle_json);
		free(out->rfc3161_json);
		memset(out, 0, sizeof(*out));
	}
	return rc;
}
