/* Threads: start with a name, join for the result, within the ctx's
 * "threads" budget (thread.h). */
#include "thread.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

int coco_threads_validate(cocoimg_ctx *ctx, const char *value)
{
	if (!value || !strcmp(value, "auto"))
		return 0;
	char *end;
	long v = strtol(value, &end, 10);
	if (*value >= '0' && *value <= '9' && !*end && v >= 0 && v <= COCO_THREADS_MAX)
		return 0;
	return coco_seterr(ctx, COCOIMG_EINVAL,
	                   "threads must be \"auto\", 0 (the default) or a number of threads "
	                   "from 1 to %d, not \"%s\"", COCO_THREADS_MAX, value);
}

/* The most workers ctx allows at once; -1: no cap. */
static int worker_cap(cocoimg_ctx *ctx)
{
	const char *v = ctx ? coco_opt(ctx, NULL, "threads") : NULL;
	if (!v || !strcmp(v, "auto"))
		return -1;
	long n = strtol(v, NULL, 10);
	return n >= 1 ? (int)n - 1 : -1;
}

int coco_thread_room(cocoimg_ctx *ctx)
{
	int cap = worker_cap(ctx);
	if (cap < 0)
		return INT_MAX;
	int used = __atomic_load_n(&ctx->workers, __ATOMIC_ACQUIRE);
	return used < cap ? cap - used : 0;
}

/* Take one place in ctx's budget; false when it is full. */
static bool budget_take(cocoimg_ctx *ctx, int cap)
{
	int used = __atomic_load_n(&ctx->workers, __ATOMIC_ACQUIRE);
	do {
		if (used >= cap)
			return false;
	} while (!__atomic_compare_exchange_n(&ctx->workers, &used, used + 1, false,
	                                      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	return true;
}

static void *trampoline(void *arg)
{
	coco_thread *t = arg;
	char name[16];             /* the kernel keeps 15 bytes */
	snprintf(name, sizeof(name), "coco-%s", t->name);
	pthread_setname_np(pthread_self(), name);
	t->rc = t->fn(t->arg);
	/* the work is done: its place may go to another thread now */
	if (t->ctx)
		__atomic_sub_fetch(&t->ctx->workers, 1, __ATOMIC_ACQ_REL);
	return NULL;
}

/* 0, or the reason the thread did not start (budget: "no room"). */
static int launch(coco_thread *t, cocoimg_ctx *ctx, const char *name, coco_thread_fn fn,
                  void *arg, const char **why)
{
	memset(t, 0, sizeof(*t));
	t->fn = fn;
	t->arg = arg;
	t->name = name;
	int cap = worker_cap(ctx);
	if (cap >= 0) {
		if (!budget_take(ctx, cap)) {
			*why = "the threads setting leaves no room for it";
			return COCOIMG_EINTERNAL;
		}
		t->ctx = ctx;
	}
	int e = pthread_create(&t->th, NULL, trampoline, t);
	if (e) {
		if (t->ctx)
			__atomic_sub_fetch(&ctx->workers, 1, __ATOMIC_ACQ_REL);
		t->ctx = NULL;
		*why = strerror(e);
		return COCOIMG_EINTERNAL;
	}
	t->started = true;
	return 0;
}

int coco_thread_start(coco_thread *t, cocoimg_ctx *ctx, const char *name, coco_thread_fn fn,
                      void *arg)
{
	const char *why = NULL;
	int rc = launch(t, ctx, name, fn, arg, &why);
	if (rc && ctx)
		coco_seterr(ctx, rc, "cannot start the %s thread: %s", name, why);
	return rc;
}

bool coco_thread_try(coco_thread *t, cocoimg_ctx *ctx, const char *name, coco_thread_fn fn,
                     void *arg)
{
	const char *why = NULL;
	if (!launch(t, ctx, name, fn, arg, &why))
		return true;
	coco_debug(ctx, "%s: no thread of its own (%s), done on this thread", name, why);
	return false;
}

int coco_thread_join(coco_thread *t)
{
	if (t->started) {
		pthread_join(t->th, NULL);
		t->started = false;
	}
	return t->rc;
}
