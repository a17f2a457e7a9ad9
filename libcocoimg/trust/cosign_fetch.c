/*
 * Finding the cosign signatures of an image: the sigstore attachment
 * "sha256-<hex>.sig" in the same repository (docker://) or the same layout
 * (oci:, where `coco-img sign` writes it), and its simple-signing layers,
 * each fetched with its digest checked.
 */
#include "trust.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Fetching the attachment                                             */
/* ------------------------------------------------------------------ */

/* A reference to `tag` in the same repository / layout as r. */
int coco_ref_sibling(cocoimg_ctx *ctx, const coco_ref *r, const char *tag, coco_ref **out)
{
	coco_ref *n = calloc(1, sizeof(*n));
	if (!n)
		return coco_oom(ctx);
	n->transport = r->transport;
	bool oom = false;
	if (r->transport == COCO_TR_DOCKER) {
		n->docker.domain = coco_strdup(r->docker.domain);
		n->docker.path = coco_strdup(r->docker.path);
		n->docker.tag = coco_strdup(tag);
		oom = !n->docker.domain || !n->docker.path || !n->docker.tag;
		if (!oom) {
			char *repo = coco_dref_repo(&n->docker);
			n->raw = repo ? coco_asprintf("docker://%s:%s", repo, tag) : NULL;
			free(repo);
		}
	} else {
		n->path = coco_strdup(r->path);
		n->tag = coco_strdup(tag);
		oom = !n->path || !n->tag;
		if (!oom)
			n->raw = coco_asprintf("%s:%s:%s",
			                       r->transport == COCO_TR_OCI ? "oci" : "oci-archive",
			                       r->path, tag);
	}
	if (oom || !n->raw) {
		coco_ref_free(n);
		return coco_oom(ctx);
	}
	*out = n;
	return 0;
}

int coco_cosign_fetch(cocoimg_ctx *ctx, coco_src *src, const char *digest,
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
	coco_ref *aref = NULL;
	coco_src *asrc = NULL;
	coco_buf raw = COCO_BUF_INIT;
	char *mt = NULL;
	coco_manifest *m = NULL;
	coco_sigstore_sig *sigs = NULL;
	size_t nsigs = 0;
	int rc = coco_ref_sibling(ctx, src->ref, tag, &aref);
	if (rc)
		goto out;
	rc = coco_src_open_ref(ctx, aref, src->side, &asrc);
	aref = NULL;
	if (!rc)
		rc = asrc->ops->get_manifest(asrc, NULL, &raw, &mt);
	if (rc == COCOIMG_ENOTFOUND) {
		/* no attachment: no signatures */
		coco_debug(ctx, "no sigstore attachment %s", tag);
		coco_clearerr(ctx);
		rc = 0;
		goto out;
	}
	if (rc) {
		rc = coco_preferr(ctx, COCOIMG_ESIGLOOKUP, "reading sigstore attachment %s", tag);
		goto out;
	}
	/* containers/image accepts only an OCI manifest here */
	if (!mt || strcmp(mt, COCO_MT_OCI_MANIFEST)) {
		rc = coco_seterr(ctx, COCOIMG_ESIGLOOKUP,
		                 "sigstore attachment %s: unexpected manifest type %.100s (an OCI image "
		                 "manifest is required)",
		                 tag, mt ? mt : "(none)");
		goto out;
	}
	rc = coco_manifest_parse(ctx, raw.data, raw.len, mt, &m);
	if (!rc && m->kind != COCO_KIND_IMAGE)
		rc = coco_seterr(ctx, COCOIMG_EBADIMAGE, "not an image manifest");
	if (rc) {
		rc = coco_preferr(ctx, COCOIMG_ESIGLOOKUP, "sigstore attachment %s", tag);
		goto out;
	}
	if (m->n_layers > COCO_COSIGN_MAX_LAYERS) {
		rc = coco_seterr(ctx, COCOIMG_ESIGLOOKUP,
		                 "sigstore attachment %s: too many layers (%zu)", tag, m->n_layers);
		goto out;
	}
	sigs = calloc(m->n_layers ? m->n_layers : 1, sizeof(*sigs));
	if (!sigs) {
		rc = coco_oom(ctx);
		goto out;
	}
	size_t skipped = 0;
	for (size_t i = 0; i < m->n_layers; i++) {
		const coco_desc *d = &m->layers[i];
		if (!d->media_type || strcmp(d->media_type, COCO_COSIGN_SIMPLESIGNING_MT)) {
			skipped++;    /* attestations and other attachments */
			continue;
		}
		coco_sigstore_sig *s = &sigs[nsigs++];
		if (d->size < 0 || d->size > COCO_COSIGN_MAX_PAYLOAD) {
			rc = coco_seterr(ctx, COCOIMG_ESIGLOOKUP,
			                 "sigstore attachment %s: signature layer %s is too large", tag,
			                 d->digest);
			goto out;
		}
		rc = coco_fetch_small_blob(asrc, d, COCO_COSIGN_MAX_PAYLOAD, &s->payload);
		if (rc) {
			rc = coco_preferr(ctx, COCOIMG_ESIGLOOKUP, "sigstore attachment %s", tag);
			goto out;
		}
		rc = coco_sigstore_sig_from_annotations(d->annotations, s);
		if (rc) {
			rc = coco_seterr(ctx, rc == COCOIMG_ENOMEM ? rc : COCOIMG_ESIGLOOKUP,
			                 "sigstore attachment %s: malformed annotations on layer %s", tag,
			                 d->digest);
			goto out;
		}
	}
	if (skipped)
		coco_debug(ctx, "sigstore attachment %s: %zu non-signature layers skipped", tag,
		           skipped);
	*out = sigs;
	*n = nsigs;
	sigs = NULL;
	nsigs = 0;
out:
	coco_sigstore_sigs_free(sigs, nsigs);
	coco_manifest_free(m);
	free(mt);
	coco_buf_free(&raw);
	if (asrc)
		coco_src_close(asrc);
	coco_ref_free(aref);
	free(tag);
	return rc;
}
