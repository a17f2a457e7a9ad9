/*
 * A client for one registry repository: ping (scheme and challenge),
 * authorization headers, and the request loop with auth renewal,
 * redirects and retries.
 */
#include "registry.h"
#include "../base.h"
#include "../ref.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool coco_reg_retry_wait(const coco_reg *r, unsigned *attempt, int rc, bool transport_retry,
                         const coco_http_resp *resp)
{
	if (*attempt >= (unsigned)r->retries)
		return false;
	if (rc && transport_retry) {
		char *why = coco_strdup(cocoimg_ctx_last_error(r->ctx));
		int brc = coco_http_backoff(r->ctx, (*attempt)++, NULL, "%s", why ? why : r->host);
		free(why);
		if (brc)
			return false;
		coco_clearerr(r->ctx);
		return true;
	}
	if (!rc && (resp->status == 429 || resp->status >= 500))
		return !coco_http_backoff(r->ctx, (*attempt)++, resp->retry_after,
		                          "%s: the registry answered HTTP %ld", r->host, resp->status);
	return false;
}

void coco_reg_free(coco_reg *r)
{
	if (!r)
		return;
	COCO_FREE_FIELDS(r->host, r->wire_host, r->path, r->scheme, r->base, r->realm, r->service);
	coco_tls_clear(&r->tls);
	coco_creds_clear(&r->creds);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

int coco_reg_repo_open(cocoimg_ctx *ctx, const char *side, const coco_dref *ref,
                       const char *actions, coco_reg_repo *rr)
{
	rr->scope = coco_asprintf("repository:%s:%s", ref->path, actions);
	rr->name = coco_dref_repo(ref);
	int rc = rr->scope && rr->name ? 0 : coco_oom(ctx);
	if (!rc)
		rc = coco_reg_open(ctx, side, ref, &rr->reg);
	if (!rc)
		rc = coco_reg_ping(rr->reg);
	return rc;
}

void coco_reg_repo_close(cocoimg_ctx *ctx, coco_reg_repo *rr)
{
	if (!rr)
		return;
	(void)ctx;
	coco_reg_free(rr->reg);
	COCO_CLEAR_FIELDS(rr, rr->scope, rr->name);
}

int coco_reg_open(cocoimg_ctx *ctx, const char *side, const coco_dref *ref, coco_reg **out)
{
	*out = NULL;
	if (!ref || !ref->domain || !ref->path)
		return coco_seterr(ctx, COCOIMG_EINVAL, "registry reference without a repository");
	if (!coco_reg_state_get(ctx))
		return coco_seterr(ctx, COCOIMG_ENOMEM, "cannot initialise libcurl");
	coco_reg *r = calloc(1, sizeof(*r));
	if (!r)
		return coco_oom(ctx);
	pthread_mutex_init(&r->mu, NULL);
	r->ctx = ctx;
	r->side = side;
	r->host = coco_strdup(ref->domain);
	/* Docker Hub's API lives on another name than the one users write */
	r->wire_host = coco_strdup(!strcmp(ref->domain, "docker.io") ? "registry-1.docker.io"
	                                                            : ref->domain);
	r->path = coco_strdup(ref->path);
	if (!r->host || !r->wire_host || !r->path) {
		coco_reg_free(r);
		return coco_oom(ctx);
	}
	r->insecure = !coco_opt_bool(ctx, side, "tls-verify", true);
	r->retries = coco_opt_long(ctx, side, "retry-times", 3);
	int rc = coco_tls_load(ctx, side, r->host, &r->tls);
	if (!rc)
		rc = coco_creds_lookup(ctx, side, r->host, r->path, &r->creds);
	if (rc) {
		coco_reg_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

static int set_base(coco_reg *r, const char *scheme)
{
	free(r->scheme);
	free(r->base);
	r->scheme = coco_strdup(scheme);
	r->base = coco_asprintf("%s://%s/v2/", scheme, r->wire_host);
	return r->scheme && r->base ? 0 : COCOIMG_ENOMEM;
}

/* One ping over one scheme. */
static int ping_once(coco_reg *r, const char *scheme, coco_http_resp *resp, CURLcode *cc)
{
	if (set_base(r, scheme))
		return coco_oom(r->ctx);
	coco_http_req req = { .method = "GET", .url = r->base };
	return coco_http_perform(r->ctx, &r->tls, &req, resp, cc);
}

/* Does the registry's name carry a port ("host:5000", "[::1]:5000")? */
static bool has_port(const char *host)
{
	const char *p = host[0] == '[' ? strchr(host, ']') : host;
	return p && strchr(p, ':');
}

/* The second scheme's ping after the first one failed. */
static int ping_other(coco_reg *r, const char *scheme, coco_http_resp *resp, CURLcode *cc)
{
	coco_debug(r->ctx, "%s: %s failed, trying %s", r->host, strcmp(scheme, "http") ? "http" : "https",
	           scheme);
	coco_clearerr(r->ctx);
	coco_http_resp_clear(resp);
	*cc = CURLE_OK;
	return ping_once(r, scheme, resp, cc);
}

/*
 * One ping per scheme until one answers.  A secure registry: https only.
 * An insecure one may be plain http (containers/image tries https, then
 * http).  When its name carries a port, that one port speaks either
 * plain http or TLS, so it is asked over http first: a plain-http
 * registry then costs one request and no TLS setup at all, and a TLS
 * port answers the plain request with 400 (or drops it), after which
 * https follows.  Without a port the schemes reach different ports (80
 * and 443), and https goes first so that it wins when both answer.
 */
static int ping_schemes(coco_reg *r, coco_http_resp *resp, CURLcode *cc)
{
	if (!r->insecure || !has_port(r->wire_host)) {
		int rc = ping_once(r, "https", resp, cc);
		if (rc && r->insecure && *cc != CURLE_OK)
			rc = ping_other(r, "http", resp, cc);
		return rc;
	}
	int rc = ping_once(r, "http", resp, cc);
	/* a TLS port answers a plain request with 400 or a redirect; any
	 * other answer is the registry's own (a 5xx is retried, a 404 is
	 * not a registry), and where nothing listens, https fails too */
	bool tls_port = !rc && (resp->status == 400 || (resp->status >= 300 && resp->status < 400));
	if (!tls_port && (!rc || *cc == CURLE_COULDNT_CONNECT))
		return rc;
	return ping_other(r, "https", resp, cc);
}

/* Ping (ping_schemes), retrying transport errors, 429 and 5xx. */
static int ping_retrying(coco_reg *r, coco_http_resp *resp, CURLcode *cc)
{
	unsigned attempt = 0;
	for (;;) {
		*cc = CURLE_OK;
		int rc = ping_schemes(r, resp, cc);
		bool transport_retry = *cc != CURLE_OK && coco_http_retryable(*cc) &&
		                       *cc != CURLE_SSL_CONNECT_ERROR;
		if (coco_reg_retry_wait(r, &attempt, rc, transport_retry, resp))
			continue;
		return rc;
	}
}

/* A registry that refuses our client certificate (TLS 1.3) often resets
 * the connection before its alert can be read: say so in the message. */
static void client_cert_hint(coco_reg *r, int rc, CURLcode cc)
{
	if (cc != CURLE_SEND_ERROR && cc != CURLE_RECV_ERROR && cc != CURLE_GOT_NOTHING &&
	    cc != CURLE_HTTP2)
		return;
	if (!r->scheme || strcmp(r->scheme, "https"))
		return;
	char msg[sizeof(r->ctx->err_msg)];
	snprintf(msg, sizeof(msg), "%s", cocoimg_ctx_last_error(r->ctx));
	if (r->tls.client_cert)
		coco_seterr(r->ctx, rc, "%s (the registry may have refused the TLS client certificate %s)",
		            msg, r->tls.client_cert);
	else
		coco_seterr(r->ctx, rc, "%s (if the registry requires a TLS client certificate, put NAME.cert + NAME.key in --cert-dir)",
		            msg);
}

/* Parse the challenges of a 401 (an array the caller frees with
 * coco_challenges_free) and pick the preferred one.  Out of memory stops
 * the parsing; the pick is then from what was parsed. */
static int challenges_of(cocoimg_ctx *ctx, const coco_http_resp *resp, coco_challenge **ch,
                         size_t *n, const coco_challenge **picked)
{
	int rc = 0;
	*ch = NULL;
	*n = 0;
	for (size_t i = 0; i < resp->n_www_auth && !rc; i++)
		if (coco_www_auth_parse(resp->www_auth[i], ch, n))
			rc = coco_oom(ctx);
	*picked = coco_challenge_pick(*ch, *n);
	return rc;
}

/* Remember the scheme, realm and service a 401 to the ping offers. */
static int ping_challenge(coco_reg *r, const coco_http_resp *resp)
{
	coco_challenge *ch;
	size_t n;
	const coco_challenge *c;
	int rc = challenges_of(r->ctx, resp, &ch, &n, &c);
	if (!rc && c) {
		r->auth = c->scheme;
		r->realm = coco_strdup(c->realm);
		r->service = coco_strdup(c->service);
	}
	coco_challenges_free(ch, n);
	return rc;
}

static int ping_answer(coco_reg *r, const coco_http_resp *resp)
{
	if (resp->status == 401)
		return ping_challenge(r, resp);
	if (resp->status == 200)
		return 0;
	char *m = coco_reg_errbody(resp);
	int rc = coco_seterr(r->ctx, COCOIMG_ENET,
	                     "%s does not look like a registry: GET /v2/ answered HTTP %ld (%s)",
	                     r->host, resp->status, m);
	free(m);
	return rc;
}

static const char *auth_name(coco_auth_scheme a)
{
	return a == COCO_AUTH_BEARER ? "bearer" : a == COCO_AUTH_BASIC ? "basic" : "none";
}

int coco_reg_ping(coco_reg *r)
{
	pthread_mutex_lock(&r->mu);
	if (r->pinged) {
		pthread_mutex_unlock(&r->mu);
		return 0;
	}
	coco_reg_state *st = coco_reg_state_get(r->ctx);
	if (st && coco_ping_memo_get(st, r)) {
		r->pinged = true;
		coco_debug(r->ctx, "registry %s: %s, auth %s (as pinged before)", r->host, r->scheme,
		           auth_name(r->auth));
		pthread_mutex_unlock(&r->mu);
		return 0;
	}
	coco_http_resp resp = { .content_length = -1 };
	CURLcode cc = CURLE_OK;
	int rc = ping_retrying(r, &resp, &cc);
	if (rc) {
		client_cert_hint(r, rc, cc);
		rc = coco_preferr(r->ctx, rc, "pinging registry %s", r->host);
	} else if (!(rc = ping_answer(r, &resp))) {
		r->pinged = true;
		coco_debug(r->ctx, "registry %s: %s, HTTP/%s, auth %s", r->host, r->scheme,
		           resp.http_version == CURL_HTTP_VERSION_2_0 ? "2" : "1.1", auth_name(r->auth));
		if (st)
			coco_ping_memo_put(st, r);
	}
	coco_http_resp_clear(&resp);
	pthread_mutex_unlock(&r->mu);
	return rc;
}

char *coco_reg_url(coco_reg *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *tail = NULL;
	if (vasprintf(&tail, fmt, ap) < 0)
		tail = NULL;
	va_end(ap);
	if (!tail)
		return NULL;
	char *u = coco_asprintf("%s%s/%s", r->base ? r->base : "", r->path, tail);
	free(tail);
	return u;
}

static int authz_result(coco_reg *r, char *header, char **out)
{
	*out = header;
	return header ? 0 : coco_oom(r->ctx);
}

/* A bearer token for scope (plus the challenge's own scope). */
static int bearer_authz(coco_reg *r, const char *scope, bool refresh, const coco_challenge *ch,
                        char **out)
{
	const char *realm = ch && ch->realm ? ch->realm : r->realm;
	const char *service = ch && ch->realm ? ch->service : r->service;
	if (!realm)
		return 0;
	if (!scope)
		scope = "";
	char *sc = ch && ch->scope && *ch->scope ? coco_asprintf("%s %s", scope, ch->scope)
	                                         : coco_strdup(scope);
	if (!sc)
		return coco_oom(r->ctx);
	char *tok = NULL;
	int rc = coco_token_get(r, realm, service, sc, refresh, &tok);
	free(sc);
	if (rc)
		return rc;
	rc = authz_result(r, coco_asprintf("Authorization: Bearer %s", tok), out);
	coco_free_secret_str(tok);
	return rc;
}

int coco_reg_authorization(coco_reg *r, const char *scope, bool refresh,
                           const coco_challenge *ch, char **out)
{
	*out = NULL;
	if (r->creds.bearer)
		return authz_result(r, coco_asprintf("Authorization: Bearer %s", r->creds.bearer), out);
	coco_auth_scheme sch = ch ? ch->scheme : r->auth;
	if (sch == COCO_AUTH_BEARER)
		return bearer_authz(r, scope, refresh, ch, out);
	if (sch != COCO_AUTH_BASIC || !r->creds.user)
		return 0;
	/* never send a password in clear over the network unless the user
	 * said the registry is insecure */
	if (r->scheme && strcmp(r->scheme, "https") && !r->insecure)
		return 0;
	return authz_result(r, coco_basic_authz(&r->creds), out);
}

static bool same_origin(const char *a, const char *b)
{
	return coco_streq_free(coco_url_origin(a), coco_url_origin(b));
}

/* The state of one coco_reg_request across its attempts. */
typedef struct req_loop {
	coco_reg *r;
	coco_http_req *req;
	const char *scope, *what;
	const char *orig;          /* the caller's URL */
	char *cur;                 /* the URL of this attempt */
	char *authz;               /* secret */
	bool at_registry;          /* cur is at the registry's origin */
	bool auth_retried, bodyless;
	unsigned attempt;
	int redirects;
} req_loop;

/* Back to the caller's URL for a retry.
 * Credentials go only to the registry's origin: an upload Location
 * elsewhere (storage, or http:// behind a TLS proxy) gets none, as for the
 * streamed PATCH (push.c up_authz). */
static int loop_restart(req_loop *l)
{
	free(l->cur);
	l->cur = coco_strdup(l->orig);
	l->at_registry = same_origin(l->orig, l->r->base);
	return l->cur ? 1 : coco_oom(l->r->ctx);
}

/* Each step below returns 1 to try again, 0 when done, <0 on error. */

static int on_transport_error(req_loop *l, int rc, CURLcode cc, uint64_t before)
{
	coco_http_req *req = l->req;
	bool progressed = req->delivered && *req->delivered != before;
	if (!req->sink_err && cc != CURLE_OK && coco_http_retryable(cc) && !req->sink &&
	    !progressed && l->attempt < (unsigned)l->r->retries) {
		int brc = coco_http_backoff(l->r->ctx, l->attempt++, NULL, "%s: %s", l->what,
		                            cocoimg_ctx_last_error(l->r->ctx));
		if (brc)
			return brc;
		coco_clearerr(l->r->ctx);
		return loop_restart(l);
	}
	coco_preferr(l->r->ctx, rc, "%s", l->what);
	return rc;
}

/* A 401 from the registry: fetch fresh authorization once, when the
 * challenge (or, without one, the ping's) says how. */
static int on_unauthorized(req_loop *l, const coco_http_resp *resp)
{
	coco_reg *r = l->r;
	coco_challenge *ch;
	size_t n;
	const coco_challenge *c;
	/* a challenge that cannot be parsed counts as none */
	challenges_of(NULL, resp, &ch, &n, &c);
	bool retry = c ? c->scheme == COCO_AUTH_BEARER ||
	                     (c->scheme == COCO_AUTH_BASIC && r->creds.user && !l->authz)
	               /* some registries send 401 without a challenge */
	               : r->auth == COCO_AUTH_BEARER;
	int rc = 0;
	char *na = NULL;
	if (retry) {
		l->auth_retried = true;
		rc = coco_reg_authorization(r, l->scope, true, c, &na);
	}
	coco_challenges_free(ch, n);
	if (rc || !na)
		return rc;
	coco_free_secret_str(l->authz);
	l->authz = na;
	return 1;
}

/* Follow a redirect of a GET or HEAD: at most 10, never from https to
 * http unless the registry is insecure. */
static int on_redirect(req_loop *l, const coco_http_resp *resp)
{
	char *next = coco_url_resolve(l->cur, resp->location);
	if (!next)
		return coco_seterr(l->r->ctx, COCOIMG_ENET, "%s: malformed redirect", l->what);
	bool https_to_http = !strncasecmp(l->cur, "https:", 6) && strncasecmp(next, "https:", 6);
	if (++l->redirects > 10 || (https_to_http && !l->r->insecure) ||
	    (strncasecmp(next, "https://", 8) && strncasecmp(next, "http://", 7))) {
		free(next);
		return coco_seterr(l->r->ctx, COCOIMG_ENET,
		                   "%s: refusing redirect (too many or to an insecure URL)", l->what);
	}
	/* credentials go only to the registry itself */
	l->at_registry = same_origin(next, l->r->base);
	free(l->cur);
	l->cur = next;
	return 1;
}

static int attempt_once(req_loop *l, coco_http_resp *resp)
{
	coco_http_req *req = l->req;
	req->url = l->cur;
	req->authorization = l->at_registry ? l->authz : NULL;
	CURLcode cc = CURLE_OK;
	uint64_t before = req->delivered ? *req->delivered : 0;
	int rc = coco_http_perform(l->r->ctx, &l->r->tls, req, resp, &cc);
	/* the query is left out: storage redirects carry signatures there */
	coco_debug(l->r->ctx, "%s %.*s: %s %ld", req->method, (int)strcspn(l->cur, "?#"), l->cur,
	           rc ? "transport error (libcurl code)" : "HTTP", rc ? (long)cc : resp->status);
	if (rc)
		return on_transport_error(l, rc, cc, before);
	if (resp->status == 401 && l->at_registry && !l->auth_retried && !l->r->creds.bearer)
		return on_unauthorized(l, resp);
	if (resp->status >= 300 && resp->status < 400 && resp->location && l->bodyless)
		return on_redirect(l, resp);
	if ((resp->status == 429 || resp->status >= 500) && !req->sink &&
	    (l->bodyless || req->send_body) && l->attempt < (unsigned)l->r->retries) {
		int brc = coco_http_backoff(l->r->ctx, l->attempt++, resp->retry_after,
		                            "%s: the registry answered HTTP %ld", l->what, resp->status);
		return brc ? brc : loop_restart(l);
	}
	return 0;
}

int coco_reg_request(coco_reg *r, coco_http_req *req, const char *scope, const char *what,
                     coco_http_resp *resp)
{
	int rc = coco_reg_ping(r);
	if (rc)
		return rc;
	req_loop l = {
		.r = r, .req = req, .scope = scope, .what = what, .orig = req->url,
		.bodyless = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD"),
	};
	rc = coco_reg_authorization(r, scope, false, NULL, &l.authz);
	if (!rc)
		rc = loop_restart(&l);
	while (rc > 0)
		rc = attempt_once(&l, resp);
	resp->auth_sent = !l.at_registry || !l.authz ? COCO_AUTH_NONE
	                  : strncmp(l.authz, "Authorization: Bearer ", 22) ? COCO_AUTH_BASIC
	                                                                   : COCO_AUTH_BEARER;
	req->url = l.orig;
	req->authorization = NULL;
	free(l.cur);
	coco_free_secret_str(l.authz);
	return rc;
}

int coco_reg_status_error(coco_reg *r, const coco_http_resp *resp, const char *what)
{
	char *m = coco_reg_errbody(resp);
	int rc;
	if (resp->status == 401 && resp->auth_sent == COCO_AUTH_BEARER && !r->creds.bearer) {
		rc = coco_seterr(r->ctx, COCOIMG_EAUTH,
		                 "%s: %s refused the token its token service granted (%s%s) (%s)", what,
		                 r->host, r->creds.source ? "for the credentials from " : "anonymous",
		                 r->creds.source ? r->creds.source : "", m);
	} else if (resp->status == 401) {
		if (r->creds.user || r->creds.bearer || r->creds.identity_token)
			rc = coco_seterr(r->ctx, COCOIMG_EAUTH,
			                 "%s: authentication to %s failed with the credentials from %s (%s)",
			                 what, r->host, r->creds.source ? r->creds.source : "?", m);
		else
			rc = coco_seterr(r->ctx, COCOIMG_EAUTH,
			                 "%s: %s requires authentication and no credentials were found (use --creds or --authfile) (%s)",
			                 what, r->host, m);
	} else if (resp->status == 403) {
		rc = coco_seterr(r->ctx, COCOIMG_EAUTH, "%s: access denied by %s (%s)", what, r->host, m);
	} else if (resp->status == 404) {
		rc = coco_seterr(r->ctx, COCOIMG_ENOTFOUND, "%s: not found (%s)", what, m);
	} else {
		rc = coco_seterr(r->ctx, COCOIMG_ENET, "%s: %s answered HTTP %ld (%s)", what, r->host,
		                 resp->status, m);
	}
	free(m);
	return rc;
}
