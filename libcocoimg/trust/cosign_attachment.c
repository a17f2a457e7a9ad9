/*
 * The cosign signatures of an image: the sigstore attachment
 * "sha256-<hex>.sig" in the same repository (docker://) or the same layout
 * (oci:, where `coco-img sign` writes it), and its simple-signing layers.
 * The bytes come from the operation's fetcher (coco_sig_fetcher); this
 * file only checks and parses them.
 */
#include "trust.h"
#include "../base.h"
#include "../caps.h"
#include "../oci/oci.h"

#include <stdlib.h>
#include <string.h>

/* The attachment manifest for tag, parsed.  0 with *out NULL when there is
 * no attachment. */
static int attachment_read(cocoimg_ctx *ctx, const coco_sig_fetcher *f, const char *tag,
                           coco_manifest **out)
{
	coco_buf raw = COCO_BUF_INIT;
	char *mt = NULL;
	*out = NULL;
	int rc = f->get_manifest ? f->get_manifest(f->payload, ctx, tag, &raw, &mt)
	                         : COCOIMG_ENOTFOUND;
	if (rc == COCOIMG_ENOTFOUND) {
		/* no attachment: no signatures */
		coco_debug(ctx, "no sigstore attachment %s", tag);
		coco_clearerr(ctx);
		rc = 0;
	} else if (rc == COCOIMG_ENOMEM) {
		rc = coco_oom(ctx);
	} else if (rc) {
		rc = coco_preferr(ctx, COCOIMG_ESIGLOOKUP, "reading sigstore attachment %s", tag);
	} else if (!mt || strcmp(mt, COCO_MT_OCI_MANIFEST)) {
		/* containers/image accepts only an OCI manifest here */
		rc = coco_seterr(ctx, COCOIMG_ESIGLOOKUP,
		                 "sigstore attachment %s: unexpected manifest type %.100s (an OCI image "
		                 "manifest is required)",
		                 tag, mt ? mt : "(none)");
	} else {
		rc = coco_manifest_parse(ctx, raw.data, raw.len, mt, out);
		if (!rc && (*out)->kind != COCO_KIND_IMAGE)
			rc = coco_seterr(ctx, COCOIMG_EBADIMAGE, "not an image manifest");
		if (rc)
			rc = coco_preferr(ctx, COCOIMG_ESIGLOOKUP, "sigstore attachment %s", tag);
		else if ((*out)->n_layers > COCO_COSIGN_MAX_LAYERS)
			rc = coco_seterr(ctx, COCOIMG_ESIGLOOKUP,
			                 "sigstore attachment %s: too many layers (%zu)", tag,
			                 (*out)->n_layers);
	}
	if (rc) {
		coco_manifest_free(*out);
		*out = NULL;
	}
	free(mt);
	coco_buf_free(&raw);
	return rc;
}

/* One simple-signing layer d of the attachment into s. */
static int layer_sig(cocoimg_ctx *ctx, const coco_sig_fetcher *f, const char *tag,
                     const coco_desc *d, coco_sigstore_sig *s)
{
	size_t max = coco_limit_size(ctx, COCO_LIM_SIGNATURE_SIZE);
	if (d->size < 0 || (uint64_t)d->size > max)
		return coco_limit_refuse(ctx, COCOIMG_ESIGLOOKUP, COCO_LIM_SIGNATURE_SIZE,
		                         (uint64_t)d->size, "sigstore attachment %s: signature layer %s",
		                         tag, d->digest);
	int rc = f->get_blob ? f->get_blob(f->payload, ctx, d, max, &s->payload)
	                     : coco_seterr(ctx, COCOIMG_ENOTFOUND, "blob %s not found", d->digest);
	if (rc)
		return coco_preferr(ctx, COCOIMG_ESIGLOOKUP, "sigstore attachment %s", tag);
	rc = coco_sigstore_sig_from_annotations(d->annotations, s);
	if (rc)
		return coco_seterr(ctx, rc == COCOIMG_ENOMEM ? rc : COCOIMG_ESIGLOOKUP,
		                   "sigstore attachment %s: malformed annotations on layer %s", tag,
		                   d->digest);
	return 0;
}

static bool is_signature_layer(const coco_desc *d)
{
	return d->media_type && !strcmp(d->media_type, COCO_COSIGN_SIMPLESIGNING_MT);
}

/* The signature layers of attachment m (others are skipped). */
static int attachment_layers(cocoimg_ctx *ctx, const coco_sig_fetcher *f, const char *tag,
                             const coco_manifest *m, coco_sigstore_sig **out, size_t *n)
{
	coco_sigstore_sig *sigs = calloc(m->n_layers ? m->n_layers : 1, sizeof(*sigs));
	if (!sigs)
		return coco_oom(ctx);
	size_t nsigs = 0, skipped = 0;
	for (size_t i = 0; i < m->n_layers; i++) {
		if (!is_signature_layer(&m->layers[i])) {
			skipped++;    /* attestations and other attachments */
			continue;
		}
		int rc = layer_sig(ctx, f, tag, &m->layers[i], &sigs[nsigs++]);
		if (rc) {
			coco_sigstore_sigs_free(sigs, nsigs);
			return rc;
		}
	}
	if (skipped)
		coco_debug(ctx, "sigstore attachment %s: %zu non-signature layers skipped", tag,
		           skipped);
	*out = sigs;
	*n = nsigs;
	return 0;
}

int coco_cosign_attachment_sigs(cocoimg_ctx *ctx, const coco_sig_fetcher *f, const char *digest,
                                coco_sigstore_sig **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	char *tag = coco_cosign_attachment_tag(digest);
	if (!tag)
		return coco_seterr(ctx, COCOIMG_ESIGLOOKUP,
		                   "cannot look up sigstore signatures for malformed digest \"%.80s\"",
		                   digest ? digest : "");
	if (strlen(tag) > 128) {
		/* sha512 digests give no valid tag: nothing can be attached */
		coco_debug(ctx, "no sigstore attachment tag possible for %s", digest);
		free(tag);
		return 0;
	}
	coco_manifest *m = NULL;
	int rc = attachment_read(ctx, f, tag, &m);
	if (!rc && m)
		rc = attachment_layers(ctx, f, tag, m, out, n);
	coco_manifest_free(m);
	free(tag);
	return rc;
}
