/* coco-img: SIGINT and SIGTERM during commands that write.  The handler
 * records the signal and calls cocoimg_ctx_cancel() (one atomic store,
 * safe in a handler), so the library stops with COCOIMG_ECANCELLED at its
 * next check and removes its staging tree and partial output.  cli_fail
 * then reports the signal and exits 128 + signal number. */
#include "cli.h"

#include <signal.h>
#include <stdatomic.h>
#include <string.h>

/* Lock-free on every platform we build for, so safe in a handler. */
static atomic_int caught;
static cocoimg_ctx *_Atomic cancel_ctx;

static void on_signal(int sig)
{
	atomic_store(&caught, sig);
	cocoimg_ctx_cancel(atomic_load(&cancel_ctx));
}

void cli_cancel_on_signals(cocoimg_ctx *ctx)
{
	atomic_store(&cancel_ctx, ctx);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* SA_RESETHAND: a second signal takes the default action (stop now). */
	sa.sa_flags = SA_RESTART | SA_RESETHAND;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int cli_interrupted(void)
{
	return atomic_load(&caught);
}
