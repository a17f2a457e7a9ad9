/*
 * Fulcio certificates: the chain from a leaf to one of the trusted root's
 * certificate authorities at a given (proven) time, the code-signing EKU,
 * the subject alternative names and the OIDC issuer extension, and the
 * policy match on both.
 *
 * Issuer OIDs (sigstore/fulcio docs/oid-info.md): 1.3.6.1.4.1.57264.1.1
 * (v1, the extension value is the raw string) and 1.3.6.1.4.1.57264.1.8
 * (v2, a DER UTF8String); v2 wins, and when both are present they must
 * agree (containers/image's rule).  SANs: e-mail, URI, and Fulcio's
 * username other-name 1.3.6.1.4.1.57264.1.7 (UTF8String).
 */
#include "sigstore.h"
#include "../base.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#define OID_ISSUER_V1 "1.3.6.1.4.1.57264.1.1"
#define OID_ISSUER_V2 "1.3.6.1.4.1.57264.1.8"
#define OID_OTHERNAME_USER "1.3.6.1.4.1.57264.1.7"

void coco_fulcio_identity_clear(coco_fulcio_identity *id)
{
	if (!id)
		return;
	coco_strv_free(id->sans, id->n_sans);
	COCO_CLEAR_FIELDS(id, id->san, id->issuer);
}

/* ---- chain ---- */

static bool self_signed(X509 *x)
{
	return X509_check_issued(x, x) == X509_V_OK;
}

/* Put the CA's certificates into the store: the self-signed ones are
 * trust anchors, the others untrusted intermediates.  A CA without a
 * self-signed certificate (a trusted root listing only an intermediate)
 * anchors at its last certificate.  0 or -1. */
static int load_ca(const coco_ca *ca, X509_STORE *st, STACK_OF(X509) *untrusted, bool *partial)
{
	size_t anchors = 0;
	for (size_t i = 0; i < ca->n_certs; i++) {
		bool root = self_signed(ca->certs[i]);
		anchors += root;
		if (!(root ? X509_STORE_add_cert(st, ca->certs[i]) : sk_X509_push(untrusted, ca->certs[i])))
			return -1;
	}
	*partial = !anchors;
	if (!anchors && !X509_STORE_add_cert(st, ca->certs[ca->n_certs - 1]))
		return -1;
	return 0;
}

/* 1 when leaf (with the bundle's intermediates) chains to ca at `at`. */
static int verify_with_ca(const coco_ca *ca, X509 *leaf, STACK_OF(X509) *chain, int64_t at,
                          X509 **issuer)
{
	X509_STORE *st = X509_STORE_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	X509_STORE_CTX *sc = X509_STORE_CTX_new();
	bool partial = false;
	int ok = 0;
	if (!st || !untrusted || !sc || load_ca(ca, st, untrusted, &partial))
		goto out;
	for (int i = 0; chain && i < sk_X509_num(chain); i++)
		if (!sk_X509_push(untrusted, sk_X509_value(chain, i)))
			goto out;
	if (!X509_STORE_CTX_init(sc, st, leaf, untrusted))
		goto out;
	X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(sc);
	X509_VERIFY_PARAM_set_time(vp, (time_t)at);
	if (partial)
		X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_PARTIAL_CHAIN);
	ok = X509_verify_cert(sc) == 1;
	if (ok && issuer) {
		STACK_OF(X509) *path = X509_STORE_CTX_get0_chain(sc);
		*issuer = sk_X509_num(path) > 1 ? sk_X509_value(path, 1) : NULL;
		if (*issuer)
			X509_up_ref(*issuer);
	}
out:
	X509_STORE_CTX_free(sc);
	sk_X509_free(untrusted);
	X509_STORE_free(st);
	ERR_clear_error();
	return ok;
}

static int chain_err(cocoimg_ctx *ctx, coco_sigcheck *failed, coco_sigcheck what, const char *why)
{
	if (failed)
		*failed = what;
	return coco_seterr(ctx, COCOIMG_EPOLICY, "certificate: %s", why);
}

static int check_chain_members(cocoimg_ctx *ctx, STACK_OF(X509) *chain, coco_sigcheck *failed)
{
	for (int i = 0; chain && i < sk_X509_num(chain); i++)
		if (self_signed(sk_X509_value(chain, i)))
			return chain_err(ctx, failed, COCO_SIGCHECK_CHAIN,
			                 "the bundle's chain carries a root certificate (roots come only "
			                 "from the trusted root)");
	return 0;
}

int coco_fulcio_verify(cocoimg_ctx *ctx, const coco_trustroot *root, X509 *leaf,
                       STACK_OF(X509) *chain, int64_t at, bool check_sct,
                       coco_fulcio_identity *id, coco_sigcheck *failed)
{
	int rc = check_chain_members(ctx, chain, failed);
	if (rc)
		return rc;
	if (!(X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) ||
	    !(X509_get_extended_key_usage(leaf) & XKU_CODE_SIGN))
		return chain_err(ctx, failed, COCO_SIGCHECK_CHAIN, "no code-signing extended key usage");
	X509 *issuer = NULL;
	bool ok = false;
	for (size_t i = 0; !ok && i < root->n_cas; i++) {
		const coco_ca *ca = &root->cas[i];
		if (ca->n_certs && coco_validity_contains(&ca->valid, at))
			ok = verify_with_ca(ca, leaf, chain, at, &issuer);
	}
	if (!ok)
		return chain_err(ctx, failed, COCO_SIGCHECK_CHAIN,
		                 "does not chain to a trusted certificate authority valid at the "
		                 "signing time");
	if (check_sct)
		rc = coco_sct_verify(ctx, root, leaf, issuer);
	X509_free(issuer);
	if (rc) {
		if (failed)
			*failed = COCO_SIGCHECK_SCT;
		return rc;
	}
	return id ? coco_fulcio_identity_get(ctx, leaf, id) : 0;
}

/* ---- identity ---- */

static int push_san(coco_fulcio_identity *id, const unsigned char *s, int n)
{
	char **v = realloc(id->sans, (id->n_sans + 2) * sizeof(*v));
	if (!v)
		return COCOIMG_ENOMEM;
	id->sans = v;
	if (!(v[id->n_sans] = coco_strndup((const char *)s, (size_t)n)))
		return COCOIMG_ENOMEM;
	v[++id->n_sans] = NULL;
	return 0;
}

static int san_value(GENERAL_NAME *g, coco_fulcio_identity *id)
{
	ASN1_STRING *s = NULL;
	if (g->type == GEN_EMAIL || g->type == GEN_URI || g->type == GEN_DNS) {
		s = g->d.ia5;
	} else if (g->type == GEN_OTHERNAME) {
		char oid[64];
		OBJ_obj2txt(oid, sizeof(oid), g->d.otherName->type_id, 1);
		ASN1_TYPE *v = g->d.otherName->value;
		if (!strcmp(oid, OID_OTHERNAME_USER) && v->type == V_ASN1_UTF8STRING)
			s = v->value.utf8string;
	}
	if (!s)
		return 0;
	return push_san(id, ASN1_STRING_get0_data(s), ASN1_STRING_length(s));
}

static int get_sans(X509 *leaf, coco_fulcio_identity *id)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	int rc = 0;
	for (int i = 0; !rc && gens && i < sk_GENERAL_NAME_num(gens); i++)
		rc = san_value(sk_GENERAL_NAME_value(gens, i), id);
	GENERAL_NAMES_free(gens);
	ERR_clear_error();
	return rc;
}

/* The value of extension `oid`: raw octets (v1) or a DER UTF8String (v2,
 * nothing after it).  NULL when absent, or malformed (*bad set). */
static char *ext_string(X509 *leaf, const char *oid, bool der_utf8, bool *bad)
{
	for (int i = 0; i < X509_get_ext_count(leaf); i++) {
		X509_EXTENSION *e = X509_get_ext(leaf, i);
		char name[64];
		OBJ_obj2txt(name, sizeof(name), X509_EXTENSION_get_object(e), 1);
		if (strcmp(name, oid))
			continue;
		ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(e);
		const unsigned char *p = ASN1_STRING_get0_data(os);
		int n = ASN1_STRING_length(os);
		if (!der_utf8)
			return coco_strndup((const char *)p, (size_t)n);
		const unsigned char *start = p;
		ASN1_UTF8STRING *u = d2i_ASN1_UTF8STRING(NULL, &p, n);
		if (!u || p != start + n) {
			*bad = true;
			ASN1_UTF8STRING_free(u);
			ERR_clear_error();
			return NULL;
		}
		char *s = u ? coco_strndup((const char *)ASN1_STRING_get0_data(u),
		                           (size_t)ASN1_STRING_length(u)) : NULL;
		ASN1_UTF8STRING_free(u);
		ERR_clear_error();
		return s;
	}
	return NULL;
}

int coco_fulcio_identity_get(cocoimg_ctx *ctx, X509 *leaf, coco_fulcio_identity *id)
{
	*id = (coco_fulcio_identity){0};
	if (get_sans(leaf, id))
		goto oom;
	if (id->n_sans && !(id->san = coco_strdup(id->sans[0])))
		goto oom;
	bool bad = false;
	char *v1 = ext_string(leaf, OID_ISSUER_V1, false, &bad);
	char *v2 = ext_string(leaf, OID_ISSUER_V2, true, &bad);
	if (bad) {
		free(v1);
		coco_fulcio_identity_clear(id);
		return coco_seterr(ctx, COCOIMG_EPOLICY,
		                   "certificate: invalid ASN.1 in the OIDC issuer v2 extension");
	}
	if (v1 && v2 && strcmp(v1, v2)) {
		free(v1);
		free(v2);
		coco_fulcio_identity_clear(id);
		return coco_seterr(ctx, COCOIMG_EPOLICY,
		                   "certificate: the two OIDC issuer extensions disagree");
	}
	id->issuer = v2 ? v2 : v1;
	if (v2)
		free(v1);
	return 0;
oom:
	coco_fulcio_identity_clear(id);
	return coco_oom(ctx);
}

/* ---- matching ---- */

static int regex_find(cocoimg_ctx *ctx, const char *re, const char *s, bool *out)
{
	regex_t r;
	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB))
		return coco_seterr(ctx, COCOIMG_EINVAL, "invalid regular expression \"%.200s\"", re);
	*out = s && !regexec(&r, s, 0, NULL, 0);
	regfree(&r);
	return 0;
}

static int match_one(cocoimg_ctx *ctx, const char *exact, const char *re, const char *value,
                     bool *out)
{
	*out = true;
	if (exact)
		*out = value && !strcmp(exact, value);
	if (*out && re)
		return regex_find(ctx, re, value, out);
	return 0;
}

static int match_sans(cocoimg_ctx *ctx, const coco_fulcio_identity *id,
                      const coco_sigstore_policy *pol, bool *ok)
{
	*ok = false;
	for (size_t i = 0; !*ok && i < id->n_sans; i++) {
		int rc = match_one(ctx, pol->identity, pol->identity_regexp, id->sans[i], ok);
		if (rc)
			return rc;
	}
	return 0;
}

static int mismatch(cocoimg_ctx *ctx, coco_sigcheck *failed, coco_sigcheck check,
                    const char *what, const char *value)
{
	if (failed)
		*failed = check;
	return coco_seterr(ctx, COCOIMG_EPOLICY,
	                   "certificate %s \"%.300s\" does not match the expected one", what,
	                   value ? value : "");
}

int coco_fulcio_match(cocoimg_ctx *ctx, const coco_fulcio_identity *id,
                      const coco_sigstore_policy *pol, coco_sigcheck *failed)
{
	bool ok;
	int rc = match_sans(ctx, id, pol, &ok);
	if (rc)
		return rc;
	if (!ok)
		return mismatch(ctx, failed, COCO_SIGCHECK_IDENTITY, "identity", id->san);
	if ((rc = match_one(ctx, pol->issuer, pol->issuer_regexp, id->issuer, &ok)))
		return rc;
	if (!ok)
		return mismatch(ctx, failed, COCO_SIGCHECK_ISSUER, "OIDC issuer", id->issuer);
	return 0;
}
