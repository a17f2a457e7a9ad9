/*
 * libcocoimg broker/: evidence from the attestation agent over ttrpc (see
 * aa.h).  Names and fields: confidential-containers/guest-components
 * attestation-agent/protos/attestation-agent.proto (commit 03ed98fe).
 */
#include "aa.h"
#include "ttrpc.h"

#include <stdlib.h>
#include <string.h>

#define AA_TIMEOUT_MS 60000

static int aa_call(cocoimg_ctx *ctx, const char *path, const char *method, const coco_buf *req,
                   const unsigned char **v, size_t *n, coco_buf *resp)
{
	int rc = coco_ttrpc_call(ctx, path, COCO_AA_SERVICE, method, req->data, req->len,
	                         AA_TIMEOUT_MS, resp);
	if (rc)
		return coco_preferr(ctx, rc, "attester aa");
	if (coco_pb_get_bytes(resp->data, resp->len, 1, v, n))
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "attester aa at %s: malformed %s answer",
		                   path, method);
	return 0;
}

static int aa_tee(cocoimg_ctx *ctx, void *state, char tee[COCO_TEE_MAX])
{
	coco_buf req = COCO_BUF_INIT, resp = COCO_BUF_INIT;
	const unsigned char *v;
	size_t n;
	int rc = aa_call(ctx, state, "GetTeeType", &req, &v, &n, &resp);
	if (!rc) {
		char name[COCO_TEE_MAX] = "";
		if (n < sizeof(name))
			memcpy(name, v, n);
		if (n >= sizeof(name) || !coco_tee_name_ok(name))
			rc = coco_seterr(ctx, COCOIMG_EBADIMAGE,
			                 "attester aa at %s: GetTeeType answered no valid TEE name",
			                 (const char *)state);
		else
			strcpy(tee, name);
	}
	coco_buf_free(&resp);
	return rc;
}

static int aa_evidence(cocoimg_ctx *ctx, void *state, const unsigned char *rd, size_t len,
                       coco_buf *out, char tee[COCO_TEE_MAX])
{
	coco_buf req = COCO_BUF_INIT, resp = COCO_BUF_INIT;
	const unsigned char *v = NULL;
	size_t n = 0;
	int rc = coco_pb_put_bytes(&req, 1, rd, len) ? coco_oom(ctx) : 0;
	if (!rc)
		rc = aa_call(ctx, state, "GetEvidence", &req, &v, &n, &resp);
	if (!rc && !n)
		rc = coco_seterr(ctx, COCOIMG_EBADIMAGE, "attester aa at %s: empty evidence",
		                 (const char *)state);
	if (!rc && coco_buf_append(out, v, n))
		rc = coco_oom(ctx);
	coco_buf_wipe_free(&req);
	coco_buf_wipe_free(&resp);
	if (!rc)
		rc = aa_tee(ctx, state, tee);
	return rc;
}

static const coco_attester_ops aa_ops = { "aa", aa_tee, aa_evidence, free };

int coco_attester_aa(cocoimg_ctx *ctx, const char *addr, coco_attester **out)
{
	*out = NULL;
	char *path = coco_ttrpc_socket_path(ctx, addr);
	if (!path)
		return ctx ? ctx->err_code : COCOIMG_EINVAL;
	return coco_attester_new(ctx, &aa_ops, path, out);
}
