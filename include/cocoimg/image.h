/* libcocoimg: image operations (copy, inspect, resolve).  Part of <cocoimg.h>. */
#include <cocoimg.h>

#ifndef COCOIMG_IMAGE_H
#define COCOIMG_IMAGE_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cocoimg_keyring cocoimg_keyring; /* see cocoimg/crypt.h */

/* Image locations are strings in skopeo's transport syntax:
 *   docker://[HOST[:PORT]/]REPO[:TAG][@DIGEST]
 *   oci:DIR[:TAG]
 *   oci-archive:FILE[:TAG]
 */

typedef enum cocoimg_multi_arch {
	COCOIMG_MULTI_ARCH_SYSTEM = 0,     /* copy the instance for the platform */
	COCOIMG_MULTI_ARCH_ALL = 1,        /* copy the index and every instance */
	COCOIMG_MULTI_ARCH_INDEX_ONLY = 2  /* copy only the index */
} cocoimg_multi_arch;

typedef enum cocoimg_crypt_mode {
	COCOIMG_CRYPT_NONE = 0,    /* copy blobs as they are */
	COCOIMG_CRYPT_ENCRYPT = 1, /* encrypt layers for the keyring's recipients */
	COCOIMG_CRYPT_DECRYPT = 2  /* decrypt every encrypted layer */
} cocoimg_crypt_mode;

typedef struct cocoimg_copy_options {
	unsigned version;              /* COCOIMG_COPY_OPTIONS_VERSION */
	cocoimg_multi_arch multi_arch;
	cocoimg_crypt_mode crypt_mode;
	cocoimg_keyring *keys;         /* recipients and/or decryption keys */
	/* Layers to encrypt (indices; negative count from the end).  NULL/0
	 * means every layer. */
	const int *encrypt_layers;
	size_t n_encrypt_layers;
	/* Recipients (same syntax as for encryption) to drop from layers that
	 * are already encrypted.  Removal does not revoke a key a recipient
	 * already holds. */
	const char *const *remove_recipients;
	size_t n_remove_recipients;
	int collect_stats;             /* add per-stage timings to the report */
	/* Version 2 (since 0.4). */
	/* Evaluate the trust policy for the source before anything is
	 * written, as skopeo copy does: the policy file `policy` (non-NULL
	 * implies verify), else the ctx "policy" key, else
	 * /etc/containers/policy.json.  For an index the index itself is
	 * evaluated first, then every image copied.  A rejection is
	 * COCOIMG_EPOLICY ("Source image rejected: REASON"). */
	const char *policy;
	int verify;
	/* With multi_arch ALL and a crypt_mode: only the instances whose
	 * platform ("OS/ARCH[/VARIANT]") is listed are encrypted or
	 * decrypted; the others are copied as they are and stay in the index
	 * (ctr-enc's --platform).  NULL/0: every instance. */
	const char *const *platforms;
	size_t n_platforms;
} cocoimg_copy_options;

#define COCOIMG_COPY_OPTIONS_VERSION 2
/* Every field spelled out, so that the macro is valid C89 and C++ and
 * quiet under -Wextra (-Wmissing-field-initializers). */
#define COCOIMG_COPY_OPTIONS_INIT                                            \
	{ COCOIMG_COPY_OPTIONS_VERSION, COCOIMG_MULTI_ARCH_SYSTEM,           \
	  COCOIMG_CRYPT_NONE, NULL, NULL, 0, NULL, 0, 0, NULL, 0, NULL, 0 }

/**
 * Initialise *opts to the defaults of the given version (pass
 * COCOIMG_COPY_OPTIONS_VERSION), like COCOIMG_COPY_OPTIONS_INIT.  Returns
 * 0, or COCOIMG_EINVAL for a NULL opts or a version of 0 or one this
 * library does not know.
 */
COCOIMG_API int cocoimg_copy_options_init(cocoimg_copy_options *opts, unsigned version);

/**
 * Copy the image at src to dst, verifying every blob by size and digest,
 * encrypting or decrypting layers on the way as opts->crypt_mode says.
 * Nothing is left half-written at dst on failure.
 *
 * report (optional): receives a JSON document describing the result;
 * release with cocoimg_free().  Its fields, one name per concept across
 * every report, are documented in docs/json.md (the "copy" object):
 *
 *   source, destination   the references as given
 *   source_digest         digest of the manifest or index the source names
 *   manifest_digest, manifest_media_type, manifest_size
 *                         the image manifest written (converted Docker
 *                         schema2 -> OCI for oci:/oci-archive:, or with
 *                         en/decrypted layers, it differs from the source)
 *   index_digest, index_media_type, index_size
 *                         instead, when an index was written (multi_arch
 *                         ALL / INDEX_ONLY of an index)
 *   config_digest, config_media_type, config_size[, config_source_digest]
 *   layers                [{digest, media_type, size, encrypted (as
 *                         written), action ("copy", "encrypt", "decrypt",
 *                         "rewrap"), skipped (already at the destination)
 *                         [, source_digest when the blob changed]
 *                         [, recipients, schemes, recipients_added,
 *                         recipients_removed, stats]}]
 *   manifests             (index copies) one object per instance with
 *                         platform, the manifest_* and config_* fields and
 *                         layers as above
 *   bytes_copied          blob bytes transferred (skipped blobs excluded)
 *   stats                 (opts->collect_stats) nanoseconds per stage:
 *                         network_ns (reading the source), digest_ns
 *                         (sha256 of the source and of the written blobs),
 *                         decrypt_ns (AES-CTR + HMAC when decrypting),
 *                         decompress_ns, write_ns, encrypt_ns (only with
 *                         COCOIMG_CRYPT_ENCRYPT), and total_ns (wall time);
 *                         stages run in parallel threads so they may add up
 *                         to more than total_ns.  Each en/decrypted layer
 *                         also carries its own "stats" object with these
 *                         keys
 *
 * A Docker schema2 image copied to oci: or oci-archive: is converted to
 * OCI media types the way skopeo does it (same bytes, same digests).
 * Layers are transferred in parallel (ctx option "parallel", default 3).
 */
COCOIMG_API int cocoimg_copy(cocoimg_ctx *ctx, const char *src, const char *dst,
                             const cocoimg_copy_options *opts, char **report);

/**
 * Inspect an image: manifest digest, media type, config, layers, and for
 * each encrypted layer its cipher and recipient schemes (never key
 * material).  *report receives a JSON document (docs/json.md, the
 * "inspect" object: image, reference, manifest_* / index_*, config_*,
 * config, platform, layers[], annotations; an index without a platform
 * choice lists manifests[] instead); release with cocoimg_free().
 */
COCOIMG_API int cocoimg_inspect(cocoimg_ctx *ctx, const char *image, char **report);

/**
 * Normalise an image reference.  *out receives the canonical transport
 * form (e.g. "docker://docker.io/library/alpine:latest").  Returns
 * COCOIMG_EINVAL with a message for malformed references.
 */
COCOIMG_API int cocoimg_reference_normalize(cocoimg_ctx *ctx, const char *ref, char **out);

/**
 * Resolve `image` to one image manifest (selecting `platform`, NULL =
 * the ctx "platform" key, else the running machine, from an index).
 * *manifest_digest (optional) receives its digest, *manifest (optional)
 * its bytes as a NUL-terminated string; release both with cocoimg_free().
 * (Called cocoimg_unpack_resolve() before 0.2.)
 */
COCOIMG_API int cocoimg_image_resolve(cocoimg_ctx *ctx, const char *image, const char *platform,
                                      char **manifest_digest, char **manifest);

/**
 * Fetch and verify the config of the image manifest `image` resolves to
 * (platform as for cocoimg_image_resolve()).  *config_digest (optional)
 * receives its digest, *config (optional) its JSON text; release both
 * with cocoimg_free().  Checks that rootfs.type is "layers" and that there
 * is one diff_id per layer (COCOIMG_EBADIMAGE).  (Called
 * cocoimg_unpack_fetch_config() before 0.2.)
 */
COCOIMG_API int cocoimg_image_fetch_config(cocoimg_ctx *ctx, const char *image,
                                           const char *platform, char **config_digest,
                                           char **config);

/**
 * Fetch the manifest or index `image` names, byte for byte as the source
 * holds it, with no platform selection (skopeo inspect --raw).  A
 * reference pinned by digest is checked against it (COCOIMG_EDIGEST).
 * *manifest receives the bytes (NUL-terminated; *len, optional, their
 * count), *media_type (optional) the media type the source gave, *digest
 * (optional) the digest of the bytes; release each with cocoimg_free().
 */
COCOIMG_API int cocoimg_image_fetch_manifest(cocoimg_ctx *ctx, const char *image, char **manifest,
                                             size_t *len, char **media_type, char **digest);

/**
 * Check that `registry` ("HOST[:PORT]", optionally with docker:// in front
 * and a /NAMESPACE after) accepts the credentials the context holds for
 * it (ctx "creds", else the auth file): one GET of /v2/ authenticated
 * with them, as `docker login` and `skopeo login` do.  Returns 0 when it
 * answers 200, COCOIMG_EAUTH when it refuses them, COCOIMG_EINVAL when
 * there are no credentials, COCOIMG_ENET for other failures.  Writes no
 * file.
 */
COCOIMG_API int cocoimg_registry_login(cocoimg_ctx *ctx, const char *registry);

#ifdef __cplusplus
}
#endif
#endif
