/*
 * Referrers of a manifest (oci/referrers.c): the OCI 1.1 lists of
 * manifests whose `subject` names a digest, as bytes to parse and as an
 * OCI layout holds them.  The registry's side (the referrers API and its
 * tag-schema fallback over HTTP) is registry/referrers.c; a source offers
 * both through coco_src_ops.list_referrers.  Any module may include this.
 * Not installed.
 */
#ifndef COCO_OCI_REFERRERS_H
#define COCO_OCI_REFERRERS_H

#include "oci.h"
#include "../base.h"
#include "../digest.h"

/* The most referrers kept for one subject: a longer list is refused. */
#define COCO_REFERRERS_MAX 1000
/* The most pages of a paginated referrers API answer followed. */
#define COCO_REFERRERS_MAX_PAGES 64

/* One referrer: a descriptor of a manifest (or index) whose subject is the
 * digest asked for, as the list says it.  The list is not trusted: the
 * reader fetches the manifest by digest and checks its subject itself. */
typedef struct coco_referrer {
	char *media_type;
	char digest[COCO_DIGEST_STRLEN];
	int64_t size;
	char *artifact_type;       /* NULL when the list gives none */
	const char *origin;        /* static: "referrers API", "referrers tag", "index.json" */
} coco_referrer;

typedef struct coco_referrers {
	coco_referrer *v;
	size_t n;
} coco_referrers;

void coco_referrers_clear(coco_referrers *r);

/*
 * The referrers tag schema's tag for a subject digest: "<alg>-<hex>", the
 * algorithm cut to 32 and the hex to 64 characters (distribution-spec
 * v1.1.0).  NULL when the digest is malformed or out of memory.
 */
char *coco_referrers_tag(const char *digest);

/*
 * Parse one referrers list (an OCI image index: the referrers API's answer
 * or the index a referrers tag holds) and append its entries to out.
 * Entries are checked as descriptors (mediaType, digest, size) with an
 * optional string artifactType; with artifact_type set only entries of
 * exactly that type are kept (clients filter when the registry did not,
 * distribution-spec "OCI-Filters-Applied").  Digests already in out are
 * skipped.  COCOIMG_EBADIMAGE naming `origin` when malformed or when the
 * whole list would pass COCO_REFERRERS_MAX.
 */
int coco_referrers_parse(cocoimg_ctx *ctx, const void *data, size_t len,
                         const char *artifact_type, const char *origin, coco_referrers *out);

/*
 * Referrers in an OCI layout whose index.json is `index`: the index the
 * referrers tag of `subject` names (if any), and every image manifest the
 * index lists whose own `subject` is `subject` (what an OCI 1.1 writer
 * adds to a layout).  read(arg, d, out) returns the verified bytes of the
 * manifest d describes.  A listed manifest that cannot be read or parsed is
 * skipped (it may be anything); a referrers tag that cannot be read or
 * parsed is an error.
 */
typedef int (*coco_referrers_read_fn)(void *arg, const coco_desc *d, coco_buf *out);
int coco_referrers_from_layout(cocoimg_ctx *ctx, const coco_manifest *index, const char *subject,
                               const char *artifact_type, coco_referrers_read_fn read, void *arg,
                               coco_referrers *out);

#endif
