/* Stage plumbing: verify, memory and fd sinks, pumps, and the thread ring. */
#include "base.h"
#include "digest.h"
#include "stream.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void coco_stage_chain_free(coco_stage *s)
{
	while (s) {
		coco_stage *n = s->next;
		s->destroy(s);
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
	int rc = coco_digest_update(&v->dg, b, n);
	s->nsec += coco_now_ns() - t0;
	if (rc)
		return coco_seterr(s->ctx, rc, "%s: digest failed", v->what);
	return s->next ? coco_stage_write(s->next, b, n) : 0;
}

static int verify_finish(coco_stage *s)
{
	verify_stage *v = (verify_stage *)s;
	if (coco_digest_final(&v->dg, v->result))
		return coco_seterr(s->ctx, COCOIMG_EINTERNAL, "%s: digest failed", v->what);
	if (v->expected_size >= 0 && v->count != (uint64_t)v->expected_size)
		return coco_seterr(s->ctx, COCOIMG_EDIGEST,
		                   "%s: size mismatch: expected %lld bytes, got %llu", v->what,
		                   (long long)v->expected_size, (unsigned long long)v->count);
	if (v->expected && strcmp(v->expected, v->result))
		return coco_seterr(s->ctx, COCOIMG_EDIGEST, "%s: digest mismatch: expected %s, got %s",
		                   v->what, v->expected, v->result);
	return s->next ? coco_stage_finish(s->next) : 0;
}

static void verify_destroy(coco_stage *s)
{
	verify_stage *v = (verify_stage *)s;
	coco_digest_free(&v->dg);
	free(v->expected);
	free(v->what);
	free(v);
}

int coco_verify_stage_new(cocoimg_ctx *ctx, const char *expected_digest, int64_t expected_size,
                          const char *what, coco_stage *next, coco_stage **out)
{
	coco_digest_alg alg = COCO_SHA256;
	if (expected_digest && coco_digest_validate(expected_digest, &alg))
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: malformed digest \"%s\"",
		                   what ? what : "blob", expected_digest);
	verify_stage *v = calloc(1, sizeof(*v));
	if (!v)
		return COCOIMG_ENOMEM;
	v->base.write = verify_write;
	v->base.finish = verify_finish;
	v->base.destroy = verify_destroy;
	v->base.next = next;
	v->base.ctx = ctx;
	v->base.name = "digest";
	v->expected = coco_strdup(expected_digest);
	v->expected_size = expected_size;
	v->what = coco_strdup(what ? what : "blob");
	if (coco_digest_init(&v->dg, alg) || (expected_digest && !v->expected) || !v->what) {
		verify_destroy(&v->base);
		return COCOIMG_ENOMEM;
	}
	*out = &v->base;
	return 0;
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

static int nop_finish(coco_stage *s) { return s->next ? coco_stage_finish(s->next) : 0; }
static void free_destroy(coco_stage *s) { free(s); }

int coco_buf_stage_new(cocoimg_ctx *ctx, coco_buf *buf, size_t max, int err_code,
                       coco_stage **out)
{
	buf_stage *m = calloc(1, sizeof(*m));
	if (!m)
		return COCOIMG_ENOMEM;
	m->base.write = buf_write;
	m->base.finish = nop_finish;
	m->base.destroy = free_destroy;
	m->base.ctx = ctx;
	m->base.name = "memory";
	m->buf = buf;
	m->max = max;
	m->err = err_code;
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
	while (n) {
		ssize_t w = write(f->fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return coco_seterr(s->ctx, COCOIMG_EIO, "cannot write %s: %s", f->path,
			                   strerror(errno));
		b += w;
		n -= (size_t)w;
	}
	s->nsec += coco_now_ns() - t0;
	return 0;
}

static void fd_destroy(coco_stage *s)
{
	free(((fd_stage *)s)->path);
	free(s);
}

int coco_fd_stage_new(cocoimg_ctx *ctx, int fd, const char *path, coco_stage **out)
{
	fd_stage *f = calloc(1, sizeof(*f));
	if (!f)
		return COCOIMG_ENOMEM;
	f->base.write = fd_write;
	f->base.finish = nop_finish;
	f->base.destroy = fd_destroy;
	f->base.ctx = ctx;
	f->base.name = "write";
	f->fd = fd;
	f->path = coco_strdup(path ? path : "output");
	*out = &f->base;
	return 0;
}

int coco_stage_pump_fd(coco_stage *s, int fd, const char *path)
{
	unsigned char *buf = malloc(COCO_BUFSZ);
	if (!buf)
		return COCOIMG_ENOMEM;
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

static void ring_stage_destroy(coco_stage *s) { (void)s; }

int coco_ring_new(cocoimg_ctx *ctx, size_t nbufs, size_t bufsz, coco_ring **out)
{
	coco_ring *r = calloc(1, sizeof(*r));
	if (!r)
		return COCOIMG_ENOMEM;
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
		return COCOIMG_ENOMEM;
	}
	for (size_t i = 0; i < nbufs; i++) {
		r->bufs[i] = malloc(bufsz);
		if (!r->bufs[i]) {
			r->nbufs = i;
			coco_ring_free(r);
			return COCOIMG_ENOMEM;
		}
	}
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	r->stage.write = ring_write;
	r->stage.finish = ring_finish;
	r->stage.destroy = ring_stage_destroy;
	r->stage.ctx = ctx;
	r->stage.name = "ring";
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
	pthread_t th;
	bool started;
	int rc;                    /* worker result */
} async_stage;

static void *async_main(void *arg)
{
	async_stage *a = arg;
	coco_stage *next = a->base.next;
	int rc = 0;
	for (;;) {
		const unsigned char *d;
		ssize_t n = coco_ring_borrow(a->ring, &d);
		if (n < 0) {
			rc = (int)n;
			break;
		}
		if (n == 0) {
			rc = next ? coco_stage_finish(next) : 0;
			break;
		}
		rc = next ? coco_stage_write(next, d, (size_t)n) : 0;
		coco_ring_release(a->ring);
		if (rc)
			break;
	}
	if (rc)
		coco_ring_abort(a->ring, rc);
	a->rc = rc;
	return NULL;
}

static int async_write(coco_stage *s, const unsigned char *b, size_t n)
{
	async_stage *a = (async_stage *)s;
	uint64_t t0 = coco_now_ns();
	int rc = coco_stage_write(coco_ring_stage(a->ring), b, n);
	s->nsec += coco_now_ns() - t0;
	return rc;
}

static int async_join(async_stage *a)
{
	if (a->started) {
		pthread_join(a->th, NULL);
		a->started = false;
	}
	return a->rc;
}

static int async_finish(coco_stage *s)
{
	async_stage *a = (async_stage *)s;
	uint64_t t0 = coco_now_ns();
	int rc = coco_stage_finish(coco_ring_stage(a->ring));
	if (rc)
		coco_ring_abort(a->ring, rc);
	int wrc = async_join(a);
	s->nsec += coco_now_ns() - t0;
	/* the worker's own error explains more than the ring's abort code */
	return wrc ? wrc : rc;
}

static void async_destroy(coco_stage *s)
{
	async_stage *a = (async_stage *)s;
	if (a->started) {
		coco_ring_abort(a->ring, COCOIMG_ECANCELLED);
		async_join(a);
	}
	coco_ring_free(a->ring);
	free(a);
}

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
 * switches: the "async" stage then just forwards, on the caller's thread. */
static int pass_write(coco_stage *s, const unsigned char *b, size_t n)
{
	return coco_stage_write(s->next, b, n);
}

static int pass_finish(coco_stage *s) { return coco_stage_finish(s->next); }

int coco_async_stage_new(cocoimg_ctx *ctx, size_t nbufs, size_t bufsz, coco_stage *next,
                         coco_stage **out)
{
	if (coco_cpus_usable() < 2) {
		coco_stage *p = calloc(1, sizeof(*p));
		if (!p)
			return COCOIMG_ENOMEM;
		p->write = pass_write;
		p->finish = pass_finish;
		p->destroy = free_destroy;
		p->next = next;
		p->ctx = ctx;
		p->name = "async";
		*out = p;
		return 0;
	}
	async_stage *a = calloc(1, sizeof(*a));
	if (!a)
		return COCOIMG_ENOMEM;
	int rc = coco_ring_new(ctx, nbufs ? nbufs : 4, bufsz ? bufsz : COCO_BUFSZ, &a->ring);
	if (rc) {
		free(a);
		return rc;
	}
	a->base.write = async_write;
	a->base.finish = async_finish;
	a->base.destroy = async_destroy;
	a->base.next = next;
	a->base.ctx = ctx;
	a->base.name = "async";
	if (pthread_create(&a->th, NULL, async_main, a)) {
		coco_ring_free(a->ring);
		free(a);
		return coco_seterr(ctx, COCOIMG_EINTERNAL, "cannot start a thread");
	}
	a->started = true;
	*out = &a->base;
	return 0;
}

/* ---- meter stage ---- */

typedef struct {
	coco_stage base;
	uint64_t t_last;
} meter_stage;

static int meter_write(coco_stage *s, const unsigned char *b, size_t n)
{
	meter_stage *m = (meter_stage *)s;
	s->nsec += coco_now_ns() - m->t_last;
	int rc = s->next ? coco_stage_write(s->next, b, n) : 0;
	m->t_last = coco_now_ns();
	return rc;
}

static int meter_finish(coco_stage *s)
{
	meter_stage *m = (meter_stage *)s;
	s->nsec += coco_now_ns() - m->t_last;
	int rc = s->next ? coco_stage_finish(s->next) : 0;
	m->t_last = coco_now_ns();
	return rc;
}

int coco_meter_stage_new(cocoimg_ctx *ctx, coco_stage *next, coco_stage **out)
{
	meter_stage *m = calloc(1, sizeof(*m));
	if (!m)
		return COCOIMG_ENOMEM;
	m->base.write = meter_write;
	m->base.finish = meter_finish;
	m->base.destroy = free_destroy;
	m->base.next = next;
	m->base.ctx = ctx;
	m->base.name = "network";
	m->t_last = coco_now_ns();
	*out = &m->base;
	return 0;
}
