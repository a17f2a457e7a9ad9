/*
 * The oci: and oci-archive: transports (layout.c, archive.c): an OCI image
 * layout directory or tar archive as an image source or destination.  For
 * the operations layer (image*.c) and the registry's tests; not for
 * trust/, crypt/ or unpack/.  Not installed.
 */
#ifndef COCO_OCI_LAYOUT_H
#define COCO_OCI_LAYOUT_H

#include "../base.h"
#include "../ref.h"
#include "../transport.h"

/* The oci: and oci-archive: transports (layout.c, archive.c). */
int coco_oci_src_open(cocoimg_ctx *ctx, coco_ref *ref, const char *side, coco_src **out);
int coco_oci_dest_open(cocoimg_ctx *ctx, coco_ref *ref, coco_dest **out);
int coco_ociarchive_src_open(cocoimg_ctx *ctx, coco_ref *ref, const char *side,
                             coco_src **out);
int coco_ociarchive_dest_open(cocoimg_ctx *ctx, coco_ref *ref, coco_dest **out);

#endif
