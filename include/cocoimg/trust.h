/* libcocoimg: trust policy and signatures.  Include <cocoimg.h>. */
#ifndef COCOIMG_TRUST_H
#define COCOIMG_TRUST_H

#ifdef __cplusplus
extern "C" {
#endif

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
} cocoimg_sign_options;

#define COCOIMG_SIGN_OPTIONS_VERSION 1
#define COCOIMG_SIGN_OPTIONS_INIT { COCOIMG_SIGN_OPTIONS_VERSION }

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
 * report (optional): JSON {"image":..., "signatures":[{"digest":
 * "sha256:...", "identity":..., "attachment": "<ref of the .sig tag>",
 * "attachment_digest": "sha256:...", "added": true|false}]}; release
 * with cocoimg_free().
 */
COCOIMG_API int cocoimg_sign(cocoimg_ctx *ctx, const char *image, const cocoimg_sign_options *opts,
                             char **report);

#ifdef __cplusplus
}
#endif
#endif
