/* oci-archive:FILE[:TAG]: an OCI layout packed as a tar file. */
#include "../internal.h"

int coco_ociarchive_src_open(cocoimg_ctx *ctx, coco_ref *ref, const char *side, coco_src **out)
{
	(void)side;
	*out = NULL;
	coco_ref_free(ref);
	return coco_seterr(ctx, COCOIMG_EUNSUPPORTED, "oci-archive: is not implemented yet");
}

int coco_ociarchive_dest_open(cocoimg_ctx *ctx, coco_ref *ref, coco_dest **out)
{
	*out = NULL;
	coco_ref_free(ref);
	return coco_seterr(ctx, COCOIMG_EUNSUPPORTED, "oci-archive: is not implemented yet");
}
