/*
 * containers-policy.json: a strict parser and the evaluator.
 *
 * Parsing follows containers/image (signature/policy_config*.go): every
 * object is checked for unknown and duplicate keys, requirement and
 * identity types with a fixed field set need exactly those fields, empty
 * requirement lists and a missing "default" are errors, scopes of known
 * transports are validated.  Messages name the place in the document:
 *   policy.json: transports.docker["example.com"][0]: unknown field "keyPth"
 *
 * Evaluation follows policy_eval*.go: the requirement list is chosen by
 * the most specific scope (identity, namespaces, *. wildcards, "" of the
 * transport, then "default"; first hit only), requirements are evaluated
 * in order and all must allow, one accepted signature satisfies a
 * signature requirement.  Where Debian's skopeo 1.9.3 (c/image 5.23.1)
 * differs, current upstream wins: signatures made by a signing subkey
 * are accepted (mapped to the primary key), keyPaths/keyDatas exist.
 */
#include "policy.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Key files and inline key data are bounded (they are small). */
#define KEYFILE_MAX (16 * 1024 * 1024)

typedef enum prm_type {
	PRM_MATCH_EXACT,
	PRM_MATCH_REPO_DIGEST_OR_EXACT,
	PRM_MATCH_REPOSITORY,
	PRM_EXACT_REFERENCE,
	PRM_EXACT_REPOSITORY,
	PRM_REMAP_IDENTITY
} prm_type;

static const char *const prm_names[] = {
	"matchExact", "matchRepoDigestOrExact", "matchRepository",
	"exactReference", "exactRepository", "remapIdentity"
};

typedef struct prm {
	prm_type type;
	char *ref;                 /* dockerReference / dockerRepository */
	char *prefix, *signed_prefix;
} prm;

typedef enum pr_type {
	PR_INSECURE_ACCEPT_ANYTHING,
	PR_REJECT,
	PR_SIGNED_BY,
	PR_SIGNED_BASE_LAYER,
	PR_SIGSTORE_SIGNED
} pr_type;

static const char *const pr_names[] = {
	"insecureAcceptAnything", "reject", "signedBy", "signedBaseLayer", "sigstoreSigned"
};

typedef struct pr {
	pr_type type;
	char *key_type;            /* signedBy */
	char **key_paths;          /* keyPath (1 entry) or keyPaths */
	size_t n_key_paths;
	coco_buf *key_datas;       /* keyData (1 entry) or keyDatas */
	size_t n_key_datas;
	bool has_paths, has_datas;
	/* sigstoreSigned keyless / PKI / Rekor: parsed, not supported yet */
	bool fulcio, pki, rekor;
	prm ident;
} pr;

typedef struct reqlist {
	char *scope;               /* "" = transport default */
	pr *v;
	size_t n;
} reqlist;

typedef struct ptransport {
	char *name;
	reqlist *scopes;
	size_t n;
} ptransport;

struct coco_policy {
	reqlist dflt;
	ptransport *t;
	size_t nt;
};

/* ------------------------------------------------------------------ */
/* Freeing                                                             */
/* ------------------------------------------------------------------ */

static void pr_clear(pr *r)
{
	free(r->key_type);
	for (size_t i = 0; i < r->n_key_paths; i++)
		free(r->key_paths[i]);
	free(r->key_paths);
	for (size_t i = 0; i < r->n_key_datas; i++)
		coco_buf_free(&r->key_datas[i]);
	free(r->key_datas);
	free(r->ident.ref);
	free(r->ident.prefix);
	free(r->ident.signed_prefix);
}

static void reqlist_clear(reqlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		pr_clear(&l->v[i]);
	free(l->v);
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

/* A Go []byte field: base64 string (CR/LF ignored) or null. */
static int get_bytes(pctx *pc, json_t *v, const char *key, const char *where, coco_buf *out,
                     bool *present)
{
	*present = false;
	if (json_is_null(v))
		return 0;              /* nil slice: counts as absent */
	if (!json_is_string(v))
		return perr(pc, where, "field \"%s\" must be a base64 string, not %s", key, jtype(v));
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	coco_buf clean = COCO_BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\r' || s[i] == '\n')
			continue;
		if (coco_buf_putc(&clean, s[i])) {
			coco_buf_free(&clean);
			return coco_oom(pc->ctx);
		}
	}
	/* Go's StdEncoding: padding required, standard alphabet only. */
	bool ok = clean.len % 4 == 0;
	for (size_t i = 0; ok && i < clean.len; i++) {
		char c = (char)clean.data[i];
		ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		     c == '+' || c == '/' || (c == '=' && i >= clean.len - 2);
	}
	if (ok && coco_b64_decode(clean.data ? (const char *)clean.data : "", clean.len, out))
		ok = false;
	coco_buf_free(&clean);
	if (!ok)
		return perr(pc, where, "field \"%s\" is not valid base64", key);
	*present = true;
	return 0;
}

/* The "type" field of a requirement or identity object: its index in names
 * (Go: a null object unmarshals to type ""). */
static int parse_type(pctx *pc, json_t *j, const char *where, const char *kind,
                      const char *const *names, size_t n, size_t *out)
{
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
		if (!strcmp(type, names[t])) {
			*out = t;
			return 0;
		}
	}
	return perr(pc, where, "unknown policy %s type \"%s\"", kind, type);
}

static int parse_identity(pctx *pc, json_t *j, const char *where, prm *out)
{
	memset(out, 0, sizeof(*out));
	size_t t;
	int rc = parse_type(pc, j, where, "reference match", prm_names, COCO_ARRAY_SIZE(prm_names), &t);
	if (rc)
		return rc;
	out->type = (prm_type)t;
	static const char *const f_plain[] = { "type", NULL };
	static const char *const f_ref[] = { "type", "dockerReference", NULL };
	static const char *const f_repo[] = { "type", "dockerRepository", NULL };
	static const char *const f_remap[] = { "type", "prefix", "signedPrefix", NULL };
	const char *const *fields = out->type == PRM_EXACT_REFERENCE ? f_ref :
	                            out->type == PRM_EXACT_REPOSITORY ? f_repo :
	                            out->type == PRM_REMAP_IDENTITY ? f_remap : f_plain;
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

static int parse_signed_by(pctx *pc, json_t *j, const char *where, pr *out)
{
	static const char *const f[] = { "type", "keyType", "keyPath", "keyPaths", "keyData",
	                                 "signedIdentity", NULL };
	int rc = only_fields(pc, j, where, f);
	if (rc)
		return rc;
	const char *kt;
	if ((rc = get_str(pc, j, "keyType", where, &kt)))
		return rc;
	if (json_object_get(j, "keyType")) {
		if (strcmp(kt, "GPGKeys") && strcmp(kt, "signedByGPGKeys") &&
		    strcmp(kt, "X509Certificates") && strcmp(kt, "signedByX509CAs"))
			return perr(pc, where, "unrecognized keyType value \"%s\"", kt);
	} else {
		kt = "";
	}
	out->key_type = coco_strdup(kt);
	json_t *si = json_object_get(j, "signedIdentity");
	if (si) {
		char w[600];
		loc_cat(w, sizeof(w), where, ".signedIdentity");
		if ((rc = parse_identity(pc, si, w, &out->ident)))
			return rc;
	} else {
		out->ident.type = PRM_MATCH_REPO_DIGEST_OR_EXACT;
	}
	json_t *kp = json_object_get(j, "keyPath");
	json_t *kps = json_object_get(j, "keyPaths");
	json_t *kd = json_object_get(j, "keyData");
	int present = !!kp + !!kps + !!kd;
	if (present == 0)
		return perr(pc, where, "exactly one of keyPath, keyPaths and keyData must be "
		            "specified, none of them present");
	if (present > 1)
		return perr(pc, where, "exactly one of keyPath, keyPaths and keyData must be "
		            "specified, more than one present");
	if (!*kt)
		return perr(pc, where, "invalid keyType \"\"");
	bool have = false;
	if (kp) {
		const char *s;
		if ((rc = get_str(pc, j, "keyPath", where, &s)))
			return rc;
		if (*s) {
			out->key_paths = calloc(2, sizeof(char *));
			if (!out->key_paths || !(out->key_paths[0] = coco_strdup(s)))
				return coco_oom(pc->ctx);
			out->n_key_paths = 1;
			out->has_paths = have = true;
		}
	} else if (kps) {
		if ((rc = get_str_array(pc, kps, "keyPaths", where, &out->key_paths,
		                        &out->n_key_paths, &out->has_paths)))
			return rc;
		have = out->has_paths;
	} else {
		out->key_datas = calloc(1, sizeof(coco_buf));
		if (!out->key_datas)
			return coco_oom(pc->ctx);
		out->n_key_datas = 1;
		if ((rc = get_bytes(pc, kd, "keyData", where, &out->key_datas[0], &out->has_datas)))
			return rc;
		have = out->has_datas;
	}
	if (!have)
		return perr(pc, where, "exactly one of keyPath, keyPaths and keyData must be "
		            "specified");
	return 0;
}

static int parse_fulcio(pctx *pc, json_t *j, const char *where)
{
	static const char *const f[] = { "caPath", "caData", "oidcIssuer", "subjectEmail", NULL };
	if (!json_is_object(j))
		return perr(pc, where, "must be an object, not %s", jtype(j));
	int rc = only_fields(pc, j, where, f);
	if (rc)
		return rc;
	int ca = !!json_object_get(j, "caPath") + !!json_object_get(j, "caData");
	if (ca != 1)
		return perr(pc, where, "exactly one of caPath and caData must be specified");
	const char *s;
	if ((rc = get_str(pc, j, "caPath", where, &s)))
		return rc;
	coco_buf tmp = COCO_BUF_INIT;
	bool p;
	json_t *cd = json_object_get(j, "caData");
	if (cd && (rc = get_bytes(pc, cd, "caData", where, &tmp, &p)))
		return rc;
	coco_buf_free(&tmp);
	if ((rc = get_str(pc, j, "oidcIssuer", where, &s)))
		return rc;
	if (!s || !*s)
		return perr(pc, where, "oidcIssuer not specified");
	if ((rc = get_str(pc, j, "subjectEmail", where, &s)))
		return rc;
	if (!s || !*s)
		return perr(pc, where, "subjectEmail not specified");
	return 0;
}

static int parse_pki(pctx *pc, json_t *j, const char *where)
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
	const char *s;
	static const char *const strs[] = { "caRootsPath", "caIntermediatesPath", "subjectEmail",
	                                    "subjectHostname" };
	for (size_t i = 0; i < 4; i++)
		if ((rc = get_str(pc, j, strs[i], where, &s)))
			return rc;
	static const char *const bins[] = { "caRootsData", "caIntermediatesData" };
	for (size_t i = 0; i < 2; i++) {
		json_t *v = json_object_get(j, bins[i]);
		coco_buf tmp = COCO_BUF_INIT;
		bool p;
		if (v && (rc = get_bytes(pc, v, bins[i], where, &tmp, &p)))
			return rc;
		coco_buf_free(&tmp);
	}
	const char *e = NULL, *h = NULL;
	get_str(pc, j, "subjectEmail", where, &e);
	get_str(pc, j, "subjectHostname", where, &h);
	if ((!e || !*e) && (!h || !*h))
		return perr(pc, where, "at least one of subjectEmail and subjectHostname must be "
		            "specified");
	return 0;
}

static int parse_sigstore(pctx *pc, json_t *j, const char *where, pr *out)
{
	static const char *const f[] = { "type", "keyPath", "keyPaths", "keyData", "keyDatas",
	                                 "fulcio", "rekorPublicKeyPath", "rekorPublicKeyPaths",
	                                 "rekorPublicKeyData", "rekorPublicKeyDatas", "pki",
	                                 "signedIdentity", NULL };
	int rc = only_fields(pc, j, where, f);
	if (rc)
		return rc;
	json_t *kp = json_object_get(j, "keyPath"), *kps = json_object_get(j, "keyPaths");
	json_t *kd = json_object_get(j, "keyData"), *kds = json_object_get(j, "keyDatas");
	json_t *fu = json_object_get(j, "fulcio"), *pk = json_object_get(j, "pki");
	const char *s = NULL;
	if (kp && (rc = get_str(pc, j, "keyPath", where, &s)))
		return rc;
	if (kp && !*s)
		kp = NULL;         /* Go: an empty keyPath counts as absent */
	int n = !!kp + !!kps + !!kd + !!kds + !!fu + !!pk;
	if (n != 1)
		return perr(pc, where, "exactly one of keyPath, keyPaths, keyData, keyDatas, fulcio "
		            "and pki must be specified, %s", n ? "more than one present"
		                                               : "none of them present");
	static const char *const rk[] = { "rekorPublicKeyPath", "rekorPublicKeyPaths",
	                                  "rekorPublicKeyData", "rekorPublicKeyDatas" };
	int nrk = 0;
	for (size_t i = 0; i < 4; i++) {
		json_t *v = json_object_get(j, rk[i]);
		if (!v)
			continue;
		nrk++;
		if (i == 0) {
			if ((rc = get_str(pc, j, rk[i], where, &s)))
				return rc;
		} else if (i == 2) {
			coco_buf tmp = COCO_BUF_INIT;
			bool p;
			rc = get_bytes(pc, v, rk[i], where, &tmp, &p);
			coco_buf_free(&tmp);
			if (rc)
				return rc;
		} else if (!json_is_array(v) || json_array_size(v) == 0) {
			return perr(pc, where, "field \"%s\" must be a non-empty array", rk[i]);
		}
	}
	if (nrk > 1)
		return perr(pc, where, "at most one of rekorPublicKeyPath, rekorPublicKeyPaths, "
		            "rekorPublicKeyData and rekorPublicKeyDatas may be specified");
	out->rekor = nrk > 0;
	char w[600];
	if (fu) {
		loc_cat(w, sizeof(w), where, ".fulcio");
		if ((rc = parse_fulcio(pc, fu, w)))
			return rc;
		if (!nrk)
			return perr(pc, where, "fulcio requires a rekorPublicKey* field");
		out->fulcio = true;
	}
	if (pk) {
		loc_cat(w, sizeof(w), where, ".pki");
		if ((rc = parse_pki(pc, pk, w)))
			return rc;
		if (nrk)
			return perr(pc, where, "pki cannot be used with rekorPublicKey* fields");
		out->pki = true;
	}
	if (kp) {
		out->key_paths = calloc(2, sizeof(char *));
		if (!out->key_paths || !(out->key_paths[0] = coco_strdup(s)))
			return coco_oom(pc->ctx);
		out->n_key_paths = 1;
		out->has_paths = true;
	} else if (kps) {
		if ((rc = get_str_array(pc, kps, "keyPaths", where, &out->key_paths,
		                        &out->n_key_paths, &out->has_paths)))
			return rc;
		if (!out->n_key_paths)
			return perr(pc, where, "keyPaths must not be empty");
	} else if (kd) {
		out->key_datas = calloc(1, sizeof(coco_buf));
		if (!out->key_datas)
			return coco_oom(pc->ctx);
		out->n_key_datas = 1;
		if ((rc = get_bytes(pc, kd, "keyData", where, &out->key_datas[0], &out->has_datas)))
			return rc;
		if (!out->has_datas)
			return perr(pc, where, "exactly one of keyPath, keyPaths, keyData, keyDatas, "
			            "fulcio and pki must be specified");
	} else if (kds) {
		if ((rc = get_bytes_array(pc, kds, "keyDatas", where, &out->key_datas,
		                          &out->n_key_datas, &out->has_datas)))
			return rc;
		if (!out->n_key_datas)
			return perr(pc, where, "keyDatas must not be empty");
	}
	json_t *si = json_object_get(j, "signedIdentity");
	if (si) {
		loc_cat(w, sizeof(w), where, ".signedIdentity");
		if ((rc = parse_identity(pc, si, w, &out->ident)))
			return rc;
	} else {
		out->ident.type = PRM_MATCH_REPO_DIGEST_OR_EXACT;
	}
	return 0;
}

static int parse_requirement(pctx *pc, json_t *j, const char *where, pr *out)
{
	memset(out, 0, sizeof(*out));
	size_t t;
	int rc = parse_type(pc, j, where, "requirement", pr_names, COCO_ARRAY_SIZE(pr_names), &t);
	if (rc)
		return rc;
	out->type = (pr_type)t;
	static const char *const f_plain[] = { "type", NULL };
	static const char *const f_base[] = { "type", "baseLayerIdentity", NULL };
	switch (out->type) {
	case PR_INSECURE_ACCEPT_ANYTHING:
	case PR_REJECT:
		return only_fields(pc, j, where, f_plain);
	case PR_SIGNED_BASE_LAYER: {
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
	int rc = coco_read_file(ctx, path, KEYFILE_MAX, &b, COCOIMG_ECONFIG);
	if (rc) {
		coco_buf_free(&b);
		return coco_preferr(ctx, COCOIMG_ECONFIG, "policy");
	}
	rc = coco_policy_parse(ctx, b.data, b.len, path, out);
	coco_buf_free(&b);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Image identity for the policy                                       */
/* ------------------------------------------------------------------ */

void coco_trust_image_clear(coco_trust_image *im)
{
	free(im->name);
	free(im->identity);
	coco_trust_strv_free(im->namespaces);
	if (im->dref) {
		coco_dref_clear(im->dref);
		free(im->dref);
	}
	memset(im, 0, sizeof(*im));
}

/* Absolute, lexically cleaned path; symlinks resolved when it exists. */
static char *resolve_path(const char *p)
{
	char *rp = realpath(p, NULL);
	if (rp)
		return rp;
	char cwd[PATH_MAX];
	char *abs = p[0] == '/' ? coco_strdup(p)
	                        : (getcwd(cwd, sizeof(cwd)) ? coco_asprintf("%s/%s", cwd, p) : NULL);
	if (!abs)
		return NULL;
	/* clean: drop "." and "//", resolve ".." lexically */
	char *out = malloc(strlen(abs) + 2);
	if (!out) {
		free(abs);
		return NULL;
	}
	size_t o = 0;
	char *save = NULL;
	for (char *c = strtok_r(abs, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		out[o++] = '/';
		size_t cl = strlen(c);
		memcpy(out + o, c, cl);
		o += cl;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = 0;
	free(abs);
	return out;
}

static char **path_namespaces(const char *path)
{
	size_t n = 0, cap = 4;
	char **v = calloc(cap, sizeof(char *));
	char *p = coco_strdup(path);
	if (!v || !p)
		goto oom;
	for (;;) {
		char *sl = strrchr(p, '/');
		if (!sl || !strcmp(p, "/") || !*p)
			break;
		if (n + 2 > cap) {
			char **nv = realloc(v, cap * 2 * sizeof(char *));
			if (!nv)
				goto oom;
			v = nv;
			cap *= 2;
		}
		if (!(v[n++] = coco_strdup(p)))
			goto oom;
		v[n] = NULL;
		*sl = 0;
	}
	free(p);
	return v;
oom:
	free(p);
	coco_trust_strv_free(v);
	return NULL;
}

int coco_trust_image_init(cocoimg_ctx *ctx, coco_trust_image *im, const char *image)
{
	memset(im, 0, sizeof(*im));
	im->name = coco_strdup(image);
	if (!im->name)
		return coco_oom(ctx);
	if (!strncmp(image, "docker://", 9)) {
		im->transport = "docker";
		im->dref = calloc(1, sizeof(coco_dref));
		const char *err;
		if (!im->dref)
			return coco_oom(ctx);
		int rc = coco_dref_parse_named(image + 9, COCO_DREF_NORMALIZE, im->dref, &err);
		if (rc)
			return coco_seterr(ctx, COCOIMG_EINVAL, "invalid image reference \"%s\": %s",
			                   image, err);
		/* The docker transport adds :latest to a bare name.  With both a
		 * tag and a digest (which skopeo refuses) coco-img pulls by
		 * digest, so the digest alone is the identity. */
		if (coco_dref_name_only(im->dref) && !(im->dref->tag = coco_strdup("latest")))
			return coco_oom(ctx);
		if (im->dref->tag && im->dref->digest) {
			free(im->dref->tag);
			im->dref->tag = NULL;
		}
		im->identity = coco_dref_string(im->dref);
		im->namespaces = coco_docker_namespaces(im->dref);
	} else {
		const char *rest;
		bool has_tag;
		if (!strncmp(image, "oci:", 4)) {
			im->transport = "oci";
			rest = image + 4;
			has_tag = true;
		} else if (!strncmp(image, "oci-archive:", 12)) {
			im->transport = "oci-archive";
			rest = image + 12;
			has_tag = true;
		} else if (!strncmp(image, "dir:", 4)) {
			im->transport = "dir";
			rest = image + 4;
			has_tag = false;
		} else {
			return coco_seterr(ctx, COCOIMG_EINVAL, "unsupported image reference \"%s\" "
			                   "(expected docker://, oci:, oci-archive: or dir:)", image);
		}
		char *path = coco_strdup(rest);
		if (!path)
			return coco_oom(ctx);
		char *colon = has_tag ? strchr(path, ':') : NULL;
		if (colon)
			*colon = 0;
		if (!*path) {
			free(path);
			return coco_seterr(ctx, COCOIMG_EINVAL, "invalid image reference \"%s\"", image);
		}
		im->identity = resolve_path(path);
		free(path);
		if (im->identity)
			im->namespaces = path_namespaces(im->identity);
	}
	if (!im->identity || !im->namespaces)
		return coco_oom(ctx);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Identity rules                                                      */
/* ------------------------------------------------------------------ */

static bool dref_eq_string(const coco_dref *a, const coco_dref *b)
{
	char *x = coco_dref_string(a), *y = coco_dref_string(b);
	bool eq = x && y && !strcmp(x, y);
	free(x);
	free(y);
	return eq;
}

static bool dref_eq_name(const coco_dref *a, const coco_dref *b)
{
	return !strcmp(a->domain, b->domain) && !strcmp(a->path, b->path);
}

static bool repo_digest_or_exact(const coco_dref *intended, const coco_dref *sig)
{
	if (coco_dref_name_only(sig))
		return false;
	if (intended->tag)
		return dref_eq_string(intended, sig);
	if (intended->digest)
		return dref_eq_name(intended, sig);
	return false;
}

static bool identity_matches(const prm *m, const coco_trust_image *im, const char *signed_ref)
{
	coco_dref sig, other;
	const char *err;
	bool ok = false;
	if (coco_dref_parse_named(signed_ref, COCO_DREF_NORMALIZE, &sig, &err))
		return false;
	switch (m->type) {
	case PRM_MATCH_EXACT:
		ok = im->dref && !coco_dref_name_only(im->dref) && !coco_dref_name_only(&sig) &&
		     dref_eq_string(im->dref, &sig);
		break;
	case PRM_MATCH_REPO_DIGEST_OR_EXACT:
		ok = im->dref && repo_digest_or_exact(im->dref, &sig);
		break;
	case PRM_MATCH_REPOSITORY:
		ok = im->dref && dref_eq_name(im->dref, &sig);
		break;
	case PRM_EXACT_REFERENCE:
		if (coco_dref_parse_named(m->ref, COCO_DREF_NORMALIZE, &other, &err) == 0) {
			ok = !coco_dref_name_only(&other) && !coco_dref_name_only(&sig) &&
			     dref_eq_string(&other, &sig);
			coco_dref_clear(&other);
		}
		break;
	case PRM_EXACT_REPOSITORY:
		if (coco_dref_parse_named(m->ref, COCO_DREF_NORMALIZE, &other, &err) == 0) {
			ok = dref_eq_name(&other, &sig);
			coco_dref_clear(&other);
		}
		break;
	case PRM_REMAP_IDENTITY: {
		if (!im->dref)
			break;
		char *name = coco_dref_repo(im->dref);
		size_t pl = strlen(m->prefix);
		bool hit = name && (!strcmp(name, m->prefix) ||
		                    (!strncmp(name, m->prefix, pl) && name[pl] == '/'));
		free(name);
		if (!hit) {
			ok = repo_digest_or_exact(im->dref, &sig);
			break;
		}
		char *full = coco_dref_string(im->dref);
		char *pos = full ? strstr(full, m->prefix) : NULL;
		if (!pos) {
			free(full);
			break;
		}
		char *re = coco_asprintf("%.*s%s%s", (int)(pos - full), full, m->signed_prefix,
		                         pos + pl);
		free(full);
		if (re && coco_dref_parse_named(re, COCO_DREF_CANONICAL, &other, &err) == 0) {
			ok = repo_digest_or_exact(&other, &sig);
			coco_dref_clear(&other);
		}
		free(re);
		break;
	}
	}
	coco_dref_clear(&sig);
	return ok;
}

int coco_policy_identity_check(cocoimg_ctx *ctx, const char *prm_json, const char *image,
                               const char *signed_ref)
{
	pctx pc = { ctx, "signedIdentity" };
	json_error_t je;
	json_t *j = json_loads(prm_json, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (!j)
		return coco_seterr(ctx, COCOIMG_ECONFIG, "signedIdentity: invalid JSON: %s", je.text);
	prm m;
	int rc = parse_identity(&pc, j, "", &m);
	json_decref(j);
	if (rc) {
		free(m.ref);
		free(m.prefix);
		free(m.signed_prefix);
		return rc;
	}
	coco_trust_image im;
	rc = coco_trust_image_init(ctx, &im, image);
	if (rc == 0)
		rc = identity_matches(&m, &im, signed_ref) ? 1 : 0;
	coco_trust_image_clear(&im);
	free(m.ref);
	free(m.prefix);
	free(m.signed_prefix);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Evaluation                                                          */
/* ------------------------------------------------------------------ */

/* Reason codes in the report (documented in include/cocoimg/trust.h). */
#define R_ACCEPT_ANYTHING "insecure-accept-anything"
#define R_TRUSTED "trusted-signature"
#define R_REJECT "rejected-by-policy"
#define R_NO_SIG "no-signature"
#define R_UNTRUSTED "no-trusted-signature"
#define R_MISMATCH "wrong-image-or-identity"
#define R_LOOKUP "lookup-failed"
#define R_INVALID "invalid-signature"
#define R_KEYS "key-error"
#define R_UNSUPPORTED "unsupported"

typedef struct evstate {
	cocoimg_ctx *ctx;
	const coco_trust_image *im;
	const coco_trust_sigsource *src;
	int64_t now;
	bool fetched;
	int fetch_rc;
	char *fetch_msg;
	coco_trust_sigs sigs;
} evstate;

static int ensure_sigs(evstate *st)
{
	if (st->fetched)
		return st->fetch_rc;
	st->fetched = true;
	if (!st->src || !st->src->collect)
		return 0;
	coco_clearerr(st->ctx);
	st->fetch_rc = st->src->collect(st->src->payload, st->ctx, &st->sigs);
	if (st->fetch_rc) {
		st->fetch_msg = coco_strdup(cocoimg_ctx_last_error(st->ctx));
		coco_trust_sigs_clear(&st->sigs);
	}
	return st->fetch_rc;
}

static void set_result(json_t *r, const char *outcome, const char *reason, const char *msg)
{
	json_object_set_new(r, "outcome", json_string(outcome));
	json_object_set_new(r, "reason", json_string(reason));
	json_object_set_new(r, "message", json_string(msg ? msg : ""));
}

/* Read key material for a requirement (paths or inline). */
static int load_key_blobs(evstate *st, const pr *r, coco_buf **out, size_t *n)
{
	*n = 0;
	if (r->has_datas) {
		*out = calloc(r->n_key_datas + 1, sizeof(coco_buf));
		if (!*out)
			return coco_oom(st->ctx);
		for (size_t i = 0; i < r->n_key_datas; i++) {
			if (coco_buf_append(&(*out)[i], r->key_datas[i].data, r->key_datas[i].len))
				return coco_oom(st->ctx);
			*n = i + 1;
		}
		return 0;
	}
	*out = calloc(r->n_key_paths + 1, sizeof(coco_buf));
	if (!*out)
		return coco_oom(st->ctx);
	for (size_t i = 0; i < r->n_key_paths; i++) {
		*n = i + 1;
		int rc = coco_read_file(st->ctx, r->key_paths[i], KEYFILE_MAX, &(*out)[i],
		                        COCOIMG_ECONFIG);
		if (rc)
			return rc;
	}
	return 0;
}

static void free_blobs(coco_buf *b, size_t n)
{
	for (size_t i = 0; b && i < n; i++)
		coco_buf_free(&b[i]);
	free(b);
}

/* Per-signature classification, most telling last. */
enum { CAT_NONE = 0, CAT_UNTRUSTED = 1, CAT_MISMATCH = 2 };

/* Summarise rejections Go-style into msg. */
static void add_reason(coco_buf *all, size_t *count, const char *m)
{
	if ((*count)++)
		coco_buf_append(all, "; ", 2);
	coco_buf_append(all, m, strlen(m));
}

static json_t *sig_entry(const coco_trust_sig *g, const char *outcome, const char *reason,
                         const char *msg)
{
	json_t *e = json_object();
	json_object_set_new(e, "source", json_string(g->origin ? g->origin : ""));
	json_object_set_new(e, "format", json_string(g->kind == COCO_SIG_SIMPLE ? "simple-signing"
	                                                                        : "sigstore"));
	set_result(e, outcome, reason, msg);
	return e;
}

/* Digest + identity checks shared by both signature kinds. */
static bool claims_ok(evstate *st, const pr *r, const char *digest, const char *ref,
                      char *why, size_t wl)
{
	if (!coco_manifest_matches_digest(st->im->manifest, st->im->manifest_len, digest)) {
		snprintf(why, wl, "signature for digest %s does not match", digest);
		return false;
	}
	if (!identity_matches(&r->ident, st->im, ref)) {
		snprintf(why, wl, "signature for identity \"%s\" is not accepted", ref);
		return false;
	}
	return true;
}

static int eval_signed_by(evstate *st, const pr *r, json_t *rep)
{
	cocoimg_ctx *ctx = st->ctx;
	if (strcmp(r->key_type, "GPGKeys") != 0) {
		char m[200];
		snprintf(m, sizeof(m), "unimplemented \"keyType\" value \"%s\"", r->key_type);
		set_result(rep, "rejected", R_UNSUPPORTED, m);
		return COCOIMG_EPOLICY;
	}
	coco_buf *blobs = NULL;
	size_t nb = 0;
	coco_clearerr(ctx);
	int rc = load_key_blobs(st, r, &blobs, &nb);
	if (rc) {
		set_result(rep, "rejected", R_KEYS, cocoimg_ctx_last_error(ctx));
		free_blobs(blobs, nb);
		return COCOIMG_EPOLICY;
	}
	coco_pgp_keyring *kr = coco_pgp_keyring_new();
	if (!kr) {
		free_blobs(blobs, nb);
		return coco_oom(ctx);
	}
	for (size_t i = 0; i < nb; i++) {
		const char *what = r->has_paths ? r->key_paths[i] : "keyData";
		if (coco_pgp_keyring_add(ctx, kr, blobs[i].data, blobs[i].len, what) < 0)
			coco_debug(ctx, "%s", cocoimg_ctx_last_error(ctx));
	}
	free_blobs(blobs, nb);
	json_t *keys = json_array();
	for (size_t i = 0; i < coco_pgp_keyring_count(kr); i++) {
		char f[41];
		coco_pgp_keyring_fpr(kr, i, f);
		json_array_append_new(keys, json_string(f));
	}
	json_object_set_new(rep, "trusted_keys", keys);
	if (coco_pgp_keyring_count(kr) == 0) {
		coco_pgp_keyring_free(kr);
		set_result(rep, "rejected", R_KEYS, "no public keys imported");
		return COCOIMG_EPOLICY;
	}
	rc = ensure_sigs(st);
	if (rc) {
		coco_pgp_keyring_free(kr);
		set_result(rep, "rejected", rc == COCOIMG_ESIGLOOKUP ? R_LOOKUP : R_INVALID,
		           st->fetch_msg);
		return rc == COCOIMG_ESIGLOOKUP ? rc : COCOIMG_EPOLICY;
	}
	json_t *arr = json_array();
	json_object_set_new(rep, "signatures", arr);
	coco_buf all = COCO_BUF_INIT;
	size_t count = 0;
	int cat = CAT_NONE;
	char last[1024] = "";
	for (size_t i = 0; i < st->sigs.n; i++) {
		const coco_trust_sig *g = &st->sigs.v[i];
		if (g->kind != COCO_SIG_SIMPLE)
			continue;
		coco_buf content = COCO_BUF_INIT;
		char signer[41];
		char why[1024];
		coco_clearerr(ctx);
		if (coco_pgp_verify_message(ctx, kr, g->blob.data, g->blob.len, st->now, &content,
		                            signer)) {
			snprintf(why, sizeof(why), "%s", cocoimg_ctx_last_error(ctx));
			json_array_append_new(arr, sig_entry(g, "rejected", R_UNTRUSTED, why));
			add_reason(&all, &count, why);
			if (cat < CAT_UNTRUSTED)
				cat = CAT_UNTRUSTED;
			snprintf(last, sizeof(last), "%s", why);
			continue;
		}
		char *digest = NULL, *ref = NULL;
		bool ok = false;
		coco_clearerr(ctx);
		if (coco_simple_payload_parse(ctx, content.data, content.len, false, &digest, &ref))
			snprintf(why, sizeof(why), "%s", cocoimg_ctx_last_error(ctx));
		else
			ok = claims_ok(st, r, digest, ref, why, sizeof(why));
		coco_buf_free(&content);
		free(digest);
		free(ref);
		if (ok) {
			json_t *e = sig_entry(g, "accepted", R_TRUSTED, "");
			json_object_set_new(e, "signer", json_string(signer));
			json_array_append_new(arr, e);
			char m[200];
			snprintf(m, sizeof(m), "signed by key %s", signer);
			set_result(rep, "accepted", R_TRUSTED, m);
			json_object_set_new(rep, "signer", json_string(signer));
			coco_buf_free(&all);
			coco_pgp_keyring_free(kr);
			return 0;
		}
		json_t *e = sig_entry(g, "rejected", R_MISMATCH, why);
		json_object_set_new(e, "signer", json_string(signer));
		json_array_append_new(arr, e);
		add_reason(&all, &count, why);
		cat = CAT_MISMATCH;
		snprintf(last, sizeof(last), "%s", why);
	}
	coco_pgp_keyring_free(kr);
	if (count == 0) {
		set_result(rep, "rejected", R_NO_SIG, "a signature was required, but no signature "
		           "exists");
	} else {
		char *m = count == 1 ? coco_strdup(last)
		                     : coco_asprintf("none of the signatures were accepted, "
		                                     "reasons: %.*s", (int)all.len, (char *)all.data);
		set_result(rep, "rejected", cat == CAT_MISMATCH ? R_MISMATCH : R_UNTRUSTED, m);
		free(m);
	}
	coco_buf_free(&all);
	return COCOIMG_EPOLICY;
}

#define COSIGN_MIME "application/vnd.dev.cosign.simplesigning.v1+json"

static int eval_sigstore(evstate *st, const pr *r, json_t *rep)
{
	cocoimg_ctx *ctx = st->ctx;
	if (r->fulcio || r->pki || r->rekor) {
		set_result(rep, "rejected", R_UNSUPPORTED, r->fulcio ? "sigstoreSigned with fulcio "
		           "is not supported yet" : r->pki ? "sigstoreSigned with pki is not "
		           "supported yet" : "sigstoreSigned with rekorPublicKey is not supported yet");
		return COCOIMG_EPOLICY;
	}
	coco_buf *blobs = NULL;
	size_t nb = 0;
	coco_clearerr(ctx);
	int rc = load_key_blobs(st, r, &blobs, &nb);
	EVP_PKEY **keys = NULL;
	size_t nk = 0;
	for (size_t i = 0; rc == 0 && i < nb; i++) {
		EVP_PKEY **k = NULL;
		size_t n = 0;
		rc = coco_pubkeys_load_pem(ctx, blobs[i].data, blobs[i].len, &k, &n);
		if (rc)
			break;
		EVP_PKEY **nkv = realloc(keys, (nk + n + 1) * sizeof(*nkv));
		if (!nkv) {
			coco_pubkeys_free(k, n);
			rc = coco_oom(ctx);
			break;
		}
		keys = nkv;
		memcpy(keys + nk, k, n * sizeof(*k));
		nk += n;
		free(k);       /* the array only; the keys moved to `keys` */
	}
	free_blobs(blobs, nb);
	if (rc || nk == 0) {
		set_result(rep, "rejected", R_KEYS, rc ? cocoimg_ctx_last_error(ctx)
		                                       : "no public keys in the key data");
		coco_pubkeys_free(keys, nk);
		return rc == COCOIMG_ENOMEM ? rc : COCOIMG_EPOLICY;
	}
	rc = ensure_sigs(st);
	if (rc) {
		coco_pubkeys_free(keys, nk);
		set_result(rep, "rejected", rc == COCOIMG_ESIGLOOKUP ? R_LOOKUP : R_INVALID,
		           st->fetch_msg);
		return rc == COCOIMG_ESIGLOOKUP ? rc : COCOIMG_EPOLICY;
	}
	json_t *arr = json_array();
	json_object_set_new(rep, "signatures", arr);
	coco_buf all = COCO_BUF_INIT;
	size_t count = 0, skipped_simple = 0, skipped_mime = 0;
	int cat = CAT_NONE;
	char last[1024] = "";
	for (size_t i = 0; i < st->sigs.n; i++) {
		const coco_trust_sig *g = &st->sigs.v[i];
		if (g->kind != COCO_SIG_SIGSTORE) {
			skipped_simple++;
			continue;
		}
		if (!g->mime_type || strcmp(g->mime_type, COSIGN_MIME)) {
			skipped_mime++;
			continue;
		}
		char *digest = NULL, *ref = NULL;
		char why[1024];
		coco_clearerr(ctx);
		if (coco_cosign_verify(ctx, &g->sigstore, keys, nk, &digest, &ref)) {
			snprintf(why, sizeof(why), "%s", cocoimg_ctx_last_error(ctx));
			json_array_append_new(arr, sig_entry(g, "rejected", R_UNTRUSTED, why));
			add_reason(&all, &count, why);
			if (cat < CAT_UNTRUSTED)
				cat = CAT_UNTRUSTED;
			snprintf(last, sizeof(last), "%s", why);
			free(digest);
			free(ref);
			continue;
		}
		bool ok = digest && ref && claims_ok(st, r, digest, ref, why, sizeof(why));
		free(digest);
		free(ref);
		if (ok) {
			json_array_append_new(arr, sig_entry(g, "accepted", R_TRUSTED, ""));
			set_result(rep, "accepted", R_TRUSTED, "signed by a trusted sigstore key");
			coco_buf_free(&all);
			coco_pubkeys_free(keys, nk);
			return 0;
		}
		json_array_append_new(arr, sig_entry(g, "rejected", R_MISMATCH, why));
		add_reason(&all, &count, why);
		cat = CAT_MISMATCH;
		snprintf(last, sizeof(last), "%s", why);
	}
	coco_pubkeys_free(keys, nk);
	if (count == 0) {
		char m[300];
		snprintf(m, sizeof(m), "a signature was required, but no signature exists "
		         "(%zu non-sigstore signatures and %zu sigstore attachments of other types "
		         "skipped)", skipped_simple, skipped_mime);
		set_result(rep, "rejected", R_NO_SIG, m);
	} else {
		char *m = count == 1 ? coco_strdup(last)
		                     : coco_asprintf("none of the signatures were accepted, "
		                                     "reasons: %.*s", (int)all.len, (char *)all.data);
		set_result(rep, "rejected", cat == CAT_MISMATCH ? R_MISMATCH : R_UNTRUSTED, m);
		free(m);
	}
	coco_buf_free(&all);
	return COCOIMG_EPOLICY;
}

static const reqlist *choose(const coco_policy *p, const coco_trust_image *im, char **scope)
{
	for (size_t i = 0; i < p->nt; i++) {
		const ptransport *t = &p->t[i];
		if (strcmp(t->name, im->transport))
			continue;
		const reqlist *dflt = NULL;
		const char *cand[2] = { im->identity, NULL };
		for (size_t c = 0; cand[c]; c++)
			for (size_t k = 0; k < t->n; k++)
				if (!strcmp(t->scopes[k].scope, cand[c])) {
					*scope = coco_asprintf("transports.%s[\"%s\"]", t->name, cand[c]);
					return &t->scopes[k];
				}
		for (size_t nsi = 0; im->namespaces && im->namespaces[nsi]; nsi++)
			for (size_t k = 0; k < t->n; k++)
				if (!strcmp(t->scopes[k].scope, im->namespaces[nsi])) {
					*scope = coco_asprintf("transports.%s[\"%s\"]", t->name,
					                       im->namespaces[nsi]);
					return &t->scopes[k];
				}
		for (size_t k = 0; k < t->n; k++)
			if (!*t->scopes[k].scope)
				dflt = &t->scopes[k];
		if (dflt) {
			*scope = coco_asprintf("transports.%s[\"\"]", t->name);
			return dflt;
		}
	}
	*scope = coco_strdup("default");
	return &p->dflt;
}

int coco_policy_evaluate(cocoimg_ctx *ctx, const coco_policy *p, const coco_trust_image *im,
                         const coco_trust_sigsource *src, int64_t now, json_t **report)
{
	evstate st;
	memset(&st, 0, sizeof(st));
	st.ctx = ctx;
	st.im = im;
	st.src = src;
	st.now = now ? now : (int64_t)time(NULL);
	char *scope = NULL;
	const reqlist *l = choose(p, im, &scope);
	json_t *rep = json_object();
	json_t *reqs = json_array();
	json_object_set_new(rep, "image", json_string(im->name ? im->name : ""));
	json_object_set_new(rep, "transport", json_string(im->transport));
	json_object_set_new(rep, "identity", json_string(im->identity ? im->identity : ""));
	json_object_set_new(rep, "manifest_digest", json_string(im->manifest_digest));
	json_object_set_new(rep, "scope", json_string(scope ? scope : "default"));
	int result = 0;
	const char *fail_msg = NULL;
	size_t fail_idx = 0;
	for (size_t i = 0; i < l->n; i++) {
		const pr *r = &l->v[i];
		json_t *e = json_object();
		json_object_set_new(e, "index", json_integer((json_int_t)i));
		json_object_set_new(e, "type", json_string(pr_names[r->type]));
		json_array_append_new(reqs, e);
		if (result) {
			set_result(e, "not-evaluated", "", "an earlier requirement rejected the image");
			continue;
		}
		int rc = 0;
		switch (r->type) {
		case PR_INSECURE_ACCEPT_ANYTHING:
			set_result(e, "accepted", R_ACCEPT_ANYTHING, "any image is accepted");
			break;
		case PR_REJECT:
			set_result(e, "rejected", R_REJECT, "the policy rejects this image");
			rc = COCOIMG_EPOLICY;
			break;
		case PR_SIGNED_BASE_LAYER:
			set_result(e, "rejected", R_UNSUPPORTED, "signedBaseLayer is not implemented");
			rc = COCOIMG_EPOLICY;
			break;
		case PR_SIGNED_BY:
			json_object_set_new(e, "key_type", json_string(r->key_type));
			json_object_set_new(e, "signed_identity",
			                    json_string(prm_names[r->ident.type]));
			rc = eval_signed_by(&st, r, e);
			break;
		case PR_SIGSTORE_SIGNED:
			json_object_set_new(e, "signed_identity",
			                    json_string(prm_names[r->ident.type]));
			rc = eval_sigstore(&st, r, e);
			break;
		}
		if (rc == COCOIMG_ENOMEM) {
			json_decref(rep);
			json_decref(reqs);
			free(scope);
			coco_trust_sigs_clear(&st.sigs);
			free(st.fetch_msg);
			return rc;
		}
		if (rc) {
			result = rc;
			fail_idx = i;
			fail_msg = json_string_value(json_object_get(e, "message"));
		}
	}
	json_object_set_new(rep, "requirements", reqs);
	json_object_set_new(rep, "accepted", json_boolean(result == 0));
	json_object_set_new(rep, "verdict", json_string(result == 0 ? "accepted" :
	                                                result == COCOIMG_ESIGLOOKUP ? "lookup-failed"
	                                                                             : "rejected"));
	if (result == COCOIMG_ESIGLOOKUP)
		coco_seterr(ctx, result, "signature lookup for %s failed: %s", im->name,
		            fail_msg ? fail_msg : "");
	else if (result)
		coco_seterr(ctx, COCOIMG_EPOLICY, "%s rejected by policy (%s, requirement %zu, %s): %s",
		            im->name, scope ? scope : "default", fail_idx,
		            pr_names[l->v[fail_idx].type], fail_msg ? fail_msg : "");
	else
		coco_clearerr(ctx);
	free(scope);
	coco_trust_sigs_clear(&st.sigs);
	free(st.fetch_msg);
	if (report)
		*report = rep;
	else
		json_decref(rep);
	return result ? (result == COCOIMG_ESIGLOOKUP ? result : COCOIMG_EPOLICY) : 0;
}
