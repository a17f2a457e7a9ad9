/*
 * Sigstore bundles attached to an image as OCI 1.1 referrers, read back
 * through the operation's fetcher (list_referrers, get_referrer, get_blob).
 *
 * What cosign v3 writes for `cosign sign IMAGE` (new bundle format, the
 * default since v3; cosign specs/BUNDLE_SPEC.md and its sign path):
 *  - the bundle: application/vnd.dev.sigstore.bundle.v0.3+json holding a
 *    DSSE envelope (payloadType application/vnd.in-toto+json) of an
 *    in-toto v1 statement whose predicateType is
 *    https://sigstore.dev/cosign/sign/v1, whose predicate is {} and whose
 *    one subject carries only the image manifest's digest ({"sha256": HEX}
 *    and the signer's annotations; no name): the signature binds a digest,
 *    never a repository or tag;
 *  - a referrer manifest (application/vnd.oci.image.manifest.v1+json):
 *    artifactType = the bundle media type, config = the empty descriptor
 *    (application/vnd.oci.empty.v1+json, "{}", size 2), exactly one layer:
 *    the bundle blob with that media type (and an
 *    org.opencontainers.image.title "sha256-<hex>.sigstore.json"),
 *    subject = the image manifest's descriptor, annotations
 *    dev.sigstore.bundle.content "dsse-envelope",
 *    dev.sigstore.bundle.predicateType and org.opencontainers.image.created;
 *  - pushed by digest; a registry with the referrers API lists it from its
 *    subject, on one without the client adds it to the referrers tag
 *    schema's index (tag sha256-<hex>), with the artifactType.
 * cosign reads them back by listing the referrers (no filter), keeping the
 * manifests with exactly one layer whose media type starts with
 * application/vnd.dev.sigstore.bundle, and bundles of v0.3 or later.
 *
 * Here, as there: a referrer whose list entry names another artifactType is
 * not fetched; a fetched manifest that is not a one-layer bundle manifest
 * is skipped.  Different from cosign, a bundle manifest whose own subject
 * is not the image (a list that points at a bundle of another image) is
 * kept as a signature that the policy rejects with the reason, so that the
 * verdict says why; and bundles v0.1/v0.2 are read too (the verifier
 * decides).  The bytes are verified by policy_eval.c / bundle_image.c.
 */
#include "policy.h"
#include "trust.h"
#include "../base.h"
#include "../oci/oci.h"
#include "../oci/referrers.h"
#include "sigstore.h"

#include <stdlib.h>
#include <string.h>

static bool bundle_mt(const char *mt)
{
	return mt && !strncmp(mt, COCO_MT_SIGSTORE_BUNDLE_PREFIX,
	                      strlen(COCO_MT_SIGSTORE_BUNDLE_PREFIX));
}

/* Append one bundle signature (blob moved in). */
static int add_bundle_sig(cocoimg_ctx *ctx, coco_trust_sigs *sigs, coco_buf *blob, const char *mt,
                          const coco_referrer *ref, char *problem)
{
	coco_trust_sig *nv = realloc(sigs->v, (sigs->n + 1) * sizeof(*nv));
	if (!nv) {
		free(problem);
		return coco_oom(ctx);
	}
	sigs->v = nv;
	coco_trust_sig *g = &nv[sigs->n];
	memset(g, 0, sizeof(*g));
	g->kind = COCO_SIG_BUNDLE;
	g->mime_type = coco_strdup(mt ? mt : "");
	g->origin = coco_asprintf("referrer %s (%s)", ref->digest, ref->origin);
	g->problem = problem;
	if (!g->mime_type || !g->origin) {
		free(g->mime_type);
		free(g->origin);
		free(problem);
		return coco_oom(ctx);
	}
	g->blob = *blob;
	*blob = (coco_buf)COCO_BUF_INIT;
	sigs->n++;
	return 0;
}

/* The subject digest of a referrer manifest, or NULL. */
static const char *manifest_subject(const coco_manifest *m)
{
	json_t *s = json_object_get(m->json, "subject");
	return json_is_object(s) ? json_string_value(json_object_get(s, "digest")) : NULL;
}

/* The manifest of a listed referrer when it is a bundle manifest (one
 * layer of a bundle media type): 0 with *out, 1 to skip it (gone, not a
 * manifest, not a bundle: the list is only a hint), <0 when the registry
 * cannot be read. */
static int bundle_manifest(cocoimg_ctx *ctx, const coco_sig_fetcher *f, const char *digest,
                           const coco_referrer *ref, coco_manifest **out)
{
	coco_buf raw = COCO_BUF_INIT;
	coco_manifest *m = NULL;
	*out = NULL;
	int rc = f->get_referrer(f->payload, ctx, ref->digest, &raw);
	if (!rc)
		rc = coco_manifest_parse(ctx, raw.data, raw.len, COCO_MT_OCI_MANIFEST, &m);
	coco_buf_free(&raw);
	if (rc && rc != COCOIMG_ENOTFOUND && rc != COCOIMG_EBADIMAGE && rc != COCOIMG_EDIGEST &&
	    rc != COCOIMG_EUNSUPPORTED)
		return rc;
	if (rc || m->kind != COCO_KIND_IMAGE || m->n_layers != 1 ||
	    !bundle_mt(m->layers[0].media_type)) {
		coco_debug(ctx, "referrer %s of %s is not a Sigstore bundle manifest%s%s", ref->digest,
		           digest, rc ? ": " : "", rc ? cocoimg_ctx_last_error(ctx) : "");
		coco_clearerr(ctx);
		coco_manifest_free(m);
		return 1;
	}
	*out = m;
	return 0;
}

/* One listed referrer: its bundle, when it is a bundle manifest. */
static int one_referrer(cocoimg_ctx *ctx, const coco_sig_fetcher *f, const char *digest,
                        const coco_referrer *ref, coco_trust_sigs *sigs)
{
	coco_manifest *m = NULL;
	int rc = bundle_manifest(ctx, f, digest, ref, &m);
	if (rc)
		return rc < 0 ? rc : 0;
	const coco_desc *layer = &m->layers[0];
	const char *subject = manifest_subject(m);
	char *problem = NULL;
	if (!subject || strcmp(subject, digest))
		problem = coco_asprintf("the referrer manifest's subject is %.80s, not the image %s",
		                        subject ? subject : "missing", digest);
	coco_buf blob = COCO_BUF_INIT;
	rc = layer->size > COCO_BUNDLE_MAX
	             ? coco_seterr(ctx, COCOIMG_ESIGLOOKUP, "bundle %s is too large", layer->digest)
	             : f->get_blob(f->payload, ctx, layer, COCO_BUNDLE_MAX, &blob);
	if (!rc)
		rc = add_bundle_sig(ctx, sigs, &blob, layer->media_type, ref, problem);
	else
		free(problem);
	coco_buf_free(&blob);
	coco_manifest_free(m);
	return rc;
}

int coco_bundle_attachment_sigs(cocoimg_ctx *ctx, const coco_sig_fetcher *f, const char *digest,
                                coco_trust_sigs *sigs)
{
	if (!f->list_referrers || !f->get_referrer || !f->get_blob)
		return 0;
	coco_referrers refs = { 0 };
	int rc = f->list_referrers(f->payload, ctx, digest, NULL, &refs);
	size_t before = sigs->n;
	for (size_t i = 0; !rc && i < refs.n; i++) {
		const coco_referrer *r = &refs.v[i];
		/* a list entry that says it is something else is not fetched */
		if (r->artifact_type && !bundle_mt(r->artifact_type))
			continue;
		rc = one_referrer(ctx, f, digest, r, sigs);
	}
	coco_debug(ctx, "%zu referrers of %s, %zu Sigstore bundles", refs.n, digest,
	           sigs->n - before);
	coco_referrers_clear(&refs);
	if (rc && rc != COCOIMG_ENOMEM)
		return coco_preferr(ctx, COCOIMG_ESIGLOOKUP, "Sigstore bundles attached to %s", digest);
	return rc;
}
