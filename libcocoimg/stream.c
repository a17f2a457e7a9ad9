/* Stage plumbing: the generic stage object, verify, memory and fd sinks,
 * pumps, the thread ring, the async split point and the meter. */
#include "base.h"
#include "digest.h"
#include "stream.h"
#include "thread.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void coco_stage_init(coco_stage *s, cocoimg_ctx *ctx, const coco_stage_type *type,
                     coco_stage *next)
{
	s->type = type;
	s->next = next;
	s->ctx = ctx;
	s->name = type->name;
	s->nsec = 0;
}

void *coco_stage_new(cocoimg_ctx *ctx, const coco_stage_type *type, coco_stage *next)
{
	coco_stage *s = calloc(1, type->size);
	if (s)
		coco_stage_init(s, ctx, type, next);
	return s;
}

void coco_stage_free(coco_stage *s)
{
	if (!s)
		return;
	const coco_stage_type *t = s->type;
	if (t->destroy)
		t->destroy(s);
	if (t->size)
		free(s);
}

int coco_stage_nop_finish(coco_stage *s) { return coco_stage_finish_next(s); }

void coco_stage_chain_free(coco_stage *s)
{
	while (s) {
		coco_stage *n = s->next;
		coco_stage_free(s);
		s = n;
	}
}

/* ---- verify ---- */

typedef struct {
	coco_stage base;
	coco_digest dg;
	char *expected;
	int64_t expected_size;
	char *what;
	uint64_t count;
	char result[COCO_DIGEST_STRLEN];
	coco_digest_source src;    /* the digest comes from there, not dg */
	void *src_arg;
	bool deferred;             /* a stage downstream hands the digest in */
	bool checked;              /* ... and it did */
} verify_stage;

static int verify_write(coco_stage *s, const unsigned char *b, size_t n)
{
	verify_stage *v = (verify_stage *)s;
	uint64_t t0 = coco_now_ns();
	v->count += n;
	if (v->expected_size >= 0 && v->count > (uint64_t)v->expected_size)
		return coco_seterr(s->ctx, COCOIMG_EDIGEST,
		                   "%s: more data than the declared size %lld", v->what,
		                   (long long)v->expected_size);
	int rc = v->src || v->deferred ? 0 : coco_digest_update(&v->dg, b, n);
	s->nsec += coco_now_ns() - t0;
	if (rc)
		return coco_seterr(s->ctx, rc, "%s: digest failed", v->what);
	return coco_stage_forward(s, b, n);
}

/* The digest of what went through, computed here or by the source. */
static int verify_result(verify_stage *v)
{
	if (!v->src)
		return coco_digest_final(&v->dg, v->result) ?
		       coco_seterr(v->base.ctx, COCOIMG_EINTERNAL, "%s: digest failed", v->what) : 0;
	uint64_t seen = 0;
	if (v->src(v->src_arg, v->result, &seen) || seen != v->count)
		return coco_seterr(v->base.ctx, COCOIMG_EINTERNAL,
		                   "%s: the digest computed upstream covers %llu bytes, not the %llu "
		                   "written", v->what, (unsigned long long)seen,
		                   (unsigned long long)v->count);
	return 0;
}

static int verify_size(verify_stage *v)
{
	if (v->expected_size >= 0 && v->count != (uint64_t)v->expected_size)
		return coco_seterr(v->base.ctx, COCOIMG_EDIGEST,
		                   "%s: size mismatch: expected %lld bytes, got %llu", v->what,
		                   (long long)v->expected_size, (unsigned long long)v->count);
	return 0;
}

static int verify_compare(verify_stage *v)
{
	if (v->expected && strcmp(v->expected, v->result))
		return coco_seterr(v->base.ctx, COCOIMG_EDIGEST,
		                   "%s: digest mismatch: expected %s, got %s", v->what, v->expected,
		                   v->result);
	return 0;
}

static int verify_finish(coco_stage *s)
{
	verify_stage *v = (verify_stage *)s;
	if (v->deferred) {
		/* the size first, as below; the digest arrives while next
		 * finishes (coco_verify_stage_check) */
		int rc = verify_size(v);
		if (!rc)
			rc = coco_stage_finish_next(s);
		if (!rc && !v->checked)
			rc = coco_seterr(s->ctx, COCOIMG_EINTERNAL,
			                 "%s: no digest came back from the stage that computes it", v->what);
		return rc;
	}
	int rc = verify_result(v);
	if (!rc)
		rc = verify_size(v);
	if (!rc)
		rc = verify_compare(v);
	return rc ? rc : coco_stage_finish_next(s);
}

static void verify_destroy(coco_stage *s)
{
	verify_stage *v = (verify_stage *)s;
	coco_digest_free(&v->dg);
	free(v->expected);
	free(v->what);
}

COCO_STAGE_TYPE(verify_type, "digest", verify_stage, verify_write, verify_finish, verify_destroy);

int coco_verify_stage_new(cocoimg_ctx *ctx, const char *expected_digest, int64_t expected_size,
                          const char *what, coco_stage *next, coco_stage **out)
{
	coco_digest_alg alg = COCO_SHA256;
	if (expected_digest && coco_digest_validate(expected_digest, &alg))
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: malformed digest \"%s\"",
		                   what ? what : "blob", expected_digest);
	verify_stage *v = coco_stage_new(ctx, &verify_type, next);
	if (!v)
		return coco_oom(ctx);
	v->expected = coco_strdup(expected_digest);
	v->expected_size = expected_size;
	v->what = coco_strdup(what ? what : "blob");
	if (coco_digest_init(&v->dg, alg) || (expected_digest && !v->expected) || !v->what) {
		coco_stage_free(&v->base);
		return coco_oom(ctx);
	}
	*out = &v->base;
	return 0;
}

void coco_verify_stage_digest_from(coco_stage *s, coco_digest_source fn, void *arg)
{
	verify_stage *v = (verify_stage *)s;
	v->src = fn;
	v->src_arg = arg;
}

bool coco_verify_stage_can_defer(const coco_stage *s)
{
	return ((const verify_stage *)s)->dg.alg == COCO_SHA256;
}

void coco_verify_stage_defer(coco_stage *s)
{
	((verify_stage *)s)->deferred = true;
}

int coco_verify_stage_check(void *arg, const char digest[COCO_DIGEST_STRLEN], uint64_t count)
{
	verify_stage *v = arg;
	if (count != v->count)
		return coco_seterr(v->base.ctx, COCOIMG_EINTERNAL,
		                   "%s: the digest computed downstream covers %llu bytes, not the %llu "
		                   "written", v->what, (unsigned long long)count,
		                   (unsigned long long)v->count);
	snprintf(v->result, sizeof(v->result), "%s", digest);
	int rc = verify_compare(v);
	/* only a match counts: finish fails even if the error was dropped */
	v->checked = !rc;
	return rc;
}

void coco_verify_result(coco_stage *s, char digest[COCO_DIGEST_STRLEN], uint64_t *size)
{
	verify_stage *v = (verify_stage *)s;
	if (digest)
		memcpy(digest, v->result, COCO_DIGEST_STRLEN);
	if (size)
		*size = v->count;
}

/* ---- memory sink ---- */

typedef struct {
	coco_stage base;
	coco_buf *buf;
	size_t max;
	int err;
} buf_stage;

static int buf_write(coco_stage *s, const unsigned char *b, size_t n)
{
	buf_stage *m = (buf_stage *)s;
	if (m->buf->len + n > m->max)
		return coco_seterr(s->ctx, m->err, "object larger than the %zu bytes allowed", m->max);
	if (coco_buf_append(m->buf, b, n))
		return coco_seterr(s->ctx, COCOIMG_ENOMEM, "out of memory");
	return 0;
}

COCO_STAGE_TYPE(buf_type, "memory", buf_stage, buf_write, coco_stage_nop_finish, NULL);

int coco_buf_stage_new(cocoimg_ctx *ctx, coco_buf *buf, size_t max, int err_code,
                       coco_stage **out)
{
	buf_stage *m = coco_stage_new(ctx, &buf_type, NULL);
	if (!m)
		return coco_oom(ctx);
	m->buf = buf;
	m->max = max;
	m->err = err_code;
	if (!buf->cap && max && max <= COCO_BUF_STAGE_PREALLOC && coco_buf_reserve_exact(buf, max)) {
		coco_stage_free(&m->base);
		return coco_oom(ctx);
	}
	*out = &m->base;
	return 0;
}

/* ---- fd sink ---- */

typedef struct {
	coco_stage base;
	int fd;
	char *path;
} fd_stage;

static int fd_write(coco_stage *s, const unsigned char *b, size_t n)
{
	fd_stage *f = (fd_stage *)s;
	uint64_t t0 = coco_now_ns();
	int w = coco_write_all(f->fd, b, n);
	if (w)
		return coco_seterr(s->ctx, COCOIMG_EIO, "cannot write %s: %s", f->path, strerror(-w));
	s->nsec += coco_now_ns() - t0;
	return 0;
}

static void fd_destroy(coco_stage *s) { free(((fd_stage *)s)->path); }

COCO_STAGE_TYPE(fd_type, "write", fd_stage, fd_write, coco_stage_nop_finish, fd_destroy);

int coco_fd_stage_new(cocoimg_ctx *ctx, int fd, const char *path, coco_stage **out)
{
	fd_stage *f = coco_stage_new(ctx, &fd_type, NULL);
	if (!f)
		return coco_oom(ctx);
	f->fd = fd;
	f->path = coco_strdup(path ? path : "output");
	*out = &f->base;
	return 0;
}

int coco_stage_pump_fd(coco_stage *s, int fd, const char *path)
{
	unsigned char *buf = malloc(COCO_BUFSZ);
	if (!buf)
		return coco_oom(s->ctx);
	int rc = 0;
	for (;;) {
		ssize_t n = read(fd, buf, COCO_BUFSZ);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = coco_seterr(s->ctx, COCOIMG_EIO, "cannot read %s: %s", path, strerror(errno));
			break;
		}
		if (n == 0) {
			rc = coco_stage_finish(s);
			break;
		}
		rc = coco_stage_write(s, buf, (size_t)n);
		if (rc)
			break;
	}
	free(buf);
	return rc;
}

int coco_stage_pump_mem(coco_stage *s, const void *data, size_t len)
{
	const unsigned char *p = data;
	while (len) {
		size_t n = len > COCO_BUFSZ ? COCO_BUFSZ : len;
		int rc = coco_stage_write(s, p, n);
		if (rc)
			return rc;
		p += n;
		len -= n;
	}
	return coco_stage_finish(s);
}

/* ---- ring ---- */

struct coco_ring {
	coco_stage stage;          /* producer side */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t nbufs, bufsz;
	unsigned char **bufs;
	size_t *lens;
	size_t head, tail, count;  /* head: next to fill; tail: next to read */
	size_t fill;               /* bytes in bufs[head] being filled */
	size_t rpos;               /* read offset in bufs[tail] */
	bool eof;
	int abort_code;
	bool borrowed;
};

static int ring_flush_locked(coco_ring *r)
{
	while (r->count == r->nbufs && !r->abort_code)
		pthread_cond_wait(&r->cv, &r->mu);
	if (r->abort_code)
		return r->abort_code;
	r->lens[r->head] = r->fill;
	r->head = (r->head + 1) % r->nbufs;
	r->count++;
	r->fill = 0;
	pthread_cond_broadcast(&r->cv);
	return 0;
}

static int ring_write(coco_stage *s, const unsigned char *b, size_t n)
{
	coco_ring *r = (coco_ring *)s;
	pthread_mutex_lock(&r->mu);
	int rc = 0;
	while (n && !rc) {
		if (r->abort_code) {
			rc = r->abort_code;
			break;
		}
		/* bufs[head] is ours while count < nbufs; wait if full */
		while (r->count == r->nbufs && !r->abort_code)
			pthread_cond_wait(&r->cv, &r->mu);
		if (r->abort_code) {
			rc = r->abort_code;
			break;
		}
		size_t room = r->bufsz - r->fill;
		size_t k = n < room ? n : room;
		unsigned char *dst = r->bufs[r->head] + r->fill;
		pthread_mutex_unlock(&r->mu);
		memcpy(dst, b, k);
		pthread_mutex_lock(&r->mu);
		r->fill += k;
		b += k;
		n -= k;
		if (r->fill == r->bufsz)
			rc = ring_flush_locked(r);
	}
	pthread_mutex_unlock(&r->mu);
	return rc;
}

static int ring_finish(coco_stage *s)
{
	coco_ring *r = (coco_ring *)s;
	pthread_mutex_lock(&r->mu);
	int rc = 0;
	if (r->fill)
		rc = ring_flush_locked(r);
	if (!rc) {
		r->eof = true;
		pthread_cond_broadcast(&r->cv);
	}
	pthread_mutex_unlock(&r->mu);
	return rc;
}

/* the producer side lives inside the ring: coco_ring_free() frees it */
static const coco_stage_type ring_stage_type = {
	.name = "ring",
	.size = 0,
	.write = ring_write,
	.finish = ring_finish,
};

int coco_ring_new(cocoimg_ctx *ctx, size_t nbufs, size_t bufsz, coco_ring **out)
{
	coco_ring *r = calloc(1, sizeof(*r));
	if (!r)
		return coco_oom(ctx);
	if (nbufs < 2)
		nbufs = 2;
	r->nbufs = nbufs;
	r->bufsz = bufsz;
	r->bufs = calloc(nbufs, sizeof(*r->bufs));
	r->lens = calloc(nbufs, sizeof(*r->lens));
	if (!r->bufs || !r->lens) {
		free(r->bufs);
		free(r->lens);
		free(r);
		return coco_oom(ctx);
	}
	for (size_t i = 0; i < nbufs; i++) {
		r->bufs[i] = malloc(bufsz);
		if (!r->bufs[i]) {
			r->nbufs = i;
			coco_ring_free(r);
			return coco_oom(ctx);
		}
	}
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	coco_stage_init(&r->stage, ctx, &ring_stage_type, NULL);
	*out = r;
	return 0;
}

coco_stage *coco_ring_stage(coco_ring *r) { return &r->stage; }

ssize_t coco_ring_borrow(coco_ring *r, const unsigned char **data)
{
	pthread_mutex_lock(&r->mu);
	for (;;) {
		if (r->abort_code) {
			int c = r->abort_code;
			pthread_mutex_unlock(&r->mu);
			return c;
		}
		if (r->count > 0 && r->rpos >= r->lens[r->tail]) {
			/* fully consumed buffer left over from coco_ring_read */
			r->tail = (r->tail + 1) % r->nbufs;
			r->count--;
			r->rpos = 0;
			pthread_cond_broadcast(&r->cv);
			continue;
		}
		if (r->count > 0)
			break;
		if (r->abort_code) {
			int c = r->abort_code;
			pthread_mutex_unlock(&r->mu);
			return c;
		}
		if (r->eof) {
			pthread_mutex_unlock(&r->mu);
			return 0;
		}
		pthread_cond_wait(&r->cv, &r->mu);
	}
	*data = r->bufs[r->tail] + r->rpos;
	ssize_t n = (ssize_t)(r->lens[r->tail] - r->rpos);
	r->borrowed = true;
	pthread_mutex_unlock(&r->mu);
	return n;
}

void coco_ring_release(coco_ring *r)
{
	pthread_mutex_lock(&r->mu);
	if (r->borrowed) {
		r->borrowed = false;
		r->tail = (r->tail + 1) % r->nbufs;
		r->count--;
		r->rpos = 0;
		pthread_cond_broadcast(&r->cv);
	}
	pthread_mutex_unlock(&r->mu);
}

ssize_t coco_ring_read(coco_ring *r, void *buf, size_t len)
{
	const unsigned char *d;
	ssize_t n = coco_ring_borrow(r, &d);
	if (n <= 0)
		return n;
	size_t k = (size_t)n < len ? (size_t)n : len;
	memcpy(buf, d, k);
	pthread_mutex_lock(&r->mu);
	r->borrowed = false;
	r->rpos += k;
	if (r->rpos >= r->lens[r->tail]) {
		r->tail = (r->tail + 1) % r->nbufs;
		r->count--;
		r->rpos = 0;
		pthread_cond_broadcast(&r->cv);
	}
	pthread_mutex_unlock(&r->mu);
	return (ssize_t)k;
}

ssize_t coco_ring_wbuf(coco_ring *r, unsigned char **data)
{
	pthread_mutex_lock(&r->mu);
	while (r->count == r->nbufs && !r->abort_code)
		pthread_cond_wait(&r->cv, &r->mu);
	if (r->abort_code) {
		int c = r->abort_code;
		pthread_mutex_unlock(&r->mu);
		return c;
	}
	*data = r->bufs[r->head] + r->fill;
	ssize_t room = (ssize_t)(r->bufsz - r->fill);
	pthread_mutex_unlock(&r->mu);
	return room;
}

int coco_ring_commit(coco_ring *r, size_t n)
{
	pthread_mutex_lock(&r->mu);
	int rc = r->abort_code;
	if (!rc) {
		r->fill += n;
		if (r->fill >= r->bufsz)
			rc = ring_flush_locked(r);
	}
	pthread_mutex_unlock(&r->mu);
	return rc;
}

void coco_ring_abort(coco_ring *r, int code)
{
	pthread_mutex_lock(&r->mu);
	if (!r->abort_code)
		r->abort_code = code ? code : COCOIMG_ECANCELLED;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

void coco_ring_free(coco_ring *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nbufs; i++)
		free(r->bufs[i]);
	free(r->bufs);
	free(r->lens);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	free(r);
}

/* ---- async stage ---- */

typedef struct {
	coco_stage base;
	coco_ring *ring;
	coco_thread worker;
} async_stage;

static int async_main(void *arg)
{
	async_stage *a = arg;
	int rc = 0;
	for (;;) {
		const unsigned char *d;
		ssize_t n = coco_ring_borrow(a->ring, &d);
		if (n <= 0) {
			rc = n < 0 ? (int)n : coco_stage_finish_next(&a->base);
			break;
		}
		rc = coco_stage_forward(&a->base, d, (size_t)n);
		coco_ring_release(a->ring);
		if (rc)
			break;
	}
	if (rc)
		coco_ring_abort(a->ring, rc);
	return rc;
}

static int async_write(coco_stage *s, const unsigned char *b, size_t n)
{
	async_stage *a = (async_stage *)s;
	uint64_t t0 = coco_now_ns();
	int rc = coco_stage_write(coco_ring_stage(a->ring), b, n);
	s->nsec += coco_now_ns() - t0;
	return rc;
}

static int async_finish(coco_stage *s)
{
	async_stage *a = (async_stage *)s;
	uint64_t t0 = coco_now_ns();
	int rc = coco_stage_finish(coco_ring_stage(a->ring));
	if (rc)
		coco_ring_abort(a->ring, rc);
	int wrc = coco_thread_join(&a->worker);
	s->nsec += coco_now_ns() - t0;
	/* the worker's own error explains more than the ring's abort code */
	return wrc ? wrc : rc;
}

static void async_destroy(coco_stage *s)
{
	async_stage *a = (async_stage *)s;
	if (a->worker.started) {
		coco_ring_abort(a->ring, COCOIMG_ECANCELLED);
		coco_thread_join(&a->worker);
	}
	coco_ring_free(a->ring);
}

COCO_STAGE_TYPE(async_type, "async", async_stage, async_write, async_finish, async_destroy);

int coco_cpus_usable(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0) {
		int n = CPU_COUNT(&set);
		if (n > 0)
			return n;
	}
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

/* With a single usable CPU a thread split only adds a copy and context
 * switches: the "async" stage then just forwards, on the caller's thread.
 * So it does when the ctx's "threads" budget has no room for its worker. */
static int pass_write(coco_stage *s, const unsigned char *b, size_t n)
{
	return coco_stage_write(s->next, b, n);
}

static const coco_stage_type pass_type = {
	.name = "async",
	.size = sizeof(coco_stage),
	.write = pass_write,
	.finish = coco_stage_nop_finish,
};

static int pass_new(cocoimg_ctx *ctx, coco_stage *next, coco_stage **out)
{
	*out = coco_stage_new(ctx, &pass_type, next);
	return *out ? 0 : COCOIMG_ENOMEM;
}

static int async_or_pass(cocoimg_ctx *ctx, size_t nbufs, size_t bufsz, coco_stage *next,
                         coco_stage **out, bool split)
{
	if (!split || coco_cpus_usable() < 2 || coco_thread_room(ctx) < 1)
		return pass_new(ctx, next, out);
	async_stage *a = coco_stage_new(ctx, &async_type, next);
	if (!a)
		return coco_oom(ctx);
	int rc = coco_ring_new(ctx, nbufs ? nbufs : 4, bufsz ? bufsz : COCO_BUFSZ, &a->ring);
	if (rc) {
		coco_stage_free(&a->base);
		return rc;
	}
	if (!coco_thread_try(&a->worker, ctx, "async", async_main, a)) {
		/* the budget filled up meanwhile: forward on this thread */
		coco_stage_free(&a->base);
		return pass_new(ctx, next, out);
	}
	*out = &a->base;
	return 0;
}

int coco_async_stage_new(cocoimg_ctx *ctx, size_t nbufs, size_t bufsz, coco_stage *next,
                         coco_stage **out)
{
	return async_or_pass(ctx, nbufs, bufsz, next, out, true);
}

int coco_async_stage_for(cocoimg_ctx *ctx, int64_t bytes, coco_stage *next, coco_stage **out)
{
	return async_or_pass(ctx, 0, 0, next, out, bytes < 0 || bytes > COCO_SMALL_STREAM);
}

/* ---- meter stage ---- */

typedef struct {
	coco_stage base;
	coco_meter_opts o;
	uint64_t t_last;
	uint64_t done, reported;
} meter_stage;

static int meter_progress(meter_stage *m, int finished)
{
	if (!m->o.what)
		return 0;
	m->reported = m->done;
	coco_progress_src src = { m->o.what, m->o.digest, m->o.phase, m->o.layer, m->o.layers };
	return coco_progress(m->base.ctx, &src, m->done, m->o.total > 0 ? (uint64_t)m->o.total : 0,
	                     finished);
}

static int meter_write(coco_stage *s, const unsigned char *b, size_t n)
{
	meter_stage *m = (meter_stage *)s;
	s->nsec += coco_now_ns() - m->t_last;
	if (m->o.cancel && __atomic_load_n(m->o.cancel, __ATOMIC_ACQUIRE))
		return COCOIMG_ECANCELLED;
	int src = coco_check_stop(s->ctx);
	if (src)
		return src;
	m->done += n;
	int rc = 0;
	if (m->done - m->reported >= m->o.step)
		rc = meter_progress(m, 0);
	if (!rc)
		rc = coco_stage_forward(s, b, n);
	m->t_last = coco_now_ns();
	return rc;
}

static int meter_finish(coco_stage *s)
{
	meter_stage *m = (meter_stage *)s;
	s->nsec += coco_now_ns() - m->t_last;
	int rc = coco_stage_finish_next(s);
	if (!rc)
		rc = meter_progress(m, 1);
	m->t_last = coco_now_ns();
	return rc;
}

COCO_STAGE_TYPE(meter_type, "network", meter_stage, meter_write, meter_finish, NULL);

int coco_meter_stage_new(cocoimg_ctx *ctx, const coco_meter_opts *o, coco_stage *next,
                         coco_stage **out)
{
	meter_stage *m = coco_stage_new(ctx, &meter_type, next);
	if (!m)
		return coco_oom(ctx);
	if (o)
		m->o = *o;
	m->t_last = coco_now_ns();
	*out = &m->base;
	return 0;
}

uint64_t coco_meter_bytes(const coco_stage *s) { return ((const meter_stage *)s)->done; }
