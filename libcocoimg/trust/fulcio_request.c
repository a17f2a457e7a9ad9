/*
 * The signing side of Fulcio v2 (see fulcio_request.h).  Facts from
 * sigstore/fulcio's fulcio.proto (CreateSigningCertificateRequest,
 * SigningCertificate: signedCertificateEmbeddedSct /
 * signedCertificateDetachedSct, chains of PEM strings, leaf first; JSON
 * names of the grpc-gateway: lowerCamelCase, bytes as base64),
 * sigstore-go's pkg/sign/certificate.go (the "ECDSA" algorithm name, the
 * proof of possession: the key's signature over the subject, standard
 * base64) and sigstore/sigstore's pkg/oauthflow (which subject: a
 * verified email, else sub).
 */
#include "fulcio_request.h"
#include "../base.h"
#include "../json.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHAIN 8

static int token_err(cocoimg_ctx *ctx, const char *why)
{
	return coco_seterr(ctx, COCOIMG_EINVAL, "identity token: %s", why);
}

/* The claims (second part) of a compact JWS. */
static int token_claims(cocoimg_ctx *ctx, const char *token, size_t len, json_t **claims)
{
	const char *d1 = memchr(token, '.', len);
	const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
	if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)))
		return token_err(ctx, "not a JWT (three base64url parts)");
	coco_buf raw = COCO_BUF_INIT;
	if (coco_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &raw))
		return token_err(ctx, "its claims are not base64url");
	*claims = json_loadb((const char *)raw.data, raw.len, JSON_REJECT_DUPLICATES, NULL);
	coco_buf_wipe_free(&raw);
	if (!json_is_object(*claims)) {
		json_decref(*claims);
		*claims = NULL;
		return token_err(ctx, "its claims are not a JSON object");
	}
	return 0;
}

int coco_oidc_token_subject(cocoimg_ctx *ctx, const char *token, size_t len, char **subject)
{
	*subject = NULL;
	json_t *c = NULL;
	int rc = token_claims(ctx, token, len, &c);
	if (rc)
		return rc;
	json_t *email = json_object_get(c, "email");
	const char *sub = json_string_value(json_object_get(c, "sub"));
	if (json_is_string(email) && json_string_length(email)) {
		if (!json_is_true(json_object_get(c, "email_verified")))
			rc = token_err(ctx, "its email is not verified by the identity provider");
		else
			sub = json_string_value(email);
	} else if (!sub || !*sub) {
		rc = token_err(ctx, "no subject (sub) in its claims");
	}
	if (!rc && !(*subject = coco_strdup(sub)))
		rc = coco_oom(ctx);
	json_decref(c);
	return rc;
}

/* PEM of key's SubjectPublicKeyInfo (malloc'd). */
static char *pubkey_pem(EVP_PKEY *key)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n = b && PEM_write_bio_PUBKEY(b, key) ? BIO_get_mem_data(b, &p) : 0;
	char *s = n > 0 ? coco_asprintf("%.*s", (int)n, p) : NULL;
	BIO_free(b);
	return s;
}

/* base64 of key's ECDSA/SHA-256 signature over s. */
static char *sign_subject(EVP_PKEY *key, const char *s)
{
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	unsigned char *sig = NULL;
	size_t n = 0;
	char *out = NULL;
	if (mc && EVP_DigestSignInit(mc, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestSign(mc, NULL, &n, (const unsigned char *)s, strlen(s)) == 1 &&
	    (sig = OPENSSL_malloc(n)) &&
	    EVP_DigestSign(mc, sig, &n, (const unsigned char *)s, strlen(s)) == 1)
		out = coco_b64_encode(sig, n);
	OPENSSL_free(sig);
	EVP_MD_CTX_free(mc);
	ERR_clear_error();
	return out;
}

int coco_fulcio_request_build(cocoimg_ctx *ctx, EVP_PKEY *key, const char *token,
                              const char *subject, coco_buf *out)
{
	char *pem = pubkey_pem(key);
	char *pop = pem ? sign_subject(key, subject) : NULL;
	if (!pem || !pop) {
		COCO_FREE_FIELDS(pem, pop);
		return coco_seterr(ctx, COCOIMG_EINTERNAL, "cannot make the proof of possession "
		                   "(OpenSSL)");
	}
	/* written into out directly: the token (a secret) has no other copy
	 * (coco_buf wipes what it outgrows) */
	int rc = coco_buf_appendf(out, "{\"credentials\":{\"oidcIdentityToken\":");
	rc = rc ? rc : coco_json_go_string(out, token, strlen(token));
	rc = rc ? rc : coco_buf_appendf(out, "},\"publicKeyRequest\":{\"publicKey\":{"
	                                     "\"algorithm\":\"ECDSA\",\"content\":");
	rc = rc ? rc : coco_json_go_string(out, pem, strlen(pem));
	rc = rc ? rc : coco_buf_appendf(out, "},\"proofOfPossession\":\"%s\"}}", pop);
	COCO_FREE_FIELDS(pem, pop);
	return rc ? coco_oom(ctx) : 0;
}

static int answer_err(cocoimg_ctx *ctx, const char *why)
{
	return coco_seterr(ctx, COCOIMG_EBADIMAGE, "certificate authority answer: %s", why);
}

static X509 *pem_cert(const char *s)
{
	BIO *b = BIO_new_mem_buf(s, -1);
	X509 *c = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	ERR_clear_error();
	return c;
}

/* The PEM strings into certificates, each signed by the next. */
static int read_chain(cocoimg_ctx *ctx, json_t *certs, X509 **leaf, STACK_OF(X509) *rest)
{
	size_t n = json_array_size(certs);
	if (!n || n > MAX_CHAIN)
		return answer_err(ctx, "the chain must hold 1 to 8 certificates");
	X509 *prev = NULL;
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(certs, i));
		X509 *c = s ? pem_cert(s) : NULL;
		if (!c)
			return answer_err(ctx, "a chain entry is not a PEM certificate");
		if (i == 0)
			*leaf = c;
		else if (!sk_X509_push(rest, c)) {
			X509_free(c);
			return coco_oom(ctx);
		}
		EVP_PKEY *ik = X509_get0_pubkey(c);
		if (prev && (!ik || X509_verify(prev, ik) != 1)) {
			ERR_clear_error();
			return answer_err(ctx, "a certificate of the chain is not signed by the next");
		}
		prev = c;
	}
	return 0;
}

int coco_fulcio_answer_parse(cocoimg_ctx *ctx, const void *json, size_t len, EVP_PKEY *key,
                             X509 **leaf, STACK_OF(X509) **chain)
{
	*leaf = NULL;
	*chain = NULL;
	json_t *j = NULL;
	int rc = coco_json_parse(ctx, json, len, "certificate authority answer", COCOIMG_EBADIMAGE,
	                         &j);
	if (rc)
		return rc;
	json_t *emb = json_object_get(j, "signedCertificateEmbeddedSct");
	if (!emb && json_object_get(j, "signedCertificateDetachedSct"))
		rc = answer_err(ctx, "a detached SCT, which a Sigstore bundle cannot carry (the CA "
		                "must embed it)");
	else if (!json_is_object(emb))
		rc = answer_err(ctx, "no signedCertificateEmbeddedSct");
	else if (!(*chain = sk_X509_new_null()))
		rc = coco_oom(ctx);
	else
		rc = read_chain(ctx, json_object_get(json_object_get(emb, "chain"), "certificates"),
		                leaf, *chain);
	if (!rc && EVP_PKEY_eq(X509_get0_pubkey(*leaf), key) != 1)
		rc = answer_err(ctx, "the certificate is for another key");
	ERR_clear_error();
	json_decref(j);
	if (rc) {
		X509_free(*leaf);
		sk_X509_pop_free(*chain, X509_free);
		*leaf = NULL;
		*chain = NULL;
	}
	return rc;
}
