/* Fuzz the trusted_root.json parser. */
#include "base.h"
#include "trust/sigstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cocoimg_ctx *ctx;
	if (cocoimg_ctx_new(&ctx))
		return 0;
	coco_trustroot *tr = NULL;
	if (coco_trustroot_parse(ctx, data, size, &tr) == 0)
		coco_trustroot_free(tr);
	cocoimg_ctx_free(ctx);
	return 0;
}
