/* Fuzz registries.d YAML parsing and the lookaside lookup. */
#include "base.h"
#include "ref.h"
#include "trust/policy.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cocoimg_ctx *ctx = NULL;
	if (cocoimg_ctx_new(&ctx))
		return 0;
	coco_regd *rd = coco_regd_new();
	if (rd && coco_regd_add_yaml(ctx, rd, data, size, "fuzz.yaml") == 0) {
		coco_dref r;
		const char *err;
		if (coco_dref_parse_named("registry.example.com/team/app:1", COCO_DREF_NORMALIZE, &r, &err) == 0) {
			free(coco_regd_lookaside(rd, &r));
			coco_regd_use_sigstore_attachments(rd, &r);
			coco_dref_clear(&r);
		}
	}
	coco_regd_free(rd);
	cocoimg_ctx_free(ctx);
	return 0;
}
