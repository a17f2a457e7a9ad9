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

/* When each (blob, phase) showed first, for its rate; a few at a time. */
enum { N_ITEMS = 32 };
typedef struct {
	char digest[80];
	int phase;
	uint64_t start_ns;
} prog_item;

/* The library calls the callback from its worker threads: one lock
 * serialises the display. */
typedef struct {
	pthread_mutex_t mu;
	uint64_t last_ns;
	bool display;
	prog_item items[N_ITEMS];
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
	if (p->version >= 2 && p->layers)
		snprintf(buf, cap, "layer %u/%u", p->layer, p->layers);
	else
		snprintf(buf, cap, "%s", p->what ? p->what : "");
}

static const char *phase_of(const cocoimg_progress *p)
{
	return p->version >= 2 && p->phase_name ? p->phase_name : "";
}

/* The start time of p's blob and phase (now when first seen); the slot
 * is freed by its finished report. */
static uint64_t item_start(prog_state *ps, const cocoimg_progress *p, uint64_t now)
{
	const char *d = p->digest ? p->digest : "";
	int phase = p->version >= 2 ? p->phase : 0;
	prog_item *free_slot = NULL;
	for (size_t i = 0; i < N_ITEMS; i++) {
		prog_item *it = &ps->items[i];
		if (it->start_ns && it->phase == phase && !strncmp(it->digest, d, sizeof(it->digest) - 1)) {
			uint64_t t = it->start_ns;
			if (p->finished)
				it->start_ns = 0;
			return t;
		}
		if (!it->start_ns && !free_slot)
			free_slot = it;
	}
	if (free_slot && !p->finished) {
		snprintf(free_slot->digest, sizeof(free_slot->digest), "%s", d);
		free_slot->phase = phase;
		free_slot->start_ns = now;
	}
	return now;
}

static void draw(prog_state *ps, const cocoimg_progress *p, uint64_t now)
{
	char label[48];
	item_label(p, label, sizeof(label));
	double secs = (double)(now - item_start(ps, p, now)) / 1e9;
	const char *d = p->digest ? p->digest : "";
	const char *colon = strchr(d, ':');
	if (colon)
		d = colon + 1;
	fprintf(stderr, "\r%-11s %-8s %.12s %8.1f", label, phase_of(p), d,
	        (double)p->done / 1048576.0);
	if (p->total)
		fprintf(stderr, " / %.1f", (double)p->total / 1048576.0);
	if (secs >= 0.05) /* else: one report, no rate to tell */
		fprintf(stderr, " MiB  %6.1f MiB/s", (double)p->done / secs / 1048576.0);
	else
		fprintf(stderr, " MiB");
	fprintf(stderr, "\033[K%s", p->finished ? "\n" : "");
}

static int progress_cb(const cocoimg_progress *p, void *payload)
{
	prog_state *ps = payload;
	if (!ps->display || cli_interrupted())
		return 0;
	uint64_t now = now_ns();
	pthread_mutex_lock(&ps->mu);
	if (p->finished || now - ps->last_ns >= 200000000ull) {
		ps->last_ns = now;
		draw(ps, p, now);
	} else {
		item_start(ps, p, now); /* the rate counts from the first report */
	}
	pthread_mutex_unlock(&ps->mu);
	return 0;
}

void cli_setup_progress(cli_state *st)
{
	static prog_state ps = { .mu = PTHREAD_MUTEX_INITIALIZER };
	ps.display = st->progress;
	cocoimg_ctx_set_progress(st->ctx, progress_cb, &ps);
}
