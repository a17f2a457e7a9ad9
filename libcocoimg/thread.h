/*
 * One way to run a function on a thread of its own: start it with a name
 * (shown by tools as the thread's name, used in the error when it cannot
 * start), join it for its result.
 *
 * The budget: the ctx key "threads" (N >= 1) allows an operation at most
 * N threads at once, the caller's own included, so at most N - 1 workers;
 * "0", "auto" or unset: no cap (the stages size themselves from the
 * usable CPUs).  Every thread the library starts comes through here, so
 * this is the one place that decides: coco_thread_room() says how many
 * more may start now, and a start that would pass the cap is refused.
 */
#ifndef COCOIMG_THREAD_H
#define COCOIMG_THREAD_H

#include "base.h"

typedef int (*coco_thread_fn)(void *arg);

typedef struct coco_thread {
	pthread_t th;
	coco_thread_fn fn;
	void *arg;
	const char *name;          /* static string */
	cocoimg_ctx *ctx;          /* whose budget the thread counts in, or NULL */
	int rc;                    /* fn's result, once joined */
	bool started;
} coco_thread;

/* Largest value of the "threads" key. */
#define COCO_THREADS_MAX 1024

/* Check a value of the "threads" key: "auto" or 0..COCO_THREADS_MAX.
 * COCOIMG_EINVAL recorded on ctx otherwise. */
int coco_threads_validate(cocoimg_ctx *ctx, const char *value);

/* How many more worker threads may start now under ctx's "threads"
 * setting: INT_MAX when it sets no cap, 0 with threads=1. */
int coco_thread_room(cocoimg_ctx *ctx);

/*
 * Run fn(arg) on a new thread, counted in ctx's budget.  Returns 0, or
 * COCOIMG_EINTERNAL recorded on ctx as "cannot start the NAME thread"
 * when pthread_create fails or the budget has no room: for a caller that
 * has checked coco_thread_room() and has no other way to do the work.
 */
int coco_thread_start(coco_thread *t, cocoimg_ctx *ctx, const char *name, coco_thread_fn fn,
                      void *arg);
/*
 * The same for a caller that can do the work on its own thread instead:
 * false, with nothing recorded (a debug line), when the budget has no
 * room or the thread cannot start.
 */
bool coco_thread_try(coco_thread *t, cocoimg_ctx *ctx, const char *name, coco_thread_fn fn,
                     void *arg);
/* Wait for the thread and return fn's result (again on a second join);
 * 0 for a zeroed coco_thread or one that did not start. */
int coco_thread_join(coco_thread *t);

#endif
