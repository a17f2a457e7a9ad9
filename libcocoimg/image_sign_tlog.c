/*
 * `coco-img sign --rekor-url URL`: log the signature in a Rekor v1
 * transparency log (POST URL/api/v1/log/entries, what cosign and
 * sigstore-go do), check that the answer logs this very signature with an
 * inclusion proof that holds, and hand back the entry as a bundle's tlog
 * entry (cosign v3 bundles: a dsse entry) or as cosign's legacy
 * dev.sigstore.cosign/bundle annotation (`.sig` attachments: a
 * hashedrekord entry of the payload's SHA-256).  The log's own signatures
 * (SET, checkpoint) are verified by whoever verifies the signature, with
 * the log key they trust; we only carry them.
 */
#include "base.h"
#include "digest.h"
#include "image_sign.h"
#include "registry/registry.h"
#include "trust/rekor_entry.h"
#include "trust/sigstore.h"
#include "trust/trust.h"

#include <openssl/pem.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#define REKOR_ANSWER_MAX (1024 * 1024)

/* POST the proposed entry; the LogEntry of a 201 answer. */
static int post_entry(cocoimg_ctx *ctx, const char *rekor_url, const coco_buf *proposed,
                      coco_rekor_logentry *out)
{
	static const coco_sign_service rekor = {
		"transparency log", "/api/v1/log/entries", REKOR_ANSWER_MAX, 201, 0, false,
	};
	coco_buf ans = COCO_BUF_INIT;
	int rc = coco_sign_service_post(ctx, &rekor, rekor_url, proposed, &ans);
	if (!rc)
		rc = coco_rekor_logentry_parse(ctx, ans.data, ans.len, out);
	if (rc)
		coco_preferr(ctx, rc, "logging the signature");
	coco_buf_free(&ans);
	return rc;
}

/* The signer as Rekor wants it (PEM) and as a log body names it (DER). */
typedef struct signer_id {
	char *pem;
	coco_buf der;
} signer_id;

static int signer_get(cocoimg_ctx *ctx, EVP_PKEY *key, X509 *cert, signer_id *s)
{
	memset(s, 0, sizeof(*s));
	if (!cert) {
		int rc = coco_cosign_pubkey_pem(ctx, key, &s->pem);
		if (!rc && coco_spki_der(key, &s->der))
			rc = coco_oom(ctx);
		return rc;
	}
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n = b && PEM_write_bio_X509(b, cert) ? BIO_get_mem_data(b, &p) : 0;
	unsigned char *der = NULL;
	int dn = i2d_X509(cert, &der);
	int rc = n > 0 && dn > 0 && (s->pem = coco_asprintf("%.*s", (int)n, p)) &&
	                 !coco_buf_append(&s->der, der, (size_t)dn)
	                 ? 0
	                 : coco_oom(ctx);
	OPENSSL_free(der);
	BIO_free(b);
	return rc;
}

static void signer_clear(signer_id *s)
{
	free(s->pem);
	coco_buf_free(&s->der);
}

/* Post, then check the answer against what was signed. */
static int log_and_check(cocoimg_ctx *ctx, const char *rekor_url, const coco_buf *proposed,
                         coco_sig_content *c, const signer_id *who, coco_rekor_logentry *e)
{
	c->signer_der = who->der.data;
	c->signer_der_len = who->der.len;
	int rc = post_entry(ctx, rekor_url, proposed, e);
	if (!rc && (rc = coco_rekor_logentry_check(ctx, e, c))) {
		coco_preferr(ctx, rc, "transparency log %s", rekor_url);
		rc = COCOIMG_ENET;
	}
	if (!rc)
		coco_info(ctx, "transparency log: entry %lld (%s %s) at %s", (long long)e->log_index,
		          e->kind, e->version, rekor_url);
	return rc;
}

/* What is proposed to the log: a dsse entry (envelope set) or a
 * hashedrekord entry (digest, sig). */
typedef struct proposal {
	const char *envelope;
	const unsigned char *digest;
	const unsigned char *sig;
	size_t sig_len;
} proposal;

/* Propose the entry for `what` signed by key or cert, log it and check
 * the answer against c; the checked entry in *e. */
static int log_signed(cocoimg_ctx *ctx, const char *rekor_url, const proposal *what,
                      EVP_PKEY *key, X509 *cert, coco_sig_content *c, coco_rekor_logentry *e)
{
	signer_id who;
	coco_buf proposed = COCO_BUF_INIT;
	int rc = signer_get(ctx, key, cert, &who);
	if (!rc)
		rc = what->envelope
		             ? coco_rekor_propose_dsse(ctx, what->envelope, who.pem, &proposed)
		             : coco_rekor_propose_hashedrekord(ctx, what->digest, what->sig,
		                                               what->sig_len, who.pem, &proposed);
	if (!rc)
		rc = log_and_check(ctx, rekor_url, &proposed, c, &who, e);
	coco_buf_free(&proposed);
	signer_clear(&who);
	return rc;
}

int coco_sign_tlog_dsse(cocoimg_ctx *ctx, const char *rekor_url, const coco_cosign_dsse *d,
                        EVP_PKEY *key, X509 *cert, json_t **tlog)
{
	*tlog = NULL;
	coco_rekor_logentry e = { 0 };
	unsigned char ph[32];
	SHA256((const unsigned char *)d->statement, strlen(d->statement), ph);
	coco_sig_content c = { .dsse = true, .sig = d->sig, .sig_len = d->sig_len,
	                       .digest_alg = "sha256", .digest = ph, .digest_len = 32,
	                       .signer_is_cert = cert != NULL };
	proposal what = { .envelope = d->envelope };
	int rc = log_signed(ctx, rekor_url, &what, key, cert, &c, &e);
	if (!rc && !(*tlog = coco_rekor_logentry_tlog_json(&e)))
		rc = coco_oom(ctx);
	coco_rekor_logentry_clear(&e);
	return rc;
}

int coco_sign_tlog_hashedrekord(cocoimg_ctx *ctx, const char *rekor_url, const void *payload,
                                size_t len, const unsigned char *sig, size_t sig_len,
                                EVP_PKEY *key, X509 *cert, char **cosign_bundle)
{
	*cosign_bundle = NULL;
	coco_rekor_logentry e = { 0 };
	unsigned char h[32];
	SHA256(payload, len, h);
	coco_sig_content c = { .sig = sig, .sig_len = sig_len, .digest_alg = "sha256",
	                       .digest = h, .digest_len = 32, .signer_is_cert = cert != NULL };
	proposal what = { .digest = h, .sig = sig, .sig_len = sig_len };
	int rc = log_signed(ctx, rekor_url, &what, key, cert, &c, &e);
	if (!rc && !(*cosign_bundle = coco_rekor_logentry_cosign_bundle(&e)))
		rc = coco_oom(ctx);
	coco_rekor_logentry_clear(&e);
	return rc;
}
