/*
 * The pump: a push chain of stages fed from a file, read from its far end
 * by pulling, all on the caller's thread.  A reader that pulls (the layer
 * applier) thus gets what a chain of push stages (digest check, meter,
 * decryption) makes of a file without a producer thread and a ring in
 * between.  Each pull reads the next piece of the file into the chain
 * and hands out what came out at the end; at the end of the file the
 * chain is finished (its checks run) before the end is reported, so a
 * reader never sees the end of a stream whose checks failed.
 */
#ifndef COCO_PUMP_H
#define COCO_PUMP_H

#include "stream.h"

#include <sys/types.h>

typedef struct coco_pump {
	cocoimg_ctx *ctx;
	int fd;                    /* read from its current offset */
	const char *what;          /* for messages: "layer 2" */
	coco_stage *head;          /* where the file's bytes go in (set once built) */
	coco_buf out;              /* what came out at the end, handed out */
	unsigned char *in;         /* read buffer */
	bool done;                 /* end of file reached, chain finished */
	int rc;                    /* first error, then every pull returns it */
} coco_pump;

void coco_pump_init(coco_pump *p, cocoimg_ctx *ctx, int fd, const char *what);
/* The sink at the end of the chain, collecting for coco_pump_pull(). */
int coco_pump_sink_new(coco_pump *p, coco_stage **out);
/* A coco_pull_fn: bytes valid until the next call, 0 at the end,
 * a negative error code. */
ssize_t coco_pump_pull(void *pump, const unsigned char **data);
/* Free the buffers (wiped: they may hold decrypted bytes). */
void coco_pump_clear(coco_pump *p);

#endif
