/*
 * threadrun: a runtime-style program on the public API only, for the test
 * of the "threads" key.  It runs one operation with KEY=VALUE context
 * settings and watches, from inside the progress and log callbacks, how
 * many threads the process has (entries of /proc/self/task) and whether
 * the callback runs on the thread that called the library:
 *
 *   threadrun unpack IMAGE ROOTFS [KEY=VALUE...]
 *   threadrun copy SRC DST [KEY=VALUE...]
 *   threadrun encrypt SRC DST [KEY=VALUE...]   (THREADRUN_RECIPIENT=SPEC)
 *   threadrun decrypt SRC DST [KEY=VALUE...]
 *
 * THREADRUN_KEY=SPEC adds a decryption key (unpack, decrypt).  The
 * report goes to the file THREADRUN_REPORT when set.  On success it
 * prints "tasks MAX", "callbacks N" and "elsewhere K" (callbacks that ran
 * on another thread than the caller's); on failure "threadrun: MESSAGE"
 * on stderr and cocoimg_error_exit_code(); a refused ctx_set exits 2.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <cocoimg.h>

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_t caller;
static atomic_int max_tasks, callbacks, elsewhere;

static void count_tasks(void)
{
	DIR *d = opendir("/proc/self/task");
	int n = 0;
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	int m = atomic_load(&max_tasks);
	while (n > m && !atomic_compare_exchange_weak(&max_tasks, &m, n))
		;
	atomic_fetch_add(&callbacks, 1);
	if (!pthread_equal(pthread_self(), caller))
		atomic_fetch_add(&elsewhere, 1);
}

static void log_cb(cocoimg_log_level lvl, const char *msg, void *payload)
{
	(void)lvl;
	(void)msg;
	(void)payload;
	count_tasks();
}

static int progress_cb(const cocoimg_progress *p, void *payload)
{
	(void)p;
	(void)payload;
	count_tasks();
	return 0;
}

/* The keyring the environment asks for; NULL when it asks for none. */
static int make_keys(cocoimg_ctx *ctx, cocoimg_keyring **kr)
{
	const char *key = getenv("THREADRUN_KEY"), *rcpt = getenv("THREADRUN_RECIPIENT");
	*kr = NULL;
	if (!key && !rcpt)
		return 0;
	int rc = cocoimg_keyring_new(kr);
	if (!rc && key)
		rc = cocoimg_keyring_add_decryption_key(ctx, *kr, key);
	if (!rc && rcpt)
		rc = cocoimg_keyring_add_recipient(ctx, *kr, rcpt);
	return rc;
}

static int run(cocoimg_ctx *ctx, const char *op, const char *a, const char *b,
               cocoimg_keyring *kr, char **report)
{
	if (!strcmp(op, "unpack")) {
		cocoimg_unpack_options uo = COCOIMG_UNPACK_OPTIONS_INIT;
		uo.keyring = kr;
		return cocoimg_unpack(ctx, a, b, &uo, report);
	}
	cocoimg_copy_options co = COCOIMG_COPY_OPTIONS_INIT;
	co.keys = kr;
	if (!strcmp(op, "encrypt"))
		co.crypt_mode = COCOIMG_CRYPT_ENCRYPT;
	else if (!strcmp(op, "decrypt"))
		co.crypt_mode = COCOIMG_CRYPT_DECRYPT;
	else if (strcmp(op, "copy"))
		return -1000;
	return cocoimg_copy(ctx, a, b, &co, report);
}

static int save_report(const char *report)
{
	const char *path = getenv("THREADRUN_REPORT");
	if (!path || !report)
		return 0;
	FILE *f = fopen(path, "w");
	if (!f || fputs(report, f) < 0 || fclose(f)) {
		fprintf(stderr, "threadrun: cannot write %s\n", path);
		return 1;
	}
	return 0;
}

/* Apply argv[4...] (KEY=VALUE); 0, or the exit status. */
static int apply_settings(cocoimg_ctx *ctx, int argc, char **argv)
{
	for (int i = 4; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		if (!eq) {
			fprintf(stderr, "threadrun: %s is not KEY=VALUE\n", argv[i]);
			return 2;
		}
		*eq = 0;
		if (cocoimg_ctx_set(ctx, argv[i], eq + 1)) {
			fprintf(stderr, "threadrun: %s\n", cocoimg_ctx_last_error(ctx));
			return 2;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	cocoimg_ctx *ctx;
	if (argc < 4 || cocoimg_ctx_new(&ctx)) {
		fprintf(stderr, "threadrun: bad usage\n");
		return 2;
	}
	caller = pthread_self();
	cocoimg_ctx_set_log(ctx, log_cb, COCOIMG_LOG_DEBUG, NULL);
	cocoimg_ctx_set_progress(ctx, progress_cb, NULL);
	int ex = apply_settings(ctx, argc, argv);
	cocoimg_keyring *kr = NULL;
	if (!ex && make_keys(ctx, &kr)) {
		fprintf(stderr, "threadrun: %s\n", cocoimg_ctx_last_error(ctx));
		ex = 2;
	}
	char *report = NULL;
	int rc = ex ? 0 : run(ctx, argv[1], argv[2], argv[3], kr, &report);
	if (rc == -1000) {
		fprintf(stderr, "threadrun: bad usage\n");
		ex = 2;
	} else if (rc) {
		fprintf(stderr, "threadrun: %s\n", cocoimg_ctx_last_error(ctx));
		ex = cocoimg_error_exit_code(rc);
	} else if (!ex) {
		ex = save_report(report);
		printf("tasks %d\ncallbacks %d\nelsewhere %d\n", atomic_load(&max_tasks),
		       atomic_load(&callbacks), atomic_load(&elsewhere));
	}
	cocoimg_free(report);
	cocoimg_keyring_free(kr);
	cocoimg_ctx_free(ctx);
	return ex;
}
