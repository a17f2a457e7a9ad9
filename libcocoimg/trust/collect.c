/*
 * Where the signatures of an image are looked up, as containers/image's
 * docker transport does (registries.d lookaside, then sigstore
 * attachments when enabled), plus sigstore attachments in OCI layouts,
 * plus Sigstore bundles attached as OCI referrers wherever sigstore
 * attachments are read.
 * The bytes come from the operation's fetcher (coco_sig_fetcher).
 */
#include "policy.h"
#include "trust.h"
#include "../base.h"

#include <stdlib.h>
#include <string.h>

/* Move the n attachment signatures att[] into sigs (att is freed). */
static int add_attachment_sigs(cocoimg_ctx *ctx, coco_trust_sigs *sigs, coco_sigstore_sig *att,
                               size_t n)
{
	for (size_t i = 0; i < n; i++) {
		coco_trust_sig *nv = realloc(sigs->v, (sigs->n + 1) * sizeof(*nv));
		if (!nv) {
			coco_sigstore_sigs_free(att + i, n - i);
			free(att);
			return coco_oom(ctx);
		}
		sigs->v = nv;
		coco_trust_sig *g = &nv[sigs->n++];
		memset(g, 0, sizeof(*g));
		g->kind = COCO_SIG_SIGSTORE;
		g->mime_type = coco_strdup(COCO_COSIGN_SIMPLESIGNING_MT);
		g->origin = coco_asprintf("sigstore attachment %zu", i + 1);
		g->sigstore = att[i];      /* moved */
	}
	free(att);
	return 0;
}

/* An oci-archive is unpacked to be read: a sibling tag (the .sig
 * attachment) would unpack it a second time, so only its referrers are
 * read (what cosign v3 and `coco-img sign --bundle-format=v3` attach). */
static bool reads_sig_tag(const coco_trust_image *im)
{
	return strcmp(im->transport, "oci-archive") != 0;
}

/* The bundles of the index the image was reached through, marked so
 * (docs/bundles.md, "Multi-platform images"). */
static int collect_index_bundles(cocoimg_ctx *ctx, const coco_trust_image *im,
                                 const coco_sig_fetcher *f, coco_trust_sigs *sigs)
{
	size_t before = sigs->n;
	int rc = coco_bundle_attachment_sigs(ctx, f, im->index_digest, sigs);
	for (size_t i = before; rc == 0 && i < sigs->n; i++) {
		coco_trust_sig *g = &sigs->v[i];
		char *o = coco_asprintf("%s of the index %s", g->origin, im->index_digest);
		if (!o)
			return coco_oom(ctx);
		free(g->origin);
		g->origin = o;
		g->of_index = true;
	}
	return rc;
}

/* The bundles attached to the image manifest, then those attached to the
 * index it was reached through (cosign signs the digest a name resolves
 * to, which is the index for a multi-platform image). */
static int collect_bundles(cocoimg_ctx *ctx, const coco_trust_image *im,
                           const coco_sig_fetcher *f, coco_trust_sigs *sigs)
{
	int rc = coco_bundle_attachment_sigs(ctx, f, im->manifest_digest, sigs);
	if (rc || !im->index || !im->index_digest[0])
		return rc;
	return collect_index_bundles(ctx, im, f, sigs);
}

int coco_trust_collect_attachment(cocoimg_ctx *ctx, const coco_trust_image *im,
                                  const coco_sig_fetcher *f, coco_trust_sigs *sigs)
{
	if (!reads_sig_tag(im))
		return collect_bundles(ctx, im, f, sigs);
	coco_sigstore_sig *att = NULL;
	size_t n = 0;
	int rc = coco_cosign_attachment_sigs(ctx, f, im->manifest_digest, &att, &n);
	if (rc)
		return rc == COCOIMG_ENOMEM ? rc : coco_preferr(ctx, COCOIMG_ESIGLOOKUP,
		                                               "sigstore attachments");
	rc = add_attachment_sigs(ctx, sigs, att, n);
	/* cosign v3's bundles, attached as OCI referrers (bundle_attach.c):
	 * the same switch as the .sig attachment, both are signatures the
	 * registry keeps beside the image */
	return rc ? rc : collect_bundles(ctx, im, f, sigs);
}

static int collect_lookaside(cocoimg_ctx *ctx, const coco_trust_image *im, const coco_regd *regd,
                             const coco_sig_fetcher *f, coco_trust_sigs *sigs)
{
	char *base = coco_regd_lookaside(regd, im->dref);
	if (!base)
		return coco_oom(ctx);
	coco_debug(ctx, "reading signatures of %s from %s", im->name, base);
	int rc = coco_lookaside_collect(ctx, f, base, im->dref->path, im->manifest_digest, sigs);
	free(base);
	return rc;
}

int coco_trust_collect_sigs(cocoimg_ctx *ctx, const coco_trust_image *im, const coco_regd *regd,
                            const coco_sig_fetcher *f, coco_trust_sigs *sigs)
{
	if (!strcmp(im->transport, "docker") && im->dref) {
		int rc = collect_lookaside(ctx, im, regd, f, sigs);
		if (rc || !coco_regd_use_sigstore_attachments(regd, im->dref))
			return rc;
	} else if (strcmp(im->transport, "oci") != 0 && strcmp(im->transport, "oci-archive") != 0) {
		return 0;
	}
	/* OCI layouts hold no simple signatures, but `coco-img sign oci:...`
	 * (like cosign with an OCI layout) stores sigstore attachments there
	 * under the sha256-<hex>.sig tag: always look for them; and the bundles
	 * attached as referrers, in layouts and oci-archives (a layout in a
	 * tar).  containers/image reads no signatures from layouts; this is an
	 * extension. */
	return coco_trust_collect_attachment(ctx, im, f, sigs);
}
