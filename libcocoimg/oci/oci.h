/*
 * The OCI image format: layouts and archives as transports, resolving a
 * source to one image manifest, and Docker-to-OCI conversion.  Not
 * installed.
 */
#ifndef COCO_OCI_H
#define COCO_OCI_H

#include "../transport.h"

/* The oci: and oci-archive: transports (layout.c, archive.c). */
int coco_oci_src_open(cocoimg_ctx *ctx, coco_ref *ref, const char *side, coco_src **out);
int coco_oci_dest_open(cocoimg_ctx *ctx, coco_ref *ref, coco_dest **out);
int coco_ociarchive_src_open(cocoimg_ctx *ctx, coco_ref *ref, const char *side,
                             coco_src **out);
int coco_ociarchive_dest_open(cocoimg_ctx *ctx, coco_ref *ref, coco_dest **out);

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

/*
 * convert.c: a Docker image config as containers/image converts it to an
 * OCI image config (decoded into the image-spec Image struct and encoded
 * again, Docker-only fields dropped).  *out (caller frees) holds *outlen
 * bytes.  COCOIMG_EBADIMAGE with a message naming the field.
 */
int coco_oci_convert_config(cocoimg_ctx *ctx, const coco_buf *raw, char **out, size_t *outlen);
/* convert.c: descriptor object in as the image-spec Descriptor struct
 * writes it (Go field order, null members dropped), with its mediaType
 * replaced by media_type when not NULL.  New object; NULL when out of
 * memory. */
json_t *coco_oci_convert_desc(json_t *in, const char *media_type);

#endif
