/*
 * Registry authentication: WWW-Authenticate challenges, credentials from
 * --creds / auth.json files (containers-auth.json(5)), and bearer tokens
 * cached per (credentials, realm, service, scope) in the context.
 */
#include "registry.h"

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

int coco_www_auth_parse(const char *value, coco_challenge **arr, size_t *n)
{
	const char *p = value ? value : "";
	coco_challenge *cur = NULL;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
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
		if (*p == '=' && cur) {
			/* a parameter of the current challenge, unless it is a
			 * token68 ("abc==") which we ignore */
			p++;
			skip_ws(&p);
			char *val;
			if (*p == '"') {
				val = parse_quoted(&p);
			} else {
				const char *v = p;
				while (*p && *p != ',' && *p != ' ' && *p != '\t')
					p++;
				val = coco_strndup(v, (size_t)(p - v));
			}
			if (!val)
				return COCOIMG_ENOMEM;
			if (set_param(cur, tok, tlen, val))
				return COCOIMG_ENOMEM;
			continue;
		}
		if (*p == '=') {
			/* parameter before any scheme: skip its value */
			p++;
			skip_ws(&p);
			if (*p == '"')
				free(parse_quoted(&p));
			else
				while (*p && *p != ',')
					p++;
			continue;
		}
		/* a new challenge: scheme name */
		p = after;
		coco_challenge *a = realloc(*arr, (*n + 1) * sizeof(*a));
		if (!a)
			return COCOIMG_ENOMEM;
		*arr = a;
		cur = &a[*n];
		memset(cur, 0, sizeof(*cur));
		(*n)++;
		if (tlen == 6 && !strncasecmp(tok, "bearer", 6))
			cur->scheme = COCO_AUTH_BEARER;
		else if (tlen == 5 && !strncasecmp(tok, "basic", 5))
			cur->scheme = COCO_AUTH_BASIC;
		else
			cur->scheme = COCO_AUTH_OTHER;
	}
	return 0;
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

static void free_secret_str(char *s)
{
	if (s)
		coco_free_secret(s, strlen(s));
}

void coco_creds_clear(coco_creds *c)
{
	if (!c)
		return;
	free(c->user);
	free_secret_str(c->pass);
	free_secret_str(c->identity_token);
	free_secret_str(c->bearer);
	free(c->source);
	memset(c, 0, sizeof(*c));
}

static const char *home_dir(void)
{
	const char *h = getenv("HOME");
	if (h && *h)
		return h;
	struct passwd *pw = getpwuid(getuid());
	return pw ? pw->pw_dir : NULL;
}

int coco_authfile_paths(cocoimg_ctx *ctx, const char *side, char ***paths, bool **legacy,
                        size_t *n, bool *explicit_file)
{
	char *v[5] = { NULL };
	bool lg[5] = { false };
	size_t k = 0;
	*explicit_file = false;
	const char *e = coco_opt(ctx, side, "authfile");
	const char *env = getenv("REGISTRY_AUTH_FILE");
	if ((e && *e) || (env && *env)) {
		*explicit_file = e && *e;
		if (!(v[k++] = coco_strdup(e && *e ? e : env)))
			goto nomem;
	} else {
		const char *home = home_dir();
		const char *x = getenv("XDG_RUNTIME_DIR");
		if (x && *x)
			v[k++] = coco_asprintf("%s/containers/auth.json", x);
		else
			v[k++] = coco_asprintf("/run/containers/%u/auth.json", (unsigned)getuid());
		if (!v[k - 1])
			goto nomem;
		x = getenv("XDG_CONFIG_HOME");
		if (x && *x)
			v[k++] = coco_asprintf("%s/containers/auth.json", x);
		else if (home)
			v[k++] = coco_asprintf("%s/.config/containers/auth.json", home);
		if (k == 2 && !v[1])
			goto nomem;
		x = getenv("DOCKER_CONFIG");
		if (x && *x) {
			if (!(v[k++] = coco_asprintf("%s/config.json", x)))
				goto nomem;
		} else if (home) {
			if (!(v[k++] = coco_asprintf("%s/.docker/config.json", home)))
				goto nomem;
		}
		if (home) {
			lg[k] = true;
			if (!(v[k++] = coco_asprintf("%s/.dockercfg", home)))
				goto nomem;
		}
	}
	*paths = calloc(k ? k : 1, sizeof(char *));
	*legacy = calloc(k ? k : 1, sizeof(bool));
	if (!*paths || !*legacy) {
		free(*paths);
		free(*legacy);
		goto nomem;
	}
	for (size_t i = 0; i < k; i++) {
		(*paths)[i] = v[i];
		(*legacy)[i] = lg[i];
	}
	*n = k;
	return 0;
nomem:
	for (size_t i = 0; i < 5; i++)
		free(v[i]);
	return coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory");
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
		if (coco_b64_decode(auth, strlen(auth), &b)) {
			coco_buf_wipe_free(&b);
			return coco_seterr(ctx, COCOIMG_ECONFIG,
			                   "%s: entry \"%s\": \"auth\" is not valid base64", file, key);
		}
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
			free_secret_str(pass);
			return coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory");
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
		return coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory");
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
			rc = coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory");
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

int coco_creds_lookup(cocoimg_ctx *ctx, const char *side, const char *host, const char *path,
                      coco_creds *out)
{
	memset(out, 0, sizeof(*out));
	if (coco_opt_bool(ctx, side, "no-creds", false))
		return 0;
	const char *tok = coco_opt(ctx, side, "registry-token");
	if (tok && *tok) {
		out->bearer = coco_strdup(tok);
		out->source = coco_strdup("--registry-token");
		if (!out->bearer || !out->source) {
			coco_creds_clear(out);
			return coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory");
		}
		return 0;
	}
	const char *cr = coco_opt(ctx, side, "creds");
	if (cr && *cr) {
		const char *colon = strchr(cr, ':');
		size_t ulen = colon ? (size_t)(colon - cr) : strlen(cr);
		if (!ulen)
			return coco_seterr(ctx, COCOIMG_EINVAL, "--creds: the user name is empty");
		out->user = coco_strndup(cr, ulen);
		out->pass = coco_strdup(colon ? colon + 1 : "");
		out->source = coco_strdup("--creds");
		if (!out->user || !out->pass || !out->source) {
			coco_creds_clear(out);
			return coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory");
		}
		return 0;
	}
	char **paths = NULL;
	bool *legacy = NULL;
	size_t n = 0;
	bool explicit_file = false;
	int rc = coco_authfile_paths(ctx, side, &paths, &legacy, &n, &explicit_file);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		coco_buf b = COCO_BUF_INIT;
		if (access(paths[i], F_OK) != 0) {
			if (explicit_file) {
				rc = coco_seterr(ctx, COCOIMG_ECONFIG, "authfile %s: %s", paths[i],
				                 strerror(errno));
				break;
			}
			continue;
		}
		rc = coco_read_file(ctx, paths[i], 4 << 20, &b, COCOIMG_ECONFIG);
		if (rc) {
			coco_buf_wipe_free(&b);
			if (rc == COCOIMG_EIO)
				rc = COCOIMG_ECONFIG;
			break;
		}
		rc = coco_authjson_lookup(ctx, (const char *)b.data, b.len, paths[i], legacy[i], host,
		                          path, out);
		coco_buf_wipe_free(&b);
		if (rc < 0)
			break;
		if (rc == 1) {
			rc = 0;
			coco_debug(ctx, "credentials for %s from %s", host, paths[i]);
			break;
		}
		rc = 0;
	}
	coco_strv_free(paths, n);
	free(legacy);
	if (rc)
		coco_creds_clear(out);
	return rc;
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
		free_secret_str(t->token);
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

static int fetch_token(coco_reg *r, const char *realm, const char *service, char **scopes,
                       size_t n_scopes, char **token, long *expires_in)
{
	cocoimg_ctx *ctx = r->ctx;
	coco_creds *c = &r->creds;
	if (strncasecmp(realm, "https://", 8) && strncasecmp(realm, "http://", 7))
		return coco_seterr(ctx, COCOIMG_ENET, "%s: token realm \"%s\" is not an http(s) URL",
		                   r->host, realm);
	coco_buf url = COCO_BUF_INIT, form = COCO_BUF_INIT;
	int rc = 0;
	bool oauth = c->identity_token != NULL;
	coco_buf *q = oauth ? &form : &url;
	char sep = strchr(realm, '?') ? '&' : '?';
	if (coco_buf_appendf(&url, "%s", realm))
		goto nomem;
	if (oauth) {
		char *rt = coco_url_escape(c->identity_token);
		if (!rt || coco_buf_appendf(&form, "grant_type=refresh_token&client_id=coco-img&refresh_token=%s", rt)) {
			free_secret_str(rt);
			goto nomem;
		}
		free_secret_str(rt);
		sep = '&';
	}
	if (service && *service) {
		char *e = coco_url_escape(service);
		if (!e || coco_buf_appendf(q, "%cservice=%s", sep, e)) {
			free(e);
			goto nomem;
		}
		free(e);
		sep = '&';
	}
	if (oauth) {
		/* OAuth2 form: one space-separated scope parameter */
		coco_buf all = COCO_BUF_INIT;
		for (size_t i = 0; i < n_scopes; i++)
			if (coco_buf_appendf(&all, "%s%s", i ? " " : "", scopes[i]))
				goto nomem;
		if (n_scopes) {
			char *e = coco_url_escape(coco_buf_cstr(&all));
			if (!e || coco_buf_appendf(q, "&scope=%s", e)) {
				free(e);
				coco_buf_free(&all);
				goto nomem;
			}
			free(e);
		}
		coco_buf_free(&all);
	} else {
		for (size_t i = 0; i < n_scopes; i++) {
			char *e = coco_url_escape(scopes[i]);
			if (!e || coco_buf_appendf(q, "%cscope=%s", sep, e)) {
				free(e);
				goto nomem;
			}
			free(e);
			sep = '&';
		}
		if (c->user && *c->user) {
			char *e = coco_url_escape(c->user);
			if (!e || coco_buf_appendf(q, "%caccount=%s", sep, e)) {
				free(e);
				goto nomem;
			}
			free(e);
		}
	}

	char *authz = NULL;
	if (!oauth && c->user && c->pass) {
		char *up = coco_asprintf("%s:%s", c->user, c->pass);
		char *b64 = up ? coco_b64_encode((const unsigned char *)up, strlen(up)) : NULL;
		authz = b64 ? coco_asprintf("Authorization: Basic %s", b64) : NULL;
		free_secret_str(up);
		free_secret_str(b64);
		if (!authz)
			goto nomem;
	}
	struct curl_slist *hdr = NULL;
	if (oauth) {
		hdr = curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded");
		if (!hdr) {
			free_secret_str(authz);
			goto nomem;
		}
	}
	coco_http_req req = {
		.method = oauth ? "POST" : "GET",
		.url = coco_buf_cstr(&url),
		.headers = hdr,
		.authorization = authz,
		.body = oauth ? form.data : NULL,
		.body_len = oauth ? form.len : 0,
		.send_body = oauth,
		.max_body = COCO_REG_MAX_TOKEN,
	};
	coco_http_resp resp = { .content_length = -1 };
	unsigned attempt = 0;
	for (;;) {
		CURLcode cc;
		rc = coco_http_perform(ctx, &r->tls, &req, &resp, &cc);
		if (rc && cc != CURLE_OK && coco_http_retryable(cc) && attempt < (unsigned)r->retries) {
			coco_http_backoff(attempt++, NULL);
			continue;
		}
		if (!rc && (resp.status == 429 || resp.status >= 500) && attempt < (unsigned)r->retries) {
			coco_http_backoff(attempt++, resp.retry_after);
			continue;
		}
		break;
	}
	free_secret_str(authz);
	curl_slist_free_all(hdr);
	if (rc) {
		coco_preferr(ctx, rc, "token server for %s", r->host);
		goto out;
	}
	/* OAuth2 (RFC 6749 5.2) refuses a refresh token with 400 invalid_grant */
	if (resp.status == 401 || resp.status == 403 || (oauth && resp.status == 400)) {
		char *m = coco_reg_errbody(&resp);
		rc = coco_seterr(ctx, COCOIMG_EAUTH,
		                 "%s: the token server refused %s (HTTP %ld: %s)", r->host,
		                 oauth ? "the identity token" : c->user ? "the credentials" : "anonymous access",
		                 resp.status, m);
		free(m);
		goto out;
	}
	if (resp.status != 200) {
		char *m = coco_reg_errbody(&resp);
		rc = coco_seterr(ctx, COCOIMG_ENET, "%s: token request failed (HTTP %ld: %s)", r->host,
		                 resp.status, m);
		free(m);
		goto out;
	}
	json_t *j = json_loadb((const char *)resp.body.data, resp.body.len, 0, NULL);
	const char *t = j ? json_string_value(json_object_get(j, "token")) : NULL;
	if (!t || !*t)
		t = j ? json_string_value(json_object_get(j, "access_token")) : NULL;
	if (!t || !*t) {
		json_decref(j);
		rc = coco_seterr(ctx, COCOIMG_ENET, "%s: the token server's answer has no token", r->host);
		goto out;
	}
	json_t *ei = json_object_get(j, "expires_in");
	long secs = json_is_integer(ei) ? (long)json_integer_value(ei) : 60;
	if (secs < 60)
		secs = 60;
	if (secs > 86400)
		secs = 86400;  /* keeps now + secs far from overflow */
	*expires_in = secs;
	*token = coco_strdup(t);
	json_decref(j);
	if (!*token)
		rc = coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory");
out:
	if (resp.body.data)
		coco_wipe(resp.body.data, resp.body.len);
	coco_http_resp_clear(&resp);
	coco_buf_free(&url);
	coco_buf_wipe_free(&form);
	return rc;
nomem:
	coco_buf_free(&url);
	coco_buf_wipe_free(&form);
	return coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory");
}

int coco_token_get(coco_reg *r, const char *realm, const char *service, const char *scope,
                   bool refresh, char **token)
{
	*token = NULL;
	coco_reg_state *st = coco_reg_state_get(r->ctx);
	if (!st)
		return coco_seterr(r->ctx, COCOIMG_ENOMEM, "out of memory");
	char **scopes;
	size_t n;
	if (split_scopes(scope, &scopes, &n))
		return coco_seterr(r->ctx, COCOIMG_ENOMEM, "out of memory");
	coco_buf key = COCO_BUF_INIT;
	coco_buf_appendf(&key, "%s\n%s\n%s\n", r->creds.user ? r->creds.user : "",
	                 realm, service ? service : "");
	for (size_t i = 0; i < n; i++)
		coco_buf_appendf(&key, "%s%s", i ? " " : "", scopes[i]);
	char *k = coco_buf_cstr(&key);
	if (!k) {
		coco_strv_free(scopes, n);
		return coco_seterr(r->ctx, COCOIMG_ENOMEM, "out of memory");
	}
	time_t now = time(NULL);
	pthread_mutex_lock(&st->mu);
	for (coco_token *t = st->tokens; t && !refresh; t = t->next) {
		/* refresh a little before expiry */
		if (!strcmp(t->key, k) && t->expires > now + 10) {
			*token = coco_strdup(t->token);
			break;
		}
	}
	pthread_mutex_unlock(&st->mu);
	int rc = 0;
	if (!*token) {
		long secs = 60;
		rc = fetch_token(r, realm, service, scopes, n, token, &secs);
		if (!rc) {
			coco_token *nt = calloc(1, sizeof(*nt));
			if (nt && (nt->key = coco_strdup(k)) && (nt->token = coco_strdup(*token))) {
				nt->expires = now + secs;
				pthread_mutex_lock(&st->mu);
				/* replace an older token for the same key */
				for (coco_token **pp = &st->tokens; *pp; pp = &(*pp)->next) {
					if (!strcmp((*pp)->key, k)) {
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
			} else if (nt) {
				coco_tokens_free(nt);
			}
		}
	}
	coco_buf_free(&key);
	coco_strv_free(scopes, n);
	return rc;
}
