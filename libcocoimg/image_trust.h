/*
 * The operations layer's side of trust/: a signature fetcher
 * (coco_sig_fetcher, trust/trust.h) over an open image source, HTTP and
 * local files, implemented in image_trust.c.  Not installed.
 */
#ifndef COCO_IMAGE_TRUST_H
#define COCO_IMAGE_TRUST_H

#include "base.h"
#include "json.h"
#include "oci/resolve.h"
#include "transport.h"
#include "trust/trust.h"

typedef struct coco_src_sigfetch {
	coco_sig_fetcher f;        /* hand &f to trust/ */
	coco_src *src;             /* the image's source; NULL: lookasides only */
	coco_src *attachment;      /* the sibling get_manifest opened (owned) */
} coco_src_sigfetch;

/* Fill sf for src (not owned).  sf must stay where it is while in use. */
void coco_src_sigfetch_init(coco_src_sigfetch *sf, coco_src *src);
/* Close what the fetcher opened. */
void coco_src_sigfetch_clear(coco_src_sigfetch *sf);

/*
 * Evaluate the policy (trust/policy.h) for the image src resolves to (called
 * before any layer is fetched).  policy_path NULL = ctx "policy" option or
 * /etc/containers/policy.json.  Returns 0 if accepted, COCOIMG_EPOLICY if
 * rejected, other codes for lookup/config failures.  *report (optional)
 * receives the verdict JSON.
 */
int coco_trust_evaluate(cocoimg_ctx *ctx, coco_src *src, const coco_resolved *img,
                        const char *policy_path, json_t **report);


#endif
