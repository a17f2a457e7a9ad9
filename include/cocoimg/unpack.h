/* libcocoimg: unpacking an image into a root filesystem.  Part of <cocoimg.h>. */
#include <cocoimg.h>

#ifndef COCOIMG_UNPACK_H
#define COCOIMG_UNPACK_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Unpacking pulls (or reads) an image, evaluates the trust policy when
 * asked (before any layer is fetched), and streams every layer once:
 *
 *   blob -> size + digest -> decrypt + HMAC (encrypted layers)
 *        -> gunzip / zstd / none -> diff_id -> tar reader -> rootfs writer
 *
 * No layer is held whole in memory and no plaintext is written anywhere
 * but into the rootfs.  Layers download in parallel (a layer that arrives
 * before its turn waits on disk exactly as received, still compressed and
 * encrypted) and are applied strictly in order.
 *
 * The writer resolves every name inside the rootfs as if it were "/":
 * symlinks (also absolute ones) are followed inside it, a leading "/" or a
 * ".." is clamped at its top (as containerd and umoci do); a hardlink
 * whose target climbs above the top fails with COCOIMG_EESCAPE.
 * Whiteouts (.wh.NAME, .wh..wh..opq) follow the OCI image spec.
 * xattrs: user.* and security.capability are applied, trusted.* refused,
 * security.selinux and other namespaces dropped.  Unprivileged, ownership
 * is the caller's and device nodes are skipped with a warning.
 */

/** Flags for cocoimg_unpack_options.flags and cocoimg_unpack_layer_stream(). */
typedef enum cocoimg_unpack_flags {
	/** Behave as an unprivileged user even when running as root: no
	 *  chown, no device nodes. */
	COCOIMG_UNPACK_ROOTLESS = 1u << 0
} cocoimg_unpack_flags;

typedef struct cocoimg_unpack_options {
	unsigned version;          /**< COCOIMG_UNPACK_OPTIONS_VERSION */
	/** Decryption keys (or a key resolver callback, see crypt.h).
	 *  NULL: an encrypted layer fails with COCOIMG_ENOKEY. Not taken. */
	cocoimg_keyring *keyring;
	/** Trust policy file (containers-policy.json).  Non-NULL implies
	 *  verify. */
	const char *policy;
	/** Evaluate the trust policy (policy, else the ctx "policy" key,
	 *  else /etc/containers/policy.json) before any layer is fetched. */
	int verify;
	/** "OS/ARCH[/VARIANT]" to pick from an index; NULL = the ctx
	 *  "platform" key, else the running machine. */
	const char *platform;
	/** Concurrent layer downloads; 0 = the ctx "parallel" key (default
	 *  3).  Local layouts are read one layer at a time. */
	unsigned parallel;
	/** Add per-stage timings (network, digest, decrypt, decompress,
	 *  write, in nanoseconds) to the report. */
	int collect_stats;
	/** cocoimg_unpack_flags */
	unsigned flags;
} cocoimg_unpack_options;

#define COCOIMG_UNPACK_OPTIONS_VERSION 1
/* Every field spelled out (valid C89 and C++, quiet under -Wextra). */
#define COCOIMG_UNPACK_OPTIONS_INIT                                          \
	{ COCOIMG_UNPACK_OPTIONS_VERSION, NULL, NULL, 0, NULL, 0, 0, 0 }

/**
 * Initialise *opts to the defaults of the given version (pass
 * COCOIMG_UNPACK_OPTIONS_VERSION), like COCOIMG_UNPACK_OPTIONS_INIT.
 * Returns 0, or COCOIMG_EINVAL for a NULL opts or an unknown version.
 */
COCOIMG_API int cocoimg_unpack_options_init(cocoimg_unpack_options *opts, unsigned version);

/**
 * Pull, verify, decrypt and unpack the image `image` (transport syntax,
 * see image.h) into the directory `rootfs`.
 *
 * rootfs must not exist or be an empty directory (else COCOIMG_EEXIST).
 * The layers are applied into a private staging directory beside it (same
 * filesystem) which is renamed to rootfs only after every blob digest,
 * HMAC and diff_id has checked out; on any failure it is removed and
 * rootfs is left absent or untouched.
 *
 * Progress is reported through the context's progress callback (what =
 * "layer", phase download for a layer fetched ahead into its spool file,
 * apply for every layer going into the rootfs, with its index i/N); a
 * non-zero return from it stops the job (COCOIMG_ECANCELLED).
 *
 * opts may be NULL (defaults).  report (optional) receives a JSON
 * document on every outcome past the argument and options checks (since
 * 0.3; before, only on success), release it with cocoimg_free():
 *   {"image", "rootfs", "manifest_digest", "manifest_media_type",
 *    "manifest_size", "index_digest", "index_media_type" (when the
 *    reference named an index), "config_digest", "config_media_type",
 *    "config_size",
 *    "layers": [{"digest", "media_type", "size", "encrypted", "diff_id"}],
 *    "policy" (the verdict, when verified),
 *    "stats" (with collect_stats): {"network_ns", "digest_ns", "decrypt_ns",
 *      "decompress_ns", "write_ns", "total_ns", "blob_bytes", "tar_bytes",
 *      "entries"}}
 * On failure: "image", "rootfs", the digests above once the image was
 * resolved, "policy" once it was evaluated (a rejection's reasons), and
 * "error": {"code" (cocoimg_error_exit_code() of the error returned),
 * "kind" (cocoimg_error_kind()), "message" (as cocoimg_ctx_last_error())};
 * no "layers" (nothing was unpacked).  docs/json.md has every field.
 *
 * Errors: COCOIMG_EEXIST (rootfs not empty), COCOIMG_EPOLICY (rejected),
 * COCOIMG_ENOKEY (an encrypted layer none of the keys opens),
 * COCOIMG_EDIGEST (blob digest/size, HMAC or diff_id mismatch),
 * COCOIMG_EESCAPE (a hardlink or whiteout that leaves the rootfs),
 * COCOIMG_EBADIMAGE (malformed manifest, config or layer), network and
 * I/O errors.
 */
COCOIMG_API int cocoimg_unpack(cocoimg_ctx *ctx, const char *image, const char *rootfs,
                               const cocoimg_unpack_options *opts, char **report);

/**
 * Fetch, verify, decrypt and apply layer number `index` (0 = base) of the
 * image to the existing directory `rootfs`, in place (for runtimes that
 * keep one directory per layer or manage snapshots themselves).  The
 * layer's diff_id is checked against the config.  Unlike
 * cocoimg_unpack(), nothing is staged: on failure rootfs may hold part of
 * the layer.  opts->policy/verify are honoured; keyring, platform, flags
 * as for cocoimg_unpack(); opts may be NULL (defaults).  *diff_id (optional) receives the layer's
 * diff_id; release with cocoimg_free().
 */
COCOIMG_API int cocoimg_unpack_layer(cocoimg_ctx *ctx, const char *image, size_t index,
                                     const char *rootfs, const cocoimg_unpack_options *opts,
                                     char **diff_id);

/**
 * Read callback for cocoimg_unpack_layer_stream(): fill buf with up to len
 * bytes; return the count, 0 at the end of the stream, or a negative
 * value to stop (the call then fails with COCOIMG_ECANCELLED).  payload
 * comes last, as in every callback (before 0.2 it came first).
 */
typedef int64_t (*cocoimg_read_cb)(void *buf, size_t len, void *payload);

/**
 * Apply one plain (not encrypted) layer blob read from `read` to the
 * existing directory `rootfs`, in place.  media_type selects the
 * decompression (…tar, …tar+gzip, …tar+zstd and the Docker equivalents).
 * The stream is read to its end; when expected_diff_id is given the
 * digest of the uncompressed tar must match (COCOIMG_EDIGEST), after the
 * entries were written: use a scratch directory if that matters.  flags:
 * cocoimg_unpack_flags.  *diff_id (optional) receives the computed
 * diff_id; release with cocoimg_free().
 */
COCOIMG_API int cocoimg_unpack_layer_stream(cocoimg_ctx *ctx, const char *rootfs,
                                            const char *media_type, cocoimg_read_cb read,
                                            void *payload, const char *expected_diff_id,
                                            unsigned flags, char **diff_id);

#ifdef __cplusplus
}
#endif
#endif
