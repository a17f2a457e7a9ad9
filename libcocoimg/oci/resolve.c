/*
 * Resolving a source to one image manifest: the top manifest, and through
 * an index (nested ones too) the instance for a platform, each checked
 * against its digest; small blobs (configs, signatures) read verified.
 */
#include "oci.h"
#include "resolve.h"
#include "../base.h"
#include "../caps.h"
#include "../digest.h"
#include "../ref.h"
#include "../stream.h"
#include "../transport.h"

#include <stdlib.h>
#include <string.h>

void coco_resolved_clear(coco_resolved *r)
{
	if (!r)
		return;
	if (r->image != r->top)
		coco_manifest_free(r->image);
	coco_manifest_free(r->top);
	coco_buf_free(&r->top_raw);
	coco_buf_free(&r->raw);
	COCO_CLEAR_FIELDS(r, r->top_media_type, r->media_type);
}

/* Fetch the manifest d names from s, verify it against d, parse it. */
int coco_fetch_manifest(coco_src *s, const coco_desc *d, coco_buf *raw, char **media_type,
                        char digest[COCO_DIGEST_STRLEN], coco_manifest **out)
{
	cocoimg_ctx *ctx = s->ctx;
	*out = NULL;
	*media_type = NULL;
	if (d->size < 0 || (uint64_t)d->size > coco_limit(ctx, COCO_LIM_MANIFEST_SIZE))
		return coco_limit_refuse(ctx, COCOIMG_EBADIMAGE, COCO_LIM_MANIFEST_SIZE,
		                         (uint64_t)d->size, "manifest %s", d->digest);
	int rc = s->ops->get_manifest(s, d->digest, raw, media_type);
	if (rc)
		return rc;
	if (coco_digest_like(d->digest, raw->data, raw->len, digest))
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
	if (coco_digest_like(want, out->top_raw.data, out->top_raw.len, out->top_digest)) {
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

int coco_fetch_small_blob(coco_src *s, const coco_desc *d, coco_limit_id cap, coco_buf *out)
{
	if (d->size < 0 || (uint64_t)d->size > coco_limit(s->ctx, cap))
		return coco_limit_refuse(s->ctx, COCOIMG_EBADIMAGE, cap, (uint64_t)d->size, "blob %s",
		                         d->digest);
	return coco_fetch_blob_mem(s, d, coco_limit_size(s->ctx, cap), out);
}

int coco_fetch_blob_mem(coco_src *s, const coco_desc *d, size_t max, coco_buf *out)
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
