/*
 * The writer's side of the referrers tag schema (oci/referrers_index.c):
 * the index to push to the tag <alg>-<hex> of a subject after a manifest
 * with that subject was pushed to a registry without the referrers API
 * (or to an OCI layout).  Not installed.
 */
#ifndef COCO_OCI_REFERRERS_INDEX_H
#define COCO_OCI_REFERRERS_INDEX_H

#include "../base.h"

#include <stdbool.h>

/*
 * existing: the index the tag holds now (NULL when there is none), named
 * `tag` in errors.  manifest/mlen/mt: the referrer just pushed (by its
 * SHA-256 digest).  Appends to out the index with one more descriptor for
 * it (mediaType, size, digest, its annotations, its artifactType or else
 * its config's media type), entries sorted by digest, other members and
 * entries kept; *added is false (out untouched) when the referrer is
 * already listed.  COCOIMG_EBADIMAGE when existing is not an OCI image
 * index with schemaVersion 2 (the tag is then left alone).
 */
int coco_referrers_index_add(cocoimg_ctx *ctx, const void *existing, size_t existing_len,
                             const char *tag, const void *manifest, size_t mlen, const char *mt,
                             coco_buf *out, bool *added);

#endif
