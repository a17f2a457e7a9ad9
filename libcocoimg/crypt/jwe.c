/*
 * JWE key wrapping (annotation org.opencontainers.image.enc.keys.jwe,
 * ocicrypt.md section 4).
 *
 * Reading: compact, flattened and general JSON serialization, every
 * recipient tried with every private key.  Key management RSA-OAEP,
 * RSA-OAEP-256, ECDH-ES+A128KW/A192KW/A256KW (P-256/384/521); content
 * encryption A128GCM/A192GCM/A256GCM and A128CBC-HS256/A192CBC-HS384/
 * A256CBC-HS512: exactly ocicrypt's list.  As go-jose v4 (which ocicrypt
 * pins) a JWE with a "crit" header or with any recipient outside the list
 * is refused whole.  go-jose's stray top-level encrypted_key next to
 * "recipients" is ignored.
 *
 * Writing: one flattened single-recipient JWE per recipient (RSA-OAEP or
 * ECDH-ES+A256KW, A256GCM), comma-joined.  ocicrypt-rs (josekit) only
 * attempts the first recipient whose alg matches its key, so one
 * multi-recipient JWE would lock out every RSA recipient but the first;
 * separate JWEs are each tried.  The protected header carries a "kid"
 * (the recipient JWK's own kid, else its RFC 7638 thumbprint) so that
 * recipients can be identified and removed later; go-jose and josekit
 * ignore it for keys that are not JWKs with a kid.
 */
#include "crypt.h"
#include "../base.h"
#include "../json.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#define ANN_JWE COCO_ANN_KEYS_PREFIX "jwe"
#define MAX_JWE (256 * 1024)

typedef struct jwe_rcpt {
	json_t *header;            /* merged header (owned) */
	coco_buf ek;               /* encrypted key */
} jwe_rcpt;

typedef struct jwe_obj {
	char *protected_b64;       /* as written (AAD) */
	char *aad_b64;             /* optional */
	coco_buf iv, ct, tag;
	jwe_rcpt *r;
	size_t n;
} jwe_obj;

static void jwe_free(jwe_obj *j)
{
	free(j->protected_b64);
	free(j->aad_b64);
	coco_buf_free(&j->iv);
	coco_buf_free(&j->ct);
	coco_buf_free(&j->tag);
	for (size_t i = 0; i < j->n; i++) {
		json_decref(j->r[i].header);
		coco_buf_free(&j->r[i].ek);
	}
	free(j->r);
	memset(j, 0, sizeof(*j));
}

static int b64u_str(json_t *v, coco_buf *out, bool required)
{
	if (!v || json_is_null(v))
		return required ? COCOIMG_EBADIMAGE : 0;
	if (!json_is_string(v))
		return COCOIMG_EBADIMAGE;
	return coco_b64url_decode(json_string_value(v), json_string_length(v), out) ?
	               COCOIMG_EBADIMAGE : 0;
}

/* Merge src's members into dst (members already in dst are kept). */
static int merge_into(json_t *dst, json_t *src)
{
	const char *k;
	json_t *v;
	if (!src || json_is_null(src))
		return 0;
	if (!json_is_object(src))
		return COCOIMG_EBADIMAGE;
	json_object_foreach(src, k, v) {
		if (!json_object_get(dst, k) && json_object_set(dst, k, v))
			return COCOIMG_ENOMEM;
	}
	return 0;
}

static int add_rcpt(jwe_obj *j, json_t *prot, json_t *unprot, json_t *hdr, json_t *ek)
{
	jwe_rcpt *n = realloc(j->r, (j->n + 1) * sizeof(*n));
	if (!n)
		return COCOIMG_ENOMEM;
	j->r = n;
	jwe_rcpt *r = &j->r[j->n];
	memset(r, 0, sizeof(*r));
	r->header = json_object();
	if (!r->header)
		return COCOIMG_ENOMEM;
	j->n++;
	int rc = merge_into(r->header, prot);
	if (!rc)
		rc = merge_into(r->header, unprot);
	if (!rc)
		rc = merge_into(r->header, hdr);
	if (!rc)
		rc = b64u_str(ek, &r->ek, false);
	return rc;
}

static json_t *decode_protected(const char *b64, size_t len)
{
	coco_buf b = COCO_BUF_INIT;
	json_t *j = NULL;
	if (!coco_b64url_decode(b64, len, &b)) {
		json_error_t e;
		j = json_loadb((const char *)b.data, b.len, 0, &e);
		if (j && !json_is_object(j)) {
			json_decref(j);
			j = NULL;
		}
	}
	coco_buf_free(&b);
	return j;
}

/* Compact serialization: protected.encrypted_key.iv.ciphertext.tag */
static int parse_compact(const unsigned char *data, size_t len, jwe_obj *j, json_t **prot)
{
	const char *p[5];
	size_t l[5];
	const char *s = (const char *)data, *end = s + len;
	for (int k = 0; k < 5; k++) {
		const char *dot = k < 4 ? memchr(s, '.', (size_t)(end - s)) : end;
		if (!dot)
			return COCOIMG_EBADIMAGE;
		p[k] = s;
		l[k] = (size_t)(dot - s);
		s = dot + 1;
	}
	if (memchr(p[4], '.', l[4]))
		return COCOIMG_EBADIMAGE;
	j->protected_b64 = coco_strndup(p[0], l[0]);
	*prot = j->protected_b64 ? decode_protected(p[0], l[0]) : NULL;
	if (!*prot)
		return COCOIMG_EBADIMAGE;
	json_t *ek = json_stringn(p[1], l[1]);
	int rc = ek ? add_rcpt(j, *prot, NULL, NULL, ek) : COCOIMG_ENOMEM;
	json_decref(ek);
	if (rc)
		return rc;
	if (coco_b64url_decode(p[2], l[2], &j->iv) || coco_b64url_decode(p[3], l[3], &j->ct) ||
	    coco_b64url_decode(p[4], l[4], &j->tag))
		return COCOIMG_EBADIMAGE;
	return 0;
}

/* The "protected" and "aad" members of a JSON serialization. */
static int parse_json_headers(json_t *doc, jwe_obj *j, json_t **prot)
{
	json_t *pv = json_object_get(doc, "protected");
	if (pv) {
		if (!json_is_string(pv))
			return COCOIMG_EBADIMAGE;
		j->protected_b64 = coco_strdup(json_string_value(pv));
		*prot = decode_protected(json_string_value(pv), json_string_length(pv));
		if (!j->protected_b64 || !*prot)
			return COCOIMG_EBADIMAGE;
	} else {
		j->protected_b64 = coco_strdup("");
	}
	json_t *aad = json_object_get(doc, "aad");
	if (aad) {
		if (!json_is_string(aad))
			return COCOIMG_EBADIMAGE;
		j->aad_b64 = coco_strdup(json_string_value(aad));
	}
	return 0;
}

/* The recipients: a "recipients" array (general form; a stray top-level
 * encrypted_key is ignored) or the top-level header (flattened form). */
static int parse_json_recipients(json_t *doc, jwe_obj *j, json_t *prot)
{
	json_t *unprot = json_object_get(doc, "unprotected");
	json_t *rcpts = json_object_get(doc, "recipients");
	if (!rcpts)
		return add_rcpt(j, prot, unprot, json_object_get(doc, "header"),
		                json_object_get(doc, "encrypted_key"));
	if (!json_is_array(rcpts) || !json_array_size(rcpts))
		return COCOIMG_EBADIMAGE;
	size_t k;
	json_t *r;
	json_array_foreach(rcpts, k, r) {
		if (!json_is_object(r))
			return COCOIMG_EBADIMAGE;
		int rc = add_rcpt(j, prot, unprot, json_object_get(r, "header"),
		                  json_object_get(r, "encrypted_key"));
		if (rc)
			return rc;
	}
	return 0;
}

/* General or flattened JSON serialization. */
static int parse_json(const unsigned char *data, size_t len, jwe_obj *j, json_t **prot)
{
	json_error_t e;
	json_t *doc = json_loadb((const char *)data, len, 0, &e);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return COCOIMG_EBADIMAGE;
	}
	int rc = parse_json_headers(doc, j, prot);
	if (!rc)
		rc = parse_json_recipients(doc, j, *prot);
	if (!rc && (b64u_str(json_object_get(doc, "iv"), &j->iv, false) ||
	            b64u_str(json_object_get(doc, "ciphertext"), &j->ct, true) ||
	            b64u_str(json_object_get(doc, "tag"), &j->tag, false)))
		rc = COCOIMG_EBADIMAGE;
	json_decref(doc);
	return rc;
}

static int jwe_parse(const unsigned char *data, size_t len, jwe_obj *j)
{
	memset(j, 0, sizeof(*j));
	size_t i = 0;
	while (i < len && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t'))
		i++;
	if (len > MAX_JWE || i == len)
		return COCOIMG_EBADIMAGE;
	json_t *prot = NULL;
	int rc = data[i] == '{' ? parse_json(data, len, j, &prot) : parse_compact(data, len, j, &prot);
	json_decref(prot);
	if (rc)
		jwe_free(j);
	return rc;
}

/* Key sizes by algorithm name: the content encryptions ("enc") and the
 * AES key wraps after ECDH-ES ("alg"; direct ECDH-ES is refused, see
 * alg_allowed). */
typedef struct alg_size {
	const char *name;
	int len;
} alg_size;

static const alg_size enc_sizes[] = {
	{ "A128GCM", 16 },       { "A192GCM", 24 },       { "A256GCM", 32 },
	{ "A128CBC-HS256", 32 }, { "A192CBC-HS384", 48 }, { "A256CBC-HS512", 64 },
};

static const alg_size ecdh_kw_sizes[] = {
	{ "ECDH-ES+A128KW", 16 }, { "ECDH-ES+A192KW", 24 }, { "ECDH-ES+A256KW", 32 },
};

/* The size that name has in t (n rows), -1 when it is not there. */
static int size_of(const alg_size *t, size_t n, const char *name)
{
	for (size_t i = 0; name && i < n; i++)
		if (!strcmp(t[i].name, name))
			return t[i].len;
	return -1;
}

/* The CEK size of a content encryption, -1 when not supported. */
static int cek_len(const char *enc)
{
	return size_of(enc_sizes, COCO_ARRAY_SIZE(enc_sizes), enc);
}

/* RFC 7518 4.6.2 Concat KDF with SHA-256. */
static int concat_kdf(const unsigned char *z, size_t zlen, const char *algid,
                      const coco_buf *apu, const coco_buf *apv, size_t keylen,
                      unsigned char *out)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md)
		return COCOIMG_ENOMEM;
	int rc = COCOIMG_EINTERNAL;
	size_t done = 0;
	for (uint32_t ctr = 1; done < keylen; ctr++) {
		unsigned char h[32], be[4];
		unsigned int hl = 0;
#define BE32(v) (be[0] = (unsigned char)((v) >> 24), be[1] = (unsigned char)((v) >> 16), \
		 be[2] = (unsigned char)((v) >> 8), be[3] = (unsigned char)(v), be)
		size_t al = strlen(algid);
		if (!EVP_DigestInit_ex(md, EVP_sha256(), NULL) ||
		    !EVP_DigestUpdate(md, BE32(ctr), 4) || !EVP_DigestUpdate(md, z, zlen) ||
		    !EVP_DigestUpdate(md, BE32(al), 4) || !EVP_DigestUpdate(md, algid, al) ||
		    !EVP_DigestUpdate(md, BE32(apu->len), 4) ||
		    (apu->len && !EVP_DigestUpdate(md, apu->data, apu->len)) ||
		    !EVP_DigestUpdate(md, BE32(apv->len), 4) ||
		    (apv->len && !EVP_DigestUpdate(md, apv->data, apv->len)) ||
		    !EVP_DigestUpdate(md, BE32(keylen * 8), 4) || !EVP_DigestFinal_ex(md, h, &hl))
			goto out;
#undef BE32
		size_t take = keylen - done < 32 ? keylen - done : 32;
		memcpy(out + done, h, take);
		coco_wipe(h, sizeof(h));
		done += take;
	}
	rc = 0;
out:
	EVP_MD_CTX_free(md);
	return rc;
}

static int ecdh(EVP_PKEY *priv, EVP_PKEY *peer, unsigned char *z, size_t *zlen)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
	int ok = c && EVP_PKEY_derive_init(c) > 0 && EVP_PKEY_derive_set_peer(c, peer) > 0 &&
	         EVP_PKEY_derive(c, z, zlen) > 0;
	EVP_PKEY_CTX_free(c);
	return ok ? 0 : COCOIMG_ENOKEY;
}

static const EVP_CIPHER *kw_cipher(size_t keylen)
{
	return keylen == 16 ? EVP_aes_128_wrap() : keylen == 24 ? EVP_aes_192_wrap() :
	                                                          EVP_aes_256_wrap();
}

static int aes_kw(bool wrap, const unsigned char *kek, size_t keklen, const unsigned char *in,
                  size_t inlen, unsigned char *out, size_t *outlen)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l1 = 0, l2 = 0;
	if (!c)
		return COCOIMG_ENOMEM;
	EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	int ok = EVP_CipherInit_ex(c, kw_cipher(keklen), NULL, kek, NULL, wrap ? 1 : 0) &&
	         EVP_CipherUpdate(c, out, &l1, in, (int)inlen) &&
	         EVP_CipherFinal_ex(c, out + l1, &l2);
	EVP_CIPHER_CTX_free(c);
	if (!ok)
		return COCOIMG_ENOKEY;
	*outlen = (size_t)(l1 + l2);
	return 0;
}

/* The OAEP hash of RSA-OAEP (SHA-1) or RSA-OAEP-256. */
static const EVP_MD *oaep_md(const char *alg)
{
	return !strcmp(alg, "RSA-OAEP") ? EVP_sha1() : EVP_sha256();
}

static int rsa_oaep(bool enc, EVP_PKEY *pk, const EVP_MD *md, const unsigned char *in,
                    size_t inlen, unsigned char *out, size_t *outlen)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	int ok = c && (enc ? EVP_PKEY_encrypt_init(c) : EVP_PKEY_decrypt_init(c)) > 0 &&
	         EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) > 0 &&
	         EVP_PKEY_CTX_set_rsa_oaep_md(c, md) > 0 && EVP_PKEY_CTX_set_rsa_mgf1_md(c, md) > 0 &&
	         (enc ? EVP_PKEY_encrypt(c, out, outlen, in, inlen) :
	                EVP_PKEY_decrypt(c, out, outlen, in, inlen)) > 0;
	EVP_PKEY_CTX_free(c);
	return ok ? 0 : COCOIMG_ENOKEY;
}

/* AES-GCM (RFC 7518 5.3) into out (room reserved); 0 or COCOIMG_ENOKEY. */
static int gcm_open(EVP_CIPHER_CTX *c, const jwe_obj *j, const unsigned char *cek,
                    size_t ceklen, const coco_buf *aad, coco_buf *out)
{
	const EVP_CIPHER *ciph = ceklen == 16 ? EVP_aes_128_gcm() :
	                         ceklen == 24 ? EVP_aes_192_gcm() : EVP_aes_256_gcm();
	int l1 = 0, l2 = 0;
	size_t start = out->len;
	/* 96-bit IV, 128-bit tag (go-jose and josekit refuse anything else too) */
	if (j->tag.len != 16 || j->iv.len != 12)
		return COCOIMG_ENOKEY;
	if (!EVP_DecryptInit_ex(c, ciph, NULL, NULL, NULL) ||
	    !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, (int)j->iv.len, NULL) ||
	    !EVP_DecryptInit_ex(c, NULL, NULL, cek, j->iv.data) ||
	    !EVP_DecryptUpdate(c, NULL, &l1, aad->data, (int)aad->len) ||
	    !EVP_DecryptUpdate(c, out->data + start, &l1, j->ct.data, (int)j->ct.len) ||
	    !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, j->tag.data) ||
	    !EVP_DecryptFinal_ex(c, out->data + start + l1, &l2))
		return COCOIMG_ENOKEY;
	out->len = start + (size_t)l1 + (size_t)l2;
	return 0;
}

/* The AES_CBC_HMAC_SHA2 tag (RFC 7518 5.2.2.1) of the first half of the
 * key over aad, iv, ciphertext and the AAD length in bits. */
static bool cbc_hmac_ok(const jwe_obj *j, const unsigned char *cek, size_t half,
                        const coco_buf *aad)
{
	unsigned char mac[64], al[8];
	uint64_t bits = (uint64_t)aad->len * 8;
	for (int i = 0; i < 8; i++)
		al[i] = (unsigned char)(bits >> (56 - 8 * i));
	EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *mc = m ? EVP_MAC_CTX_new(m) : NULL;
	EVP_MAC_free(m);
	char mdname[8];
	strcpy(mdname, half == 16 ? "SHA256" : half == 24 ? "SHA384" : "SHA512");
	OSSL_PARAM prm[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, mdname, 0),
	                     OSSL_PARAM_construct_end() };
	size_t ml = 0;
	bool macok = mc && EVP_MAC_init(mc, cek, half, prm) &&
	             EVP_MAC_update(mc, aad->data, aad->len) &&
	             EVP_MAC_update(mc, j->iv.data, j->iv.len) &&
	             EVP_MAC_update(mc, j->ct.data, j->ct.len) && EVP_MAC_update(mc, al, 8) &&
	             EVP_MAC_final(mc, mac, &ml, sizeof(mac)) && ml >= half;
	EVP_MAC_CTX_free(mc);
	macok = macok && coco_ct_equal(mac, j->tag.data, half);
	coco_wipe(mac, sizeof(mac));
	return macok;
}

/* AES_CBC_HMAC_SHA2 (RFC 7518 5.2) into out (room reserved); 0 or
 * COCOIMG_ENOKEY. */
static int cbc_hmac_open(EVP_CIPHER_CTX *c, const jwe_obj *j, const unsigned char *cek,
                         size_t ceklen, const coco_buf *aad, coco_buf *out)
{
	size_t half = ceklen / 2;
	const EVP_CIPHER *ciph = half == 16 ? EVP_aes_128_cbc() :
	                         half == 24 ? EVP_aes_192_cbc() : EVP_aes_256_cbc();
	int l1 = 0, l2 = 0;
	size_t start = out->len;
	if (j->iv.len != 16 || j->tag.len != half)
		return COCOIMG_ENOKEY;
	if (!cbc_hmac_ok(j, cek, half, aad) ||
	    !EVP_DecryptInit_ex(c, ciph, NULL, cek + half, j->iv.data) ||
	    !EVP_DecryptUpdate(c, out->data + start, &l1, j->ct.data, (int)j->ct.len) ||
	    !EVP_DecryptFinal_ex(c, out->data + start + l1, &l2))
		return COCOIMG_ENOKEY;
	out->len = start + (size_t)l1 + (size_t)l2;
	return 0;
}

/* Content decryption; AAD is the protected header's base64 text (and
 * "." and the aad member when present). */
static int content_decrypt(const jwe_obj *j, const char *enc, const unsigned char *cek,
                           size_t ceklen, coco_buf *out)
{
	coco_buf aad = COCO_BUF_INIT;
	size_t start = out->len;
	EVP_CIPHER_CTX *c = NULL;
	int rc = COCOIMG_ENOMEM;
	if (coco_buf_append(&aad, j->protected_b64, strlen(j->protected_b64)) ||
	    (j->aad_b64 && (coco_buf_putc(&aad, '.') ||
	                    coco_buf_append(&aad, j->aad_b64, strlen(j->aad_b64)))) ||
	    coco_buf_reserve(out, j->ct.len + 32) || !(c = EVP_CIPHER_CTX_new()))
		goto out;
	rc = !strncmp(enc + 4, "GCM", 3) ? gcm_open(c, j, cek, ceklen, &aad, out)
	                                 : cbc_hmac_open(c, j, cek, ceklen, &aad, out);
	EVP_CIPHER_CTX_free(c);
	/* no unauthenticated plaintext left behind in the spare capacity */
	if (rc)
		coco_wipe(out->data + start, j->ct.len + 32);
out:
	coco_buf_free(&aad);
	ERR_clear_error();
	return rc;
}

static const char *hdr_str(json_t *h, const char *k)
{
	json_t *v = json_object_get(h, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Recover the CEK of recipient r with private key pk. */
/* RSA-OAEP(-256): decrypt the encrypted key; it must be want bytes. */
static int rsa_cek(const jwe_rcpt *r, EVP_PKEY *pk, const char *alg, int want,
                   unsigned char *cek, size_t *ceklen)
{
	if (!EVP_PKEY_is_a(pk, "RSA"))
		return COCOIMG_ENOKEY;
	unsigned char tmp[1024];
	size_t tl = sizeof(tmp);
	if (r->ek.len > sizeof(tmp))
		return COCOIMG_ENOKEY;
	int rc = rsa_oaep(false, pk, oaep_md(alg),
	                  r->ek.data, r->ek.len, tmp, &tl);
	ERR_clear_error();
	if (!rc && tl != (size_t)want)
		rc = COCOIMG_ENOKEY;
	if (!rc) {
		memcpy(cek, tmp, tl);
		*ceklen = tl;
	}
	coco_wipe(tmp, sizeof(tmp));
	return rc;
}

/* The AES key wrap size of an ECDH-ES+AxxxKW algorithm, -1 when not
 * supported. */
static int ecdh_kwlen(const char *alg)
{
	return size_of(ecdh_kw_sizes, COCO_ARRAY_SIZE(ecdh_kw_sizes), alg);
}

/* Shared secret with the recipient header's ephemeral key (same curve as
 * pk). */
static int ecdh_secret(const jwe_rcpt *r, EVP_PKEY *pk, unsigned char *z, size_t *zlen)
{
	const char *crv;
	size_t flen;
	if (coco_ec_info(pk, &crv, &flen))
		return COCOIMG_ENOKEY;
	json_t *epk = json_object_get(r->header, "epk");
	json_t *ecrv = json_object_get(epk, "crv");
	if (!json_is_string(ecrv) || strcmp(json_string_value(ecrv), crv))
		return COCOIMG_ENOKEY;
	EVP_PKEY *peer = coco_jwk_to_pkey(epk, false);
	if (!peer)
		return COCOIMG_EBADIMAGE;
	int rc = ecdh(pk, peer, z, zlen);
	EVP_PKEY_free(peer);
	ERR_clear_error();
	return rc;
}

/* ECDH-ES+AxxxKW: Concat KDF, then AES key unwrap. */
static int ecdh_cek(const jwe_rcpt *r, EVP_PKEY *pk, const char *alg, const char *enc,
                    int want, unsigned char *cek, size_t *ceklen)
{
	int kwlen = ecdh_kwlen(alg);
	if (kwlen < 0)
		return COCOIMG_EUNSUPPORTED;
	unsigned char z[80], kek[64];
	size_t zlen = sizeof(z);
	coco_buf apu = COCO_BUF_INIT, apv = COCO_BUF_INIT;
	int rc = ecdh_secret(r, pk, z, &zlen);
	if (!rc && (b64u_str(json_object_get(r->header, "apu"), &apu, false) ||
	            b64u_str(json_object_get(r->header, "apv"), &apv, false)))
		rc = COCOIMG_EBADIMAGE;
	if (!rc) {
		rc = concat_kdf(z, zlen, alg, &apu, &apv, (size_t)kwlen, kek);
		if (!rc && (r->ek.len != (size_t)want + 8))
			rc = COCOIMG_ENOKEY;
		if (!rc)
			rc = aes_kw(false, kek, (size_t)kwlen, r->ek.data, r->ek.len, cek, ceklen);
		ERR_clear_error();
	}
	coco_wipe(z, sizeof(z));
	coco_wipe(kek, sizeof(kek));
	coco_buf_free(&apu);
	coco_buf_free(&apv);
	return rc;
}

static int recipient_cek(const jwe_rcpt *r, EVP_PKEY *pk, const char *alg, const char *enc,
                         unsigned char *cek, size_t *ceklen)
{
	int want = cek_len(enc);
	if (want < 0)
		return COCOIMG_EUNSUPPORTED;
	if (!strcmp(alg, "RSA-OAEP") || !strcmp(alg, "RSA-OAEP-256"))
		return rsa_cek(r, pk, alg, want, cek, ceklen);
	if (strncmp(alg, "ECDH-ES", 7))
		return COCOIMG_EUNSUPPORTED;
	return ecdh_cek(r, pk, alg, enc, want, cek, ceklen);
}

static int jwe_decrypt(const jwe_obj *j, EVP_PKEY *pk, coco_buf *out)
{
	int rc = COCOIMG_ENOKEY;
	for (size_t i = 0; i < j->n; i++) {
		const char *alg = hdr_str(j->r[i].header, "alg");
		const char *enc = hdr_str(j->r[i].header, "enc");
		if (!alg || !enc || json_object_get(j->r[i].header, "zip"))
			continue;
		unsigned char cek[64];
		size_t ceklen = 0;
		int r = recipient_cek(&j->r[i], pk, alg, enc, cek, &ceklen);
		if (!r && ceklen == (size_t)cek_len(enc))
			r = content_decrypt(j, enc, cek, ceklen, out);
		else if (!r)
			r = COCOIMG_ENOKEY;
		coco_wipe(cek, sizeof(cek));
		if (!r)
			return 0;
		if (r == COCOIMG_ENOMEM)
			return r;
	}
	return rc;
}

/* ---- the key wrapper ---- */

static bool is_jwe_recipient(const coco_key *k)
{
	return k->recipient && k->kind == COCO_KEY_PUBLIC && k->pkey;
}

static char **kw_annotations(cocoimg_keyring *kr)
{
	return coco_kw_annotation_if(kr, is_jwe_recipient, ANN_JWE);
}

static int set_b64u(json_t *o, const char *k, const unsigned char *d, size_t n)
{
	char *s = coco_b64url_encode(d, n);
	int rc = s ? json_object_set_new(o, k, json_string(s)) : -1;
	free(s);
	return rc ? COCOIMG_ENOMEM : 0;
}

/* RSA-OAEP(-256) key wrapping: the JWK's "alg" when it is one of the two,
 * else RSA-OAEP (what go-jose writes). */
static int wrap_cek_rsa(cocoimg_ctx *ctx, const coco_key *k, const unsigned char *cek,
                        size_t ceklen, json_t *hdr, unsigned char *ek, size_t *eklen)
{
	const char *alg = k->jwk_alg;
	if (!alg || (strcmp(alg, "RSA-OAEP") && strcmp(alg, "RSA-OAEP-256")))
		alg = "RSA-OAEP";
	if (rsa_oaep(true, k->pkey, oaep_md(alg), cek,
	             ceklen, ek, eklen))
		return coco_seterr(ctx, COCOIMG_EINTERNAL, "%s: RSA-OAEP encryption failed", k->label);
	if (json_object_set_new(hdr, "alg", json_string(alg)))
		return coco_oom(ctx);
	return 0;
}

/* Only the three key-wrapping variants go-jose writes; any other JWK
 * "alg" (e.g. "ECDH-ES+A512KW") gets the default instead of being copied
 * into the header unchecked.  *kwlen: the AES key wrap key size. */
static const char *ecdh_alg(const char *alg, size_t *kwlen)
{
	int n = ecdh_kwlen(alg);
	if (n < 0) {
		alg = "ECDH-ES+A256KW";
		n = ecdh_kwlen(alg);
	}
	*kwlen = (size_t)n;
	return alg;
}

/* ECDH-ES+AxxxKW: an ephemeral key on the recipient's curve, Concat KDF,
 * AES key wrap of the CEK. */
static int wrap_cek_ecdh(cocoimg_ctx *ctx, const coco_key *k, const unsigned char *cek,
                         size_t ceklen, json_t *hdr, unsigned char *ek, size_t *eklen)
{
	const char *crv;
	size_t flen, kwlen;
	const char *alg = ecdh_alg(k->jwk_alg, &kwlen);
	if (coco_ec_info(k->pkey, &crv, &flen))
		return coco_seterr(ctx, COCOIMG_EINVAL, "%s: unsupported EC curve", k->label);
	EVP_PKEY *eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC",
	                                  flen == 32 ? "P-256" : flen == 48 ? "P-384" : "P-521");
	unsigned char z[80], kek[32];
	size_t zlen = sizeof(z);
	coco_buf none = COCO_BUF_INIT;
	int r = !eph || ecdh(eph, k->pkey, z, &zlen) ||
	        concat_kdf(z, zlen, alg, &none, &none, kwlen, kek) ||
	        aes_kw(true, kek, kwlen, cek, ceklen, ek, eklen);
	coco_wipe(z, sizeof(z));
	coco_wipe(kek, sizeof(kek));
	json_t *epk = r ? NULL : coco_pkey_public_jwk(eph);
	EVP_PKEY_free(eph);
	if (!epk || json_object_set_new(hdr, "alg", json_string(alg)) ||
	    json_object_set_new(hdr, "epk", epk))
		return coco_seterr(ctx, COCOIMG_EINTERNAL, "%s: ECDH-ES key agreement failed",
		                   k->label);
	return 0;
}

/* The protected header, base64url of its JSON with sorted members (as
 * go-jose writes it); NULL when out of memory. */
static char *protected_header(const coco_key *k, json_t *hdr)
{
	char *kid = k->jwk_kid ? coco_strdup(k->jwk_kid) : coco_pkey_thumbprint(k->pkey);
	int bad = kid && json_object_set_new(hdr, "kid", json_string(kid));
	free(kid);
	char *hdr_json = bad ? NULL : json_dumps(hdr, JSON_COMPACT | JSON_SORT_KEYS);
	char *prot = hdr_json ? coco_b64url_encode((unsigned char *)hdr_json, strlen(hdr_json)) : NULL;
	free(hdr_json);
	return prot;
}

/* AES-256-GCM over pt with the protected header text as AAD; ct has room
 * for ptlen bytes. */
static int gcm_seal(const unsigned char *cek, const unsigned char iv[12], const char *prot,
                    const unsigned char *pt, size_t ptlen, unsigned char *ct, size_t *ctlen,
                    unsigned char tag[16])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l1 = 0, l2 = 0;
	if (!c)
		return COCOIMG_ENOMEM;
	int ok = EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) &&
	         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) &&
	         EVP_EncryptInit_ex(c, NULL, NULL, cek, iv) &&
	         EVP_EncryptUpdate(c, NULL, &l1, (const unsigned char *)prot, (int)strlen(prot)) &&
	         EVP_EncryptUpdate(c, ct, &l1, pt, (int)ptlen) &&
	         EVP_EncryptFinal_ex(c, ct + l1, &l2) &&
	         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag);
	EVP_CIPHER_CTX_free(c);
	*ctlen = (size_t)(l1 + l2);
	return ok ? 0 : -1;
}

/* The flattened JWE JSON serialization, appended to out. */
static int jwe_document(const char *prot, const unsigned char *ek, size_t eklen,
                        const unsigned char iv[12], const unsigned char *ct, size_t ctlen,
                        const unsigned char tag[16], coco_buf *out)
{
	json_t *doc = json_object();
	char *doc_json = NULL;
	int rc = COCOIMG_ENOMEM;
	if (doc && !json_object_set_new(doc, "protected", json_string(prot)) &&
	    !set_b64u(doc, "encrypted_key", ek, eklen) && !set_b64u(doc, "iv", iv, 12) &&
	    !set_b64u(doc, "ciphertext", ct, ctlen) && !set_b64u(doc, "tag", tag, 16) &&
	    (doc_json = coco_json_dump(doc)) && !coco_buf_append(out, doc_json, strlen(doc_json)))
		rc = 0;
	json_decref(doc);
	free(doc_json);
	return rc;
}

/* One flattened JWE for one recipient key. */
static int wrap_one(cocoimg_ctx *ctx, const coco_key *k, const unsigned char *pt, size_t ptlen,
                    coco_buf *out)
{
	unsigned char cek[32], iv[12], tag[16], ek[1024];
	size_t eklen = sizeof(ek), ctlen = 0;
	json_t *hdr = json_object();
	char *prot = NULL;
	unsigned char *ct = malloc(ptlen + 16);
	int rc = 0;
	if (!hdr || !ct)
		rc = coco_oom(ctx);
	else if (RAND_priv_bytes(cek, sizeof(cek)) != 1 || RAND_bytes(iv, sizeof(iv)) != 1)
		rc = coco_seterr(ctx, COCOIMG_EINTERNAL, "random number generator failed");
	else if (EVP_PKEY_is_a(k->pkey, "RSA"))
		rc = wrap_cek_rsa(ctx, k, cek, sizeof(cek), hdr, ek, &eklen);
	else
		rc = wrap_cek_ecdh(ctx, k, cek, sizeof(cek), hdr, ek, &eklen);
	if (!rc && json_object_set_new(hdr, "enc", json_string("A256GCM")))
		rc = coco_oom(ctx);
	if (!rc && !(prot = protected_header(k, hdr)))
		rc = coco_oom(ctx);
	if (!rc && (rc = gcm_seal(cek, iv, prot, pt, ptlen, ct, &ctlen, tag)))
		rc = rc == COCOIMG_ENOMEM ? coco_oom(ctx)
		                          : coco_seterr(ctx, COCOIMG_EINTERNAL, "AES-GCM encryption failed");
	if (!rc && jwe_document(prot, ek, eklen, iv, ct, ctlen, tag, out))
		rc = coco_oom(ctx);
	coco_wipe(cek, sizeof(cek));
	json_decref(hdr);
	free(ct);
	free(prot);
	ERR_clear_error();
	return rc;
}

static int kw_wrap(cocoimg_ctx *ctx, cocoimg_keyring *kr, const char *annotation_name,
                   const unsigned char *opts, size_t len, char **value)
{
	coco_buf v = COCO_BUF_INIT;
	*value = NULL;
	for (size_t i = 0; i < kr->n_keys; i++) {
		if (!is_jwe_recipient(&kr->keys[i]))
			continue;
		coco_buf one = COCO_BUF_INIT;
		int rc = wrap_one(ctx, &kr->keys[i], opts, len, &one);
		char *b64 = rc ? NULL : coco_b64_encode(one.data, one.len);
		coco_buf_free(&one);
		if (!rc && (!b64 || (v.len && coco_buf_putc(&v, ',')) ||
		            coco_buf_append(&v, b64, strlen(b64))))
			rc = coco_oom(ctx);
		free(b64);
		if (rc) {
			coco_buf_free(&v);
			return rc;
		}
	}
	if (v.len)
		*value = coco_buf_cstr(&v);
	return (v.len && !*value) ? coco_oom(ctx) : 0;
}

/*
 * What ocicrypt accepts (its go-jose v4 ParseEncrypted call): key
 * management RSA-OAEP, RSA-OAEP-256, ECDH-ES+A128KW/A192KW/A256KW (not
 * ECDH-ES direct, not PBES2 or AES key wrap), the GCM and CBC-HS content
 * encryptions.  go-jose checks every recipient while parsing, so one
 * recipient outside the list refuses the whole JWE, and it refuses any
 * "crit" header (RFC 7516 4.1.13: we understand no extension).
 */
static bool alg_allowed(const char *alg)
{
	static const char *const ok[] = { "RSA-OAEP", "RSA-OAEP-256", "ECDH-ES+A128KW",
	                                  "ECDH-ES+A192KW", "ECDH-ES+A256KW" };
	for (size_t i = 0; alg && i < COCO_ARRAY_SIZE(ok); i++)
		if (!strcmp(alg, ok[i]))
			return true;
	return false;
}

static int jwe_check_policy(const jwe_obj *j)
{
	for (size_t i = 0; i < j->n; i++) {
		json_t *h = j->r[i].header;
		const char *enc = hdr_str(h, "enc");
		if (json_object_get(h, "crit") || !alg_allowed(hdr_str(h, "alg")) || !enc ||
		    cek_len(enc) < 0)
			return COCOIMG_EUNSUPPORTED;
	}
	return 0;
}

static bool is_jwe_decryption_key(const coco_key *k)
{
	return !k->recipient && k->kind == COCO_KEY_PRIVATE && k->pkey;
}

/* One annotation element with every private key: 0 (opts filled),
 * COCOIMG_ENOKEY, 1 when it is not a JWE, other codes to stop. */
static int try_element(cocoimg_keyring *kr, const char *e, size_t el, coco_buf *opts)
{
	coco_buf raw = COCO_BUF_INIT;
	jwe_obj j;
	int rc = coco_b64_decode(e, el, &raw) ? COCOIMG_EBADIMAGE : 0;
	if (!rc)
		rc = jwe_parse(raw.data, raw.len, &j);
	coco_buf_free(&raw);
	if (!rc && (rc = jwe_check_policy(&j)))
		jwe_free(&j);
	if (rc)
		return rc == COCOIMG_ENOMEM ? rc : 1;
	rc = COCOIMG_ENOKEY;
	for (size_t i = 0; i < kr->n_keys && rc == COCOIMG_ENOKEY; i++)
		if (is_jwe_decryption_key(&kr->keys[i]))
			rc = jwe_decrypt(&j, kr->keys[i].pkey, opts);
	jwe_free(&j);
	return rc;
}

static int kw_unwrap(cocoimg_ctx *ctx, cocoimg_keyring *kr, const char *annotation_name,
                     const char *value, coco_buf *opts, coco_buf *tried)
{
	(void)ctx;
	(void)annotation_name;
	size_t nkeys = 0;
	for (size_t i = 0; i < kr->n_keys; i++)
		nkeys += is_jwe_decryption_key(&kr->keys[i]);
	if (!nkeys) {
		coco_tried_note(tried, "its JWE recipients (no JWE private key was given)");
		return COCOIMG_ENOKEY;
	}
	size_t elem = 0, bad = 0;
	int rc = COCOIMG_ENOKEY;
	for (const char *e = value; e && rc == COCOIMG_ENOKEY; elem++) {
		const char *comma = strchr(e, ',');
		rc = try_element(kr, e, comma ? (size_t)(comma - e) : strlen(e), opts);
		if (rc == 1) {
			bad++;
			rc = COCOIMG_ENOKEY;
		}
		e = comma ? comma + 1 : NULL;
	}
	if (rc != COCOIMG_ENOKEY)
		return rc;
	coco_buf labels = COCO_BUF_INIT;
	for (size_t i = 0; i < kr->n_keys; i++)
		if (is_jwe_decryption_key(&kr->keys[i]))
			coco_buf_appendf(&labels, "%s%s", labels.len ? ", " : "", kr->keys[i].label);
	coco_tried_note(tried, "its %zu JWE recipient%s, none for the key%s %s%s",
	                elem, elem == 1 ? "" : "s", nkeys == 1 ? "" : "s",
	                labels.len ? coco_buf_cstr(&labels) : "?",
	                bad ? " (some malformed or refused: a crit header, or an algorithm ocicrypt"
	                      " does not accept)" : "");
	coco_buf_free(&labels);
	return COCOIMG_ENOKEY;
}

const coco_keywrapper coco_kw_jwe = {
	.scheme = "jwe",
	.annotation = ANN_JWE,
	.prefix = false,
	.wrap = kw_wrap,
	.annotations = kw_annotations,
	.unwrap = kw_unwrap,
};

/* ---- inspect / removal ---- */

static const char *rcpt_kid(const jwe_rcpt *r)
{
	return hdr_str(r->header, "kid");
}

int coco_jwe_describe(const unsigned char *data, size_t len, size_t *recipients, json_t *kids)
{
	jwe_obj j;
	int rc = jwe_parse(data, len, &j);
	if (rc)
		return rc;
	*recipients = j.n;
	for (size_t i = 0; kids && i < j.n; i++) {
		const char *kid = rcpt_kid(&j.r[i]);
		if (kid)
			json_array_append_new(kids, json_string(kid));
	}
	jwe_free(&j);
	return 0;
}

static bool kid_in(const char *kid, const char *const *kids, size_t n)
{
	for (size_t i = 0; kid && i < n; i++)
		if (kids[i] && !strcmp(kid, kids[i]))
			return true;
	return false;
}

/* The kid a general-serialization recipient is known by: the same
 * precedence as jwe_parse's merge (protected, shared unprotected, then
 * the per-recipient header). */
static const char *general_kid(json_t *prot, json_t *unprot, json_t *r)
{
	if (json_object_get(prot, "kid"))
		return hdr_str(prot, "kid");
	if (json_object_get(unprot, "kid"))
		return hdr_str(unprot, "kid");
	return hdr_str(json_object_get(r, "header"), "kid");
}

/* A general serialization without the recipients whose kid is in kids,
 * appended to out. */
static int rebuild_general(const unsigned char *data, size_t len, const char *const *kids,
                           size_t n, coco_buf *out)
{
	json_error_t e;
	json_t *doc = json_loadb((const char *)data, len, 0, &e);
	json_t *rc_arr = json_object_get(doc, "recipients"), *keep = json_array();
	json_t *pv = json_object_get(doc, "protected");
	json_t *prot = decode_protected(json_string_value(pv) ? json_string_value(pv) : "",
	                                json_string_length(pv));
	json_t *unprot = json_object_get(doc, "unprotected");
	int rc = COCOIMG_ENOMEM;
	if (doc && json_is_array(rc_arr) && keep) {
		size_t i;
		json_t *r;
		json_array_foreach(rc_arr, i, r) {
			if (!kid_in(general_kid(prot, unprot, r), kids, n))
				json_array_append(keep, r);
		}
		json_object_set(doc, "recipients", keep);
		/* go-jose's copy of recipient 0's key would now be stale */
		json_object_del(doc, "encrypted_key");
		char *s = coco_json_dump(doc);
		rc = (s && !coco_buf_append(out, s, strlen(s))) ? 0 : COCOIMG_ENOMEM;
		free(s);
	}
	json_decref(keep);
	json_decref(prot);
	json_decref(doc);
	return rc;
}

int coco_jwe_remove(cocoimg_ctx *ctx, const unsigned char *data, size_t len,
                    const char *const *kids, size_t n, coco_buf *out, bool *empty,
                    size_t *removed)
{
	jwe_obj j;
	int rc = jwe_parse(data, len, &j);
	*empty = false;
	*removed = 0;
	if (rc)
		return rc == COCOIMG_ENOMEM ? coco_oom(ctx) :
		       coco_seterr(ctx, COCOIMG_EBADIMAGE, "malformed JWE in %s", ANN_JWE);
	size_t drop = 0;
	for (size_t i = 0; i < j.n; i++)
		if (kid_in(rcpt_kid(&j.r[i]), kids, n))
			drop++;
	size_t total = j.n;
	jwe_free(&j);
	*removed = drop;
	if (drop == total) {
		*empty = true;
		return 0;
	}
	if (!drop)
		return coco_buf_append(out, data, len) ? coco_oom(ctx) : 0;
	size_t ws = 0;
	while (ws < len && strchr(" \n\r\t", data[ws]) && data[ws])
		ws++;
	if (ws == len || data[ws] != '{')
		/* compact: one recipient, so drop == total above */
		return coco_seterr(ctx, COCOIMG_EINTERNAL, "JWE recipient removal failed");
	/* general serialization with some recipients left */
	return rebuild_general(data, len, kids, n, out) ? coco_oom(ctx) : 0;
}

int coco_jwe_decrypt_one(const unsigned char *data, size_t len, EVP_PKEY *pk, coco_buf *out)
{
	jwe_obj j;
	int rc = jwe_parse(data, len, &j);
	if (rc)
		return rc;
	rc = pk ? jwe_decrypt(&j, pk, out) : 0;
	jwe_free(&j);
	return rc;
}
