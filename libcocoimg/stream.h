/*
 * Stages: push-style streaming of bytes through a chain (stage types with
 * write, finish, destroy), the standard stages (verify, memory, fd, async split, meter)
 * and the buffer ring between threads (stream.c).  Every module may
 * include it.  Not installed.
 */
#ifndef COCO_STREAM_H
#define COCO_STREAM_H

#include "base.h"
#include "digest.h"

#include <stddef.h>

/* Default streaming buffer size for every stage. */
#define COCO_BUFSZ (512 * 1024)

/*
 * A stage receives bytes with write() and end-of-stream with finish().
 * A stage that transforms bytes forwards them to `next` itself; finish()
 * must call the next stage's finish.  Errors are recorded on ctx and
 * returned as negative codes.  After an error no further calls are made
 * except coco_stage_free().
 *
 * Each kind of stage is one `static const coco_stage_type`; its objects
 * are structs that start with a coco_stage and are allocated by
 * coco_stage_new() (type->size bytes, zeroed).  destroy (NULL: nothing to
 * do) releases what the stage holds; coco_stage_free() then frees the
 * object.  A type with size 0 describes a stage embedded in another
 * object (the ring's producer side): set up with coco_stage_init(), never
 * freed by coco_stage_free().
 */
typedef struct coco_stage coco_stage;
typedef struct coco_stage_type {
	const char *name;          /* for --stats: "digest", "decrypt", ... */
	size_t size;               /* sizeof the kind's struct; 0 = embedded */
	int (*write)(coco_stage *s, const unsigned char *buf, size_t len);
	int (*finish)(coco_stage *s);
	void (*destroy)(coco_stage *s);
} coco_stage_type;

/* Define `static const coco_stage_type var` for the stage struct T (one
 * coco_stage_new allocates), with destroy NULL when there is nothing to
 * release.  The stage functions cast a coco_stage * to T *: the macro
 * checks at compile time that T's first member is its `coco_stage base`. */
#define COCO_STAGE_TYPE(var, label, T, write_fn, finish_fn, destroy_fn)                     \
	_Static_assert(offsetof(T, base) == 0, #T ": the coco_stage base must come first"); \
	static const coco_stage_type var = { .name = (label), .size = sizeof(T),            \
	                                     .write = (write_fn), .finish = (finish_fn),    \
	                                     .destroy = (destroy_fn) }

struct coco_stage {
	const coco_stage_type *type;
	coco_stage *next;
	cocoimg_ctx *ctx;
	const char *name;          /* type->name, for stats readers */
	uint64_t nsec;             /* time spent in this stage's own work */
};

/* A zeroed stage of `type` in front of next (may be NULL: a sink), or
 * NULL when out of memory (nothing recorded: callers return coco_oom). */
void *coco_stage_new(cocoimg_ctx *ctx, const coco_stage_type *type, coco_stage *next);
void coco_stage_init(coco_stage *s, cocoimg_ctx *ctx, const coco_stage_type *type,
                     coco_stage *next);
/* Destroy one stage (not next). NULL-safe. */
void coco_stage_free(coco_stage *s);

static inline int coco_stage_write(coco_stage *s, const unsigned char *b, size_t n)
{
	return n ? s->type->write(s, b, n) : 0;
}
static inline int coco_stage_finish(coco_stage *s) { return s->type->finish(s); }
/* Pass bytes / end of stream on to s->next (nothing when s is a sink). */
static inline int coco_stage_forward(coco_stage *s, const unsigned char *b, size_t n)
{
	return s->next ? coco_stage_write(s->next, b, n) : 0;
}
static inline int coco_stage_finish_next(coco_stage *s)
{
	return s->next ? coco_stage_finish(s->next) : 0;
}
/* A finish() for stages with nothing to conclude. */
int coco_stage_nop_finish(coco_stage *s);
/* Destroy s and every stage after it. NULL-safe. */
void coco_stage_chain_free(coco_stage *s);

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
/* Before any byte is written: the verify stage takes its digest from
 * fn(arg, digest, count) at finish instead of hashing the bytes itself,
 * for a stage upstream that hashed exactly these bytes anyway (the
 * encrypting cipher stage: sha2x.h).  finish() fails with
 * COCOIMG_EINTERNAL when fn fails or counted other than the bytes that
 * came through; the size and expected-digest checks stay. */
typedef int (*coco_digest_source)(void *arg, char digest[COCO_DIGEST_STRLEN], uint64_t *count);
void coco_verify_stage_digest_from(coco_stage *verify, coco_digest_source fn, void *arg);
/* Before any byte is written: a stage downstream hashes exactly these
 * bytes anyway (the decrypting cipher stage, in its HMAC's pass: sha2x.h)
 * and hands the digest in with coco_verify_stage_check(verify, ...) while
 * it finishes, before its own checks.  The verify stage then only counts;
 * its finish() checks the size, finishes next, and fails with
 * COCOIMG_EINTERNAL if no digest came.  The check fails with
 * COCOIMG_EDIGEST on a digest mismatch (the same message as without
 * deferral) and COCOIMG_EINTERNAL when count is not the bytes written. */
typedef int (*coco_digest_sink)(void *arg, const char digest[COCO_DIGEST_STRLEN], uint64_t count);
/* Only a sha256 digest can come from there (a sha512 blob keeps its own
 * pass): ask coco_verify_stage_can_defer first. */
bool coco_verify_stage_can_defer(const coco_stage *verify);
void coco_verify_stage_defer(coco_stage *verify);
int coco_verify_stage_check(void *verify, const char digest[COCO_DIGEST_STRLEN], uint64_t count);

/* Sink that appends to a memory buffer, failing past max bytes with
 * err_code. The buffer is owned by the caller.  An empty buffer gets room
 * for max bytes at once when max is at most COCO_BUF_STAGE_PREALLOC (the
 * callers pass the size a descriptor promises), so a growing blob is never
 * copied, wiped and faulted in again at each doubling. */
#define COCO_BUF_STAGE_PREALLOC (8u << 20)
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
/* The same for a stream of `bytes` bytes (-1: unknown): one of at most
 * COCO_SMALL_STREAM bytes is forwarded on the caller's thread, since a
 * thread start and the ring hand-offs cost more than the split gains. */
#define COCO_SMALL_STREAM (1024 * 1024)
int coco_async_stage_for(cocoimg_ctx *ctx, int64_t bytes, coco_stage *next, coco_stage **out);
/* CPUs this process may run on (affinity mask), at least 1.  With one, the
 * async stage forwards on the caller's thread instead of splitting. */
int coco_cpus_usable(void);

/*
 * Meter stage: passes bytes through; its nsec counts the time spent
 * outside next's write()/finish() and the progress callback since it was
 * created, i.e. the time its caller took to produce the bytes (the
 * source: network or file reads).  Named "network".  With options (NULL:
 * none) it also reports progress for (what, digest, total) every `step`
 * bytes (0: every write) and once more after a successful finish, and
 * stops with COCOIMG_ECANCELLED once *cancel (read atomically) is set.
 * The strings are borrowed for the life of the stage.
 */
typedef struct coco_meter_opts {
	const char *what;          /* progress kind ("layer", "config"); NULL: no progress */
	const char *digest;
	int64_t total;             /* < 0 or 0: unknown */
	uint64_t step;
	const int *cancel;
	int phase;                 /* cocoimg_progress_phase of the reports */
	unsigned layer, layers;    /* 1-based layer index of layers; 0: not a layer */
} coco_meter_opts;
int coco_meter_stage_new(cocoimg_ctx *ctx, const coco_meter_opts *o, coco_stage *next,
                         coco_stage **out);
/* Bytes that went through a meter stage. */
uint64_t coco_meter_bytes(const coco_stage *meter);

#endif
