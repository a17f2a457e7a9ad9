/*
 * A Sigstore bundle as the signature of an image (the bundles
 * bundle_attach.c finds): the bundle verifies (bundle_verify.c, the order
 * of sigstore-go) and what it signs is this image.
 *
 * What binds the image: the manifest digest, nothing else.
 *  - DSSE: an in-toto statement (payloadType application/vnd.in-toto+json)
 *    of predicate type https://sigstore.dev/cosign/sign/v1 (what cosign v3
 *    signs for an image; other predicates are attestations about the image,
 *    SBOMs and provenance, not signatures of it) with a subject whose
 *    sha256 is the manifest digest;
 *  - message signature: a signature over the manifest bytes (its message
 *    digest, when present, is the manifest digest).
 * A bundle names no repository or tag.  cosign v3 dropped the signed
 * container identity with the move to referrers (`--sign-container-identity`
 * is deprecated as "not possible when OCI referrers become the default"),
 * and containers/image's pull request for bundles (container-libs #1153,
 * open) has not settled how its signedIdentity applies.  coco-img's rule
 * (cli.md, docs/bundles.md): for a bundle, the subject digest binds the
 * image and the policy's signedIdentity is not consulted; the bundle must
 * have been found as a referrer of that digest in the image's own
 * repository or layout (referrers are per repository).
 */
#include "policy.h"
#include "sigstore.h"
#include "trust.h"
#include "../base.h"

#include <string.h>

/* The order in which a failed check is "more telling": a bundle that got
 * further than another explains the refusal better. */
static int depth(coco_sigcheck c)
{
	switch (c) {
	case COCO_SIGCHECK_NONE: return 10;
	case COCO_SIGCHECK_BUNDLE: return 0;
	case COCO_SIGCHECK_SIGNATURE: return 1;
	case COCO_SIGCHECK_DIGEST: return 2;
	case COCO_SIGCHECK_TLOG: return 3;
	case COCO_SIGCHECK_TIMESTAMP: return 4;
	case COCO_SIGCHECK_CHAIN: return 5;
	case COCO_SIGCHECK_SCT: return 6;
	case COCO_SIGCHECK_IDENTITY: return 7;
	case COCO_SIGCHECK_ISSUER: return 8;
	}
	return 0;
}

/* After the bundle verified: is it a signature of the image (not an
 * attestation about it)?  0 or EPOLICY (res->failed = BUNDLE). */
static int is_image_signature(cocoimg_ctx *ctx, coco_sigstore_result *res)
{
	if (!res->dsse)
		return 0;
	if (res->predicate_type && !strcmp(res->predicate_type, COCO_COSIGN_SIGN_PREDICATE))
		return 0;
	res->failed = COCO_SIGCHECK_BUNDLE;
	return coco_seterr(ctx, COCOIMG_EPOLICY, "the bundle is an attestation of predicate type "
	                   "\"%.200s\", not an image signature (%s)",
	                   res->predicate_type ? res->predicate_type : "none",
	                   COCO_COSIGN_SIGN_PREDICATE);
}

static int verify_one(cocoimg_ctx *ctx, const void *bundle, size_t len,
                      const coco_sigstore_artifact *art, const coco_sigstore_policy *pol,
                      coco_sigstore_result *res)
{
	int rc = coco_sigstore_verify_bundle(ctx, bundle, len, art, pol, res);
	if (!rc)
		rc = is_image_signature(ctx, res);
	if (rc)
		coco_sigstore_result_clear_data(res);
	return rc;
}

int coco_bundle_image_verify(cocoimg_ctx *ctx, const void *bundle, size_t len,
                             const unsigned char *manifest, size_t manifest_len,
                             const coco_sigstore_policy *pols, size_t n_pols,
                             coco_sigstore_result *res, char **why)
{
	*why = NULL;
	*res = (coco_sigstore_result){ .failed = COCO_SIGCHECK_SIGNATURE };
	coco_sigstore_artifact art = { .data = manifest ? (const void *)manifest : "",
	                               .len = manifest_len };
	int best = COCOIMG_EPOLICY;
	for (size_t i = 0; i < n_pols; i++) {
		coco_sigstore_result r = {0};
		coco_clearerr(ctx);
		int rc = verify_one(ctx, bundle, len, &art, &pols[i], &r);
		if (!rc) {
			coco_sigstore_result_clear(res);
			free(*why);
			*why = NULL;
			*res = r;
			return 0;
		}
		if (rc != COCOIMG_EPOLICY && rc != COCOIMG_EBADIMAGE) {
			coco_sigstore_result_clear(&r);
			free(*why);
			*why = NULL;
			return rc;
		}
		if (!*why || depth(r.failed) > depth(res->failed)) {
			free(*why);
			*why = coco_strdup(cocoimg_ctx_last_error(ctx));
			res->failed = r.failed;
			if (!*why)
				return coco_oom(ctx);
		}
		coco_sigstore_result_clear(&r);
		best = COCOIMG_EPOLICY;
	}
	if (!*why && !(*why = coco_strdup("no key or identity to verify the bundle with")))
		return coco_oom(ctx);
	return best;
}
