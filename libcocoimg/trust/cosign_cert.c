/*
 * The signer's key of a legacy cosign signature made with a certificate:
 * the annotations dev.sigstore.cosign/certificate (the leaf, exactly one
 * PEM certificate) and dev.sigstore.cosign/chain (PEM certificates; the
 * last one is the root and is not used, as in containers/image).
 *
 * Policy "fulcio" (containers/image fulcio_cert.go): the Rekor SET is
 * required (cosign_set.c) and gives the time; the whole chain is verified
 * at that time to the CA certificates of caPath/caData (every one of them
 * is a trust anchor, as in a Go CertPool), with the code-signing extended
 * key usage; the OIDC issuer extension (v1 1.3.6.1.4.1.57264.1.1 or v2
 * .1.8, equal when both) must be oidcIssuer and subjectEmail one of the
 * e-mail SANs.  No SCT is checked (containers/image does not).
 *
 * An RFC 3161 timestamp annotation (cosign_tsa.c), with a trusted root that
 * lists timestamp authorities, proves a signing time too: the SET, the
 * timestamp or both, and the certificate is checked at each time.
 *
 * Policy "pki" (pki_cert.go): no Rekor; the chain is verified now to
 * caRoots, with caIntermediates and the chain annotation as
 * intermediates; subjectEmail among the e-mail SANs, subjectHostname as
 * Go's VerifyHostname (DNS SANs with a leftmost wildcard, or IP SANs; the
 * subject CN is never used).
 *
 * A sigstore trusted root (trustedRootPath, --trusted-root) instead: the
 * SET's log and the CAs come from the root with their validity windows,
 * the chain is checked by fulcio.c at the integrated time and an embedded
 * SCT from one of the root's CT logs is required, as cosign verifies a
 * keyless signature.
 */
#include "trust.h"
#include "sigstore.h"
#include "../base.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int cert_err(cocoimg_ctx *ctx, coco_sigcheck *failed, coco_sigcheck what,
                    const char *fmt, ...) COCO_PRINTF(4, 5);
static int cert_err(cocoimg_ctx *ctx, coco_sigcheck *failed, coco_sigcheck what,
                    const char *fmt, ...)
{
	if (failed)
		*failed = what;
	char m[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	return coco_seterr(ctx, COCOIMG_EPOLICY, "%s", m);
}

/* What go_chain_verify's answer (1 chains, 0 does not, -1 out of memory)
 * means for the verdict; `to` names what the chain should reach. */
static int chain_verdict(cocoimg_ctx *ctx, int ok, coco_sigcheck *failed, const char *to)
{
	if (ok < 0)
		return coco_oom(ctx);
	if (!ok)
		return cert_err(ctx, failed, COCO_SIGCHECK_CHAIN, "verifying leaf certificate failed: "
		                "it does not chain to %s", to);
	return 0;
}

/* The leaf: exactly one certificate in the annotation. */
static X509 *leaf_cert(cocoimg_ctx *ctx, const char *pem, coco_sigcheck *failed)
{
	STACK_OF(X509) *v = coco_pem_certs(pem, strlen(pem), false);
	X509 *x = NULL;
	if (!v)
		cert_err(ctx, failed, COCO_SIGCHECK_CHAIN, "parsing leaf certificate failed");
	else if (sk_X509_num(v) != 1)
		cert_err(ctx, failed, COCO_SIGCHECK_CHAIN, "%s", sk_X509_num(v) ?
		         "unexpected multiple certificates present in signature certificate data" :
		         "no certificate found in signature certificate data");
	else
		x = sk_X509_shift(v);
	sk_X509_pop_free(v, X509_free);
	return x;
}

/* The chain annotation without its last certificate (may be empty). */
static int chain_intermediates(cocoimg_ctx *ctx, const char *pem, STACK_OF(X509) **out,
                               coco_sigcheck *failed)
{
	*out = pem && *pem ? coco_pem_certs(pem, strlen(pem), false) : sk_X509_new_null();
	if (!*out)
		return cert_err(ctx, failed, COCO_SIGCHECK_CHAIN,
		                "loading certificate chain failed");
	if (pem && *pem && sk_X509_num(*out) > 0)
		X509_free(sk_X509_pop(*out));
	return 0;
}

/* Go: a certificate without the EKU extension allows every usage. */
static bool eku_allows_code_signing(X509 *x)
{
	if (!(X509_get_extension_flags(x) & EXFLAG_XKUSAGE))
		return true;
	return (X509_get_extended_key_usage(x) & (XKU_CODE_SIGN | XKU_ANYEKU)) != 0;
}

/* Go's Certificate.Verify: leaf to any certificate of anchors (each one is
 * a trust anchor), through untrusted, at `at` (0 = now), with code signing
 * allowed along the whole chain.  1 verified, 0 not, -1 out of memory. */
static int go_chain_verify(X509 *leaf, STACK_OF(X509) *anchors, STACK_OF(X509) *untrusted,
                           int64_t at)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *sc = X509_STORE_CTX_new();
	int ok = -1;
	if (!st || !sc)
		goto out;
	for (int i = 0; i < sk_X509_num(anchors); i++)
		if (!X509_STORE_add_cert(st, sk_X509_value(anchors, i)))
			goto out;
	if (!X509_STORE_CTX_init(sc, st, leaf, untrusted))
		goto out;
	X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(sc);
	X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_PARTIAL_CHAIN);
	if (at)
		X509_VERIFY_PARAM_set_time(vp, (time_t)at);
	ok = X509_verify_cert(sc) == 1;
	STACK_OF(X509) *path = ok ? X509_STORE_CTX_get0_chain(sc) : NULL;
	for (int i = 0; ok && i < sk_X509_num(path); i++)
		ok = eku_allows_code_signing(sk_X509_value(path, i));
out:
	X509_STORE_CTX_free(sc);
	X509_STORE_free(st);
	ERR_clear_error();
	return ok;
}

/* Every certificate of root's CAs (policy caPath / caData). */
static STACK_OF(X509) *root_anchors(const coco_trustroot *root)
{
	STACK_OF(X509) *v = sk_X509_new_null();
	for (size_t i = 0; v && i < root->n_cas; i++)
		for (size_t k = 0; k < root->cas[i].n_certs; k++)
			if (!sk_X509_push(v, root->cas[i].certs[k])) {
				sk_X509_free(v);
				return NULL;
			}
	return v;
}

/* email is one of leaf's rfc822Name SANs (exact, as Go's slices.Contains). */
static bool has_email_san(X509 *leaf, const char *email)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	bool found = false;
	for (int i = 0; !found && gens && i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_EMAIL)
			continue;
		const unsigned char *p = ASN1_STRING_get0_data(g->d.rfc822Name);
		size_t n = (size_t)ASN1_STRING_length(g->d.rfc822Name);
		found = n == strlen(email) && !memcmp(p, email, n);
	}
	GENERAL_NAMES_free(gens);
	ERR_clear_error();
	return found;
}

static int email_check(cocoimg_ctx *ctx, X509 *leaf, const char *email, coco_sigcheck *failed)
{
	if (!email || !*email || has_email_san(leaf, email))
		return 0;
	return cert_err(ctx, failed, COCO_SIGCHECK_IDENTITY,
	                "certificate: required email \"%.200s\" not found", email);
}

/* The policy's fulcio oidcIssuer and subjectEmail. */
static int fulcio_policy_identity(cocoimg_ctx *ctx, const coco_cosign_trust *t, X509 *leaf,
                                  coco_sigcheck *failed)
{
	coco_fulcio_identity id;
	int rc = coco_fulcio_identity_get(ctx, leaf, &id);
	if (rc) {
		if (failed)
			*failed = COCO_SIGCHECK_ISSUER;
		return rc;
	}
	if (!id.issuer)
		rc = cert_err(ctx, failed, COCO_SIGCHECK_ISSUER,
		              "Fulcio certificate is missing the issuer extension");
	else if (strcmp(id.issuer, t->oidc_issuer ? t->oidc_issuer : ""))
		rc = cert_err(ctx, failed, COCO_SIGCHECK_ISSUER,
		              "unexpected Fulcio OIDC issuer \"%.200s\"", id.issuer);
	coco_fulcio_identity_clear(&id);
	return rc ? rc : email_check(ctx, leaf, t->subject_email, failed);
}

/* Fulcio with the policy's CA certificates, at the SET's time. */
static int fulcio_policy_chain(cocoimg_ctx *ctx, const coco_cosign_trust *t, X509 *leaf,
                               STACK_OF(X509) *chain, int64_t at, coco_sigcheck *failed)
{
	STACK_OF(X509) *anchors = root_anchors(t->fulcio_root);
	int ok = anchors ? go_chain_verify(leaf, anchors, chain, at) : -1;
	sk_X509_free(anchors);
	int rc = chain_verdict(ctx, ok, failed, "a trusted Fulcio CA at the Rekor time");
	return rc ? rc : fulcio_policy_identity(ctx, t, leaf, failed);
}

/* Fulcio with a sigstore trusted root (validity windows, SCT). */
static int fulcio_root_chain(cocoimg_ctx *ctx, const coco_cosign_trust *t, X509 *leaf,
                             STACK_OF(X509) *chain, int64_t at, coco_sigcheck *failed)
{
	coco_fulcio_identity id;
	int rc = coco_fulcio_verify(ctx, t->fulcio_root, leaf, chain, at, !t->ignore_sct, &id,
	                            failed);
	if (rc)
		return rc;
	if (t->match)
		rc = coco_fulcio_match(ctx, &id, t->match, failed);
	coco_fulcio_identity_clear(&id);
	if (rc || t->match)
		return rc;
	return fulcio_policy_identity(ctx, t, leaf, failed);
}

/* The Rekor SET's integrated time (the bundle annotation). */
static int set_time(cocoimg_ctx *ctx, const coco_sigstore_sig *sig, const coco_cosign_trust *t,
                    const unsigned char *raw_sig, size_t raw_sig_len, int64_t *at,
                    coco_sigcheck *failed)
{
	coco_buf der = COCO_BUF_INIT;
	int rc = coco_pem_single_der(sig->cert_pem, &der);
	if (rc == COCOIMG_EINVAL)
		rc = cert_err(ctx, failed, COCO_SIGCHECK_TLOG, "the certificate to be matched against "
		              "the Rekor SET is not one PEM block");
	else if (rc == 0 &&
	         (rc = coco_cosign_set_verify(ctx, t, sig->bundle_json, der.data, der.len, raw_sig,
	                                      raw_sig_len, &sig->payload, at)) && failed)
		*failed = COCO_SIGCHECK_TLOG;
	coco_buf_free(&der);
	return rc == COCOIMG_ENOMEM ? coco_oom(ctx) : rc;
}

/* The RFC 3161 timestamp's time (cosign_tsa.c), which must fall within
 * the certificate's validity. */
static int tsa_time(cocoimg_ctx *ctx, const coco_sigstore_sig *sig, const coco_cosign_trust *t,
                    const unsigned char *raw_sig, size_t raw_sig_len, X509 *leaf, int64_t *at,
                    coco_sigcheck *failed)
{
	int rc = coco_cosign_rfc3161_verify(ctx, t->tlog_root, sig->rfc3161_json, raw_sig,
	                                    raw_sig_len, at);
	if (rc) {
		if (failed && rc != COCOIMG_ENOMEM)
			*failed = COCO_SIGCHECK_TIMESTAMP;
		return rc;
	}
	time_t tt = (time_t)*at;
	if (X509_cmp_time(X509_get0_notBefore(leaf), &tt) > 0 ||
	    X509_cmp_time(X509_get0_notAfter(leaf), &tt) < 0)
		return cert_err(ctx, failed, COCO_SIGCHECK_TIMESTAMP, "the RFC 3161 timestamp's time "
		                "is outside the certificate's validity");
	return 0;
}

/* The Fulcio certificate at a proven time: from the root (validity
 * windows, SCT) or the policy's CA certificates. */
static int fulcio_chain_at(cocoimg_ctx *ctx, const coco_cosign_trust *t, X509 *leaf,
                           STACK_OF(X509) *chain, int64_t at, coco_sigcheck *failed)
{
	return t->tlog_root ? fulcio_root_chain(ctx, t, leaf, chain, at, failed)
	                    : fulcio_policy_chain(ctx, t, leaf, chain, at, failed);
}

/* The times a keyless signature proves: the SET's integrated time and the
 * RFC 3161 timestamp's (when the trusted root has TSAs); at least one,
 * and the certificate is checked at each (sigstore-go's rule). */
static int fulcio_key(cocoimg_ctx *ctx, const coco_sigstore_sig *sig,
                      const coco_cosign_trust *t, const unsigned char *raw_sig,
                      size_t raw_sig_len, X509 *leaf, STACK_OF(X509) *chain,
                      coco_sigcheck *failed)
{
	bool ts = coco_cosign_rfc3161_usable(sig, t);
	if (t->ignore_tlog && !ts) /* no proven time: the certificate must be valid now */
		return fulcio_root_chain(ctx, t, leaf, chain, t->now ? t->now : (int64_t)time(NULL),
		                         failed);
	if (!sig->bundle_json && !ts)
		return cert_err(ctx, failed, COCO_SIGCHECK_TLOG, "missing %s annotation",
		                COCO_COSIGN_ANN_BUNDLE);
	int64_t times[2];
	size_t n = 0;
	int rc = 0;
	if (sig->bundle_json && !t->ignore_tlog &&
	    !(rc = set_time(ctx, sig, t, raw_sig, raw_sig_len, &times[n], failed)))
		n++;
	if (!rc && ts && !(rc = tsa_time(ctx, sig, t, raw_sig, raw_sig_len, leaf, &times[n], failed)))
		n++;
	for (size_t i = 0; !rc && i < n; i++)
		rc = fulcio_chain_at(ctx, t, leaf, chain, times[i], failed);
	return rc;
}

/* Go's VerifyHostname: an IP address against the IP SANs, else a DNS
 * name against the DNS SANs (leftmost-label wildcards), never the CN. */
static bool hostname_ok(X509 *leaf, const char *host)
{
	if (X509_check_ip_asc(leaf, host, 0) == 1)
		return true;
	unsigned flags = X509_CHECK_FLAG_NEVER_CHECK_SUBJECT | X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS;
	int r = X509_check_host(leaf, host, 0, flags, NULL);
	ERR_clear_error();
	return r == 1;
}

int coco_pki_cert_verify(cocoimg_ctx *ctx, const coco_pki_trust *p, X509 *leaf,
                         STACK_OF(X509) *chain, int64_t at, coco_sigcheck *failed)
{
	/* a shallow copy: the caller's chain and the policy's certificates
	 * stay as they are */
	STACK_OF(X509) *untrusted = chain ? sk_X509_dup(chain) : sk_X509_new_null();
	for (int i = 0; untrusted && p->intermediates && i < sk_X509_num(p->intermediates); i++)
		if (!sk_X509_push(untrusted, sk_X509_value(p->intermediates, i))) {
			sk_X509_free(untrusted);
			untrusted = NULL;
		}
	int ok = untrusted ? go_chain_verify(leaf, p->roots, untrusted, at) : -1;
	sk_X509_free(untrusted);
	int rc = chain_verdict(ctx, ok, failed, "the PKI roots");
	if (rc)
		return rc;
	rc = email_check(ctx, leaf, p->subject_email, failed);
	if (rc == 0 && p->subject_hostname && *p->subject_hostname &&
	    !hostname_ok(leaf, p->subject_hostname))
		rc = cert_err(ctx, failed, COCO_SIGCHECK_IDENTITY,
		              "unexpected subject hostname: the certificate is not valid for "
		              "\"%.200s\"", p->subject_hostname);
	return rc;
}

static int pki_key(cocoimg_ctx *ctx, const coco_cosign_trust *t, X509 *leaf,
                   STACK_OF(X509) *chain, coco_sigcheck *failed)
{
	return coco_pki_cert_verify(ctx, t->pki_trust, leaf, chain, t->now, failed);
}

int coco_cosign_cert_key(cocoimg_ctx *ctx, const coco_sigstore_sig *sig,
                         const coco_cosign_trust *trust, const unsigned char *raw_sig,
                         size_t raw_sig_len, EVP_PKEY **key, coco_sigcheck *failed)
{
	*key = NULL;
	if (!sig->cert_pem)
		return cert_err(ctx, failed, COCO_SIGCHECK_CHAIN, "missing %s annotation",
		                COCO_COSIGN_ANN_CERTIFICATE);
	X509 *leaf = leaf_cert(ctx, sig->cert_pem, failed);
	if (!leaf)
		return COCOIMG_EPOLICY;
	STACK_OF(X509) *chain = NULL;
	int rc = chain_intermediates(ctx, sig->chain_pem, &chain, failed);
	if (rc == 0)
		rc = trust->fulcio ? fulcio_key(ctx, sig, trust, raw_sig, raw_sig_len, leaf, chain,
		                                failed)
		                   : pki_key(ctx, trust, leaf, chain, failed);
	if (rc == 0 && !(*key = X509_get_pubkey(leaf)))
		rc = cert_err(ctx, failed, COCO_SIGCHECK_CHAIN,
		              "the certificate's public key cannot be used");
	sk_X509_pop_free(chain, X509_free);
	X509_free(leaf);
	ERR_clear_error();
	return rc;
}
