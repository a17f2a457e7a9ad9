/*
 * The referrers of a manifest in a registry (docker:// sources'
 * list_referrers), as OCI distribution-spec v1.1.0 defines the lookup:
 *
 *  - `GET /v2/<name>/referrers/<digest>[?artifactType=<type>]` answers 200
 *    with an image index (application/vnd.oci.image.index.v1+json) listing
 *    the manifests whose subject is <digest>; an empty list when there are
 *    none: a registry that has the API never answers 404 for it.  A filter
 *    the registry applied is named in `OCI-Filters-Applied: artifactType`;
 *    without that header the client filters.  A long list comes in pages,
 *    the next one named by a `Link: <URL>; rel="next"` field.
 *  - A 404 means the registry has no referrers API.  The client then reads
 *    the referrers tag schema: the manifest tagged `<alg>-<hex>` (algorithm
 *    cut to 32, hex to 64 characters) is an image index of the same shape,
 *    kept up to date by whoever pushed a referrer; a 404 there means no
 *    referrers at all.
 *
 * docker-registry (distribution) 2.8 has no referrers API: there the tag
 * schema is what cosign v3 and `coco-img sign --bundle-format=v3` write.
 * Other answers (401/403, 5xx after the retries) are lookup failures, not
 * "no referrers".  The lists are parsed by oci/referrers.c.
 */
#include "registry.h"
#include "../base.h"
#include "../caps.h"
#include "../oci/oci.h"
#include "../oci/referrers.h"
#include "../transport.h"

#include <stdlib.h>
#include <string.h>

#define ACCEPT_INDEX "Accept: " COCO_MT_OCI_INDEX

typedef struct ref_job {
	coco_src *s;
	coco_reg *r;
	char *scope;
	const char *digest;
	const char *artifact_type;
	coco_referrers *out;
} ref_job;

/* One GET of url with an index Accept header; resp receives the answer. */
static int get_index(ref_job *j, const char *url, const char *what, coco_http_resp *resp)
{
	struct curl_slist *h = curl_slist_append(NULL, ACCEPT_INDEX);
	if (!h)
		return coco_oom(j->s->ctx);
	coco_http_req req = { .method = "GET", .url = url, .headers = h,
	                      .max_body = coco_limit_size(j->s->ctx, COCO_LIM_MANIFEST_SIZE),
	                      .max_key = coco_limit_key(COCO_LIM_MANIFEST_SIZE) };
	int rc = coco_reg_request(j->r, &req, j->scope, what, resp);
	curl_slist_free_all(h);
	return rc;
}

/* The URL in a `Link: <URL>; rel="next"` value, resolved against base and
 * kept on the registry's origin (credentials go nowhere else).  NULL with
 * an error on ctx when it is malformed or elsewhere. */
static char *next_page(ref_job *j, const char *base, const char *link)
{
	const char *lt = strchr(link, '<'), *gt = lt ? strchr(lt, '>') : NULL;
	if (!gt) {
		coco_seterr(j->s->ctx, COCOIMG_EBADIMAGE, "referrers: malformed Link field \"%.200s\"",
		            link);
		return NULL;
	}
	char *rel = coco_strndup(lt + 1, (size_t)(gt - lt - 1));
	char *u = rel ? coco_url_resolve(base, rel) : NULL;
	free(rel);
	if (!u) {
		coco_oom(j->s->ctx);
		return NULL;
	}
	if (!coco_streq_free(coco_url_origin(u), coco_url_origin(base))) {
		coco_seterr(j->s->ctx, COCOIMG_EBADIMAGE, "referrers: the next page is on another "
		            "origin (%.200s)", u);
		free(u);
		return NULL;
	}
	return u;
}

/* One page of the referrers API at url (page 0 first): 1 when the
 * registry has no API (404 on the first page), 0 with *next set to the
 * following page's URL or NULL, <0 on failure. */
static int api_page(ref_job *j, const char *url, unsigned page, char **next)
{
	cocoimg_ctx *ctx = j->s->ctx;
	*next = NULL;
	coco_http_resp resp = { .content_length = -1 };
	int rc = get_index(j, url, "referrers list", &resp);
	if (!rc && page == 0 && resp.status == 404)
		rc = 1;
	else if (!rc && resp.status != 200)
		rc = coco_reg_status_error(j->r, &resp, "referrers list");
	else if (!rc && page >= COCO_REFERRERS_MAX_PAGES)
		rc = coco_seterr(ctx, COCOIMG_EBADIMAGE, "referrers of %s: more than %d pages",
		                 j->digest, COCO_REFERRERS_MAX_PAGES);
	if (!rc) {
		/* filter ourselves unless the registry says it did */
		bool filtered = resp.filters_applied && strstr(resp.filters_applied, "artifactType");
		rc = coco_referrers_parse(ctx, resp.body.data, resp.body.len,
		                          filtered ? NULL : j->artifact_type, "referrers API", j->out);
	}
	if (!rc && resp.link_next && !(*next = next_page(j, url, resp.link_next)))
		rc = COCOIMG_EBADIMAGE;
	coco_http_resp_clear(&resp);
	return rc;
}

/* The referrers API, page after page.  1 when the registry has none (404:
 * use the tag schema), 0 when listed, <0 on failure. */
static int from_api(ref_job *j)
{
	char *q = j->artifact_type ? coco_url_escape(j->artifact_type) : NULL;
	char *url = coco_reg_url(j->r, "referrers/%s%s%s", j->digest, q ? "?artifactType=" : "",
	                         q ? q : "");
	free(q);
	if (!url)
		return coco_oom(j->s->ctx);
	int rc = 0;
	for (unsigned page = 0; !rc && url; page++) {
		char *next = NULL;
		rc = api_page(j, url, page, &next);
		free(url);
		url = next;
	}
	free(url);
	return rc;
}

/* The referrers tag schema: the index tagged <alg>-<hex>, if any. */
static int from_tag(ref_job *j)
{
	cocoimg_ctx *ctx = j->s->ctx;
	char *tag = coco_referrers_tag(j->digest);
	if (!tag)
		return coco_seterr(ctx, COCOIMG_EINVAL, "malformed digest \"%.150s\"", j->digest);
	char *url = coco_reg_url(j->r, "manifests/%s", tag);
	char *what = coco_asprintf("referrers tag %s", tag);
	free(tag);
	coco_http_resp resp = { .content_length = -1 };
	int rc = url && what ? get_index(j, url, what, &resp) : coco_oom(ctx);
	if (!rc && resp.status != 404) {
		if (resp.status != 200)
			rc = coco_reg_status_error(j->r, &resp, what);
		else
			rc = coco_referrers_parse(ctx, resp.body.data, resp.body.len, j->artifact_type,
			                          "referrers tag", j->out);
	}
	coco_http_resp_clear(&resp);
	free(url);
	free(what);
	return rc;
}

int coco_registry_referrers(coco_src *s, const char *digest, const char *artifact_type,
                            coco_referrers *out)
{
	coco_digest_alg alg;
	if (!digest || coco_digest_validate(digest, &alg))
		return coco_seterr(s->ctx, COCOIMG_EINVAL, "referrers: malformed digest \"%.150s\"",
		                   digest ? digest : "");
	ref_job j = { .s = s, .r = coco_registry_src_client(s), .digest = digest,
	              .artifact_type = artifact_type, .out = out };
	if (!j.r)
		return coco_seterr(s->ctx, COCOIMG_EINVAL, "referrers: not a registry source");
	j.scope = coco_asprintf("repository:%s:pull", s->ref->docker.path);
	if (!j.scope)
		return coco_oom(s->ctx);
	int rc = from_api(&j);
	if (rc == 1) {
		coco_debug(s->ctx, "referrers of %s: no referrers API (404), reading the referrers tag",
		           digest);
		rc = from_tag(&j);
	}
	free(j.scope);
	return rc;
}
