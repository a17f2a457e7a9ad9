/*
 * ctxrun: a runtime-style program on the public API only, for the tests of
 * the caps as context keys.  It sets KEY=VALUE with cocoimg_ctx_set() and
 * runs one operation:
 *
 *   ctxrun unpack IMAGE ROOTFS [KEY=VALUE...]
 *   ctxrun copy SRC DST [KEY=VALUE...]
 *   ctxrun inspect IMAGE [KEY=VALUE...]
 *   ctxrun verify IMAGE POLICY [KEY=VALUE...]
 *
 * On failure it prints "ctxrun: MESSAGE" on stderr and exits with
 * cocoimg_error_exit_code(); a refused ctx_set exits 2.  With
 * CTXRUN_LOG=debug the library's log lines go to stderr.
 *
 * CTXRUN_HOLD_APPLY=TEXT makes the test independent of thread timing:
 * the first progress report of the apply phase (on the thread that
 * applies layers) waits until a log line containing TEXT has been seen,
 * at most 60 s, so layers fetched ahead get their chance first.
 */
#include <cocoimg.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *hold_text;     /* CTXRUN_HOLD_APPLY */
static atomic_int hold_seen;      /* a log line carried hold_text */
static atomic_int hold_done;      /* the one hold has happened */

static void log_cb(cocoimg_log_level lvl, const char *msg, void *payload)
{
	(void)payload;
	if (hold_text && strstr(msg, hold_text))
		atomic_store(&hold_seen, 1);
	fprintf(stderr, "log[%d]: %s\n", (int)lvl, msg);
}

static int hold_cb(const cocoimg_progress *p, void *payload)
{
	(void)payload;
	if (p->version < 2 || p->phase != COCOIMG_PHASE_APPLY || atomic_exchange(&hold_done, 1))
		return 0;
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	for (int i = 0; i < 6000 && !atomic_load(&hold_seen); i++)
		nanosleep(&tick, NULL);
	if (!atomic_load(&hold_seen))
		fprintf(stderr, "ctxrun: no log line with \"%s\" within 60 s\n", hold_text);
	return 0;
}

static int run(cocoimg_ctx *ctx, const char *op, const char *const *pos, int npos)
{
	char *report = NULL;
	int rc;
	if (!strcmp(op, "unpack") && npos == 2)
		rc = cocoimg_unpack(ctx, pos[0], pos[1], NULL, &report);
	else if (!strcmp(op, "copy") && npos == 2)
		rc = cocoimg_copy(ctx, pos[0], pos[1], NULL, &report);
	else if (!strcmp(op, "inspect") && npos == 1)
		rc = cocoimg_inspect(ctx, pos[0], &report);
	else if (!strcmp(op, "verify") && npos == 2)
		rc = cocoimg_verify(ctx, pos[0], pos[1], &report);
	else {
		fprintf(stderr, "ctxrun: bad usage\n");
		return -1000;
	}
	cocoimg_free(report);
	return rc;
}

int main(int argc, char **argv)
{
	cocoimg_ctx *ctx;
	if (argc < 3 || cocoimg_ctx_new(&ctx))
		return 2;
	const char *lv = getenv("CTXRUN_LOG");
	hold_text = getenv("CTXRUN_HOLD_APPLY");
	if ((lv && !strcmp(lv, "debug")) || hold_text)
		cocoimg_ctx_set_log(ctx, log_cb, COCOIMG_LOG_DEBUG, NULL);
	if (hold_text)
		cocoimg_ctx_set_progress(ctx, hold_cb, NULL);
	/* the operation's arguments first, then KEY=VALUE */
	int npos = !strcmp(argv[1], "inspect") ? 1 : 2;
	if (argc < 2 + npos) {
		fprintf(stderr, "ctxrun: bad usage\n");
		return 2;
	}
	const char *pos[2] = { argv[2], npos > 1 ? argv[3] : NULL };
	for (int i = 2 + npos; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		if (!eq) {
			fprintf(stderr, "ctxrun: %s is not KEY=VALUE\n", argv[i]);
			return 2;
		}
		*eq = 0;
		if (cocoimg_ctx_set(ctx, argv[i], eq + 1)) {
			fprintf(stderr, "ctxrun: %s\n", cocoimg_ctx_last_error(ctx));
			cocoimg_ctx_free(ctx);
			return 2;
		}
	}
	int rc = run(ctx, argv[1], pos, npos);
	int ex = 0;
	if (rc == -1000)
		ex = 2;
	else if (rc) {
		fprintf(stderr, "ctxrun: %s\n", cocoimg_ctx_last_error(ctx));
		ex = cocoimg_error_exit_code(rc);
	}
	cocoimg_ctx_free(ctx);
	return ex;
}
