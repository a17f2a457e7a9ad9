/*
 * Embedded signed certificate timestamps (RFC 6962 section 3.3): a Fulcio
 * leaf carries the SCTs its CT log issued for the precertificate.  The log
 * signed (section 3.2, digitally-signed struct):
 *
 *   version 0 | signature_type 0 (certificate_timestamp) | timestamp (u64 ms)
 *   | entry_type 1 (precert_entry) | SHA-256(issuer SubjectPublicKeyInfo)
 *   | u24 length + precertificate TBSCertificate | u16 length + extensions
 *
 * where the TBSCertificate is the leaf's without the SCT list extension.
 * The log is found by its id (logId of the trusted root's ctlogs) and must
 * be valid at the SCT's time.
 */
#include "sigstore.h"
#include "../base.h"

#include <openssl/ct.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>
#include <string.h>

/* The leaf's TBSCertificate without the embedded SCT list. */
static int precert_tbs(X509 *leaf, coco_buf *out)
{
	X509 *x = X509_dup(leaf);
	int rc = COCOIMG_EINVAL;
	if (!x)
		return rc;
	int idx = X509_get_ext_by_NID(x, NID_ct_precert_scts, -1);
	if (idx >= 0) {
		X509_EXTENSION_free(X509_delete_ext(x, idx));
		unsigned char *der = NULL;
		int n = i2d_re_X509_tbs(x, &der);
		if (n > 0)
			rc = coco_buf_append(out, der, (size_t)n);
		OPENSSL_free(der);
	}
	X509_free(x);
	return rc;
}

static int put_be(coco_buf *b, uint64_t v, int bytes)
{
	unsigned char tmp[8];
	for (int i = 0; i < bytes; i++)
		tmp[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
	return coco_buf_append(b, tmp, (size_t)bytes);
}

/* The signed data for one SCT. */
static int sct_signed_data(const SCT *sct, const unsigned char ikh[32], const coco_buf *tbs,
                           coco_buf *out)
{
	unsigned char *ext = NULL;
	size_t ext_len = SCT_get0_extensions(sct, &ext);
	if (tbs->len >= (1u << 24) || ext_len >= (1u << 16))
		return COCOIMG_EINVAL;
	int rc = put_be(out, 0, 1);
	rc = rc ? rc : put_be(out, 0, 1);
	rc = rc ? rc : put_be(out, SCT_get_timestamp(sct), 8);
	rc = rc ? rc : put_be(out, 1, 2);
	rc = rc ? rc : coco_buf_append(out, ikh, 32);
	rc = rc ? rc : put_be(out, tbs->len, 3);
	rc = rc ? rc : coco_buf_append(out, tbs->data, tbs->len);
	rc = rc ? rc : put_be(out, ext_len, 2);
	rc = rc ? rc : coco_buf_append(out, ext, ext_len);
	return rc;
}

/* 1 when sct verifies with a trusted, valid CT log. */
static int sct_ok(const coco_trustroot *root, const SCT *sct, const unsigned char ikh[32],
                  const coco_buf *tbs)
{
	unsigned char *id = NULL, *sig = NULL;
	size_t id_len = SCT_get0_log_id(sct, &id);
	size_t sig_len = SCT_get0_signature(sct, &sig);
	if (SCT_get_version(sct) != SCT_VERSION_V1 || !sig_len)
		return 0;
	const coco_tlog_key *log = coco_trustroot_find_log(root->ctlogs, root->n_ctlogs, id, id_len);
	int64_t at = (int64_t)(SCT_get_timestamp(sct) / 1000);
	if (!log || !coco_validity_contains(&log->valid, at))
		return 0;
	coco_buf data = COCO_BUF_INIT;
	int ok = 0;
	if (!sct_signed_data(sct, ikh, tbs, &data))
		ok = coco_sigstore_verify_data(log->key, sig, sig_len, data.data, data.len);
	coco_buf_free(&data);
	return ok;
}

static int issuer_key_hash(X509 *issuer, unsigned char out[32])
{
	coco_buf spki = COCO_BUF_INIT;
	if (!issuer || coco_spki_der(X509_get0_pubkey(issuer), &spki)) {
		coco_buf_free(&spki);
		return COCOIMG_EINVAL;
	}
	SHA256(spki.data, spki.len, out);
	coco_buf_free(&spki);
	return 0;
}

int coco_sct_verify(cocoimg_ctx *ctx, const coco_trustroot *root, X509 *leaf, X509 *issuer)
{
	STACK_OF(SCT) *scts = X509_get_ext_d2i(leaf, NID_ct_precert_scts, NULL, NULL);
	unsigned char ikh[32];
	coco_buf tbs = COCO_BUF_INIT;
	bool ok = false;
	if (scts && !issuer_key_hash(issuer, ikh) && !precert_tbs(leaf, &tbs))
		for (int i = 0; !ok && i < sk_SCT_num(scts); i++)
			ok = sct_ok(root, sk_SCT_value(scts, i), ikh, &tbs) == 1;
	coco_buf_free(&tbs);
	SCT_LIST_free(scts);
	ERR_clear_error();
	if (!ok)
		return coco_seterr(ctx, COCOIMG_EPOLICY,
		                   "certificate: no embedded SCT verifies against a trusted CT log");
	return 0;
}
