/* The pipeline object and the verdict rule (pipeline.h). */
#include "pipeline.h"

#include <string.h>

void coco_verdict_init(coco_verdict *v)
{
	memset(v, 0, sizeof(*v));
	pthread_mutex_init(&v->mu, NULL);
}

/* Does (index, rc) beat what v holds? */
static bool verdict_beats(const coco_verdict *v, size_t index, int rc)
{
	if (!v->rc)
		return true;
	bool real = rc != COCOIMG_ECANCELLED, kept_real = v->rc != COCOIMG_ECANCELLED;
	if (real != kept_real)
		return real;
	return index < v->at;
}

int coco_verdict_note(coco_verdict *v, cocoimg_ctx *ctx, size_t index, int rc)
{
	if (!rc)
		return 0;
	pthread_mutex_lock(&v->mu);
	if (verdict_beats(v, index, rc)) {
		v->at = index;
		v->rc = rc;
		v->msg[0] = 0;
		if (ctx) {
			pthread_mutex_lock(&ctx->lock);     /* other sections may set errors */
			snprintf(v->msg, sizeof(v->msg), "%s", ctx->err_msg);
			pthread_mutex_unlock(&ctx->lock);
		}
	}
	pthread_mutex_unlock(&v->mu);
	return rc;
}

int coco_verdict_end(coco_verdict *v, cocoimg_ctx *ctx)
{
	int rc = v->rc;
	/* every thread that could set an error has been joined by now */
	if (rc && ctx && v->msg[0] &&
	    (cocoimg_ctx_last_error_code(ctx) != rc || strcmp(cocoimg_ctx_last_error(ctx), v->msg)))
		coco_seterr(ctx, rc, "%s", v->msg);
	pthread_mutex_destroy(&v->mu);
	return rc;
}

void coco_pipe_init(coco_pipe *p, cocoimg_ctx *ctx, coco_stage *sink)
{
	memset(p, 0, sizeof(*p));
	p->ctx = ctx;
	p->head = sink;
	coco_verdict_init(&p->verdict);
}

int coco_pipe_push(coco_pipe *p, int rc, coco_stage **s)
{
	if (rc) {
		if (!p->build_rc)
			p->build_rc = rc;
		return rc;
	}
	if (p->build_rc) {
		/* built on a chain that is already incomplete: drop it */
		coco_stage_free(*s);
		*s = NULL;
		return p->build_rc;
	}
	p->head = *s;
	return 0;
}

int coco_pipe_ring(coco_pipe *p, size_t nbufs, size_t bufsz, coco_ring **out)
{
	*out = NULL;
	if (p->n_rings == COCO_PIPE_RINGS)
		return coco_seterr(p->ctx, COCOIMG_EINTERNAL, "pipeline: too many rings");
	int rc = coco_ring_new(p->ctx, nbufs, bufsz, out);
	if (rc)
		return coco_oom(p->ctx);
	p->rings[p->n_rings++] = *out;
	return 0;
}

int coco_pipe_spawn(coco_pipe *p, unsigned section, const char *name, coco_thread_fn fn,
                    void *arg)
{
	int rc = coco_thread_start(&p->threads[section], p->ctx, name, fn, arg);
	return coco_pipe_note(p, section, rc);
}

bool coco_pipe_try_spawn(coco_pipe *p, unsigned section, const char *name, coco_thread_fn fn,
                         void *arg)
{
	return coco_thread_try(&p->threads[section], p->ctx, name, fn, arg);
}

int coco_pipe_join(coco_pipe *p, unsigned section)
{
	coco_thread *t = &p->threads[section];
	if (!t->started)
		return 0;
	return coco_pipe_note(p, section, coco_thread_join(t));
}

int coco_pipe_note(coco_pipe *p, unsigned section, int rc)
{
	return coco_verdict_note(&p->verdict, p->ctx, section, rc);
}

void coco_pipe_abort(coco_pipe *p, int code)
{
	for (size_t i = 0; i < p->n_rings; i++)
		coco_ring_abort(p->rings[i], code);
}

void coco_pipe_wait(coco_pipe *p)
{
	for (unsigned i = COCO_PIPE_SECTIONS; i-- > 0;)
		coco_pipe_join(p, i);
}

int coco_pipe_end(coco_pipe *p)
{
	coco_pipe_wait(p);
	coco_stage_chain_free(p->head);
	p->head = NULL;
	for (size_t i = 0; i < p->n_rings; i++)
		coco_ring_free(p->rings[i]);
	p->n_rings = 0;
	int rc = coco_verdict_end(&p->verdict, p->ctx);
	return p->build_rc ? p->build_rc : rc;
}
