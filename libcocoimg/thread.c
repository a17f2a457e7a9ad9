/* Threads: start with a name, join for the result (thread.h). */
#include "thread.h"

#include <string.h>

static void *trampoline(void *arg)
{
	coco_thread *t = arg;
	char name[16];             /* the kernel keeps 15 bytes */
	snprintf(name, sizeof(name), "coco-%s", t->name);
	pthread_setname_np(pthread_self(), name);
	t->rc = t->fn(t->arg);
	return NULL;
}

int coco_thread_start(coco_thread *t, cocoimg_ctx *ctx, const char *name, coco_thread_fn fn,
                      void *arg)
{
	memset(t, 0, sizeof(*t));
	t->fn = fn;
	t->arg = arg;
	t->name = name;
	int e = pthread_create(&t->th, NULL, trampoline, t);
	if (e) {
		if (ctx)
			coco_seterr(ctx, COCOIMG_EINTERNAL, "cannot start the %s thread: %s", name,
			            strerror(e));
		return COCOIMG_EINTERNAL;
	}
	t->started = true;
	return 0;
}

int coco_thread_join(coco_thread *t)
{
	if (t->started) {
		pthread_join(t->th, NULL);
		t->started = false;
	}
	return t->rc;
}
