/*
 * libcocoimg internal base API: errors, logging, buffers, JSON helpers,
 * digests, the stage (stream) interface, references, manifests, and the
 * image source / destination abstraction.  Not installed.
 *
 * Dependency direction: base (this file's error/buf/json/digest/stream/ref)
 * <- oci, crypt, trust, unpack <- registry <- image*.c <- cli.
 */
#ifndef COCOIMG_INTERNAL_H
#define COCOIMG_INTERNAL_H

#include "config.h"

#include <cocoimg.h>

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define COCO_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define COCO_UNUSED __attribute__((unused))
#define COCO_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Default streaming buffer size for every stage. */
#define COCO_BUFSZ (512 * 1024)

/* Largest manifest/index/config/signature we accept into memory. */
#define COCO_MAX_MANIFEST (4 * 1024 * 1024)
#define COCO_MAX_CONFIG (32 * 1024 * 1024)

/* ------------------------------------------------------------------ */
/* Context                                                             */
/* ------------------------------------------------------------------ */

struct coco_kv {
	char *key;
	char *value;
};

struct cocoimg_ctx {
	pthread_mutex_t lock;      /* guards err_* (worker threads set errors) */
	int err_code;
	char err_msg[1024];

	cocoimg_log_cb log_cb;
	cocoimg_log_level log_max;
	void *log_payload;

	cocoimg_progress_cb progress_cb;
	void *progress_payload;

	struct coco_kv *opts;      /* configuration, see cocoimg_ctx_set() */
	size_t n_opts;

	void *registry_state;      /* owned by registry/: connection pool, tokens */
	void (*registry_state_free)(void *);
};

/*
 * Record an error on the context and return `code` (so callers can write
 * `return coco_seterr(ctx, COCOIMG_EIO, "...")`).  Thread-safe.  A
 * COCOIMG_ECANCELLED never overwrites an earlier, more specific error.
 * The message must never include key material.
 */
int coco_seterr(cocoimg_ctx *ctx, int code, const char *fmt, ...) COCO_PRINTF(3, 4);
/* Prefix the current message: "CONTEXT: previous message". Returns code. */
int coco_preferr(cocoimg_ctx *ctx, int code, const char *fmt, ...) COCO_PRINTF(3, 4);
void coco_clearerr(cocoimg_ctx *ctx);

void coco_log(cocoimg_ctx *ctx, cocoimg_log_level lvl, const char *fmt, ...) COCO_PRINTF(3, 4);
#define coco_warn(ctx, ...) coco_log((ctx), COCOIMG_LOG_WARN, __VA_ARGS__)
#define coco_info(ctx, ...) coco_log((ctx), COCOIMG_LOG_INFO, __VA_ARGS__)
#define coco_debug(ctx, ...) coco_log((ctx), COCOIMG_LOG_DEBUG, __VA_ARGS__)

/* Progress: returns COCOIMG_ECANCELLED (with message) if the callback
 * asks to stop, else 0. */
int coco_progress(cocoimg_ctx *ctx, const char *what, const char *digest,
                  uint64_t done, uint64_t total, int finished);

/*
 * Configuration lookup.  side is "src", "dest" or NULL; a side-specific
 * value ("src.creds") wins over the plain one ("creds").  Returns NULL when
 * unset.
 */
const char *coco_opt(const cocoimg_ctx *ctx, const char *side, const char *key);
/* Boolean/integer helpers with defaults. */
bool coco_opt_bool(const cocoimg_ctx *ctx, const char *side, const char *key, bool dflt);
long coco_opt_long(const cocoimg_ctx *ctx, const char *side, const char *key, long dflt);

/* ------------------------------------------------------------------ */
/* Memory and buffers                                                  */
/* ------------------------------------------------------------------ */

typedef struct coco_buf {
	unsigned char *data;
	size_t len;
	size_t cap;
} coco_buf;

#define COCO_BUF_INIT { NULL, 0, 0 }

int coco_buf_reserve(coco_buf *b, size_t extra);                 /* ENOMEM */
int coco_buf_append(coco_buf *b, const void *data, size_t len);  /* ENOMEM */
int coco_buf_appendf(coco_buf *b, const char *fmt, ...) COCO_PRINTF(2, 3);
int coco_buf_putc(coco_buf *b, char c);
/* Ensure a NUL after len (not counted) and return data as a string. */
char *coco_buf_cstr(coco_buf *b);
void coco_buf_free(coco_buf *b);
/* Wipe (OPENSSL_cleanse) then free: for anything that held secrets. */
void coco_buf_wipe_free(coco_buf *b);
/* Detach: return data (caller frees), reset buffer. */
unsigned char *coco_buf_detach(coco_buf *b, size_t *len);

char *coco_strdup(const char *s);                    /* NULL-safe */
char *coco_strndup(const char *s, size_t n);
char *coco_asprintf(const char *fmt, ...) COCO_PRINTF(1, 2);
void coco_wipe(void *p, size_t n);                   /* OPENSSL_cleanse */
void coco_free_secret(void *p, size_t n);            /* wipe then free */

/* Read a whole file (up to max bytes, else COCOIMG_EBADIMAGE / EINVAL via
 * err_code_too_big).  Errors are recorded on ctx naming the path. */
int coco_read_file(cocoimg_ctx *ctx, const char *path, size_t max, coco_buf *out,
                   int err_code_missing);
/* Write a file atomically: PATH.tmp-XXXXXX, fsync optional, rename. */
int coco_write_file_atomic(cocoimg_ctx *ctx, const char *path, const void *data,
                           size_t len, mode_t mode);
/* mkdir -p */
int coco_mkdir_p(cocoimg_ctx *ctx, const char *path, mode_t mode);
/* rm -rf (does not follow symlinks).  Returns 0 or COCOIMG_EIO. */
int coco_rm_rf(cocoimg_ctx *ctx, const char *path);
/*
 * List the names in directory `path` (no "." or "..", no names starting
 * with '.' unless with_hidden), sorted bytewise.  When suffix is not NULL
 * only names ending with it are listed.  *names is a NULL-terminated array
 * (free with coco_strv_free(*names, *n)), *n its length.  A missing directory gives an
 * empty list when missing_ok, else COCOIMG_ENOTFOUND.  Other failures:
 * COCOIMG_EIO (message names the path) or COCOIMG_ENOMEM (recorded).
 */
int coco_list_dir(cocoimg_ctx *ctx, const char *path, const char *suffix, bool with_hidden,
                  bool missing_ok, char ***names, size_t *n);
/* Free n strings of v, then v.  NULL-safe. */
void coco_strv_free(char **v, size_t n);
/* Record "out of memory" on ctx (ctx may be NULL) and return COCOIMG_ENOMEM. */
int coco_oom(cocoimg_ctx *ctx);
/* libcurl's global initialisation, run once per process (thread-safe).
 * Returns 0 or COCOIMG_EINTERNAL (recorded on ctx). */
int coco_curl_global_init(cocoimg_ctx *ctx);

/* Base64 (standard alphabet, padded; decoder also accepts unpadded and
 * URL-safe input when url is true). Output NUL-terminated. */
char *coco_b64_encode(const unsigned char *in, size_t len);
char *coco_b64url_encode(const unsigned char *in, size_t len); /* no padding */
int coco_b64_decode(const char *in, size_t inlen, coco_buf *out);     /* EINVAL */
int coco_b64url_decode(const char *in, size_t inlen, coco_buf *out);  /* EINVAL */
/* Lower-case hex. */
void coco_hex_encode(const unsigned char *in, size_t len, char *out /* 2*len+1 */);

/* Constant-time compare. */
int coco_ct_equal(const void *a, const void *b, size_t n);

/* ------------------------------------------------------------------ */
/* JSON helpers (jansson)                                              */
/* ------------------------------------------------------------------ */

/* Parse JSON bytes strictly (no trailing data, object at top unless
 * allow_any).  Error recorded on ctx with `what` naming the document. */
int coco_json_parse(cocoimg_ctx *ctx, const void *data, size_t len, const char *what,
                    int err_code, json_t **out);
/*
 * Load a configuration file: read at most max bytes of path and parse them
 * strictly (duplicate keys refused; any JSON value).  Errors are
 * COCOIMG_ECONFIG: "WHAT: <why it cannot be read>" or "WHAT PATH: invalid
 * JSON at line L column C", followed by jansson's text only when
 * quote_text (it may quote the file: never for files holding secrets).
 * The bytes read are wiped.  *out: a new reference.
 */
int coco_json_load_file(cocoimg_ctx *ctx, const char *path, size_t max, const char *what,
                        bool quote_text, json_t **out);
/* Strict getters: return 0 and set *out, or err_code with a message naming
 * `what` and the key.  "opt" variants return 0 and leave *out NULL/0 when
 * absent but fail on a wrong type. */
int coco_json_str(cocoimg_ctx *ctx, json_t *obj, const char *key, const char *what,
                  int err_code, const char **out);
int coco_json_opt_str(cocoimg_ctx *ctx, json_t *obj, const char *key, const char *what,
                      int err_code, const char **out);
int coco_json_int(cocoimg_ctx *ctx, json_t *obj, const char *key, const char *what,
                  int err_code, int64_t *out);
/* Serialize compactly with keys in insertion order (like Go's json for
 * struct fields we build ourselves).  Caller frees. */
char *coco_json_dump(json_t *j);
/* Decode a JSON "[]byte" value: base64 string (Go) or array of 0..255
 * (Rust).  0, or COCOIMG_EINVAL for anything else (no message), or
 * COCOIMG_ENOMEM.  Absent or null -> nothing appended. */
int coco_json_bytes(json_t *v, coco_buf *out);
/* A copy of object obj with its members sorted by key (bytewise, as Go
 * writes a map); values are shared (new references).  NULL when out of
 * memory. */
json_t *coco_json_sorted(json_t *obj);

/* ------------------------------------------------------------------ */
/* Digests                                                             */
/* ------------------------------------------------------------------ */

typedef enum coco_digest_alg {
	COCO_SHA256 = 0,
	COCO_SHA512 = 1
} coco_digest_alg;

/* "sha512:" + 128 hex + NUL */
#define COCO_DIGEST_STRLEN 136

typedef struct coco_digest {
	void *md;                  /* EVP_MD_CTX* */
	coco_digest_alg alg;
} coco_digest;

int coco_digest_init(coco_digest *d, coco_digest_alg alg);
int coco_digest_update(coco_digest *d, const void *data, size_t len);
/* Writes "sha256:<hex>"; the context may be reused after init again. */
int coco_digest_final(coco_digest *d, char out[COCO_DIGEST_STRLEN]);
void coco_digest_free(coco_digest *d);
/* One-shot. */
int coco_digest_bytes(coco_digest_alg alg, const void *data, size_t len,
                      char out[COCO_DIGEST_STRLEN]);
/*
 * Validate an OCI digest string "alg:hex": alg sha256 (64 hex) or sha512
 * (128 hex), lower-case hex only.  Returns 0 and sets *alg, or EINVAL
 * (no message set: callers say what was wrong in context).
 */
int coco_digest_validate(const char *s, coco_digest_alg *alg);
/* One-shot digest of data with the algorithm of the digest string `like`
 * (sha256 when like is NULL or not a valid digest). */
int coco_digest_like(const char *like, const void *data, size_t len,
                     char out[COCO_DIGEST_STRLEN]);

/* ------------------------------------------------------------------ */
/* Stages: push-style streaming                                        */
/* ------------------------------------------------------------------ */

/*
 * A stage receives bytes with write() and end-of-stream with finish().
 * A stage that transforms bytes forwards them to `next` itself; finish()
 * must call the next stage's finish.  destroy() frees the stage only (not
 * next).  Errors are recorded on ctx and returned as negative codes.
 * After an error no further calls are made except destroy().
 */
typedef struct coco_stage coco_stage;
struct coco_stage {
	int (*write)(coco_stage *s, const unsigned char *buf, size_t len);
	int (*finish)(coco_stage *s);
	void (*destroy)(coco_stage *s);
	coco_stage *next;
	cocoimg_ctx *ctx;
	const char *name;          /* for --stats: "digest", "decrypt", ... */
	uint64_t nsec;             /* time spent in this stage's own work */
};

static inline int coco_stage_write(coco_stage *s, const unsigned char *b, size_t n)
{
	return n ? s->write(s, b, n) : 0;
}
static inline int coco_stage_finish(coco_stage *s) { return s->finish(s); }
/* Destroy s and every stage after it. NULL-safe. */
void coco_stage_chain_free(coco_stage *s);

/* Monotonic nanoseconds, for stats. */
uint64_t coco_now_ns(void);

/*
 * Verify stage: passes bytes through to next (may be NULL = sink), counts
 * and digests them; finish() fails with COCOIMG_EDIGEST if the size or
 * digest differ from expected (expected_size < 0 = unknown,
 * expected_digest NULL = compute only).  `what` names the object in the
 * error ("layer sha256:..."). After finish, coco_verify_result() gives the
 * computed digest and size.
 */
int coco_verify_stage_new(cocoimg_ctx *ctx, const char *expected_digest,
                          int64_t expected_size, const char *what, coco_stage *next,
                          coco_stage **out);
void coco_verify_result(coco_stage *verify, char digest[COCO_DIGEST_STRLEN],
                        uint64_t *size);

/* Sink that appends to a memory buffer, failing past max bytes with
 * err_code. The buffer is owned by the caller. */
int coco_buf_stage_new(cocoimg_ctx *ctx, coco_buf *buf, size_t max, int err_code,
                       coco_stage **out);

/* Sink that writes to an fd (not closed). */
int coco_fd_stage_new(cocoimg_ctx *ctx, int fd, const char *path_for_errors,
                      coco_stage **out);

/* Feed a whole fd / memory range into a stage chain, then finish it. */
int coco_stage_pump_fd(coco_stage *s, int fd, const char *path_for_errors);
int coco_stage_pump_mem(coco_stage *s, const void *data, size_t len);

/*
 * Ring: a bounded queue of buffers between a producer thread (which uses
 * the ring as a sink stage) and a consumer thread (which pulls with
 * coco_ring_read).  Either side can abort; the other side then sees
 * COCOIMG_ECANCELLED (or the abort code).
 */
typedef struct coco_ring coco_ring;
int coco_ring_new(cocoimg_ctx *ctx, size_t nbufs, size_t bufsz, coco_ring **out);
/* The producer-side stage (write/finish).  Owned by the ring. */
coco_stage *coco_ring_stage(coco_ring *r);
/* Blocking read of up to len bytes; returns bytes read, 0 at end of
 * stream, negative error if the producer aborted. */
ssize_t coco_ring_read(coco_ring *r, void *buf, size_t len);
/* Zero-copy read: borrow the next filled chunk; release it after use. */
ssize_t coco_ring_borrow(coco_ring *r, const unsigned char **data);
void coco_ring_release(coco_ring *r);
/* Zero-copy write: *data receives the free part of the buffer being
 * filled (waiting for room); returns its size (> 0) or the abort code.
 * coco_ring_commit() then adds the n bytes written there (a full buffer
 * is handed to the reader; finish the ring stage to flush the last). */
ssize_t coco_ring_wbuf(coco_ring *r, unsigned char **data);
int coco_ring_commit(coco_ring *r, size_t n);
void coco_ring_abort(coco_ring *r, int code);
void coco_ring_free(coco_ring *r);

/*
 * Async stage: a pipeline split point.  write() copies the bytes into a
 * bounded ring (nbufs x bufsz; 0 = defaults) and returns; a worker thread
 * started here feeds them to `next` and calls next's finish() when this
 * stage is finished.  finish() returns once the worker is done, with the
 * first error of either side.  An error in `next` makes the following
 * write()/finish() return it.  destroy() (or coco_stage_chain_free) stops
 * and joins the worker, then `next` is destroyed as usual.  nsec counts
 * the time the writer waited for room (back pressure).
 */
int coco_async_stage_new(cocoimg_ctx *ctx, size_t nbufs, size_t bufsz, coco_stage *next,
                         coco_stage **out);
/* CPUs this process may run on (affinity mask), at least 1.  With one, the
 * async stage forwards on the caller's thread instead of splitting. */
int coco_cpus_usable(void);

/*
 * Meter stage: passes bytes through; its nsec counts the time spent
 * outside next's write()/finish() since it was created, i.e. the time its
 * caller took to produce the bytes (the source: network or file reads).
 * Named "network".
 */
int coco_meter_stage_new(cocoimg_ctx *ctx, coco_stage *next, coco_stage **out);

/* ------------------------------------------------------------------ */
/* References                                                          */
/* ------------------------------------------------------------------ */

typedef enum coco_transport {
	COCO_TR_DOCKER = 0,
	COCO_TR_OCI = 1,
	COCO_TR_OCI_ARCHIVE = 2
} coco_transport;

/* A parsed docker/distribution reference, normalised. */
typedef struct coco_dref {
	char *domain;              /* "docker.io", "localhost:5000" */
	char *path;                /* "library/alpine" */
	char *tag;                 /* NULL if none given (and no digest: "latest") */
	char *digest;              /* NULL if none */
} coco_dref;

typedef struct coco_ref {
	coco_transport transport;
	coco_dref docker;          /* for COCO_TR_DOCKER */
	char *path;                /* oci / oci-archive: DIR or FILE */
	char *tag;                 /* oci / oci-archive: TAG or NULL */
	char *raw;                 /* the string as given */
} coco_ref;

/* Parse "docker://...", "oci:...", "oci-archive:...". EINVAL + message. */
int coco_ref_parse(cocoimg_ctx *ctx, const char *s, coco_ref **out);
void coco_ref_free(coco_ref *r);
/* Parse a docker reference without transport, normalising like
 * docker/distribution ParseNormalizedNamed. */
int coco_dref_parse(cocoimg_ctx *ctx, const char *s, coco_dref *out);
void coco_dref_clear(coco_dref *r);
/* "domain/path" */
char *coco_dref_repo(const coco_dref *r);
/* "domain/path:tag", "domain/path@digest", "domain/path:tag@digest" */
char *coco_dref_string(const coco_dref *r);
/*
 * Go's docker/reference exactly as containers/image vendors it, for
 * signature identity rules: COCO_DREF_NORMALIZE is ParseNormalizedNamed
 * (Docker Hub names completed, no ":latest" added: name-only, tagged and
 * digested references stay apart), COCO_DREF_CANONICAL is ParseNamed (the
 * string must already be in canonical form).  0, or COCOIMG_EINVAL /
 * COCOIMG_ENOMEM with *err a static reason (no ctx message).
 */
typedef enum coco_dref_mode { COCO_DREF_NORMALIZE, COCO_DREF_CANONICAL } coco_dref_mode;
int coco_dref_parse_named(const char *s, coco_dref_mode mode, coco_dref *out, const char **err);
/* Neither tag nor digest (only from coco_dref_parse_named). */
bool coco_dref_name_only(const coco_dref *r);
/* Canonical transport form of a ref. */
char *coco_ref_string(const coco_ref *r);
/* A reference to `tag` in the same repository (docker) or layout (oci,
 * oci-archive) as r (sigstore attachments). */
int coco_ref_sibling(cocoimg_ctx *ctx, const coco_ref *r, const char *tag, coco_ref **out);
/* Pieces of the docker/distribution name grammar (n bytes, no NUL needed):
 * a repository path, a domain (host or [ipv6], optional :port), a tag. */
bool coco_ref_path_ok(const char *s, size_t n);
bool coco_ref_domain_ok(const char *s, size_t n);
bool coco_ref_tag_ok(const char *s, size_t n);

/* ------------------------------------------------------------------ */
/* Manifests, indexes, configs                                         */
/* ------------------------------------------------------------------ */

#define COCO_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define COCO_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define COCO_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define COCO_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define COCO_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define COCO_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"

typedef struct coco_platform {
	char *os;
	char *arch;
	char *variant;             /* may be NULL */
	char *os_version;          /* may be NULL */
} coco_platform;

/* A content descriptor.  `json` is the descriptor object as parsed (kept so
 * unknown fields and annotations survive a copy); the other fields are
 * views into it or parsed values. */
typedef struct coco_desc {
	const char *media_type;
	const char *digest;
	int64_t size;
	json_t *annotations;       /* borrowed from json, may be NULL */
	coco_platform platform;    /* for index entries; fields NULL if absent */
	json_t *json;              /* owned reference */
} coco_desc;

typedef enum coco_manifest_kind {
	COCO_KIND_IMAGE = 0,       /* OCI image manifest / Docker schema2 */
	COCO_KIND_INDEX = 1        /* OCI index / Docker manifest list */
} coco_manifest_kind;

typedef struct coco_manifest {
	coco_manifest_kind kind;
	const char *media_type;    /* effective media type */
	json_t *json;              /* whole document, owned */
	coco_desc config;          /* images only */
	coco_desc *layers;         /* images only */
	size_t n_layers;
	coco_desc *manifests;      /* indexes only */
	size_t n_manifests;
	json_t *annotations;       /* borrowed, may be NULL */
} coco_manifest;

/*
 * Parse a manifest or index strictly.  media_type_hint is the
 * Content-Type / descriptor media type when known (may be NULL); the
 * document's own mediaType must agree when both are present.  Errors:
 * COCOIMG_EBADIMAGE with a message naming the field.
 */
int coco_manifest_parse(cocoimg_ctx *ctx, const void *data, size_t len,
                        const char *media_type_hint, coco_manifest **out);
void coco_manifest_free(coco_manifest *m);
/* Serialize back (for manifests we modified): compact, Go-like key order
 * as stored in m->json. Caller frees. */
char *coco_manifest_serialize(const coco_manifest *m, size_t *len);

/* Parse "os/arch[/variant]". */
int coco_platform_parse(cocoimg_ctx *ctx, const char *s, coco_platform *out);
/* The running machine (GOOS/GOARCH names: linux/amd64, linux/arm64/v8...). */
void coco_platform_host(coco_platform *out);
void coco_platform_clear(coco_platform *p);
/*
 * Pick the best index entry for platform p (NULL = from ctx "platform"
 * option, else host), with containers/image's variant rules.  Returns the
 * index in m->manifests, or COCOIMG_ENOTFOUND with a message listing the
 * platforms present.
 */
int coco_index_select(cocoimg_ctx *ctx, const coco_manifest *index,
                      const coco_platform *p, size_t *which);

/* Image layer media type helpers. */
bool coco_mt_is_layer(const char *mt);
bool coco_mt_is_encrypted(const char *mt);  /* ends with "+encrypted" */
/* Compression of a (decrypted) layer media type. */
typedef enum coco_compression {
	COCO_COMP_NONE = 0,
	COCO_COMP_GZIP = 1,
	COCO_COMP_ZSTD = 2,
	COCO_COMP_UNKNOWN = 3
} coco_compression;
coco_compression coco_mt_compression(const char *mt);
/* One of the four manifest/index media types above. */
bool coco_mt_is_manifest(const char *mt);
bool coco_mt_is_index(const char *mt);
/* The OCI media type for a Docker schema2 manifest/list/config/layer type
 * (static string), or NULL when there is none. */
const char *coco_mt_docker_to_oci(const char *mt);
/* Parse one descriptor strictly (mediaType, digest, size >= 0,
 * annotations, urls, platform); `what` names it in errors. On success
 * d->json holds a new reference (json_decref it); d->platform fields are
 * views into the JSON (never coco_platform_clear them). */
int coco_desc_parse(cocoimg_ctx *ctx, json_t *j, const char *what, coco_desc *d);
/*
 * Serialize like Go's encoding/json (what skopeo/containers-image write):
 * compact, "<>&" and U+2028/9 escaped, keys in insertion order.  Build
 * struct-like objects in Go field order and sort map-like ones (labels,
 * annotations) to get identical bytes.  Caller frees; NULL on failure.
 */
char *coco_json_dump_go(json_t *j, size_t *len);
/* Append s (n bytes) as a JSON string exactly as Go's encoding/json writes
 * it (<, >, &, U+2028/9 and control characters escaped).  ENOMEM. */
int coco_json_go_string(coco_buf *b, const char *s, size_t n);

/* ------------------------------------------------------------------ */
/* Hooks between modules (each implemented by the named module)        */
/* ------------------------------------------------------------------ */

/*
 * crypt/: a decrypting stage for an encrypted layer descriptor: unwraps
 * the layer key with the keyring (COCOIMG_ENOKEY with a message naming the
 * layer and what was tried), then decrypts bytes into next, checking the
 * HMAC at finish (COCOIMG_EDIGEST).  *plain_media_type receives the
 * media type without "+encrypted" (caller frees).
 */
int coco_crypt_decrypt_stage_new(cocoimg_ctx *ctx, cocoimg_keyring *kr, const coco_desc *d,
                                 coco_stage *next, coco_stage **out, char **plain_media_type);

/* crypt/: describe an encrypted layer for inspect (cipher, schemes, key
 * ids of CoCo packets; never key material).  Returns a new JSON object. */
json_t *coco_crypt_describe_layer(cocoimg_ctx *ctx, const coco_desc *d);

/*
 * registry/: plain HTTP(S) GET of a URL (lookaside signatures, Rekor,
 * Fulcio...) honouring the ctx TLS/proxy settings.  *status receives the
 * HTTP status; the body is limited to max bytes.
 */
int coco_http_get(cocoimg_ctx *ctx, const char *url, size_t max, coco_buf *out, long *status);

#endif /* COCOIMG_INTERNAL_H */
