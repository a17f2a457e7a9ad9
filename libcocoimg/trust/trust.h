/*
 * libcocoimg trust/: internal interfaces between the policy engine
 * (policy_parse.c/policy_eval.c, identity rules, simple signing / OpenPGP)
 * and the cosign code (cosign.c, signing).  Not installed.
 */
#ifndef COCO_TRUST_H
#define COCO_TRUST_H

#include "../base.h"
#include "../json.h"
#include "../oci/oci.h"
#include "../oci/referrers.h"
#include "../ref.h"
#include "sigstore.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

/* One cosign signature as found in a sigstore attachment (one layer of the
 * sha256-<hex>.sig manifest), already fetched and digest-checked. */
typedef struct coco_sigstore_sig {
	coco_buf payload;          /* the layer blob: simple-signing JSON */
	char *signature_b64;       /* annotation dev.cosignproject.cosign/signature */
	char *cert_pem;            /* dev.sigstore.cosign/certificate (may be NULL) */
	char *chain_pem;           /* dev.sigstore.cosign/chain (may be NULL) */
	char *bundle_json;         /* dev.sigstore.cosign/bundle (may be NULL) */
	char *rfc3161_json;        /* dev.sigstore.cosign/rfc3161timestamp (may be NULL) */
} coco_sigstore_sig;

void coco_sigstore_sigs_free(coco_sigstore_sig *sigs, size_t n);

/*
 * How trust/ gets signature material.  The operation (image_trust.c) fills
 * this with callbacks over its sources (registry, OCI layout, HTTP, local
 * files); trust/ never opens a source or talks to the network, it only
 * parses and verifies the bytes these return.  A NULL callback means that
 * kind of store does not exist for the image (nothing is found there).
 * Failures set a message on ctx.  New stores (e.g. "referrers of digest D"
 * for Sigstore bundles) are added as new members at the end.
 */
typedef struct coco_sig_fetcher {
	void *payload;
	/* The manifest tagged `tag` in the image's repository or layout (the
	 * sigstore attachment "sha256-<hex>.sig").  0 with its bytes and media
	 * type (malloc'd, may be NULL), COCOIMG_ENOTFOUND when there is none,
	 * other codes on failure. */
	int (*get_manifest)(void *payload, cocoimg_ctx *ctx, const char *tag, coco_buf *out,
	                    char **media_type);
	/* Blob d of the repository or layout the last get_manifest read from:
	 * at most max bytes, size and digest checked against d. */
	int (*get_blob)(void *payload, cocoimg_ctx *ctx, const coco_desc *d, size_t max,
	                coco_buf *out);
	/* One lookaside signature (url from coco_lookaside_url: file:// or
	 * http(s)://): 1 with its bytes (at most max), 0 when there is none
	 * (missing file, HTTP 404), <0 (COCOIMG_ESIGLOOKUP, ...) on failure. */
	int (*get_lookaside)(void *payload, cocoimg_ctx *ctx, const char *url, size_t max,
	                     coco_buf *out);
	/* The referrers of manifest `digest` in the image's repository or
	 * layout (oci/referrers.h: the referrers API, else the referrers tag
	 * schema; a layout's index.json), only of artifact_type when not
	 * NULL.  0 (maybe none), <0 on failure. */
	int (*list_referrers)(void *payload, cocoimg_ctx *ctx, const char *digest,
	                      const char *artifact_type, coco_referrers *out);
	/* Manifest `digest` of the image's repository or layout (a referrer),
	 * checked against the digest, at most max-manifest-size bytes; later
	 * get_blob calls read from that repository or layout. */
	int (*get_referrer)(void *payload, cocoimg_ctx *ctx, const char *digest, coco_buf *out);
} coco_sig_fetcher;

/*
 * cosign_attachment.c: the cosign signatures of the image manifest
 * `digest`: the sigstore attachment (tag "sha256-<hex>.sig") read through
 * f->get_manifest and its simple-signing layers through f->get_blob.  No
 * attachment is not an error: *n = 0 (also for sha512 digests, which give
 * no valid tag).  A failed lookup is COCOIMG_ESIGLOOKUP.
 */
int coco_cosign_attachment_sigs(cocoimg_ctx *ctx, const coco_sig_fetcher *f, const char *digest,
                                coco_sigstore_sig **out, size_t *n);

/*
 * cosign.c: verify one signature with any of keys (public keys from the
 * policy).  On success 0, and the payload's claimed manifest digest and
 * docker reference (malloc'd).  COCOIMG_EPOLICY with a reason when the
 * cryptographic check or payload format fails.
 */
int coco_cosign_verify(cocoimg_ctx *ctx, const coco_sigstore_sig *sig, EVP_PKEY *const *keys,
                       size_t n_keys, char **manifest_digest, char **docker_reference);

/* cosign.c: load public keys (PEM, several per file allowed) for a
 * sigstoreSigned requirement.  COCOIMG_ECONFIG on malformed key data. */
int coco_pubkeys_load_pem(cocoimg_ctx *ctx, const unsigned char *pem, size_t len,
                          EVP_PKEY ***keys, size_t *n);
void coco_pubkeys_free(EVP_PKEY **keys, size_t n);

/* ------------------------------------------------------------------ */
/* cosign (cosign.c, cosign_key.c, cosign_sign.c): additions           */
/* ------------------------------------------------------------------ */

#define COCO_COSIGN_SIMPLESIGNING_MT "application/vnd.dev.cosign.simplesigning.v1+json"
#define COCO_COSIGN_ANN_SIGNATURE "dev.cosignproject.cosign/signature"
#define COCO_COSIGN_ANN_CERTIFICATE "dev.sigstore.cosign/certificate"
#define COCO_COSIGN_ANN_CHAIN "dev.sigstore.cosign/chain"
#define COCO_COSIGN_ANN_BUNDLE "dev.sigstore.cosign/bundle"
#define COCO_COSIGN_ANN_RFC3161 "dev.sigstore.cosign/rfc3161timestamp"
/* Most signature layers read from / written to one attachment (cosign's
 * own limit when appending). */
#define COCO_COSIGN_MAX_LAYERS 1000

/* "sha256:<hex>" -> "sha256-<hex>.sig" (malloc'd), NULL if the digest is
 * malformed. */
char *coco_cosign_attachment_tag(const char *digest);
/* go-digest's Parse as signature payloads use it: sha256, sha384 or sha512
 * and lower-case hex of the right length. */
bool coco_go_digest_valid(const char *s);
/* Copy a payload's claims (manifest digest, docker reference) for the
 * caller: 0, or out of memory (recorded on ctx, both outputs NULL). */
int coco_payload_claims_copy(cocoimg_ctx *ctx, const char *digest, const char *ref,
                             char **digest_out, char **ref_out);

/*
 * Strict parse of a cosign payload with containers/image's rules for
 * sigstore payloads (exact critical/optional fields, type "cosign container
 * image signature", optional null or an object with string creator and
 * integer timestamp, docker-manifest-digest a valid digest).  Outputs are
 * malloc'd.  COCOIMG_EPOLICY with the reason.
 */
int coco_cosign_payload_parse(cocoimg_ctx *ctx, const void *data, size_t len,
                              char **manifest_digest, char **docker_reference);

/*
 * containers/image's stored form of one sigstore signature (dir: layouts,
 * the fixtures): 0x00 "sigstore-json" '\n' {"mimeType","payload","annotations"}.
 * Fills *out (free with coco_sigstore_sigs_free(out, 1)) and *mime_type
 * (malloc'd).  COCOIMG_EBADIMAGE when malformed.
 */
int coco_sigstore_sig_from_blob(cocoimg_ctx *ctx, const void *blob, size_t len,
                                coco_sigstore_sig *out, char **mime_type);

/* The signature annotations of one attachment layer (or of the stored
 * form) into s: 0, COCOIMG_EBADIMAGE (non-string values), ENOMEM. */
int coco_sigstore_sig_from_annotations(json_t *annotations, coco_sigstore_sig *s);

/* The Rekor bundle annotation (dev.sigstore.cosign/bundle), parsed with
 * containers/image's strictness (exactly these keys at both levels). */
typedef struct coco_rekor_bundle {
	char *set_b64;             /* SignedEntryTimestamp */
	char *body_b64;            /* Payload.body */
	int64_t integrated_time;   /* Payload.integratedTime */
	int64_t log_index;         /* Payload.logIndex */
	char *log_id;              /* Payload.logID */
} coco_rekor_bundle;

int coco_rekor_bundle_parse(cocoimg_ctx *ctx, const char *json, coco_rekor_bundle *out);
void coco_rekor_bundle_clear(coco_rekor_bundle *b);

/* coco_pki_trust (policy "pki") is in sigstore.h. */

/*
 * What a sigstoreSigned requirement trusts, as containers/image's
 * prSigstoreSigned (policy_eval_sigstore.go), plus a sigstore trusted root:
 *
 *   keys                  the signature must verify with one of them; with
 *                         rekor_keys (or tlog_root) the bundle annotation's
 *                         SET must log that key, signature and payload
 *   fulcio                the certificate annotation chains to fulcio_root's
 *                         CAs at the SET's integrated time, its OIDC issuer
 *                         and e-mail SAN are oidc_issuer / subject_email, or
 *                         (match set) cosign's identity/issuer rules
 *   pki                   the certificate chains to pki->roots now, with
 *                         the e-mail / hostname asked for
 *
 * rekor_keys (policy rekorPublicKey*, ECDSA): any of them may have signed
 * the SET (the logID is not looked at, as in containers/image).  tlog_root
 * (trustedRootPath / --trusted-root): the log named by the SET's logID,
 * valid at its integrated time; keyless certificates then also need an
 * embedded SCT from one of its CT logs (as cosign checks).  With a
 * tlog_root that lists timestamp authorities, an RFC 3161 timestamp
 * annotation (cosign_tsa.c) is verified too and proves a signing time
 * as the SET does: either one satisfies the log requirement, and the
 * certificate must be valid at every time proven.
 */
typedef struct coco_cosign_trust {
	EVP_PKEY *const *keys;     /* keyPath/keyPaths/keyData/keyDatas */
	size_t n_keys;
	EVP_PKEY *const *rekor_keys; /* rekorPublicKey* (ECDSA) */
	size_t n_rekor_keys;
	const coco_trustroot *tlog_root;
	bool fulcio;               /* requirement has "fulcio" */
	const coco_trustroot *fulcio_root;
	const char *oidc_issuer;
	const char *subject_email;
	const coco_sigstore_policy *match;
	bool pki;                  /* requirement has "pki" */
	const coco_pki_trust *pki_trust;
	int64_t now;               /* PKI chain time (0 = now) */
	/* cosign --insecure-ignore-tlog: no SET is required or read, a Fulcio
	 * certificate is checked at `now`; --insecure-ignore-sct. */
	bool ignore_tlog;
	bool ignore_sct;
} coco_cosign_trust;

/*
 * Verify one legacy cosign signature against trust.  0 with the payload's
 * claims (malloc'd); COCOIMG_EPOLICY with the reason on ctx and, when
 * failed is not NULL, the check that refused it (sigstore.h's
 * coco_sigcheck: signature, tlog, chain, sct, timestamp, identity,
 * issuer).  COCOIMG_ENOMEM.
 */
int coco_cosign_verify_ex(cocoimg_ctx *ctx, const coco_sigstore_sig *sig,
                          const coco_cosign_trust *trust, char **manifest_digest,
                          char **docker_reference, coco_sigcheck *failed);

/*
 * cosign_set.c: the Rekor SET of a legacy signature (the bundle annotation
 * set_json, containers/image's VerifyRekorSET): signed by one of
 * trust->rekor_keys (or by trust->tlog_root's log named by the logID, valid
 * at the integrated time), its hashedrekord 0.0.1 body logging exactly
 * this signer (signer_der: the DER of the certificate annotation's one PEM
 * block, or the key's SubjectPublicKeyInfo), this signature and the
 * SHA-256 of this payload.  0 and *integrated_time, or COCOIMG_EPOLICY.
 */
int coco_cosign_set_verify(cocoimg_ctx *ctx, const coco_cosign_trust *trust,
                           const char *set_json, const unsigned char *signer_der,
                           size_t signer_der_len, const unsigned char *sig, size_t sig_len,
                           const coco_buf *payload, int64_t *integrated_time);

/*
 * cosign_cert.c: the signer's key from the certificate annotations of a
 * legacy signature (trust->fulcio or trust->pki), after the SET when one
 * is required.  *key is up-ref'd for the caller.  0, COCOIMG_EPOLICY with
 * *failed set, COCOIMG_ENOMEM.
 */
int coco_cosign_cert_key(cocoimg_ctx *ctx, const coco_sigstore_sig *sig,
                         const coco_cosign_trust *trust, const unsigned char *raw_sig,
                         size_t raw_sig_len, EVP_PKEY **key, coco_sigcheck *failed);

/*
 * cosign_tsa.c: the RFC 3161 timestamp annotation of a legacy signature
 * (COCO_COSIGN_ANN_RFC3161: {"SignedRFC3161Timestamp": base64 DER}).
 * parse: the DER bytes (appended to der), or COCOIMG_EPOLICY when the
 * annotation is malformed.  verify: the token stamps raw_sig (the decoded
 * signature annotation) and is signed by one of root's timestamp
 * authorities (tsa.c); 0 and its time in *at, or COCOIMG_EPOLICY.
 */
int coco_cosign_rfc3161_parse(cocoimg_ctx *ctx, const char *json, size_t len, coco_buf *der);
int coco_cosign_rfc3161_verify(cocoimg_ctx *ctx, const coco_trustroot *root, const char *json,
                               const unsigned char *raw_sig, size_t raw_sig_len, int64_t *at);
/* The timestamp annotation of sig counts under t: there is one and t has
 * a trusted root that lists timestamp authorities (cosign checks
 * timestamps only when it is given TSAs). */
bool coco_cosign_rfc3161_usable(const coco_sigstore_sig *sig, const coco_cosign_trust *t);

/* Go's base64.StdEncoding.DecodeString as cosign.c uses it (padding
 * required, CR/LF ignored): 0, COCOIMG_EINVAL, COCOIMG_ENOMEM.  As
 * coco_b64_decode, an empty out is still empty after a failure. */
int coco_go_b64_decode(const char *in, size_t len, coco_buf *out);

/* One PEM block and nothing after it (Go's pem.Decode with an empty rest):
 * its DER bytes.  0 or COCOIMG_EINVAL; COCOIMG_ENOMEM. */
int coco_pem_single_der(const char *pem, coco_buf *der);

/* cosign_key.c: the passphrase in a file: its first line without the
 * '\n' (containers/common ReadPassphraseFile, used by skopeo). */
int coco_passphrase_read_file(cocoimg_ctx *ctx, const char *path, char **out);

/*
 * cosign_key.c: load a private key for signing: PEM PKCS#8 ("PRIVATE KEY",
 * "ENCRYPTED PRIVATE KEY"), SEC1 ("EC PRIVATE KEY"), PKCS#1, or cosign's
 * "ENCRYPTED SIGSTORE PRIVATE KEY" / "ENCRYPTED COSIGN PRIVATE KEY".
 * passphrase may be NULL.  EC (P-256/P-384/P-521), RSA and Ed25519 keys.
 * `what` names the key in errors.  COCOIMG_ECONFIG for malformed keys and
 * wrong passphrases ("cannot decrypt key"), COCOIMG_EUNSUPPORTED without
 * libsodium.
 */
int coco_cosign_privkey_load(cocoimg_ctx *ctx, const unsigned char *pem, size_t len,
                             const char *passphrase, const char *what, EVP_PKEY **out);

/* cosign_key.c: 1 when the PEM private key needs a passphrase (cosign's
 * encrypted formats, encrypted PKCS#8, or a "Proc-Type: 4,ENCRYPTED"
 * header), 0 when not (or when it is no PEM at all: loading says why). */
int coco_cosign_privkey_encrypted(const unsigned char *pem, size_t len);

/*
 * cosign_keygen.c: what `cosign generate-key-pair` writes: a new ECDSA
 * P-256 key as "ENCRYPTED SIGSTORE PRIVATE KEY" PEM (scrypt N=65536 r=8
 * p=1, nacl/secretbox; passphrase NULL = empty) and its PKIX public key
 * PEM, both malloc'd.  COCOIMG_EUNSUPPORTED without libsodium.
 */
int coco_cosign_keypair_generate(cocoimg_ctx *ctx, const char *passphrase, char **priv_pem,
                                 char **pub_pem);
/* Encrypt a PKCS#8 DER private key into cosign's PEM format (as above). */
int coco_cosign_key_encrypt(cocoimg_ctx *ctx, const unsigned char *der, size_t der_len,
                            const char *passphrase, char **pem);
/* A public key as a PKIX "PUBLIC KEY" PEM block (Go's layout). */
int coco_cosign_pubkey_pem(cocoimg_ctx *ctx, EVP_PKEY *k, char **pem);

/*
 * cosign_bundle_sign.c: what cosign v3 writes for an image (see the file's
 * header): the Sigstore bundle v0.3 with a DSSE envelope of the in-toto
 * statement for manifest `digest` ("sha256:HEX"), signed with key, no
 * tlog entry (appended to out); and the referrer manifest carrying it
 * (created: RFC 3339 UTC), appended to out.
 */
#define COCO_SIGSTORE_BUNDLE_V03_MT "application/vnd.dev.sigstore.bundle.v0.3+json"
#define COCO_COSIGN_SIGN_PREDICATE "https://sigstore.dev/cosign/sign/v1"
int coco_cosign_bundle_v3_build(cocoimg_ctx *ctx, EVP_PKEY *key, const char *digest,
                                coco_buf *out);
/* The same in two steps, for a bundle with a transparency-log entry or a
 * certificate: sign the statement (the envelope JSON as the bundle and a
 * dsse log entry carry it), then write the bundle whose verification
 * material is cert (DER, the leaf only, as v0.3 wants) or else key's hint,
 * with tlog_entry (protobuf JSON, may be NULL) as its one tlog entry. */
typedef struct coco_cosign_dsse {
	char *statement;           /* the in-toto statement (DSSE payload) */
	unsigned char *sig;        /* signature over the PAE */
	size_t sig_len;
	char *envelope;            /* {"payload","payloadType","signatures":[{"sig"}]} */
} coco_cosign_dsse;
int coco_cosign_dsse_sign(cocoimg_ctx *ctx, EVP_PKEY *key, const char *digest,
                          coco_cosign_dsse *out);
void coco_cosign_dsse_clear(coco_cosign_dsse *d);
int coco_cosign_bundle_v3_json(cocoimg_ctx *ctx, const coco_cosign_dsse *d, EVP_PKEY *key,
                               X509 *cert, json_t *tlog_entry, coco_buf *out);
int coco_cosign_bundle_manifest_build(cocoimg_ctx *ctx, const char *bundle_digest,
                                      int64_t bundle_size, const char *subject_mt,
                                      const char *subject_digest, int64_t subject_size,
                                      const char *created, coco_buf *out);

/* cosign's encrypted key body (go-securesystemslib "encrypted" JSON). */
typedef struct coco_cosign_encrypted {
	int64_t n, r, p;           /* scrypt parameters */
	coco_buf salt;
	coco_buf nonce;            /* 24 bytes */
	coco_buf ciphertext;       /* secretbox: 16-byte tag || encrypted */
} coco_cosign_encrypted;

int coco_cosign_encrypted_parse(cocoimg_ctx *ctx, const void *json, size_t len,
                                const char *what, coco_cosign_encrypted *out);
void coco_cosign_encrypted_clear(coco_cosign_encrypted *e);

/* ------------------------------------------------------------------ */
/* Sigstore bundles attached to images (bundle_attach.c, bundle_image.c) */
/* ------------------------------------------------------------------ */

/* Media types of Sigstore bundles ("application/vnd.dev.sigstore.bundle"
 * followed by ".v0.3+json" or "+json;version=0.x"). */
#define COCO_MT_SIGSTORE_BUNDLE_PREFIX "application/vnd.dev.sigstore.bundle"
/* The in-toto predicate type of a cosign v3 image signature. */
#define COCO_COSIGN_SIGN_PREDICATE "https://sigstore.dev/cosign/sign/v1"

/* Forward declarations (policy.h, sigstore.h). */
struct coco_trust_sigs;
struct coco_sigstore_policy;
struct coco_sigstore_result;

/*
 * bundle_attach.c: the Sigstore bundles attached to manifest `digest` as
 * OCI referrers, read through f (list_referrers, get_referrer, get_blob),
 * appended to sigs as COCO_SIG_BUNDLE signatures.  Referrers that are not
 * bundle manifests are skipped; a bundle manifest whose subject is not
 * `digest` is kept with its `problem` set.  A store without referrers
 * gives none.  COCOIMG_ESIGLOOKUP when a lookup fails.
 */
int coco_bundle_attachment_sigs(cocoimg_ctx *ctx, const coco_sig_fetcher *f, const char *digest,
                                struct coco_trust_sigs *sigs);

/*
 * bundle_image.c: verify bundle (JSON bytes) as a signature of the image
 * whose manifest is manifest[0..manifest_len) with any of pols (one per
 * trusted key; keyless requirements add theirs): the bundle verifies
 * (coco_sigstore_verify_bundle) and binds the manifest digest: a DSSE
 * in-toto statement of predicate type COCO_COSIGN_SIGN_PREDICATE with the
 * digest as a subject, or a message signature over the manifest.  0 with
 * *res of the accepting policy; COCOIMG_EPOLICY with res->failed the most
 * telling failed check and *why (malloc'd) its message; other codes on
 * errors (ENOMEM, EINVAL for an unusable policy).
 */
int coco_bundle_image_verify(cocoimg_ctx *ctx, const void *bundle, size_t len,
                             const unsigned char *manifest, size_t manifest_len,
                             const struct coco_sigstore_policy *pols, size_t n_pols,
                             struct coco_sigstore_result *res, char **why);

/* cosign_sign.c: the payload cosign writes, byte for byte (malloc'd). */
char *coco_cosign_payload_build(const char *identity, const char *digest);
/* The identity cosign signs for a reference: its repository in
 * go-containerregistry form (Docker Hub as index.docker.io/...). */
char *coco_cosign_identity_for(const coco_dref *r);
/* Sign payload bytes as cosign does (ECDSA/RSA PKCS#1 v1.5 over SHA-256,
 * pure Ed25519); *sig_b64 is the annotation value. */
int coco_cosign_sign_payload(cocoimg_ctx *ctx, EVP_PKEY *key, const void *payload, size_t len,
                             char **sig_b64);
/* Verify one signature with one key (the primitive under
 * coco_cosign_verify): 1 valid, 0 not, <0 error. */
int coco_cosign_verify_raw(EVP_PKEY *key, const unsigned char *sig, size_t sig_len,
                           const void *payload, size_t len);

/*
 * cosign_sign.c: the attachment manifest and config after appending one
 * signature layer, laid out as cosign (go-containerregistry) writes them.
 * old_manifest/old_config NULL = a new attachment.  Outputs malloc'd.
 */
int coco_cosign_attachment_build(cocoimg_ctx *ctx, const void *old_manifest, size_t old_manifest_len,
                                 const void *old_config, size_t old_config_len,
                                 const char *payload_digest, size_t payload_size,
                                 const char *sig_b64, coco_buf *manifest, coco_buf *config);
/* The same with the new layer's annotations given whole (the signature,
 * and cosign's dev.sigstore.cosign/bundle, /certificate, /chain when
 * logged or keyless), in the order they are to be written (sorted by key,
 * as Go writes a map). */
int coco_cosign_attachment_build_ann(cocoimg_ctx *ctx, const void *old_manifest,
                                     size_t old_manifest_len, const void *old_config,
                                     size_t old_config_len, const char *payload_digest,
                                     size_t payload_size, json_t *annotations,
                                     coco_buf *manifest, coco_buf *config);

#endif
