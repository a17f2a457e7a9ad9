/*
 * PKCS7 / CMS EnvelopedData key wrapping (annotation
 * org.opencontainers.image.enc.keys.pkcs7, ocicrypt.md section 5.1), as
 * containers/ocicrypt writes it through smallstep (formerly mozilla)
 * pkcs7: RSA PKCS#1 v1.5 key transport, AES-128-GCM content encryption
 * whose parameters are a primitive element with tag number 16 holding a
 * DER SEQUENCE { [4] IMPLICIT nonce, INTEGER icvlen }.  OpenSSL's CMS code
 * refuses that (and AEAD in EnvelopedData at all), so the DER is read and
 * written by hand here.
 *
 * Reading also accepts RSAES-OAEP key transport, the RFC 5084 GCM
 * parameter encoding, AES-128/192/256-GCM and AES-CBC / 3DES-CBC content
 * encryption.  The RecipientInfo is chosen by the certificate's issuer and
 * serial number (as Go does) when the certificate is known; a private key
 * given without its certificate is tried on every RecipientInfo.
 */
#include "crypt.h"
#include "../base.h"

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#define ANN_PKCS7 COCO_ANN_KEYS_PREFIX "pkcs7"
#define MAX_PKCS7 (1024 * 1024)

static const unsigned char OID_ENVELOPED[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03 };
static const unsigned char OID_DATA[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01 };
static const unsigned char OID_RSA[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };
static const unsigned char OID_OAEP[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x07 };
static const unsigned char OID_3DES[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x03, 0x07 };
static const unsigned char OID_SHA256[] = { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01 };
static const unsigned char OID_SHA384[] = { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02 };
static const unsigned char OID_SHA512[] = { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03 };
/* 2.16.840.1.101.3.4.1.N: the last byte is N */
static const unsigned char OID_AES_PREFIX[] = { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01 };

/* ---- DER reading ---- */

typedef struct der {
	const unsigned char *p;
	size_t len;
} der;

typedef struct tlv {
	unsigned char tag;
	der content;
	der whole;                 /* tag + length + content */
} tlv;

/* Next element of `in` (advanced past it).  Single-byte tags, definite
 * lengths only (DER). */
static int der_next(der *in, tlv *t)
{
	if (in->len < 2)
		return -1;
	const unsigned char *start = in->p;
	unsigned char tag = in->p[0];
	if ((tag & 0x1f) == 0x1f)
		return -1;
	size_t pos = 1, len;
	unsigned char l0 = in->p[pos++];
	if (l0 < 0x80) {
		len = l0;
	} else {
		size_t nb = l0 & 0x7f;
		if (nb == 0 || nb > 4 || in->len < pos + nb)
			return -1;
		len = 0;
		for (size_t i = 0; i < nb; i++)
			len = (len << 8) | in->p[pos++];
	}
	if (len > in->len - pos)
		return -1;
	t->tag = tag;
	t->content.p = in->p + pos;
	t->content.len = len;
	t->whole.p = start;
	t->whole.len = pos + len;
	in->p += pos + len;
	in->len -= pos + len;
	return 0;
}

static int der_expect(der *in, unsigned char tag, tlv *t)
{
	return der_next(in, t) || t->tag != tag ? -1 : 0;
}

static bool oid_is(const tlv *t, const unsigned char *oid, size_t n)
{
	return t->tag == 0x06 && t->content.len == n && !memcmp(t->content.p, oid, n);
}

/* ---- DER writing ---- */

static int der_put(coco_buf *out, unsigned char tag, const void *content, size_t len)
{
	unsigned char hdr[6];
	size_t h = 0;
	hdr[h++] = tag;
	if (len < 0x80) {
		hdr[h++] = (unsigned char)len;
	} else {
		size_t nb = len > 0xffffff ? 4 : len > 0xffff ? 3 : len > 0xff ? 2 : 1;
		hdr[h++] = (unsigned char)(0x80 | nb);
		for (size_t i = nb; i > 0; i--)
			hdr[h++] = (unsigned char)(len >> (8 * (i - 1)));
	}
	if (coco_buf_append(out, hdr, h) || (len && coco_buf_append(out, content, len)))
		return COCOIMG_ENOMEM;
	return 0;
}

/* ---- the envelope ---- */

typedef struct ri {
	der whole;
	der issuer;                /* full Name TLV; p NULL if rid is a key id */
	der serial;                /* INTEGER content */
	bool oaep;
	const EVP_MD *oaep_md;
	der ek;
} ri;

typedef struct envelope {
	der version;               /* INTEGER TLV (whole) */
	der originator;            /* optional [0] (whole), p NULL if absent */
	ri *ris;
	size_t n_ris;
	der eci;                   /* whole EncryptedContentInfo */
	der unprot;                /* optional [1] (whole) */
	/* content encryption */
	const EVP_CIPHER *cipher;
	bool gcm;
	der iv;
	size_t icvlen;
	coco_buf ct;               /* encrypted content (concatenated) */
} envelope;

static void env_free(envelope *e)
{
	free(e->ris);
	coco_buf_free(&e->ct);
	memset(e, 0, sizeof(*e));
}

static const EVP_MD *oaep_hash(der params)
{
	/* RSAES-OAEP-params SEQUENCE { [0] hashAlgorithm, ... }; default SHA-1 */
	tlv seq, h, alg, oid;
	if (!params.len || der_expect(&params, 0x30, &seq))
		return EVP_sha1();
	der in = seq.content;
	if (der_next(&in, &h) || h.tag != 0xa0)
		return EVP_sha1();
	der hi = h.content;
	if (der_expect(&hi, 0x30, &alg))
		return NULL;
	der ai = alg.content;
	if (der_expect(&ai, 0x06, &oid))
		return NULL;
	if (oid_is(&oid, OID_SHA256, sizeof(OID_SHA256)))
		return EVP_sha256();
	if (oid_is(&oid, OID_SHA384, sizeof(OID_SHA384)))
		return EVP_sha384();
	if (oid_is(&oid, OID_SHA512, sizeof(OID_SHA512)))
		return EVP_sha512();
	return EVP_sha1();
}

static int parse_ri(tlv *t, ri *r)
{
	memset(r, 0, sizeof(*r));
	r->whole = t->whole;
	der in = t->content;
	tlv v, rid, alg, ek;
	if (der_expect(&in, 0x02, &v) || der_next(&in, &rid))
		return -1;
	if (rid.tag == 0x30) {
		der ri_in = rid.content;
		tlv name, serial;
		if (der_expect(&ri_in, 0x30, &name) || der_expect(&ri_in, 0x02, &serial))
			return -1;
		r->issuer = name.whole;
		r->serial = serial.content;
	}
	if (der_expect(&in, 0x30, &alg) || der_expect(&in, 0x04, &ek))
		return -1;
	der ai = alg.content;
	tlv oid;
	if (der_expect(&ai, 0x06, &oid))
		return -1;
	if (oid_is(&oid, OID_OAEP, sizeof(OID_OAEP))) {
		r->oaep = true;
		r->oaep_md = oaep_hash(ai);
		if (!r->oaep_md)
			return -1;
	} else if (!oid_is(&oid, OID_RSA, sizeof(OID_RSA))) {
		return 1;          /* unknown key transport: skip */
	}
	r->ek = ek.content;
	return 0;
}

/* The content cipher from its OID (AES-CBC/GCM by key size, 3DES). */
static int content_cipher(const tlv *oid, envelope *e)
{
	if (oid_is(oid, OID_3DES, sizeof(OID_3DES))) {
		e->cipher = EVP_des_ede3_cbc();
		return 0;
	}
	if (oid->content.len != sizeof(OID_AES_PREFIX) + 1 ||
	    memcmp(oid->content.p, OID_AES_PREFIX, sizeof(OID_AES_PREFIX)))
		return -1;
	switch (oid->content.p[sizeof(OID_AES_PREFIX)]) {
	case 2: e->cipher = EVP_aes_128_cbc(); break;
	case 22: e->cipher = EVP_aes_192_cbc(); break;
	case 42: e->cipher = EVP_aes_256_cbc(); break;
	case 6: e->cipher = EVP_aes_128_gcm(); e->gcm = true; break;
	case 26: e->cipher = EVP_aes_192_gcm(); e->gcm = true; break;
	case 46: e->cipher = EVP_aes_256_gcm(); e->gcm = true; break;
	default: return -1;
	}
	return 0;
}

/* GCM parameters: RFC 5084 SEQUENCE { OCTET STRING nonce, INTEGER icvlen
 * DEFAULT 12 }, or ocicrypt's primitive [UNIVERSAL 16] wrapping such a
 * SEQUENCE with the nonce as [4] IMPLICIT. */
static int gcm_params(const tlv *prm, envelope *e)
{
	tlv seq;
	if (prm->tag == 0x10) {
		der inner = prm->content;
		if (der_expect(&inner, 0x30, &seq))
			return -1;
	} else if (prm->tag == 0x30) {
		seq = *prm;
	} else {
		return -1;
	}
	der si = seq.content;
	tlv nonce, icv;
	/* Only a 96-bit nonce and a full 16-byte tag: smallstep pkcs7 (Go)
	 * writes exactly that, and a truncated tag (RFC 5084 allows 4..16,
	 * default 12) would weaken the integrity check. */
	if (der_next(&si, &nonce) || (nonce.tag != 0x04 && nonce.tag != 0x84) ||
	    nonce.content.len != 12)
		return -1;
	e->iv = nonce.content;
	if (der_next(&si, &icv) || icv.tag != 0x02 || icv.content.len != 1 || si.len)
		return -1;
	e->icvlen = icv.content.p[0];
	return e->icvlen == 16 ? 0 : -1;
}

static int parse_content_alg(tlv *alg, envelope *e)
{
	der in = alg->content;
	tlv oid, prm;
	if (der_expect(&in, 0x06, &oid) || content_cipher(&oid, e) || der_next(&in, &prm))
		return -1;
	if (e->gcm)
		return gcm_params(&prm, e);
	if (prm.tag != 0x04)
		return -1;
	e->iv = prm.content;
	return (int)e->iv.len == EVP_CIPHER_get_iv_length(e->cipher) ? 0 : -1;
}

/* ContentInfo { enveloped-data, [0] EnvelopedData { version,
 * [0] originatorInfo OPTIONAL, ... } }: *edin is left at the recipient
 * set (*t). */
static int parse_outer(const unsigned char *data, size_t len, envelope *e, der *edin, tlv *t)
{
	der in = { data, len };
	tlv ci, oid, ex, ed, v;
	if (der_expect(&in, 0x30, &ci) || in.len)
		return -1;
	der cin = ci.content;
	if (der_expect(&cin, 0x06, &oid) || !oid_is(&oid, OID_ENVELOPED, sizeof(OID_ENVELOPED)) ||
	    der_expect(&cin, 0xa0, &ex))
		return -1;
	der exin = ex.content;
	if (der_expect(&exin, 0x30, &ed))
		return -1;
	*edin = ed.content;
	if (der_expect(edin, 0x02, &v))
		return -1;
	e->version = v.whole;
	if (der_next(edin, t))
		return -1;
	if (t->tag == 0xa0) {
		e->originator = t->whole;
		if (der_next(edin, t))
			return -1;
	}
	return t->tag == 0x31 ? 0 : -1;
}

/* RecipientInfos: key transport ones parsed, others kept for removal.
 * 0, -1 malformed, COCOIMG_ENOMEM. */
static int parse_recipients(const tlv *rset, envelope *e)
{
	der rin = rset->content;
	while (rin.len) {
		tlv r;
		if (der_next(&rin, &r))
			return -1;
		ri one;
		int prc = r.tag == 0x30 ? parse_ri(&r, &one) : 1;
		if (prc < 0)
			return -1;
		if (prc > 0) {
			/* other RecipientInfo kinds: keep for removal, not usable */
			memset(&one, 0, sizeof(one));
			one.whole = r.whole;
		}
		ri *n = realloc(e->ris, (e->n_ris + 1) * sizeof(*n));
		if (!n)
			return COCOIMG_ENOMEM;
		e->ris = n;
		e->ris[e->n_ris++] = one;
	}
	return 0;
}

/* The encrypted content: [0] IMPLICIT primitive, or constructed from
 * OCTET STRING pieces.  0, -1, COCOIMG_ENOMEM. */
static int content_bytes(const tlv *content, envelope *e)
{
	if (content->tag == 0x80)
		return coco_buf_append(&e->ct, content->content.p, content->content.len) ?
		               COCOIMG_ENOMEM : 0;
	if (content->tag != 0xa0)
		return -1;
	der cc = content->content;
	while (cc.len) {
		tlv piece;
		if (der_expect(&cc, 0x04, &piece))
			return -1;
		if (coco_buf_append(&e->ct, piece.content.p, piece.content.len))
			return COCOIMG_ENOMEM;
	}
	return 0;
}

/* EncryptedContentInfo and the optional [1] unprotectedAttrs. */
static int parse_encrypted_content(der *edin, envelope *e)
{
	tlv eci, t;
	if (der_expect(edin, 0x30, &eci))
		return -1;
	e->eci = eci.whole;
	if (edin->len) {
		if (der_next(edin, &t) || t.tag != 0xa1 || edin->len)
			return -1;
		e->unprot = t.whole;
	}
	der ein = eci.content;
	tlv ctype, alg, content;
	if (der_expect(&ein, 0x06, &ctype) || der_expect(&ein, 0x30, &alg) ||
	    parse_content_alg(&alg, e) || der_next(&ein, &content))
		return -1;
	return content_bytes(&content, e);
}

static int env_parse(const unsigned char *data, size_t len, envelope *e)
{
	memset(e, 0, sizeof(*e));
	if (len > MAX_PKCS7)
		return COCOIMG_EBADIMAGE;
	der edin;
	tlv rset;
	int rc = parse_outer(data, len, e, &edin, &rset);
	if (!rc)
		rc = parse_recipients(&rset, e);
	if (!rc)
		rc = parse_encrypted_content(&edin, e);
	if (!rc)
		return 0;
	env_free(e);
	return rc == COCOIMG_ENOMEM ? rc : COCOIMG_EBADIMAGE;
}

static bool ri_matches_cert(const ri *r, X509 *cert)
{
	if (!r->issuer.p || !cert)
		return false;
	unsigned char *name = NULL, *ser = NULL;
	int nl = i2d_X509_NAME(X509_get_issuer_name(cert), &name);
	int sl = i2d_ASN1_INTEGER((ASN1_INTEGER *)X509_get0_serialNumber(cert), &ser);
	bool ok = false;
	if (nl > 0 && sl > 0 && (size_t)nl == r->issuer.len && !memcmp(name, r->issuer.p, (size_t)nl)) {
		der s = { ser, (size_t)sl };
		tlv st;
		ok = !der_expect(&s, 0x02, &st) && st.content.len == r->serial.len &&
		     !memcmp(st.content.p, r->serial.p, r->serial.len);
	}
	OPENSSL_free(name);
	OPENSSL_free(ser);
	return ok;
}

static int content_decrypt(const envelope *e, const unsigned char *cek, size_t ceklen,
                           coco_buf *out)
{
	if ((int)ceklen != EVP_CIPHER_get_key_length(e->cipher))
		return COCOIMG_ENOKEY;
	size_t clen = e->ct.len;
	if (e->gcm) {
		if (clen < e->icvlen)
			return COCOIMG_ENOKEY;
		clen -= e->icvlen;
	}
	size_t start = out->len;
	if (coco_buf_reserve(out, clen + 32))
		return COCOIMG_ENOMEM;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	if (!c)
		return COCOIMG_ENOMEM;
	int l1 = 0, l2 = 0, ok;
	if (e->gcm)
		ok = EVP_DecryptInit_ex(c, e->cipher, NULL, NULL, NULL) &&
		     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, (int)e->iv.len, NULL) &&
		     EVP_DecryptInit_ex(c, NULL, NULL, cek, e->iv.p) &&
		     EVP_DecryptUpdate(c, out->data + start, &l1, e->ct.data, (int)clen) &&
		     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, (int)e->icvlen,
		                         e->ct.data + clen) &&
		     EVP_DecryptFinal_ex(c, out->data + start + l1, &l2);
	else
		ok = EVP_DecryptInit_ex(c, e->cipher, NULL, cek, e->iv.p) &&
		     EVP_DecryptUpdate(c, out->data + start, &l1, e->ct.data, (int)clen) &&
		     EVP_DecryptFinal_ex(c, out->data + start + l1, &l2);
	EVP_CIPHER_CTX_free(c);
	ERR_clear_error();
	if (!ok) {
		coco_wipe(out->data + start, clen);
		return COCOIMG_ENOKEY;
	}
	out->len = start + (size_t)l1 + (size_t)l2;
	return 0;
}

static int ri_decrypt(const envelope *e, const ri *r, EVP_PKEY *pk, coco_buf *out)
{
	if (!r->ek.p)
		return COCOIMG_ENOKEY;
	unsigned char cek[1024];   /* RSA output up to 8192-bit moduli */
	size_t ceklen = sizeof(cek);
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	int ok = c && EVP_PKEY_decrypt_init(c) > 0;
	if (ok && r->oaep)
		ok = EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) > 0 &&
		     EVP_PKEY_CTX_set_rsa_oaep_md(c, r->oaep_md) > 0 &&
		     EVP_PKEY_CTX_set_rsa_mgf1_md(c, r->oaep_md) > 0;
	else if (ok)
		ok = EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) > 0;
	ok = ok && EVP_PKEY_decrypt(c, cek, &ceklen, r->ek.p, r->ek.len) > 0;
	EVP_PKEY_CTX_free(c);
	ERR_clear_error();
	int rc = ok ? content_decrypt(e, cek, ceklen, out) : COCOIMG_ENOKEY;
	coco_wipe(cek, sizeof(cek));
	return rc;
}

/* Certificates of the keyring that belong to private key k. */
static int try_key(const envelope *e, cocoimg_keyring *kr, coco_key *k, coco_buf *out)
{
	bool have_cert = false;
	for (size_t i = 0; i <= kr->n_keys; i++) {
		X509 *cert = i == kr->n_keys ? k->cert : kr->keys[i].cert;
		if (!cert || (i < kr->n_keys && (kr->keys[i].recipient ||
		                                 kr->keys[i].kind != COCO_KEY_CERT)))
			continue;
		EVP_PKEY *cp = X509_get0_pubkey(cert);
		if (!cp || EVP_PKEY_eq(cp, k->pkey) != 1)
			continue;
		have_cert = true;
		for (size_t r = 0; r < e->n_ris; r++) {
			if (!ri_matches_cert(&e->ris[r], cert))
				continue;
			int rc = ri_decrypt(e, &e->ris[r], k->pkey, out);
			if (rc != COCOIMG_ENOKEY)
				return rc;
		}
	}
	ERR_clear_error();
	if (have_cert)
		return COCOIMG_ENOKEY;
	/* no certificate given: try every RecipientInfo */
	for (size_t r = 0; r < e->n_ris; r++) {
		int rc = ri_decrypt(e, &e->ris[r], k->pkey, out);
		if (rc != COCOIMG_ENOKEY)
			return rc;
	}
	return COCOIMG_ENOKEY;
}

int coco_pkcs7_decrypt_one(const unsigned char *der_data, size_t len, cocoimg_keyring *kr,
                           coco_buf *out)
{
	envelope e;
	int rc = env_parse(der_data, len, &e);
	if (rc)
		return rc;
	rc = COCOIMG_ENOKEY;
	for (size_t i = 0; kr && i < kr->n_keys && rc == COCOIMG_ENOKEY; i++) {
		coco_key *k = &kr->keys[i];
		if (k->recipient || k->kind != COCO_KEY_PRIVATE || !k->pkey ||
		    !EVP_PKEY_is_a(k->pkey, "RSA"))
			continue;
		rc = try_key(&e, kr, k, out);
	}
	env_free(&e);
	return rc;
}

/* ---- writing ---- */

static bool is_pkcs7_recipient(const coco_key *k)
{
	return k->recipient && k->kind == COCO_KEY_CERT && k->cert;
}

static int build_ri(cocoimg_ctx *ctx, const coco_key *k, const unsigned char *cek, size_t ceklen,
                    coco_buf *out)
{
	coco_buf rid = COCO_BUF_INIT, ias = COCO_BUF_INIT, alg = COCO_BUF_INIT, body = COCO_BUF_INIT;
	unsigned char *name = NULL, *ser = NULL, ek[1024];
	size_t eklen = sizeof(ek);
	int rc = COCOIMG_ENOMEM;
	int nl = i2d_X509_NAME(X509_get_issuer_name(k->cert), &name);
	int sl = i2d_ASN1_INTEGER((ASN1_INTEGER *)X509_get0_serialNumber(k->cert), &ser);
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
	if (nl <= 0 || sl <= 0 || !c)
		goto out;
	if (EVP_PKEY_encrypt_init(c) <= 0 || EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) <= 0 ||
	    EVP_PKEY_encrypt(c, ek, &eklen, cek, ceklen) <= 0) {
		rc = coco_seterr(ctx, COCOIMG_EINTERNAL, "%s: RSA encryption failed", k->label);
		goto out;
	}
	static const unsigned char zero[] = { 0 };
	if (coco_buf_append(&ias, name, (size_t)nl) || coco_buf_append(&ias, ser, (size_t)sl) ||
	    der_put(&rid, 0x30, ias.data, ias.len) ||
	    der_put(&alg, 0x06, OID_RSA, sizeof(OID_RSA)) ||
	    der_put(&body, 0x02, zero, 1) || coco_buf_append(&body, rid.data, rid.len) ||
	    der_put(&body, 0x30, alg.data, alg.len) || der_put(&body, 0x04, ek, eklen) ||
	    der_put(out, 0x30, body.data, body.len))
		goto out;
	rc = 0;
out:
	EVP_PKEY_CTX_free(c);
	OPENSSL_free(name);
	OPENSSL_free(ser);
	coco_buf_free(&rid);
	coco_buf_free(&ias);
	coco_buf_free(&alg);
	coco_buf_free(&body);
	ERR_clear_error();
	return rc;
}

/* ContentInfo { envelopedData, [0] EnvelopedData { version, ris, eci } } */
static int build_envelope(const der *version, const der *originator, const coco_buf *ris,
                          const der *eci, const der *unprot, coco_buf *out)
{
	coco_buf ed = COCO_BUF_INIT, edseq = COCO_BUF_INIT, ci = COCO_BUF_INIT;
	int rc = COCOIMG_ENOMEM;
	if (coco_buf_append(&ed, version->p, version->len) ||
	    (originator->p && coco_buf_append(&ed, originator->p, originator->len)) ||
	    der_put(&ed, 0x31, ris->data, ris->len) || coco_buf_append(&ed, eci->p, eci->len) ||
	    (unprot->p && coco_buf_append(&ed, unprot->p, unprot->len)) ||
	    der_put(&edseq, 0x30, ed.data, ed.len) ||
	    der_put(&ci, 0x06, OID_ENVELOPED, sizeof(OID_ENVELOPED)) ||
	    der_put(&ci, 0xa0, edseq.data, edseq.len) || der_put(out, 0x30, ci.data, ci.len))
		goto out;
	rc = 0;
out:
	coco_buf_free(&ed);
	coco_buf_free(&edseq);
	coco_buf_free(&ci);
	return rc;
}

/* AES-128-GCM of pt; ct receives ciphertext and tag.  0, COCOIMG_ENOMEM,
 * or -1 when the cipher failed. */
static int gcm_seal(const unsigned char cek[16], const unsigned char nonce[12],
                    const unsigned char *pt, size_t ptlen, coco_buf *ct)
{
	unsigned char tag[16];
	int l1 = 0, l2 = 0;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	if (!c || coco_buf_reserve(ct, ptlen + 32)) {
		EVP_CIPHER_CTX_free(c);
		return COCOIMG_ENOMEM;
	}
	int ok = EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, NULL, NULL) &&
	         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) &&
	         EVP_EncryptInit_ex(c, NULL, NULL, cek, nonce) &&
	         EVP_EncryptUpdate(c, ct->data, &l1, pt, (int)ptlen) &&
	         EVP_EncryptFinal_ex(c, ct->data + l1, &l2) &&
	         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag);
	EVP_CIPHER_CTX_free(c);
	if (!ok)
		return -1;
	ct->len = (size_t)(l1 + l2);
	return coco_buf_append(ct, tag, 16) ? COCOIMG_ENOMEM : 0;
}

/* EncryptedContentInfo { id-data, aes128-GCM with ocicrypt's parameter
 * quirk, [0] IMPLICIT ciphertext } into eci. */
static int build_eci(const unsigned char nonce[12], const coco_buf *ct, coco_buf *eci)
{
	static const unsigned char icv[] = { 16 };
	static const unsigned char aes128gcm[] = { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x06 };
	coco_buf alg = COCO_BUF_INIT, prm = COCO_BUF_INIT, inner = COCO_BUF_INIT,
	         body = COCO_BUF_INIT;
	/* the quirk: [4] IMPLICIT nonce inside a SEQUENCE, wrapped in a
	 * primitive element with tag number 16 */
	int rc = der_put(&inner, 0x84, nonce, 12) || der_put(&inner, 0x02, icv, 1) ||
	         der_put(&prm, 0x30, inner.data, inner.len) ||
	         der_put(&alg, 0x06, aes128gcm, sizeof(aes128gcm)) ||
	         der_put(&alg, 0x10, prm.data, prm.len) ||
	         der_put(&body, 0x06, OID_DATA, sizeof(OID_DATA)) ||
	         der_put(&body, 0x30, alg.data, alg.len) || der_put(&body, 0x80, ct->data, ct->len) ||
	         der_put(eci, 0x30, body.data, body.len);
	coco_buf_free(&alg);
	coco_buf_free(&prm);
	coco_buf_free(&inner);
	coco_buf_free(&body);
	return rc ? COCOIMG_ENOMEM : 0;
}

static int wrap_all(cocoimg_ctx *ctx, cocoimg_keyring *kr, const unsigned char *pt, size_t ptlen,
                    coco_buf *out)
{
	unsigned char cek[16], nonce[12];
	coco_buf ris = COCO_BUF_INIT, ct = COCO_BUF_INIT, eci = COCO_BUF_INIT;
	int rc = 0;
	if (RAND_priv_bytes(cek, sizeof(cek)) != 1 || RAND_bytes(nonce, sizeof(nonce)) != 1)
		rc = coco_seterr(ctx, COCOIMG_EINTERNAL, "random number generator failed");
	for (size_t i = 0; !rc && i < kr->n_keys; i++)
		if (is_pkcs7_recipient(&kr->keys[i]))
			rc = build_ri(ctx, &kr->keys[i], cek, sizeof(cek), &ris);
	if (!rc && (rc = gcm_seal(cek, nonce, pt, ptlen, &ct)) == -1)
		rc = coco_seterr(ctx, COCOIMG_EINTERNAL, "AES-GCM encryption failed");
	if (!rc)
		rc = build_eci(nonce, &ct, &eci);
	if (!rc) {
		static const unsigned char version[] = { 0x02, 0x01, 0x00 };
		der v = { version, sizeof(version) }, none = { NULL, 0 }, e = { eci.data, eci.len };
		rc = build_envelope(&v, &none, &ris, &e, &none, out);
	}
	if (rc == COCOIMG_ENOMEM)
		rc = coco_oom(ctx);
	coco_wipe(cek, sizeof(cek));
	coco_buf_free(&ris);
	coco_buf_free(&ct);
	coco_buf_free(&eci);
	return rc;
}

static char **kw_annotations(cocoimg_keyring *kr)
{
	return coco_kw_annotation_if(kr, is_pkcs7_recipient, ANN_PKCS7);
}

static int kw_wrap(cocoimg_ctx *ctx, cocoimg_keyring *kr, const char *annotation_name,
                   const unsigned char *opts, size_t len, char **value)
{
	*value = NULL;
	bool any = false;
	for (size_t i = 0; i < kr->n_keys; i++)
		any = any || is_pkcs7_recipient(&kr->keys[i]);
	if (!any)
		return 0;
	coco_buf der_out = COCO_BUF_INIT;
	int rc = wrap_all(ctx, kr, opts, len, &der_out);
	if (!rc) {
		*value = coco_b64_encode(der_out.data, der_out.len);
		if (!*value)
			rc = coco_oom(ctx);
	}
	coco_buf_free(&der_out);
	return rc;
}

static int kw_unwrap(cocoimg_ctx *ctx, cocoimg_keyring *kr, const char *annotation_name,
                     const char *value, coco_buf *opts, coco_buf *tried)
{
	coco_buf labels = COCO_BUF_INIT;
	size_t certs = 0;
	for (size_t i = 0; i < kr->n_keys; i++) {
		coco_key *k = &kr->keys[i];
		if (k->recipient)
			continue;
		if (k->kind == COCO_KEY_PRIVATE && k->pkey && EVP_PKEY_is_a(k->pkey, "RSA"))
			coco_buf_appendf(&labels, "%s%s", labels.len ? ", " : "", k->label);
		if (k->cert)
			certs++;
	}
	if (!labels.len) {
		coco_tried_note(tried, "its PKCS#7 recipients (no RSA private key was given)");
		coco_buf_free(&labels);
		return COCOIMG_ENOKEY;
	}
	size_t elem = 0;
	int rc = COCOIMG_ENOKEY;
	for (const char *e = value; e && rc == COCOIMG_ENOKEY; elem++) {
		const char *comma = strchr(e, ',');
		size_t el = comma ? (size_t)(comma - e) : strlen(e);
		coco_buf raw = COCO_BUF_INIT;
		int r = coco_b64_decode(e, el, &raw);
		if (!r)
			r = coco_pkcs7_decrypt_one(raw.data, raw.len, kr, opts);
		coco_buf_free(&raw);
		e = comma ? comma + 1 : NULL;
		if (!r || r == COCOIMG_ENOMEM)
			rc = r;
	}
	if (rc == COCOIMG_ENOKEY)
		coco_tried_note(tried, "its %zu PKCS#7 recipient%s, none for the key %s%s", elem,
		                elem == 1 ? "" : "s", coco_buf_cstr(&labels) ? (char *)labels.data : "?",
		                certs ? "" : " (PKCS#7 also needs the key's certificate: none was given)");
	coco_buf_free(&labels);
	(void)ctx;
	(void)annotation_name;
	return rc;
}

const coco_keywrapper coco_kw_pkcs7 = {
	.scheme = "pkcs7",
	.annotation = ANN_PKCS7,
	.prefix = false,
	.wrap = kw_wrap,
	.annotations = kw_annotations,
	.unwrap = kw_unwrap,
};

int coco_pkcs7_describe(const unsigned char *data, size_t len, size_t *recipients)
{
	envelope e;
	int rc = env_parse(data, len, &e);
	if (rc)
		return rc;
	*recipients = e.n_ris;
	env_free(&e);
	return 0;
}

int coco_pkcs7_remove(cocoimg_ctx *ctx, const unsigned char *data, size_t len, X509 *const *certs,
                      size_t n, coco_buf *out, bool *empty, size_t *removed)
{
	envelope e;
	*empty = false;
	*removed = 0;
	int rc = env_parse(data, len, &e);
	if (rc)
		return rc == COCOIMG_ENOMEM ? coco_oom(ctx) :
		       coco_seterr(ctx, COCOIMG_EBADIMAGE, "malformed PKCS7 envelope in %s", ANN_PKCS7);
	coco_buf ris = COCO_BUF_INIT;
	size_t kept = 0;
	for (size_t i = 0; i < e.n_ris; i++) {
		bool drop = false;
		for (size_t c = 0; c < n && !drop; c++)
			drop = ri_matches_cert(&e.ris[i], certs[c]);
		if (drop) {
			(*removed)++;
			continue;
		}
		kept++;
		if (coco_buf_append(&ris, e.ris[i].whole.p, e.ris[i].whole.len)) {
			rc = coco_oom(ctx);
			goto out;
		}
	}
	if (!kept)
		*empty = true;
	else if (!*removed)
		rc = coco_buf_append(out, data, len) ? coco_oom(ctx) : 0;
	else
		rc = build_envelope(&e.version, &e.originator, &ris, &e.eci, &e.unprot, out);
out:
	coco_buf_free(&ris);
	env_free(&e);
	return rc;
}
