/*
 * A client for one registry repository: ping (scheme and challenge),
 * authorization headers, and the request loop with auth renewal,
 * redirects and retries.
 */
#include "registry.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void coco_reg_free(coco_reg *r)
{
	if (!r)
		return;
	free(r->host);
	free(r->wire_host);
	free(r->path);
	free(r->scheme);
	free(r->base);
	free(r->realm);
	free(r->service);
	coco_tls_clear(&r->tls);
	coco_creds_clear(&r->creds);
	pthread_mutex_destroy(&r->mu);
	free(r);
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
		return coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory");
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
		return coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory");
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
		return coco_seterr(r->ctx, COCOIMG_ENOMEM, "out of memory");
	coco_http_req req = { .method = "GET", .url = r->base };
	return coco_http_perform(r->ctx, &r->tls, &req, resp, cc);
}

int coco_reg_ping(coco_reg *r)
{
	pthread_mutex_lock(&r->mu);
	if (r->pinged) {
		pthread_mutex_unlock(&r->mu);
		return 0;
	}
	coco_http_resp resp = { .content_length = -1 };
	unsigned attempt = 0;
	int rc;
	CURLcode cc = CURLE_OK;
	for (;;) {
		cc = CURLE_OK;
		rc = ping_once(r, "https", &resp, &cc);
		/* containers/image: an insecure registry may be plain http */
		if (rc && r->insecure && cc != CURLE_OK) {
			coco_debug(r->ctx, "%s: https failed, trying http", r->host);
			coco_clearerr(r->ctx);
			rc = ping_once(r, "http", &resp, &cc);
		}
		if (rc && cc != CURLE_OK && coco_http_retryable(cc) && cc != CURLE_SSL_CONNECT_ERROR &&
		    attempt < (unsigned)r->retries) {
			coco_http_backoff(attempt++, NULL);
			continue;
		}
		if (!rc && (resp.status == 429 || resp.status >= 500) && attempt < (unsigned)r->retries) {
			coco_http_backoff(attempt++, resp.retry_after);
			continue;
		}
		break;
	}
	if (rc && (cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING ||
	           cc == CURLE_HTTP2) &&
	    r->scheme && !strcmp(r->scheme, "https")) {
		/* A registry that refuses our client certificate (TLS 1.3)
		 * often resets the connection before its alert can be read. */
		char msg[sizeof(r->ctx->err_msg)];
		snprintf(msg, sizeof(msg), "%s", cocoimg_ctx_last_error(r->ctx));
		if (r->tls.client_cert)
			coco_seterr(r->ctx, rc, "%s (the registry may have refused the TLS client certificate %s)",
			            msg, r->tls.client_cert);
		else
			coco_seterr(r->ctx, rc, "%s (if the registry requires a TLS client certificate, put NAME.cert + NAME.key in --cert-dir)",
			            msg);
	}
	if (rc) {
		rc = coco_preferr(r->ctx, rc, "pinging registry %s", r->host);
		goto out;
	}
	if (resp.status == 401) {
		coco_challenge *ch = NULL;
		size_t n = 0;
		for (size_t i = 0; i < resp.n_www_auth; i++)
			if (coco_www_auth_parse(resp.www_auth[i], &ch, &n)) {
				rc = coco_seterr(r->ctx, COCOIMG_ENOMEM, "out of memory");
				break;
			}
		const coco_challenge *c = rc ? NULL : coco_challenge_pick(ch, n);
		if (c) {
			r->auth = c->scheme;
			r->realm = coco_strdup(c->realm);
			r->service = coco_strdup(c->service);
		}
		coco_challenges_free(ch, n);
	} else if (resp.status != 200) {
		char *m = coco_reg_errbody(&resp);
		rc = coco_seterr(r->ctx, COCOIMG_ENET,
		                 "%s does not look like a registry: GET /v2/ answered HTTP %ld (%s)",
		                 r->host, resp.status, m);
		free(m);
	}
	if (!rc) {
		r->pinged = true;
		coco_debug(r->ctx, "registry %s: %s, HTTP/%s, auth %s", r->host, r->scheme,
		           resp.http_version == CURL_HTTP_VERSION_2_0 ? "2" : "1.1",
		           r->auth == COCO_AUTH_BEARER ? "bearer" : r->auth == COCO_AUTH_BASIC ? "basic" : "none");
	}
out:
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

static char *basic_header(const coco_creds *c)
{
	char *up = coco_asprintf("%s:%s", c->user, c->pass ? c->pass : "");
	char *b64 = up ? coco_b64_encode((const unsigned char *)up, strlen(up)) : NULL;
	char *h = b64 ? coco_asprintf("Authorization: Basic %s", b64) : NULL;
	if (up)
		coco_free_secret(up, strlen(up));
	if (b64)
		coco_free_secret(b64, strlen(b64));
	return h;
}

int coco_reg_authorization(coco_reg *r, const char *scope, bool refresh,
                           const coco_challenge *ch, char **out)
{
	*out = NULL;
	if (r->creds.bearer) {
		*out = coco_asprintf("Authorization: Bearer %s", r->creds.bearer);
		return *out ? 0 : coco_seterr(r->ctx, COCOIMG_ENOMEM, "out of memory");
	}
	coco_auth_scheme sch = ch ? ch->scheme : r->auth;
	if (sch == COCO_AUTH_BASIC) {
		if (!r->creds.user)
			return 0;
		/* never send a password in clear over the network unless the
		 * user said the registry is insecure */
		if (r->scheme && strcmp(r->scheme, "https") && !r->insecure)
			return 0;
		*out = basic_header(&r->creds);
		return *out ? 0 : coco_seterr(r->ctx, COCOIMG_ENOMEM, "out of memory");
	}
	if (sch != COCO_AUTH_BEARER)
		return 0;
	const char *realm = ch && ch->realm ? ch->realm : r->realm;
	const char *service = ch && ch->realm ? ch->service : r->service;
	if (!realm)
		return 0;
	char *sc = NULL;
	if (ch && ch->scope && *ch->scope)
		sc = coco_asprintf("%s %s", scope ? scope : "", ch->scope);
	else
		sc = coco_strdup(scope ? scope : "");
	if (!sc)
		return coco_seterr(r->ctx, COCOIMG_ENOMEM, "out of memory");
	char *tok = NULL;
	int rc = coco_token_get(r, realm, service, sc, refresh, &tok);
	free(sc);
	if (rc)
		return rc;
	*out = coco_asprintf("Authorization: Bearer %s", tok);
	coco_free_secret(tok, strlen(tok));
	return *out ? 0 : coco_seterr(r->ctx, COCOIMG_ENOMEM, "out of memory");
}

static void free_authz(char *a)
{
	if (a)
		coco_free_secret(a, strlen(a));
}

static bool same_origin(const char *a, const char *b)
{
	char *oa = coco_url_origin(a), *ob = coco_url_origin(b);
	bool same = oa && ob && !strcmp(oa, ob);
	free(oa);
	free(ob);
	return same;
}

int coco_reg_request(coco_reg *r, coco_http_req *req, const char *scope, const char *what,
                     coco_http_resp *resp)
{
	int rc = coco_reg_ping(r);
	if (rc)
		return rc;
	char *authz = NULL;
	rc = coco_reg_authorization(r, scope, false, NULL, &authz);
	if (rc)
		return rc;
	const char *orig = req->url;
	char *cur = coco_strdup(orig);
	if (!cur) {
		free_authz(authz);
		return coco_seterr(r->ctx, COCOIMG_ENOMEM, "out of memory");
	}
	/* credentials go only to the registry's origin: an upload Location
	 * elsewhere (storage, or http:// behind a TLS proxy) gets none, as
	 * for the streamed PATCH (push.c up_authz) */
	bool at_registry = same_origin(orig, r->base), auth_retried = false;
	unsigned attempt = 0;
	int redirects = 0;
	bool bodyless = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");
	for (;;) {
		req->url = cur;
		req->authorization = at_registry ? authz : NULL;
		CURLcode cc = CURLE_OK;
		uint64_t before = req->delivered ? *req->delivered : 0;
		rc = coco_http_perform(r->ctx, &r->tls, req, resp, &cc);
		if (rc) {
			bool progressed = req->delivered && *req->delivered != before;
			if (!req->sink_err && cc != CURLE_OK && coco_http_retryable(cc) && !req->sink &&
			    !progressed && attempt < (unsigned)r->retries) {
				coco_debug(r->ctx, "%s: retrying after a transport error", what);
				coco_http_backoff(attempt++, NULL);
				free(cur);
				cur = coco_strdup(orig);
				at_registry = same_origin(orig, r->base);
				if (!cur) {
					rc = coco_seterr(r->ctx, COCOIMG_ENOMEM, "out of memory");
					break;
				}
				continue;
			}
			coco_preferr(r->ctx, rc, "%s", what);
			break;
		}
		if (resp->status == 401 && at_registry && !auth_retried && !r->creds.bearer) {
			coco_challenge *ch = NULL;
			size_t n = 0;
			for (size_t i = 0; i < resp->n_www_auth; i++)
				if (coco_www_auth_parse(resp->www_auth[i], &ch, &n))
					break;
			const coco_challenge *c = coco_challenge_pick(ch, n);
			bool retry = false;
			char *na = NULL;
			if (c && c->scheme == COCO_AUTH_BEARER) {
				retry = true;
			} else if (!c && r->auth == COCO_AUTH_BEARER) {
				/* some registries send 401 without a challenge:
				 * use the ping's */
				retry = true;
			} else if (c && c->scheme == COCO_AUTH_BASIC && r->creds.user && !authz) {
				retry = true;
			}
			if (retry) {
				auth_retried = true;
				rc = coco_reg_authorization(r, scope, true, c, &na);
				coco_challenges_free(ch, n);
				if (rc)
					break;
				if (na) {
					free_authz(authz);
					authz = na;
					continue;
				}
			} else {
				coco_challenges_free(ch, n);
			}
			break;
		}
		if (resp->status >= 300 && resp->status < 400 && resp->location && bodyless) {
			char *next = coco_url_resolve(cur, resp->location);
			if (!next) {
				rc = coco_seterr(r->ctx, COCOIMG_ENET, "%s: malformed redirect", what);
				break;
			}
			bool https_to_http = !strncasecmp(cur, "https:", 6) && strncasecmp(next, "https:", 6);
			if (++redirects > 10 || (https_to_http && !r->insecure) ||
			    (strncasecmp(next, "https://", 8) && strncasecmp(next, "http://", 7))) {
				free(next);
				rc = coco_seterr(r->ctx, COCOIMG_ENET, "%s: refusing redirect (too many or to an insecure URL)", what);
				break;
			}
			/* credentials go only to the registry itself */
			at_registry = same_origin(next, r->base);
			free(cur);
			cur = next;
			continue;
		}
		if ((resp->status == 429 || resp->status >= 500) && !req->sink &&
		    (bodyless || req->send_body) && attempt < (unsigned)r->retries) {
			coco_debug(r->ctx, "%s: retrying after HTTP %ld", what, resp->status);
			coco_http_backoff(attempt++, resp->retry_after);
			free(cur);
			cur = coco_strdup(orig);
			at_registry = same_origin(orig, r->base);
			if (!cur) {
				rc = coco_seterr(r->ctx, COCOIMG_ENOMEM, "out of memory");
				break;
			}
			continue;
		}
		break;
	}
	req->url = orig;
	req->authorization = NULL;
	free(cur);
	free_authz(authz);
	return rc;
}

int coco_reg_status_error(coco_reg *r, const coco_http_resp *resp, const char *what)
{
	char *m = coco_reg_errbody(resp);
	int rc;
	if (resp->status == 401) {
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
