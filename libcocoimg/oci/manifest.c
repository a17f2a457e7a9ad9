/*
 * Manifests and indexes (OCI image manifest / index, Docker schema2
 * manifest / manifest list): strict parsing, serialisation (Go's
 * encoding/json byte for byte, what skopeo writes: json.c), media type
 * helpers.
 */
#include "oci.h"
#include "../base.h"
#include "../digest.h"
#include "../json.h"
#include "../caps.h"

#include <stdlib.h>
#include <string.h>

/* ---- media types ---- */

static const char *const manifest_types[] = {
	COCO_MT_OCI_MANIFEST, COCO_MT_OCI_INDEX, COCO_MT_DOCKER_MANIFEST, COCO_MT_DOCKER_LIST,
};

/* The static copy of a known manifest media type, or NULL. */
static const char *known_manifest_type(const char *mt, size_t n)
{
	if (!mt)
		return NULL;
	for (size_t i = 0; i < COCO_ARRAY_SIZE(manifest_types); i++)
		if (strlen(manifest_types[i]) == n && !strncmp(mt, manifest_types[i], n))
			return manifest_types[i];
	return NULL;
}

bool coco_mt_is_manifest(const char *mt)
{
	return mt && known_manifest_type(mt, strlen(mt)) != NULL;
}

bool coco_mt_is_index(const char *mt)
{
	return mt && (!strcmp(mt, COCO_MT_OCI_INDEX) || !strcmp(mt, COCO_MT_DOCKER_LIST));
}

static bool ends_with(const char *s, size_t n, const char *suf)
{
	size_t k = strlen(suf);
	return n >= k && !memcmp(s + n - k, suf, k);
}

bool coco_mt_is_encrypted(const char *mt)
{
	return mt && ends_with(mt, strlen(mt), "+encrypted");
}

static const char *const layer_types[] = {
	"application/vnd.oci.image.layer.v1.tar",
	"application/vnd.oci.image.layer.v1.tar+gzip",
	"application/vnd.oci.image.layer.v1.tar+zstd",
	"application/vnd.oci.image.layer.nondistributable.v1.tar",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
	"application/vnd.docker.image.rootfs.diff.tar",
	"application/vnd.docker.image.rootfs.diff.tar.gzip",
	"application/vnd.docker.image.rootfs.diff.tar.zstd",
	"application/vnd.docker.image.rootfs.foreign.diff.tar",
	"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
};

bool coco_mt_is_layer(const char *mt)
{
	if (!mt)
		return false;
	size_t n = strlen(mt);
	if (ends_with(mt, n, "+encrypted"))
		n -= strlen("+encrypted");
	for (size_t i = 0; i < COCO_ARRAY_SIZE(layer_types); i++)
		if (strlen(layer_types[i]) == n && !strncmp(mt, layer_types[i], n))
			return true;
	return false;
}

coco_compression coco_mt_compression(const char *mt)
{
	if (!coco_mt_is_layer(mt))
		return COCO_COMP_UNKNOWN;
	size_t n = strlen(mt);
	if (ends_with(mt, n, "+encrypted"))
		n -= strlen("+encrypted");
	if (ends_with(mt, n, "+gzip") || ends_with(mt, n, ".gzip"))
		return COCO_COMP_GZIP;
	if (ends_with(mt, n, "+zstd") || ends_with(mt, n, ".zstd"))
		return COCO_COMP_ZSTD;
	return COCO_COMP_NONE;
}

/* The OCI equivalent of a Docker schema2 layer/config media type, or NULL
 * when it has none (the caller keeps the type). */
const char *coco_mt_docker_to_oci(const char *mt)
{
	static const struct {
		const char *docker, *oci;
	} map[] = {
		{ "application/vnd.docker.image.rootfs.diff.tar", "application/vnd.oci.image.layer.v1.tar" },
		{ "application/vnd.docker.image.rootfs.diff.tar.gzip", "application/vnd.oci.image.layer.v1.tar+gzip" },
		{ "application/vnd.docker.image.rootfs.diff.tar.zstd", "application/vnd.oci.image.layer.v1.tar+zstd" },
		{ "application/vnd.docker.image.rootfs.foreign.diff.tar",
		  "application/vnd.oci.image.layer.nondistributable.v1.tar" },
		{ "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
		  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" },
		{ COCO_MT_DOCKER_CONFIG, COCO_MT_OCI_CONFIG },
		{ COCO_MT_DOCKER_MANIFEST, COCO_MT_OCI_MANIFEST },
		{ COCO_MT_DOCKER_LIST, COCO_MT_OCI_INDEX },
	};
	for (size_t i = 0; mt && i < COCO_ARRAY_SIZE(map); i++)
		if (!strcmp(mt, map[i].docker))
			return map[i].oci;
	return NULL;
}

/* ---- parsing ---- */

static void desc_clear(coco_desc *d)
{
	if (!d)
		return;
	json_decref(d->json);
	memset(d, 0, sizeof(*d));
}

void coco_manifest_free(coco_manifest *m)
{
	if (!m)
		return;
	desc_clear(&m->config);
	COCO_FREE_ARRAY(m->layers, m->n_layers, desc_clear);
	COCO_FREE_ARRAY(m->manifests, m->n_manifests, desc_clear);
	json_decref(m->json);
	free(m);
}

static int check_string_map(cocoimg_ctx *ctx, json_t *obj, const char *key, const char *what,
                            json_t **out)
{
	*out = NULL;
	json_t *a = json_object_get(obj, key);
	if (!a || json_is_null(a))
		return 0;
	if (!json_is_object(a))
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: field \"%s\" must be an object", what, key);
	const char *k;
	json_t *v;
	json_object_foreach(a, k, v) {
		if (!json_is_string(v))
			return coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: %s[\"%.100s\"] must be a string", what,
			                   key, k);
	}
	*out = a;
	return 0;
}

static int check_string_array(cocoimg_ctx *ctx, json_t *obj, const char *key, const char *what)
{
	json_t *a = json_object_get(obj, key);
	if (!a || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: field \"%s\" must be an array", what, key);
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			return coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: %s[%zu] must be a string", what, key, i);
	}
	return 0;
}

int coco_desc_parse(cocoimg_ctx *ctx, json_t *j, const char *what, coco_desc *d)
{
	memset(d, 0, sizeof(*d));
	if (!json_is_object(j))
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: descriptor must be an object", what);
	int rc;
	if ((rc = coco_json_str(ctx, j, "mediaType", what, COCOIMG_EBADIMAGE, &d->media_type)) ||
	    (rc = coco_json_str(ctx, j, "digest", what, COCOIMG_EBADIMAGE, &d->digest)) ||
	    (rc = coco_json_int(ctx, j, "size", what, COCOIMG_EBADIMAGE, &d->size)))
		return rc;
	if (!d->media_type[0])
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: empty \"mediaType\"", what);
	coco_digest_alg alg;
	if (coco_digest_validate(d->digest, &alg))
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: malformed digest \"%.150s\"", what, d->digest);
	if (d->size < 0)
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: negative size %lld", what, (long long)d->size);
	if ((rc = check_string_map(ctx, j, "annotations", what, &d->annotations)) ||
	    (rc = check_string_array(ctx, j, "urls", what)))
		return rc;
	json_t *p = json_object_get(j, "platform");
	if (p && !json_is_null(p)) {
		if (!json_is_object(p))
			return coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: field \"platform\" must be an object", what);
		char pw[300];
		snprintf(pw, sizeof(pw), "%s platform", what);
		const char *os, *arch, *variant, *osv;
		if ((rc = coco_json_str(ctx, p, "os", pw, COCOIMG_EBADIMAGE, &os)) ||
		    (rc = coco_json_str(ctx, p, "architecture", pw, COCOIMG_EBADIMAGE, &arch)) ||
		    (rc = coco_json_opt_str(ctx, p, "variant", pw, COCOIMG_EBADIMAGE, &variant)) ||
		    (rc = coco_json_opt_str(ctx, p, "os.version", pw, COCOIMG_EBADIMAGE, &osv)) ||
		    (rc = check_string_array(ctx, p, "os.features", pw)) ||
		    (rc = check_string_array(ctx, p, "features", pw)))
			return rc;
		/* views into the JSON: the desc owns nothing separately */
		d->platform.os = (char *)os;
		d->platform.arch = (char *)arch;
		d->platform.variant = (char *)variant;
		d->platform.os_version = (char *)osv;
	}
	d->json = json_incref(j);
	return 0;
}

static int parse_desc_array(cocoimg_ctx *ctx, json_t *doc, const char *key, const char *what,
                            coco_desc **out, size_t *n)
{
	json_t *a = json_object_get(doc, key);
	if (!a)
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: missing field \"%s\"", what, key);
	if (!json_is_array(a))
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: field \"%s\" must be an array", what, key);
	size_t cnt = json_array_size(a);
	if (cnt > 100000)
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: too many entries in \"%s\"", what, key);
	*out = calloc(cnt ? cnt : 1, sizeof(coco_desc));
	if (!*out)
		return coco_oom(ctx);
	for (size_t i = 0; i < cnt; i++) {
		char w[128];
		snprintf(w, sizeof(w), "%s %s[%zu]", what, key, i);
		int rc = coco_desc_parse(ctx, json_array_get(a, i), w, &(*out)[i]);
		*n = i + (rc ? 0 : 1);
		if (rc)
			return rc;
	}
	*n = cnt;
	return 0;
}

/* schemaVersion: 2 (schema 1 is refused as unsupported). */
static int manifest_schema_version(cocoimg_ctx *ctx, json_t *j)
{
	json_t *sv = json_object_get(j, "schemaVersion");
	if (!sv)
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "manifest: missing field \"schemaVersion\"");
	if (!json_is_integer(sv))
		return coco_seterr(ctx, COCOIMG_EBADIMAGE,
		                   "manifest: field \"schemaVersion\" must be an integer");
	if (json_integer_value(sv) == 1)
		return coco_seterr(ctx, COCOIMG_EUNSUPPORTED, "Docker schema1 manifests are not supported");
	if (json_integer_value(sv) != 2)
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "manifest: unsupported schemaVersion %lld",
		                   (long long)json_integer_value(sv));
	return 0;
}

/* The media type: the document's own, which must agree with hint (a
 * Content-Type or descriptor media type, parameters stripped); else the
 * hint; else guessed from the fields present. */
static int manifest_media_type(cocoimg_ctx *ctx, coco_manifest *m, const char *hint)
{
	const char *doc_mt;
	int rc = coco_json_opt_str(ctx, m->json, "mediaType", "manifest", COCOIMG_EBADIMAGE, &doc_mt);
	if (rc)
		return rc;
	const char *hint_mt = NULL;
	if (hint) {
		size_t hn = strcspn(hint, ";");
		while (hn && (hint[hn - 1] == ' ' || hint[hn - 1] == '\t'))
			hn--;
		hint_mt = known_manifest_type(hint, hn);
	}
	if (doc_mt) {
		m->media_type = known_manifest_type(doc_mt, strlen(doc_mt));
		if (!m->media_type)
			return coco_seterr(ctx, COCOIMG_EUNSUPPORTED,
			                   "unsupported manifest media type \"%.200s\"", doc_mt);
		if (hint_mt && hint_mt != m->media_type)
			return coco_seterr(ctx, COCOIMG_EBADIMAGE,
			                   "manifest: mediaType \"%s\" does not match the expected \"%s\"",
			                   m->media_type, hint_mt);
	} else if (hint_mt) {
		m->media_type = hint_mt;
	} else if (json_object_get(m->json, "manifests")) {
		m->media_type = COCO_MT_OCI_INDEX;
	} else if (json_object_get(m->json, "config")) {
		m->media_type = COCO_MT_OCI_MANIFEST;
	} else {
		return coco_seterr(ctx, COCOIMG_EBADIMAGE,
		                   "manifest: no \"mediaType\", \"config\" or \"manifests\" field: unknown format");
	}
	return 0;
}

/* The max-layers cap (cosign stops at 1000 too), before any is parsed. */
static int check_layer_count(cocoimg_ctx *ctx, json_t *doc)
{
	json_t *a = json_object_get(doc, "layers");
	uint64_t cap = coco_limit(ctx, COCO_LIM_LAYERS);
	if (json_is_array(a) && json_array_size(a) > cap)
		return coco_seterr(ctx, COCOIMG_EBADIMAGE,
		                   "manifest: %zu layers, more than the cap of %llu (max-layers)",
		                   json_array_size(a), (unsigned long long)cap);
	return 0;
}

/* An image manifest's config and layers. */
static int manifest_image_fields(cocoimg_ctx *ctx, coco_manifest *m)
{
	if (json_object_get(m->json, "manifests"))
		return coco_seterr(ctx, COCOIMG_EBADIMAGE,
		                   "manifest: an image manifest must not have a \"manifests\" field");
	json_t *c = json_object_get(m->json, "config");
	if (!c)
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "manifest: missing field \"config\"");
	int rc = coco_desc_parse(ctx, c, "manifest config", &m->config);
	if (!rc)
		rc = check_layer_count(ctx, m->json);
	if (rc)
		return rc;
	return parse_desc_array(ctx, m->json, "layers", "manifest", &m->layers, &m->n_layers);
}

/* An index's manifests. */
static int manifest_index_fields(cocoimg_ctx *ctx, coco_manifest *m)
{
	if (json_object_get(m->json, "config") || json_object_get(m->json, "layers"))
		return coco_seterr(ctx, COCOIMG_EBADIMAGE,
		                   "index: an index must not have \"config\" or \"layers\" fields");
	return parse_desc_array(ctx, m->json, "manifests", "index", &m->manifests, &m->n_manifests);
}

int coco_manifest_parse(cocoimg_ctx *ctx, const void *data, size_t len, const char *hint,
                        coco_manifest **out)
{
	*out = NULL;
	if (len > coco_limit_size(ctx, COCO_LIM_MANIFEST_SIZE))
		return coco_limit_refuse(ctx, COCOIMG_EBADIMAGE, COCO_LIM_MANIFEST_SIZE, len, "manifest");
	coco_manifest *m = calloc(1, sizeof(*m));
	if (!m)
		return coco_oom(ctx);
	int rc = coco_json_parse(ctx, data, len, "manifest", COCOIMG_EBADIMAGE, &m->json);
	if (!rc)
		rc = manifest_schema_version(ctx, m->json);
	if (!rc)
		rc = manifest_media_type(ctx, m, hint);
	if (!rc) {
		m->kind = coco_mt_is_index(m->media_type) ? COCO_KIND_INDEX : COCO_KIND_IMAGE;
		rc = check_string_map(ctx, m->json, "annotations", "manifest", &m->annotations);
	}
	if (!rc)
		rc = m->kind == COCO_KIND_IMAGE ? manifest_image_fields(ctx, m)
		                                : manifest_index_fields(ctx, m);
	if (rc) {
		coco_manifest_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

char *coco_manifest_serialize(const coco_manifest *m, size_t *len)
{
	return coco_json_dump_go(m->json, len);
}
