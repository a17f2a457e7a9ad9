/* Unit tests: the "threads" budget (thread.c) and the pump (pump.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base.h"
#include "digest.h"
#include "pump.h"
#include "thread.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A worker that waits until told to go. */
typedef struct gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int open;
} gate;

static int wait_gate(void *arg)
{
	gate *g = arg;
	pthread_mutex_lock(&g->mu);
	while (!g->open)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
	return 7;
}

static void open_gate(gate *g)
{
	pthread_mutex_lock(&g->mu);
	g->open = 1;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static void test_values(void **state)
{
	(void)state;
	cocoimg_ctx *ctx;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	const char *good[] = { "auto", "0", "1", "2", "1024" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(cocoimg_ctx_set(ctx, "threads", good[i]), 0);
	const char *bad[] = { "", "-1", "+1", " 1", "1x", "1.0", "1025", "99999999999999999999",
		              "AUTO" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cocoimg_ctx_set(ctx, "threads", bad[i]), COCOIMG_EINVAL);
		assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "threads must be"));
	}
	assert_int_equal(cocoimg_ctx_set(ctx, "dest.threads", "1"), COCOIMG_EINVAL);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "without a src. or dest. prefix"));
	/* unset again: the default */
	assert_int_equal(cocoimg_ctx_set(ctx, "threads", NULL), 0);
	assert_int_equal(coco_thread_room(ctx), INT_MAX);
	cocoimg_ctx_free(ctx);
}

static void test_budget(void **state)
{
	(void)state;
	cocoimg_ctx *ctx;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	assert_int_equal(coco_thread_room(ctx), INT_MAX);
	assert_int_equal(cocoimg_ctx_set(ctx, "threads", "1"), 0);
	assert_int_equal(coco_thread_room(ctx), 0);
	gate g = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
	coco_thread t[3];
	assert_false(coco_thread_try(&t[0], ctx, "t", wait_gate, &g));
	assert_int_equal(coco_thread_start(&t[0], ctx, "t", wait_gate, &g), COCOIMG_EINTERNAL);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "cannot start the t thread"));
	assert_int_equal(coco_thread_join(&t[0]), 0);

	/* threads=3: two workers at once, a third waits for a place */
	assert_int_equal(cocoimg_ctx_set(ctx, "threads", "3"), 0);
	assert_int_equal(coco_thread_room(ctx), 2);
	assert_true(coco_thread_try(&t[0], ctx, "t", wait_gate, &g));
	assert_int_equal(coco_thread_room(ctx), 1);
	assert_int_equal(coco_thread_start(&t[1], ctx, "t", wait_gate, &g), 0);
	assert_int_equal(coco_thread_room(ctx), 0);
	assert_false(coco_thread_try(&t[2], ctx, "t", wait_gate, &g));
	open_gate(&g);
	assert_int_equal(coco_thread_join(&t[0]), 7);
	assert_int_equal(coco_thread_join(&t[1]), 7);
	assert_int_equal(coco_thread_room(ctx), 2);

	/* auto: no cap, nothing counted */
	assert_int_equal(cocoimg_ctx_set(ctx, "threads", "auto"), 0);
	assert_true(coco_thread_try(&t[2], ctx, "t", wait_gate, &g));
	assert_int_equal(coco_thread_join(&t[2]), 7);
	assert_int_equal(__atomic_load_n(&ctx->workers, __ATOMIC_ACQUIRE), 0);
	cocoimg_ctx_free(ctx);
}

/* A stage that turns each byte into its complement (stands in for a
 * cipher) and fails its finish when told to (a digest check). */
typedef struct {
	coco_stage base;
	int fail_finish;
} flip_stage;

static int flip_write(coco_stage *s, const unsigned char *b, size_t n)
{
	unsigned char tmp[64];
	while (n) {
		size_t k = n < sizeof(tmp) ? n : sizeof(tmp);
		for (size_t i = 0; i < k; i++)
			tmp[i] = (unsigned char)~b[i];
		int rc = coco_stage_write(s->next, tmp, k);
		if (rc)
			return rc;
		b += k;
		n -= k;
	}
	return 0;
}

static int flip_finish(coco_stage *s)
{
	if (((flip_stage *)s)->fail_finish)
		return coco_seterr(s->ctx, COCOIMG_EDIGEST, "flip: checksum mismatch");
	return coco_stage_finish_next(s);
}

COCO_STAGE_TYPE(flip_type, "flip", flip_stage, flip_write, flip_finish, NULL);

/* Pull everything through a pump over a file of n bytes; its result. */
static int pump_file(size_t n, int fail_finish, coco_buf *got)
{
	cocoimg_ctx *ctx;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	char path[] = "/tmp/coco-pump-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	unsigned char *data = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		data[i] = (unsigned char)(i * 7);
	assert_int_equal(coco_write_all(fd, data, n), 0);
	assert_true(lseek(fd, 0, SEEK_SET) == 0);
	coco_pump p;
	coco_pump_init(&p, ctx, fd, "layer 1");
	coco_stage *sink, *flip;
	assert_int_equal(coco_pump_sink_new(&p, &sink), 0);
	flip = coco_stage_new(ctx, &flip_type, sink);
	((flip_stage *)flip)->fail_finish = fail_finish;
	p.head = flip;
	const unsigned char *d;
	ssize_t k;
	while ((k = coco_pump_pull(&p, &d)) > 0)
		assert_int_equal(coco_buf_append(got, d, (size_t)k), 0);
	/* after the end (or an error) it stays there */
	assert_int_equal(coco_pump_pull(&p, &d), k);
	if (k == 0) {
		assert_int_equal(got->len, n);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(got->data[i], (unsigned char)~data[i]);
	}
	coco_pump_clear(&p);
	coco_stage_chain_free(flip);
	close(fd);
	free(data);
	cocoimg_ctx_free(ctx);
	return (int)k;
}

static void test_pump(void **state)
{
	(void)state;
	size_t sizes[] = { 0, 1, 4096, COCO_BUFSZ, 3 * COCO_BUFSZ + 17 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		coco_buf got = { 0 };
		assert_int_equal(pump_file(sizes[i], 0, &got), 0);
		coco_buf_free(&got);
	}
	/* the chain's check at the end fails: the reader sees the error
	 * instead of the end, after every byte */
	coco_buf got = { 0 };
	assert_int_equal(pump_file(2 * COCO_BUFSZ, 1, &got), COCOIMG_EDIGEST);
	assert_int_equal(got.len, 2 * COCO_BUFSZ);
	coco_buf_free(&got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_pump),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
