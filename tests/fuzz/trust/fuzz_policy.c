/* Fuzz policy.json parsing and evaluation (no signatures, no files). */
#include "base.h"
#include "json.h"
#include "ref.h"
#include "trust/policy.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cocoimg_ctx *ctx = NULL;
	if (cocoimg_ctx_new(&ctx))
		return 0;
	coco_policy *p = NULL;
	if (coco_policy_parse(ctx, data, size, "fuzz", &p) == 0) {
		static const char *const images[] = { "docker://registry.example.com:5000/team/app:1",
		                                      "docker://busybox", "oci:/tmp/layout:tag" };
		for (size_t i = 0; i < 3; i++) {
			coco_trust_image im;
			if (coco_trust_image_init(ctx, &im, images[i]) == 0) {
				im.manifest = (const unsigned char *)"{}";
				im.manifest_len = 2;
				json_t *rep = NULL;
				coco_policy_evaluate(ctx, p, &im, NULL, 1, &rep);
				json_decref(rep);
			}
			coco_trust_image_clear(&im);
		}
		coco_policy_free(p);
	}
	/* the same bytes as a docker reference */
	char *s = coco_strndup((const char *)data, size);
	if (s) {
		coco_dref r;
		const char *err;
		if (coco_dref_parse_named(s, COCO_DREF_NORMALIZE, &r, &err) == 0) {
			coco_trust_strv_free(coco_docker_namespaces(&r));
			coco_dref_clear(&r);
		}
		coco_remap_prefix_valid(s);
		free(s);
	}
	cocoimg_ctx_free(ctx);
	return 0;
}
