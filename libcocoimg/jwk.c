/*
 * JSON Web Keys (jwk.h): RSA and EC keys to and from their JWK form
 * (RFC 7517, 7518), and RFC 7638 thumbprints.
 */
#include "jwk.h"
#include "base.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stdlib.h>
#include <string.h>

static BIGNUM *jwk_bn(json_t *jwk, const char *name)
{
	json_t *v = json_object_get(jwk, name);
	if (!json_is_string(v))
		return NULL;
	coco_buf b = COCO_BUF_INIT;
	BIGNUM *bn = NULL;
	if (!coco_b64url_decode(json_string_value(v), json_string_length(v), &b) && b.len)
		bn = BN_bin2bn(b.data, (int)b.len, NULL);
	coco_buf_wipe_free(&b);
	return bn;
}

static const char *curve_ossl(const char *crv)
{
	static const char *const names[][2] = {
		{ "P-256", "prime256v1" }, { "P-384", "secp384r1" }, { "P-521", "secp521r1" }
	};
	return coco_str_lookup(names, COCO_ARRAY_SIZE(names), crv, NULL);
}

static EVP_PKEY *jwk_rsa(json_t *jwk, bool priv)
{
	static const char *const names[] = { "n", "e", "d", "p", "q", "dp", "dq", "qi" };
	static const char *const params[] = {
		OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E, OSSL_PKEY_PARAM_RSA_D,
		OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
		OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
		OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	};
	BIGNUM *bn[8] = { 0 };
	EVP_PKEY *pk = NULL;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *p = NULL;
	EVP_PKEY_CTX *pc = NULL;
	size_t want = priv ? 8 : 2;
	if (!bld)
		goto out;
	for (size_t i = 0; i < want; i++) {
		bn[i] = jwk_bn(jwk, names[i]);
		if (!bn[i]) {
			/* a private JWK needs d; the CRT members are optional */
			if (i < 3)
				goto out;
			if (i == 3)
				break;
			goto out;
		}
	}
	for (size_t i = 0; i < want && bn[i]; i++)
		if (!OSSL_PARAM_BLD_push_BN(bld, params[i], bn[i]))
			goto out;
	p = OSSL_PARAM_BLD_to_param(bld);
	pc = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (!p || !pc || EVP_PKEY_fromdata_init(pc) <= 0 ||
	    EVP_PKEY_fromdata(pc, &pk, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, p) <= 0)
		pk = NULL;
out:
	for (size_t i = 0; i < 8; i++)
		BN_clear_free(bn[i]);
	OSSL_PARAM_free(p);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(pc);
	return pk;
}

/* The uncompressed point 04||X||Y of a JWK's "x" and "y" (each at most
 * flen bytes, left-padded); 0 or -1. */
static int jwk_ec_point(json_t *jwk, size_t flen, unsigned char *point)
{
	coco_buf x = COCO_BUF_INIT, y = COCO_BUF_INIT;
	json_t *jx = json_object_get(jwk, "x"), *jy = json_object_get(jwk, "y");
	int rc = -1;
	if (json_is_string(jx) && json_is_string(jy) &&
	    !coco_b64url_decode(json_string_value(jx), json_string_length(jx), &x) &&
	    !coco_b64url_decode(json_string_value(jy), json_string_length(jy), &y) &&
	    x.len <= flen && y.len <= flen && x.len && y.len) {
		memset(point, 0, 1 + 2 * flen);
		point[0] = 4;
		memcpy(point + 1 + flen - x.len, x.data, x.len);
		memcpy(point + 1 + 2 * flen - y.len, y.data, y.len);
		rc = 0;
	}
	coco_buf_free(&x);
	coco_buf_free(&y);
	return rc;
}

/* An EC key from OpenSSL parameters; NULL unless the point is on the
 * curve. */
static EVP_PKEY *ec_from_params(OSSL_PARAM_BLD *bld, bool priv)
{
	EVP_PKEY *pk = NULL;
	OSSL_PARAM *p = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!p || !pc || EVP_PKEY_fromdata_init(pc) <= 0 ||
	    EVP_PKEY_fromdata(pc, &pk, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, p) <= 0)
		pk = NULL;
	OSSL_PARAM_free(p);
	EVP_PKEY_CTX_free(pc);
	if (!pk)
		return NULL;
	/* reject points not on the curve */
	EVP_PKEY_CTX *chk = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	if (!chk || EVP_PKEY_public_check(chk) != 1) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	EVP_PKEY_CTX_free(chk);
	return pk;
}

static EVP_PKEY *jwk_ec(json_t *jwk, bool priv)
{
	json_t *crv = json_object_get(jwk, "crv");
	const char *group = json_is_string(crv) ? curve_ossl(json_string_value(crv)) : NULL;
	if (!group)
		return NULL;
	size_t flen = !strcmp(group, "prime256v1") ? 32 : !strcmp(group, "secp384r1") ? 48 : 66;
	EVP_PKEY *pk = NULL;
	unsigned char point[1 + 2 * 66];
	BIGNUM *d = NULL;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	if (bld && !jwk_ec_point(jwk, flen, point) && (!priv || (d = jwk_bn(jwk, "d"))) &&
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) &&
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * flen) &&
	    (!d || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d)))
		pk = ec_from_params(bld, priv);
	BN_clear_free(d);
	OSSL_PARAM_BLD_free(bld);
	return pk;
}

EVP_PKEY *coco_jwk_to_pkey(json_t *jwk, bool want_private)
{
	json_t *kty = json_object_get(jwk, "kty");
	if (!json_is_object(jwk) || !json_is_string(kty))
		return NULL;
	bool priv = want_private && json_object_get(jwk, "d");
	if (want_private && !priv)
		return NULL;
	if (!strcmp(json_string_value(kty), "RSA"))
		return jwk_rsa(jwk, priv);
	if (!strcmp(json_string_value(kty), "EC"))
		return jwk_ec(jwk, priv);
	return NULL;
}

/* ---- public JWK and thumbprint ---- */

static char *bn_b64url(const BIGNUM *bn, size_t pad)
{
	size_t n = (size_t)BN_num_bytes(bn);
	if (pad < n)
		pad = n;
	unsigned char *b = calloc(1, pad ? pad : 1);
	if (!b)
		return NULL;
	if (BN_bn2binpad(bn, b, (int)pad) < 0) {
		free(b);
		return NULL;
	}
	char *s = coco_b64url_encode(b, pad);
	free(b);
	return s;
}

/* A public JWK member holding a big number, padded to pad bytes. */
static int jwk_set_bn(json_t *jwk, const char *name, EVP_PKEY *pk, const char *param,
                      size_t pad)
{
	BIGNUM *bn = NULL;
	char *s = EVP_PKEY_get_bn_param(pk, param, &bn) ? bn_b64url(bn, pad) : NULL;
	BN_free(bn);
	int rc = !s || json_object_set_new(jwk, name, json_string(s)) ? -1 : 0;
	free(s);
	return rc;
}

json_t *coco_pkey_public_jwk(EVP_PKEY *pk)
{
	const char *crv = NULL;
	size_t flen = 0;
	json_t *jwk = json_object();
	int rc = -1;
	if (jwk && EVP_PKEY_is_a(pk, "RSA"))
		rc = json_object_set_new(jwk, "kty", json_string("RSA")) ||
		     jwk_set_bn(jwk, "n", pk, OSSL_PKEY_PARAM_RSA_N, 0) ||
		     jwk_set_bn(jwk, "e", pk, OSSL_PKEY_PARAM_RSA_E, 0);
	else if (jwk && !coco_ec_info(pk, &crv, &flen))
		rc = json_object_set_new(jwk, "kty", json_string("EC")) ||
		     json_object_set_new(jwk, "crv", json_string(crv)) ||
		     jwk_set_bn(jwk, "x", pk, OSSL_PKEY_PARAM_EC_PUB_X, flen) ||
		     jwk_set_bn(jwk, "y", pk, OSSL_PKEY_PARAM_EC_PUB_Y, flen);
	if (rc) {
		json_decref(jwk);
		return NULL;
	}
	return jwk;
}

int coco_ec_info(EVP_PKEY *pk, const char **crv, size_t *flen)
{
	char group[64];
	size_t glen = 0;
	if (!EVP_PKEY_is_a(pk, "EC") ||
	    !EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
	                                    &glen))
		return COCOIMG_EUNSUPPORTED;
	if (!strcmp(group, "prime256v1") || !strcmp(group, "P-256")) {
		*crv = "P-256";
		*flen = 32;
	} else if (!strcmp(group, "secp384r1") || !strcmp(group, "P-384")) {
		*crv = "P-384";
		*flen = 48;
	} else if (!strcmp(group, "secp521r1") || !strcmp(group, "P-521")) {
		*crv = "P-521";
		*flen = 66;
	} else {
		return COCOIMG_EUNSUPPORTED;
	}
	return 0;
}

char *coco_pkey_thumbprint(EVP_PKEY *pk)
{
	/* RFC 7638: the required members, sorted, no white space; they are
	 * exactly those of the public JWK */
	json_t *jwk = coco_pkey_public_jwk(pk);
	char *json = jwk ? json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(jwk);
	char *out = NULL;
	unsigned char md[32];
	unsigned int mdlen = 0;
	if (json && EVP_Digest(json, strlen(json), md, &mdlen, EVP_sha256(), NULL))
		out = coco_b64url_encode(md, mdlen);
	free(json);
	return out;
}
