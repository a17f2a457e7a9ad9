/* libcocoimg: trust policy and signatures.  Part of <cocoimg.h>. */
#include <cocoimg.h>

#ifndef COCOIMG_TRUST_H
#define COCOIMG_TRUST_H

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Verification (containers-policy.json)                               */
/* ------------------------------------------------------------------ */

/*
 * The verdict document ("report") of cocoimg_verify() and
 * cocoimg_verify_blobs(), a JSON object with these fields (stable):
 *
 *   image            the image as given ("docker://...", "oci:...")
 *   transport        "docker", "oci", "oci-archive" or "dir"
 *   identity         the policy identity of the image (docker: the fully
 *                    expanded reference, ":latest" added to a bare name;
 *                    layouts: the resolved absolute path)
 *   manifest_digest  digest of the image manifest the signatures must
 *                    vouch for (for an index: the selected instance)
 *   scope            which requirement list applied: "default" or
 *                    "transports.docker[\"registry.example.com/team\"]"
 *   verdict          "accepted", "rejected" or "lookup-failed"
 *   accepted         true / false
 *   requirements     one object per requirement of the chosen list:
 *     index, type    position and type ("signedBy", "sigstoreSigned",
 *                    "insecureAcceptAnything", "reject", ...)
 *     outcome        "accepted", "rejected" or "not-evaluated" (after the
 *                    first rejection evaluation stops, as in Go)
 *     reason         a stable code:
 *                      insecure-accept-anything, trusted-signature,
 *                      rejected-by-policy   (a "reject" requirement)
 *                      no-signature         (the image has no signature)
 *                      no-trusted-signature (signatures exist, none made
 *                                            by a trusted key, or invalid)
 *                      wrong-image-or-identity (a trusted key signed
 *                                            another manifest digest or
 *                                            another identity)
 *                      lookup-failed        (signatures could not be read)
 *                      invalid-signature    (a stored signature blob is
 *                                            not in any known format)
 *                      key-error            (policy keys missing/unusable)
 *                      unsupported          (X509 keyTypes, signedBaseLayer)
 *     message        human-readable reason
 *     signer         (signedBy, accepted) primary key fingerprint
 *     key_type, signed_identity, trusted_keys   (signature requirements)
 *     signatures     per signature tried: source (file or URL), format
 *                    ("simple-signing" / "sigstore" / "sigstore-bundle"),
 *                    outcome, reason, message, signer (when the key was
 *                    trusted); sigstore signatures and bundles add
 *                    failed_check ("" when accepted, else "signature",
 *                    "digest", "bundle", "chain", "sct", "tlog",
 *                    "timestamp", "identity", "issuer"); bundles add
 *                    identity "digest-bound" (docs/bundles.md)
 */

/**
 * Evaluate the trust policy for `image` ("docker://REF", "oci:DIR[:TAG]",
 * "oci-archive:FILE[:TAG]") exactly as containers/image does: resolve the
 * reference to its image manifest (for an index: the instance for the
 * ctx "platform"), gather its signatures (lookaside per registries.d for
 * docker://, sigstore attachments and Sigstore bundles attached as OCI
 * referrers when use-sigstore-attachments is set)
 * and run the requirements of the most specific policy scope.
 *
 * policy_path NULL: the ctx "policy" option, else
 * $HOME/.config/containers/policy.json when it exists, else
 * /etc/containers/policy.json.  registries.d: the ctx "registries.d"
 * option, else $HOME/.config/containers/registries.d when it exists,
 * else /etc/containers/registries.d.
 *
 * Returns 0 when the policy accepts the image, COCOIMG_EPOLICY when it
 * rejects it, COCOIMG_ESIGLOOKUP when the signatures could not be read,
 * COCOIMG_ECONFIG for a missing or malformed policy / registries.d file
 * (the message names the file and the place), other codes when the image
 * itself cannot be read.  report (optional) receives the verdict document
 * above whenever the policy was evaluated (also on rejection); release
 * it with cocoimg_free().
 */
COCOIMG_API int cocoimg_verify(cocoimg_ctx *ctx, const char *image, const char *policy_path,
                               char **report);

/** Input of cocoimg_verify_blobs(). */
typedef struct cocoimg_verify_input {
	unsigned version;              /* COCOIMG_VERIFY_INPUT_VERSION */
	/* The image reference the policy sees (scope and identity rules):
	 * "docker://REF", "oci:DIR[:TAG]", "oci-archive:FILE[:TAG]" or
	 * "dir:DIR".  Nothing is fetched. */
	const char *image;
	/* The image manifest bytes exactly as served. */
	const unsigned char *manifest;
	size_t manifest_len;
	/* Stored signature blobs, each in containers/image's format: an
	 * OpenPGP signed message (simple signing) or the 0x00-prefixed
	 * "simple-signing" / "sigstore-json" envelopes. */
	const unsigned char *const *signatures;
	const size_t *signature_lens;
	size_t n_signatures;
	/* The policy: a file, or the JSON bytes (policy_json wins). */
	const char *policy_path;
	const char *policy_json;
	size_t policy_json_len;
	/* Unix time to evaluate expiry at; 0 = now. */
	int64_t now;
} cocoimg_verify_input;

#define COCOIMG_VERIFY_INPUT_VERSION 1
/* Every field spelled out (valid C89 and C++, quiet under -Wextra). */
#define COCOIMG_VERIFY_INPUT_INIT                                            \
	{ COCOIMG_VERIFY_INPUT_VERSION, NULL, NULL, 0, NULL, NULL, 0, NULL, NULL, 0, 0 }

/**
 * Initialise *in to the defaults of the given version (pass
 * COCOIMG_VERIFY_INPUT_VERSION), like COCOIMG_VERIFY_INPUT_INIT.  Returns
 * 0, or COCOIMG_EINVAL for a NULL in or an unknown version.
 */
COCOIMG_API int cocoimg_verify_input_init(cocoimg_verify_input *in, unsigned version);

/**
 * Evaluate a policy for an image given as bytes (manifest + signatures):
 * for runtimes that fetched the image themselves, and for tests.  Same
 * return codes and report as cocoimg_verify().
 */
COCOIMG_API int cocoimg_verify_blobs(cocoimg_ctx *ctx, const cocoimg_verify_input *in,
                                     char **report);

/* ------------------------------------------------------------------ */
/* Signing (cosign format)                                             */
/* ------------------------------------------------------------------ */

/**
 * Options for cocoimg_sign().  Exactly one of key_path / key_pem.
 */
typedef struct cocoimg_sign_options {
	unsigned version;              /* COCOIMG_SIGN_OPTIONS_VERSION */
	/* PEM private key file: PKCS#8 ("PRIVATE KEY", "ENCRYPTED PRIVATE
	 * KEY"), SEC1 ("EC PRIVATE KEY"), PKCS#1, or cosign's encrypted
	 * format ("ENCRYPTED SIGSTORE PRIVATE KEY" / "ENCRYPTED COSIGN
	 * PRIVATE KEY").  ECDSA P-256/P-384/P-521, RSA >= 2048, Ed25519. */
	const char *key_path;
	/* ... or the same PEM bytes in memory. */
	const unsigned char *key_pem;
	size_t key_pem_len;
	/* Passphrase for an encrypted key: a file whose first line (without
	 * its newline) is the passphrase, or the passphrase itself.  NULL
	 * for none; passphrase wins when both are set. */
	const char *passphrase_file;
	const char *passphrase;
	/* Signed identity (critical.identity.docker-reference).  NULL: the
	 * repository without tag, as cosign writes it (Docker Hub spelled
	 * index.docker.io/...).  Must parse as a docker reference; written
	 * verbatim. */
	const char *sign_identity;
	/* When the reference names an image index: also sign every manifest
	 * the index lists (the index itself is always signed). */
	int recursive;
	/* Version 2: what to write (cocoimg_sign_format). */
	int bundle_format;
	/* Version 3: a Rekor v1 transparency log ("https://rekor.example"):
	 * the signature is logged there (POST /api/v1/log/entries) and the
	 * entry travels with it (a bundle's tlogEntries, or the legacy
	 * dev.sigstore.cosign/bundle annotation), as cosign's --rekor-url.
	 * NULL: no log entry (cosign then verifies with
	 * --insecure-ignore-tlog). */
	const char *rekor_url;
	/* Version 4: keyless signing, as cosign's --fulcio-url and
	 * --identity-token: instead of a key (key_path and key_pem NULL), a
	 * fresh ECDSA P-256 key that only lives in memory, certified by the
	 * Fulcio v2 at fulcio_url (POST /api/v2/signingCert) for the OIDC
	 * identity token identity_token (the token itself, a secret: never
	 * logged).  rekor_url is required with it.  A bundle carries the
	 * certificate; a legacy signature cosign's certificate and chain
	 * annotations. */
	const char *fulcio_url;
	const char *identity_token;
} cocoimg_sign_options;

/* cocoimg_sign_options.bundle_format */
typedef enum cocoimg_sign_format {
	/* cosign's `sha256-<hex>.sig` attachment (simple-signing payload) */
	COCOIMG_SIGN_LEGACY = 0,
	/* cosign v3: a Sigstore bundle v0.3 (DSSE envelope of an in-toto
	 * statement) attached as an OCI 1.1 referrer */
	COCOIMG_SIGN_BUNDLE_V3 = 1
} cocoimg_sign_format;

#define COCOIMG_SIGN_OPTIONS_VERSION 4
/* Every field spelled out (valid C89 and C++, quiet under -Wextra). */
#define COCOIMG_SIGN_OPTIONS_INIT                                            \
	{ COCOIMG_SIGN_OPTIONS_VERSION, NULL, NULL, 0, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL }

/**
 * Initialise *opts to the defaults of the given version (pass
 * COCOIMG_SIGN_OPTIONS_VERSION), like COCOIMG_SIGN_OPTIONS_INIT.  Returns
 * 0, or COCOIMG_EINVAL for a NULL opts or an unknown version.
 */
COCOIMG_API int cocoimg_sign_options_init(cocoimg_sign_options *opts, unsigned version);

/**
 * Sign the manifest `image` names (docker://... or oci:DIR[:TAG]) the way
 * `cosign sign --key` does with Rekor upload disabled: a payload
 * {"critical":{"identity":{"docker-reference":ID},"image":{
 * "docker-manifest-digest":D},"type":"cosign container image signature"},
 * "optional":null} signed with the key (ECDSA/RSA PKCS#1 v1.5 over
 * SHA-256, or Ed25519), stored as one more layer of the OCI manifest
 * tagged "sha256-<hex>.sig" in the same repository / layout.  Existing
 * signatures there are kept; an identical payload already signed by this
 * key is not added again.
 *
 * Errors: COCOIMG_EINVAL / COCOIMG_ECONFIG for bad options, key or
 * passphrase ("cannot decrypt key ..."; the passphrase never appears),
 * COCOIMG_EUNSUPPORTED for oci-archive: and for encrypted cosign keys
 * without libsodium, network / I/O codes otherwise.
 *
 * With bundle_format COCOIMG_SIGN_BUNDLE_V3 (options version 2) it writes
 * what cosign v3 writes instead: a Sigstore bundle v0.3 holding a DSSE
 * envelope of an in-toto statement (predicate type
 * https://sigstore.dev/cosign/sign/v1, subject: the manifest digest),
 * without a transparency-log entry (cosign accepts it with
 * --insecure-ignore-tlog), as the one layer of an OCI manifest whose
 * subject is the signed manifest, pushed by digest; where the registry
 * does not keep referrers itself (no OCI 1.1 referrers API: it does not
 * answer OCI-Subject) and in oci: layouts, the referrers tag schema's
 * index "sha256-<hex>" is created or updated with existing entries kept.
 * There is no signed identity in a bundle (sign_identity is not used).
 *
 * With rekor_url (options version 3) the signature is first logged in
 * that Rekor v1 log: a bundle as a dsse 0.0.1 entry, whose LogEntry
 * (SET, inclusion proof, checkpoint) becomes the bundle's one tlog entry;
 * a legacy signature as a hashedrekord 0.0.1 entry of the payload's
 * SHA-256, whose SET becomes the layer's dev.sigstore.cosign/bundle
 * annotation.  The answer must log this signature and its inclusion proof
 * must hold, else nothing is written (COCOIMG_ENET).
 *
 * With fulcio_url and identity_token (options version 4) it signs keyless:
 * a fresh P-256 key certified by that Fulcio for the token (COCOIMG_EAUTH
 * when the CA refuses the token, COCOIMG_EINVAL when the token names no
 * subject), logged in rekor_url (required); the key is freed when the
 * call returns and never written.
 *
 * report (optional): a JSON object, docs/json.md's "sign" object:
 *   "image"                  the reference, normalised
 *   "manifest_digest", "manifest_media_type"   when it names a manifest
 *   "index_digest", "index_media_type"         instead, for an index
 *   "signatures"             one entry per digest signed (with recursive,
 *                            the index first, then each instance):
 *     "signed_digest"        the manifest or index digest covered
 *     "format"               "sigstore" (a legacy .sig attachment) or
 *                            "sigstore-bundle" (a v3 bundle referrer)
 *     "added"                false when that signature was there already
 *     for "sigstore": "identity" (the docker-reference signed),
 *       "attachment" (the reference of the .sig tag), "attachment_digest"
 *     for "sigstore-bundle": "referrer_digest", "bundle_digest",
 *       "artifact_type", "referrers_tag" (the reference of the tag-schema
 *       index updated; absent when the registry keeps referrers itself)
 * Release with cocoimg_free().
 */
COCOIMG_API int cocoimg_sign(cocoimg_ctx *ctx, const char *image, const cocoimg_sign_options *opts,
                             char **report);

/**
 * 1 when the private key file at key_path needs a passphrase (cosign's
 * encrypted formats, encrypted PKCS#8, or an encrypted traditional PEM
 * key), 0 when it does not; a negative COCOIMG_E* code (recorded on ctx)
 * when the file cannot be read.  Lets a program ask for the passphrase
 * only when it is needed; cocoimg_sign() itself never asks.
 */
COCOIMG_API int cocoimg_key_needs_passphrase(cocoimg_ctx *ctx, const char *key_path);

/**
 * A new key pair as `cosign generate-key-pair` makes it: an ECDSA P-256
 * key encrypted with the passphrase (NULL or "" for none; scrypt N=65536
 * r=8 p=1 and nacl/secretbox, PEM "ENCRYPTED SIGSTORE PRIVATE KEY") and
 * its public key (PEM "PUBLIC KEY").  Both are NUL-terminated; release
 * with cocoimg_free().  Writing them (cosign.key mode 0600, cosign.pub)
 * is the caller's job.  COCOIMG_EUNSUPPORTED in builds without libsodium.
 */
COCOIMG_API int cocoimg_generate_key_pair(cocoimg_ctx *ctx, const char *passphrase,
                                          char **private_pem, char **public_pem);

/* ------------------------------------------------------------------ */
/* Sigstore bundles for any artifact (cosign verify-blob)              */
/* ------------------------------------------------------------------ */

/**
 * Options for cocoimg_verify_blob().  Either key_path, or an identity
 * (identity or identity_regexp) and an issuer (issuer or issuer_regexp)
 * with trusted_root_path.
 */
typedef struct cocoimg_verify_blob_options {
	unsigned version;              /* COCOIMG_VERIFY_BLOB_OPTIONS_VERSION */
	const char *bundle_path;       /* Sigstore bundle v0.1 .. v0.3 (JSON) */
	const char *key_path;          /* PEM public key (cosign --key) */
	/* Certificate SAN and OIDC issuer: exact strings, or POSIX extended
	 * regular expressions matched anywhere (anchor with ^...$). */
	const char *identity;
	const char *identity_regexp;
	const char *issuer;
	const char *issuer_regexp;
	/* A sigstore trusted_root.json: Fulcio CAs, Rekor keys, CT log keys,
	 * timestamp authorities.  Required for certificates and for bundles
	 * with transparency log entries; coco-img ships none. */
	const char *trusted_root_path;
	/* Key mode only: accept a bundle without verifying transparency log
	 * entries or timestamps (cosign --insecure-ignore-tlog). */
	int insecure_ignore_tlog;
	/* Keyless: do not require an embedded SCT (cosign
	 * --insecure-ignore-sct; for private CAs without a CT log). */
	int insecure_ignore_sct;
} cocoimg_verify_blob_options;

#define COCOIMG_VERIFY_BLOB_OPTIONS_VERSION 1
/* Every field spelled out (valid C89 and C++, quiet under -Wextra). */
#define COCOIMG_VERIFY_BLOB_OPTIONS_INIT                                     \
	{ COCOIMG_VERIFY_BLOB_OPTIONS_VERSION, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0 }

/**
 * Initialise *opts to the defaults of the given version (pass
 * COCOIMG_VERIFY_BLOB_OPTIONS_VERSION), like
 * COCOIMG_VERIFY_BLOB_OPTIONS_INIT.  Returns 0, or COCOIMG_EINVAL for a
 * NULL opts or an unknown version.
 */
COCOIMG_API int cocoimg_verify_blob_options_init(cocoimg_verify_blob_options *opts,
                                                 unsigned version);

/**
 * Verify a Sigstore bundle for `artifact`: a file path, or "sha256:HEX"
 * when only the digest is known.  Checks, in sigstore-go's order: the
 * signature (or DSSE envelope and its in-toto subject), every
 * transparency log entry (body, signed entry timestamp, inclusion proof
 * and checkpoint), RFC 3161 timestamps, the certificate chain at the
 * proven signing times with its embedded SCTs, then identity and issuer.
 *
 * Returns 0 when verified; COCOIMG_EPOLICY when refused; COCOIMG_EINVAL
 * for bad options or an unreadable or malformed bundle, key or trusted
 * root (COCOIMG_ECONFIG for a malformed trusted root); other codes for
 * I/O failures.
 *
 * report (optional, also on refusal): JSON {"artifact", "bundle",
 * "verified": bool, "failed_check": "" | "bundle" | "signature" |
 * "digest" | "tlog" | "timestamp" | "chain" | "sct" | "identity" |
 * "issuer", "message", "bundle_media_type", "content": "message-signature" |
 * "dsse", "payload_type", "predicate_type", "signed_time" (Unix seconds,
 * 0 when none), "identity", "issuer", "tlog_entries", "timestamps"};
 * release with cocoimg_free().
 */
COCOIMG_API int cocoimg_verify_blob(cocoimg_ctx *ctx, const char *artifact,
                                    const cocoimg_verify_blob_options *opts, char **report);

/**
 * Verify an image's cosign signatures without a policy file, as `cosign
 * verify` does: with opts->key_path the signature must verify with that
 * key (and, given trusted_root_path, its Rekor SET must be valid unless
 * insecure_ignore_tlog); keyless, the certificate must match identity /
 * identity_regexp and issuer / issuer_regexp (both required) and chain to
 * trusted_root_path's Fulcio CAs at the Rekor SET's time, with an
 * embedded SCT (unless insecure_ignore_sct).  Signatures come from the
 * sigstore attachment (sha256-<hex>.sig) whatever registries.d says.  A
 * signature's docker-reference must name the image's repository
 * (matchRepository); for an image without one (oci: layouts) the manifest
 * digest alone binds it.  opts->bundle_path is not used.
 *
 * Same return codes and report as cocoimg_verify(); COCOIMG_EINVAL (exit
 * 2) for flags that do not make a requirement (keyless without a trusted
 * root: coco-img ships no Sigstore root) or an unreadable or malformed
 * key or trusted root (COCOIMG_ECONFIG).
 */
COCOIMG_API int cocoimg_verify_cosign(cocoimg_ctx *ctx, const char *image,
                                      const cocoimg_verify_blob_options *opts, char **report);


#ifdef __cplusplus
}
#endif
#endif
