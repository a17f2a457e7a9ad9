/*
 * libcocoimg broker/: confidential-data-hub client over ttrpc (see cdh.h).
 * Service, method and field names: confidential-containers/
 * guest-components confidential-data-hub/hub/protos/api.proto (commit
 * 15a3b37f) and keyprovider.proto (commit 739ed686).
 */
#include "cdh.h"
#include "keyprovider.h"
#include "resource_uri.h"
#include "ttrpc.h"
#include "../json.h"

#include <stdlib.h>
#include <string.h>

struct coco_cdh {
	char *path;
	long timeout;
};

int coco_cdh_new(cocoimg_ctx *ctx, const char *addr, coco_cdh **out)
{
	*out = NULL;
	coco_cdh *c = calloc(1, sizeof(*c));
	if (!c)
		return coco_oom(ctx);
	c->path = coco_ttrpc_socket_path(ctx, addr);
	if (!c->path) {
		free(c);
		return ctx ? ctx->err_code : COCOIMG_EINVAL;
	}
	c->timeout = 60;
	*out = c;
	return 0;
}

void coco_cdh_set_timeout(coco_cdh *cdh, long seconds)
{
	cdh->timeout = seconds < 0 ? 0 : seconds;
}

const char *coco_cdh_path(const coco_cdh *cdh)
{
	return cdh->path;
}

void coco_cdh_free(coco_cdh *cdh)
{
	if (!cdh)
		return;
	free(cdh->path);
	free(cdh);
}

/* Call service/method with one bytes field 1 and return the answer's
 * bytes field 1 in out. */
static int cdh_call(coco_cdh *cdh, cocoimg_ctx *ctx, const char *service, const char *method,
                    const void *in, size_t in_len, coco_buf *out)
{
	coco_buf req = COCO_BUF_INIT, resp = COCO_BUF_INIT;
	int rc = coco_pb_put_bytes(&req, 1, in, in_len) ? coco_oom(ctx) : 0;
	if (!rc)
		rc = coco_ttrpc_call(ctx, cdh->path, service, method, req.data, req.len,
		                     cdh->timeout * 1000, &resp);
	const unsigned char *v = NULL;
	size_t n = 0;
	if (!rc && coco_pb_get_bytes(resp.data, resp.len, 1, &v, &n))
		rc = coco_seterr(ctx, COCOIMG_EBADIMAGE, "CDH at %s: malformed %s answer",
		                 cdh->path, method);
	if (!rc && n && coco_buf_append(out, v, n))
		rc = coco_oom(ctx);
	coco_buf_wipe_free(&req);
	coco_buf_wipe_free(&resp);
	return rc;
}

int coco_cdh_get_resource(coco_cdh *cdh, cocoimg_ctx *ctx, const char *uri, coco_buf *out)
{
	char *norm = coco_ruri_normalize(ctx, uri, COCO_RURI_KID);
	if (!norm)
		return ctx ? ctx->err_code : COCOIMG_EINVAL;
	int rc = cdh_call(cdh, ctx, COCO_CDH_RESOURCE_SERVICE, COCO_CDH_RESOURCE_METHOD, norm,
	                  strlen(norm), out);
	if (rc)
		coco_preferr(ctx, rc, "%s from CDH", norm);
	free(norm);
	return rc;
}

int coco_cdh_packet_normalize(cocoimg_ctx *ctx, const unsigned char *packet, size_t len,
                              coco_buf *out)
{
	json_t *doc = NULL;
	const char *kid = NULL;
	int rc = coco_json_parse(ctx, packet, len, "annotation packet", COCOIMG_EBADIMAGE, &doc);
	if (!rc)
		rc = coco_json_str(ctx, doc, "kid", "annotation packet", COCOIMG_EBADIMAGE, &kid);
	char *norm = rc ? NULL : coco_ruri_normalize(ctx, kid, COCO_RURI_KID);
	if (!rc && !norm)
		rc = ctx ? ctx->err_code : COCOIMG_EINVAL;
	if (!rc && json_object_set_new(doc, "kid", json_string(norm)))
		rc = coco_oom(ctx);
	char *text = rc ? NULL : coco_json_dump(doc);
	if (!rc && (!text || coco_buf_append(out, text, strlen(text))))
		rc = coco_oom(ctx);
	if (text)
		coco_free_secret(text, strlen(text));
	free(norm);
	json_decref(doc);
	return rc;
}

int coco_cdh_unwrap_key(coco_cdh *cdh, cocoimg_ctx *ctx, const unsigned char *packet, size_t len,
                        coco_buf *out)
{
	coco_buf pkt = COCO_BUF_INIT, req = COCO_BUF_INIT, resp = COCO_BUF_INIT;
	int rc = coco_cdh_packet_normalize(ctx, packet, len, &pkt);
	if (!rc && coco_kp_build_request("attestation-agent", NULL, 0, false, pkt.data, pkt.len,
	                                 &req))
		rc = coco_oom(ctx);
	if (!rc)
		rc = cdh_call(cdh, ctx, COCO_CDH_KEYPROVIDER_SERVICE, COCO_CDH_UNWRAP_METHOD,
		              req.data, req.len, &resp);
	if (!rc)
		rc = coco_kp_parse_response(ctx, "CDH", false, resp.data, resp.len, out);
	coco_buf_wipe_free(&pkt);
	coco_buf_wipe_free(&req);
	coco_buf_wipe_free(&resp);
	return rc;
}
