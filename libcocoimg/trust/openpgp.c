/*
 * A small OpenPGP reader: enough of RFC 4880 (and the v4 parts of RFC
 * 9580) to verify the "signed message" that simple signing uses against
 * a keyring of transferable public keys.
 *
 * Packets: old and new framing (partial body lengths for data packets),
 * compressed data (uncompressed, ZIP, ZLIB; BZip2 is refused), one-pass
 * signature, literal data, signature (v3, v4), public key / subkey (v4),
 * user id / attribute.  Signatures are verified with OpenSSL EVP: RSA
 * PKCS#1 v1.5, ECDSA on P-256/384/521, Brainpool P-256/384/512r1 and
 * secp256k1 (what gpg and go-crypto accept), EdDSA on Ed25519 (legacy OID
 * form and the RFC 9580 algorithm 27, in v4 keys).
 *
 * Key validity follows gpg: a primary key counts only with a valid self
 * certification of a user id; a subkey counts only with a valid binding
 * signature, and may sign data only when its binding allows signing and
 * carries a valid primary-key binding ("back") signature.  Revocations
 * by the primary key, key expiry and signature expiry are honoured.
 * All input is hostile: every length is checked before use.
 */
#include "policy.h"
#include "../base.h"
#include "../caps.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <string.h>
#include <zlib.h>

enum {
	TAG_PKESK = 1, TAG_SIG = 2, TAG_SKESK = 3, TAG_OPS = 4, TAG_SECKEY = 5, TAG_PUBKEY = 6,
	TAG_SECSUB = 7, TAG_COMP = 8, TAG_SED = 9, TAG_MARKER = 10, TAG_LITERAL = 11,
	TAG_TRUST = 12, TAG_UID = 13, TAG_PUBSUB = 14, TAG_UATTR = 17, TAG_SEIPD = 18,
	TAG_MDC = 19, TAG_AEAD = 20, TAG_PADDING = 21
};

enum {
	PK_RSA = 1, PK_RSA_E = 2, PK_RSA_S = 3, PK_ELG = 16, PK_DSA = 17, PK_ECDH = 18,
	PK_ECDSA = 19, PK_EDDSA = 22, PK_ED25519 = 27
};

/* What compressed data packets inflate to is capped by the ctx key
 * max-signature-payload-size (all of a message's together). */
#define PGP_MAX_DEPTH 4

typedef struct pgp_pkt {
	int tag;
	const uint8_t *body;
	size_t len;
	uint8_t *owned;            /* reassembled partial-length body */
} pgp_pkt;

static void pkt_clear(pgp_pkt *p)
{
	free(p->owned);
	memset(p, 0, sizeof(*p));
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Read a new-format length at p[*off]; *partial set for partial lengths. */
static int new_len(const uint8_t *p, size_t n, size_t *off, size_t *len, bool *partial)
{
	*partial = false;
	if (*off >= n)
		return -1;
	uint8_t o1 = p[(*off)++];
	if (o1 < 192) {
		*len = o1;
	} else if (o1 < 224) {
		if (*off >= n)
			return -1;
		*len = ((size_t)(o1 - 192) << 8) + p[(*off)++] + 192;
	} else if (o1 == 255) {
		if (n - *off < 4)
			return -1;
		*len = be32(p + *off);
		*off += 4;
	} else {
		*len = (size_t)1 << (o1 & 0x1f);
		*partial = true;
	}
	return 0;
}

/* The body of a new-format packet with partial body lengths, reassembled
 * (first chunk len).  Returns 1, or -1 (*err says why). */
static int pkt_partial(const uint8_t *p, size_t n, size_t *off, size_t len, pgp_pkt *pk,
                       const char **err)
{
	if (pk->tag != TAG_LITERAL && pk->tag != TAG_COMP && pk->tag != TAG_SED &&
	    pk->tag != TAG_SEIPD && pk->tag != TAG_AEAD) {
		*err = "partial body length on a packet that does not allow it";
		return -1;
	}
	coco_buf acc = COCO_BUF_INIT;
	bool partial = true;
	const char *e = NULL;
	for (;;) {
		if (len > n - *off) {
			e = "truncated packet";
			break;
		}
		/* at most the input's size: each chunk was checked above */
		if (coco_buf_append(&acc, p + *off, len)) {
			e = "packet too large";
			break;
		}
		*off += len;
		if (!partial)
			break;
		if (new_len(p, n, off, &len, &partial) < 0) {
			e = "truncated packet";
			break;
		}
	}
	if (e) {
		coco_buf_free(&acc);
		*err = e;
		return -1;
	}
	pk->owned = acc.data;
	pk->body = acc.data ? acc.data : (const uint8_t *)"";
	pk->len = acc.len;
	return 1;
}

/* An old-format length (length type lt) at p[*off]; -1 when truncated. */
static int old_len(const uint8_t *p, size_t n, size_t *off, int lt, size_t *len)
{
	static const size_t width[3] = { 1, 2, 4 };
	if (lt == 3) {
		*len = n - *off;       /* indeterminate: to the end of the data */
		return 0;
	}
	if (n - *off < width[lt])
		return -1;
	*len = lt == 0 ? p[*off] : lt == 1 ? be16(p + *off) : be32(p + *off);
	*off += width[lt];
	return 0;
}

/*
 * Read the packet at p[*off].  Returns 1 and fills pk, 0 at end of data,
 * -1 on malformed framing (*err says why).
 */
static int pkt_next(const uint8_t *p, size_t n, size_t *off, pgp_pkt *pk, const char **err)
{
	memset(pk, 0, sizeof(*pk));
	if (*off >= n)
		return 0;
	uint8_t b = p[(*off)++];
	if (!(b & 0x80)) {
		*err = "not an OpenPGP packet header";
		return -1;
	}
	size_t len;
	bool partial = false;
	int rc;
	if (b & 0x40) {
		pk->tag = b & 0x3f;
		rc = new_len(p, n, off, &len, &partial);
	} else {
		pk->tag = (b >> 2) & 0x0f;
		rc = old_len(p, n, off, b & 3, &len);
	}
	if (rc == 0 && partial)
		return pkt_partial(p, n, off, len, pk, err);
	if (rc < 0 || len > n - *off) {
		*err = "truncated packet";
		return -1;
	}
	pk->body = p + *off;
	pk->len = len;
	*off += len;
	return 1;
}

/* A multiprecision integer: pointer to its bytes (leading zero bytes
 * skipped) and length.  Returns 0 or -1 when truncated. */
static int read_mpi(const uint8_t *p, size_t n, size_t *off, const uint8_t **v, size_t *vlen)
{
	if (n - *off < 2 || *off > n)
		return -1;
	size_t bits = be16(p + *off);
	size_t bytes = (bits + 7) / 8;
	*off += 2;
	if (bytes > n - *off)
		return -1;
	*v = p + *off;
	*vlen = bytes;
	*off += bytes;
	while (*vlen && **v == 0) {
		(*v)++;
		(*vlen)--;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Keys                                                                */
/* ------------------------------------------------------------------ */

typedef struct pgp_key {
	uint8_t fpr[20];
	uint8_t keyid[8];
	int algo;
	EVP_PKEY *pkey;            /* NULL: algorithm we cannot verify with */
	uint8_t *body;             /* the key packet body (for hashing) */
	size_t body_len;
	uint32_t created;
	uint32_t expires;          /* seconds after creation; 0 = never */
	uint32_t sig_time;         /* creation of the self-signature used */
	bool has_flags;
	uint8_t flags;
	bool revoked;
	bool valid;                /* primary: valid uid cert; sub: valid binding */
	bool backsig;              /* subkey: valid primary key binding */
	bool is_primary;
	size_t primary;            /* index of the primary key */
} pgp_key;

struct coco_pgp_keyring {
	pgp_key *keys;
	size_t n, cap;
};

coco_pgp_keyring *coco_pgp_keyring_new(void)
{
	return calloc(1, sizeof(coco_pgp_keyring));
}

static void key_clear(pgp_key *k)
{
	EVP_PKEY_free(k->pkey);
	free(k->body);
	memset(k, 0, sizeof(*k));
}

void coco_pgp_keyring_free(coco_pgp_keyring *kr)
{
	if (!kr)
		return;
	COCO_FREE_ARRAY(kr->keys, kr->n, key_clear);
	free(kr);
}

size_t coco_pgp_keyring_count(const coco_pgp_keyring *kr)
{
	size_t c = 0;
	for (size_t i = 0; kr && i < kr->n; i++)
		c += kr->keys[i].is_primary;
	return c;
}

static void fpr_hex(const uint8_t fpr[20], char out[41])
{
	static const char hx[] = "0123456789ABCDEF";
	for (int i = 0; i < 20; i++) {
		out[2 * i] = hx[fpr[i] >> 4];
		out[2 * i + 1] = hx[fpr[i] & 15];
	}
	out[40] = 0;
}

void coco_pgp_keyring_fpr(const coco_pgp_keyring *kr, size_t i, char out[41])
{
	size_t c = 0;
	for (size_t k = 0; k < kr->n; k++) {
		if (!kr->keys[k].is_primary)
			continue;
		if (c++ == i) {
			fpr_hex(kr->keys[k].fpr, out);
			return;
		}
	}
	out[0] = 0;
}

static EVP_PKEY *rsa_pkey(const uint8_t *nb, size_t nl, const uint8_t *eb, size_t el)
{
	EVP_PKEY *pk = NULL;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *n = BN_bin2bn(nb, (int)nl, NULL), *e = BN_bin2bn(eb, (int)el, NULL);
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	if (!bld || !n || !e || nl == 0 || el == 0 || nl > 2048)
		goto out;
	if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (!params || !pctx || EVP_PKEY_fromdata_init(pctx) <= 0 ||
	    EVP_PKEY_fromdata(pctx, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pk = NULL;
out:
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return pk;
}

static EVP_PKEY *ec_pkey(const char *group, const uint8_t *pt, size_t ptlen)
{
	EVP_PKEY *pk = NULL;
	OSSL_PARAM params[3];
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pt, ptlen);
	params[2] = OSSL_PARAM_construct_end();
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!pctx || EVP_PKEY_fromdata_init(pctx) <= 0 ||
	    EVP_PKEY_fromdata(pctx, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pk = NULL;
	EVP_PKEY_CTX_free(pctx);
	return pk;
}

static const uint8_t OID_P256[] = { 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07 };
static const uint8_t OID_P384[] = { 0x2B, 0x81, 0x04, 0x00, 0x22 };
static const uint8_t OID_P521[] = { 0x2B, 0x81, 0x04, 0x00, 0x23 };
static const uint8_t OID_ED25519[] = { 0x2B, 0x06, 0x01, 0x04, 0x01, 0xDA, 0x47, 0x0F, 0x01 };
/* RFC 6637 / RFC 9580 9.2: Brainpool (RFC 5639) and secp256k1 for ECDSA */
static const uint8_t OID_BP256[] = { 0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07 };
static const uint8_t OID_BP384[] = { 0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0B };
static const uint8_t OID_BP512[] = { 0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0D };
static const uint8_t OID_K256[] = { 0x2B, 0x81, 0x04, 0x00, 0x0A };

#define OID_IS(o, ol, ref) ((ol) == sizeof(ref) && memcmp((o), (ref), sizeof(ref)) == 0)

/* The OpenSSL group of an ECDSA curve OID, NULL when we do not know it
 * (the key is kept, usable for nothing, as gpg does with unknown ones). */
static const char *ecdsa_group(const uint8_t *oid, size_t ol)
{
	static const struct { const uint8_t *oid; size_t len; const char *group; } curves[] = {
		{ OID_P256, sizeof(OID_P256), "P-256" },
		{ OID_P384, sizeof(OID_P384), "P-384" },
		{ OID_P521, sizeof(OID_P521), "P-521" },
		{ OID_BP256, sizeof(OID_BP256), "brainpoolP256r1" },
		{ OID_BP384, sizeof(OID_BP384), "brainpoolP384r1" },
		{ OID_BP512, sizeof(OID_BP512), "brainpoolP512r1" },
		{ OID_K256, sizeof(OID_K256), "secp256k1" },
	};
	for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (ol == curves[i].len && !memcmp(oid, curves[i].oid, ol))
			return curves[i].group;
	return NULL;
}

/* An ECDSA or EdDSA (legacy) public key at b[off..n): curve OID, then the
 * point with its leading byte (0x04 / 0x40).  -1 when malformed; an
 * unknown curve leaves k->pkey NULL. */
static int ec_key_material(const uint8_t *b, size_t n, size_t off, pgp_key *k)
{
	if (off >= n)
		return -1;
	size_t ol = b[off++];
	if (ol == 0 || ol == 0xff || ol > n - off)
		return -1;
	const uint8_t *oid = b + off;
	off += ol;
	/* the point keeps its leading byte: re-read raw, not as an MPI */
	if (n - off < 2)
		return -1;
	size_t bytes = ((size_t)be16(b + off) + 7) / 8;
	if (bytes > n - off - 2)
		return -1;
	const uint8_t *pt = b + off + 2;
	if (k->algo == PK_ECDSA) {
		const char *g = ecdsa_group(oid, ol);
		if (g && bytes > 0 && pt[0] == 0x04)
			k->pkey = ec_pkey(g, pt, bytes);
	} else if (OID_IS(oid, ol, OID_ED25519) && bytes == 33 && pt[0] == 0x40) {
		k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pt + 1, 32);
	}
	return 0;
}

/* The public key material after the 6-byte v4 header.  -1 when
 * malformed; an algorithm we cannot verify with leaves k->pkey NULL. */
static int key_material(const uint8_t *b, size_t n, pgp_key *k)
{
	size_t off = 6;
	const uint8_t *v1, *v2;
	size_t l1, l2;
	switch (k->algo) {
	case PK_RSA:
	case PK_RSA_E:
	case PK_RSA_S:
		if (read_mpi(b, n, &off, &v1, &l1) || read_mpi(b, n, &off, &v2, &l2))
			return -1;
		k->pkey = rsa_pkey(v1, l1, v2, l2);
		return 0;
	case PK_ECDSA:
	case PK_EDDSA:
		return ec_key_material(b, n, off, k);
	case PK_ED25519:
		if (n - off < 32)
			return -1;
		k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, b + off, 32);
		return 0;
	default:
		return 0;          /* DSA, ElGamal, ECDH...: usable for nothing here */
	}
}

/* Keep the key packet body (for hashing) and its v4 fingerprint
 * (SHA-1 over 0x99, length, body) and key id. */
static int key_fingerprint(const uint8_t *b, size_t n, pgp_key *k)
{
	k->body = malloc(n);
	if (!k->body)
		return -1;
	memcpy(k->body, b, n);
	k->body_len = n;
	uint8_t hdr[3] = { 0x99, (uint8_t)(n >> 8), (uint8_t)n };
	unsigned int fl = 0;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int ok = m && EVP_DigestInit_ex(m, EVP_sha1(), NULL) && EVP_DigestUpdate(m, hdr, 3) &&
	         EVP_DigestUpdate(m, b, n) && EVP_DigestFinal_ex(m, k->fpr, &fl) && fl == 20;
	EVP_MD_CTX_free(m);
	if (!ok)
		return -1;
	memcpy(k->keyid, k->fpr + 12, 8);
	return 0;
}

/* Parse a v4 key packet body into k.  Returns 0, 1 (not a v4 key: skip),
 * or -1 (malformed). An unsupported algorithm gives pkey NULL. */
static int key_parse(const uint8_t *b, size_t n, pgp_key *k)
{
	memset(k, 0, sizeof(*k));
	if (n < 1)
		return -1;
	if (b[0] != 4)
		return 1;
	if (n < 6 || n > 0xffff)
		return -1;
	k->created = be32(b + 1);
	k->algo = b[5];
	if (key_material(b, n, k) || key_fingerprint(b, n, k)) {
		key_clear(k);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Signatures                                                          */
/* ------------------------------------------------------------------ */

typedef struct pgp_sig {
	int version, type, pkalgo, hashalgo;
	const uint8_t *hashed;     /* bytes covered by the trailer */
	size_t hashed_len;
	uint8_t left16[2];
	const uint8_t *mpis;
	size_t mpis_len;
	bool has_created;
	uint32_t created;
	uint32_t sig_expires;
	bool has_key_expires;
	uint32_t key_expires;
	bool has_issuer;
	uint8_t issuer[8];
	bool has_issuer_fpr;
	uint8_t issuer_fpr[20];
	bool has_flags;
	uint8_t flags;
	const uint8_t *embedded;   /* embedded signature (back signature) */
	size_t embedded_len;
	bool unknown_critical;
	bool has_revocation_reason;
	uint8_t revocation_reason;
} pgp_sig;

/* Subpacket types we understand (a critical unknown one voids the
 * signature, RFC 4880 5.2.3.1). */
static bool subpkt_known(int t)
{
	static const uint64_t known =
		1ull << 2 | 1ull << 3 | 1ull << 4 | 1ull << 5 | 1ull << 7 | 1ull << 9 |
		1ull << 11 | 1ull << 12 | 1ull << 16 | 0xFFFull << 21 /* 21 to 32 */ |
		1ull << 33 | 1ull << 34 | 1ull << 35;
	return t >= 0 && t < 64 && (known >> t & 1);
}

/* The length of the subpacket at p[*off] (RFC 4880 5.2.3.1): -1 when
 * truncated, empty or longer than what is left. */
static int subpkt_len(const uint8_t *p, size_t n, size_t *off, size_t *len)
{
	uint8_t o1 = p[(*off)++];
	if (o1 < 192) {
		*len = o1;
	} else if (o1 < 255) {
		if (*off >= n)
			return -1;
		*len = ((size_t)(o1 - 192) << 8) + p[(*off)++] + 192;
	} else {
		if (n - *off < 4)
			return -1;
		*len = be32(p + *off);
		*off += 4;
	}
	return *len == 0 || *len > n - *off ? -1 : 0;
}

/* A 4-byte time subpacket: -1 unless exactly 4 bytes; taken only from
 * the hashed area. */
static int subpkt_time(const uint8_t *d, size_t dl, bool hashed, bool *has, uint32_t *v)
{
	if (dl != 4)
		return -1;
	if (hashed) {
		*has = true;
		*v = be32(d);
	}
	return 0;
}

/* Apply one subpacket (type, data d of dl bytes) to s. */
static int subpkt_apply(int type, const uint8_t *d, size_t dl, bool hashed, pgp_sig *s)
{
	bool ignored;
	switch (type) {
	case 2:
		return subpkt_time(d, dl, hashed, &s->has_created, &s->created);
	case 3:
		return subpkt_time(d, dl, hashed, &ignored, &s->sig_expires);
	case 9:
		return subpkt_time(d, dl, hashed, &s->has_key_expires, &s->key_expires);
	case 16:
		if (dl != 8)
			return -1;
		s->has_issuer = true;
		memcpy(s->issuer, d, 8);
		return 0;
	case 33:
		if (dl == 21 && d[0] == 4) {
			s->has_issuer_fpr = true;
			memcpy(s->issuer_fpr, d + 1, 20);
		}
		return 0;
	case 27:
		if (hashed && dl >= 1) {
			s->has_flags = true;
			s->flags = d[0];
		}
		return 0;
	case 29:
		if (hashed && dl >= 1) {
			s->has_revocation_reason = true;
			s->revocation_reason = d[0];
		}
		return 0;
	case 32:
		s->embedded = d;
		s->embedded_len = dl;
		return 0;
	default:
		return 0;
	}
}

static int subpkts_parse(const uint8_t *p, size_t n, bool hashed, pgp_sig *s)
{
	size_t off = 0;
	while (off < n) {
		size_t len;
		if (subpkt_len(p, n, &off, &len))
			return -1;
		int type = p[off] & 0x7f;
		bool critical = p[off] & 0x80;
		if (critical && hashed && !subpkt_known(type))
			s->unknown_critical = true;
		if (subpkt_apply(type, p + off + 1, len - 1, hashed, s))
			return -1;
		off += len;
	}
	return 0;
}

static int sig_parse(const uint8_t *b, size_t n, pgp_sig *s)
{
	memset(s, 0, sizeof(*s));
	if (n < 1)
		return -1;
	s->version = b[0];
	if (s->version == 3 || s->version == 2) {
		if (n < 19 || b[1] != 5)
			return -1;
		s->type = b[2];
		s->hashed = b + 2;
		s->hashed_len = 5;
		s->has_created = true;
		s->created = be32(b + 3);
		s->has_issuer = true;
		memcpy(s->issuer, b + 7, 8);
		s->pkalgo = b[15];
		s->hashalgo = b[16];
		memcpy(s->left16, b + 17, 2);
		s->mpis = b + 19;
		s->mpis_len = n - 19;
		return 0;
	}
	if (s->version != 4)
		return 1;
	if (n < 6)
		return -1;
	s->type = b[1];
	s->pkalgo = b[2];
	s->hashalgo = b[3];
	size_t hl = be16(b + 4);
	if (hl > n - 6)
		return -1;
	if (subpkts_parse(b + 6, hl, true, s))
		return -1;
	s->hashed = b;
	s->hashed_len = 6 + hl;
	size_t off = 6 + hl;
	if (n - off < 2)
		return -1;
	size_t ul = be16(b + off);
	off += 2;
	if (ul > n - off)
		return -1;
	if (subpkts_parse(b + off, ul, false, s))
		return -1;
	off += ul;
	if (n - off < 2)
		return -1;
	memcpy(s->left16, b + off, 2);
	off += 2;
	s->mpis = b + off;
	s->mpis_len = n - off;
	return 0;
}

static const EVP_MD *hash_md(int algo)
{
	switch (algo) {
	case 2: return EVP_sha1();
	case 8: return EVP_sha256();
	case 9: return EVP_sha384();
	case 10: return EVP_sha512();
	case 11: return EVP_sha224();
	default: return NULL;      /* MD5, RIPEMD-160 and unknown: refused */
	}
}

/* Start a hash for sig s; caller feeds the signed data then calls
 * sig_finish. */
static EVP_MD_CTX *sig_hash_start(const pgp_sig *s)
{
	const EVP_MD *md = hash_md(s->hashalgo);
	if (!md)
		return NULL;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	if (m && !EVP_DigestInit_ex(m, md, NULL)) {
		EVP_MD_CTX_free(m);
		m = NULL;
	}
	return m;
}

static void hash_key(EVP_MD_CTX *m, const pgp_key *k)
{
	uint8_t hdr[3] = { 0x99, (uint8_t)(k->body_len >> 8), (uint8_t)k->body_len };
	EVP_DigestUpdate(m, hdr, 3);
	EVP_DigestUpdate(m, k->body, k->body_len);
}

/* RSA PKCS#1 v1.5: the MPI left-padded to the modulus length. */
static bool verify_rsa(const pgp_key *k, const pgp_sig *s, const uint8_t *dg, unsigned int dl)
{
	size_t off = 0;
	const uint8_t *r;
	size_t rl;
	if (read_mpi(s->mpis, s->mpis_len, &off, &r, &rl))
		return false;
	size_t modlen = (size_t)EVP_PKEY_get_size(k->pkey);
	if (rl > modlen)
		return false;
	uint8_t *pad = calloc(1, modlen ? modlen : 1);
	if (!pad)
		return false;
	memcpy(pad + modlen - rl, r, rl);
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(k->pkey, NULL);
	bool ok = pc && EVP_PKEY_verify_init(pc) > 0 &&
	          EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) > 0 &&
	          EVP_PKEY_CTX_set_signature_md(pc, hash_md(s->hashalgo)) > 0 &&
	          EVP_PKEY_verify(pc, pad, modlen, dg, dl) == 1;
	free(pad);
	EVP_PKEY_CTX_free(pc);
	return ok;
}

/* ECDSA: the two MPIs r and s, as DER for OpenSSL. */
static bool verify_ecdsa(const pgp_key *k, const pgp_sig *s, const uint8_t *dg,
                         unsigned int dl)
{
	size_t off = 0;
	const uint8_t *r, *sv;
	size_t rl, sl;
	if (read_mpi(s->mpis, s->mpis_len, &off, &r, &rl) ||
	    read_mpi(s->mpis, s->mpis_len, &off, &sv, &sl))
		return false;
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *br = BN_bin2bn(r, (int)rl, NULL), *bs = BN_bin2bn(sv, (int)sl, NULL);
	if (!es || !br || !bs || !ECDSA_SIG_set0(es, br, bs)) {
		BN_free(br);
		BN_free(bs);
		ECDSA_SIG_free(es);
		return false;
	}
	unsigned char *der = NULL;
	int derlen = i2d_ECDSA_SIG(es, &der);
	EVP_PKEY_CTX *pc = derlen > 0 ? EVP_PKEY_CTX_new(k->pkey, NULL) : NULL;
	bool ok = pc && EVP_PKEY_verify_init(pc) > 0 &&
	          EVP_PKEY_verify(pc, der, (size_t)derlen, dg, dl) == 1;
	EVP_PKEY_CTX_free(pc);
	ECDSA_SIG_free(es);
	OPENSSL_free(der);
	return ok;
}

/* Ed25519: two 32-byte MPIs (legacy EdDSA) or 64 raw bytes (algorithm 27). */
static bool verify_eddsa(const pgp_key *k, const pgp_sig *s, const uint8_t *dg,
                         unsigned int dl)
{
	uint8_t raw[64] = { 0 };
	if (k->algo == PK_EDDSA) {
		size_t off = 0;
		const uint8_t *r, *sv;
		size_t rl, sl;
		if (read_mpi(s->mpis, s->mpis_len, &off, &r, &rl) ||
		    read_mpi(s->mpis, s->mpis_len, &off, &sv, &sl) || rl > 32 || sl > 32)
			return false;
		memcpy(raw + 32 - rl, r, rl);
		memcpy(raw + 64 - sl, sv, sl);
	} else {
		if (s->mpis_len < 64)
			return false;
		memcpy(raw, s->mpis, 64);
	}
	EVP_MD_CTX *vm = EVP_MD_CTX_new();
	bool ok = vm && EVP_DigestVerifyInit(vm, NULL, NULL, NULL, k->pkey) > 0 &&
	          EVP_DigestVerify(vm, raw, 64, dg, dl) == 1;
	EVP_MD_CTX_free(vm);
	return ok;
}

/* Add the trailer, finish the hash and check the signature with key k.
 * Frees m.  Returns true when valid. */
static bool sig_finish(EVP_MD_CTX *m, const pgp_sig *s, const pgp_key *k)
{
	uint8_t dg[EVP_MAX_MD_SIZE];
	unsigned int dl = 0;
	EVP_DigestUpdate(m, s->hashed, s->hashed_len);
	if (s->version == 4) {
		uint8_t tr[6] = { 4, 0xff, (uint8_t)(s->hashed_len >> 24),
		                  (uint8_t)(s->hashed_len >> 16), (uint8_t)(s->hashed_len >> 8),
		                  (uint8_t)s->hashed_len };
		EVP_DigestUpdate(m, tr, 6);
	}
	bool done = EVP_DigestFinal_ex(m, dg, &dl);
	EVP_MD_CTX_free(m);
	if (!done || dl < 2 || memcmp(dg, s->left16, 2) != 0 || !k->pkey || s->pkalgo != k->algo)
		return false;
	switch (k->algo) {
	case PK_RSA:
	case PK_RSA_S:
		return verify_rsa(k, s, dg, dl);
	case PK_ECDSA:
		return verify_ecdsa(k, s, dg, dl);
	case PK_EDDSA:
	case PK_ED25519:
		return verify_eddsa(k, s, dg, dl);
	default:
		return false;
	}
}

/* Does the signature claim to be issued by key k (or claim nothing)? */
static bool sig_maybe_by(const pgp_sig *s, const pgp_key *k)
{
	if (s->has_issuer_fpr)
		return memcmp(s->issuer_fpr, k->fpr, 20) == 0;
	if (s->has_issuer)
		return memcmp(s->issuer, k->keyid, 8) == 0;
	return true;
}

/* ------------------------------------------------------------------ */
/* Keyring import                                                      */
/* ------------------------------------------------------------------ */

static int kr_push(coco_pgp_keyring *kr, pgp_key *k)
{
	if (kr->n == kr->cap) {
		size_t nc = kr->cap ? kr->cap * 2 : 8;
		pgp_key *nk = realloc(kr->keys, nc * sizeof(*nk));
		if (!nk)
			return -1;
		kr->keys = nk;
		kr->cap = nc;
	}
	kr->keys[kr->n++] = *k;
	return 0;
}

/* Certification over primary key + user id / attribute. */
static bool verify_uid_cert(const pgp_key *pk, const uint8_t *uid, size_t uidlen, bool attr,
                            const pgp_sig *s)
{
	EVP_MD_CTX *m = sig_hash_start(s);
	if (!m)
		return false;
	hash_key(m, pk);
	if (s->version == 4) {
		uint8_t h[5] = { attr ? 0xD1 : 0xB4, (uint8_t)(uidlen >> 24), (uint8_t)(uidlen >> 16),
		                 (uint8_t)(uidlen >> 8), (uint8_t)uidlen };
		EVP_DigestUpdate(m, h, 5);
	}
	EVP_DigestUpdate(m, uid, uidlen);
	return sig_finish(m, s, pk);
}

/* Signature over primary (+ subkey) by signer. */
static bool verify_key_sig(const pgp_key *pk, const pgp_key *sub, const pgp_sig *s,
                           const pgp_key *signer)
{
	EVP_MD_CTX *m = sig_hash_start(s);
	if (!m)
		return false;
	hash_key(m, pk);
	if (sub)
		hash_key(m, sub);
	return sig_finish(m, s, signer);
}

/* State while importing one transferable public key. */
typedef struct imp {
	coco_pgp_keyring *kr;
	size_t first;              /* index of the primary in kr, or SIZE_MAX */
	size_t cur_sub;            /* index of the current subkey, or SIZE_MAX */
	const uint8_t *uid;
	size_t uid_len;
	bool uid_attr;
	bool in_uid;
	size_t added;
} imp;

/* Apply one self-signature's key properties if it is the newest. */
static void take_props(pgp_key *k, const pgp_sig *s)
{
	if (s->created < k->sig_time)
		return;
	k->sig_time = s->created;
	k->expires = s->has_key_expires ? s->key_expires : 0;
	k->has_flags = s->has_flags;
	k->flags = s->flags;
}

/* A signature after a subkey: its binding (0x18, with an embedded primary
 * key binding 0x19 made by the subkey) or its revocation (0x28). */
static void imp_subkey_sig(pgp_key *pk, pgp_key *sk, const pgp_sig *s)
{
	if (s->type == 0x28 && verify_key_sig(pk, sk, s, pk)) {
		sk->revoked = true;
		return;
	}
	if (s->type != 0x18 || !verify_key_sig(pk, sk, s, pk))
		return;
	if (s->created < sk->sig_time && sk->valid)
		return;
	sk->valid = true;
	take_props(sk, s);
	pgp_sig bs;
	sk->backsig = s->embedded && sig_parse(s->embedded, s->embedded_len, &bs) == 0 &&
	              bs.type == 0x19 && !bs.unknown_critical && verify_key_sig(pk, sk, &bs, sk);
}

static void imp_sig(imp *st, const pgp_sig *s)
{
	if (st->first == SIZE_MAX)
		return;
	pgp_key *pk = &st->kr->keys[st->first];
	if (!sig_maybe_by(s, pk) || s->unknown_critical)
		return;            /* third-party certification: irrelevant */
	if (st->cur_sub != SIZE_MAX) {
		imp_subkey_sig(pk, &st->kr->keys[st->cur_sub], s);
	} else if (st->in_uid) {
		if (s->type >= 0x10 && s->type <= 0x13 &&
		    verify_uid_cert(pk, st->uid, st->uid_len, st->uid_attr, s)) {
			if (!st->uid_attr)
				pk->valid = true;
			take_props(pk, s);
		}
	} else if (s->type == 0x20 && verify_key_sig(pk, NULL, s, pk)) {
		pk->revoked = true;
	} else if (s->type == 0x1f && verify_key_sig(pk, NULL, s, pk)) {
		take_props(pk, s);
	}
}

/*
 * The key just read (at index first) has the fingerprint of the earlier
 * primary at index old: fold it in like gpg merges a re-imported key, so
 * that a later export carrying a revocation, a new expiry or new subkeys
 * is not silently ignored.  Every property merged here comes from a
 * signature already verified with the primary key.  Removes the new
 * copy from kr (new valid subkeys move to the earlier primary).
 */
static void merge_dup(coco_pgp_keyring *kr, size_t old, size_t first)
{
	pgp_key *o = &kr->keys[old], *nk = &kr->keys[first];
	o->revoked |= nk->revoked;
	if (nk->sig_time > o->sig_time) {
		o->sig_time = nk->sig_time;
		o->expires = nk->expires;
		o->has_flags = nk->has_flags;
		o->flags = nk->flags;
	}
	o->valid |= nk->valid;
	/* the new primary's slot is reused for moved subkeys: free it first */
	key_clear(nk);
	size_t w = first;
	for (size_t r = first + 1; r < kr->n; r++) {
		pgp_key *s = &kr->keys[r];
		pgp_key *e = NULL;
		for (size_t i = 0; i < first && !e; i++)
			if (!kr->keys[i].is_primary && kr->keys[i].primary == old &&
			    memcmp(kr->keys[i].fpr, s->fpr, 20) == 0)
				e = &kr->keys[i];
		if (e) {
			e->revoked |= s->revoked;
			if (s->valid && (!e->valid || s->sig_time > e->sig_time)) {
				e->valid = true;
				e->sig_time = s->sig_time;
				e->expires = s->expires;
				e->has_flags = s->has_flags;
				e->flags = s->flags;
				e->backsig = s->backsig;
			}
			key_clear(s);
		} else if (s->valid) {
			s->primary = old;
			pgp_key moved = *s;
			memset(s, 0, sizeof(*s));
			kr->keys[w++] = moved;
		} else {
			key_clear(s);
		}
	}
	kr->n = w;
}

/* Close the current key: drop it (and its subkeys) if not valid; merge
 * it into an earlier copy of the same key. */
static void imp_finish(imp *st)
{
	if (st->first == SIZE_MAX)
		return;
	coco_pgp_keyring *kr = st->kr;
	size_t old = SIZE_MAX;
	for (size_t i = 0; i < st->first && old == SIZE_MAX; i++)
		if (kr->keys[i].is_primary &&
		    memcmp(kr->keys[i].fpr, kr->keys[st->first].fpr, 20) == 0)
			old = i;
	if (old != SIZE_MAX) {
		merge_dup(kr, old, st->first);
	} else if (!kr->keys[st->first].valid) {
		while (kr->n > st->first)
			key_clear(&kr->keys[--kr->n]);
	} else {
		/* drop subkeys without a valid binding */
		size_t w = st->first + 1;
		for (size_t r = st->first + 1; r < kr->n; r++) {
			if (kr->keys[r].valid)
				kr->keys[w++] = kr->keys[r];
			else
				key_clear(&kr->keys[r]);
		}
		kr->n = w;
		st->added++;
	}
	st->first = st->cur_sub = SIZE_MAX;
	st->in_uid = false;
}

/* A public key or subkey packet.  Returns 0, or -2 when out of memory. */
static int imp_key(imp *st, const pgp_pkt *pk)
{
	bool primary = pk->tag == TAG_PUBKEY;
	if (primary)
		imp_finish(st);
	else if (st->first == SIZE_MAX)
		return 0;
	coco_pgp_keyring *kr = st->kr;
	st->in_uid = false;
	pgp_key k;
	if (key_parse(pk->body, pk->len, &k) != 0) {
		/* not usable: a primary we cannot parse swallows its packets;
		 * a subkey's signatures are ignored */
		if (primary)
			st->first = SIZE_MAX;
		st->cur_sub = primary ? SIZE_MAX : SIZE_MAX - 1;
		return 0;
	}
	k.is_primary = primary;
	k.primary = primary ? kr->n : st->first;
	if (kr_push(kr, &k)) {
		key_clear(&k);
		return -2;
	}
	if (primary)
		st->first = kr->n - 1;
	st->cur_sub = primary ? SIZE_MAX : kr->n - 1;
	return 0;
}

static int import_binary(coco_pgp_keyring *kr, const uint8_t *p, size_t n, size_t *added,
                         const char **err)
{
	imp st = { kr, SIZE_MAX, SIZE_MAX, NULL, 0, false, false, 0 };
	size_t off = 0;
	int rc = 0;
	pgp_pkt pk;
	while (!rc && (rc = pkt_next(p, n, &off, &pk, err)) > 0) {
		rc = 0;
		pgp_sig s;
		switch (pk.tag) {
		case TAG_PUBKEY:
		case TAG_PUBSUB:
			rc = imp_key(&st, &pk);
			break;
		case TAG_UID:
		case TAG_UATTR:
			if (st.cur_sub != SIZE_MAX)
				break;     /* user ids after subkeys: not expected, ignore */
			st.uid = pk.body;
			st.uid_len = pk.len;
			st.uid_attr = pk.tag == TAG_UATTR;
			st.in_uid = true;
			break;
		case TAG_SIG:
			if (st.cur_sub != SIZE_MAX - 1 && sig_parse(pk.body, pk.len, &s) == 0)
				imp_sig(&st, &s);
			break;
		case TAG_SECKEY:
			imp_finish(&st);
			break;
		default:
			break;     /* trust, marker, other secret packets: skipped */
		}
		pkt_clear(&pk);
	}
	imp_finish(&st);
	*added += st.added;
	return rc;
}

/* ASCII armor ------------------------------------------------------- */

static uint32_t crc24(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xB704CEu;
	for (size_t i = 0; i < n; i++) {
		crc ^= (uint32_t)p[i] << 16;
		for (int b = 0; b < 8; b++) {
			crc <<= 1;
			if (crc & 0x1000000u)
				crc ^= 0x1864CFBu;
		}
	}
	return crc & 0xFFFFFFu;
}

/* Next line of [*off, n): returns its start and length (no EOL). */
static bool next_line(const char *p, size_t n, size_t *off, const char **line, size_t *len)
{
	if (*off >= n)
		return false;
	const char *s = p + *off;
	const char *e = memchr(s, '\n', n - *off);
	size_t l = e ? (size_t)(e - s) : n - *off;
	*off += l + (e ? 1 : 0);
	while (l && (s[l - 1] == '\r' || s[l - 1] == ' ' || s[l - 1] == '\t'))
		l--;
	*line = s;
	*len = l;
	return true;
}

static bool starts(const char *l, size_t len, const char *pfx)
{
	size_t pl = strlen(pfx);
	return len >= pl && memcmp(l, pfx, pl) == 0;
}

/* Decode every armored block in text; calls import_binary for each. */
static int import_armored(coco_pgp_keyring *kr, const char *p, size_t n, size_t *added,
                          const char **err)
{
	size_t off = 0;
	const char *line;
	size_t len;
	int blocks = 0;
	while (next_line(p, n, &off, &line, &len)) {
		if (!starts(line, len, "-----BEGIN PGP "))
			continue;
		blocks++;
		/* headers up to the first empty line (or a line without ':') */
		size_t save = off;
		bool in_headers = true;
		coco_buf b64 = COCO_BUF_INIT;
		const char *crc = NULL;
		size_t crclen = 0;
		bool ended = false;
		while (next_line(p, n, &off, &line, &len)) {
			if (in_headers) {
				if (len == 0) {
					in_headers = false;
					continue;
				}
				if (memchr(line, ':', len))
					continue;
				in_headers = false;
				off = save;    /* no header block: reread as data */
				save = SIZE_MAX;
				continue;
			}
			if (starts(line, len, "-----END PGP ")) {
				ended = true;
				break;
			}
			if (len == 5 && line[0] == '=') {
				crc = line + 1;
				crclen = 4;
				continue;
			}
			if (coco_buf_append(&b64, line, len)) {
				coco_buf_free(&b64);
				return -2;
			}
		}
		if (!ended) {
			coco_buf_free(&b64);
			*err = "unterminated ASCII armor";
			return -1;
		}
		coco_buf bin = COCO_BUF_INIT;
		if (coco_b64_decode(b64.data ? (const char *)b64.data : "", b64.len, &bin)) {
			coco_buf_free(&b64);
			*err = "invalid base64 in ASCII armor";
			return -1;
		}
		coco_buf_free(&b64);
		if (crc) {
			coco_buf cb = COCO_BUF_INIT;
			if (coco_b64_decode(crc, crclen, &cb) || cb.len != 3 ||
			    crc24(bin.data, bin.len) !=
			            ((uint32_t)cb.data[0] << 16 | (uint32_t)cb.data[1] << 8 | cb.data[2])) {
				coco_buf_free(&cb);
				coco_buf_free(&bin);
				*err = "ASCII armor checksum mismatch";
				return -1;
			}
			coco_buf_free(&cb);
		}
		int rc = import_binary(kr, bin.data, bin.len, added, err);
		coco_buf_free(&bin);
		if (rc)
			return rc;
	}
	if (!blocks) {
		*err = "no OpenPGP data found";
		return -1;
	}
	return 0;
}

int coco_pgp_keyring_add(cocoimg_ctx *ctx, coco_pgp_keyring *kr, const unsigned char *data,
                         size_t len, const char *what)
{
	size_t added = 0;
	const char *err = "malformed keyring";
	size_t i = 0;
	while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'))
		i++;
	int rc;
	if (i < len && !(data[i] & 0x80))
		rc = import_armored(kr, (const char *)data, len, &added, &err);
	else
		rc = import_binary(kr, data, len, &added, &err);
	if (rc == -2)
		return coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory reading %s", what);
	if (rc < 0)
		return coco_seterr(ctx, COCOIMG_EINVAL, "%s: %s", what, err);
	return (int)added;
}

/* ------------------------------------------------------------------ */
/* Signed messages                                                     */
/* ------------------------------------------------------------------ */

typedef struct msg_state {
	int n_ops;
	int n_literal;
	int literal_fmt;
	coco_buf literal;
	int n_sig;
	coco_buf sigbody;          /* the (single) signature packet */
	bool encrypted;
	bool before_literal_sig;
	size_t max_inflated;       /* max-signature-payload-size */
	size_t inflated;           /* by the compressed packets so far */
	bool over_cap;
} msg_state;

static int inflate_all(const uint8_t *in, size_t n, int algo, msg_state *ms, coco_buf *out,
                       const char **err)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, algo == 1 ? -15 : 15) != Z_OK) {
		*err = "cannot initialise zlib";
		return -1;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	int zr;
	do {
		if (coco_buf_reserve(out, 65536)) {
			inflateEnd(&z);
			*err = "out of memory";
			return -1;
		}
		z.next_out = out->data + out->len;
		z.avail_out = (uInt)(out->cap - out->len - 1);
		size_t before = z.avail_out;
		zr = inflate(&z, Z_NO_FLUSH);
		out->len += before - z.avail_out;
		if (out->len > ms->max_inflated - ms->inflated) {
			inflateEnd(&z);
			ms->over_cap = true;
			*err = "compressed data expands too much";
			return -1;
		}
		if (zr == Z_BUF_ERROR && z.avail_in == 0) {
			inflateEnd(&z);
			*err = "truncated compressed data";
			return -1;
		}
		if (zr != Z_OK && zr != Z_STREAM_END) {
			inflateEnd(&z);
			*err = "corrupt compressed data";
			return -1;
		}
	} while (zr != Z_STREAM_END);
	inflateEnd(&z);
	return 0;
}

static int msg_walk(const uint8_t *p, size_t n, int depth, msg_state *ms, const char **err);

/* A compressed data packet: walk its (inflated) contents one level down. */
static int msg_compressed(const pgp_pkt *pk, int depth, msg_state *ms, const char **err)
{
	if (depth >= PGP_MAX_DEPTH || pk->len < 1) {
		*err = "malformed compressed data packet";
		return -1;
	}
	int algo = pk->body[0];
	if (algo == 0)
		return msg_walk(pk->body + 1, pk->len - 1, depth + 1, ms, err);
	if (algo != 1 && algo != 2) {
		*err = algo == 3 ? "BZip2-compressed messages are not supported"
		                 : "unknown compression algorithm";
		return -1;
	}
	coco_buf out = COCO_BUF_INIT;
	int rc = inflate_all(pk->body + 1, pk->len - 1, algo, ms, &out, err);
	if (rc == 0) {
		ms->inflated += out.len;
		rc = msg_walk(out.data, out.len, depth + 1, ms, err);
	}
	coco_buf_free(&out);
	return rc;
}

/* The literal data packet: format, file name, date, then the content. */
static int msg_literal(const pgp_pkt *pk, msg_state *ms, const char **err)
{
	if (++ms->n_literal > 1) {
		*err = "more than one literal data packet";
		return -1;
	}
	if (pk->len < 6 || pk->len < 2 + (size_t)pk->body[1] + 4) {
		*err = "malformed literal data packet";
		return -1;
	}
	ms->literal_fmt = pk->body[0];
	size_t doff = 2 + (size_t)pk->body[1] + 4;
	if (coco_buf_append(&ms->literal, pk->body + doff, pk->len - doff)) {
		*err = "out of memory";
		return -1;
	}
	return 0;
}

static int msg_packet(const pgp_pkt *pk, int depth, msg_state *ms, const char **err)
{
	switch (pk->tag) {
	case TAG_COMP:
		return msg_compressed(pk, depth, ms, err);
	case TAG_OPS:
		ms->n_ops++;
		return 0;
	case TAG_LITERAL:
		return msg_literal(pk, ms, err);
	case TAG_SIG:
		ms->n_sig++;
		if (!ms->n_literal)
			ms->before_literal_sig = true;
		if (ms->n_sig == 1 && coco_buf_append(&ms->sigbody, pk->body, pk->len)) {
			*err = "out of memory";
			return -1;
		}
		return 0;
	case TAG_MARKER:
	case TAG_PADDING:
		return 0;
	case TAG_PKESK:
	case TAG_SKESK:
	case TAG_SED:
	case TAG_SEIPD:
	case TAG_AEAD:
		ms->encrypted = true;
		return 0;
	default:
		*err = "unexpected packet in a signed message";
		return -1;
	}
}

static int msg_walk(const uint8_t *p, size_t n, int depth, msg_state *ms, const char **err)
{
	size_t off = 0;
	for (;;) {
		pgp_pkt pk;
		int r = pkt_next(p, n, &off, &pk, err);
		if (r <= 0)
			return r;
		int rc = msg_packet(&pk, depth, ms, err);
		pkt_clear(&pk);
		if (rc)
			return rc;
	}
}

/* Find the key that made s: by issuer fingerprint, else key id. */
static const pgp_key *find_signer(const coco_pgp_keyring *kr, const pgp_sig *s)
{
	for (size_t i = 0; i < kr->n; i++) {
		const pgp_key *k = &kr->keys[i];
		if (s->has_issuer_fpr ? memcmp(s->issuer_fpr, k->fpr, 20) == 0
		                      : s->has_issuer && memcmp(s->issuer, k->keyid, 8) == 0)
			return k;
	}
	return NULL;
}

static void keyid_hex(const pgp_sig *s, char out[41])
{
	if (s->has_issuer_fpr)
		fpr_hex(s->issuer_fpr, out);
	else if (s->has_issuer) {
		uint8_t tmp[20] = { 0 };
		memcpy(tmp + 12, s->issuer, 8);
		fpr_hex(tmp, out);
		memmove(out, out + 24, 17);
	} else {
		strcpy(out, "(no issuer)");
	}
}

static bool key_expired(const pgp_key *k, int64_t now)
{
	return k->expires && (int64_t)k->created + (int64_t)k->expires <= now;
}

/* The shape of a signed message: one literal data packet, one signature,
 * with a one-pass signature packet or in the old signature-first order.
 * NULL when it is right, else what is wrong (maybe written into buf). */
static const char *msg_shape_error(const msg_state *ms, char *buf, size_t bl)
{
	if (ms->encrypted)
		return "invalid signature: the OpenPGP message is encrypted, not signed";
	if (ms->n_literal != 1)
		return "invalid signature: no signed content in the OpenPGP message";
	if (ms->n_sig != 1) {
		snprintf(buf, bl, "invalid signature: unexpected GPG signature count %d", ms->n_sig);
		return buf;
	}
	if (ms->n_ops && (ms->n_ops != 1 || ms->before_literal_sig))
		return "invalid signature: malformed one-pass signed message";
	/* Without a one-pass signature packet only the old (PGP 2) order,
	 * signature then literal data, is a signed message: gpg refuses
	 * literal-then-signature as "ambiguous signature data". */
	if (!ms->n_ops && !ms->before_literal_sig)
		return "invalid signature: signature packet after the literal data "
		       "without a one-pass signature packet";
	return NULL;
}

/* Hash the literal content for signature s: a text signature (0x01)
 * hashes line endings as CR LF. */
static void hash_content(EVP_MD_CTX *m, const pgp_sig *s, const coco_buf *lit)
{
	if (s->type != 0x01) {
		if (lit->len)
			EVP_DigestUpdate(m, lit->data, lit->len);
		return;
	}
	const uint8_t *d = lit->data;
	for (size_t i = 0; i < lit->len; i++) {
		if (d[i] == '\n' && (i == 0 || d[i - 1] != '\r'))
			EVP_DigestUpdate(m, "\r\n", 2);
		else
			EVP_DigestUpdate(m, d + i, 1);
	}
}

/* After the cryptographic check: is the signature (made by key k, whose
 * primary is pk) acceptable at time now?  Records why not on ctx. */
static int check_signature_use(cocoimg_ctx *ctx, const pgp_sig *s, const pgp_key *k,
                               const pgp_key *pk, int64_t now, const char *kid)
{
	int rc = COCOIMG_EPOLICY;
	if (s->unknown_critical)
		return coco_seterr(ctx, rc, "invalid signature by key %s: unknown critical subpacket",
		                   kid);
	if (s->version == 4 && !s->has_created)
		return coco_seterr(ctx, rc, "invalid signature by key %s: no creation time", kid);
	if (s->created < k->created)
		return coco_seterr(ctx, rc, "invalid signature by key %s: made before the key existed",
		                   kid);
	if (s->sig_expires && (int64_t)s->created + (int64_t)s->sig_expires <= now)
		return coco_seterr(ctx, rc, "signature by key %s has expired", kid);
	if (pk->revoked || k->revoked)
		return coco_seterr(ctx, rc, "signature by key %s: the key has been revoked", kid);
	if (key_expired(pk, now) || key_expired(k, now))
		return coco_seterr(ctx, rc, "signature by key %s: the key has expired", kid);
	/* gpg refuses keys created in the future (time conflict; its import
	 * drops their self-signatures), so containers/image rejects them. */
	if ((int64_t)pk->created > now || (int64_t)k->created > now)
		return coco_seterr(ctx, rc, "signature by key %s: the key was created in the future "
		                   "(clock problem?)", kid);
	bool can_sign = k->has_flags ? (k->flags & 0x02) != 0 : true;
	if (!can_sign || (!k->is_primary && !k->backsig))
		return coco_seterr(ctx, rc, "signature by key %s: the key is not valid for signing%s",
		                   kid, !k->is_primary && can_sign ? " (no primary key binding)" : "");
	return 0;
}

/* The signature of a well-formed message, its key in kr, and the
 * cryptographic check over the content.  *k is the signing key. */
static int verify_signature(cocoimg_ctx *ctx, const coco_pgp_keyring *kr, const msg_state *ms,
                            pgp_sig *s, const pgp_key **k, char kid[41])
{
	int rc = COCOIMG_EPOLICY;
	if (sig_parse(ms->sigbody.data, ms->sigbody.len, s) != 0)
		return coco_seterr(ctx, rc, "invalid signature: unsupported or malformed signature "
		                   "packet");
	keyid_hex(s, kid);
	if (s->type != 0x00 && s->type != 0x01)
		return coco_seterr(ctx, rc, "invalid signature: signature type 0x%02x is not a "
		                   "document signature", s->type);
	if (!(*k = find_signer(kr, s)))
		return coco_seterr(ctx, rc, "signature by key %s, which is not a trusted key", kid);
	EVP_MD_CTX *m = sig_hash_start(s);
	if (!m)
		return coco_seterr(ctx, rc, "invalid signature: unsupported hash algorithm %d",
		                   s->hashalgo);
	hash_content(m, s, &ms->literal);
	if (!sig_finish(m, s, *k))
		return coco_seterr(ctx, rc, "invalid signature by key %s: cryptographic verification "
		                   "failed", kid);
	return 0;
}

int coco_pgp_verify_message(cocoimg_ctx *ctx, const coco_pgp_keyring *kr,
                            const unsigned char *msg, size_t len, int64_t now,
                            coco_buf *content, char signer[41])
{
	msg_state ms;
	memset(&ms, 0, sizeof(ms));
	ms.max_inflated = coco_limit_size(ctx, COCO_LIM_SIGNATURE_PAYLOAD);
	const char *err = NULL;
	int rc = COCOIMG_EPOLICY;
	char kid[41], shape[80];
	pgp_sig s;
	const pgp_key *k = NULL;

	int walked = msg_walk(msg, len, 0, &ms, &err);
	if (walked < 0 && ms.over_cap)
		coco_limit_refuse(ctx, rc, COCO_LIM_SIGNATURE_PAYLOAD, UINT64_MAX,
		                  "invalid OpenPGP signature: the data it inflates to");
	else if (walked < 0)
		coco_seterr(ctx, rc, "invalid OpenPGP signature: %s", err);
	else if ((err = msg_shape_error(&ms, shape, sizeof(shape))))
		coco_seterr(ctx, rc, "%s", err);
	else if (!verify_signature(ctx, kr, &ms, &s, &k, kid) &&
	         !check_signature_use(ctx, &s, k, &kr->keys[k->primary], now, kid)) {
		fpr_hex(kr->keys[k->primary].fpr, signer);
		*content = ms.literal;
		memset(&ms.literal, 0, sizeof(ms.literal));
		rc = 0;
	}
	coco_buf_free(&ms.literal);
	coco_buf_free(&ms.sigbody);
	return rc;
}
