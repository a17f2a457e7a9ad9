/*
 * Small helpers shared by the Sigstore verifier: RFC 3339 times, the hash
 * a Sigstore client pairs with a key, signature checks over data or over a
 * digest, and protobuf-JSON member decoding (bytes as base64, int64 as
 * decimal strings).
 */
#include "sigstore.h"
#include "../base.h"
#include "../json.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

static int digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* "+HH:MM" / "-HH:MM" / "Z" after the seconds (and fraction). */
static int zone_offset(const char *p, int64_t *off)
{
	int hh, mm;
	if ((*p == 'Z' || *p == 'z') && p[1] == 0) {
		*off = 0;
		return 0;
	}
	if ((*p != '+' && *p != '-') || strlen(p) != 6 || p[3] != ':' || digits(p + 1, 2, &hh) ||
	    digits(p + 4, 2, &mm) || hh > 23 || mm > 59)
		return COCOIMG_EINVAL;
	*off = (int64_t)(hh * 3600 + mm * 60) * (*p == '-' ? -1 : 1);
	return 0;
}

/* "YYYY-MM-DDTHH:MM:SS" into tm (ranges checked loosely, as timegm
 * normalises). */
static int parse_fields(const char *s, struct tm *tm)
{
	static const struct { int off, len, lo, hi; } f[] = {
		{ 0, 4, 0, 9999 }, { 5, 2, 1, 12 }, { 8, 2, 1, 31 },
		{ 11, 2, 0, 23 }, { 14, 2, 0, 59 }, { 17, 2, 0, 60 },
	};
	int v[6];
	if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':')
		return COCOIMG_EINVAL;
	for (size_t i = 0; i < COCO_ARRAY_SIZE(f); i++)
		if (digits(s + f[i].off, f[i].len, &v[i]) || v[i] < f[i].lo || v[i] > f[i].hi)
			return COCOIMG_EINVAL;
	*tm = (struct tm){ .tm_year = v[0] - 1900, .tm_mon = v[1] - 1, .tm_mday = v[2],
	                   .tm_hour = v[3], .tm_min = v[4], .tm_sec = v[5] };
	return 0;
}

int coco_rfc3339_parse(const char *s, int64_t *out)
{
	struct tm tm;
	if (!s || parse_fields(s, &tm))
		return COCOIMG_EINVAL;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return COCOIMG_EINVAL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	int64_t off;
	if (zone_offset(p, &off))
		return COCOIMG_EINVAL;
	*out = (int64_t)timegm(&tm) - off;
	return 0;
}

const EVP_MD *coco_sigstore_key_md(EVP_PKEY *key)
{
	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_ED25519:
		return NULL;
	case EVP_PKEY_EC: {
		int bits = EVP_PKEY_get_bits(key);
		return bits > 384 ? EVP_sha512() : bits > 256 ? EVP_sha384() : EVP_sha256();
	}
	default:
		return EVP_sha256();
	}
}

int coco_sigstore_verify_data(EVP_PKEY *key, const unsigned char *sig, size_t sig_len,
                              const void *data, size_t len)
{
	return coco_sigstore_verify_md(key, coco_sigstore_key_md(key), sig, sig_len, data, len) ==
	       1;
}

int coco_pem_first_block(const void *pem, size_t len, coco_pem_block *blk)
{
	memset(blk, 0, sizeof(*blk));
	if (len > INT32_MAX)
		return 1;
	BIO *bio = BIO_new_mem_buf(pem ? pem : "", (int)len);
	if (!bio)
		return COCOIMG_ENOMEM;
	int ok = PEM_read_bio(bio, &blk->name, &blk->header, &blk->der, &blk->len);
	BIO_free(bio);
	ERR_clear_error();
	return ok ? 0 : 1;
}

void coco_pem_block_free(coco_pem_block *blk, bool secret)
{
	OPENSSL_free(blk->name);
	OPENSSL_free(blk->header);
	if (blk->der && secret)
		OPENSSL_clear_free(blk->der, (size_t)blk->len);
	else
		OPENSSL_free(blk->der);
	memset(blk, 0, sizeof(*blk));
}

/* Sigstore's RSA signatures are PKCS#1 v1.5: set that padding on an RSA
 * key's verify context (other keys need nothing).  False on failure. */
static bool rsa_pkcs1(EVP_PKEY *key, EVP_PKEY_CTX *pc)
{
	return EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA ||
	       EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1;
}

int coco_sigstore_verify_md(EVP_PKEY *key, const EVP_MD *md, const unsigned char *sig,
                            size_t sig_len, const void *data, size_t len)
{
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	if (!mc)
		return COCOIMG_ENOMEM;
	int ok = EVP_DigestVerifyInit(mc, &pc, md, NULL, key) == 1 && rsa_pkcs1(key, pc) &&
	         EVP_DigestVerify(mc, sig, sig_len, data, len) == 1;
	EVP_MD_CTX_free(mc);
	ERR_clear_error();
	return ok;
}

int coco_sigstore_verify_digest(EVP_PKEY *key, const unsigned char *sig, size_t sig_len,
                                const EVP_MD *md, const unsigned char *digest, size_t dlen)
{
	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 || !md)
		return 0;
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(key, NULL);
	if (!pc)
		return 0;
	int ok = EVP_PKEY_verify_init(pc) == 1 && EVP_PKEY_CTX_set_signature_md(pc, md) == 1 &&
	         rsa_pkcs1(key, pc) && EVP_PKEY_verify(pc, sig, sig_len, digest, dlen) == 1;
	EVP_PKEY_CTX_free(pc);
	ERR_clear_error();
	return ok;
}

int coco_spki_der(EVP_PKEY *key, coco_buf *out)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(key, &der);
	if (n <= 0)
		return COCOIMG_ENOMEM;
	int rc = coco_buf_append(out, der, (size_t)n);
	OPENSSL_free(der);
	return rc;
}

/* obj's member key; when it is absent, NULL with *rc 0 if it may be
 * (optional), else COCOIMG_EINVAL. */
static json_t *pb_member(json_t *obj, const char *key, bool optional, int *rc)
{
	json_t *v = json_object_get(obj, key);
	*rc = v || optional ? 0 : COCOIMG_EINVAL;
	return v;
}

int coco_pbjson_bytes(json_t *obj, const char *key, bool optional, coco_buf *out)
{
	int rc;
	json_t *v = pb_member(obj, key, optional, &rc);
	if (!v)
		return rc;
	if (!json_is_string(v))
		return COCOIMG_EINVAL;
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (!memchr(s, '\n', n) && !memchr(s, '\r', n))
		return coco_b64_decode(s, n, out);
	/* Go's base64 decoder (protojson) skips CR and LF. */
	char *flat = malloc(n + 1);
	size_t k = 0;
	if (!flat)
		return COCOIMG_ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (s[i] != '\n' && s[i] != '\r')
			flat[k++] = s[i];
	rc = coco_b64_decode(flat, k, out);
	free(flat);
	return rc;
}

int coco_pbjson_u63(json_t *obj, const char *key, bool optional, int64_t *out)
{
	*out = 0;
	int rc;
	json_t *v = pb_member(obj, key, optional, &rc);
	if (!v)
		return rc;
	if (json_is_integer(v)) {
		*out = (int64_t)json_integer_value(v);
		return *out < 0 ? COCOIMG_EINVAL : 0;
	}
	if (!json_is_string(v))
		return COCOIMG_EINVAL;
	const char *s = json_string_value(v);
	if (!isdigit((unsigned char)s[0]) || strlen(s) > 19)
		return COCOIMG_EINVAL;
	char *end = NULL;
	errno = 0;
	long long n = strtoll(s, &end, 10);
	if (errno || *end || n < 0)
		return COCOIMG_EINVAL;
	*out = (int64_t)n;
	return 0;
}

X509 *coco_x509_from_der(const unsigned char *der, size_t len)
{
	if (len > INT32_MAX)
		return NULL;
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	if (x && p != der + len) {
		X509_free(x);
		x = NULL;
	}
	ERR_clear_error();
	return x;
}

STACK_OF(X509) *coco_pem_certs(const void *pem, size_t len, bool lenient)
{
	if (len > INT32_MAX)
		return NULL;
	BIO *bio = BIO_new_mem_buf(pem ? pem : "", (int)len);
	STACK_OF(X509) *v = sk_X509_new_null();
	bool ok = bio && v;
	coco_pem_block blk = { 0 };
	while (ok && PEM_read_bio(bio, &blk.name, &blk.header, &blk.der, &blk.len)) {
		bool skip = lenient && (strcmp(blk.name, "CERTIFICATE") || *blk.header);
		X509 *x = skip ? NULL : coco_x509_from_der(blk.der, (size_t)blk.len);
		if (x && !sk_X509_push(v, x)) {
			X509_free(x);
			ok = false;
		} else if (!x && !lenient) {
			ok = false;
		}
		coco_pem_block_free(&blk, false);
	}
	BIO_free(bio);
	ERR_clear_error();
	if (!ok) {
		sk_X509_pop_free(v, X509_free);
		return NULL;
	}
	return v;
}
