/*
 * Opening a source or destination for an image reference: picks the back
 * end (registry/, oci/) by transport.  Operations layer.  Not installed.
 */
#ifndef COCO_IMAGE_OPEN_H
#define COCO_IMAGE_OPEN_H

#include "base.h"
#include "ref.h"
#include "transport.h"

/* Open a source for any transport (dispatches to oci/ or registry/). */
int coco_src_open(cocoimg_ctx *ctx, const char *ref, const char *side, coco_src **out);
int coco_src_open_ref(cocoimg_ctx *ctx, coco_ref *ref /* taken */, const char *side,
                      coco_src **out);
/* Open a destination for any transport. */
int coco_dest_open(cocoimg_ctx *ctx, const char *ref, coco_dest **out);

#endif
