/*
 * cocoimg_registry_login: are the credentials the context holds for a
 * registry accepted by it?  One authenticated GET of /v2/ (Basic, or a
 * token fetched with the credentials, as `docker login` does).
 * Operations layer; writing an auth file is the caller's business.
 */
#include "api.h"
#include "base.h"
#include "ref.h"
#include "registry/registry.h"

#include <stdlib.h>
#include <string.h>

/* "HOST[:PORT][/NAMESPACE]" with an optional docker:// in front. */
static int parse_registry(cocoimg_ctx *ctx, const char *registry, coco_dref *d)
{
	const char *s = !strncmp(registry, "docker://", 9) ? registry + 9 : registry;
	size_t n = strcspn(s, "/");
	if (!n)
		return coco_seterr(ctx, COCOIMG_EINVAL, "login: no registry given");
	char *probe = coco_asprintf("%.*s/coco-img-login", (int)n, s);
	if (!probe)
		return coco_oom(ctx);
	int rc = coco_dref_parse(ctx, probe, d);
	free(probe);
	return rc;
}

COCOIMG_API int cocoimg_registry_login(cocoimg_ctx *ctx, const char *registry)
{
	COCO_API_ENTER(ctx);
	if (!registry)
		return coco_seterr(ctx, COCOIMG_EINVAL, "login: no registry given");
	coco_dref d = { 0 };
	coco_reg *r = NULL;
	int rc = parse_registry(ctx, registry, &d);
	if (!rc)
		rc = coco_reg_open(ctx, "src", &d, &r);
	if (!rc && !r->creds.user && !r->creds.bearer)
		rc = coco_seterr(ctx, COCOIMG_EINVAL, "login %s: no credentials given", registry);
	char *url = NULL;
	if (!rc) {
		rc = coco_reg_ping(r);
		url = rc ? NULL : coco_strdup(r->base);
		if (!rc && !url)
			rc = coco_oom(ctx);
	}
	if (!rc) {
		coco_http_req req = { .method = "GET", .url = url };
		coco_http_resp resp;
		memset(&resp, 0, sizeof(resp));
		rc = coco_reg_request(r, &req, NULL, registry, &resp);
		if (!rc && resp.status != 200)
			rc = coco_reg_status_error(r, &resp, registry);
		if (!rc && resp.auth_sent == COCO_AUTH_NONE)
			coco_debug(ctx, "login %s: the registry asks for no credentials", registry);
		coco_http_resp_clear(&resp);
	}
	free(url);
	coco_reg_free(r);
	coco_dref_clear(&d);
	return rc;
}
