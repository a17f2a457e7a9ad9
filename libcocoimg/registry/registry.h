/*
 * registry/: the docker:// transport (OCI distribution API over libcurl).
 * Internal to the registry module and its unit tests.
 *
 *   http.c   per-context connection pool (CURLSH), TLS/proxy settings,
 *            one request = one easy handle, streamed uploads, retries
 *   auth.c   WWW-Authenticate parsing, credentials (creds, auth.json),
 *            bearer tokens cached per scope
 *   pull.c   coco_src for docker://
 *   referrers.c  the referrers of a manifest (API, else the tag schema)
 *   push.c   coco_dest for docker://
 */
#ifndef COCO_REGISTRY_H
#define COCO_REGISTRY_H

#include "../base.h"
#include "../ref.h"
#include "../stream.h"
#include "../transport.h"

#include <curl/curl.h>

/* Blobs up to this size are uploaded with one monolithic PUT (retryable);
 * larger ones (or unknown sizes past it) are streamed with PATCH. */
#define COCO_REG_MONOLITHIC_MAX (1024 * 1024)

/* ------------------------------------------------------------------ */
/* auth.c                                                              */
/* ------------------------------------------------------------------ */

typedef enum coco_auth_scheme {
	COCO_AUTH_NONE = 0,
	COCO_AUTH_BASIC = 1,
	COCO_AUTH_BEARER = 2,
	COCO_AUTH_OTHER = 3
} coco_auth_scheme;

/* One challenge of a WWW-Authenticate header. */
typedef struct coco_challenge {
	coco_auth_scheme scheme;
	char *realm;
	char *service;
	char *scope;               /* several scope params are joined with ' ' */
	char *error;
} coco_challenge;

/*
 * Parse one WWW-Authenticate header value (RFC 7235: several challenges,
 * quoted strings with backslash escapes, case-insensitive names) and
 * append its challenges to *arr and *n.  Never fails on odd input (garbage is
 * skipped); returns COCOIMG_ENOMEM only.
 */
int coco_www_auth_parse(const char *value, coco_challenge **arr, size_t *n);
void coco_challenges_free(coco_challenge *arr, size_t n);
/* The preferred challenge (Bearer, else Basic) or NULL. */
const coco_challenge *coco_challenge_pick(const coco_challenge *arr, size_t n);

typedef struct coco_creds {
	char *user;
	char *pass;                /* secret */
	char *identity_token;      /* secret (OAuth2 refresh token) */
	char *bearer;              /* secret: a fixed registry token */
	char *source;              /* "--creds", or the file it came from */
} coco_creds;

void coco_creds_clear(coco_creds *c);
/* "Authorization: Basic ..." for c->user and c->pass ("" when NULL): a
 * secret, freed with coco_free_secret_str.  NULL when out of memory. */
char *coco_basic_authz(const coco_creds *c);
/* Wipe and free a NUL-terminated secret; NULL is fine. */
void coco_free_secret_str(char *s);

/*
 * The credential files to consult, in containers-auth.json(5) order, for a
 * config side.  An explicit ctx "authfile" (or $REGISTRY_AUTH_FILE) is the
 * only entry then and *explicit is set.  legacy[i] marks ~/.dockercfg.
 * Caller frees with coco_strv_free.
 */
int coco_authfile_paths(cocoimg_ctx *ctx, const char *side, char ***paths, bool **legacy,
                        size_t *n, bool *explicit_file);

/*
 * Look credentials for registry `host` (as written in the reference, e.g.
 * "docker.io", "127.0.0.1:5000") and repository `path` up in one auth
 * file's JSON bytes, with containers/image's key rules.  Returns 1 if
 * found (out filled), 0 if not, <0 on malformed input (message names
 * `file`).
 */
int coco_authjson_lookup(cocoimg_ctx *ctx, const char *json, size_t len, const char *file,
                         bool legacy, const char *host, const char *path, coco_creds *out);

/*
 * All sources in order: ctx "no-creds", "registry-token", "creds", then
 * the auth files.  Returns 0 (out filled, maybe empty = anonymous) or <0.
 */
int coco_creds_lookup(cocoimg_ctx *ctx, const char *side, const char *host, const char *path,
                      coco_creds *out);

/* ------------------------------------------------------------------ */
/* http.c                                                              */
/* ------------------------------------------------------------------ */

/* TLS / proxy settings for one registry host. */
typedef struct coco_tls {
	bool verify;
	char *cainfo;              /* CA bundle file (SSL_CERT_FILE) or NULL */
	char *capath;              /* SSL_CERT_DIR or NULL */
	coco_buf ca_blob;          /* system bundle + certs.d *.crt + --ca-cert, when any */
	char *client_cert;
	char *client_key;
	char *proxy;               /* ctx "proxy" or NULL (libcurl reads env) */
	char *user_agent;
	char *cert_dir;            /* the directory used, for messages */
} coco_tls;

/* Load TLS settings for host ("HOST[:PORT]"), side may be NULL. */
int coco_tls_load(cocoimg_ctx *ctx, const char *side, const char *host, coco_tls *out);
/* --ca-cert (ctx option ca-cert): its PEM certificates appended to extra
 * (ca_file.c); the file may be a resource URI. */
int coco_tls_ca_file(cocoimg_ctx *ctx, const char *side, coco_buf *extra);
void coco_tls_clear(coco_tls *t);

typedef struct coco_http_resp {
	long status;
	char *location;
	char *content_type;        /* parameters stripped */
	char *docker_digest;
	char *content_range;
	char *retry_after;
	char *link_next;           /* a Link field with rel="next" (pagination) */
	char *filters_applied;     /* OCI-Filters-Applied */
	char *oci_subject;         /* OCI-Subject (a manifest push with a subject) */
	char **www_auth;
	size_t n_www_auth;
	int64_t content_length;    /* -1 when absent */
	coco_buf body;             /* non-2xx bodies, or 2xx bodies without sink */
	bool body_truncated;
	size_t body_cap;           /* the cap it was cut at (max-error-body) */
	long http_version;         /* CURL_HTTP_VERSION_1_1, _2_0, ... */
	coco_auth_scheme auth_sent;/* what the last request to the registry carried
	                              (set by coco_reg_request) */
} coco_http_resp;

void coco_http_resp_clear(coco_http_resp *r);

typedef struct coco_http_req {
	const char *method;        /* "GET", "HEAD", "PUT", ... */
	const char *url;
	struct curl_slist *headers;/* extra headers, borrowed */
	const char *authorization; /* "Authorization: ..." or NULL (secret) */
	const void *body;          /* request body, or NULL */
	size_t body_len;
	bool send_body;            /* PUT/POST/PATCH with body (maybe empty) */
	size_t max_body;           /* cap for a 2xx resp->body; error bodies are
	                              cut at max-error-body */
	const char *max_key;       /* the ctx key of max_body, for the message */
	/* Streaming of a 2xx body into a stage (blob downloads). */
	coco_stage *sink;
	uint64_t skip;             /* drop this many leading bytes of a 200 */
	uint64_t range_start;      /* a 206 must start here */
	uint64_t *delivered;       /* incremented by bytes handed to sink */
	int sink_err;              /* out: error code from the sink or progress */
	CURLcode cc;               /* out: libcurl result of the last attempt */
	bool range_mismatch;       /* out: 206 with a wrong Content-Range */
	bool small;                /* a metadata blob into a sink: bounded by
	                              metadata-timeout like in-memory bodies */
} coco_http_req;

/*
 * One HTTP exchange (no redirects followed, no retries).  Returns 0 when a
 * response arrived (any status, see resp->status), else a negative code
 * with the error recorded on ctx; *cc receives the libcurl result (for the
 * retry decision).  req->sink_err is set when the sink failed.
 */
int coco_http_perform(cocoimg_ctx *ctx, const coco_tls *tls, coco_http_req *req,
                      coco_http_resp *resp, CURLcode *cc);

/* Is this transport error worth a retry? */
bool coco_http_retryable(CURLcode cc);
/*
 * Before retry number `attempt` (0-based): log a warning naming the
 * reason (printf-style), then sleep (exponential, honouring Retry-After).
 * Returns 0, or COCOIMG_ECANCELLED (recorded) when the operation was
 * cancelled or its deadline passed meanwhile: then do not retry.
 */
int coco_http_backoff(cocoimg_ctx *ctx, unsigned attempt, const char *retry_after,
                      const char *fmt, ...) COCO_PRINTF(4, 5);

/*
 * A streamed upload (PATCH/PUT with a body produced piecewise): libcurl's
 * multi interface with a pausing read callback, so no thread and no
 * spooling.  size < 0 = unknown (chunked transfer encoding on HTTP/1.1).
 */
typedef struct coco_http_stream coco_http_stream;
int coco_http_stream_begin(cocoimg_ctx *ctx, const coco_tls *tls, const char *method,
                           const char *url, struct curl_slist *headers,
                           const char *authorization, int64_t size, coco_http_stream **out);
int coco_http_stream_write(coco_http_stream *s, const unsigned char *buf, size_t len);
/* Ends the body and waits for the response. */
int coco_http_stream_end(coco_http_stream *s, coco_http_resp *resp);
void coco_http_stream_free(coco_http_stream *s);

/* Resolve a Location/redirect against the URL it came from. Caller frees. */
char *coco_url_resolve(const char *base, const char *loc);
/* "scheme://host:port" (lower-case, default port filled in). Caller frees. */
char *coco_url_origin(const char *url);
/* Percent-encode for a query value. Caller frees. */
char *coco_url_escape(const char *s);

/* A one-line summary of a registry error body ("CODE: message; ...") or of
 * a text body; never NULL (caller frees). */
char *coco_reg_errbody(const coco_http_resp *r);
/* Does the JSON error body carry this code? */
bool coco_reg_errcode(const coco_http_resp *r, const char *code);

/* Per-context shared state (connection cache, DNS, TLS sessions, tokens):
 * "one connection pool per context", kept in ctx->registry_state. */
typedef struct coco_token coco_token;
typedef struct coco_ping_memo coco_ping_memo;
typedef struct coco_reg_state {
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	pthread_mutex_t mu;        /* guards tokens and pings */
	coco_token *tokens;
	coco_ping_memo *pings;     /* ping_memo.c */
} coco_reg_state;

/* Create on first use (thread-safe); NULL on out-of-memory. */
coco_reg_state *coco_reg_state_get(cocoimg_ctx *ctx);

/*
 * The operation's deadline (ctx "command-timeout", armed by every public
 * operation on entry, base.h coco_deadline_left_ms) bounds every exchange
 * by what remains; once it has passed, exchanges fail at once and are not
 * retried.  cocoimg_ctx_cancel() stops a running exchange within about a
 * second (libcurl's progress callback).
 */

/* ------------------------------------------------------------------ */
/* A client for one registry and repository (pull.c / push.c)          */
/* ------------------------------------------------------------------ */

typedef struct coco_reg {
	cocoimg_ctx *ctx;
	const char *side;
	char *host;                /* as in the reference: "docker.io" */
	char *wire_host;           /* what we connect to: "registry-1.docker.io" */
	char *path;                /* repository path "library/alpine" */
	char *scheme;              /* "https" or "http" (after ping) */
	char *base;                /* "https://host/v2/" */
	bool insecure;
	long retries;
	coco_tls tls;
	coco_creds creds;
	bool creds_loaded;
	pthread_mutex_t mu;        /* ping and challenge */
	bool pinged;
	coco_auth_scheme auth;     /* from the ping */
	char *realm;
	char *service;
} coco_reg;

/* After an attempt (rc) of a request to r: sleep the backoff and return true
 * when it is to be tried again, that is while attempts remain, on a
 * retryable transport failure (transport_retry, looked at only when rc is
 * set) or on a 429 / 5xx answer. */
bool coco_reg_retry_wait(const coco_reg *r, unsigned *attempt, int rc, bool transport_retry,
                         const coco_http_resp *resp);

int coco_reg_open(cocoimg_ctx *ctx, const char *side, const coco_dref *ref, coco_reg **out);
void coco_reg_free(coco_reg *r);

/* The answers of pings, per context (ping_memo.c), for a registry
 * (wire_host, and insecure or not): _get fills r's scheme, base and
 * challenge from an earlier ping (false: none, or out of memory), _put
 * remembers r's after its ping. */
bool coco_ping_memo_get(coco_reg_state *st, coco_reg *r);
void coco_ping_memo_put(coco_reg_state *st, const coco_reg *r);
void coco_ping_memo_free(coco_ping_memo *m);

/* The registry side of a docker:// source or destination: the client for
 * its repository (pinged), the token scope its requests ask for, its name
 * for messages. */
typedef struct coco_reg_repo {
	coco_reg *reg;
	char *scope;               /* repository:PATH:ACTIONS */
	char *name;                /* HOST/PATH for messages */
} coco_reg_repo;

/* Open *rr (zeroed) for ref with the token actions ("pull", "pull,push").
 * On failure too, coco_reg_repo_close releases what was taken. */
int coco_reg_repo_open(cocoimg_ctx *ctx, const char *side, const coco_dref *ref,
                       const char *actions, coco_reg_repo *rr);
void coco_reg_repo_close(cocoimg_ctx *ctx, coco_reg_repo *rr);
/* Ping /v2/ once (thread-safe): picks https/http, learns the challenge. */
int coco_reg_ping(coco_reg *r);
/* "https://host/v2/<path>/<suffix>"; caller frees. */
char *coco_reg_url(coco_reg *r, const char *fmt, ...) COCO_PRINTF(2, 3);

/*
 * Do a request against the registry: authorization for `scope`
 * ("repository:x/y:pull"), a new token or Basic on 401 (once), redirects
 * for GET/HEAD (credentials only to the same origin), retries with backoff
 * on transport errors, 429 and 5xx.  A request with a sink is never
 * retried once bytes reached the sink (the caller resumes).  `what` names
 * the object for messages.  Returns 0 with any final status in resp (the
 * caller interprets 4xx), or <0.
 */
int coco_reg_request(coco_reg *r, coco_http_req *req, const char *scope, const char *what,
                     coco_http_resp *resp);
/* The Authorization header line for scope (NULL when anonymous). */
int coco_reg_authorization(coco_reg *r, const char *scope, bool refresh,
                           const coco_challenge *ch, char **out);
/* Turn an unexpected status into an error on ctx: 401/403 -> EAUTH,
 * 404 -> ENOTFOUND, else ENET. */
int coco_reg_status_error(coco_reg *r, const coco_http_resp *resp, const char *what);

/* Bearer token cache (auth.c, state in coco_reg_state). */
int coco_token_get(coco_reg *r, const char *realm, const char *service, const char *scope,
                   bool refresh, char **token);
void coco_tokens_free(coco_token *list);

/* pull.c: resume bookkeeping (exposed for unit tests).  Given the bytes
 * already delivered and a response status / Content-Range, decide how
 * many bytes of the new body to skip: returns 0 and *skip, or -1 when the
 * response cannot continue the blob. */
int coco_resume_plan(uint64_t delivered, long status, const char *content_range,
                     uint64_t *skip);

/* For push.c mount: is `s` a registry source, and its client. */
coco_reg *coco_registry_src_client(coco_src *s);

/* referrers.c: list_referrers of docker:// sources (the referrers API,
 * else the referrers tag schema); out is struct coco_referrers from
 * oci/referrers.h. */
int coco_registry_referrers(coco_src *s, const char *digest, const char *artifact_type,
                            coco_referrers *out);

/* The docker:// transport (pull.c, push.c). */
int coco_registry_src_open(cocoimg_ctx *ctx, coco_ref *ref, const char *side,
                           coco_src **out);
int coco_registry_dest_open(cocoimg_ctx *ctx, coco_ref *ref, coco_dest **out);

/*
 * http.c: plain HTTP(S) GET of a URL (lookaside signatures, Rekor,
 * Fulcio...) honouring the ctx TLS/proxy settings.  *status receives the
 * HTTP status; a 2xx body is limited to max bytes, and max_key (may be
 * NULL) names the ctx key of that cap in the refusal.
 */
int coco_http_get(cocoimg_ctx *ctx, const char *url, size_t max, const char *max_key,
                  coco_buf *out, long *status);

/*
 * http.c: one POST of body (Content-Type content_type, Accept
 * application/json) to url (Rekor, Fulcio), no redirects and no retries
 * (the services are not idempotent for us).  0 when a response arrived:
 * *status its HTTP status, *out its body (2xx bodies capped at max, error
 * bodies at max-error-body); else a negative code with the error on ctx.
 */
int coco_http_post(cocoimg_ctx *ctx, const char *url, const char *content_type,
                   const void *body, size_t len, size_t max, coco_buf *out, long *status);

#endif /* COCO_REGISTRY_H */
