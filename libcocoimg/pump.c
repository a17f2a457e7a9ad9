/* Pull through a push chain from a file, on one thread (pump.h). */
#include "pump.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
	coco_stage base;
	coco_pump *pump;
} sink_stage;

static int sink_write(coco_stage *s, const unsigned char *b, size_t n)
{
	sink_stage *k = (sink_stage *)s;
	return coco_buf_append(&k->pump->out, b, n) ? coco_oom(s->ctx) : 0;
}

COCO_STAGE_TYPE(sink_type, "pump", sink_stage, sink_write, coco_stage_nop_finish, NULL);

void coco_pump_init(coco_pump *p, cocoimg_ctx *ctx, int fd, const char *what)
{
	memset(p, 0, sizeof(*p));
	p->ctx = ctx;
	p->fd = fd;
	p->what = what;
}

int coco_pump_sink_new(coco_pump *p, coco_stage **out)
{
	sink_stage *k = coco_stage_new(p->ctx, &sink_type, NULL);
	if (!k)
		return coco_oom(p->ctx);
	k->pump = p;
	*out = &k->base;
	return 0;
}

/* Feed the next piece of the file (or the end) into the chain. */
static int feed(coco_pump *p)
{
	if (!p->in && !(p->in = malloc(COCO_BUFSZ)))
		return coco_oom(p->ctx);
	ssize_t n;
	do
		n = read(p->fd, p->in, COCO_BUFSZ);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return coco_seterr(p->ctx, COCOIMG_EIO, "%s: cannot read its download: %s", p->what,
		                   strerror(errno));
	if (n == 0) {
		p->done = true;
		return coco_stage_finish(p->head);
	}
	return coco_stage_write(p->head, p->in, (size_t)n);
}

ssize_t coco_pump_pull(void *pump, const unsigned char **data)
{
	coco_pump *p = pump;
	p->out.len = 0;
	while (!p->rc && !p->done && p->out.len == 0)
		p->rc = feed(p);
	if (p->rc)
		return p->rc;
	*data = p->out.data;
	return (ssize_t)p->out.len;
}

void coco_pump_clear(coco_pump *p)
{
	coco_buf_wipe_free(&p->out);
	free(p->in);
	p->in = NULL;
}
