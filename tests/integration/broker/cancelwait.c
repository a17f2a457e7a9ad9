/*
 * cancelwait: cocoimg_ctx_cancel() from another thread while the
 * operation waits on a broker exchange whose peer never answers (a KBS, a
 * CDH or attestation-agent socket, a keyprovider).  A runtime-style
 * program on the public API: it decrypts IMAGE into the layout DST with
 * cocoimg_copy, cancels after DELAY_MS and prints the outcome and how
 * long the operation took to return after the cancel:
 *
 *   cancelwait DELAY_MS KEYSPEC|- IMAGE DST [KEY=VALUE...]
 *
 *   rc ECANCELLED
 *   after_cancel_ms N
 *   msg MESSAGE
 */
#include <cocoimg.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static cocoimg_ctx *ctx;
static long delay_ms;
static struct timespec cancelled_at;

static double ms_since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) * 1e3 + (double)(now.tv_nsec - t->tv_nsec) / 1e6;
}

static void *canceller(void *arg)
{
	(void)arg;
	struct timespec ts = { delay_ms / 1000, (delay_ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
	clock_gettime(CLOCK_MONOTONIC, &cancelled_at);
	cocoimg_ctx_cancel(ctx);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: cancelwait DELAY_MS KEYSPEC|- IMAGE DST [KEY=VALUE...]\n");
		return 2;
	}
	delay_ms = strtol(argv[1], NULL, 10);
	if (cocoimg_ctx_new(&ctx))
		return 1;
	int rc = 0;
	for (int i = 5; i < argc && !rc; i++) {
		char *eq = strchr(argv[i], '=');
		if (!eq)
			return 2;
		*eq = 0;
		rc = cocoimg_ctx_set(ctx, argv[i], eq + 1);
	}
	cocoimg_keyring *kr = NULL;
	if (!rc && strcmp(argv[2], "-")) {
		rc = cocoimg_keyring_new(&kr);
		if (!rc)
			rc = cocoimg_keyring_add_decryption_key(ctx, kr, argv[2]);
	}
	char dst[4200];
	snprintf(dst, sizeof(dst), "oci:%s", argv[4]);
	cocoimg_copy_options o = COCOIMG_COPY_OPTIONS_INIT;
	o.crypt_mode = COCOIMG_CRYPT_DECRYPT;
	o.keys = kr;
	pthread_t th;
	if (!rc && pthread_create(&th, NULL, canceller, NULL))
		rc = COCOIMG_EINTERNAL;
	if (!rc) {
		rc = cocoimg_copy(ctx, argv[3], dst, &o, NULL);
		pthread_join(th, NULL);
		printf("rc %s\nafter_cancel_ms %.0f\n", rc == COCOIMG_ECANCELLED ? "ECANCELLED"
		       : rc ? cocoimg_strerror(rc) : "OK", ms_since(&cancelled_at));
	}
	printf("msg %s\n", cocoimg_ctx_last_error(ctx));
	cocoimg_keyring_free(kr);
	cocoimg_ctx_free(ctx);
	return rc ? cocoimg_error_exit_code(rc) : 0;
}
