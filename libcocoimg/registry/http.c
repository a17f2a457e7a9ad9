/*
 * HTTP plumbing for the registry client: the per-context connection pool,
 * TLS and proxy settings, single exchanges on their own easy handle,
 * streamed uploads through the multi interface, and URL helpers.
 */
#include "registry.h"
#include "../base.h"
#include "../json.h"
#include "../stream.h"
#include "../caps.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Shared state                                                        */
/* ------------------------------------------------------------------ */


static void share_lock(CURL *h, curl_lock_data data, curl_lock_access acc, void *ud)
{
	coco_reg_state *st = ud;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&st->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ud)
{
	coco_reg_state *st = ud;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&st->share_locks[data]);
}

static void reg_state_free(void *p)
{
	coco_reg_state *st = p;
	if (!st)
		return;
	if (st->share)
		curl_share_cleanup(st->share);
	coco_tokens_free(st->tokens);
	coco_ping_memo_free(st->pings);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&st->share_locks[i]);
	pthread_mutex_destroy(&st->mu);
	free(st);
}

coco_reg_state *coco_reg_state_get(cocoimg_ctx *ctx)
{
	if (coco_curl_global_init(ctx))
		return NULL;
	pthread_mutex_lock(&ctx->lock);
	coco_reg_state *st = ctx->registry_state;
	if (!st) {
		st = calloc(1, sizeof(*st));
		if (st) {
			for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
				pthread_mutex_init(&st->share_locks[i], NULL);
			pthread_mutex_init(&st->mu, NULL);
			st->share = curl_share_init();
			if (!st->share) {
				reg_state_free(st);
				st = NULL;
			} else {
				curl_share_setopt(st->share, CURLSHOPT_LOCKFUNC, share_lock);
				curl_share_setopt(st->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
				curl_share_setopt(st->share, CURLSHOPT_USERDATA, st);
				curl_share_setopt(st->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
				curl_share_setopt(st->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
				curl_share_setopt(st->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
				ctx->registry_state = st;
				ctx->registry_state_free = reg_state_free;
			}
		}
	}
	pthread_mutex_unlock(&ctx->lock);
	return st;
}

/* ------------------------------------------------------------------ */
/* TLS settings                                                        */
/* ------------------------------------------------------------------ */

void coco_tls_clear(coco_tls *t)
{
	if (t)
		coco_buf_free(&t->ca_blob);
	COCO_CLEAR_FIELDS(t, t->cainfo, t->capath, t->client_cert, t->client_key, t->proxy,
	                  t->user_agent, t->cert_dir);
}

static bool is_dir(const char *p)
{
	struct stat sb;
	return p && stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static bool ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && !strcmp(s + a - b, suf);
}

static char cainfo_path[4096];
static pthread_once_t cainfo_once = PTHREAD_ONCE_INIT;

static void cainfo_init(void)
{
	const char *p = NULL;
	CURL *e = curl_easy_init();
#if LIBCURL_VERSION_NUM >= 0x075400
	char *v = NULL;
	if (e && curl_easy_getinfo(e, CURLINFO_CAINFO, &v) == CURLE_OK && v)
		p = v;
#endif
	snprintf(cainfo_path, sizeof(cainfo_path), "%s",
	         p ? p : "/etc/ssl/certs/ca-certificates.crt");
	if (e)
		curl_easy_cleanup(e);
}

/* libcurl's built-in CA bundle path. */
static const char *default_cainfo(void)
{
	coco_curl_global_init(NULL);
	pthread_once(&cainfo_once, cainfo_init);
	return cainfo_path;
}

/* Read a certs.d-style directory: files ending .crt are extra CAs, one
 * .cert + .key pair is the client certificate. */
static int load_cert_dir(cocoimg_ctx *ctx, const char *dir, coco_tls *t, coco_buf *extra)
{
	char **names = NULL;
	size_t n = 0;
	int rc = coco_list_dir(ctx, dir, NULL, false, true, &names, &n);
	if (rc)
		return rc == COCOIMG_ENOMEM ? rc
		                           : coco_seterr(ctx, COCOIMG_EIO,
		                                         "cannot read certificate directory %s", dir);
	for (size_t i = 0; i < n && !rc; i++) {
		char *full = coco_asprintf("%s/%s", dir, names[i]);
		if (!full) {
			rc = COCOIMG_ENOMEM;
			break;
		}
		if (ends_with(names[i], ".crt")) {
			coco_buf b = COCO_BUF_INIT;
			rc = coco_read_file(ctx, full, 4 << 20, &b, COCOIMG_EIO);
			if (!rc) {
				if (coco_buf_append(extra, b.data, b.len) || coco_buf_putc(extra, '\n'))
					rc = COCOIMG_ENOMEM;
			}
			coco_buf_free(&b);
		} else if (ends_with(names[i], ".cert")) {
			char *key = coco_asprintf("%.*s.key", (int)(strlen(full) - 5), full);
			if (!key) {
				rc = COCOIMG_ENOMEM;
			} else if (access(key, R_OK) != 0) {
				rc = coco_seterr(ctx, COCOIMG_ECONFIG,
				                 "missing key %s for client certificate %s (CA certificates use the .crt extension)",
				                 key, full);
			} else if (!t->client_cert) {
				t->client_cert = coco_strdup(full);
				t->client_key = coco_strdup(key);
				if (!t->client_cert || !t->client_key)
					rc = COCOIMG_ENOMEM;
			}
			free(key);
		} else if (ends_with(names[i], ".key")) {
			char *cert = coco_asprintf("%.*s.cert", (int)(strlen(full) - 4), full);
			if (!cert)
				rc = COCOIMG_ENOMEM;
			else if (access(cert, R_OK) != 0)
				rc = coco_seterr(ctx, COCOIMG_ECONFIG,
				                 "missing client certificate %s for key %s", cert, full);
			free(cert);
		}
		free(full);
	}
	coco_strv_free(names, n);
	return rc;
}

/* A copy of a non-empty string into *dst (untouched when v is unset). */
static int dup_setting(char **dst, const char *v)
{
	if (!v || !*v)
		return 0;
	*dst = coco_strdup(v);
	return *dst ? 0 : COCOIMG_ENOMEM;
}

/* The first certs.d directory that exists for host, or NULL. */
static char *host_cert_dir(const char *host)
{
	if (!host || !*host || strchr(host, '/') || !strcmp(host, "..") || !strcmp(host, "."))
		return NULL;
	const char *home = getenv("HOME");
	char *cands[3] = { NULL, NULL, NULL }, *found = NULL;
	if (home && *home && getuid() != 0)
		cands[0] = coco_asprintf("%s/.config/containers/certs.d/%s", home, host);
	cands[1] = coco_asprintf("/etc/containers/certs.d/%s", host);
	cands[2] = coco_asprintf("/etc/docker/certs.d/%s", host);
	for (int i = 0; i < 3; i++) {
		if (!found && is_dir(cands[i])) {
			found = cands[i];
			cands[i] = NULL;
		}
		free(cands[i]);
	}
	return found;
}

/* Extra CAs add to (not replace) the trusted roots: bundle + extras. */
static int add_extra_cas(cocoimg_ctx *ctx, coco_tls *t, const coco_buf *extra)
{
	const char *bundle = t->cainfo ? t->cainfo : default_cainfo();
	coco_buf b = COCO_BUF_INIT;
	int rc = 0;
	if (coco_read_file(ctx, bundle, 16 << 20, &b, COCOIMG_EIO) == 0)
		rc = coco_buf_append(&t->ca_blob, b.data, b.len) || coco_buf_putc(&t->ca_blob, '\n');
	coco_clearerr(ctx);
	coco_buf_free(&b);
	if (!rc)
		rc = coco_buf_append(&t->ca_blob, extra->data, extra->len);
	return rc ? COCOIMG_ENOMEM : 0;
}

/* --cert-dir, else the per-host certs.d search; then its contents and --ca-cert. */
static int tls_cert_dir(cocoimg_ctx *ctx, const char *side, const char *host, coco_tls *t)
{
	const char *cd = coco_opt(ctx, side, "cert-dir");
	if (cd && *cd) {
		if (!is_dir(cd))
			return coco_seterr(ctx, COCOIMG_ECONFIG, "certificate directory %s does not exist", cd);
		if (!(t->cert_dir = coco_strdup(cd)))
			return coco_oom(ctx);
	} else {
		t->cert_dir = host_cert_dir(host);
	}
	coco_buf extra = COCO_BUF_INIT;
	int rc = t->cert_dir ? load_cert_dir(ctx, t->cert_dir, t, &extra) : 0;
	if (!rc)
		rc = coco_tls_ca_file(ctx, side, &extra);   /* --ca-cert */
	if (!rc && extra.len && add_extra_cas(ctx, t, &extra))
		rc = coco_oom(ctx);
	coco_buf_free(&extra);
	return rc;
}

int coco_tls_load(cocoimg_ctx *ctx, const char *side, const char *host, coco_tls *t)
{
	memset(t, 0, sizeof(*t));
	t->verify = coco_opt_bool(ctx, side, "tls-verify", true);
	/* libcurl itself ignores these variables (only the curl tool reads
	 * them), so pass them on explicitly. */
	int rc = dup_setting(&t->cainfo, getenv("SSL_CERT_FILE"));
	if (!rc)
		rc = dup_setting(&t->capath, getenv("SSL_CERT_DIR"));
	if (!rc)
		rc = dup_setting(&t->proxy, coco_opt(ctx, side, "proxy"));
	const char *ua = coco_opt(ctx, side, "user-agent");
	if (!rc && !(t->user_agent = ua ? coco_strdup(ua)
	                                : coco_asprintf("coco-img/%s", COCOIMG_VERSION_STRING)))
		rc = COCOIMG_ENOMEM;
	if (rc == COCOIMG_ENOMEM)
		rc = coco_oom(ctx);
	if (!rc)
		rc = tls_cert_dir(ctx, side, host, t);
	if (rc)
		coco_tls_clear(t);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Responses                                                           */
/* ------------------------------------------------------------------ */

static void resp_reset_headers(coco_http_resp *r)
{
	COCO_FREE_FIELDS(r->location, r->content_type, r->docker_digest, r->content_range,
	                 r->retry_after, r->link_next, r->filters_applied);
	r->link_next = r->filters_applied = NULL;
	free(r->oci_subject);
	r->oci_subject = NULL;
	for (size_t i = 0; i < r->n_www_auth; i++)
		free(r->www_auth[i]);
	free(r->www_auth);
	r->location = r->content_type = r->docker_digest = r->content_range = r->retry_after = NULL;
	r->www_auth = NULL;
	r->n_www_auth = 0;
	r->content_length = -1;
}

void coco_http_resp_clear(coco_http_resp *r)
{
	if (!r)
		return;
	resp_reset_headers(r);
	coco_buf_free(&r->body);
	memset(r, 0, sizeof(*r));
	r->content_length = -1;
}

typedef struct xfer {
	cocoimg_ctx *ctx;
	coco_http_req *req;
	coco_http_resp *resp;
	bool decided;
	bool to_sink;
	uint64_t skip;
	bool oom;
	bool errbody_cut;          /* an error body reached its cap: transfer ended */
	size_t errbody_max;        /* max-error-body; 0 = look it up */
	int body_err;
	/* upload stream */
	const unsigned char *pend;
	size_t pend_len;
	bool eof;
	bool paused;
} xfer;

/* Content-Length: a non-negative decimal, else ignored. */
static void parse_content_length(coco_http_resp *r, const char *v, size_t vlen)
{
	char tmp[32];
	if (vlen >= sizeof(tmp))
		return;
	memcpy(tmp, v, vlen);
	tmp[vlen] = 0;
	char *e;
	long long cl = strtoll(tmp, &e, 10);
	if (!*e && cl >= 0)
		r->content_length = cl;
}

/* Keep up to 16 WWW-Authenticate headers. false on out of memory. */
static bool add_www_auth(coco_http_resp *r, const char *v, size_t vlen)
{
	if (r->n_www_auth >= 16)
		return true;
	char **a = realloc(r->www_auth, (r->n_www_auth + 1) * sizeof(*a));
	if (!a)
		return false;
	r->www_auth = a;
	if (!(a[r->n_www_auth] = coco_strndup(v, vlen)))
		return false;
	r->n_www_auth++;
	return true;
}

/* The response field a header is kept in (NULL: not kept as a string);
 * Content-Type loses its parameters. */
static char **header_slot(coco_http_resp *r, const char *name, size_t nlen, size_t *vlen,
                          const char *v)
{
#define HDR(n) (nlen == strlen(n) && !strncasecmp(name, n, nlen))
	if (HDR("location"))
		return &r->location;
	if (HDR("docker-content-digest"))
		return &r->docker_digest;
	if (HDR("content-range"))
		return &r->content_range;
	if (HDR("retry-after"))
		return &r->retry_after;
	if (HDR("oci-filters-applied"))
		return &r->filters_applied;
	/* several Link fields may come: keep the one with the next page */
	if (HDR("link") && (memmem(v, *vlen, "rel=\"next\"", 10) || memmem(v, *vlen, "rel=next", 8)))
		return &r->link_next;
	if (HDR("oci-subject"))
		return &r->oci_subject;
	if (HDR("content-type")) {
		size_t l = 0;
		while (l < *vlen && v[l] != ';' && v[l] != ' ')
			l++;
		*vlen = l;
		return &r->content_type;
	}
#undef HDR
	return NULL;
}

/* One header field: "name: value" with the value trimmed. */
static bool header_field(coco_http_resp *r, const char *buf, size_t len)
{
	const char *colon = memchr(buf, ':', len);
	if (!colon)
		return true;
	size_t nlen = (size_t)(colon - buf);
	const char *v = colon + 1, *end = buf + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && strchr("\r\n \t", end[-1]))
		end--;
	size_t vlen = (size_t)(end - v);
	if (nlen == 14 && !strncasecmp(buf, "content-length", 14)) {
		parse_content_length(r, v, vlen);
		return true;
	}
	if (nlen == 16 && !strncasecmp(buf, "www-authenticate", 16))
		return add_www_auth(r, v, vlen);
	char **slot = header_slot(r, buf, nlen, &vlen, v);
	if (!slot)
		return true;
	free(*slot);
	*slot = coco_strndup(v, vlen);
	return *slot != NULL;
}

static size_t header_cb(char *buf, size_t size, size_t nitems, void *ud)
{
	xfer *x = ud;
	size_t len = size * nitems;
	coco_http_resp *r = x->resp;
	if (len >= 5 && !strncmp(buf, "HTTP/", 5)) {
		/* a new response (after 100 Continue, or the only one) */
		resp_reset_headers(r);
		const char *sp = memchr(buf, ' ', len);
		r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		return len;
	}
	if (!header_field(r, buf, len)) {
		x->oom = true;
		return 0;
	}
	return len;
}

int coco_resume_plan(uint64_t delivered, long status, const char *cr, uint64_t *skip)
{
	*skip = 0;
	if (status == 200) {
		/* the server ignored the Range (or none was sent): drop what the
		 * sink already has */
		*skip = delivered;
		return 0;
	}
	if (status != 206 || !cr)
		return -1;
	/* "bytes START-END/TOTAL" */
	while (*cr == ' ')
		cr++;
	if (strncasecmp(cr, "bytes", 5))
		return -1;
	cr += 5;
	while (*cr == ' ' || *cr == '=')
		cr++;
	if (!isdigit((unsigned char)*cr))
		return -1;
	errno = 0;
	char *e;
	unsigned long long start = strtoull(cr, &e, 10);
	if (errno || *e != '-')
		return -1;
	if (start != delivered)
		return -1;
	return 0;
}

/* A 2xx body for the caller, or an error body: into resp->body up to its
 * cap.  An error body past its cap ends the transfer (the caller sees the
 * status and the head of the body, x->errbody_cut); a 2xx body past the
 * caller's cap is an error. */
static size_t write_mem(xfer *x, const char *buf, size_t len)
{
	coco_http_req *q = x->req;
	coco_http_resp *r = x->resp;
	bool ok2xx = r->status >= 200 && r->status < 300;
	if (!x->errbody_max)
		x->errbody_max = coco_limit_size(x->ctx, COCO_LIM_ERROR_BODY);
	size_t max = ok2xx && q->max_body ? q->max_body : x->errbody_max;
	if (r->body.len + len <= max) {
		if (coco_buf_append(&r->body, buf, len)) {
			x->oom = true;
			return 0;
		}
		return len;
	}
	if (ok2xx) {
		x->body_err = COCOIMG_EBADIMAGE;
		return 0;
	}
	r->body_truncated = true;
	r->body_cap = max;
	size_t room = max > r->body.len ? max - r->body.len : 0;
	if (room && coco_buf_append(&r->body, buf, room))
		x->oom = true;
	x->errbody_cut = !x->oom;
	return 0;
}

/* A 2xx blob body into the request's sink, minus what a resumed 200 repeats. */
static size_t write_sink(xfer *x, const char *buf, size_t len)
{
	coco_http_req *q = x->req;
	const unsigned char *p = (const unsigned char *)buf;
	size_t n = len;
	if (x->skip) {
		size_t d = x->skip < n ? (size_t)x->skip : n;
		x->skip -= d;
		p += d;
		n -= d;
	}
	if (!n)
		return len;
	int rc = coco_stage_write(q->sink, p, n);
	if (!rc && q->delivered)
		*q->delivered += n;
	if (rc) {
		q->sink_err = rc;
		return 0;
	}
	return len;
}

static size_t write_cb(char *buf, size_t size, size_t nitems, void *ud)
{
	xfer *x = ud;
	coco_http_req *q = x->req;
	coco_http_resp *r = x->resp;
	if (!x->decided) {
		x->decided = true;
		x->to_sink = q->sink && r->status >= 200 && r->status < 300;
		uint64_t done = q->delivered ? *q->delivered : 0;
		if (x->to_sink && coco_resume_plan(done, r->status, r->content_range, &x->skip)) {
			q->range_mismatch = true;
			return 0;
		}
	}
	size_t len = size * nitems;
	return x->to_sink ? write_sink(x, buf, len) : write_mem(x, buf, len);
}

/* ------------------------------------------------------------------ */
/* Deadlines and transfer limits                                       */
/* ------------------------------------------------------------------ */

static int64_t deadline_left_ms(cocoimg_ctx *ctx)
{
	return coco_deadline_left_ms(ctx);
}

static int deadline_error(cocoimg_ctx *ctx, const char *url)
{
	char *o = coco_url_origin(url);
	const char *v = coco_opt(ctx, NULL, "command-timeout");
	int rc = coco_seterr(ctx, COCOIMG_ECANCELLED, "%s: the operation ran past its command timeout (%s)",
	                     o ? o : "registry", v ? v : "?");
	free(o);
	return rc;
}

typedef struct xfer_limits {
	long min_rate;             /* bytes/s over window_s */
	long window_s;
	long max_ms;               /* whole exchange; 0 = unbounded */
} xfer_limits;

/* The stall window: the ctx key, else $COCOIMG_STALL_TIMEOUT (seconds, a
 * knob for tests and slow links), else the default. */
static long stall_window_s(cocoimg_ctx *ctx)
{
	const char *env = getenv("COCOIMG_STALL_TIMEOUT");
	if (!coco_opt(ctx, NULL, "stall-timeout") && env && strtol(env, NULL, 10) > 0)
		return strtol(env, NULL, 10);
	uint64_t ms = coco_limit(ctx, COCO_LIM_STALL_TIMEOUT);
	return ms >= 1000 ? (long)((ms + 999) / 1000) : 1;
}

/*
 * Limits for one exchange.  Downloads must keep min-rate over the stall
 * window; a streamed upload only must not stall (its pace is the
 * producer's).  Small bodies (manifests, tokens, configs, signatures) get
 * the metadata timeout as a hard limit, and everything ends by the
 * operation's deadline.  Returns false when the deadline has passed.
 */
static bool xfer_limits_for(cocoimg_ctx *ctx, const coco_http_req *q, bool upload, xfer_limits *l)
{
	l->window_s = stall_window_s(ctx);
	l->min_rate = upload ? 1 : (long)coco_limit(ctx, COCO_LIM_MIN_RATE);
	l->max_ms = 0;
	if (q && (!q->sink || q->small))
		l->max_ms = (long)coco_limit(ctx, COCO_LIM_METADATA_TIMEOUT);
	int64_t left = deadline_left_ms(ctx);
	if (left == 0)
		return false;
	if (left > 0 && (!l->max_ms || left < l->max_ms))
		l->max_ms = (long)left;
	return true;
}

static void apply_tls(CURL *e, const coco_tls *tls)
{
	if (tls->user_agent)
		curl_easy_setopt(e, CURLOPT_USERAGENT, tls->user_agent);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, tls->verify ? 1L : 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, tls->verify ? 2L : 0L);
	if (tls->cainfo)
		curl_easy_setopt(e, CURLOPT_CAINFO, tls->cainfo);
	if (tls->capath)
		curl_easy_setopt(e, CURLOPT_CAPATH, tls->capath);
	if (tls->ca_blob.len) {
		struct curl_blob blob = { tls->ca_blob.data, tls->ca_blob.len, CURL_BLOB_COPY };
		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (tls->client_cert) {
		curl_easy_setopt(e, CURLOPT_SSLCERT, tls->client_cert);
		curl_easy_setopt(e, CURLOPT_SSLKEY, tls->client_key);
	}
	/* Only an explicit setting overrides libcurl's reading of
	 * https_proxy / HTTPS_PROXY / no_proxy / NO_PROXY. */
	if (tls->proxy)
		curl_easy_setopt(e, CURLOPT_PROXY, tls->proxy);
}

/* libcurl calls this about once a second, also while nothing moves: a
 * cancellation or the deadline stops the exchange
 * (CURLE_ABORTED_BY_CALLBACK, turned into the context's error by
 * perform_result / the stream end). */
static int xferinfo_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return coco_stop_requested(ud) ? 1 : 0;
}

/* Common easy-handle setup. */
static int setup_easy(cocoimg_ctx *ctx, CURL *e, const coco_tls *tls, const char *url,
                      char *errbuf, const xfer_limits *l)
{
	coco_reg_state *st = coco_reg_state_get(ctx);
	if (!st)
		return COCOIMG_ENOMEM;
	curl_easy_setopt(e, CURLOPT_SHARE, st->share);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, l->min_rate);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, l->window_s);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, l->max_ms);
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, ctx);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	if (tls)
		apply_tls(e, tls);
	return 0;
}

#if LIBCURL_VERSION_NUM < 0x074d00
#define CURLE_SSL_CLIENTCERT CURLE_SSL_CERTPROBLEM
#endif

/* A TLS alert from the server about our (missing or unknown) client
 * certificate.  With TLS 1.3 it arrives at the first read after the
 * handshake (or the connection is reset before it can be read). */
static bool client_cert_refused(CURLcode cc, const char *detail)
{
	if (cc == CURLE_SSL_CLIENTCERT)
		return true;
	return detail && strstr(detail, "alert") &&
	       (strcasestr(detail, "certificate") || strcasestr(detail, "unknown ca"));
}

/* Error text for a transport failure, without the URL's query. */
static int transport_error(cocoimg_ctx *ctx, const char *url, CURLcode cc, const char *errbuf)
{
	char *origin = coco_url_origin(url);
	const char *detail = errbuf && *errbuf ? errbuf : curl_easy_strerror(cc);
	const char *hint = "";
	if (cc == CURLE_OUT_OF_MEMORY) {
		/* our own allocations report themselves (x->oom); this is
		 * libcurl refusing what the server sent */
		int rc = coco_seterr(ctx, COCOIMG_ENET,
		                     "%s: the registry sent a response header too large to accept (%s)",
		                     origin ? origin : "registry",
		                     errbuf && *errbuf ? errbuf : "libcurl gave up on it");
		free(origin);
		return rc;
	}
	if (cc == CURLE_SSL_CONNECT_ERROR && strstr(detail, "wrong version number")) {
		/* OpenSSL read an HTTP answer where a TLS record should be */
		int rc = coco_seterr(ctx, COCOIMG_ENET,
		                     "%s: the server gave an HTTP response to an HTTPS client (a "
		                     "plain-http registry needs --tls-verify=false, the ctx key "
		                     "tls-verify=false)", origin ? origin : "registry");
		free(origin);
		return rc;
	}
	if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE)
		hint = " (trust its CA with --cert-dir, --ca-cert or SSL_CERT_FILE, or use --tls-verify=false)";
	else if (cc == CURLE_SSL_CERTPROBLEM)
		hint = " (check the client .cert/.key pair in the certificate directory)";
	else if (client_cert_refused(cc, detail))
		hint = " (the registry refused the TLS client certificate, or requires one:"
		       " put NAME.cert + NAME.key in --cert-dir)";
	int rc = coco_seterr(ctx, COCOIMG_ENET, "%s: %s%s", origin ? origin : "registry", detail, hint);
	free(origin);
	return rc;
}

bool coco_http_retryable(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
		return true;
	default:
		return false;
	}
}

static long backoff_ms(unsigned attempt, const char *retry_after)
{
	const char *b = getenv("COCOIMG_RETRY_BASE_MS");
	long base = b ? strtol(b, NULL, 10) : 1000;
	if (base <= 0)
		base = 1000;
	long ms = attempt >= 10 ? 60000 : base << attempt;
	if (ms > 60000)
		ms = 60000;
	if (retry_after && *retry_after) {
		char *e;
		long s = strtol(retry_after, &e, 10);
		if (!*e && s >= 0) {
			ms = s * 1000;
		} else {
			struct tm tm;
			memset(&tm, 0, sizeof(tm));
			const char *end = strptime(retry_after, "%a, %d %b %Y %H:%M:%S GMT", &tm);
			if (end) {
				time_t when = timegm(&tm);
				time_t now = time(NULL);
				ms = when > now ? (long)(when - now) * 1000 : 0;
			}
		}
		if (ms > 60000)
			ms = 60000;
	}
	return ms;
}

int coco_http_backoff(cocoimg_ctx *ctx, unsigned attempt, const char *retry_after,
                      const char *fmt, ...)
{
	long ms = backoff_ms(attempt, retry_after);
	char why[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	coco_warn(ctx, "%s; retry %u in %.1fs", why, attempt + 1, (double)ms / 1000.0);
	/* in slices, so that a cancellation or the deadline is seen */
	while (ms > 0) {
		int rc = coco_check_stop(ctx);
		if (rc)
			return rc;
		long step = ms < 200 ? ms : 200;
		struct timespec ts = { step / 1000, (step % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
		ms -= step;
	}
	return coco_check_stop(ctx);
}

static void perform_reset(coco_http_req *q, coco_http_resp *resp, CURLcode *ccp)
{
	if (ccp)
		*ccp = CURLE_OK;
	resp_reset_headers(resp);
	coco_buf_free(&resp->body);
	resp->status = 0;
	resp->body_truncated = false;
	resp->body_cap = 0;
	q->sink_err = 0;
	q->range_mismatch = false;
	q->cc = CURLE_OK;
}

static int slist_add(struct curl_slist **h, const char *line)
{
	struct curl_slist *t = curl_slist_append(*h, line);
	if (!t)
		return COCOIMG_ENOMEM;
	*h = t;
	return 0;
}

/* The request's header lines: the caller's, Authorization, a Content-Type
 * for bodies, and a Range for a resumed blob. */
static int build_headers(const coco_http_req *q, struct curl_slist **out)
{
	struct curl_slist *h = NULL;
	bool has_ct = false;
	int rc = 0;
	for (struct curl_slist *i = q->headers; i && !rc; i = i->next) {
		has_ct = has_ct || !strncasecmp(i->data, "content-type:", 13);
		rc = slist_add(&h, i->data);
	}
	if (!rc && q->authorization)
		rc = slist_add(&h, q->authorization);
	/* never libcurl's form-encoded default (distribution would then parse
	 * the body as a form: DIGEST_INVALID) */
	if (!rc && q->send_body && !has_ct)
		rc = slist_add(&h, "Content-Type: application/octet-stream");
	if (!rc && q->send_body)
		rc = slist_add(&h, "Expect:");
	if (!rc && q->sink && q->delivered && *q->delivered > 0) {
		char range[64];
		snprintf(range, sizeof(range), "Range: bytes=%llu-", (unsigned long long)*q->delivered);
		rc = slist_add(&h, range);
	}
	if (rc)
		curl_slist_free_all(h);
	*out = rc ? NULL : h;
	return rc;
}

static void set_method(CURL *e, const coco_http_req *q)
{
	if (q->send_body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, q->body ? (const char *)q->body : "");
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, q->method);
	} else if (!strcmp(q->method, "HEAD")) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (strcmp(q->method, "GET")) {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, q->method);
	}
	/* streamed blobs: large receive buffers (fewer recv calls and fewer,
	 * larger writes down the stage chain; libcurl's default is 16 KiB) */
	if (q->sink)
		curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 512L * 1024);
}

static void set_cc(coco_http_req *q, CURLcode *ccp, CURLcode cc)
{
	q->cc = cc;
	if (ccp)
		*ccp = cc;
}

/* Turn what libcurl and the callbacks reported into 0 or an error. */
static int perform_result(cocoimg_ctx *ctx, coco_http_req *q, coco_http_resp *resp,
                          const xfer *x, CURLcode cc, const char *errbuf, CURLcode *ccp)
{
	if (x->errbody_cut && cc == CURLE_WRITE_ERROR)
		set_cc(q, ccp, cc = CURLE_OK); /* the status is the answer */
	if (x->oom)
		return coco_oom(ctx);
	if (q->sink_err)
		return q->sink_err;
	if (x->body_err) {
		char *o = coco_url_origin(q->url);
		int rc = q->max_key ? coco_seterr(ctx, x->body_err, "%s: response larger than the "
		                                  "%zu-byte cap (%s)", o ? o : "registry",
		                                  q->max_body, q->max_key)
		                    : coco_seterr(ctx, x->body_err, "%s: response larger than the %zu "
		                                  "bytes allowed", o ? o : "registry", q->max_body);
		free(o);
		return rc;
	}
	if (q->range_mismatch) {
		set_cc(q, ccp, CURLE_RANGE_ERROR);
		return coco_seterr(ctx, COCOIMG_ENET, "resumed download got the wrong range (%s)",
		                   resp->content_range ? resp->content_range : "none");
	}
	if (cc == CURLE_ABORTED_BY_CALLBACK && coco_stop_requested(ctx)) {
		int src = coco_check_stop(ctx);
		if (src)
			return src;
	}
	if (cc == CURLE_OPERATION_TIMEDOUT && deadline_left_ms(ctx) == 0) {
		set_cc(q, ccp, CURLE_ABORTED_BY_CALLBACK); /* not worth a retry */
		return deadline_error(ctx, q->url);
	}
	if (cc != CURLE_OK && cc != CURLE_SSL_CLIENTCERT && client_cert_refused(cc, errbuf))
		set_cc(q, ccp, cc = CURLE_SSL_CLIENTCERT); /* not transient: nobody retries */
	if (cc != CURLE_OK)
		return transport_error(ctx, q->url, cc, errbuf);
	return 0;
}

int coco_http_perform(cocoimg_ctx *ctx, const coco_tls *tls, coco_http_req *q,
                      coco_http_resp *resp, CURLcode *ccp)
{
	char errbuf[CURL_ERROR_SIZE];
	errbuf[0] = 0;
	perform_reset(q, resp, ccp);
	xfer_limits lim;
	if (!xfer_limits_for(ctx, q, false, &lim)) {
		set_cc(q, ccp, CURLE_ABORTED_BY_CALLBACK);
		return deadline_error(ctx, q->url);
	}
	struct curl_slist *h = NULL;
	CURL *e = curl_easy_init();
	if (!e || setup_easy(ctx, e, tls, q->url, errbuf, &lim) || build_headers(q, &h)) {
		if (e)
			curl_easy_cleanup(e);
		return coco_oom(ctx);
	}
	xfer x = { .ctx = ctx, .req = q, .resp = resp };
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &x);
	set_method(e, q);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);

	CURLcode cc = curl_easy_perform(e);
	set_cc(q, ccp, cc);
	if ((cc == CURLE_OK || x.errbody_cut) && !resp->status) {
		long code = 0;
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
		resp->status = code;
	}
	resp->http_version = 0;
	curl_easy_getinfo(e, CURLINFO_HTTP_VERSION, &resp->http_version);
	curl_easy_cleanup(e);
	curl_slist_free_all(h);
	return perform_result(ctx, q, resp, &x, cc, errbuf, ccp);
}

/* ------------------------------------------------------------------ */
/* Streamed uploads                                                    */
/* ------------------------------------------------------------------ */

struct coco_http_stream {
	cocoimg_ctx *ctx;
	CURL *easy;
	CURLM *multi;
	struct curl_slist *headers;
	char *url;
	char errbuf[CURL_ERROR_SIZE];
	coco_http_req req;
	coco_http_resp resp;
	xfer x;
	bool done;
	CURLcode result;
	bool added;
};

static size_t read_cb(char *buf, size_t size, size_t nitems, void *ud)
{
	xfer *x = ud;
	size_t room = size * nitems;
	if (x->pend_len) {
		size_t n = x->pend_len < room ? x->pend_len : room;
		memcpy(buf, x->pend, n);
		x->pend += n;
		x->pend_len -= n;
		return n;
	}
	if (x->eof)
		return 0;
	x->paused = true;
	return CURL_READFUNC_PAUSE;
}

int coco_http_stream_begin(cocoimg_ctx *ctx, const coco_tls *tls, const char *method,
                           const char *url, struct curl_slist *headers,
                           const char *authorization, int64_t size, coco_http_stream **out)
{
	coco_http_stream *s = calloc(1, sizeof(*s));
	if (!s)
		return coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory");
	s->ctx = ctx;
	s->resp.content_length = -1;
	s->req.method = method;
	s->url = coco_strdup(url);
	s->req.url = s->url;
	s->x.ctx = ctx;
	s->x.req = &s->req;
	s->x.resp = &s->resp;
	s->easy = curl_easy_init();
	s->multi = curl_multi_init();
	if (!s->url || !s->easy || !s->multi)
		goto nomem;
	xfer_limits lim;
	if (!xfer_limits_for(ctx, NULL, true, &lim)) {
		coco_http_stream_free(s);
		return deadline_error(ctx, url);
	}
	if (setup_easy(ctx, s->easy, tls, url, s->errbuf, &lim))
		goto nomem;
	struct curl_slist *t;
	for (struct curl_slist *i = headers; i; i = i->next) {
		if (!(t = curl_slist_append(s->headers, i->data)))
			goto nomem;
		s->headers = t;
	}
	if (authorization) {
		if (!(t = curl_slist_append(s->headers, authorization)))
			goto nomem;
		s->headers = t;
	}
	if (!(t = curl_slist_append(s->headers, "Content-Type: application/octet-stream")))
		goto nomem;
	s->headers = t;
	if (!(t = curl_slist_append(s->headers, "Expect:")))
		goto nomem;
	s->headers = t;
	curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->headers);
	curl_easy_setopt(s->easy, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(s->easy, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(s->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)(size >= 0 ? size : -1));
	curl_easy_setopt(s->easy, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(s->easy, CURLOPT_READDATA, &s->x);
	curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, &s->x);
	curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, &s->x);
	if (curl_multi_add_handle(s->multi, s->easy) != CURLM_OK)
		goto nomem;
	s->added = true;
	*out = s;
	return 0;
nomem:
	coco_http_stream_free(s);
	return coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory");
}

/* Drive the transfer once: perform + wait for activity. */
static void stream_step(coco_http_stream *s, bool wait)
{
	int running = 0;
	curl_multi_perform(s->multi, &running);
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(s->multi, &left))) {
		if (m->msg == CURLMSG_DONE) {
			s->done = true;
			s->result = m->data.result;
		}
	}
	if (!running)
		s->done = true;
	if (!s->done && wait)
		curl_multi_poll(s->multi, NULL, 0, 1000, NULL);
}

static int stream_failed(coco_http_stream *s)
{
	if (s->x.oom)
		return coco_seterr(s->ctx, COCOIMG_ENOMEM, "out of memory");
	if (s->result == CURLE_ABORTED_BY_CALLBACK && coco_stop_requested(s->ctx))
		return coco_check_stop(s->ctx);
	if (s->result != CURLE_OK)
		return transport_error(s->ctx, s->url, s->result, s->errbuf);
	return 0;
}

int coco_http_stream_write(coco_http_stream *s, const unsigned char *buf, size_t len)
{
	if (!len)
		return 0;
	s->x.pend = buf;
	s->x.pend_len = len;
	while (s->x.pend_len && !s->done) {
		if (s->x.paused) {
			s->x.paused = false;
			curl_easy_pause(s->easy, CURLPAUSE_CONT);
		}
		stream_step(s, s->x.pend_len && !s->x.paused);
	}
	if (s->done) {
		int rc = stream_failed(s);
		if (rc)
			return rc;
		/* the server answered before the body was complete */
		char *o = coco_url_origin(s->url);
		char *msg = coco_reg_errbody(&s->resp);
		rc = coco_seterr(s->ctx, COCOIMG_ENET, "%s: upload refused with HTTP %ld: %s",
		                 o ? o : "registry", s->resp.status, msg ? msg : "");
		free(o);
		free(msg);
		return rc;
	}
	s->x.pend = NULL;
	return 0;
}

int coco_http_stream_end(coco_http_stream *s, coco_http_resp *resp)
{
	s->x.eof = true;
	while (!s->done) {
		if (s->x.paused) {
			s->x.paused = false;
			curl_easy_pause(s->easy, CURLPAUSE_CONT);
		}
		stream_step(s, true);
	}
	int rc = stream_failed(s);
	if (rc)
		return rc;
	if (!s->resp.status) {
		long code = 0;
		curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
		s->resp.status = code;
	}
	coco_http_resp_clear(resp);
	*resp = s->resp;
	memset(&s->resp, 0, sizeof(s->resp));
	s->resp.content_length = -1;
	return 0;
}

void coco_http_stream_free(coco_http_stream *s)
{
	if (!s)
		return;
	if (s->added)
		curl_multi_remove_handle(s->multi, s->easy);
	if (s->easy)
		curl_easy_cleanup(s->easy);
	if (s->multi)
		curl_multi_cleanup(s->multi);
	curl_slist_free_all(s->headers);
	coco_http_resp_clear(&s->resp);
	free(s->url);
	free(s);
}

/* ------------------------------------------------------------------ */
/* URLs                                                                */
/* ------------------------------------------------------------------ */

char *coco_url_resolve(const char *base, const char *loc)
{
	coco_curl_global_init(NULL);
	CURLU *u = curl_url();
	char *out = NULL, *tmp = NULL;
	if (!u)
		return NULL;
	if (curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, loc, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &tmp, 0) == CURLUE_OK) {
		out = coco_strdup(tmp);
		curl_free(tmp);
	}
	curl_url_cleanup(u);
	return out;
}

char *coco_url_origin(const char *url)
{
	coco_curl_global_init(NULL);
	CURLU *u = curl_url();
	char *out = NULL, *scheme = NULL, *host = NULL, *port = NULL;
	if (!u)
		return NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
		for (char *p = host; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		for (char *p = scheme; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		out = coco_asprintf("%s://%s:%s", scheme, host, port);
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return out;
}

char *coco_url_escape(const char *s)
{
	coco_buf b = COCO_BUF_INIT;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
			if (coco_buf_putc(&b, (char)*p))
				goto fail;
		} else if (coco_buf_appendf(&b, "%%%02X", *p)) {
			goto fail;
		}
	}
	return coco_buf_cstr(&b);
fail:
	coco_buf_free(&b);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Registry error bodies                                               */
/* ------------------------------------------------------------------ */

static json_t *errbody_json(const coco_http_resp *r)
{
	if (!r->body.len || r->body_truncated)
		return NULL;
	json_t *j = json_loadb((const char *)r->body.data, r->body.len, 0, NULL);
	if (j && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

bool coco_reg_errcode(const coco_http_resp *r, const char *code)
{
	json_t *j = errbody_json(r);
	bool found = false;
	json_t *errs = j ? json_object_get(j, "errors") : NULL;
	size_t i;
	json_t *e;
	json_array_foreach(errs, i, e) {
		const char *c = json_string_value(json_object_get(e, "code"));
		if (c && !strcasecmp(c, code))
			found = true;
	}
	json_decref(j);
	return found;
}

/* Append s, keeping only printable characters, up to a limit. */
static void append_clean(coco_buf *b, const char *s, size_t max)
{
	size_t n = 0;
	for (; s && *s && n < max; s++, n++)
		coco_buf_putc(b, (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s);
}

/* "CODE: message (detail); ..." for up to four registry errors. */
static void errbody_errors(coco_buf *b, json_t *errs)
{
	size_t i;
	json_t *e;
	json_array_foreach(errs, i, e) {
		if (i >= 4)
			break;
		const char *c = json_string_value(json_object_get(e, "code"));
		const char *m = json_string_value(json_object_get(e, "message"));
		const char *d = json_string_value(json_object_get(e, "detail"));
		if (i)
			coco_buf_appendf(b, "; ");
		append_clean(b, c ? c : "UNKNOWN", 64);
		if (m && *m) {
			coco_buf_appendf(b, ": ");
			append_clean(b, m, 200);
		}
		if (d && *d) {
			coco_buf_appendf(b, " (");
			append_clean(b, d, 120);
			coco_buf_appendf(b, ")");
		}
	}
}

/* The first line of a text body when it is printable and not HTML. */
static void errbody_text(coco_buf *b, const coco_http_resp *r)
{
	size_t n = 0;
	const char *s = (const char *)r->body.data;
	while (n < r->body.len && n < 200 && s[n] != '\n' && s[n] != '\r')
		n++;
	if (!n || s[0] == '<')
		return;
	for (size_t k = 0; k < n; k++)
		if (s[k] == 0 || ((unsigned char)s[k] < 0x20 && s[k] != '\t'))
			return;
	char *line = coco_strndup(s, n);
	if (line)
		append_clean(b, line, 200);
	free(line);
}

char *coco_reg_errbody(const coco_http_resp *r)
{
	coco_buf b = COCO_BUF_INIT;
	json_t *j = errbody_json(r);
	json_t *errs = j ? json_object_get(j, "errors") : NULL;
	if (json_is_array(errs) && json_array_size(errs))
		errbody_errors(&b, errs);
	else if (r->body.len && !j)
		errbody_text(&b, r);
	json_decref(j);
	if (!b.len)
		coco_buf_appendf(&b, "HTTP %ld", r->status);
	if (r->body_truncated)
		coco_buf_appendf(&b, "; its error body was cut at the %zu-byte cap (max-error-body)",
		                 r->body_cap);
	char *s = coco_buf_cstr(&b);
	return s ? s : coco_strdup("error");
}

/* ------------------------------------------------------------------ */
/* Plain GET for other modules                                         */
/* ------------------------------------------------------------------ */

static char *url_hostport(const char *url)
{
	coco_curl_global_init(NULL);
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, *out = NULL;
	if (!u)
		return NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK && port)
			out = coco_asprintf("%s:%s", host, port);
		else
			out = coco_strdup(host);
	}
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return out;
}

static bool is_http_url(const char *u)
{
	return !strncasecmp(u, "https://", 8) || !strncasecmp(u, "http://", 7);
}

/* Follow a redirect from *cur (no https -> http unless TLS is off). */
static int follow_redirect(cocoimg_ctx *ctx, const char *url, char **cur, const char *loc,
                           bool verify, int *redirects)
{
	char *next = coco_url_resolve(*cur, loc);
	bool downgrade = next && !strncasecmp(*cur, "https://", 8) &&
	                 strncasecmp(next, "https://", 8) && verify;
	if (!next || ++*redirects > 10 || !is_http_url(next) || downgrade) {
		free(next);
		return coco_seterr(ctx, COCOIMG_ENET, "%s: refusing redirect", url);
	}
	free(*cur);
	*cur = next;
	return 0;
}

typedef struct get_loop {
	cocoimg_ctx *ctx;
	const char *url;
	coco_tls tls;
	char *cur;
	size_t max;
	const char *max_key;
	long retries;
	unsigned attempt;
	int redirects;
} get_loop;

/* One exchange of coco_http_get: 1 = go round again, 0 = done, <0. */
static int get_step(get_loop *g, coco_http_resp *resp)
{
	coco_http_req q = { .method = "GET", .url = g->cur, .max_body = g->max,
	                    .max_key = g->max_key };
	CURLcode cc;
	int rc = coco_http_perform(g->ctx, &g->tls, &q, resp, &cc);
	bool more = g->attempt < (unsigned)g->retries;
	if (rc) {
		if (cc == CURLE_OK || !coco_http_retryable(cc) || !more)
			return rc;
		char *why = coco_strdup(cocoimg_ctx_last_error(g->ctx));
		int brc = coco_http_backoff(g->ctx, g->attempt++, NULL, "%s", why ? why : g->cur);
		free(why);
		if (brc)
			return brc;
		coco_clearerr(g->ctx);
		return 1;
	}
	if (resp->status >= 300 && resp->status < 400 && resp->location) {
		rc = follow_redirect(g->ctx, g->url, &g->cur, resp->location, g->tls.verify,
		                     &g->redirects);
		return rc ? rc : 1;
	}
	if ((resp->status == 429 || resp->status >= 500) && more) {
		int brc = coco_http_backoff(g->ctx, g->attempt++, resp->retry_after,
		                            "%s: HTTP %ld", g->cur, resp->status);
		return brc ? brc : 1;
	}
	return 0;
}

int coco_http_get(cocoimg_ctx *ctx, const char *url, size_t max, const char *max_key,
                  coco_buf *out, long *status)
{
	if (status)
		*status = 0;
	if (!is_http_url(url))
		return coco_seterr(ctx, COCOIMG_EINVAL, "unsupported URL scheme in %s", url);
	char *hp = url_hostport(url);
	if (!hp)
		return coco_seterr(ctx, COCOIMG_EINVAL, "malformed URL %s", url);
	get_loop g = { .ctx = ctx, .url = url, .max = max, .max_key = max_key,
	               .retries = coco_opt_long(ctx, NULL, "retry-times", 3) };
	int rc = coco_tls_load(ctx, NULL, hp, &g.tls);
	free(hp);
	if (rc)
		return rc;
	coco_http_resp resp = { .content_length = -1 };
	g.cur = coco_strdup(url);
	rc = g.cur ? 1 : coco_oom(ctx);
	while (rc == 1)
		rc = get_step(&g, &resp);
	if (!rc && status)
		*status = resp.status;
	if (!rc && resp.status >= 200 && resp.status < 300) {
		coco_buf_free(out);
		*out = resp.body;
		memset(&resp.body, 0, sizeof(resp.body));
	}
	coco_http_resp_clear(&resp);
	coco_tls_clear(&g.tls);
	free(g.cur);
	return rc;
}

int coco_http_post(cocoimg_ctx *ctx, const char *url, const char *content_type,
                   const void *body, size_t len, size_t max, coco_buf *out, long *status)
{
	*status = 0;
	if (!is_http_url(url))
		return coco_seterr(ctx, COCOIMG_EINVAL, "unsupported URL scheme in %s", url);
	char *hp = url_hostport(url);
	if (!hp)
		return coco_seterr(ctx, COCOIMG_EINVAL, "malformed URL %s", url);
	coco_tls tls;
	int rc = coco_tls_load(ctx, NULL, hp, &tls);
	free(hp);
	if (rc)
		return rc;
	char *ct = coco_asprintf("Content-Type: %s", content_type);
	struct curl_slist *h = ct ? curl_slist_append(NULL, ct) : NULL;
	struct curl_slist *h2 = h ? curl_slist_append(h, "Accept: application/json") : NULL;
	if (!h2) {
		curl_slist_free_all(h);
		free(ct);
		coco_tls_clear(&tls);
		return coco_oom(ctx);
	}
	coco_http_req q = { .method = "POST", .url = url, .headers = h2, .body = body,
	                    .body_len = len, .send_body = true, .max_body = max };
	coco_http_resp resp = { .content_length = -1 };
	CURLcode cc;
	rc = coco_http_perform(ctx, &tls, &q, &resp, &cc);
	if (!rc) {
		*status = resp.status;
		coco_buf_free(out);
		*out = resp.body;
		memset(&resp.body, 0, sizeof(resp.body));
	}
	coco_http_resp_clear(&resp);
	curl_slist_free_all(h2);
	free(ct);
	coco_tls_clear(&tls);
	return rc;
}
