/*
 * Signing images (operations layer): image_sign.c writes cosign's legacy
 * `sha256-<hex>.sig` attachments, image_sign_bundle.c cosign v3's Sigstore
 * bundles as OCI 1.1 referrers.  Shared helpers of the two.  Not installed.
 */
#ifndef COCO_IMAGE_SIGN_H
#define COCO_IMAGE_SIGN_H

#include "base.h"
#include "ref.h"
#include "transport.h"

#include <jansson.h>
#include <openssl/evp.h>

/* Store bytes as a blob of d unless it is there already. */
int coco_sign_put_bytes(coco_dest *d, const void *data, size_t len, const char *digest);
/* A destination for the sibling `tag` of the image's repository / layout. */
int coco_sign_open_dest(cocoimg_ctx *ctx, const coco_ref *image_ref, const char *tag,
                        coco_dest **d);

/*
 * Sign manifest `digest` (its media type and size: the subject's
 * descriptor) as cosign v3 does: push the bundle and its referrer manifest
 * to the image's repository or layout and, where the destination keeps no
 * referrers list itself, add the referrer to the referrers tag schema's
 * index (created or updated, existing entries kept).  Appends a report
 * entry to sigs.
 */
int coco_sign_bundle_v3(cocoimg_ctx *ctx, const coco_ref *ref, EVP_PKEY *key, const char *digest,
                        const char *subject_mt, int64_t subject_size, json_t *sigs);

#endif
