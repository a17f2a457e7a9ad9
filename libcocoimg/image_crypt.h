/*
 * The operations layer's side of crypt/ during a copy, implemented in
 * image_crypt.c.  Not installed.
 */
#ifndef COCO_IMAGE_CRYPT_H
#define COCO_IMAGE_CRYPT_H

#include "base.h"
#include "json.h"
#include "oci/oci.h"
#include "transport.h"

/*
 * Transform (crypt/transform.c decides how) one layer during
 * cocoimg_copy() when opts->crypt_mode != COCOIMG_CRYPT_NONE.  Fetches the
 * blob `in` from src, encrypts/decrypts (or only rewraps keys / leaves it
 * alone, per opts and the layer's index idx of n), stores the result in
 * dst, and returns the descriptor to put in the new manifest (*out_desc,
 * new reference).
 * `report` is a JSON object for this layer the function may add fields to
 * ("encrypted": true, "recipients": [...], ...).  *written gets the bytes
 * stored at the destination (0 when it had the blob already).  Progress
 * is reported per layer with the phase encrypt, decrypt, or upload /
 * download for a layer copied as is.
 */
int coco_crypt_transform_layer(cocoimg_ctx *ctx, const cocoimg_copy_options *opts,
                               coco_src *src, coco_dest *dst, const coco_desc *in,
                               size_t idx, size_t n, json_t **out_desc, json_t *report, uint64_t *written);

#endif
