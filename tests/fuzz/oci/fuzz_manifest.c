/* Fuzz target: manifest / index parsing, serialisation, platform selection. */
#include "base.h"
#include "oci/oci.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const hints[] = { NULL, COCO_MT_OCI_MANIFEST, COCO_MT_OCI_INDEX,
		COCO_MT_DOCKER_MANIFEST, COCO_MT_DOCKER_LIST };
	cocoimg_ctx *ctx;
	if (cocoimg_ctx_new(&ctx))
		return 0;
	const char *hint = hints[size % COCO_ARRAY_SIZE(hints)];
	coco_manifest *m = NULL;
	if (!coco_manifest_parse(ctx, data, size, hint, &m)) {
		size_t len;
		char *out = coco_manifest_serialize(m, &len);
		/* what we write parses again */
		coco_manifest *m2 = NULL;
		if (out && coco_manifest_parse(ctx, out, len, m->media_type, &m2))
			abort();
		coco_manifest_free(m2);
		free(out);
		if (m->kind == COCO_KIND_INDEX) {
			size_t w;
			coco_platform p = { "linux", "arm", "v7", NULL };
			if (!coco_index_select(ctx, m, &p, &w) && w >= m->n_manifests)
				abort();
			coco_index_select(ctx, m, NULL, &w);
		}
		for (size_t i = 0; i < m->n_layers; i++) {
			coco_mt_compression(m->layers[i].media_type);
			coco_mt_is_encrypted(m->layers[i].media_type);
		}
		coco_manifest_free(m);
	}
	cocoimg_ctx_free(ctx);
	return 0;
}
