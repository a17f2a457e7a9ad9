/* Fuzz target: image reference parsing and normalisation. */
#include "base.h"
#include "ref.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 8192)
		return 0;
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	cocoimg_ctx *ctx;
	if (cocoimg_ctx_new(&ctx)) {
		free(s);
		return 0;
	}
	coco_ref *r = NULL;
	if (!coco_ref_parse(ctx, s, &r)) {
		char *canon = coco_ref_string(r);
		/* the canonical form parses back to itself */
		coco_ref *r2 = NULL;
		if (canon && !coco_ref_parse(ctx, canon, &r2)) {
			char *c2 = coco_ref_string(r2);
			if (!c2 || strcmp(c2, canon))
				abort();
			free(c2);
		} else if (canon) {
			abort();
		}
		coco_ref_free(r2);
		free(canon);
		coco_ref_free(r);
	}
	coco_dref d;
	if (!coco_dref_parse(ctx, s, &d)) {
		char *repo = coco_dref_repo(&d);
		free(repo);
		coco_dref_clear(&d);
	}
	cocoimg_ctx_free(ctx);
	free(s);
	return 0;
}
