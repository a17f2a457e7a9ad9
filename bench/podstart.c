/*
 * Where the milliseconds of a small image's unpack go, seen from a
 * program that links libcocoimg (as a container runtime in a guest does):
 *
 *   podstart [--t0 EPOCH_US] [--repeat N] [--set KEY=VALUE]... IMAGE ROOTFS KEYFILE
 *
 * Prints one line per event, "MS EVENT DETAIL", MS counted from --t0 (the
 * wall clock just before exec, e.g. bash's $EPOCHREALTIME) or else from
 * the start of main:
 *   main                      main() entered (exec + dynamic loading +
 *                             the libraries' constructors before it)
 *   ctx                       cocoimg_ctx_new returned (library init)
 *   key                       the decryption key is parsed
 *   log MESSAGE               each debug message of the library (pings,
 *                             requests, spooling), stamped on arrival
 *   progress LAYER PHASE      a layer finished a phase (download, apply)
 *   unpack N                  the N-th cocoimg_unpack returned
 *   end                       everything freed
 * With --repeat N the image is unpacked N times with one context, into
 * ROOTFS.1 ... ROOTFS.N: the second run is what a process that already
 * pulled once pays (warm library, connection pool and caches).
 * bench/run.sh turns the lines into the small-image breakdown.
 */
#include <cocoimg.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static double t0_us;
static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void event(const char *what, const char *detail)
{
	double ms = (now_us() - t0_us) / 1e3;
	pthread_mutex_lock(&out_mu);
	printf("%.3f %s%s%s\n", ms, what, detail ? " " : "", detail ? detail : "");
	pthread_mutex_unlock(&out_mu);
}

static void log_cb(cocoimg_log_level level, const char *msg, void *payload)
{
	(void)payload;
	event(level == COCOIMG_LOG_DEBUG ? "log" : "warning", msg);
}

static int progress_cb(const cocoimg_progress *p, void *payload)
{
	(void)payload;
	if (!p->finished || p->version < 2)
		return 0;
	char d[96];
	snprintf(d, sizeof(d), "%s%u %s %" PRIu64, p->what, p->layer, p->phase_name, p->done);
	event("progress", d);
	return 0;
}

static int usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [--t0 EPOCH_US] [--repeat N] [--set KEY=VALUE]... "
	        "IMAGE ROOTFS KEYFILE\n", argv0);
	return 2;
}

static int fail(cocoimg_ctx *ctx, const char *what, int rc)
{
	fprintf(stderr, "podstart: %s: %s\n", what, cocoimg_ctx_last_error(ctx));
	return cocoimg_error_exit_code(rc);
}

/* Apply one --set KEY=VALUE to the context. */
static int set_opt(cocoimg_ctx *ctx, const char *kv)
{
	char key[128];
	const char *eq = strchr(kv, '=');
	if (!eq || (size_t)(eq - kv) >= sizeof(key))
		return 2;
	memcpy(key, kv, (size_t)(eq - kv));
	key[eq - kv] = 0;
	return cocoimg_ctx_set(ctx, key, eq + 1) ? 2 : 0;
}

static int run(cocoimg_ctx *ctx, char **sets, int nsets, int repeat, char **pos)
{
	cocoimg_keyring *keys = NULL;
	for (int i = 0; i < nsets; i++)
		if (set_opt(ctx, sets[i]))
			return fail(ctx, sets[i], COCOIMG_EINVAL);
	cocoimg_ctx_set_log(ctx, log_cb, COCOIMG_LOG_DEBUG, NULL);
	cocoimg_ctx_set_progress(ctx, progress_cb, NULL);
	int rc = cocoimg_keyring_new(&keys);
	if (!rc)
		rc = cocoimg_keyring_add_decryption_key(ctx, keys, pos[2]);
	if (rc) {
		cocoimg_keyring_free(keys);
		return fail(ctx, "key", rc);
	}
	event("key", NULL);
	for (int n = 1; n <= repeat && !rc; n++) {
		cocoimg_unpack_options opts;
		rc = cocoimg_unpack_options_init(&opts, COCOIMG_UNPACK_OPTIONS_VERSION);
		opts.keyring = keys;
		char dest[4096], num[16];
		snprintf(dest, sizeof(dest), "%s.%d", pos[1], n);
		snprintf(num, sizeof(num), "%d", n);
		char *report = NULL;
		if (!rc)
			rc = cocoimg_unpack(ctx, pos[0], dest, &opts, &report);
		cocoimg_free(report);
		if (rc)
			rc = fail(ctx, "unpack", rc);
		else
			event("unpack", num);
	}
	cocoimg_keyring_free(keys);
	return rc;
}

int main(int argc, char **argv)
{
	t0_us = now_us();
	int repeat = 1, nsets = 0, npos = 0;
	char *sets[32], *pos[3];
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--t0") && i + 1 < argc) {
			const char *t = argv[++i];
			t0_us = strtod(t, NULL) * (strchr(t, '.') ? 1e6 : 1.0);
		}
		else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
			repeat = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--set") && i + 1 < argc && nsets < 32)
			sets[nsets++] = argv[++i];
		else if (npos < 3)
			pos[npos++] = argv[i];
		else
			return usage(argv[0]);
	}
	if (npos != 3 || repeat < 1)
		return usage(argv[0]);
	event("main", NULL);
	cocoimg_ctx *ctx;
	if (cocoimg_ctx_new(&ctx))
		return 1;
	event("ctx", NULL);
	int rc = run(ctx, sets, nsets, repeat, pos);
	cocoimg_ctx_free(ctx);
	event("end", NULL);
	return rc;
}
