/*
 * libcocoimg - encrypted and signed OCI container images, in C.
 *
 * This umbrella header is the whole public API.  Conventions:
 *
 *  - Every symbol starts with cocoimg_ / COCOIMG_.
 *  - Functions that can fail return int: 0 on success, a negative
 *    cocoimg_error code otherwise.  The human-readable reason is held on
 *    the context handle: cocoimg_ctx_last_error().  Messages name the
 *    object (image, layer digest, file) and never contain key material.
 *  - Objects are opaque, created by cocoimg_X_new(&out, ...) and released
 *    by cocoimg_X_free(); passing NULL to a _free function is a no-op.
 *  - Every operation that takes a context first clears the context's last
 *    error: after a failed call, cocoimg_ctx_last_error() describes that
 *    call and no earlier one.  A NULL context is refused with
 *    COCOIMG_EINVAL.
 *  - Option structs start with `unsigned version`.  Initialise them with
 *    the matching COCOIMG_X_OPTIONS_INIT macro or cocoimg_X_options_init(
 *    &opts, COCOIMG_X_OPTIONS_VERSION).  An operation refuses a struct whose
 *    version is 0 (never initialised) or newer than the library it runs
 *    against knows, with COCOIMG_EINVAL.  New fields are only ever added at
 *    the end, with a new version number.
 *  - Strings returned to the caller are allocated and must be released
 *    with cocoimg_free() unless documented otherwise.
 *  - There is no global mutable state.  A handle may be used by one thread
 *    at a time; different handles may be used concurrently.  The one
 *    exception is cocoimg_ctx_cancel(), callable from any thread (and from
 *    a signal handler) while another thread runs an operation.
 *  - The library never changes signal dispositions or masks of the
 *    process.  Writes to sockets and pipes that may have lost their peer
 *    (registry and KBS connections, ttrpc unix sockets, keyprovider
 *    pipes) are made so that they fail with EPIPE instead of raising
 *    SIGPIPE (MSG_NOSIGNAL, CURLOPT_NOSIGNAL with libcurl's own send path,
 *    SIGPIPE blocked on the writing thread and consumed), so the caller
 *    need not ignore SIGPIPE.
 *  - Callbacks take a `void *payload` as their last argument, passed
 *    through untouched.  What a callback returns, for every callback of the
 *    API:
 *      0          carry on;
 *      non-zero   stop: the operation fails with COCOIMG_ECANCELLED (the
 *                 value itself is not passed on).
 *    Threads: the log, progress, key resolver, resource and evidence
 *    callbacks may be called from worker threads of the library (several
 *    at once for log and progress: downloads and pipeline stages run in
 *    parallel), never after the operation that made them has returned.
 *    With the ctx key "threads" set to "1" the library starts no thread
 *    and every callback runs on the caller's thread, one at a time.
 *    They must be thread-safe, must not block for long, and must not call
 *    back into the library with the same context (cocoimg_ctx_cancel()
 *    excepted).
 *    Three callbacks say more with their return value, and only these:
 *    cocoimg_read_cb returns a byte count (>= 0; a negative value stops
 *    the operation as above), a cocoimg_key_resolver_cb (or _resolver2_cb)
 *    may return COCOIMG_ENOKEY to say "no key for this id", after which
 *    the library goes on with its other keys, and a cocoimg_resource_cb
 *    (broker.h) refuses one resource with any non-zero value but
 *    COCOIMG_ECANCELLED (the next source of resources is asked;
 *    COCOIMG_ECANCELLED stops).
 *    Reasons: the callbacks that answer through a reply object say why
 *    they refuse with its _set_message function (cocoimg_key_reply,
 *    cocoimg_resource, cocoimg_evidence); the library puts that reason in
 *    its error message.
 */
#ifndef COCOIMG_H
#define COCOIMG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define COCOIMG_API __attribute__((visibility("default")))
#else
#define COCOIMG_API
#endif

#define COCOIMG_VERSION_MAJOR 0
#define COCOIMG_VERSION_MINOR 4
#define COCOIMG_VERSION_PATCH 0

/** The library's version string, e.g. "0.2.0". Static storage. */
COCOIMG_API const char *cocoimg_version(void);

/**
 * Versions of the libraries this build links, one "name version" per line
 * (OpenSSL, libcurl, libarchive, jansson, zlib, zstd, and the optional
 * ones).  Returned string must be released with cocoimg_free().
 */
COCOIMG_API char *cocoimg_library_versions(void);

/** Release memory returned by the library. NULL is a no-op. */
COCOIMG_API void cocoimg_free(void *ptr);

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

/**
 * Stable error codes.  Never renumbered; new codes are appended.
 * cocoimg_error_exit_code() maps each onto the coco-img exit status.
 */
typedef enum cocoimg_error {
	COCOIMG_OK = 0,
	COCOIMG_EINVAL = -1,       /* bad argument or user input (exit 2) */
	COCOIMG_ENOMEM = -2,       /* out of memory (exit 1) */
	COCOIMG_EIO = -3,          /* local I/O failure (exit 1) */
	COCOIMG_ENET = -4,         /* network or registry failure (exit 1) */
	COCOIMG_EBADIMAGE = -5,    /* malformed manifest, config, layout, layer (exit 1) */
	COCOIMG_EDIGEST = -6,      /* digest, size, HMAC or diff_id mismatch (exit 1) */
	COCOIMG_EESCAPE = -7,      /* a layer entry would leave the rootfs (exit 1) */
	COCOIMG_ENOTFOUND = -8,    /* image, tag, manifest or blob not found (exit 1) */
	COCOIMG_EAUTH = -9,        /* registry authentication failed (exit 1) */
	COCOIMG_EPOLICY = -10,     /* rejected by trust policy / signature (exit 3) */
	COCOIMG_ENOKEY = -11,      /* no usable key for an encrypted layer (exit 4) */
	COCOIMG_EUNSUPPORTED = -12,/* valid but unsupported feature (exit 1) */
	COCOIMG_ECANCELLED = -13,  /* a callback asked to stop, cocoimg_ctx_cancel(),
	                              or the command-timeout passed (exit 1) */
	COCOIMG_EEXIST = -14,      /* destination exists / rootfs not empty (exit 2) */
	COCOIMG_ECONFIG = -15,     /* malformed policy, registries.d, key or
	                              keyprovider file the user named (exit 2) */
	COCOIMG_ESIGLOOKUP = -16,  /* signatures could not be fetched (exit 1) */
	COCOIMG_EINTERNAL = -17    /* a bug (exit 1) */
} cocoimg_error;

/** Short static description of an error code. */
COCOIMG_API const char *cocoimg_strerror(int err);

/** The coco-img exit status for an error code (0 for COCOIMG_OK). */
COCOIMG_API int cocoimg_error_exit_code(int err);

/**
 * The error's short name, as JSON reports and `coco-img --output json`
 * name it in error.kind (docs/json.md): the enum name in lower case
 * without "COCOIMG_E" ("inval", "nokey", "policy", ...; "ok" for
 * COCOIMG_OK, "internal" for an unknown code).  Static storage.  Since 0.3.
 */
COCOIMG_API const char *cocoimg_error_kind(int err);

/* ------------------------------------------------------------------ */
/* Context                                                             */
/* ------------------------------------------------------------------ */

typedef struct cocoimg_ctx cocoimg_ctx;

/** Create a context with default configuration. */
COCOIMG_API int cocoimg_ctx_new(cocoimg_ctx **out);

/** Free a context and everything it owns. */
COCOIMG_API void cocoimg_ctx_free(cocoimg_ctx *ctx);

/**
 * The message of the last error recorded on this context, or "" if none.
 * Valid until the next call that uses the context.
 */
COCOIMG_API const char *cocoimg_ctx_last_error(const cocoimg_ctx *ctx);

/** The code of the last error recorded on this context (0 if none). */
COCOIMG_API int cocoimg_ctx_last_error_code(const cocoimg_ctx *ctx);

/**
 * Ask the operation running on ctx to stop: it fails with
 * COCOIMG_ECANCELLED at its next check (within one buffer of data while
 * bytes move, within about a second while it waits on a registry, a KBS,
 * a keyprovider, the CDH or an attestation agent, or between retries; a
 * keyprovider command is killed), after removing its staging directory
 * and partial output as for any failure.  Safe from any thread and from a signal
 * handler (one lock-free atomic store).  The request stays until
 * cocoimg_ctx_reset_cancel(): an operation started on a cancelled
 * context fails at its first check.  NULL is a no-op.  (Since 0.3.)
 */
COCOIMG_API void cocoimg_ctx_cancel(cocoimg_ctx *ctx);

/** Withdraw a cancellation, to use the context again.  Call it from the
 *  thread that owns the context, between operations.  (Since 0.3.) */
COCOIMG_API void cocoimg_ctx_reset_cancel(cocoimg_ctx *ctx);

/** 1 when cocoimg_ctx_cancel() was called and not reset, else 0.
 *  (Since 0.3.) */
COCOIMG_API int cocoimg_ctx_cancelled(const cocoimg_ctx *ctx);

/**
 * Set a configuration value by name.  Registry-related keys may be
 * prefixed with "src." or "dest." to apply to one side of a copy only;
 * the unprefixed key applies to both sides.  Values are copied.  NULL
 * resets a key to its default.
 *
 *   key                 default / meaning
 *   authfile            $REGISTRY_AUTH_FILE, else the containers-auth.json(5)
 *                       search order (XDG_RUNTIME_DIR, XDG_CONFIG_HOME,
 *                       ~/.docker/config.json, ~/.dockercfg)
 *   creds               USER[:PASSWORD]; overrides authfile
 *   cert-dir            /etc/containers/certs.d/HOST:PORT (also
 *                       /etc/docker/certs.d): ca.crt, client cert/key
 *   ca-cert             a PEM file of CA certificates trusted for
 *                       registries besides the system's (as cert-dir's
 *                       *.crt); a resource URI kbs:///R/T/G is fetched
 *   tls-verify          "true" (default) or "false" (also allows http)
 *   platform            OS/ARCH[/VARIANT]; default the running machine
 *   retry-times         "3"
 *   policy              /etc/containers/policy.json (used when asked to verify);
 *                       a resource URI kbs:///R/T/G is fetched (broker.h)
 *   resources           the offline_fs_kbc resources file resource URIs
 *                       are resolved from first (broker.h); unset: none
 *   cdh                 socket of a confidential-data-hub (unix:///PATH or
 *                       PATH) asked after the resource callback and before
 *                       the KBS (broker.h); unset: none
 *   kbs                 URL of a Key Broker Service resources are fetched
 *                       from after attestation (broker.h); unset: none
 *   kbs-cert            PEM CA file trusted for the KBS's HTTPS
 *   attester            evidence for the KBS: "tsm", "sample" or
 *                       "aa:SOCKET" (attestation agent) (broker.h)
 *   require-encrypted   "true": refuse (COCOIMG_EPOLICY) an image with a
 *                       layer that is not encrypted, before any layer is
 *                       fetched: unpack, copy (every image an index lists,
 *                       before the destination is opened) and verify;
 *                       default "false"
 *   registries.d        /etc/containers/registries.d
 *   keyprovider-config  $OCICRYPT_KEYPROVIDER_CONFIG
 *   keyprovider-timeout seconds, "60"
 *   proxy               proxy URL; default from HTTPS_PROXY / NO_PROXY
 *   tmpdir              directory for spooled blobs; $TMPDIR, else /var/tmp
 *   parallel            concurrent blob transfers, "3"
 *   threads             the most threads an operation runs at once, the
 *                       caller's own included: "1" starts no worker thread
 *                       (layers one after another, every stage and
 *                       callback on the caller's thread; unpack downloads
 *                       a layer larger than 1 MiB whole into tmpdir before
 *                       applying it), "N" at most N - 1 workers; "0" or
 *                       "auto" (the default): as many as the stages use,
 *                       sized from the usable CPUs.  The results are the
 *                       same whatever the setting.  Anything else is
 *                       COCOIMG_EINVAL.  No "src."/"dest." prefix.
 *   user-agent          "coco-img/VERSION"
 *
 * Caps and deadlines against a hostile registry or image (SECURITY.md);
 * durations take "90", "90s", "500ms", "5m", "1h30m", sizes "512M", "4G":
 *   command-timeout     none; the per-operation deadline: every operation
 *                       must end within it, counted from its start (the
 *                       registry exchanges, retries and backoffs included);
 *                       once passed it fails with COCOIMG_ECANCELLED.  One
 *                       mechanism with cocoimg_ctx_cancel()
 *   metadata-timeout    "60s"; one exchange of a manifest, token, config,
 *                       signature or error body
 *   min-rate            "1K" bytes/s a download must average over
 *   stall-timeout       "30s" (or $COCOIMG_STALL_TIMEOUT seconds), else it
 *                       is abandoned and resumed or retried
 *   max-layer-size      "32G" unpacked (tar) bytes of one layer
 *   max-image-size      "64G" unpacked (tar) bytes of all layers
 *   max-entries         "4000000" tar entries of all layers together
 *   max-layers          "1000" layers in one image manifest
 *   max-manifest-size   "4M" a manifest or index (as containers/image)
 *   max-config-size     "4M" an image config (as containers/image)
 *   max-signature-size  "4M" one signature: lookaside, cosign layer
 *   max-signature-payload-size
 *                       "4M" what the compressed packets of one OpenPGP
 *                       (simple signing) signature inflate to, together
 *   max-token-size      "1M" a bearer token response
 *   max-error-body      "64K" of a registry error body are read, then
 *                       the transfer is ended (the message says so)
 *   max-spool-size      "1G" of layers downloaded ahead of their turn
 *                       into tmpdir at one time; a layer that would pass
 *                       it waits, one larger than it is streamed in its
 *                       turn ("0": no spooling)
 * What is held in memory (manifest, config, signature, token) takes at
 * most "1G", an error body at most "16M".  A cap that trips names its key
 * in the message.  These keys take no "src."/"dest." prefix.
 *
 * Returns COCOIMG_EINVAL for an unknown key or a malformed value.
 */
COCOIMG_API int cocoimg_ctx_set(cocoimg_ctx *ctx, const char *key, const char *value);

/**
 * Read a configuration value as set (NULL when unset, i.e. the default
 * applies).  The pointer is owned by the context.
 */
COCOIMG_API const char *cocoimg_ctx_get(const cocoimg_ctx *ctx, const char *key);

typedef enum cocoimg_log_level {
	COCOIMG_LOG_ERROR = 0,
	COCOIMG_LOG_WARN = 1,
	COCOIMG_LOG_INFO = 2,
	COCOIMG_LOG_DEBUG = 3
} cocoimg_log_level;

/**
 * Log callback.  Called from the thread doing the work (possibly a worker
 * thread of the library; never with the ctx key "threads" at "1"); must
 * be thread-safe.  The message never
 * contains secrets.  Returns nothing: logging cannot stop an operation.
 */
typedef void (*cocoimg_log_cb)(cocoimg_log_level level, const char *msg, void *payload);

/** Install a log callback; messages above max_level are not produced. */
COCOIMG_API void cocoimg_ctx_set_log(cocoimg_ctx *ctx, cocoimg_log_cb cb,
                                     cocoimg_log_level max_level, void *payload);

/**
 * What is happening to the bytes a progress report counts (since 0.3).
 * Each layer is reported through each of its phases, and each (layer,
 * phase) pair ends with exactly one report with finished = 1.
 */
typedef enum cocoimg_progress_phase {
	COCOIMG_PHASE_OTHER = 0,    /* none of the below */
	/** fetched from a registry or layout: cocoimg_unpack's later layers
	 *  into their spool file, a copy's blobs to a local destination */
	COCOIMG_PHASE_DOWNLOAD = 1,
	/** decrypted into the destination (decrypt, copy with decryption
	 *  keys); bytes of the encrypted source blob */
	COCOIMG_PHASE_DECRYPT = 2,
	/** checked, decrypted when encrypted, decompressed and written into
	 *  the rootfs (cocoimg_unpack); bytes of the blob as stored.  A layer
	 *  streamed straight from the registry has no separate download */
	COCOIMG_PHASE_APPLY = 3,
	/** sent to a registry (copy, encrypt or decrypt to docker://) */
	COCOIMG_PHASE_UPLOAD = 4,
	/** encrypted into the destination; bytes of the plaintext source */
	COCOIMG_PHASE_ENCRYPT = 5
} cocoimg_progress_phase;

/** Progress report for one blob transfer. */
typedef struct cocoimg_progress {
	unsigned version;          /* 2 since 0.3 (fields below marked "v2"); 1 before */
	const char *digest;        /* blob being transferred (of the source) */
	const char *what;          /* "layer" or "config" */
	uint64_t done;             /* bytes so far */
	uint64_t total;            /* expected total, 0 if unknown */
	int finished;              /* 1 on the last report for this blob and phase */
	/* v2 */
	int phase;                 /* cocoimg_progress_phase */
	const char *phase_name;    /* "download", "decrypt", "apply", "upload",
	                              "encrypt" or "other"; static storage */
	unsigned layer;            /* 1-based index of the layer in its manifest;
	                              0 when what is not "layer" */
	unsigned layers;           /* layers in that manifest; 0 likewise */
} cocoimg_progress;

/**
 * Progress callback; may be called from worker threads (several layers
 * at once; with the ctx key "threads" at "1" only on the caller's thread), at most every few MiB and once with finished = 1 per layer
 * and phase.  The struct and its strings are valid during the call only;
 * read the v2 fields only when p->version >= 2.  Return 0 to carry on;
 * non-zero stops the operation (COCOIMG_ECANCELLED, see "Callbacks" at
 * the top of this file).
 */
typedef int (*cocoimg_progress_cb)(const cocoimg_progress *p, void *payload);

COCOIMG_API void cocoimg_ctx_set_progress(cocoimg_ctx *ctx, cocoimg_progress_cb cb,
                                          void *payload);

#ifdef __cplusplus
}
#endif

#include <cocoimg/image.h>
#include <cocoimg/crypt.h>
#include <cocoimg/trust.h>
#include <cocoimg/unpack.h>
#include <cocoimg/broker.h>

#endif /* COCOIMG_H */
