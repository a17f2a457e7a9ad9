/*
 * Simple signing: the "atomic container signature" payload, the manifest
 * digest rule, and the stored-signature blob format (first-byte sniffing
 * and the 0x00 envelopes), all as containers/image reads them
 * (signatures.md 2.1, 2.3, 2.5, 4.3).
 */
#include "policy.h"

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

/* go-digest Parse: registered algorithm, lower-case hex of the right
 * length. */
static bool go_digest_valid(const char *d)
{
	const char *c = strchr(d, ':');
	if (!c)
		return false;
	size_t al = (size_t)(c - d), want;
	if (al == 6 && !memcmp(d, "sha256", 6))
		want = 64;
	else if (al == 6 && !memcmp(d, "sha384", 6))
		want = 96;
	else if (al == 6 && !memcmp(d, "sha512", 6))
		want = 128;
	else
		return false;
	const char *h = c + 1;
	if (strlen(h) != want)
		return false;
	for (; *h; h++)
		if (!((*h >= '0' && *h <= '9') || (*h >= 'a' && *h <= 'f')))
			return false;
	return true;
}

int coco_simple_payload_parse(cocoimg_ctx *ctx, const unsigned char *data, size_t len,
                              bool cosign, char **digest, char **reference)
{
	static const char *const top[] = { "critical", "optional" };
	static const char *const crit[] = { "type", "image", "identity" };
	static const char *const img[] = { "docker-manifest-digest" };
	static const char *const idn[] = { "docker-reference" };
	const char *want_type = cosign ? "cosign container image signature"
	                               : "atomic container signature";
	json_error_t je;
	int rc;
	*digest = *reference = NULL;
	json_t *j = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return coco_seterr(ctx, COCOIMG_EPOLICY, "invalid signature: payload is not valid "
		                   "JSON: %s", je.text);
	if ((rc = exact_fields(ctx, j, "the signature", top, 2)))
		goto out;
	json_t *opt = json_object_get(j, "optional");
	if (!(cosign && json_is_null(opt))) {
		if (!json_is_object(opt)) {
			rc = coco_seterr(ctx, COCOIMG_EPOLICY,
			                 "invalid signature: \"optional\" is not a JSON object");
			goto out;
		}
		json_t *c = json_object_get(opt, "creator");
		if (c && !json_is_null(c) && !json_is_string(c)) {
			rc = coco_seterr(ctx, COCOIMG_EPOLICY,
			                 "invalid signature: optional.creator must be a string");
			goto out;
		}
		json_t *ts = json_object_get(opt, "timestamp");
		if (ts && !json_is_null(ts)) {
			bool ok = json_is_integer(ts);
			if (json_is_real(ts)) {
				double d = json_real_value(ts);
				ok = d >= -9.2e18 && d <= 9.2e18 && (double)(int64_t)d == d;
			}
			if (!ok) {
				rc = coco_seterr(ctx, COCOIMG_EPOLICY, "invalid signature: field "
				                 "optional.timestamp is not an integer");
				goto out;
			}
		}
	}
	json_t *cr = json_object_get(j, "critical");
	if ((rc = exact_fields(ctx, cr, "critical", crit, 3)))
		goto out;
	const char *t = NULL;
	if ((rc = go_string(ctx, json_object_get(cr, "type"), "critical.type", &t)))
		goto out;
	if (strcmp(t, want_type) != 0) {
		rc = coco_seterr(ctx, COCOIMG_EPOLICY, "invalid signature: unrecognized signature "
		                 "type \"%s\"", t);
		goto out;
	}
	json_t *im = json_object_get(cr, "image");
	if ((rc = exact_fields(ctx, im, "critical.image", img, 1)))
		goto out;
	const char *d = NULL;
	if ((rc = go_string(ctx, json_object_get(im, "docker-manifest-digest"),
	                    "critical.image.docker-manifest-digest", &d)))
		goto out;
	/* containers/image >= 5.31 validates the digest syntax here. */
	if (!go_digest_valid(d)) {
		rc = coco_seterr(ctx, COCOIMG_EPOLICY, "invalid signature: invalid "
		                 "docker-manifest-digest value \"%s\"", d);
		goto out;
	}
	json_t *id = json_object_get(cr, "identity");
	if ((rc = exact_fields(ctx, id, "critical.identity", idn, 1)))
		goto out;
	const char *r = NULL;
	if ((rc = go_string(ctx, json_object_get(id, "docker-reference"),
	                    "critical.identity.docker-reference", &r)))
		goto out;
	*digest = coco_strdup(d);
	*reference = coco_strdup(r);
	if (!*digest || !*reference) {
		free(*digest);
		free(*reference);
		*digest = *reference = NULL;
		rc = coco_oom(ctx);
	}
out:
	json_decref(j);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Manifest digest                                                     */
/* ------------------------------------------------------------------ */

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
	if (!j)
		return 0;
	int rc = 0;
	json_t *sv = json_object_get(j, "schemaVersion");
	json_t *sigs = json_object_get(j, "signatures");
	if (!json_is_integer(sv) || json_integer_value(sv) != 1 || !sigs)
		goto out;
	rc = -1;
	if (!json_is_array(sigs) || json_array_size(sigs) == 0)
		goto out;
	int64_t flen = -1;
	coco_buf tail = COCO_BUF_INIT;
	size_t i;
	json_t *s;
	json_array_foreach(sigs, i, s) {
		json_t *prot = json_object_get(s, "protected");
		if (!json_is_string(prot))
			goto bad;
		coco_buf ph = COCO_BUF_INIT;
		if (coco_b64url_decode(json_string_value(prot), json_string_length(prot), &ph)) {
			coco_buf_free(&ph);
			goto bad;
		}
		json_t *pj = json_loadb((const char *)ph.data, ph.len, 0, NULL);
		coco_buf_free(&ph);
		json_t *fl = pj ? json_object_get(pj, "formatLength") : NULL;
		json_t *ft = pj ? json_object_get(pj, "formatTail") : NULL;
		if (!json_is_integer(fl) || !json_is_string(ft)) {
			json_decref(pj);
			goto bad;
		}
		coco_buf t = COCO_BUF_INIT;
		if (coco_b64url_decode(json_string_value(ft), json_string_length(ft), &t)) {
			json_decref(pj);
			coco_buf_free(&t);
			goto bad;
		}
		int64_t l = json_integer_value(fl);
		json_decref(pj);
		if (flen == -1) {
			flen = l;
			tail = t;
		} else {
			bool same = flen == l && t.len == tail.len &&
			            (t.len == 0 || memcmp(t.data, tail.data, t.len) == 0);
			coco_buf_free(&t);
			if (!same)
				goto bad;
		}
	}
	if (flen < 0 || (uint64_t)flen > len)
		goto bad;
	if (coco_buf_append(out, m, (size_t)flen) || coco_buf_append(out, tail.data, tail.len))
		goto bad;
	coco_buf_free(&tail);
	rc = 1;
	goto out;
bad:
	coco_buf_free(&tail);
	rc = -1;
out:
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
		free(g->origin);
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
