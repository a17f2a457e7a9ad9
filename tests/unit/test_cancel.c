/* Unit tests for stopping an operation from outside: cocoimg_ctx_cancel()
 * from another thread during cocoimg_unpack and cocoimg_copy (the staging
 * tree and the partial destination are removed), the request staying
 * until cocoimg_ctx_reset_cancel(), and the per-operation deadline (ctx
 * "command-timeout") through the same check.  The image is an OCI layout
 * made by tests/lib/mkimage.py. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cocoimg.h>

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static cocoimg_ctx *ctx;
static char dir[64], img[128], rootfs[128];
static atomic_int calls;
static atomic_int sleep_ms;

static void nap(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/coco-cancel.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	const char *top = getenv("TOP_SRCDIR");
	char cmd[1024];
	/* three layers of 6 MB that do not compress: progress every 4 MiB */
	snprintf(cmd, sizeof(cmd),
	         "/usr/bin/python3 %s/tests/lib/mkimage.py %s/img:t --layer r:a=6000000 "
	         "--layer r:b=6000000 --layer r:c=6000000 >/dev/null",
	         top ? top : ".", dir);
	if (system(cmd))
		return -1;
	snprintf(img, sizeof(img), "oci:%s/img:t", dir);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static int progress_cb(const cocoimg_progress *p, void *payload)
{
	(void)p, (void)payload;
	atomic_fetch_add(&calls, 1);
	int ms = atomic_load(&sleep_ms);
	if (ms)
		nap(ms);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	static int n;
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs%d", dir, n++);
	atomic_store(&calls, 0);
	atomic_store(&sleep_ms, 100);
	if (cocoimg_ctx_new(&ctx))
		return -1;
	cocoimg_ctx_set_progress(ctx, progress_cb, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cocoimg_ctx_free(ctx);
	return 0;
}

/* Nothing named *.coco-unpack-* is left in dir. */
static bool no_staging(void)
{
	DIR *d = opendir(dir);
	bool clean = true;
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (strstr(e->d_name, "coco-unpack"))
			clean = false;
	if (d)
		closedir(d);
	return clean;
}

/* Cancels ctx once the operation has reported progress. */
static void *canceller(void *arg)
{
	(void)arg;
	for (int i = 0; i < 3000 && atomic_load(&calls) == 0; i++)
		nap(1);
	cocoimg_ctx_cancel(ctx);
	return NULL;
}

static void test_unpack_cancel_from_thread(void **state)
{
	(void)state;
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, canceller, NULL), 0);
	int rc = cocoimg_unpack(ctx, img, rootfs, NULL, NULL);
	pthread_join(t, NULL);
	assert_int_equal(rc, COCOIMG_ECANCELLED);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "cancelled"));
	struct stat st;
	assert_int_not_equal(stat(rootfs, &st), 0);
	assert_true(no_staging());
	assert_int_equal(cocoimg_ctx_cancelled(ctx), 1);
}

static void test_cancel_stays_until_reset(void **state)
{
	(void)state;
	atomic_store(&sleep_ms, 0);
	cocoimg_ctx_cancel(ctx);
	cocoimg_ctx_cancel(NULL); /* a no-op */
	assert_int_equal(cocoimg_unpack(ctx, img, rootfs, NULL, NULL), COCOIMG_ECANCELLED);
	cocoimg_ctx_reset_cancel(ctx);
	assert_int_equal(cocoimg_ctx_cancelled(ctx), 0);
	assert_int_equal(cocoimg_unpack(ctx, img, rootfs, NULL, NULL), 0);
	struct stat st;
	assert_int_equal(stat(rootfs, &st), 0);
}

static void test_copy_cancel_from_thread(void **state)
{
	(void)state;
	char dst[160];
	snprintf(dst, sizeof(dst), "oci:%s/copy-dst:t", dir);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, canceller, NULL), 0);
	int rc = cocoimg_copy(ctx, img, dst, NULL, NULL);
	pthread_join(t, NULL);
	assert_int_equal(rc, COCOIMG_ECANCELLED);
	/* the destination layout was new: nothing of it is left */
	char path[160];
	snprintf(path, sizeof(path), "%s/copy-dst/index.json", dir);
	struct stat st;
	assert_int_not_equal(stat(path, &st), 0);
}

static void test_deadline(void **state)
{
	(void)state;
	/* each progress report takes 150 ms: the run outlasts 200 ms */
	atomic_store(&sleep_ms, 150);
	assert_int_equal(cocoimg_ctx_set(ctx, "command-timeout", "200ms"), 0);
	int rc = cocoimg_unpack(ctx, img, rootfs, NULL, NULL);
	assert_int_equal(rc, COCOIMG_ECANCELLED);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "command timeout (200ms)"));
	struct stat st;
	assert_int_not_equal(stat(rootfs, &st), 0);
	assert_true(no_staging());
	/* the deadline is per operation: the next one gets its own */
	atomic_store(&sleep_ms, 0);
	assert_int_equal(cocoimg_ctx_set(ctx, "command-timeout", "60s"), 0);
	assert_int_equal(cocoimg_unpack(ctx, img, rootfs, NULL, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unpack_cancel_from_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_stays_until_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_cancel_from_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deadline, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
