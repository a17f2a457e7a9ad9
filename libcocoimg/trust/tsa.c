/*
 * RFC 3161 signed timestamps in a Sigstore bundle
 * (timestampVerificationData.rfc3161Timestamps[].signedTimestamp: a DER
 * TimeStampResp, or a bare TimeStampToken).  The message imprint must be
 * the hash of the bundle's signature bytes; the token must be signed by a
 * timestamp authority of the trusted root whose validity window contains
 * genTime, with its chain valid at genTime (not now: an expired TSA chain
 * still proves past times).
 */
#include "sigstore.h"
#include "../base.h"

#include <openssl/err.h>
#include <openssl/ts.h>
#include <string.h>

static int gen_time(TS_TST_INFO *tst, int64_t *at)
{
	const ASN1_GENERALIZEDTIME *t = TS_TST_INFO_get_time(tst);
	struct tm tm;
	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return COCOIMG_EINVAL;
	*at = (int64_t)timegm(&tm);
	return 0;
}

/* A copy of the CA's certificates (owned by the TS context afterwards). */
static STACK_OF(X509) *ca_certs(const coco_ca *ca)
{
	STACK_OF(X509) *s = sk_X509_new_null();
	for (size_t i = 0; s && i < ca->n_certs; i++) {
		if (!sk_X509_push(s, ca->certs[i])) {
			sk_X509_pop_free(s, X509_free);
			return NULL;
		}
		X509_up_ref(ca->certs[i]);
	}
	return s;
}

/* 1 when the token verifies with this TSA at time at. */
static int verify_with_tsa(const coco_ca *ca, PKCS7 *token, int64_t at,
                           const unsigned char *signature, size_t sig_len)
{
	TS_VERIFY_CTX *vc = TS_VERIFY_CTX_new();
	X509_STORE *st = X509_STORE_new();
	STACK_OF(X509) *certs = ca_certs(ca);
	BIO *data = BIO_new_mem_buf(signature, (int)sig_len);
	int ok = 0;
	if (!vc || !st || !certs || !data || !X509_STORE_add_cert(st, ca->certs[ca->n_certs - 1])) {
		X509_STORE_free(st);
		sk_X509_pop_free(certs, X509_free);
		BIO_free(data);
		TS_VERIFY_CTX_free(vc);
		return 0;
	}
	X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(st), (time_t)at);
	TS_VERIFY_CTX_set_store(vc, st);
	TS_VERIFY_CTX_set_certs(vc, certs);
	TS_VERIFY_CTX_set_data(vc, data);
	TS_VERIFY_CTX_set_flags(vc, TS_VFY_VERSION | TS_VFY_SIGNATURE | TS_VFY_DATA);
	ok = TS_RESP_verify_token(vc, token) == 1;
	TS_VERIFY_CTX_free(vc);
	ERR_clear_error();
	return ok;
}

/* The token of a TimeStampResp (status granted), or of a bare token. */
static PKCS7 *parse_token(const unsigned char *der, size_t len, TS_TST_INFO **tst)
{
	const unsigned char *p = der;
	TS_RESP *resp = d2i_TS_RESP(NULL, &p, (long)len);
	PKCS7 *tok = NULL;
	if (resp && p == der + len) {
		long st = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(resp)));
		if ((st == 0 || st == 1) && TS_RESP_get_token(resp))
			tok = PKCS7_dup(TS_RESP_get_token(resp));
	} else {
		p = der;
		tok = d2i_PKCS7(NULL, &p, (long)len);
	}
	TS_RESP_free(resp);
	*tst = tok ? PKCS7_to_TS_TST_INFO(tok) : NULL;
	if (!*tst) {
		PKCS7_free(tok);
		tok = NULL;
	}
	ERR_clear_error();
	return tok;
}

int coco_tsa_verify(cocoimg_ctx *ctx, const coco_trustroot *root, const unsigned char *token,
                    size_t token_len, const unsigned char *signature, size_t sig_len,
                    int64_t *at)
{
	*at = 0;
	if (token_len > INT32_MAX || sig_len > INT32_MAX)
		return coco_seterr(ctx, COCOIMG_EPOLICY, "timestamp: too large");
	TS_TST_INFO *tst = NULL;
	PKCS7 *tok = parse_token(token, token_len, &tst);
	int64_t t = 0;
	if (!tok || gen_time(tst, &t)) {
		PKCS7_free(tok);
		TS_TST_INFO_free(tst);
		return coco_seterr(ctx, COCOIMG_EPOLICY, "timestamp: not an RFC 3161 timestamp token");
	}
	bool ok = false;
	for (size_t i = 0; !ok && i < root->n_tsas; i++) {
		const coco_ca *ca = &root->tsas[i];
		if (ca->n_certs && coco_validity_contains(&ca->valid, t))
			ok = verify_with_tsa(ca, tok, t, signature, sig_len);
	}
	PKCS7_free(tok);
	TS_TST_INFO_free(tst);
	if (!ok)
		return coco_seterr(ctx, COCOIMG_EPOLICY,
		                   "timestamp: not signed over this signature by a trusted timestamp "
		                   "authority valid at its time");
	*at = t;
	return 0;
}
