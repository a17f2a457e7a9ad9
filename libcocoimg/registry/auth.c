/*
 * Registry authentication: WWW-Authenticate challenges, credentials from
 * --creds / auth.json files (containers-auth.json(5)), and bearer tokens
 * cached per (credentials, realm, service, scope) in the context.
 */
#include "registry.h"
#include "../base.h"
#include "../caps.h"
#include "../json.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* WWW-Authenticate                                                    */
/* ------------------------------------------------------------------ */

static bool is_tchar(char c)
{
	/* RFC 7230 token characters */
	/* (strchr would also find the terminating NUL) */
	return c && (isalnum((unsigned char)c) || strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static void skip_ws(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
}

/* Quoted string at *p (which points at the opening quote). */
static char *parse_quoted(const char **p)
{
	coco_buf b = COCO_BUF_INIT;
	const char *s = *p + 1;
	while (*s && *s != '"') {
		if (*s == '\\' && s[1])
			s++;
		if (coco_buf_putc(&b, *s)) {
			coco_buf_free(&b);
			return NULL;
		}
		s++;
	}
	if (*s == '"')
		s++;
	*p = s;
	char *r = coco_buf_cstr(&b);
	return r ? r : coco_strdup("");
}

static int set_param(coco_challenge *c, const char *name, size_t nlen, char *val)
{
	char **slot = NULL;
	if (nlen == 5 && !strncasecmp(name, "realm", 5))
		slot = &c->realm;
	else if (nlen == 7 && !strncasecmp(name, "service", 7))
		slot = &c->service;
	else if (nlen == 5 && !strncasecmp(name, "error", 5))
		slot = &c->error;
	else if (nlen == 5 && !strncasecmp(name, "scope", 5)) {
		if (c->scope && *val) {
			char *j = coco_asprintf("%s %s", c->scope, val);
			free(val);
			if (!j)
				return COCOIMG_ENOMEM;
			free(c->scope);
			c->scope = j;
			return 0;
		}
		slot = &c->scope;
	}
	if (!slot) {
		free(val);
		return 0;
	}
	free(*slot);
	*slot = val;
	return 0;
}

/* A parameter value at *p: a quoted string or a bare run up to ',' or
 * white space.  NULL when out of memory. */
static char *parse_value(const char **p)
{
	if (**p == '"')
		return parse_quoted(p);
	const char *v = *p;
	while (**p && **p != ',' && **p != ' ' && **p != '\t')
		(*p)++;
	return coco_strndup(v, (size_t)(*p - v));
}

/* Append a challenge for scheme name tok to *arr; NULL when out of memory. */
static coco_challenge *add_challenge(coco_challenge **arr, size_t *n, const char *tok,
                                     size_t tlen)
{
	coco_challenge *a = realloc(*arr, (*n + 1) * sizeof(*a));
	if (!a)
		return NULL;
	*arr = a;
	coco_challenge *cur = &a[(*n)++];
	memset(cur, 0, sizeof(*cur));
	if (tlen == 6 && !strncasecmp(tok, "bearer", 6))
		cur->scheme = COCO_AUTH_BEARER;
	else if (tlen == 5 && !strncasecmp(tok, "basic", 5))
		cur->scheme = COCO_AUTH_BASIC;
	else
		cur->scheme = COCO_AUTH_OTHER;
	return cur;
}

/* After "name=": store the value in cur, or skip it when there is no
 * challenge yet. */
static int take_param(coco_challenge *cur, const char *tok, size_t tlen, const char **p)
{
	skip_ws(p);
	if (!cur) {
		if (**p == '"')
			free(parse_quoted(p));
		else
			while (**p && **p != ',')
				(*p)++;
		return 0;
	}
	char *val = parse_value(p);
	if (!val)
		return COCOIMG_ENOMEM;
	return set_param(cur, tok, tlen, val);
}

int coco_www_auth_parse(const char *value, coco_challenge **arr, size_t *n)
{
	const char *p = value ? value : "";
	coco_challenge *cur = NULL;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			return 0;
		const char *tok = p;
		while (is_tchar(*p))
			p++;
		size_t tlen = (size_t)(p - tok);
		if (!tlen) {
			/* garbage: skip one character */
			p++;
			continue;
		}
		const char *after = p;
		skip_ws(&p);
		if (*p == '=') {
			/* a parameter (of the current challenge, if any; a
			 * token68 such as "abc==" ends up ignored) */
			p++;
			if (take_param(cur, tok, tlen, &p))
				return COCOIMG_ENOMEM;
			continue;
		}
		/* a new challenge: scheme name */
		p = after;
		if (!(cur = add_challenge(arr, n, tok, tlen)))
			return COCOIMG_ENOMEM;
	}
}

void coco_challenges_free(coco_challenge *arr, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(arr[i].realm);
		free(arr[i].service);
		free(arr[i].scope);
		free(arr[i].error);
	}
	free(arr);
}

const coco_challenge *coco_challenge_pick(const coco_challenge *arr, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (arr[i].scheme == COCO_AUTH_BEARER && arr[i].realm && *arr[i].realm)
			return &arr[i];
	for (size_t i = 0; i < n; i++)
		if (arr[i].scheme == COCO_AUTH_BASIC)
			return &arr[i];
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Credentials                                                         */
/* ------------------------------------------------------------------ */

void coco_free_secret_str(char *s)
{
	if (s)
		coco_free_secret(s, strlen(s));
}

char *coco_basic_authz(const coco_creds *c)
{
	char *up = coco_asprintf("%s:%s", c->user, c->pass ? c->pass : "");
	char *b64 = up ? coco_b64_encode((const unsigned char *)up, strlen(up)) : NULL;
	char *h = b64 ? coco_asprintf("Authorization: Basic %s", b64) : NULL;
	coco_free_secret_str(up);
	coco_free_secret_str(b64);
	return h;
}

void coco_creds_clear(coco_creds *c)
{
	if (!c)
		return;
	COCO_FREE_SECRETS(c->pass, c->identity_token, c->bearer);
	COCO_CLEAR_FIELDS(c, c->user, c->source);
}

static const char *home_dir(void)
{
	const char *h = getenv("HOME");
	if (h && *h)
		return h;
	struct passwd *pw = getpwuid(getuid());
	return pw ? pw->pw_dir : NULL;
}

/* Append "$env" + env_tail when the variable is set, else home +
 * home_tail when home is known, else nothing. */
static int add_path(char **v, size_t *k, const char *env, const char *env_tail,
                    const char *home, const char *home_tail)
{
	const char *x = getenv(env);
	char *s;
	if (x && *x)
		s = coco_asprintf("%s%s", x, env_tail);
	else if (home)
		s = coco_asprintf("%s%s", home, home_tail);
	else
		return 0;
	if (!s)
		return COCOIMG_ENOMEM;
	v[(*k)++] = s;
	return 0;
}

/* The containers-auth.json(5) search list without an explicit file. */
static int default_authfiles(char **v, bool *lg, size_t *k)
{
	const char *home = home_dir();
	char run[64];
	snprintf(run, sizeof(run), "/run/containers/%u", (unsigned)getuid());
	if (add_path(v, k, "XDG_RUNTIME_DIR", "/containers/auth.json", run, "/auth.json") ||
	    add_path(v, k, "XDG_CONFIG_HOME", "/containers/auth.json", home,
	             "/.config/containers/auth.json") ||
	    add_path(v, k, "DOCKER_CONFIG", "/config.json", home, "/.docker/config.json"))
		return COCOIMG_ENOMEM;
	if (!home)
		return 0;
	if (!(v[*k] = coco_asprintf("%s/.dockercfg", home)))
		return COCOIMG_ENOMEM;
	lg[(*k)++] = true;
	return 0;
}

int coco_authfile_paths(cocoimg_ctx *ctx, const char *side, char ***paths, bool **legacy,
                        size_t *n, bool *explicit_file)
{
	char *v[5] = { NULL };
	bool lg[5] = { false };
	size_t k = 0;
	const char *e = coco_opt(ctx, side, "authfile");
	const char *env = getenv("REGISTRY_AUTH_FILE");
	*explicit_file = e && *e;
	int rc;
	if (*explicit_file || (env && *env))
		rc = (v[k++] = coco_strdup(*explicit_file ? e : env)) ? 0 : COCOIMG_ENOMEM;
	else
		rc = default_authfiles(v, lg, &k);
	*paths = rc ? NULL : calloc(k ? k : 1, sizeof(char *));
	*legacy = rc ? NULL : calloc(k ? k : 1, sizeof(bool));
	if (!*paths || !*legacy) {
		free(*paths);
		free(*legacy);
		for (size_t i = 0; i < 5; i++)
			free(v[i]);
		return coco_oom(ctx);
	}
	memcpy(*paths, v, k * sizeof(char *));
	memcpy(*legacy, lg, k * sizeof(bool));
	*n = k;
	return 0;
}

static const char *normalize_registry(const char *r)
{
	if (!strcmp(r, "registry-1.docker.io") || !strcmp(r, "docker.io"))
		return "index.docker.io";
	return r;
}

/* containers/image normalizeAuthFileKey: strip a scheme; with a scheme (or
 * in the legacy format) cut at the first '/'. */
static char *normalize_key(const char *key, bool legacy)
{
	const char *s = key;
	if (!strncmp(s, "http://", 7))
		s += 7;
	else if (!strncmp(s, "https://", 8))
		s += 8;
	size_t len = strlen(s);
	if (legacy || s != key) {
		const char *slash = strchr(s, '/');
		if (slash)
			len = (size_t)(slash - s);
	}
	char *c = coco_strndup(s, len);
	if (!c)
		return NULL;
	const char *n = normalize_registry(c);
	if (n != c) {
		free(c);
		return coco_strdup(n);
	}
	return c;
}

/* Decode an entry; 1 = usable credentials, 0 = empty/skip, <0 error. */
static int decode_entry(cocoimg_ctx *ctx, json_t *ent, const char *file, const char *key,
                        coco_creds *out)
{
	if (!json_is_object(ent))
		return coco_seterr(ctx, COCOIMG_ECONFIG, "%s: entry \"%s\" is not an object", file, key);
	const char *auth = json_string_value(json_object_get(ent, "auth"));
	const char *idt = json_string_value(json_object_get(ent, "identitytoken"));
	char *user = NULL, *pass = NULL;
	if (auth && *auth) {
		coco_buf b = COCO_BUF_INIT;
		if (coco_b64_decode(auth, strlen(auth), &b))
			return coco_seterr(ctx, COCOIMG_ECONFIG,
			                   "%s: entry \"%s\": \"auth\" is not valid base64", file, key);
		char *s = coco_buf_cstr(&b);
		char *colon = s ? memchr(s, ':', b.len) : NULL;
		if (colon) {
			size_t plen = b.len - (size_t)(colon + 1 - s);
			/* trailing NULs, as containers/image trims them */
			while (plen && colon[plen] == 0)
				plen--;
			user = coco_strndup(s, (size_t)(colon - s));
			pass = coco_strndup(colon + 1, plen);
		}
		coco_buf_wipe_free(&b);
		if (colon && (!user || !pass)) {
			free(user);
			coco_free_secret_str(pass);
			return coco_oom(ctx);
		}
	}
	if (!user && !(idt && *idt))
		return 0;       /* a marker entry (credential helper) or malformed: skip */
	out->user = user;
	out->pass = pass;
	out->identity_token = idt && *idt ? coco_strdup(idt) : NULL;
	out->source = coco_strdup(file);
	return 1;
}

int coco_authjson_lookup(cocoimg_ctx *ctx, const char *data, size_t len, const char *file,
                         bool legacy, const char *host, const char *path, coco_creds *out)
{
	json_error_t jerr;
	json_t *j = json_loadb(data, len, 0, &jerr);
	if (!j || !json_is_object(j)) {
		json_decref(j);
		return coco_seterr(ctx, COCOIMG_ECONFIG, "%s: not a JSON object (line %d)", file,
		                   jerr.line);
	}
	json_t *auths = legacy ? j : json_object_get(j, "auths");
	int rc = 0;
	if (!auths) {
		json_decref(j);
		return 0;
	}
	if (!json_is_object(auths)) {
		json_decref(j);
		return coco_seterr(ctx, COCOIMG_ECONFIG, "%s: \"auths\" is not an object", file);
	}
	/* 1. exact keys, most specific first: host/ns/repo, host/ns, host */
	char *key = legacy || !path || !*path ? coco_strdup(host) : coco_asprintf("%s/%s", host, path);
	if (!key) {
		json_decref(j);
		return coco_oom(ctx);
	}
	for (;;) {
		json_t *ent = json_object_get(auths, key);
		if (ent) {
			rc = decode_entry(ctx, ent, file, key, out);
			goto done;
		}
		char *slash = strrchr(key, '/');
		if (!slash || legacy)
			break;
		*slash = 0;
	}
	/* 2. normalised keys (URLs written by old docker login, docker.io
	 * aliases), in file order */
	const char *want = normalize_registry(host);
	const char *k;
	json_t *ent;
	json_object_foreach(auths, k, ent) {
		char *nk = normalize_key(k, legacy);
		if (!nk) {
			rc = coco_oom(ctx);
			goto done;
		}
		bool match = !strcmp(nk, want);
		free(nk);
		if (match) {
			rc = decode_entry(ctx, ent, file, k, out);
			goto done;
		}
	}
done:
	free(key);
	json_decref(j);
	return rc;
}

/* Credentials given as options: "registry-token" or "creds" USER[:PASS].
 * Returns 1 when one was given (out filled), 0 when not, <0 on error. */
static int creds_from_opts(cocoimg_ctx *ctx, const char *side, coco_creds *out)
{
	const char *tok = coco_opt(ctx, side, "registry-token");
	const char *cr = coco_opt(ctx, side, "creds");
	if (tok && *tok) {
		out->bearer = coco_strdup(tok);
		out->source = coco_strdup("--registry-token");
	} else if (cr && *cr) {
		const char *colon = strchr(cr, ':');
		size_t ulen = colon ? (size_t)(colon - cr) : strlen(cr);
		if (!ulen)
			return coco_seterr(ctx, COCOIMG_EINVAL, "--creds: the user name is empty");
		out->user = coco_strndup(cr, ulen);
		out->pass = coco_strdup(colon ? colon + 1 : "");
		out->source = coco_strdup("--creds");
	} else {
		return 0;
	}
	if (!out->source || !(out->bearer || (out->user && out->pass))) {
		coco_creds_clear(out);
		return coco_oom(ctx);
	}
	return 1;
}

/* Look host/path up in one auth file: 1 found, 0 not (or missing and not
 * explicit), <0 error. */
static int creds_from_file(cocoimg_ctx *ctx, const char *file, bool legacy, bool explicit_file,
                           const char *host, const char *path, coco_creds *out)
{
	bool uri = coco_name_is_uri(file);   /* a resource URI: fetched, never a path */
	if (!uri && access(file, F_OK) != 0) {
		if (explicit_file)
			return coco_seterr(ctx, COCOIMG_ECONFIG, "authfile %s: %s", file, strerror(errno));
		return 0;
	}
	coco_buf b = COCO_BUF_INIT;
	int rc = coco_read_named(ctx, file, 4 << 20, "authfile", COCOIMG_EAUTH, &b, COCOIMG_ECONFIG);
	if (!rc)
		rc = coco_authjson_lookup(ctx, (const char *)b.data, b.len, file, legacy, host, path,
		                          out);
	else if (rc == COCOIMG_EIO && !uri)
		rc = COCOIMG_ECONFIG;
	coco_buf_wipe_free(&b);
	return rc;
}

int coco_creds_lookup(cocoimg_ctx *ctx, const char *side, const char *host, const char *path,
                      coco_creds *out)
{
	memset(out, 0, sizeof(*out));
	if (coco_opt_bool(ctx, side, "no-creds", false))
		return 0;
	int rc = creds_from_opts(ctx, side, out);
	if (rc)
		return rc < 0 ? rc : 0;
	char **paths = NULL;
	bool *legacy = NULL;
	size_t n = 0;
	bool explicit_file = false;
	rc = coco_authfile_paths(ctx, side, &paths, &legacy, &n, &explicit_file);
	if (rc)
		return rc;
	for (size_t i = 0; i < n && !rc; i++) {
		rc = creds_from_file(ctx, paths[i], legacy[i], explicit_file, host, path, out);
		if (rc == 1)
			coco_debug(ctx, "credentials for %s from %s", host, paths[i]);
	}
	coco_strv_free(paths, n);
	free(legacy);
	if (rc < 0) {
		coco_creds_clear(out);
		return rc;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Bearer tokens                                                       */
/* ------------------------------------------------------------------ */

struct coco_token {
	coco_token *next;
	char *key;                 /* user \n realm \n service \n scope */
	char *token;               /* secret */
	time_t expires;
};

void coco_tokens_free(coco_token *t)
{
	while (t) {
		coco_token *n = t->next;
		free(t->key);
		coco_free_secret_str(t->token);
		free(t);
		t = n;
	}
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Scopes split on spaces, sorted, de-duplicated. */
static int split_scopes(const char *scope, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	const char *p = scope ? scope : "";
	while (*p) {
		while (*p == ' ')
			p++;
		const char *s = p;
		while (*p && *p != ' ')
			p++;
		if (p == s)
			continue;
		char **a = realloc(*out, (*n + 1) * sizeof(*a));
		if (!a || !(a[*n] = coco_strndup(s, (size_t)(p - s)))) {
			if (a)
				*out = a;
			coco_strv_free(*out, *n);
			*out = NULL;
			*n = 0;
			return COCOIMG_ENOMEM;
		}
		*out = a;
		(*n)++;
	}
	if (*n > 1)
		qsort(*out, *n, sizeof(char *), cmp_cstr);
	size_t w = 0;
	for (size_t i = 0; i < *n; i++) {
		if (w && !strcmp((*out)[w - 1], (*out)[i])) {
			free((*out)[i]);
			continue;
		}
		(*out)[w++] = (*out)[i];
	}
	*n = w;
	return 0;
}

/* Append "<sep>name=<escaped value>" to q; *sep becomes '&'.  Values
 * that are secrets are wiped once escaped and appended. */
static int append_param(coco_buf *q, char *sep, const char *name, const char *value, bool secret)
{
	char *e = coco_url_escape(value);
	int rc = !e || coco_buf_appendf(q, "%c%s=%s", *sep, name, e) ? COCOIMG_ENOMEM : 0;
	if (secret)
		coco_free_secret_str(e);
	else
		free(e);
	*sep = '&';
	return rc;
}

/* The OAuth2 refresh-token form (RFC 6749 6), with one space-separated
 * scope, and its Content-Type header. */
static int token_form(const coco_creds *c, const char *service, char **scopes, size_t n_scopes,
                      coco_buf *form, struct curl_slist **hdr)
{
	char sep = '&';
	*hdr = curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded");
	if (!*hdr || coco_buf_appendf(form, "grant_type=refresh_token&client_id=coco-img") ||
	    append_param(form, &sep, "refresh_token", c->identity_token, true))
		return COCOIMG_ENOMEM;
	if (service && *service && append_param(form, &sep, "service", service, false))
		return COCOIMG_ENOMEM;
	if (!n_scopes)
		return 0;
	coco_buf all = COCO_BUF_INIT;
	int rc = 0;
	for (size_t i = 0; i < n_scopes && !rc; i++)
		rc = coco_buf_appendf(&all, "%s%s", i ? " " : "", scopes[i]);
	const char *joined = rc ? NULL : coco_buf_cstr(&all);
	rc = joined ? append_param(form, &sep, "scope", joined, false) : COCOIMG_ENOMEM;
	coco_buf_free(&all);
	return rc ? COCOIMG_ENOMEM : 0;
}

/* The Docker token GET query: service, one scope parameter each, account;
 * and Basic authorization when there is a password. */
static int token_query(const coco_creds *c, const char *realm, const char *service,
                       char **scopes, size_t n_scopes, coco_buf *url, char **authz)
{
	if (c->user && c->pass && !(*authz = coco_basic_authz(c)))
		return COCOIMG_ENOMEM;
	char sep = strchr(realm, '?') ? '&' : '?';
	if (service && *service && append_param(url, &sep, "service", service, false))
		return COCOIMG_ENOMEM;
	for (size_t i = 0; i < n_scopes; i++)
		if (append_param(url, &sep, "scope", scopes[i], false))
			return COCOIMG_ENOMEM;
	if (c->user && *c->user && append_param(url, &sep, "account", c->user, false))
		return COCOIMG_ENOMEM;
	return 0;
}

/* Perform req, retrying transport errors, 429 and 5xx up to r->retries. */
static int token_perform(coco_reg *r, coco_http_req *req, coco_http_resp *resp)
{
	unsigned attempt = 0;
	for (;;) {
		CURLcode cc = CURLE_OK;
		int rc = coco_http_perform(r->ctx, &r->tls, req, resp, &cc);
		if (coco_reg_retry_wait(r, &attempt, rc, cc != CURLE_OK && coco_http_retryable(cc),
		                        resp))
			continue;
		return rc;
	}
}

/* An error for a token server answer other than 200, or 0. */
static int token_status(coco_reg *r, bool oauth, const coco_http_resp *resp)
{
	cocoimg_ctx *ctx = r->ctx;
	if (resp->status == 200)
		return 0;
	char *m = coco_reg_errbody(resp);
	int rc;
	/* OAuth2 (RFC 6749 5.2) refuses a refresh token with 400 invalid_grant */
	if (resp->status == 401 || resp->status == 403 || (oauth && resp->status == 400))
		rc = coco_seterr(ctx, COCOIMG_EAUTH,
		                 "%s: the token server refused %s (HTTP %ld: %s)", r->host,
		                 oauth ? "the identity token"
		                       : r->creds.user ? "the credentials" : "anonymous access",
		                 resp->status, m);
	else
		rc = coco_seterr(ctx, COCOIMG_ENET, "%s: token request failed (HTTP %ld: %s)",
		                 r->host, resp->status, m);
	free(m);
	return rc;
}

/* The token ("token", else "access_token") and its lifetime, clamped to
 * [60 s, 1 day] (which keeps now + secs far from overflow). */
static int token_parse(coco_reg *r, const coco_buf *body, char **token, long *expires_in)
{
	json_t *j = json_loadb((const char *)body->data, body->len, 0, NULL);
	const char *t = j ? json_string_value(json_object_get(j, "token")) : NULL;
	if (!t || !*t)
		t = j ? json_string_value(json_object_get(j, "access_token")) : NULL;
	if (!t || !*t) {
		json_decref(j);
		return coco_seterr(r->ctx, COCOIMG_ENET, "%s: the token server's answer has no token",
		                   r->host);
	}
	json_t *ei = json_object_get(j, "expires_in");
	long secs = json_is_integer(ei) ? (long)json_integer_value(ei) : 60;
	*expires_in = secs < 60 ? 60 : secs > 86400 ? 86400 : secs;
	*token = coco_strdup(t);
	json_decref(j);
	return *token ? 0 : coco_oom(r->ctx);
}

/* Ask the token server at realm for a token: a GET with the Docker token
 * query (and Basic credentials when there are any), or with an identity
 * token the OAuth2 refresh-token POST. */
static int fetch_token(coco_reg *r, const char *realm, const char *service, char **scopes,
                       size_t n_scopes, char **token, long *expires_in)
{
	cocoimg_ctx *ctx = r->ctx;
	const coco_creds *c = &r->creds;
	if (strncasecmp(realm, "https://", 8) && strncasecmp(realm, "http://", 7))
		return coco_seterr(ctx, COCOIMG_ENET, "%s: token realm \"%s\" is not an http(s) URL",
		                   r->host, realm);
	bool oauth = c->identity_token != NULL;
	coco_buf url = COCO_BUF_INIT, form = COCO_BUF_INIT;
	char *authz = NULL;
	struct curl_slist *hdr = NULL;
	coco_http_resp resp = { .content_length = -1 };
	int rc;
	if (coco_buf_appendf(&url, "%s", realm))
		rc = COCOIMG_ENOMEM;
	else if (oauth)
		rc = token_form(c, service, scopes, n_scopes, &form, &hdr);
	else
		rc = token_query(c, realm, service, scopes, n_scopes, &url, &authz);
	if (rc) {
		rc = coco_oom(ctx);
		goto out;
	}
	coco_http_req req = {
		.method = oauth ? "POST" : "GET",
		.url = coco_buf_cstr(&url),
		.headers = hdr,
		.authorization = authz,
		.body = oauth ? form.data : NULL,
		.body_len = oauth ? form.len : 0,
		.send_body = oauth,
		.max_body = coco_limit_size(ctx, COCO_LIM_TOKEN_SIZE),
		.max_key = coco_limit_key(COCO_LIM_TOKEN_SIZE),
	};
	rc = token_perform(r, &req, &resp);
	if (rc)
		coco_preferr(ctx, rc, "token server for %s", r->host);
	else if (!(rc = token_status(r, oauth, &resp)))
		rc = token_parse(r, &resp.body, token, expires_in);
out:
	coco_free_secret_str(authz);
	curl_slist_free_all(hdr);
	if (resp.body.data)
		coco_wipe(resp.body.data, resp.body.len);
	coco_http_resp_clear(&resp);
	coco_buf_free(&url);
	coco_buf_wipe_free(&form);
	return rc;
}

/* A copy of the cached token for key that is good for 10 s more, or NULL. */
static char *token_cached(coco_reg_state *st, const char *key, time_t now)
{
	char *tok = NULL;
	pthread_mutex_lock(&st->mu);
	for (coco_token *t = st->tokens; t; t = t->next) {
		if (!strcmp(t->key, key) && t->expires > now + 10) {
			tok = coco_strdup(t->token);
			break;
		}
	}
	pthread_mutex_unlock(&st->mu);
	return tok;
}

/* Cache token under key, replacing an older one.  Best effort: a failed
 * allocation only means the next request fetches again. */
static void token_store(coco_reg_state *st, const char *key, const char *token, time_t expires)
{
	coco_token *nt = calloc(1, sizeof(*nt));
	if (!nt || !(nt->key = coco_strdup(key)) || !(nt->token = coco_strdup(token))) {
		coco_tokens_free(nt);
		return;
	}
	nt->expires = expires;
	pthread_mutex_lock(&st->mu);
	for (coco_token **pp = &st->tokens; *pp; pp = &(*pp)->next) {
		if (!strcmp((*pp)->key, key)) {
			coco_token *old = *pp;
			*pp = old->next;
			old->next = NULL;
			coco_tokens_free(old);
			break;
		}
	}
	nt->next = st->tokens;
	st->tokens = nt;
	pthread_mutex_unlock(&st->mu);
}

/* The cache key: user \n realm \n service \n sorted scopes. */
static char *token_key(const coco_reg *r, const char *realm, const char *service,
                       char **scopes, size_t n)
{
	coco_buf key = COCO_BUF_INIT;
	int rc = coco_buf_appendf(&key, "%s\n%s\n%s\n", r->creds.user ? r->creds.user : "", realm,
	                          service ? service : "");
	for (size_t i = 0; i < n && !rc; i++)
		rc = coco_buf_appendf(&key, "%s%s", i ? " " : "", scopes[i]);
	char *k = rc ? NULL : coco_buf_cstr(&key);
	if (!k)
		coco_buf_free(&key);
	return k;
}

int coco_token_get(coco_reg *r, const char *realm, const char *service, const char *scope,
                   bool refresh, char **token)
{
	*token = NULL;
	coco_reg_state *st = coco_reg_state_get(r->ctx);
	char **scopes = NULL;
	size_t n = 0;
	if (!st || split_scopes(scope, &scopes, &n))
		return coco_oom(r->ctx);
	char *k = token_key(r, realm, service, scopes, n);
	if (!k) {
		coco_strv_free(scopes, n);
		return coco_oom(r->ctx);
	}
	time_t now = time(NULL);
	int rc = 0;
	if (!refresh)
		*token = token_cached(st, k, now);
	if (!*token) {
		long secs = 60;
		rc = fetch_token(r, realm, service, scopes, n, token, &secs);
		if (!rc)
			token_store(st, k, *token, now + secs);
	}
	free(k);
	coco_strv_free(scopes, n);
	return rc;
}
