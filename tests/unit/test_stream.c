/* Unit tests for the async stage (the thread split point of a chain) and
 * the pipeline verdict: bytes arrive in order whatever the write and
 * buffer sizes, a failing downstream stage's error reaches the writer,
 * and tearing a chain down mid-stream neither hangs nor leaks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base.h"
#include "stream.h"
#include "pipeline.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- a collecting sink with knobs ---- */

typedef struct {
	coco_stage base;
	coco_buf got;
	size_t fail_at;            /* fail the write that passes this many bytes (0: never) */
	int fail_finish;           /* finish() returns this */
	unsigned delay_us;         /* per write: a slow consumer */
	int *destroyed;
	int finished;
} sink_stage;

static int sink_write(coco_stage *s, const unsigned char *b, size_t n)
{
	sink_stage *k = (sink_stage *)s;
	if (k->delay_us)
		usleep(k->delay_us);
	if (k->fail_at && k->got.len + n >= k->fail_at)
		return coco_seterr(s->ctx, COCOIMG_EIO, "sink: disk full at %zu", k->got.len + n);
	return coco_buf_append(&k->got, b, n) ? COCOIMG_ENOMEM : 0;
}

static int sink_finish(coco_stage *s)
{
	sink_stage *k = (sink_stage *)s;
	k->finished++;
	if (k->fail_finish)
		return coco_seterr(s->ctx, k->fail_finish, "sink: cannot commit");
	return 0;
}

static void sink_destroy(coco_stage *s)
{
	sink_stage *k = (sink_stage *)s;
	if (k->destroyed)
		(*k->destroyed)++;
	coco_buf_free(&k->got);
}

static const coco_stage_type sink_type = {
	.name = "write",
	.size = sizeof(sink_stage),
	.write = sink_write,
	.finish = sink_finish,
	.destroy = sink_destroy,
};

static unsigned char *pattern(size_t n)
{
	unsigned char *p = malloc(n ? n : 1);
	assert_non_null(p);
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
	return p;
}

/* ---- order across sizes and boundaries ---- */

static void run_order(cocoimg_ctx *ctx, size_t nbufs, size_t bufsz, const size_t *chunks,
                      size_t n_chunks)
{
	size_t total = 0;
	for (size_t i = 0; i < n_chunks; i++)
		total += chunks[i];
	unsigned char *data = pattern(total);
	sink_stage *k = coco_stage_new(ctx, &sink_type, NULL);
	assert_non_null(k);
	coco_stage *a;
	assert_int_equal(coco_async_stage_new(ctx, nbufs, bufsz, &k->base, &a), 0);
	size_t off = 0;
	for (size_t i = 0; i < n_chunks; i++) {
		assert_int_equal(coco_stage_write(a, data + off, chunks[i]), 0);
		off += chunks[i];
	}
	assert_int_equal(coco_stage_finish(a), 0);
	assert_int_equal(k->finished, 1);
	assert_int_equal(k->got.len, total);
	assert_memory_equal(k->got.data, data, total);
	coco_stage_chain_free(a);
	free(data);
}

static void test_async_order(void **state)
{
	(void)state;
	cocoimg_ctx *ctx;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	static const size_t bufszs[] = { 1, 7, 1000, 4096, 256 * 1024 };
	static const size_t nbufs[] = { 2, 3, 4 };
	/* writes smaller, equal to, one less and one more than a buffer,
	 * several buffers at once, and empty writes */
	for (size_t b = 0; b < COCO_ARRAY_SIZE(bufszs); b++) {
		size_t z = bufszs[b];
		size_t big = z < 1000 ? 5000 : 100000;   /* one-byte buffers are slow */
		size_t chunks[] = { 1, z - 1 ? z - 1 : 1, z, z + 1, 0, 3 * z + 5, 17, 2 * z, big, 0 };
		for (size_t n = 0; n < COCO_ARRAY_SIZE(nbufs); n++)
			run_order(ctx, nbufs[n], z, chunks, COCO_ARRAY_SIZE(chunks));
	}
	/* nothing at all: the end of stream still reaches the sink */
	size_t none[] = { 0 };
	run_order(ctx, 0, 0, none, 1);
	cocoimg_ctx_free(ctx);
}

/* ---- an error downstream reaches the writer ---- */

static void test_async_downstream_error(void **state)
{
	(void)state;
	cocoimg_ctx *ctx;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	unsigned char *data = pattern(1 << 20);

	/* a write fails: a later write or the finish returns that error */
	sink_stage *k = coco_stage_new(ctx, &sink_type, NULL);
	k->fail_at = 300000;
	coco_stage *a;
	assert_int_equal(coco_async_stage_new(ctx, 2, 4096, &k->base, &a), 0);
	int rc = 0;
	for (size_t off = 0; off < (1u << 20) && !rc; off += 10000)
		rc = coco_stage_write(a, data + off, 10000);
	if (!rc)
		rc = coco_stage_finish(a);
	assert_int_equal(rc, COCOIMG_EIO);
	assert_int_equal(k->finished, 0);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "disk full"));
	coco_stage_chain_free(a);

	/* the sink's finish fails: the writer's finish returns it */
	coco_clearerr(ctx);
	k = coco_stage_new(ctx, &sink_type, NULL);
	k->fail_finish = COCOIMG_EDIGEST;
	assert_int_equal(coco_async_stage_new(ctx, 2, 4096, &k->base, &a), 0);
	assert_int_equal(coco_stage_write(a, data, 50000), 0);
	assert_int_equal(coco_stage_finish(a), COCOIMG_EDIGEST);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "cannot commit"));
	coco_stage_chain_free(a);

	free(data);
	cocoimg_ctx_free(ctx);
}

/* ---- teardown mid-stream ---- */

static void test_async_teardown(void **state)
{
	(void)state;
	cocoimg_ctx *ctx;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	unsigned char *data = pattern(64 * 1024);
	for (int round = 0; round < 3; round++) {
		int destroyed = 0;
		sink_stage *k = coco_stage_new(ctx, &sink_type, NULL);
		k->destroyed = &destroyed;
		k->delay_us = round == 2 ? 2000 : 0;   /* a slow consumer, ring full */
		coco_stage *a;
		assert_int_equal(coco_async_stage_new(ctx, 2, 1024, &k->base, &a), 0);
		/* round 0: torn down before any byte; 1, 2: with data in flight */
		if (round)
			assert_int_equal(coco_stage_write(a, data, 64 * 1024), 0);
		time_t t0 = time(NULL);
		coco_stage_chain_free(a);      /* stops and joins the worker */
		assert_true(time(NULL) - t0 < 10);
		assert_int_equal(destroyed, 1);
	}
	free(data);
	cocoimg_ctx_free(ctx);
}

/* ---- the verdict and the pipeline ---- */

static void test_verdict(void **state)
{
	(void)state;
	cocoimg_ctx *ctx;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	coco_verdict v;

	/* the lowest index with a real error wins, whatever came last */
	coco_verdict_init(&v);
	coco_verdict_note(&v, ctx, 2, coco_seterr(ctx, COCOIMG_EBADIMAGE, "tar broken"));
	coco_verdict_note(&v, ctx, 0, coco_seterr(ctx, COCOIMG_EDIGEST, "digest mismatch"));
	coco_verdict_note(&v, ctx, 1, coco_seterr(ctx, COCOIMG_EIO, "late error"));
	assert_int_equal(coco_verdict_end(&v, ctx), COCOIMG_EDIGEST);
	assert_int_equal(cocoimg_ctx_last_error_code(ctx), COCOIMG_EDIGEST);
	assert_string_equal(cocoimg_ctx_last_error(ctx), "digest mismatch");

	/* a cancellation never hides a real error, even from a later part */
	coco_clearerr(ctx);
	coco_verdict_init(&v);
	coco_verdict_note(&v, ctx, 0, COCOIMG_ECANCELLED);
	coco_verdict_note(&v, ctx, 3, coco_seterr(ctx, COCOIMG_EIO, "no space"));
	assert_int_equal(coco_verdict_end(&v, ctx), COCOIMG_EIO);
	assert_string_equal(cocoimg_ctx_last_error(ctx), "no space");

	/* only cancellations: cancelled; nothing: 0 */
	coco_verdict_init(&v);
	coco_verdict_note(&v, NULL, 1, COCOIMG_ECANCELLED);
	assert_int_equal(coco_verdict_end(&v, NULL), COCOIMG_ECANCELLED);
	coco_verdict_init(&v);
	coco_verdict_note(&v, NULL, 1, 0);
	assert_int_equal(coco_verdict_end(&v, NULL), 0);
	cocoimg_ctx_free(ctx);
}

typedef struct {
	coco_pipe *pl;
	coco_ring *ring;
	const unsigned char *data;
	size_t len;
} feed;

static int feed_main(void *arg)
{
	feed *f = arg;
	int rc = coco_stage_pump_mem(coco_pipe_head(f->pl), f->data, f->len);
	if (rc)
		coco_ring_abort(f->ring, rc);
	return rc;
}

/* source thread -> verify -> ring -> the caller reads; then the same with
 * a reader that stops early and aborts */
static void test_pipe(void **state)
{
	(void)state;
	cocoimg_ctx *ctx;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	unsigned char *data = pattern(300000);
	for (int stop_early = 0; stop_early < 2; stop_early++) {
		coco_pipe pl;
		coco_ring *ring;
		coco_stage *s;
		coco_pipe_init(&pl, ctx, NULL);
		assert_int_equal(coco_pipe_ring(&pl, 2, 1000, &ring), 0);
		s = coco_ring_stage(ring);
		coco_pipe_push(&pl, 0, &s);
		coco_pipe_push(&pl, coco_verify_stage_new(ctx, NULL, 300000, "blob",
		                                          coco_pipe_head(&pl), &s), &s);
		assert_int_equal(coco_pipe_built(&pl), 0);
		feed f = { &pl, ring, data, 300000 };
		assert_int_equal(coco_pipe_spawn(&pl, 0, "feed", feed_main, &f), 0);
		unsigned char buf[777];
		size_t got = 0;
		ssize_t n;
		while ((n = coco_ring_read(ring, buf, sizeof(buf))) > 0) {
			assert_memory_equal(buf, data + got, (size_t)n);
			got += (size_t)n;
			if (stop_early && got > 5000) {
				coco_pipe_note(&pl, 1, coco_seterr(ctx, COCOIMG_EBADIMAGE, "reader gave up"));
				coco_pipe_abort(&pl, COCOIMG_ECANCELLED);
				break;
			}
		}
		int rc = coco_pipe_end(&pl);
		if (stop_early) {
			assert_int_equal(rc, COCOIMG_EBADIMAGE);
			assert_string_equal(cocoimg_ctx_last_error(ctx), "reader gave up");
		} else {
			assert_int_equal(n, 0);
			assert_int_equal(got, 300000);
			assert_int_equal(rc, 0);
		}
		coco_clearerr(ctx);
	}
	free(data);
	cocoimg_ctx_free(ctx);
}

/* a digest computed upstream (the encrypting cipher's one pass): the
 * verify stage takes it, still checks the size and the expected digest,
 * and refuses a source that counted other bytes than came through */
typedef struct {
	const char *digest;
	uint64_t count;
	int rc;
} upstream;

static int upstream_digest(void *arg, char digest[COCO_DIGEST_STRLEN], uint64_t *count)
{
	upstream *u = arg;
	snprintf(digest, COCO_DIGEST_STRLEN, "%s", u->digest);
	*count = u->count;
	return u->rc;
}

static void test_verify_digest_from(void **state)
{
	(void)state;
	cocoimg_ctx *ctx;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	const char *abc = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	const char *other = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
	struct { const char *expected; upstream u; int rc; } cases[] = {
		{ NULL, { abc, 3, 0 }, 0 },
		{ abc, { abc, 3, 0 }, 0 },
		{ abc, { other, 3, 0 }, COCOIMG_EDIGEST },
		{ NULL, { abc, 2, 0 }, COCOIMG_EINTERNAL },
		{ NULL, { abc, 3, COCOIMG_EINTERNAL }, COCOIMG_EINTERNAL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		coco_stage *v;
		assert_int_equal(coco_verify_stage_new(ctx, cases[i].expected, 3, "blob", NULL, &v), 0);
		coco_verify_stage_digest_from(v, upstream_digest, &cases[i].u);
		assert_int_equal(coco_stage_write(v, (const unsigned char *)"abc", 3), 0);
		assert_int_equal(coco_stage_finish(v), cases[i].rc);
		if (!cases[i].rc) {
			char d[COCO_DIGEST_STRLEN];
			uint64_t n;
			coco_verify_result(v, d, &n);
			assert_string_equal(d, abc);
			assert_int_equal(n, 3);
		}
		coco_stage_free(v);
		coco_clearerr(ctx);
	}
	cocoimg_ctx_free(ctx);
}

/* a digest handed in from downstream (the decrypting cipher's HMAC pass):
 * checked when it comes, against the bytes counted here; none coming is
 * an internal error, not a pass */
static void test_verify_deferred(void **state)
{
	(void)state;
	cocoimg_ctx *ctx;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	const char *abc = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	const char *other = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
	struct { const char *handed; uint64_t count; int check_rc, finish_rc; } cases[] = {
		{ abc, 3, 0, 0 },
		{ other, 3, COCOIMG_EDIGEST, COCOIMG_EINTERNAL },
		{ abc, 2, COCOIMG_EINTERNAL, COCOIMG_EINTERNAL },
		{ NULL, 0, 0, COCOIMG_EINTERNAL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		coco_stage *v;
		assert_int_equal(coco_verify_stage_new(ctx, abc, 3, "blob", NULL, &v), 0);
		coco_verify_stage_defer(v);
		assert_int_equal(coco_stage_write(v, (const unsigned char *)"abc", 3), 0);
		if (cases[i].handed)
			assert_int_equal(coco_verify_stage_check(v, cases[i].handed, cases[i].count),
			                 cases[i].check_rc);
		if (cases[i].check_rc == COCOIMG_EDIGEST)
			assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "digest mismatch"));
		assert_int_equal(coco_stage_finish(v), cases[i].finish_rc);
		coco_stage_free(v);
		coco_clearerr(ctx);
	}
	cocoimg_ctx_free(ctx);
}

int main(void)
{
	alarm(120);                /* a hang is a failure, not a stuck run */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_async_order),
		cmocka_unit_test(test_async_downstream_error),
		cmocka_unit_test(test_async_teardown),
		cmocka_unit_test(test_verdict),
		cmocka_unit_test(test_pipe),
		cmocka_unit_test(test_verify_digest_from),
		cmocka_unit_test(test_verify_deferred),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
