/*
 * Referrers lists on bytes: the image index the referrers API answers with
 * (or a referrers tag holds), the tag-schema name, and the referrers an OCI
 * layout keeps in its index.json.
 *
 * The shape (OCI distribution-spec v1.1.0, "Listing Referrers" and
 * "Referrers Tag Schema"; image-spec v1.1.0 for artifactType): a list is an
 * application/vnd.oci.image.index.v1+json whose `manifests` are descriptors
 * of the referring manifests, each carrying the manifest's artifactType
 * (its own, else its config's media type) and its annotations.  The list
 * is a summary the registry or the publisher wrote: nothing in it is
 * trusted, the reader fetches each manifest by digest and checks it.
 */
#include "referrers.h"
#include "oci.h"
#include "../base.h"
#include "../digest.h"
#include "../json.h"

#include <stdlib.h>
#include <string.h>

#define REFNAME "org.opencontainers.image.ref.name"
/* The most index.json entries looked into for a subject. */
#define LAYOUT_SCAN_MAX 4096

void coco_referrers_clear(coco_referrers *r)
{
	for (size_t i = 0; r && i < r->n; i++) {
		free(r->v[i].media_type);
		free(r->v[i].artifact_type);
	}
	if (r) {
		free(r->v);
		r->v = NULL;
		r->n = 0;
	}
}

char *coco_referrers_tag(const char *digest)
{
	coco_digest_alg alg;
	if (!digest || coco_digest_validate(digest, &alg))
		return NULL;
	const char *colon = strchr(digest, ':');
	int alen = (int)(colon - digest);
	return coco_asprintf("%.*s-%.64s", alen > 32 ? 32 : alen, digest, colon + 1);
}

static bool have_digest(const coco_referrers *r, const char *digest)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->v[i].digest, digest))
			return true;
	return false;
}

/* Append one referrer (copies); 0 or ENOMEM / EBADIMAGE (too many). */
static int add_referrer(cocoimg_ctx *ctx, coco_referrers *out, const char *mt, const char *digest,
                        int64_t size, const char *artifact_type, const char *origin)
{
	if (have_digest(out, digest))
		return 0;
	if (out->n >= COCO_REFERRERS_MAX)
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: more than %d referrers", origin,
		                   COCO_REFERRERS_MAX);
	coco_referrer *nv = realloc(out->v, (out->n + 1) * sizeof(*nv));
	if (!nv)
		return coco_oom(ctx);
	out->v = nv;
	coco_referrer *e = &nv[out->n];
	memset(e, 0, sizeof(*e));
	e->media_type = coco_strdup(mt);
	e->artifact_type = artifact_type ? coco_strdup(artifact_type) : NULL;
	if (!e->media_type || (artifact_type && !e->artifact_type)) {
		free(e->media_type);
		free(e->artifact_type);
		return coco_oom(ctx);
	}
	snprintf(e->digest, sizeof(e->digest), "%s", digest);
	e->size = size;
	e->origin = origin;
	out->n++;
	return 0;
}

int coco_referrers_parse(cocoimg_ctx *ctx, const void *data, size_t len,
                         const char *artifact_type, const char *origin, coco_referrers *out)
{
	coco_manifest *ix = NULL;
	int rc = coco_manifest_parse(ctx, data, len, COCO_MT_OCI_INDEX, &ix);
	if (rc)
		return coco_preferr(ctx, rc == COCOIMG_ENOMEM ? rc : COCOIMG_EBADIMAGE, "%s", origin);
	for (size_t i = 0; !rc && i < ix->n_manifests; i++) {
		const coco_desc *d = &ix->manifests[i];
		const char *at = NULL;
		char what[96];
		snprintf(what, sizeof(what), "%s: manifests[%zu]", origin, i);
		rc = coco_json_opt_str(ctx, d->json, "artifactType", what, COCOIMG_EBADIMAGE, &at);
		if (rc || (artifact_type && (!at || strcmp(at, artifact_type))))
			continue;
		rc = add_referrer(ctx, out, d->media_type, d->digest, d->size, at, origin);
	}
	coco_manifest_free(ix);
	return rc;
}

/* ------------------------------------------------------------------ */
/* OCI layouts                                                         */
/* ------------------------------------------------------------------ */

static const char *ref_name(const coco_desc *d)
{
	return d->annotations ? json_string_value(json_object_get(d->annotations, REFNAME)) : NULL;
}

/* The index the referrers tag names, when index.json has that tag. */
static int layout_tag(cocoimg_ctx *ctx, const coco_manifest *index, const char *subject,
                      const char *artifact_type, coco_referrers_read_fn read, void *arg,
                      coco_referrers *out)
{
	char *tag = coco_referrers_tag(subject);
	if (!tag)
		return coco_seterr(ctx, COCOIMG_EINVAL, "malformed subject digest \"%.150s\"", subject);
	int rc = 0;
	for (size_t i = 0; !rc && i < index->n_manifests; i++) {
		const coco_desc *d = &index->manifests[i];
		const char *name = ref_name(d);
		if (!name || strcmp(name, tag))
			continue;
		if (!coco_mt_is_index(d->media_type)) {
			rc = coco_seterr(ctx, COCOIMG_EBADIMAGE, "referrers tag %s names a %s, not an "
			                 "image index", tag, d->media_type);
			break;
		}
		coco_buf b = COCO_BUF_INIT;
		rc = read(arg, d, &b);
		if (!rc)
			rc = coco_referrers_parse(ctx, b.data, b.len, artifact_type, "referrers tag", out);
		coco_buf_free(&b);
	}
	free(tag);
	return rc;
}

/* The artifactType of a manifest (image-spec: its own, else its config's
 * media type) when its subject is `subject`; NULL otherwise. */
static const char *subject_match(json_t *m, const char *subject, bool *match)
{
	json_t *sub = json_object_get(m, "subject");
	const char *sd = json_is_object(sub) ? json_string_value(json_object_get(sub, "digest")) : NULL;
	*match = sd && !strcmp(sd, subject);
	const char *at = json_string_value(json_object_get(m, "artifactType"));
	if (!at) {
		json_t *cfg = json_object_get(m, "config");
		at = json_is_object(cfg) ? json_string_value(json_object_get(cfg, "mediaType")) : NULL;
	}
	return at;
}

/* One index.json entry: a referrer of subject? (0 also when it cannot be
 * read: an unrelated broken entry does not fail the lookup.) */
static int layout_entry(cocoimg_ctx *ctx, const coco_desc *d, const char *subject,
                        const char *artifact_type, coco_referrers_read_fn read, void *arg,
                        coco_referrers *out)
{
	if (strcmp(d->media_type, COCO_MT_OCI_MANIFEST) || !strcmp(d->digest, subject))
		return 0;
	coco_buf b = COCO_BUF_INIT;
	json_t *m = NULL;
	int rc = read(arg, d, &b);
	if (!rc)
		rc = coco_json_parse(ctx, b.data, b.len, d->digest, COCOIMG_EBADIMAGE, &m);
	coco_buf_free(&b);
	if (rc) {
		if (rc == COCOIMG_ENOMEM)
			return rc;
		coco_debug(ctx, "referrers: skipping index.json entry %s: %s", d->digest,
		           cocoimg_ctx_last_error(ctx));
		coco_clearerr(ctx);
		return 0;
	}
	bool match;
	const char *at = subject_match(m, subject, &match);
	if (match && (!artifact_type || (at && !strcmp(at, artifact_type))))
		rc = add_referrer(ctx, out, d->media_type, d->digest, d->size, at, "index.json");
	json_decref(m);
	return rc;
}

int coco_referrers_from_layout(cocoimg_ctx *ctx, const coco_manifest *index, const char *subject,
                               const char *artifact_type, coco_referrers_read_fn read, void *arg,
                               coco_referrers *out)
{
	int rc = layout_tag(ctx, index, subject, artifact_type, read, arg, out);
	size_t n = index->n_manifests < LAYOUT_SCAN_MAX ? index->n_manifests : LAYOUT_SCAN_MAX;
	for (size_t i = 0; !rc && i < n; i++)
		rc = layout_entry(ctx, &index->manifests[i], subject, artifact_type, read, arg, out);
	return rc;
}
