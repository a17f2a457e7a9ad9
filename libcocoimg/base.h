/*
 * The base of libcocoimg: the context (errors, logging, progress,
 * configuration), buffers and strings, files and directories, encodings,
 * the libcurl global init.  Every module may include it.  Not installed.
 */
#ifndef COCO_BASE_H
#define COCO_BASE_H

#include "config.h"

#include <cocoimg.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#define COCO_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define COCO_UNUSED __attribute__((unused))
#define COCO_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The caps on manifests, configs, signatures, tokens and error bodies
 * held in memory are ctx keys: caps.h. */

/* ---- the context (ctx.c), its error message (error.c) ---- */

struct coco_buf;

struct coco_kv {
	char *key;
	char *value;
};

struct evp_pkey_st;         /* OpenSSL's EVP_PKEY, for open_jwe below */

struct cocoimg_ctx {
	pthread_mutex_t lock;      /* guards err_* (worker threads set errors) */
	int err_code;
	char err_msg[1024];

	cocoimg_log_cb log_cb;
	cocoimg_log_level log_max;
	void *log_payload;

	cocoimg_progress_cb progress_cb;
	void *progress_payload;

	int cancelled;             /* cocoimg_ctx_cancel(); __atomic access only */
	uint64_t deadline_ns;      /* coco_now_ns() the operation must end by
	                              (command-timeout), 0 = none; __atomic */
	int workers;               /* worker threads running under the "threads"
	                              cap (thread.c); __atomic */

	struct coco_kv *opts;      /* configuration, see cocoimg_ctx_set() */
	size_t n_opts;

	void *registry_state;      /* owned by registry/: connection pool, tokens */
	void (*registry_state_free)(void *);

	void *broker_state;        /* owned by broker/broker.c: sources, resource cache */
	void (*broker_state_free)(void *);
	/* Installed by the operations layer (image_broker.c): fetch a
	 * resource URI named where a file is expected; see coco_read_named. */
	int (*read_uri)(cocoimg_ctx *ctx, const char *uri, const char *what, int err_code,
	                struct coco_buf *out);
	/* Installed by the operations layer (image_broker.c): open a JWE with
	 * the private key pk (an EVP_PKEY), as crypt/'s coco_jwe_decrypt_one:
	 * 0 with the plaintext appended to out, COCOIMG_ENOKEY,
	 * COCOIMG_EBADIMAGE, COCOIMG_ENOMEM.  The KBS client (broker/, below
	 * crypt/) opens its responses with it. */
	int (*open_jwe)(const unsigned char *jwe, size_t len, struct evp_pkey_st *pk,
	                struct coco_buf *out);
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

/* Where a progress report comes from: the blob, its role, the phase
 * (cocoimg_progress_phase) and, for a layer, its 1-based index of n. */
typedef struct coco_progress_src {
	const char *what;          /* "layer", "config"; NULL: no report */
	const char *digest;
	int phase;
	unsigned layer, layers;
} coco_progress_src;

/* Progress: returns COCOIMG_ECANCELLED (with message) if the callback
 * asks to stop, the operation was cancelled or ran past its deadline,
 * else 0. */
int coco_progress(cocoimg_ctx *ctx, const coco_progress_src *src, uint64_t done, uint64_t total,
                  int finished);

/*
 * The one place an operation asks whether to stop: 0 to go on, else
 * COCOIMG_ECANCELLED recorded on ctx, after cocoimg_ctx_cancel() (from
 * any thread) or once the operation's deadline (ctx "command-timeout",
 * counted from the operation's start) has passed.  Cheap: two atomic loads
 * and, with a deadline, a clock read.
 */
int coco_check_stop(cocoimg_ctx *ctx);
/* The same test without recording anything (for libcurl callbacks). */
bool coco_stop_requested(const cocoimg_ctx *ctx);
/* Make the libcurl easy handle `easy` (a CURL *) abort its transfer
 * (CURLE_ABORTED_BY_CALLBACK, within about a second even while the peer
 * is silent) once coco_stop_requested(ctx). */
void coco_curl_watch_stop(void *easy, cocoimg_ctx *ctx);
/* Slice of a wait that must notice a stop request (poll loops of the
 * broker's sockets and pipes), in milliseconds. */
#define COCO_STOP_SLICE_MS 200
/* Arm the operation's deadline from "command-timeout" (coco_api_enter). */
void coco_deadline_arm(cocoimg_ctx *ctx);
/* Milliseconds left before the operation's deadline: -1 = none, 0 = passed. */
int64_t coco_deadline_left_ms(const cocoimg_ctx *ctx);

/*
 * Configuration lookup.  side is "src", "dest" or NULL; a side-specific
 * value ("src.creds") wins over the plain one ("creds").  Returns NULL when
 * unset.
 */
const char *coco_opt(const cocoimg_ctx *ctx, const char *side, const char *key);
/* Boolean/integer helpers with defaults. */
bool coco_opt_bool(const cocoimg_ctx *ctx, const char *side, const char *key, bool dflt);
long coco_opt_long(const cocoimg_ctx *ctx, const char *side, const char *key, long dflt);

/* ---- memory, buffers, files (util.c) ---- */

typedef struct coco_buf {
	unsigned char *data;
	size_t len;
	size_t cap;
} coco_buf;

#define COCO_BUF_INIT { NULL, 0, 0 }

int coco_buf_reserve(coco_buf *b, size_t extra);                 /* ENOMEM */
/* Room for exactly `extra` more bytes (and the NUL) when it must grow: for
 * a size known in advance, with no unused tail to fault in or wipe. */
int coco_buf_reserve_exact(coco_buf *b, size_t extra);           /* ENOMEM */
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
/* A caller's message (a callback's reason) into dst[cap]: truncated,
 * control characters replaced by '?'; NULL gives "". */
void coco_message_copy(char *dst, size_t cap, const char *msg);
void coco_free_secret(void *p, size_t n);            /* wipe then free */
/* Fault in the whole pages of p[0..n) in one system call, ahead of
 * writing all of it (MADV_POPULATE_WRITE; contents unchanged): a first
 * touch page by page costs a fault each, which is dear in VMs and TEEs.
 * Nothing for less than 64 KiB or on kernels before 5.14. */
void coco_prefault(void *p, size_t n);

/* Free each pointer of ptrs (NULL entries are skipped by free). */
void coco_free_all(void *const *ptrs, size_t n);
/* Wipe each NUL-terminated secret string of strs, then free it. */
void coco_free_secret_strs(char *const *strs, size_t n);
#define COCO_PTR_LIST_(T, ...) \
	((T const[]){__VA_ARGS__}), (sizeof((T const[]){__VA_ARGS__}) / sizeof(T))
/* COCO_FREE_FIELDS(p->a, p->b): free the listed pointers. */
#define COCO_FREE_FIELDS(...) coco_free_all(COCO_PTR_LIST_(void *, __VA_ARGS__))
/* COCO_FREE_SECRETS(p->pass, p->token): wipe and free the listed strings. */
#define COCO_FREE_SECRETS(...) coco_free_secret_strs(COCO_PTR_LIST_(char *, __VA_ARGS__))
/* Body of a plain clear function: when p is not NULL, free the listed
 * fields of *p and zero the whole struct. */
#define COCO_CLEAR_FIELDS(p, ...)                            \
	do {                                                 \
		if (p) {                                     \
			COCO_FREE_FIELDS(__VA_ARGS__);       \
			memset((p), 0, sizeof(*(p)));        \
		}                                            \
	} while (0)
/* Free an array of n structs: clear(&a[i]) for each element (none when a
 * is NULL), then free(a).  COCO_FREE_ARRAY(kr->keys, kr->n_keys, key_clear) */
#define COCO_FREE_ARRAY(a, n, clear)                                     \
	do {                                                             \
		for (size_t coco_i_ = 0; (a) && coco_i_ < (n); coco_i_++) \
			clear(&(a)[coco_i_]);                            \
		free(a);                                                 \
	} while (0)

/* True when a and b are both non-NULL and equal; frees both (for
 * comparing two freshly built strings, NULL meaning out of memory). */
bool coco_streq_free(char *a, char *b);
/* The value paired with key in map (n rows of {key, value}), else dflt. */
const char *coco_str_lookup(const char *const (*map)[2], size_t n, const char *key,
                            const char *dflt);

/* Write all n bytes to fd, retrying short writes and EINTR: 0, or
 * -errno (-EIO when write() makes no progress). */
int coco_write_all(int fd, const void *buf, size_t n);

/* Read a whole file (up to max bytes, else COCOIMG_EBADIMAGE / EINVAL via
 * err_code_too_big).  Errors are recorded on ctx naming the path. */
int coco_read_file(cocoimg_ctx *ctx, const char *path, size_t max, coco_buf *out,
                   int err_code_missing);
/*
 * Read a file the user named, which may also be a resource URI
 * (kbs:///R/T/G, kbs+...: any name starting "kbs:" or "kbs+"): those are
 * fetched through ctx->read_uri (the trust broker, installed by the
 * operations layer), failing with fetch_code and a message naming the URI
 * and `what`; other names are read as coco_read_file does.  out holds
 * what may be a secret: wipe it.
 */
int coco_read_named(cocoimg_ctx *ctx, const char *path, size_t max, const char *what,
                    int fetch_code, coco_buf *out, int err_code_missing);
/* True when a name the user gave is a resource URI (see above). */
bool coco_name_is_uri(const char *name);
/* Read the rest of the open file fd into out (up to max bytes, else
 * too_big_code) and close fd; errors are recorded on ctx naming path. */
int coco_read_fd(cocoimg_ctx *ctx, int fd, const char *path, size_t max, coco_buf *out,
                 int too_big_code);
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
 * URL-safe input when url is true). Output NUL-terminated.  The decoders
 * append to out (normally empty); on failure (EINVAL, ENOMEM) they wipe
 * and free out, earlier contents included (data NULL), so a caller has
 * nothing to release. */
char *coco_b64_encode(const unsigned char *in, size_t len);
char *coco_b64url_encode(const unsigned char *in, size_t len); /* no padding */
int coco_b64_decode(const char *in, size_t inlen, coco_buf *out);     /* EINVAL */
int coco_b64url_decode(const char *in, size_t inlen, coco_buf *out);  /* EINVAL */
/* Lower-case hex. */
void coco_hex_encode(const unsigned char *in, size_t len, char *out /* 2*len+1 */);
/* len hex digits (either case) into len/2 bytes of out: 0, or EINVAL for
 * an odd len or a non-hex character (out then partly written). */
int coco_hex_decode(const char *in, size_t len, unsigned char *out);

/* Constant-time compare. */
int coco_ct_equal(const void *a, const void *b, size_t n);

/* Monotonic nanoseconds, for stats. */
uint64_t coco_now_ns(void);

#endif
