/*
 * containers-policy.json: a strict parser (into the structures of
 * policy_rules.h; policy_eval.c evaluates them).
 *
 * Parsing follows containers/image (signature/policy_config*.go): every
 * object is checked for unknown and duplicate keys, requirement and
 * identity types with a fixed field set need exactly those fields, empty
 * requirement lists and a missing "default" are errors, scopes of known
 * transports are validated.  Messages name the place in the document:
 *   policy.json: transports.docker["example.com"][0]: unknown field "keyPth"
 */
#include "policy.h"
#include "policy_rules.h"
#include "../base.h"
#include "../digest.h"
#include "../json.h"
#include "../ref.h"

#include <string.h>

const char *const coco_prm_names[6] = {
	"matchExact", "matchRepoDigestOrExact", "matchRepository",
	"exactReference", "exactRepository", "remapIdentity"
};

const char *const coco_pr_names[5] = {
	"insecureAcceptAnything", "reject", "signedBy", "signedBaseLayer", "sigstoreSigned"
};

/* ------------------------------------------------------------------ */
/* Freeing                                                             */
/* ------------------------------------------------------------------ */

void coco_prm_clear(prm *m)
{
	free(m->ref);
	free(m->prefix);
	free(m->signed_prefix);
	memset(m, 0, sizeof(*m));
}

static void src_clear(pr_src *s)
{
	free(s->path);
	coco_buf_free(&s->data);
}

void coco_pr_sigstore_clear(pr_sigstore *s)
{
	src_clear(&s->fulcio_ca);
	src_clear(&s->pki_roots);
	src_clear(&s->pki_intermediates);
	coco_strv_free(s->rekor_paths, s->n_rekor_paths);
	COCO_FREE_ARRAY(s->rekor_datas, s->n_rekor_datas, coco_buf_free);
	COCO_FREE_FIELDS(s->oidc_issuer, s->subject_email, s->pki_email, s->pki_hostname,
	                 s->trusted_root, s->identity, s->identity_regexp, s->issuer,
	                 s->issuer_regexp);
	memset(s, 0, sizeof(*s));
}

static void pr_clear(pr *r)
{
	free(r->key_type);
	for (size_t i = 0; i < r->n_key_paths; i++)
		free(r->key_paths[i]);
	free(r->key_paths);
	COCO_FREE_ARRAY(r->key_datas, r->n_key_datas, coco_buf_free);
	coco_prm_clear(&r->ident);
	coco_pr_sigstore_clear(&r->ss);
}

static void reqlist_clear(reqlist *l)
{
	COCO_FREE_ARRAY(l->v, l->n, pr_clear);
	free(l->scope);
}

void coco_policy_free(coco_policy *p)
{
	if (!p)
		return;
	reqlist_clear(&p->dflt);
	for (size_t i = 0; i < p->nt; i++) {
		for (size_t j = 0; j < p->t[i].n; j++)
			reqlist_clear(&p->t[i].scopes[j]);
		free(p->t[i].scopes);
		free(p->t[i].name);
	}
	free(p->t);
	free(p);
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */

/* Build a location string; a truncated location is still useful. */
#define LOC(w, ...) do { if (snprintf((w), sizeof(w), __VA_ARGS__) >= (int)sizeof(w)) {} } while (0)

/* where + suffix, truncated to fit. */
static void loc_cat(char *w, size_t n, const char *where, const char *suffix)
{
	size_t a = strlen(where), b = strlen(suffix);
	if (a > n - 1)
		a = n - 1;
	if (b > n - 1 - a)
		b = n - 1 - a;
	memcpy(w, where, a);
	memcpy(w + a, suffix, b);
	w[a + b] = 0;
}

typedef struct pctx {
	cocoimg_ctx *ctx;
	const char *name;          /* "policy.json" or the path */
} pctx;

static int perr(pctx *pc, const char *where, const char *fmt, ...) COCO_PRINTF(3, 4);
static int perr(pctx *pc, const char *where, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (where && *where)
		return coco_seterr(pc->ctx, COCOIMG_ECONFIG, "%s: %s: %s", pc->name, where, msg);
	return coco_seterr(pc->ctx, COCOIMG_ECONFIG, "%s: %s", pc->name, msg);
}

static const char *jtype(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER:
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

/* Every key of obj must be in allowed (NULL-terminated). */
static int only_fields(pctx *pc, json_t *obj, const char *where, const char *const *allowed)
{
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v) {
		bool ok = false;
		for (size_t i = 0; allowed[i]; i++)
			ok |= strcmp(k, allowed[i]) == 0;
		if (!ok)
			return perr(pc, where, "unknown field \"%s\"", k);
	}
	return 0;
}

/* Every key of the fixed set must be present. */
static int all_fields(pctx *pc, json_t *obj, const char *where, const char *const *req)
{
	for (size_t i = 0; req[i]; i++)
		if (!json_object_get(obj, req[i]))
			return perr(pc, where, "missing field \"%s\"", req[i]);
	return 0;
}

/* A Go string field: string or null (""). */
static int get_str(pctx *pc, json_t *obj, const char *key, const char *where, const char **out)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v)
		return 0;
	if (json_is_null(v)) {
		*out = "";
		return 0;
	}
	if (!json_is_string(v))
		return perr(pc, where, "field \"%s\" must be a string, not %s", key, jtype(v));
	if (strlen(json_string_value(v)) != json_string_length(v))
		return perr(pc, where, "field \"%s\" contains a NUL byte", key);
	*out = json_string_value(v);
	return 0;
}

/* Go's StdEncoding (padding required, standard alphabet only) of s with
 * CR and LF ignored: 1 decoded into out, 0 not base64, <0 out of memory. */
static int go_b64_decode(const char *s, size_t n, coco_buf *out)
{
	coco_buf clean = COCO_BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\r' && s[i] != '\n' && coco_buf_putc(&clean, s[i])) {
			coco_buf_free(&clean);
			return COCOIMG_ENOMEM;
		}
	}
	bool ok = clean.len % 4 == 0;
	for (size_t i = 0; ok && i < clean.len; i++) {
		char c = (char)clean.data[i];
		ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		     c == '+' || c == '/' || (c == '=' && i >= clean.len - 2);
	}
	if (ok && coco_b64_decode(clean.data ? (const char *)clean.data : "", clean.len, out))
		ok = false;
	coco_buf_free(&clean);
	return ok;
}

/* A Go []byte field: base64 string (CR/LF ignored) or null. */
static int get_bytes(pctx *pc, json_t *v, const char *key, const char *where, coco_buf *out,
                     bool *present)
{
	*present = false;
	if (json_is_null(v))
		return 0;              /* nil slice: counts as absent */
	if (!json_is_string(v))
		return perr(pc, where, "field \"%s\" must be a base64 string, not %s", key, jtype(v));
	int ok = go_b64_decode(json_string_value(v), json_string_length(v), out);
	if (ok < 0)
		return coco_oom(pc->ctx);
	if (!ok)
		return perr(pc, where, "field \"%s\" is not valid base64", key);
	*present = true;
	return 0;
}

/* The members of an object that holds only its type. */
static const char *const only_type[] = { "type", NULL };

/* Zero obj, then read the "type" field of a requirement or identity object:
 * its index in names, or a negative error code (Go: a null object
 * unmarshals to type ""). */
static int parse_type(pctx *pc, json_t *j, const char *where, const char *kind,
                      const char *const *names, size_t n, void *obj, size_t obj_size)
{
	memset(obj, 0, obj_size);
	if (!json_is_object(j)) {
		if (json_is_null(j))
			return perr(pc, where, "unknown policy %s type \"\"", kind);
		return perr(pc, where, "must be an object, not %s", jtype(j));
	}
	const char *type;
	int rc = get_str(pc, j, "type", where, &type);
	if (rc)
		return rc;
	if (!type)
		type = "";
	for (size_t t = 0; t < n; t++) {
		if (!strcmp(type, names[t]))
			return (int)t;
	}
	return perr(pc, where, "unknown policy %s type \"%s\"", kind, type);
}
/* parse_type with the size of the names array and of *out. */
#define PARSE_TYPE(pc, j, where, kind, names, out) \
	parse_type(pc, j, where, kind, names, COCO_ARRAY_SIZE(names), out, sizeof(*(out)))


static int parse_identity(pctx *pc, json_t *j, const char *where, prm *out)
{
	int t = PARSE_TYPE(pc, j, where, "reference match", coco_prm_names, out);
	if (t < 0)
		return t;
	out->type = (prm_type)t;
	int rc;
	static const char *const f_ref[] = { "type", "dockerReference", NULL };
	static const char *const f_repo[] = { "type", "dockerRepository", NULL };
	static const char *const f_remap[] = { "type", "prefix", "signedPrefix", NULL };
	const char *const *fields = out->type == PRM_EXACT_REFERENCE ? f_ref :
	                            out->type == PRM_EXACT_REPOSITORY ? f_repo :
	                            out->type == PRM_REMAP_IDENTITY ? f_remap : only_type;
	if ((rc = only_fields(pc, j, where, fields)) || (rc = all_fields(pc, j, where, fields)))
		return rc;
	coco_dref r;
	const char *err;
	const char *s;
	switch (out->type) {
	case PRM_EXACT_REFERENCE:
		if ((rc = get_str(pc, j, "dockerReference", where, &s)))
			return rc;
		if (coco_dref_parse_named(s, COCO_DREF_NORMALIZE, &r, &err))
			return perr(pc, where, "invalid format of dockerReference \"%s\": %s", s, err);
		if (coco_dref_name_only(&r)) {
			coco_dref_clear(&r);
			return perr(pc, where, "dockerReference \"%s\" contains neither a tag nor digest",
			            s);
		}
		coco_dref_clear(&r);
		out->ref = coco_strdup(s);
		break;
	case PRM_EXACT_REPOSITORY:
		if ((rc = get_str(pc, j, "dockerRepository", where, &s)))
			return rc;
		if (coco_dref_parse_named(s, COCO_DREF_NORMALIZE, &r, &err))
			return perr(pc, where, "invalid format of dockerRepository \"%s\": %s", s, err);
		coco_dref_clear(&r);
		out->ref = coco_strdup(s);
		break;
	case PRM_REMAP_IDENTITY: {
		const char *sp;
		if ((rc = get_str(pc, j, "prefix", where, &s)) ||
		    (rc = get_str(pc, j, "signedPrefix", where, &sp)))
			return rc;
		if (!coco_remap_prefix_valid(s))
			return perr(pc, where, "prefix \"%s\" is not valid", s);
		if (!coco_remap_prefix_valid(sp))
			return perr(pc, where, "prefix \"%s\" is not valid", sp);
		out->prefix = coco_strdup(s);
		out->signed_prefix = coco_strdup(sp);
		break;
	}
	default:
		break;
	}
	return 0;
}

/* keyPaths / keyDatas style arrays. */
static int get_str_array(pctx *pc, json_t *v, const char *key, const char *where, char ***out,
                         size_t *n, bool *present)
{
	*present = false;
	if (json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return perr(pc, where, "field \"%s\" must be an array of strings", key);
	size_t cnt = json_array_size(v);
	char **a = calloc(cnt + 1, sizeof(char *));
	if (!a)
		return coco_oom(pc->ctx);
	for (size_t i = 0; i < cnt; i++) {
		json_t *e = json_array_get(v, i);
		if (!json_is_string(e) && !json_is_null(e)) {
			for (size_t k = 0; k < i; k++)
				free(a[k]);
			free(a);
			return perr(pc, where, "field \"%s\" must be an array of strings", key);
		}
		a[i] = coco_strdup(json_is_string(e) ? json_string_value(e) : "");
	}
	*out = a;
	*n = cnt;
	*present = true;
	return 0;
}

static int get_bytes_array(pctx *pc, json_t *v, const char *key, const char *where,
                           coco_buf **out, size_t *n, bool *present)
{
	*present = false;
	if (json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return perr(pc, where, "field \"%s\" must be an array of base64 strings", key);
	size_t cnt = json_array_size(v);
	coco_buf *a = calloc(cnt + 1, sizeof(coco_buf));
	if (!a)
		return coco_oom(pc->ctx);
	for (size_t i = 0; i < cnt; i++) {
		bool p;
		int rc = get_bytes(pc, json_array_get(v, i), key, where, &a[i], &p);
		if (rc) {
			for (size_t k = 0; k <= i; k++)
				coco_buf_free(&a[k]);
			free(a);
			return rc;
		}
	}
	*out = a;
	*n = cnt;
	*present = true;
	return 0;
}

/* "signedIdentity", by default matchRepoDigestOrExact. */
static int parse_signed_identity(pctx *pc, json_t *j, const char *where, pr *out)
{
	json_t *si = json_object_get(j, "signedIdentity");
	if (!si) {
		out->ident.type = PRM_MATCH_REPO_DIGEST_OR_EXACT;
		return 0;
	}
	char w[600];
	loc_cat(w, sizeof(w), where, ".signedIdentity");
	return parse_identity(pc, si, w, &out->ident);
}

/* A single keyPath s (not empty). */
static int set_key_path(pctx *pc, pr *out, const char *s)
{
	out->key_paths = calloc(2, sizeof(char *));
	if (!out->key_paths || !(out->key_paths[0] = coco_strdup(s)))
		return coco_oom(pc->ctx);
	out->n_key_paths = 1;
	out->has_paths = true;
	return 0;
}

/* A single keyData kd; has_datas stays false for null. */
static int set_key_data(pctx *pc, pr *out, json_t *kd, const char *where)
{
	out->key_datas = calloc(1, sizeof(coco_buf));
	if (!out->key_datas)
		return coco_oom(pc->ctx);
	out->n_key_datas = 1;
	return get_bytes(pc, kd, "keyData", where, &out->key_datas[0], &out->has_datas);
}

/* signedBy's keyType: one of the known values, "" when absent. */
static int parse_key_type(pctx *pc, json_t *j, const char *where, pr *out)
{
	const char *kt;
	int rc = get_str(pc, j, "keyType", where, &kt);
	if (rc)
		return rc;
	if (!json_object_get(j, "keyType"))
		kt = "";
	else if (strcmp(kt, "GPGKeys") && strcmp(kt, "signedByGPGKeys") &&
	         strcmp(kt, "X509Certificates") && strcmp(kt, "signedByX509CAs"))
		return perr(pc, where, "unrecognized keyType value \"%s\"", kt);
	out->key_type = coco_strdup(kt);
	return out->key_type ? 0 : coco_oom(pc->ctx);
}

/* signedBy's keys: exactly one of keyPath, keyPaths, keyData, not empty. */
static int signed_by_keys(pctx *pc, json_t *j, const char *where, pr *out)
{
	json_t *kp = json_object_get(j, "keyPath");
	json_t *kps = json_object_get(j, "keyPaths");
	json_t *kd = json_object_get(j, "keyData");
	int present = !!kp + !!kps + !!kd;
	if (present != 1)
		return perr(pc, where, "exactly one of keyPath, keyPaths and keyData must be "
		            "specified, %s", present ? "more than one present" : "none of them present");
	if (!*out->key_type)
		return perr(pc, where, "invalid keyType \"\"");
	int rc = 0;
	const char *s;
	if (kp && !(rc = get_str(pc, j, "keyPath", where, &s)) && *s)
		rc = set_key_path(pc, out, s);
	else if (kps)
		rc = get_str_array(pc, kps, "keyPaths", where, &out->key_paths, &out->n_key_paths,
		                   &out->has_paths);
	else if (kd)
		rc = set_key_data(pc, out, kd, where);
	if (rc)
		return rc;
	if (!out->has_paths && !out->has_datas)
		return perr(pc, where, "exactly one of keyPath, keyPaths and keyData must be "
		            "specified");
	return 0;
}

static int parse_signed_by(pctx *pc, json_t *j, const char *where, pr *out)
{
	static const char *const f[] = { "type", "keyType", "keyPath", "keyPaths", "keyData",
	                                 "signedIdentity", NULL };
	int rc;
	if ((rc = only_fields(pc, j, where, f)) || (rc = parse_key_type(pc, j, where, out)) ||
	    (rc = parse_signed_identity(pc, j, where, out)))
		return rc;
	return signed_by_keys(pc, j, where, out);
}

/* A string field kept when not empty (Go: "" means not set). */
static int get_str_dup(pctx *pc, json_t *j, const char *key, const char *where, char **out)
{
	const char *s;
	int rc = get_str(pc, j, key, where, &s);
	*out = NULL;
	if (rc || !s || !*s)
		return rc;
	*out = coco_strdup(s);
	return *out ? 0 : coco_oom(pc->ctx);
}

/* A "…Path" / "…Data" pair (presence rules checked by the caller). */
static int get_src(pctx *pc, json_t *j, const char *pkey, const char *dkey, const char *where,
                   pr_src *out)
{
	int rc = get_str_dup(pc, j, pkey, where, &out->path);
	json_t *v = json_object_get(j, dkey);
	if (rc || !v)
		return rc;
	return get_bytes(pc, v, dkey, where, &out->data, &out->has_data);
}

/* fulcio: with trustedRootPath the CAs come from the trusted root. */
static int parse_fulcio(pctx *pc, json_t *j, const char *where, pr_sigstore *ss)
{
	static const char *const f[] = { "caPath", "caData", "oidcIssuer", "subjectEmail", NULL };
	if (!json_is_object(j))
		return perr(pc, where, "must be an object, not %s", jtype(j));
	int rc = only_fields(pc, j, where, f);
	if (rc)
		return rc;
	int ca = !!json_object_get(j, "caPath") + !!json_object_get(j, "caData");
	if (ss->trusted_root && ca)
		return perr(pc, where, "caPath and caData cannot be used with trustedRootPath (the "
		            "trusted root lists the Fulcio CAs)");
	if (!ss->trusted_root && ca != 1)
		return perr(pc, where, "exactly one of caPath and caData must be specified");
	if ((rc = get_src(pc, j, "caPath", "caData", where, &ss->fulcio_ca)) ||
	    (rc = get_str_dup(pc, j, "oidcIssuer", where, &ss->oidc_issuer)))
		return rc;
	if (!ss->oidc_issuer)
		return perr(pc, where, "oidcIssuer not specified");
	if ((rc = get_str_dup(pc, j, "subjectEmail", where, &ss->subject_email)))
		return rc;
	if (!ss->subject_email)
		return perr(pc, where, "subjectEmail not specified");
	ss->fulcio = true;
	return 0;
}

static int parse_pki(pctx *pc, json_t *j, const char *where, pr_sigstore *ss)
{
	static const char *const f[] = { "caRootsPath", "caRootsData", "caIntermediatesPath",
	                                 "caIntermediatesData", "subjectEmail", "subjectHostname",
	                                 NULL };
	if (!json_is_object(j))
		return perr(pc, where, "must be an object, not %s", jtype(j));
	int rc = only_fields(pc, j, where, f);
	if (rc)
		return rc;
	if (!!json_object_get(j, "caRootsPath") + !!json_object_get(j, "caRootsData") != 1)
		return perr(pc, where, "exactly one of caRootsPath and caRootsData must be "
		            "specified");
	if (!!json_object_get(j, "caIntermediatesPath") +
	    !!json_object_get(j, "caIntermediatesData") > 1)
		return perr(pc, where, "at most one of caIntermediatesPath and caIntermediatesData "
		            "may be specified");
	if ((rc = get_src(pc, j, "caRootsPath", "caRootsData", where, &ss->pki_roots)) ||
	    (rc = get_src(pc, j, "caIntermediatesPath", "caIntermediatesData", where,
	                  &ss->pki_intermediates)) ||
	    (rc = get_str_dup(pc, j, "subjectEmail", where, &ss->pki_email)) ||
	    (rc = get_str_dup(pc, j, "subjectHostname", where, &ss->pki_hostname)))
		return rc;
	if (!ss->pki_email && !ss->pki_hostname)
		return perr(pc, where, "at least one of subjectEmail and subjectHostname must be "
		            "specified");
	ss->pki = true;
	return 0;
}

/* One rekorPublicKey* field (index i of the four) into ss. */
static int rekor_field(pctx *pc, json_t *j, size_t i, const char *key, const char *where,
                       pr_sigstore *ss)
{
	json_t *v = json_object_get(j, key);
	bool present = false;
	int rc;
	if (i == 1 || i == 3) {
		if (!json_is_array(v) || json_array_size(v) == 0)
			return perr(pc, where, "field \"%s\" must be a non-empty array", key);
		return i == 1 ? get_str_array(pc, v, key, where, &ss->rekor_paths, &ss->n_rekor_paths,
		                              &present)
		              : get_bytes_array(pc, v, key, where, &ss->rekor_datas,
		                                &ss->n_rekor_datas, &present);
	}
	if (i == 0) {
		char *path = NULL;
		if ((rc = get_str_dup(pc, j, key, where, &path)) || !path)
			return rc;
		if (!(ss->rekor_paths = calloc(2, sizeof(char *)))) {
			free(path);
			return coco_oom(pc->ctx);
		}
		ss->rekor_paths[0] = path;
		ss->n_rekor_paths = 1;
		return 0;
	}
	if (!(ss->rekor_datas = calloc(1, sizeof(coco_buf))))
		return coco_oom(pc->ctx);
	ss->n_rekor_datas = 1;
	return get_bytes(pc, v, key, where, &ss->rekor_datas[0], &present);
}

/* The rekorPublicKey* fields (at most one); *nrk: how many are present. */
static int sigstore_rekor(pctx *pc, json_t *j, const char *where, int *nrk, pr_sigstore *ss)
{
	static const char *const rk[] = { "rekorPublicKeyPath", "rekorPublicKeyPaths",
	                                  "rekorPublicKeyData", "rekorPublicKeyDatas" };
	*nrk = 0;
	for (size_t i = 0; i < 4; i++)
		*nrk += !!json_object_get(j, rk[i]);
	if (*nrk > 1)
		return perr(pc, where, "at most one of rekorPublicKeyPath, rekorPublicKeyPaths, "
		            "rekorPublicKeyData and rekorPublicKeyDatas may be specified");
	for (size_t i = 0; i < 4; i++)
		if (json_object_get(j, rk[i]))
			return rekor_field(pc, j, i, rk[i], where, ss);
	return 0;
}

/* trustedRootPath (this project's extension): not with rekorPublicKey* or
 * pki, whose keys and roots it replaces. */
static int sigstore_trusted_root(pctx *pc, json_t *j, const char *where, int nrk,
                                 pr_sigstore *ss)
{
	if (!json_object_get(j, "trustedRootPath"))
		return 0;
	int rc = get_str_dup(pc, j, "trustedRootPath", where, &ss->trusted_root);
	if (rc)
		return rc;
	if (!ss->trusted_root)
		return perr(pc, where, "trustedRootPath must not be empty");
	if (nrk)
		return perr(pc, where, "trustedRootPath cannot be used with rekorPublicKey* fields "
		            "(the trusted root lists the Rekor logs)");
	if (json_object_get(j, "pki"))
		return perr(pc, where, "trustedRootPath cannot be used with pki");
	return 0;
}

/* fulcio (which needs a Rekor key or a trusted root) or pki (which
 * refuses a Rekor key). */
static int sigstore_certs(pctx *pc, json_t *j, const char *where, int nrk, pr_sigstore *ss)
{
	json_t *fu = json_object_get(j, "fulcio"), *pk = json_object_get(j, "pki");
	char w[600];
	int rc;
	if (fu) {
		loc_cat(w, sizeof(w), where, ".fulcio");
		if ((rc = parse_fulcio(pc, fu, w, ss)))
			return rc;
		if (!nrk && !ss->trusted_root)
			return perr(pc, where, "fulcio requires a rekorPublicKey* field (or "
			            "trustedRootPath)");
	}
	if (pk) {
		loc_cat(w, sizeof(w), where, ".pki");
		if ((rc = parse_pki(pc, pk, w, ss)))
			return rc;
		if (nrk)
			return perr(pc, where, "pki cannot be used with rekorPublicKey* fields");
	}
	return 0;
}

/* The keys of sigstoreSigned: keyPath (s, not empty), keyPaths, keyData
 * or keyDatas, whichever is present. */
static int sigstore_keys(pctx *pc, json_t *j, const char *where, const char *s, pr *out)
{
	json_t *kps = json_object_get(j, "keyPaths");
	json_t *kd = json_object_get(j, "keyData"), *kds = json_object_get(j, "keyDatas");
	int rc = 0;
	if (s)
		return set_key_path(pc, out, s);
	if (kps) {
		rc = get_str_array(pc, kps, "keyPaths", where, &out->key_paths, &out->n_key_paths,
		                   &out->has_paths);
		if (!rc && !out->n_key_paths)
			rc = perr(pc, where, "keyPaths must not be empty");
	} else if (kd) {
		rc = set_key_data(pc, out, kd, where);
		if (!rc && !out->has_datas)
			rc = perr(pc, where, "exactly one of keyPath, keyPaths, keyData, keyDatas, "
			          "fulcio and pki must be specified");
	} else if (kds) {
		rc = get_bytes_array(pc, kds, "keyDatas", where, &out->key_datas, &out->n_key_datas,
		                     &out->has_datas);
		if (!rc && !out->n_key_datas)
			rc = perr(pc, where, "keyDatas must not be empty");
	}
	return rc;
}

static int parse_sigstore(pctx *pc, json_t *j, const char *where, pr *out)
{
	static const char *const f[] = { "type", "keyPath", "keyPaths", "keyData", "keyDatas",
	                                 "fulcio", "rekorPublicKeyPath", "rekorPublicKeyPaths",
	                                 "rekorPublicKeyData", "rekorPublicKeyDatas", "pki",
	                                 "trustedRootPath", "signedIdentity", NULL };
	static const char *const sources[] = { "keyPaths", "keyData", "keyDatas", "fulcio", "pki" };
	int rc = only_fields(pc, j, where, f);
	if (rc)
		return rc;
	const char *s = NULL;
	if ((rc = get_str(pc, j, "keyPath", where, &s)))
		return rc;
	if (s && !*s)
		s = NULL;          /* Go: an empty keyPath counts as absent */
	int n = !!s;
	for (size_t i = 0; i < COCO_ARRAY_SIZE(sources); i++)
		n += !!json_object_get(j, sources[i]);
	if (n != 1)
		return perr(pc, where, "exactly one of keyPath, keyPaths, keyData, keyDatas, fulcio "
		            "and pki must be specified, %s", n ? "more than one present"
		                                               : "none of them present");
	int nrk;
	if ((rc = sigstore_rekor(pc, j, where, &nrk, &out->ss)) ||
	    (rc = sigstore_trusted_root(pc, j, where, nrk, &out->ss)))
		return rc;
	out->ss.rekor = nrk > 0;
	if ((rc = sigstore_certs(pc, j, where, nrk, &out->ss)) ||
	    (rc = sigstore_keys(pc, j, where, s, out)))
		return rc;
	return parse_signed_identity(pc, j, where, out);
}

static int parse_requirement(pctx *pc, json_t *j, const char *where, pr *out)
{
	int t = PARSE_TYPE(pc, j, where, "requirement", coco_pr_names, out);
	if (t < 0)
		return t;
	out->type = (pr_type)t;
	switch (out->type) {
	case PR_INSECURE_ACCEPT_ANYTHING:
	case PR_REJECT:
		return only_fields(pc, j, where, only_type);
	case PR_SIGNED_BASE_LAYER: {
		static const char *const f_base[] = { "type", "baseLayerIdentity", NULL };
		int rc;
		if ((rc = only_fields(pc, j, where, f_base)) || (rc = all_fields(pc, j, where, f_base)))
			return rc;
		char w[600];
		loc_cat(w, sizeof(w), where, ".baseLayerIdentity");
		return parse_identity(pc, json_object_get(j, "baseLayerIdentity"), w, &out->ident);
	}
	case PR_SIGNED_BY:
		return parse_signed_by(pc, j, where, out);
	case PR_SIGSTORE_SIGNED:
		return parse_sigstore(pc, j, where, out);
	}
	return 0;
}

static int parse_reqlist(pctx *pc, json_t *j, const char *where, reqlist *out)
{
	if (!json_is_array(j) && !json_is_null(j))
		return perr(pc, where, "must be an array of requirements, not %s", jtype(j));
	size_t n = json_is_array(j) ? json_array_size(j) : 0;
	if (n == 0)
		return perr(pc, where, "list of verification policy requirements must not be empty");
	out->v = calloc(n, sizeof(pr));
	if (!out->v)
		return coco_oom(pc->ctx);
	for (size_t i = 0; i < n; i++) {
		char w[600];
		LOC(w, "%s[%zu]", where, i);
		out->n = i + 1;
		int rc = parse_requirement(pc, json_array_get(j, i), w, &out->v[i]);
		if (rc)
			return rc;
	}
	return 0;
}

/* filepath.Clean-canonical absolute path, not "/". */
static bool abs_clean_path(const char *s)
{
	size_t n = strlen(s);
	if (n < 2 || s[0] != '/' || s[n - 1] == '/')
		return false;
	if (strstr(s, "//") || strstr(s, "/./") || strstr(s, "/../"))
		return false;
	if ((n >= 2 && !strcmp(s + n - 2, "/.")) || (n >= 3 && !strcmp(s + n - 3, "/..")))
		return false;
	return true;
}

static bool scope_valid(const char *transport, const char *scope)
{
	if (!strcmp(transport, "dir") || !strcmp(transport, "oci") ||
	    !strcmp(transport, "oci-archive") || !strcmp(transport, "sif"))
		return abs_clean_path(scope);
	if (!strcmp(transport, "docker-daemon")) {
		/* a bare digest is not a valid scope */
		return coco_digest_validate(scope, NULL) != 0 || strchr(scope, '/') != NULL;
	}
	if (!strcmp(transport, "atomic")) {
		/* host[:port][/namespace[/stream[:tag]]] or *.wildcard (approximate) */
		const char *s = scope;
		if (!strncmp(s, "*.", 2))
			return strchr(s, '/') == NULL && s[2];
		const char *slash = strchr(s, '/');
		size_t hl = slash ? (size_t)(slash - s) : strlen(s);
		if (!hl)
			return false;
		int parts = 0;
		for (const char *p = slash; p; p = strchr(p + 1, '/'))
			parts++;
		return parts <= 2;
	}
	return true;               /* docker and unknown transports: any string */
}

int coco_policy_parse(cocoimg_ctx *ctx, const void *data, size_t len, const char *name,
                      coco_policy **out)
{
	pctx pc = { ctx, name ? name : "policy.json" };
	json_error_t je;
	*out = NULL;
	json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return perr(&pc, NULL, "invalid JSON at line %d column %d: %s", je.line, je.column,
		            je.text);
	coco_policy *p = calloc(1, sizeof(*p));
	int rc = 0;
	if (!p) {
		rc = coco_oom(ctx);
		goto out;
	}
	if (!json_is_object(j)) {
		rc = perr(&pc, NULL, "the policy must be a JSON object");
		goto out;
	}
	static const char *const top[] = { "default", "transports", NULL };
	if ((rc = only_fields(&pc, j, "", top)))
		goto out;
	json_t *d = json_object_get(j, "default");
	if (!d) {
		rc = perr(&pc, NULL, "default policy is missing");
		goto out;
	}
	if ((rc = parse_reqlist(&pc, d, "default", &p->dflt)))
		goto out;
	json_t *tr = json_object_get(j, "transports");
	if (tr) {
		if (!json_is_object(tr)) {
			rc = perr(&pc, "transports", "must be an object, not %s", jtype(tr));
			goto out;
		}
		p->t = calloc(json_object_size(tr) + 1, sizeof(ptransport));
		if (!p->t) {
			rc = coco_oom(ctx);
			goto out;
		}
		const char *tn;
		json_t *tv;
		json_object_foreach(tr, tn, tv) {
			ptransport *t = &p->t[p->nt++];
			t->name = coco_strdup(tn);
			char w[600];
			LOC(w, "transports.%s", tn);
			if (!json_is_object(tv)) {
				rc = perr(&pc, w, "must be an object, not %s", jtype(tv));
				goto out;
			}
			t->scopes = calloc(json_object_size(tv) + 1, sizeof(reqlist));
			if (!t->name || !t->scopes) {
				rc = coco_oom(ctx);
				goto out;
			}
			const char *sn;
			json_t *sv;
			json_object_foreach(tv, sn, sv) {
				LOC(w, "transports.%s[\"%s\"]", tn, sn);
				if (*sn && !scope_valid(tn, sn)) {
					rc = perr(&pc, w, "invalid scope \"%s\" for transport %s", sn, tn);
					goto out;
				}
				reqlist *l = &t->scopes[t->n++];
				l->scope = coco_strdup(sn);
				if (!l->scope) {
					rc = coco_oom(ctx);
					goto out;
				}
				if ((rc = parse_reqlist(&pc, sv, w, l)))
					goto out;
			}
		}
	}
out:
	json_decref(j);
	if (rc) {
		coco_policy_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int coco_policy_load(cocoimg_ctx *ctx, const char *path, coco_policy **out)
{
	coco_buf b = COCO_BUF_INIT;
	*out = NULL;
	int rc = coco_read_file(ctx, path, COCO_POLICY_FILE_MAX, &b, COCOIMG_ECONFIG);
	if (rc) {
		coco_buf_free(&b);
		return coco_preferr(ctx, COCOIMG_ECONFIG, "policy");
	}
	rc = coco_policy_parse(ctx, b.data, b.len, path, out);
	coco_buf_free(&b);
	return rc;
}

int coco_prm_parse_json(cocoimg_ctx *ctx, const char *json, prm *out)
{
	pctx pc = { ctx, "signedIdentity" };
	json_error_t je;
	memset(out, 0, sizeof(*out));
	json_t *j = json_loads(json, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (!j)
		return coco_seterr(ctx, COCOIMG_ECONFIG, "signedIdentity: invalid JSON: %s", je.text);
	int rc = parse_identity(&pc, j, "", out);
	json_decref(j);
	if (rc)
		coco_prm_clear(out);
	return rc;
}

void coco_policy_set_reader(coco_policy *p, const coco_trust_reader *r)
{
	if (p)
		p->reader = r;
}
