/*
 * One way to run a function on a thread of its own: start it with a name
 * (shown by tools as the thread's name, used in the error when it cannot
 * start), join it for its result.
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
	int rc;                    /* fn's result, once joined */
	bool started;
} coco_thread;

/*
 * Run fn(arg) on a new thread.  Returns 0, or COCOIMG_EINTERNAL when the
 * thread cannot start: recorded on ctx as "cannot start the NAME thread"
 * unless ctx is NULL (callers with a fallback, such as running the work
 * on their own thread, pass NULL).
 */
int coco_thread_start(coco_thread *t, cocoimg_ctx *ctx, const char *name, coco_thread_fn fn,
                      void *arg);
/* Wait for the thread and return fn's result (again on a second join);
 * 0 for a zeroed coco_thread or one that did not start. */
int coco_thread_join(coco_thread *t);

#endif
