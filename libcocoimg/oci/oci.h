/*
 * The OCI image format (oci/): manifests, indexes, descriptors and media
 * types (manifest.c), platforms and index selection (platform.c), and
 * Docker-to-OCI conversion (convert.c).  On bytes and JSON only; any
 * module may include it.  Not installed.
 */
#ifndef COCO_OCI_H
#define COCO_OCI_H

#include "../base.h"
#include "../json.h"

#define COCO_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define COCO_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define COCO_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define COCO_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define COCO_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define COCO_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
/* The empty descriptor of OCI 1.1 artifacts: the 2 bytes "{}". */
#define COCO_MT_OCI_EMPTY "application/vnd.oci.empty.v1+json"
#define COCO_OCI_EMPTY_DIGEST "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

typedef struct coco_platform {
	char *os;
	char *arch;
	char *variant;             /* may be NULL */
	char *os_version;          /* may be NULL */
} coco_platform;

/* A content descriptor.  `json` is the descriptor object as parsed (kept so
 * unknown fields and annotations survive a copy); the other fields are
 * views into it or parsed values. */
typedef struct coco_desc {
	const char *media_type;
	const char *digest;
	int64_t size;
	json_t *annotations;       /* borrowed from json, may be NULL */
	coco_platform platform;    /* for index entries; fields NULL if absent */
	json_t *json;              /* owned reference */
} coco_desc;

typedef enum coco_manifest_kind {
	COCO_KIND_IMAGE = 0,       /* OCI image manifest / Docker schema2 */
	COCO_KIND_INDEX = 1        /* OCI index / Docker manifest list */
} coco_manifest_kind;

typedef struct coco_manifest {
	coco_manifest_kind kind;
	const char *media_type;    /* effective media type */
	json_t *json;              /* whole document, owned */
	coco_desc config;          /* images only */
	coco_desc *layers;         /* images only */
	size_t n_layers;
	coco_desc *manifests;      /* indexes only */
	size_t n_manifests;
	json_t *annotations;       /* borrowed, may be NULL */
} coco_manifest;

/*
 * Parse a manifest or index strictly.  media_type_hint is the
 * Content-Type / descriptor media type when known (may be NULL); the
 * document's own mediaType must agree when both are present.  Errors:
 * COCOIMG_EBADIMAGE with a message naming the field.
 */
int coco_manifest_parse(cocoimg_ctx *ctx, const void *data, size_t len,
                        const char *media_type_hint, coco_manifest **out);
void coco_manifest_free(coco_manifest *m);
/* Serialize back (for manifests we modified): compact, Go-like key order
 * as stored in m->json. Caller frees. */
char *coco_manifest_serialize(const coco_manifest *m, size_t *len);

/* Parse "os/arch[/variant]". */
int coco_platform_parse(cocoimg_ctx *ctx, const char *s, coco_platform *out);
/* The running machine (GOOS/GOARCH names: linux/amd64, linux/arm64/v8...). */
void coco_platform_host(coco_platform *out);
void coco_platform_clear(coco_platform *p);
/* Whether an index entry's platform is the wanted one, as containerd's
 * platform matcher decides (normalised names, the same variant; arm
 * without a variant is arm/v7).  entry->os/arch may be NULL: no match. */
bool coco_platform_matches(const coco_platform *entry, const coco_platform *want);
/*
 * Pick the best index entry for platform p (NULL = from ctx "platform"
 * option, else host), with containers/image's variant rules.  Returns the
 * index in m->manifests, or COCOIMG_ENOTFOUND with a message listing the
 * platforms present.
 */
int coco_index_select(cocoimg_ctx *ctx, const coco_manifest *index,
                      const coco_platform *p, size_t *which);

/* Image layer media type helpers. */
bool coco_mt_is_layer(const char *mt);
bool coco_mt_is_encrypted(const char *mt);  /* ends with "+encrypted" */
/* Compression of a (decrypted) layer media type. */
typedef enum coco_compression {
	COCO_COMP_NONE = 0,
	COCO_COMP_GZIP = 1,
	COCO_COMP_ZSTD = 2,
	COCO_COMP_UNKNOWN = 3
} coco_compression;
coco_compression coco_mt_compression(const char *mt);
/* One of the four manifest/index media types above. */
bool coco_mt_is_manifest(const char *mt);
bool coco_mt_is_index(const char *mt);
/* The OCI media type for a Docker schema2 manifest/list/config/layer type
 * (static string), or NULL when there is none. */
const char *coco_mt_docker_to_oci(const char *mt);
/* Parse one descriptor strictly (mediaType, digest, size >= 0,
 * annotations, urls, platform); `what` names it in errors. On success
 * d->json holds a new reference (json_decref it); d->platform fields are
 * views into the JSON (never coco_platform_clear them). */
int coco_desc_parse(cocoimg_ctx *ctx, json_t *j, const char *what, coco_desc *d);

/*
 * convert.c: a Docker image config as containers/image converts it to an
 * OCI image config (decoded into the image-spec Image struct and encoded
 * again, Docker-only fields dropped).  *out (caller frees) holds *outlen
 * bytes.  COCOIMG_EBADIMAGE with a message naming the field.
 */
int coco_oci_convert_config(cocoimg_ctx *ctx, const coco_buf *raw, char **out, size_t *outlen);
/* convert.c: descriptor object in as the image-spec Descriptor struct
 * writes it (Go field order, null members dropped), with its mediaType
 * replaced by media_type when not NULL.  New object; NULL when out of
 * memory. */
json_t *coco_oci_convert_desc(json_t *in, const char *media_type);

#endif
