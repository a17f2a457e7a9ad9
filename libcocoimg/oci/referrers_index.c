/*
 * Writing the referrers tag schema (distribution-spec v1.1.0, "Pushing
 * Manifests with Subject"): a client that pushed a manifest with a
 * `subject` to a registry without the referrers API (no `OCI-Subject`
 * answer) keeps the image index tagged <alg>-<hex> of the subject up to
 * date itself: start from the index there (or an empty one on 404), skip
 * a descriptor already listed, append one for the pushed manifest with
 * its artifactType (else its config's media type) and all of its
 * annotations, push the index back.  go-containerregistry (what cosign
 * pushes with) does the same but copies no annotations, which the spec
 * requires; we copy them.  Like go-containerregistry we sort the entries
 * by digest.  Reading these lists is oci/referrers.c's job.
 */
#include "oci.h"
#include "referrers_index.h"
#include "../base.h"
#include "../digest.h"
#include "../json.h"

#include <stdlib.h>
#include <string.h>

/* The descriptor of the pushed manifest for the referrers list. */
static json_t *referrer_descriptor(json_t *m, const char *mt, const char *digest, size_t len)
{
	json_t *at = json_object_get(m, "artifactType");
	if (!json_is_string(at) || !json_string_length(at))
		at = json_object_get(json_object_get(m, "config"), "mediaType");
	json_t *ann = json_object_get(m, "annotations");
	json_t *d = json_pack("{s:s,s:I,s:s}", "mediaType", mt, "size", (json_int_t)len, "digest",
	                      digest);
	if (d && json_is_object(ann) && json_object_size(ann) &&
	    json_object_set(d, "annotations", ann))
		goto fail;
	if (d && json_is_string(at) && json_object_set(d, "artifactType", at))
		goto fail;
	return d;
fail:
	json_decref(d);
	return NULL;
}

static int by_digest(const void *a, const void *b)
{
	const char *x = json_string_value(json_object_get(*(json_t *const *)a, "digest"));
	const char *y = json_string_value(json_object_get(*(json_t *const *)b, "digest"));
	return strcmp(x ? x : "", y ? y : "");
}

/* Sort the manifests array of idx by digest. */
static int sort_manifests(json_t *arr)
{
	size_t n = json_array_size(arr);
	json_t **v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return COCOIMG_ENOMEM;
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof(*v), by_digest);
	int rc = json_array_clear(arr) ? COCOIMG_ENOMEM : 0;
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(arr, v[i]))
			rc = COCOIMG_ENOMEM;
	free(v);
	return rc;
}

/* The index at the tag: an OCI image index, else what is wrong with it. */
static const char *index_problem(json_t *idx)
{
	json_t *sv = json_object_get(idx, "schemaVersion");
	json_t *mt = json_object_get(idx, "mediaType");
	json_t *ms = json_object_get(idx, "manifests");
	if (!json_is_integer(sv) || json_integer_value(sv) != 2)
		return "schemaVersion is not 2";
	if (!json_is_string(mt) || strcmp(json_string_value(mt), COCO_MT_OCI_INDEX))
		return "not an OCI image index";
	if (ms && !json_is_array(ms))
		return "manifests is not an array";
	return NULL;
}

/* The existing index (or a new empty one) with room in "manifests". */
static int load_index(cocoimg_ctx *ctx, const void *existing, size_t len, const char *tag,
                      json_t **out)
{
	if (!existing) {
		*out = json_pack("{s:i,s:s,s:[]}", "schemaVersion", 2, "mediaType", COCO_MT_OCI_INDEX,
		                 "manifests");
		return *out ? 0 : coco_oom(ctx);
	}
	json_error_t e;
	json_t *idx = json_loadb(existing, len, JSON_REJECT_DUPLICATES, &e);
	const char *why = !json_is_object(idx) ? "not a JSON object" : index_problem(idx);
	if (why) {
		json_decref(idx);
		return coco_seterr(ctx, COCOIMG_EBADIMAGE,
		                   "referrers tag %s: %s; not changing it", tag, why);
	}
	if (!json_object_get(idx, "manifests") && json_object_set_new(idx, "manifests", json_array())) {
		json_decref(idx);
		return coco_oom(ctx);
	}
	*out = idx;
	return 0;
}

static bool listed(json_t *arr, const char *digest)
{
	size_t i;
	json_t *d;
	json_array_foreach(arr, i, d) {
		const char *s = json_string_value(json_object_get(d, "digest"));
		if (s && !strcmp(s, digest))
			return true;
	}
	return false;
}

int coco_referrers_index_add(cocoimg_ctx *ctx, const void *existing, size_t existing_len,
                             const char *tag, const void *manifest, size_t mlen, const char *mt,
                             coco_buf *out, bool *added)
{
	*added = false;
	char digest[COCO_DIGEST_STRLEN];
	coco_digest_bytes(COCO_SHA256, manifest, mlen, digest);
	json_t *m = json_loadb(manifest, mlen, 0, NULL), *idx = NULL;
	if (!json_is_object(m)) {
		json_decref(m);
		return coco_seterr(ctx, COCOIMG_EINVAL, "referrer %s: not a JSON object", digest);
	}
	int rc = load_index(ctx, existing, existing_len, tag, &idx);
	json_t *arr = idx ? json_object_get(idx, "manifests") : NULL;
	if (rc || listed(arr, digest))
		goto out;
	json_t *d = referrer_descriptor(m, mt, digest, mlen);
	if (!d || json_array_append_new(arr, d) || sort_manifests(arr)) {
		rc = coco_oom(ctx);
		goto out;
	}
	char *s = json_dumps(idx, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!s || coco_buf_append(out, s, strlen(s)))
		rc = coco_oom(ctx);
	free(s);
	*added = !rc;
out:
	json_decref(idx);
	json_decref(m);
	return rc;
}
