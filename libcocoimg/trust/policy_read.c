/*
 * The one way trust/ reads a file a policy names: through the reader the
 * operation installed (which also resolves resource URIs such as
 * kbs:///R/T/G), or from the local file system when there is none.
 * trust/ never learns where the bytes came from.
 */
#include "base.h"
#include "trust/policy.h"

int coco_trust_read_path(cocoimg_ctx *ctx, const coco_trust_reader *r, const char *path,
                         size_t max, coco_buf *out)
{
	if (r && r->read)
		return r->read(r->payload, ctx, path, max, out);
	return coco_read_file(ctx, path, max, out, COCOIMG_ECONFIG);
}
