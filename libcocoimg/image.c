/* Image operations: the glue between sources, destinations and stages. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* put_blob sinks                                                      */
/* ------------------------------------------------------------------ */

#define BLOB_SINK_MAGIC 0x626c6f62u

typedef struct {
	coco_stage base;           /* base.next = the verify stage */
	unsigned magic;
	const coco_blob_sink_ops *ops;
	void *arg;
	bool committed;
	char digest[COCO_DIGEST_STRLEN];
	uint64_t size;
} blob_sink;

static int sink_write(coco_stage *s, const unsigned char *b, size_t n)
{
	return coco_stage_write(s->next, b, n);
}

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
	free(k);
}

int coco_blob_sink_new(cocoimg_ctx *ctx, const char *expected_digest, int64_t expected_size,
                       const char *what, coco_stage *inner, const coco_blob_sink_ops *ops, void *arg,
                       coco_stage **out)
{
	*out = NULL;
	blob_sink *k = calloc(1, sizeof(*k));
	if (!k)
		return coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory");
	coco_stage *v;
	int rc = coco_verify_stage_new(ctx, expected_digest, expected_size, what, inner, &v);
	if (rc) {
		free(k);
		return rc;
	}
	k->base.write = sink_write;
	k->base.finish = sink_finish;
	k->base.destroy = sink_destroy;
	k->base.next = v;
	k->base.ctx = ctx;
	k->base.name = "sink";
	k->magic = BLOB_SINK_MAGIC;
	k->ops = ops;
	k->arg = arg;
	*out = &k->base;
	return 0;
}

void coco_dest_blob_done(coco_stage *sink, char digest[COCO_DIGEST_STRLEN], uint64_t *size)
{
	blob_sink *k = (blob_sink *)sink;
	if (k->magic != BLOB_SINK_MAGIC || !k->committed) {
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

/* ------------------------------------------------------------------ */
/* Sources and destinations                                            */
/* ------------------------------------------------------------------ */

int coco_src_open_ref(cocoimg_ctx *ctx, coco_ref *ref, const char *side, coco_src **out)
{
	*out = NULL;
	switch (ref->transport) {
	case COCO_TR_DOCKER:
		return coco_registry_src_open(ctx, ref, side, out);
	case COCO_TR_OCI:
		return coco_oci_src_open(ctx, ref, side, out);
	case COCO_TR_OCI_ARCHIVE:
		return coco_ociarchive_src_open(ctx, ref, side, out);
	}
	coco_ref_free(ref);
	return coco_seterr(ctx, COCOIMG_EINTERNAL, "unknown transport");
}

int coco_src_open(cocoimg_ctx *ctx, const char *refs, const char *side, coco_src **out)
{
	coco_ref *ref;
	*out = NULL;
	int rc = coco_ref_parse(ctx, refs, &ref);
	if (rc)
		return rc;
	return coco_src_open_ref(ctx, ref, side ? side : "src", out);
}

void coco_src_close(coco_src *s)
{
	if (!s)
		return;
	if (s->ops && s->ops->close)
		s->ops->close(s);
	coco_ref_free(s->ref);
	free(s);
}

int coco_dest_open(cocoimg_ctx *ctx, const char *refs, coco_dest **out)
{
	coco_ref *ref;
	*out = NULL;
	int rc = coco_ref_parse(ctx, refs, &ref);
	if (rc)
		return rc;
	switch (ref->transport) {
	case COCO_TR_DOCKER:
		return coco_registry_dest_open(ctx, ref, out);
	case COCO_TR_OCI:
		return coco_oci_dest_open(ctx, ref, out);
	case COCO_TR_OCI_ARCHIVE:
		return coco_ociarchive_dest_open(ctx, ref, out);
	}
	coco_ref_free(ref);
	return coco_seterr(ctx, COCOIMG_EINTERNAL, "unknown transport");
}

void coco_dest_close(coco_dest *d)
{
	if (!d)
		return;
	if (d->ops && d->ops->close)
		d->ops->close(d);
	coco_ref_free(d->ref);
	free(d);
}

/* ------------------------------------------------------------------ */
/* Resolving an image                                                  */
/* ------------------------------------------------------------------ */

void coco_resolved_clear(coco_resolved *r)
{
	if (!r)
		return;
	if (r->image != r->top)
		coco_manifest_free(r->image);
	coco_manifest_free(r->top);
	coco_buf_free(&r->top_raw);
	coco_buf_free(&r->raw);
	free(r->top_media_type);
	free(r->media_type);
	memset(r, 0, sizeof(*r));
}

/* Digest of manifest bytes with the algorithm of `like` (sha256 default). */
static int digest_like(const char *like, const void *data, size_t len, char out[COCO_DIGEST_STRLEN])
{
	coco_digest_alg alg = COCO_SHA256;
	if (like && coco_digest_validate(like, &alg))
		alg = COCO_SHA256;
	return coco_digest_bytes(alg, data, len, out);
}

/* Fetch the manifest d names from s, verify it against d, parse it. */
int coco_fetch_manifest(coco_src *s, const coco_desc *d, coco_buf *raw, char **media_type,
                        char digest[COCO_DIGEST_STRLEN], coco_manifest **out)
{
	cocoimg_ctx *ctx = s->ctx;
	*out = NULL;
	*media_type = NULL;
	if (d->size > COCO_MAX_MANIFEST)
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "manifest %s: size %lld is over the %d-byte limit",
		                   d->digest, (long long)d->size, COCO_MAX_MANIFEST);
	int rc = s->ops->get_manifest(s, d->digest, raw, media_type);
	if (rc)
		return rc;
	if (digest_like(d->digest, raw->data, raw->len, digest))
		return coco_seterr(ctx, COCOIMG_EINTERNAL, "digest computation failed");
	if (strcmp(digest, d->digest) || raw->len != (uint64_t)d->size)
		return coco_seterr(ctx, COCOIMG_EDIGEST,
		                   "manifest %s: content does not match its descriptor (got %s, %zu bytes)",
		                   d->digest, digest, raw->len);
	rc = coco_manifest_parse(ctx, raw->data, raw->len, d->media_type, out);
	if (rc)
		return coco_preferr(ctx, rc, "manifest %s", d->digest);
	free(*media_type);
	*media_type = coco_strdup((*out)->media_type);
	return *media_type ? 0 : coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory");
}

int coco_resolve(coco_src *s, const coco_platform *p, coco_resolved *out)
{
	cocoimg_ctx *ctx = s->ctx;
	memset(out, 0, sizeof(*out));
	coco_manifest *cur = NULL;
	const char *want = s->ref && s->ref->transport == COCO_TR_DOCKER ? s->ref->docker.digest : NULL;
	int rc = s->ops->get_manifest(s, NULL, &out->top_raw, &out->top_media_type);
	if (rc)
		goto fail;
	if (digest_like(want, out->top_raw.data, out->top_raw.len, out->top_digest)) {
		rc = coco_seterr(ctx, COCOIMG_EINTERNAL, "digest computation failed");
		goto fail;
	}
	if (want && strcmp(want, out->top_digest)) {
		rc = coco_seterr(ctx, COCOIMG_EDIGEST, "manifest %s: content has digest %s", want,
		                 out->top_digest);
		goto fail;
	}
	rc = coco_manifest_parse(ctx, out->top_raw.data, out->top_raw.len, out->top_media_type, &out->top);
	if (rc) {
		coco_preferr(ctx, rc, "manifest %s", out->top_digest);
		goto fail;
	}
	free(out->top_media_type);
	out->top_media_type = coco_strdup(out->top->media_type);
	if (out->top->kind == COCO_KIND_IMAGE) {
		out->image = out->top;
		out->media_type = coco_strdup(out->top->media_type);
		memcpy(out->digest, out->top_digest, COCO_DIGEST_STRLEN);
		if (!out->media_type || !out->top_media_type ||
		    coco_buf_append(&out->raw, out->top_raw.data, out->top_raw.len)) {
			rc = coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory");
			goto fail;
		}
		return 0;
	}
	/* an index: select the platform instance, following nested indexes */
	const coco_manifest *idx = out->top;
	for (int depth = 0;; depth++) {
		if (depth >= 4) {
			rc = coco_seterr(ctx, COCOIMG_EBADIMAGE, "image index nested too deeply");
			goto fail;
		}
		size_t which;
		if ((rc = coco_index_select(ctx, idx, p, &which)))
			goto fail;
		const coco_desc *d = &idx->manifests[which];
		coco_manifest *next = NULL;
		coco_buf_free(&out->raw);
		free(out->media_type);
		out->media_type = NULL;
		rc = coco_fetch_manifest(s, d, &out->raw, &out->media_type, out->digest, &next);
		coco_manifest_free(cur);
		cur = next;
		if (rc)
			goto fail;
		if (cur->kind == COCO_KIND_IMAGE)
			break;
		idx = cur;
	}
	out->image = cur;
	return 0;
fail:
	coco_manifest_free(cur);
	out->image = out->top;
	coco_resolved_clear(out);
	return rc;
}

int coco_fetch_small_blob(coco_src *s, const coco_desc *d, size_t max, coco_buf *out)
{
	cocoimg_ctx *ctx = s->ctx;
	if (d->size < 0 || (uint64_t)d->size > max)
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "blob %s: size %lld is over the %zu-byte limit",
		                   d->digest, (long long)d->size, max);
	coco_stage *mem, *v;
	int rc = coco_buf_stage_new(ctx, out, max, COCOIMG_EBADIMAGE, &mem);
	if (rc)
		return rc;
	char what[200];
	snprintf(what, sizeof(what), "blob %s", d->digest);
	rc = coco_verify_stage_new(ctx, d->digest, d->size, what, mem, &v);
	if (rc) {
		coco_stage_chain_free(mem);
		return rc;
	}
	rc = s->ops->get_blob(s, d, v);
	coco_stage_chain_free(v);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Fallbacks for modules that are not linked in                        */
/* ------------------------------------------------------------------ */

/*
 * Weak definitions: the registry and crypt modules override them with
 * real ones.  (With the static internal archive, a strong definition only
 * wins when its object file is pulled into the link.)
 */
__attribute__((weak)) int coco_registry_src_open(cocoimg_ctx *ctx, coco_ref *ref, const char *side,
                                                 coco_src **out)
{
	(void)side;
	*out = NULL;
	coco_ref_free(ref);
	return coco_seterr(ctx, COCOIMG_EUNSUPPORTED, "docker:// references are not supported by this build");
}

__attribute__((weak)) int coco_registry_dest_open(cocoimg_ctx *ctx, coco_ref *ref, coco_dest **out)
{
	*out = NULL;
	coco_ref_free(ref);
	return coco_seterr(ctx, COCOIMG_EUNSUPPORTED, "docker:// references are not supported by this build");
}
