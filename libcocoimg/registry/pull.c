/*
 * docker:// as an image source: manifests (full Accept list, digests
 * checked) and blobs streamed into the caller's stage chain, resumed with
 * Range requests after a cut, retried with backoff.
 */
#include "registry.h"
#include "../base.h"
#include "../caps.h"
#include "../digest.h"
#include "../json.h"
#include "../oci/oci.h"
#include "../ref.h"
#include "../stream.h"
#include "../transport.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* a non-layer blob up to this size is metadata: bounded by metadata-timeout */
#define COCO_SMALL_BLOB (4u << 20)

#define ACCEPT_MANIFESTS                                                     \
	"Accept: " COCO_MT_OCI_INDEX ", " COCO_MT_OCI_MANIFEST ", " COCO_MT_DOCKER_LIST \
	", " COCO_MT_DOCKER_MANIFEST

typedef coco_reg_repo reg_src;     /* scope repository:PATH:pull */

static const struct coco_src_ops reg_src_ops;

coco_reg *coco_registry_src_client(coco_src *s)
{
	if (!s || s->ops != &reg_src_ops)
		return NULL;
	return ((reg_src *)s->impl)->reg;
}

static const char *known_mt(const char *mt)
{
	static const char *const k[] = { COCO_MT_OCI_INDEX, COCO_MT_OCI_MANIFEST,
	                                  COCO_MT_DOCKER_LIST, COCO_MT_DOCKER_MANIFEST };
	for (size_t i = 0; mt && i < COCO_ARRAY_SIZE(k); i++)
		if (!strcasecmp(mt, k[i]))
			return k[i];
	return NULL;
}

/* Media type of manifest bytes: a known Content-Type, else the document's
 * mediaType, else a guess from its shape (the parser checks agreement). */
static char *manifest_media_type(const coco_http_resp *resp)
{
	const char *ct = known_mt(resp->content_type);
	if (ct)
		return coco_strdup(ct);
	json_t *j = json_loadb((const char *)resp->body.data, resp->body.len, 0, NULL);
	const char *mt = j ? json_string_value(json_object_get(j, "mediaType")) : NULL;
	char *out;
	if (mt && *mt)
		out = coco_strdup(mt);
	else if (j && json_object_get(j, "manifests"))
		out = coco_strdup(COCO_MT_OCI_INDEX);
	else
		out = coco_strdup(COCO_MT_OCI_MANIFEST);
	json_decref(j);
	return out;
}

/* A manifest answer: 200 with content of the digest asked for (want,
 * if any) and of the Docker-Content-Digest the registry sent (if any). */
static int manifest_answer_ok(coco_src *s, const coco_http_resp *resp, const char *what,
                              const char *want, coco_digest_alg alg)
{
	reg_src *rs = s->impl;
	cocoimg_ctx *ctx = s->ctx;
	if (resp->status == 404) {
		char *m = coco_reg_errbody(resp);
		int rc = coco_seterr(ctx, COCOIMG_ENOTFOUND, "%s not found (%s)", what,
		                     m ? m : "HTTP 404");
		free(m);
		return rc;
	}
	if (resp->status != 200)
		return coco_reg_status_error(rs->reg, resp, what);
	char got[COCO_DIGEST_STRLEN];
	if (want) {
		coco_digest_bytes(alg, resp->body.data, resp->body.len, got);
		if (strcmp(got, want))
			return coco_seterr(ctx, COCOIMG_EDIGEST,
			                   "%s: the registry sent content with digest %s", what, got);
	}
	coco_digest_alg halg;
	if (resp->docker_digest && !coco_digest_validate(resp->docker_digest, &halg)) {
		coco_digest_bytes(halg, resp->body.data, resp->body.len, got);
		if (strcmp(got, resp->docker_digest))
			return coco_seterr(ctx, COCOIMG_EDIGEST,
			                   "%s: Docker-Content-Digest %s does not match the content (%s)",
			                   what, resp->docker_digest, got);
	}
	return 0;
}

static int src_get_manifest(coco_src *s, const char *digest, coco_buf *out, char **media_type)
{
	reg_src *rs = s->impl;
	coco_reg *r = rs->reg;
	cocoimg_ctx *ctx = s->ctx;
	const coco_dref *dr = &s->ref->docker;
	const char *want = digest ? digest : dr->digest;
	const char *reference = want ? want : dr->tag ? dr->tag : "latest";
	coco_digest_alg alg = COCO_SHA256;
	if (want && coco_digest_validate(want, &alg))
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "malformed manifest digest \"%s\"", want);
	char *what = coco_asprintf("manifest %s%s%s", rs->name, want ? "@" : ":", reference);
	char *url = coco_reg_url(r, "manifests/%s", reference);
	struct curl_slist *h = curl_slist_append(NULL, ACCEPT_MANIFESTS);
	if (!what || !url || !h) {
		free(what);
		free(url);
		curl_slist_free_all(h);
		return coco_oom(ctx);
	}
	coco_http_req req = { .method = "GET", .url = url, .headers = h,
	                      .max_body = coco_limit_size(ctx, COCO_LIM_MANIFEST_SIZE),
	                      .max_key = coco_limit_key(COCO_LIM_MANIFEST_SIZE) };
	coco_http_resp resp = { .content_length = -1 };
	int rc = coco_reg_request(r, &req, rs->scope, what, &resp);
	if (!rc)
		rc = manifest_answer_ok(s, &resp, what, want, alg);
	char *mt = rc ? NULL : manifest_media_type(&resp);
	if (!rc && !mt)
		rc = coco_oom(ctx);
	if (rc)
		goto out;
	coco_buf_free(out);
	*out = resp.body;
	memset(&resp.body, 0, sizeof(resp.body));
	if (media_type)
		*media_type = mt;
	else
		free(mt);
out:
	curl_slist_free_all(h);
	coco_http_resp_clear(&resp);
	free(url);
	free(what);
	return rc;
}

static bool blob_is_layer(const char *mt)
{
	return mt && (strstr(mt, "layer") || strstr(mt, "rootfs"));
}

/* After one blob request (result *rc): true when it failed in a way worth
 * resuming (a transport error, 429 or 5xx; *rc then records it, and
 * *retry_after the server's Retry-After). */
static bool blob_attempt_transient(coco_reg *r, const coco_http_req *req,
                                   const coco_http_resp *resp, const char *what, int *rc,
                                   const char **retry_after)
{
	if (*rc)
		return !req->sink_err && !req->range_mismatch && coco_http_retryable(req->cc);
	*retry_after = resp->retry_after;
	if (resp->status == 200 || resp->status == 206)
		return false;
	if (resp->status != 429 && resp->status < 500) {
		*rc = coco_reg_status_error(r, resp, what);
		return false;
	}
	*rc = coco_seterr(r->ctx, COCOIMG_ENET, "%s: HTTP %ld", what, resp->status);
	return true;
}

static int src_get_blob(coco_src *s, const coco_desc *d, coco_stage *sink)
{
	reg_src *rs = s->impl;
	coco_reg *r = rs->reg;
	cocoimg_ctx *ctx = s->ctx;
	coco_digest_alg alg;
	if (!d || !d->digest || coco_digest_validate(d->digest, &alg))
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: malformed blob digest", rs->name);
	bool layer = blob_is_layer(d->media_type);
	char *what = coco_asprintf("%s %s in %s", layer ? "layer" : "blob", d->digest, rs->name);
	char *url = coco_reg_url(r, "blobs/%s", d->digest);
	if (!what || !url) {
		free(what);
		free(url);
		return coco_oom(ctx);
	}
	uint64_t delivered = 0, at_last_failure = 0;
	unsigned attempt = 0, failures = 0;
	uint64_t total = d->size > 0 ? (uint64_t)d->size : 0;
	coco_http_resp resp = { .content_length = -1 };
	int rc;
	for (;;) {
		coco_http_req req = {
			.method = "GET", .url = url, .sink = sink, .delivered = &delivered,
			.small = !layer && total && total <= COCO_SMALL_BLOB,
		};
		rc = coco_reg_request(r, &req, rs->scope, what, &resp);
		const char *retry_after = NULL;
		if (!blob_attempt_transient(r, &req, &resp, what, &rc, &retry_after))
			break;
		/* A cut after real progress is resumed without using up a
		 * retry (containers/image: at least 1 MiB since the previous
		 * reconnect); otherwise count it. */
		if (delivered - at_last_failure >= (1u << 20) && failures < 1000)
			attempt = 0;
		if (attempt >= (unsigned)r->retries)
			break;
		failures++;
		at_last_failure = delivered;
		char *why = coco_strdup(cocoimg_ctx_last_error(ctx));
		int brc = coco_http_backoff(ctx, attempt++, retry_after, "%s: %s, resuming at byte %llu",
		                            what, why ? why : "transfer cut",
		                            (unsigned long long)delivered);
		free(why);
		if (brc) {
			rc = brc;
			break;
		}
		coco_clearerr(ctx);
	}
	coco_http_resp_clear(&resp);
	if (!rc) {
		rc = coco_stage_finish(sink);
	}
	free(url);
	free(what);
	return rc;
}

static void src_close(coco_src *s)
{
	coco_reg_repo_close(s->ctx, s->impl);
}

static const struct coco_src_ops reg_src_ops = {
	.get_manifest = src_get_manifest,
	.get_blob = src_get_blob,
	.list_referrers = coco_registry_referrers,
	.close = src_close,
};

int coco_registry_src_open(cocoimg_ctx *ctx, coco_ref *ref, const char *side, coco_src **out)
{
	*out = NULL;
	if (!ref || ref->transport != COCO_TR_DOCKER) {
		coco_ref_free(ref);
		return coco_seterr(ctx, COCOIMG_EINVAL, "not a docker:// reference");
	}
	coco_src *s = NULL;
	int rc = coco_src_new(ctx, &reg_src_ops, ref, side, sizeof(reg_src), &s);
	if (!rc)
		rc = coco_reg_repo_open(ctx, side, &ref->docker, "pull", s->impl);
	if (rc) {
		/* the ref is ours on failure too (coco_src_open_ref hands it over) */
		coco_src_close(s);
		return rc;
	}
	*out = s;
	return 0;
}
