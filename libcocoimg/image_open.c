/* Opening a source or destination for a reference: the back end is
 * chosen by transport. */
#include "base.h"
#include "image_broker.h"
#include "image_open.h"
#include "oci/layout.h"
#include "ref.h"
#include "registry/registry.h"
#include "transport.h"

int coco_src_open_ref(cocoimg_ctx *ctx, coco_ref *ref, const char *side, coco_src **out)
{
	coco_op_broker_attach(ctx);   /* an auth file or CA may be a resource URI */
	*out = NULL;
	switch (ref->transport) {
	case COCO_TR_DOCKER:
		return coco_registry_src_open(ctx, ref, side, out);
	case COCO_TR_OCI:
		return coco_oci_src_open(ctx, ref, side, out);
	case COCO_TR_OCI_ARCHIVE:
		return coco_ociarchive_src_open(ctx, ref, side, out);
	}
	coco_ref_free(ref);
	return coco_seterr(ctx, COCOIMG_EINTERNAL, "unknown transport");
}

int coco_src_open(cocoimg_ctx *ctx, const char *refs, const char *side, coco_src **out)
{
	coco_ref *ref;
	*out = NULL;
	int rc = coco_ref_parse(ctx, refs, &ref);
	if (rc)
		return rc;
	return coco_src_open_ref(ctx, ref, side ? side : "src", out);
}

int coco_dest_open(cocoimg_ctx *ctx, const char *refs, coco_dest **out)
{
	coco_op_broker_attach(ctx);
	coco_ref *ref;
	*out = NULL;
	int rc = coco_ref_parse(ctx, refs, &ref);
	if (rc)
		return rc;
	switch (ref->transport) {
	case COCO_TR_DOCKER:
		return coco_registry_dest_open(ctx, ref, out);
	case COCO_TR_OCI:
		return coco_oci_dest_open(ctx, ref, out);
	case COCO_TR_OCI_ARCHIVE:
		return coco_ociarchive_dest_open(ctx, ref, out);
	}
	coco_ref_free(ref);
	return coco_seterr(ctx, COCOIMG_EINTERNAL, "unknown transport");
}
