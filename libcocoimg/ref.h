/*
 * Image references and transports: docker://, oci:, oci-archive:, and the
 * docker/distribution name grammar (ref.c).  Every module may include it.
 * Not installed.
 */
#ifndef COCO_REF_H
#define COCO_REF_H

#include "base.h"

typedef enum coco_transport {
	COCO_TR_DOCKER = 0,
	COCO_TR_OCI = 1,
	COCO_TR_OCI_ARCHIVE = 2
} coco_transport;

/* A parsed docker/distribution reference, normalised. */
typedef struct coco_dref {
	char *domain;              /* "docker.io", "localhost:5000" */
	char *path;                /* "library/alpine" */
	char *tag;                 /* NULL if none given (and no digest: "latest") */
	char *digest;              /* NULL if none */
} coco_dref;

typedef struct coco_ref {
	coco_transport transport;
	coco_dref docker;          /* for COCO_TR_DOCKER */
	char *path;                /* oci / oci-archive: DIR or FILE */
	char *tag;                 /* oci / oci-archive: TAG or NULL */
	char *raw;                 /* the string as given */
} coco_ref;

/* Parse "docker://...", "oci:...", "oci-archive:...". EINVAL + message. */
int coco_ref_parse(cocoimg_ctx *ctx, const char *s, coco_ref **out);
void coco_ref_free(coco_ref *r);
/* Parse a docker reference without transport, normalising like
 * docker/distribution ParseNormalizedNamed. */
int coco_dref_parse(cocoimg_ctx *ctx, const char *s, coco_dref *out);
void coco_dref_clear(coco_dref *r);
/* "domain/path" */
char *coco_dref_repo(const coco_dref *r);
/* "domain/path:tag", "domain/path@digest", "domain/path:tag@digest" */
char *coco_dref_string(const coco_dref *r);
/*
 * Go's docker/reference exactly as containers/image vendors it, for
 * signature identity rules: COCO_DREF_NORMALIZE is ParseNormalizedNamed
 * (Docker Hub names completed, no ":latest" added: name-only, tagged and
 * digested references stay apart), COCO_DREF_CANONICAL is ParseNamed (the
 * string must already be in canonical form).  0, or COCOIMG_EINVAL /
 * COCOIMG_ENOMEM with *err a static reason (no ctx message).
 */
typedef enum coco_dref_mode { COCO_DREF_NORMALIZE, COCO_DREF_CANONICAL } coco_dref_mode;
int coco_dref_parse_named(const char *s, coco_dref_mode mode, coco_dref *out, const char **err);
/* Neither tag nor digest (only from coco_dref_parse_named). */
bool coco_dref_name_only(const coco_dref *r);
/* Canonical transport form of a ref. */
char *coco_ref_string(const coco_ref *r);
/* A reference to `tag` in the same repository (docker) or layout (oci,
 * oci-archive) as r (sigstore attachments). */
int coco_ref_sibling(cocoimg_ctx *ctx, const coco_ref *r, const char *tag, coco_ref **out);
/* Pieces of the docker/distribution name grammar (n bytes, no NUL needed):
 * a repository path, a domain (host or [ipv6], optional :port), a tag. */
bool coco_ref_path_ok(const char *s, size_t n);
bool coco_ref_domain_ok(const char *s, size_t n);
bool coco_ref_tag_ok(const char *s, size_t n);

#endif
