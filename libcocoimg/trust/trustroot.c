/*
 * trusted_root.json (sigstore/protobuf-specs TrustedRoot) -- work in progress.
 */
#include "sigstore.h"

#include <stdlib.h>

int coco_trustroot_new(cocoimg_ctx *ctx, coco_trustroot **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : coco_oom(ctx);
}

int coco_trustroot_parse(cocoimg_ctx *ctx, const void *json, size_t len, coco_trustroot **out)
{
	(void)json;
	(void)len;
	*out = NULL;
	return coco_seterr(ctx, COCOIMG_EUNSUPPORTED, "trusted_root.json: not supported yet");
}

int coco_trustroot_load(cocoimg_ctx *ctx, const char *path, coco_trustroot **out)
{
	(void)path;
	return coco_trustroot_parse(ctx, NULL, 0, out);
}

int coco_trustroot_add_ca_pem(cocoimg_ctx *ctx, coco_trustroot *tr, const void *pem, size_t len)
{
	(void)tr;
	(void)pem;
	(void)len;
	return coco_seterr(ctx, COCOIMG_EUNSUPPORTED, "Fulcio CA: not supported yet");
}

int coco_trustroot_add_tlog_key(cocoimg_ctx *ctx, coco_trustroot *tr, EVP_PKEY *key)
{
	(void)tr;
	(void)key;
	return coco_seterr(ctx, COCOIMG_EUNSUPPORTED, "Rekor key: not supported yet");
}

void coco_trustroot_free(coco_trustroot *tr)
{
	free(tr);
}
