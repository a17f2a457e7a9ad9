/*
 * require-encrypted (ctx option, --require-encrypted): an image any of
 * whose layers is not encrypted is refused (COCOIMG_EPOLICY, exit 3)
 * before anything is fetched, applied or written, so a host cannot swap
 * an encrypted image for a plaintext one.  Operations layer.  Not
 * installed.
 */
#ifndef COCO_IMAGE_PLAIN_H
#define COCO_IMAGE_PLAIN_H

#include "base.h"
#include "oci/oci.h"
#include "transport.h"

/* 0 when the option is off or every layer of the image manifest man is
 * encrypted; else COCOIMG_EPOLICY naming ref and the first plaintext
 * layer. */
int coco_op_require_encrypted(cocoimg_ctx *ctx, const coco_manifest *man, const char *ref);

/* The same for an image manifest or an index: every image an index
 * lists (nested indexes too) is fetched from src and checked. */
int coco_op_require_encrypted_tree(cocoimg_ctx *ctx, coco_src *src, const coco_manifest *m,
                                   const char *ref);

#endif
