/*
 * Reading verified documents from an image source (resolve.c): the image
 * manifest it names (through indexes to the platform's instance), any
 * manifest or small blob by descriptor, each checked against its digest.
 * For the operations layer.  Not installed.
 */
#ifndef COCO_OCI_RESOLVE_H
#define COCO_OCI_RESOLVE_H

#include "oci.h"
#include "../base.h"
#include "../caps.h"
#include "../digest.h"
#include "../transport.h"

/*
 * Resolve the image a source names to one image manifest: fetch the top
 * manifest, and if it is an index select the platform instance.  Returns
 * both (index may be NULL) with their digests.  Verifies the instance
 * digest.
 */
typedef struct coco_resolved {
	coco_buf top_raw;          /* bytes of the top manifest */
	char *top_media_type;
	char top_digest[COCO_DIGEST_STRLEN];
	coco_manifest *top;        /* parsed top (index or image) */
	coco_buf raw;              /* the image manifest bytes */
	char *media_type;
	char digest[COCO_DIGEST_STRLEN];
	coco_manifest *image;      /* the image manifest (== top if no index) */
} coco_resolved;

int coco_resolve(coco_src *s, const coco_platform *p, coco_resolved *out);
void coco_resolved_clear(coco_resolved *r);

/* Fetch the manifest or index descriptor d names, check digest and size
 * against d, parse it (d->media_type as hint).  *media_type receives the
 * effective media type; digest the computed digest. */
int coco_fetch_manifest(coco_src *s, const coco_desc *d, coco_buf *raw, char **media_type,
                        char digest[COCO_DIGEST_STRLEN], coco_manifest **out);

/* Fetch a small blob (config, signature) fully into memory, verified;
 * one larger than the cap (max-config-size, ...) is refused naming it. */
int coco_fetch_small_blob(coco_src *s, const coco_desc *d, coco_limit_id cap, coco_buf *out);
/* The same with a plain byte limit (the caller checked its cap). */
int coco_fetch_blob_mem(coco_src *s, const coco_desc *d, size_t max, coco_buf *out);


#endif
