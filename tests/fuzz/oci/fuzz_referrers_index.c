/* Fuzz the referrers tag schema's writer: the input is the index a
 * registry or layout holds at the tag (untrusted), the referrer a fixed
 * manifest with a subject.  The result must be an OCI index listing the
 * referrer once. */
#include "base.h"
#include "json.h"
#include "oci/oci.h"
#include "oci/referrers_index.h"

#include <string.h>

static const char referrer[] =
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	"\"config\":{\"mediaType\":\"application/vnd.oci.empty.v1+json\",\"size\":2,\"digest\":"
	"\"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\"},"
	"\"layers\":[],\"annotations\":{\"a\":\"b\"},\"subject\":{\"mediaType\":"
	"\"application/vnd.oci.image.manifest.v1+json\",\"size\":1,\"digest\":"
	"\"sha256:0000000000000000000000000000000000000000000000000000000000000000\"},"
	"\"artifactType\":\"application/x\"}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cocoimg_ctx *ctx;
	if (cocoimg_ctx_new(&ctx))
		return 0;
	coco_buf out = COCO_BUF_INIT;
	bool added = false;
	int rc = coco_referrers_index_add(ctx, data, size, "fuzz", referrer, strlen(referrer),
	                                  COCO_MT_OCI_MANIFEST, &out, &added);
	if (rc == 0 && added) {
		json_t *j = json_loadb((const char *)out.data, out.len, 0, NULL);
		json_t *mt = json_object_get(j, "mediaType");
		if (!json_is_string(mt) || strcmp(json_string_value(mt), COCO_MT_OCI_INDEX) ||
		    !json_is_array(json_object_get(j, "manifests")))
			__builtin_trap();
		json_decref(j);
	}
	coco_buf_free(&out);
	cocoimg_ctx_free(ctx);
	return 0;
}
