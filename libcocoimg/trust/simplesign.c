/*
 * Simple signing: the "atomic container signature" payload, the manifest
 * digest rule, and the stored-signature blob format (first-byte sniffing
 * and the 0x00 envelopes), all as containers/image reads them
 * (signatures.md 2.1, 2.3, 2.5, 4.3).
 */
#include "policy.h"
#include "trust.h"
#include "../base.h"
#include "../digest.h"
#include "../json.h"

#include <string.h>

/* ------------------------------------------------------------------ */
/* Payload                                                             */
/* ------------------------------------------------------------------ */

/* Check obj has exactly the keys in names (all present, nothing else).
 * jansson already refused duplicate keys while parsing. */
static int exact_fields(cocoimg_ctx *ctx, json_t *obj, const char *where,
                        const char *const *names, size_t n)
{
	if (!json_is_object(obj))
		return coco_seterr(ctx, COCOIMG_EPOLICY,
		                   "invalid signature: %s is not a JSON object", where);
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v) {
		bool ok = false;
		for (size_t i = 0; i < n; i++)
			ok |= strcmp(k, names[i]) == 0;
		if (!ok)
			return coco_seterr(ctx, COCOIMG_EPOLICY,
			                   "invalid signature: unknown key \"%s\" in %s", k, where);
	}
	for (size_t i = 0; i < n; i++)
		if (!json_object_get(obj, names[i]))
			return coco_seterr(ctx, COCOIMG_EPOLICY,
			                   "invalid signature: key \"%s\" missing in %s", names[i], where);
	return 0;
}

/* A Go string field: a JSON string, or null (which Go leaves as ""). */
static int go_string(cocoimg_ctx *ctx, json_t *v, const char *where, const char **out)
{
	if (json_is_null(v)) {
		*out = "";
		return 0;
	}
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return coco_seterr(ctx, COCOIMG_EPOLICY, "invalid signature: %s must be a string",
		                   where);
	*out = json_string_value(v);
	return 0;
}

/* "optional": an object (null too for cosign payloads) whose creator is
 * a string and timestamp a whole number; other members are ignored. */
static int simple_optional(cocoimg_ctx *ctx, json_t *opt, bool cosign)
{
	if (cosign && json_is_null(opt))
		return 0;
	if (!json_is_object(opt))
		return coco_seterr(ctx, COCOIMG_EPOLICY,
		                   "invalid signature: \"optional\" is not a JSON object");
	json_t *c = json_object_get(opt, "creator");
	if (c && !json_is_null(c) && !json_is_string(c))
		return coco_seterr(ctx, COCOIMG_EPOLICY,
		                   "invalid signature: optional.creator must be a string");
	json_t *ts = json_object_get(opt, "timestamp");
	if (!ts || json_is_null(ts))
		return 0;
	bool ok = json_is_integer(ts);
	if (json_is_real(ts)) {
		double d = json_real_value(ts);
		ok = d >= -9.2e18 && d <= 9.2e18 && (double)(int64_t)d == d;
	}
	if (!ok)
		return coco_seterr(ctx, COCOIMG_EPOLICY, "invalid signature: field "
		                   "optional.timestamp is not an integer");
	return 0;
}

/* "critical": type want_type, image.docker-manifest-digest (a valid
 * digest: containers/image >= 5.31 checks its syntax here) and
 * identity.docker-reference.  *d and *r are borrowed from cr. */
static int simple_critical(cocoimg_ctx *ctx, json_t *cr, const char *want_type, const char **d,
                           const char **r)
{
	static const char *const crit[] = { "type", "image", "identity" };
	static const char *const img[] = { "docker-manifest-digest" };
	static const char *const idn[] = { "docker-reference" };
	json_t *im = json_object_get(cr, "image"), *id = json_object_get(cr, "identity");
	const char *t = NULL;
	int rc;
	if ((rc = exact_fields(ctx, cr, "critical", crit, 3)) ||
	    (rc = go_string(ctx, json_object_get(cr, "type"), "critical.type", &t)))
		return rc;
	if (strcmp(t, want_type) != 0)
		return coco_seterr(ctx, COCOIMG_EPOLICY, "invalid signature: unrecognized signature "
		                   "type \"%s\"", t);
	if ((rc = exact_fields(ctx, im, "critical.image", img, 1)) ||
	    (rc = go_string(ctx, json_object_get(im, "docker-manifest-digest"),
	                    "critical.image.docker-manifest-digest", d)))
		return rc;
	if (!coco_go_digest_valid(*d))
		return coco_seterr(ctx, COCOIMG_EPOLICY, "invalid signature: invalid "
		                   "docker-manifest-digest value \"%s\"", *d);
	if ((rc = exact_fields(ctx, id, "critical.identity", idn, 1)))
		return rc;
	return go_string(ctx, json_object_get(id, "docker-reference"),
	                 "critical.identity.docker-reference", r);
}

int coco_simple_payload_parse(cocoimg_ctx *ctx, const unsigned char *data, size_t len,
                              bool cosign, char **digest, char **reference)
{
	static const char *const top[] = { "critical", "optional" };
	const char *want_type = cosign ? "cosign container image signature"
	                               : "atomic container signature";
	json_error_t je;
	*digest = *reference = NULL;
	json_t *j = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return coco_seterr(ctx, COCOIMG_EPOLICY, "invalid signature: payload is not valid "
		                   "JSON: %s", je.text);
	const char *d = NULL, *r = NULL;
	int rc;
	if (!(rc = exact_fields(ctx, j, "the signature", top, 2)) &&
	    !(rc = simple_optional(ctx, json_object_get(j, "optional"), cosign)) &&
	    !(rc = simple_critical(ctx, json_object_get(j, "critical"), want_type, &d, &r)))
		rc = coco_payload_claims_copy(ctx, d, r, digest, reference);
	json_decref(j);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Manifest digest                                                     */
/* ------------------------------------------------------------------ */

/* formatLength and formatTail (base64url) from the protected header of
 * one schema 1 signature.  0, or -1 when malformed. */
static int sig_format(json_t *sig, int64_t *flen, coco_buf *tail)
{
	json_t *prot = json_object_get(sig, "protected");
	if (!json_is_string(prot))
		return -1;
	coco_buf ph = COCO_BUF_INIT;
	json_t *pj = NULL;
	if (!coco_b64url_decode(json_string_value(prot), json_string_length(prot), &ph))
		pj = json_loadb((const char *)ph.data, ph.len, 0, NULL);
	coco_buf_free(&ph);
	json_t *fl = json_object_get(pj, "formatLength");
	json_t *ft = json_object_get(pj, "formatTail");
	int rc = -1;
	if (json_is_integer(fl) && json_is_string(ft) &&
	    !coco_b64url_decode(json_string_value(ft), json_string_length(ft), tail)) {
		*flen = json_integer_value(fl);
		rc = 0;
	}
	json_decref(pj);
	return rc;
}

/* The JWS payload of a signed schema 1 manifest m: every signature must
 * name the same formatLength and formatTail.  0 or -1. */
static int schema1_jws_payload(const unsigned char *m, size_t len, json_t *sigs, coco_buf *out)
{
	int64_t flen = -1;
	coco_buf tail = COCO_BUF_INIT;
	size_t i;
	json_t *s;
	int rc = 0;
	json_array_foreach(sigs, i, s) {
		int64_t l;
		coco_buf t = COCO_BUF_INIT;
		rc = sig_format(s, &l, &t);
		if (!rc && flen == -1) {
			flen = l;
			tail = t;
			continue;
		}
		if (!rc && !(flen == l && t.len == tail.len &&
		             (t.len == 0 || memcmp(t.data, tail.data, t.len) == 0)))
			rc = -1;
		coco_buf_free(&t);
		if (rc)
			break;
	}
	if (!rc && (flen < 0 || (uint64_t)flen > len || coco_buf_append(out, m, (size_t)flen) ||
	            coco_buf_append(out, tail.data, tail.len)))
		rc = -1;
	coco_buf_free(&tail);
	return rc;
}

/*
 * For a signed Docker schema 1 manifest, the digest covers the JWS
 * payload: the bytes before the "signatures" member (formatLength) plus
 * formatTail, both from the protected header of the signatures.
 * Returns 1 if m is a signed schema 1 manifest (payload in out), 0 if
 * not, -1 if it claims to be one but the signatures are malformed.
 */
static int schema1_payload(const unsigned char *m, size_t len, coco_buf *out)
{
	json_t *j = json_loadb((const char *)m, len, 0, NULL);
	json_t *sv = json_object_get(j, "schemaVersion");
	json_t *sigs = json_object_get(j, "signatures");
	int rc = 0;
	if (!json_is_integer(sv) || json_integer_value(sv) != 1 || !sigs)
		rc = 0;
	else if (!json_is_array(sigs) || json_array_size(sigs) == 0)
		rc = -1;
	else
		rc = schema1_jws_payload(m, len, sigs, out) ? -1 : 1;
	json_decref(j);
	return rc;
}

bool coco_manifest_matches_digest(const unsigned char *manifest, size_t len, const char *digest)
{
	/* containers/image compares with the sha256 digest only, as strings:
	 * a sha512 claim never matches (signatures.md 2.5). */
	char got[COCO_DIGEST_STRLEN];
	coco_buf pl = COCO_BUF_INIT;
	int s1 = schema1_payload(manifest, len, &pl);
	int rc;
	if (s1 < 0) {
		coco_buf_free(&pl);
		return false;
	}
	if (s1 > 0)
		rc = coco_digest_bytes(COCO_SHA256, pl.data, pl.len, got);
	else
		rc = coco_digest_bytes(COCO_SHA256, manifest, len, got);
	coco_buf_free(&pl);
	return rc == 0 && strcmp(got, digest) == 0;
}

/* ------------------------------------------------------------------ */
/* Stored signature blobs                                              */
/* ------------------------------------------------------------------ */

void coco_trust_sigs_clear(coco_trust_sigs *s)
{
	for (size_t i = 0; i < s->n; i++) {
		coco_trust_sig *g = &s->v[i];
		coco_buf_free(&g->blob);
		free(g->mime_type);
		coco_buf_free(&g->sigstore.payload);
		free(g->sigstore.signature_b64);
		free(g->sigstore.cert_pem);
		free(g->sigstore.chain_pem);
		free(g->sigstore.bundle_json);
		free(g->sigstore.rfc3161_json);
		free(g->origin);
		free(g->problem);
	}
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static coco_trust_sig *sigs_push(coco_trust_sigs *s)
{
	coco_trust_sig *nv = realloc(s->v, (s->n + 1) * sizeof(*nv));
	if (!nv)
		return NULL;
	s->v = nv;
	memset(&nv[s->n], 0, sizeof(*nv));
	return &nv[s->n++];
}

static bool simple_first_byte(unsigned char b)
{
	/* The set containers/image recognises (0x3D is in its table where
	 * 0x93 would follow the bit pattern: kept for byte-exactness). */
	static const unsigned char set[] = { 0xA0, 0xA1, 0xA2, 0xA3, 0xC8, 0x90, 0x91, 0x92, 0x3D,
	                                     0xC4, 0x88, 0x89, 0x8A, 0x8B, 0xC2 };
	for (size_t i = 0; i < sizeof(set); i++)
		if (set[i] == b)
			return true;
	return false;
}

static char *annot(json_t *a, const char *k)
{
	json_t *v = json_object_get(a, k);
	return json_is_string(v) ? coco_strdup(json_string_value(v)) : NULL;
}

static int add_sigstore(cocoimg_ctx *ctx, coco_trust_sigs *sigs, const unsigned char *body,
                        size_t len, const char *origin)
{
	json_error_t je;
	/* encoding/json semantics: unknown members ignored. */
	json_t *j = json_loadb((const char *)body, len, 0, &je);
	if (!j || !json_is_object(j)) {
		json_decref(j);
		return coco_seterr(ctx, COCOIMG_EPOLICY, "%s: invalid sigstore signature: %s", origin,
		                   j ? "not a JSON object" : je.text);
	}
	json_t *mt = json_object_get(j, "mimeType");
	json_t *pl = json_object_get(j, "payload");
	json_t *an = json_object_get(j, "annotations");
	if ((mt && !json_is_string(mt) && !json_is_null(mt)) ||
	    (pl && !json_is_string(pl) && !json_is_null(pl)) ||
	    (an && !json_is_object(an) && !json_is_null(an))) {
		json_decref(j);
		return coco_seterr(ctx, COCOIMG_EPOLICY, "%s: invalid sigstore signature fields",
		                   origin);
	}
	coco_trust_sig *g = sigs_push(sigs);
	if (!g) {
		json_decref(j);
		return coco_oom(ctx);
	}
	g->kind = COCO_SIG_SIGSTORE;
	g->origin = coco_strdup(origin);
	g->mime_type = coco_strdup(json_is_string(mt) ? json_string_value(mt) : "");
	if (json_is_string(pl) &&
	    coco_b64_decode(json_string_value(pl), json_string_length(pl), &g->sigstore.payload)) {
		json_decref(j);
		return coco_seterr(ctx, COCOIMG_EPOLICY, "%s: invalid sigstore signature: payload "
		                   "is not base64", origin);
	}
	if (json_is_object(an)) {
		g->sigstore.signature_b64 = annot(an, "dev.cosignproject.cosign/signature");
		g->sigstore.cert_pem = annot(an, "dev.sigstore.cosign/certificate");
		g->sigstore.chain_pem = annot(an, "dev.sigstore.cosign/chain");
		g->sigstore.bundle_json = annot(an, "dev.sigstore.cosign/bundle");
		g->sigstore.rfc3161_json = annot(an, COCO_COSIGN_ANN_RFC3161);
	}
	json_decref(j);
	return 0;
}

int coco_trust_sigs_add_blob(cocoimg_ctx *ctx, coco_trust_sigs *sigs, const unsigned char *blob,
                             size_t len, const char *origin)
{
	if (len == 0)
		return coco_seterr(ctx, COCOIMG_EPOLICY, "%s: empty signature blob", origin);
	const unsigned char *body = blob;
	size_t blen = len;
	if (blob[0] == 0x00) {
		const unsigned char *nl = memchr(blob + 1, '\n', len - 1);
		if (!nl)
			return coco_seterr(ctx, COCOIMG_EPOLICY, "%s: invalid signature format, "
			                   "missing newline", origin);
		size_t fl = (size_t)(nl - blob - 1);
		for (size_t i = 0; i < fl; i++)
			if (blob[1 + i] < 0x20 || blob[1 + i] >= 0x7f)
				return coco_seterr(ctx, COCOIMG_EPOLICY, "%s: invalid signature format, "
				                   "non-ASCII byte", origin);
		body = nl + 1;
		blen = len - fl - 2;
		if (fl == 13 && !memcmp(blob + 1, "sigstore-json", 13))
			return add_sigstore(ctx, sigs, body, blen, origin);
		if (!(fl == 14 && !memcmp(blob + 1, "simple-signing", 14)))
			return coco_seterr(ctx, COCOIMG_EPOLICY, "%s: unrecognized signature format "
			                   "\"%.*s\"", origin, (int)fl, (const char *)blob + 1);
	} else if (!simple_first_byte(blob[0])) {
		return coco_seterr(ctx, COCOIMG_EPOLICY, "%s: unrecognized signature format, "
		                   "starting with binary 0x%x", origin, blob[0]);
	}
	coco_trust_sig *g = sigs_push(sigs);
	if (!g)
		return coco_oom(ctx);
	g->kind = COCO_SIG_SIMPLE;
	g->origin = coco_strdup(origin);
	if (coco_buf_append(&g->blob, body, blen))
		return coco_oom(ctx);
	return 0;
}
