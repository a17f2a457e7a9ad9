/*
 * Image transports, the shared part: how every destination's blob sink is
 * built (so coco_dest_blob_done() works on any of them), closing sources
 * and destinations, and reading a small verified blob.
 */
#include "base.h"
#include "digest.h"
#include "ref.h"
#include "stream.h"
#include "transport.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* put_blob sinks                                                      */
/* ------------------------------------------------------------------ */

typedef struct {
	coco_stage base;           /* base.next = the verify stage */
	const coco_blob_sink_ops *ops;
	void *arg;
	bool committed;
	char digest[COCO_DIGEST_STRLEN];
	uint64_t size;
} blob_sink;

static int sink_finish(coco_stage *s)
{
	blob_sink *k = (blob_sink *)s;
	int rc = coco_stage_finish(s->next);
	if (rc)
		return rc;
	coco_verify_result(s->next, k->digest, &k->size);
	rc = k->ops->commit(k->arg, k->digest, k->size);
	if (!rc)
		k->committed = true;
	return rc;
}

static void sink_destroy(coco_stage *s)
{
	blob_sink *k = (blob_sink *)s;
	if (!k->committed && k->ops->discard)
		k->ops->discard(k->arg);
	if (k->ops->release)
		k->ops->release(k->arg);
}

COCO_STAGE_TYPE(blob_sink_type, "sink", blob_sink, coco_stage_forward, sink_finish, sink_destroy);

int coco_blob_sink_new(cocoimg_ctx *ctx, const char *expected_digest, int64_t expected_size,
                       const char *what, coco_stage *inner, const coco_blob_sink_ops *ops, void *arg,
                       coco_stage **out)
{
	*out = NULL;
	coco_stage *v;
	int rc = coco_verify_stage_new(ctx, expected_digest, expected_size, what, inner, &v);
	if (rc)
		return rc;
	blob_sink *k = coco_stage_new(ctx, &blob_sink_type, v);
	if (!k) {
		coco_stage_free(v);
		return coco_oom(ctx);
	}
	k->ops = ops;
	k->arg = arg;
	*out = &k->base;
	return 0;
}

void coco_dest_blob_done(coco_stage *sink, char digest[COCO_DIGEST_STRLEN], uint64_t *size)
{
	blob_sink *k = (blob_sink *)sink;
	if (sink->type != &blob_sink_type || !k->committed) {
		if (digest)
			digest[0] = 0;
		if (size)
			*size = 0;
		return;
	}
	if (digest)
		memcpy(digest, k->digest, COCO_DIGEST_STRLEN);
	if (size)
		*size = k->size;
}

void coco_dest_blob_digest_from(coco_stage *sink, coco_digest_source fn, void *arg)
{
	if (sink && sink->type == &blob_sink_type)
		coco_verify_stage_digest_from(sink->next, fn, arg);
}

/* The two allocations of a new source or destination (end, then its
 * back end's impl); on failure neither is kept and ref is freed. */
static int endpoint_alloc(cocoimg_ctx *ctx, size_t size, size_t impl_size, coco_ref *ref,
                          void **end, void **impl)
{
	*end = calloc(1, size);
	*impl = calloc(1, impl_size);
	if (*end && *impl)
		return 0;
	free(*end);
	free(*impl);
	coco_ref_free(ref);
	return coco_oom(ctx);
}

int coco_src_new(cocoimg_ctx *ctx, const struct coco_src_ops *ops, coco_ref *ref,
                 const char *side, size_t impl_size, coco_src **out)
{
	void *end, *impl;
	int rc = endpoint_alloc(ctx, sizeof(coco_src), impl_size, ref, &end, &impl);
	if (!rc)
		*(*out = end) = (coco_src){ ops, ctx, ref, side, impl };
	return rc;
}

int coco_dest_new(cocoimg_ctx *ctx, const struct coco_dest_ops *ops, coco_ref *ref,
                  size_t impl_size, coco_dest **out)
{
	void *end, *impl;
	int rc = endpoint_alloc(ctx, sizeof(coco_dest), impl_size, ref, &end, &impl);
	if (!rc)
		*(*out = end) = (coco_dest){ ops, ctx, ref, "dest", impl };
	return rc;
}

void coco_src_close(coco_src *s)
{
	if (!s)
		return;
	if (s->ops && s->ops->close)
		s->ops->close(s);
	coco_ref_free(s->ref);
	free(s->impl);
	free(s);
}

void coco_dest_close(coco_dest *d)
{
	if (!d)
		return;
	if (d->ops && d->ops->close)
		d->ops->close(d);
	coco_ref_free(d->ref);
	free(d->impl);
	free(d);
}
