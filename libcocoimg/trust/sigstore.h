/*
 * libcocoimg trust/: Sigstore verification at the byte level (helper
 * "sig-core", issue 12).  Not installed.
 *
 *   trustroot.c  trusted_root.json (protobuf-specs TrustedRoot, JSON form)
 *   fulcio.c     certificate chain at a proven time, SAN / OIDC issuer,
 *                embedded SCTs against the CT log keys
 *   rekor.c      SET, RFC 6962 inclusion proofs, signed-note checkpoints,
 *                entry bodies (hashedrekord, dsse, intoto)
 *   tsa.c        RFC 3161 timestamp tokens
 *   bundle.c     Sigstore bundles v0.1 .. v0.3 (message signature or DSSE)
 *
 * Nothing here fetches anything: every input is bytes the caller read.
 * Times are Unix seconds.  A signature that does not verify is
 * COCOIMG_EPOLICY with a message on ctx and, where a result structure is
 * given, the name of the failed check in it.
 */
#ifndef COCO_TRUST_SIGSTORE_H
#define COCO_TRUST_SIGSTORE_H

#include "../internal.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <time.h>

/* ------------------------------------------------------------------ */
/* Trusted root (trustroot.c)                                          */
/* ------------------------------------------------------------------ */

/* Largest trusted_root.json / bundle read into memory. */
#define COCO_TRUSTROOT_MAX (4 * 1024 * 1024)
#define COCO_BUNDLE_MAX (16 * 1024 * 1024)

/* A validity window; end = INT64_MAX when open.  Both ends inclusive
 * (sigstore-conformance "trust-root-*-validity-end-inclusive"). */
typedef struct coco_validity {
	int64_t start;
	int64_t end;
} coco_validity;

/* A transparency log (Rekor) or certificate transparency log key. */
typedef struct coco_tlog_key {
	unsigned char log_id[32];  /* logId.keyId (normally SHA-256 of the DER key) */
	size_t log_id_len;
	EVP_PKEY *key;
	coco_validity valid;
	char *base_url;            /* may be NULL */
	char *origin;              /* checkpoint origin derived from baseUrl, may be NULL */
} coco_tlog_key;

/* A certificate authority (Fulcio) or timestamp authority: a chain in
 * leaf-to-root order as trusted_root.json lists it. */
typedef struct coco_ca {
	X509 **certs;
	size_t n_certs;
	coco_validity valid;
	char *uri;                 /* may be NULL */
} coco_ca;

typedef struct coco_trustroot {
	coco_tlog_key *tlogs;
	size_t n_tlogs;
	coco_tlog_key *ctlogs;
	size_t n_ctlogs;
	coco_ca *cas;
	size_t n_cas;
	coco_ca *tsas;
	size_t n_tsas;
} coco_trustroot;

/*
 * Parse a trusted_root.json (media type
 * application/vnd.dev.sigstore.trustedroot+json;version=0.1 or v0.2).
 * Unknown members are refused where protobuf-specs defines the object;
 * every key and certificate must parse; a validity window needs a start.
 * COCOIMG_ECONFIG with a message naming the member when malformed.
 */
int coco_trustroot_parse(cocoimg_ctx *ctx, const void *json, size_t len, coco_trustroot **out);
/* Read and parse a file (COCOIMG_EINVAL when unreadable). */
int coco_trustroot_load(cocoimg_ctx *ctx, const char *path, coco_trustroot **out);
/* An empty root to fill by hand (policy.json's fulcio caData and
 * rekorPublicKey* fields): add CA certificates (PEM, several allowed; one
 * coco_ca holding them all, open validity) and log keys (log id = SHA-256
 * of the DER SubjectPublicKeyInfo, open validity).  The key is up-ref'd. */
int coco_trustroot_new(cocoimg_ctx *ctx, coco_trustroot **out);
int coco_trustroot_add_ca_pem(cocoimg_ctx *ctx, coco_trustroot *tr, const void *pem, size_t len);
int coco_trustroot_add_tlog_key(cocoimg_ctx *ctx, coco_trustroot *tr, EVP_PKEY *key);
void coco_trustroot_free(coco_trustroot *tr);

/* ------------------------------------------------------------------ */
/* Which check failed                                                  */
/* ------------------------------------------------------------------ */

typedef enum coco_sigcheck {
	COCO_SIGCHECK_NONE = 0,    /* verified */
	COCO_SIGCHECK_BUNDLE,      /* malformed or unsupported bundle */
	COCO_SIGCHECK_CHAIN,       /* certificate chain / validity / EKU */
	COCO_SIGCHECK_SCT,         /* embedded certificate transparency proof */
	COCO_SIGCHECK_TLOG,        /* Rekor entry: SET, inclusion proof, checkpoint, body */
	COCO_SIGCHECK_TIMESTAMP,   /* no trusted time, or time outside validity */
	COCO_SIGCHECK_IDENTITY,    /* certificate SAN */
	COCO_SIGCHECK_ISSUER,      /* certificate OIDC issuer */
	COCO_SIGCHECK_DIGEST,      /* artifact digest / in-toto subject */
	COCO_SIGCHECK_SIGNATURE,   /* the signature itself, or the wrong key */
} coco_sigcheck;

/* "chain", "sct", "tlog", "timestamp", "identity", "issuer", "digest",
 * "signature", "bundle"; "" for NONE. */
const char *coco_sigcheck_name(coco_sigcheck c);

/* ------------------------------------------------------------------ */
/* Bundle verification (bundle.c): the main entry point                */
/* ------------------------------------------------------------------ */

/* What the signer must be.  Exactly one of key or (identity or
 * identity_regexp) and (issuer or issuer_regexp) is used: with key the
 * bundle must carry a public-key hint (no certificate) and verify with
 * it.  Regexps are POSIX extended, unanchored (as cosign's RE2
 * MatchString), so write ^...$ to anchor. */
typedef struct coco_sigstore_policy {
	const coco_trustroot *root;     /* required for certificates and tlogs */
	EVP_PKEY *key;                  /* key mode (cosign --key) */
	const char *identity;           /* exact SAN (email, URI, ...) */
	const char *identity_regexp;
	const char *issuer;             /* exact OIDC issuer */
	const char *issuer_regexp;
	/* Key mode only: accept a bundle without transparency-log entry or
	 * timestamp (cosign --insecure-ignore-tlog; what key-signed
	 * `coco-img sign --bundle-format=v3` bundles are). */
	bool allow_no_tlog;
	/* Key mode only, when allow_no_tlog: time of reference when the bundle
	 * proves none (0 = now). */
	int64_t now;
} coco_sigstore_policy;

/* The artifact: its bytes, or only its digest ("sha256:<hex>").  For a
 * DSSE envelope holding an in-toto statement, the digest must be one of
 * the statement's subjects (for an image: the manifest digest). */
typedef struct coco_sigstore_artifact {
	const void *data;               /* NULL when only digest is known */
	size_t len;
	const char *digest;             /* "sha256:<hex>" (or sha512) */
} coco_sigstore_artifact;

typedef struct coco_sigstore_result {
	coco_sigcheck failed;           /* NONE when verified */
	char *media_type;               /* the bundle's mediaType */
	bool dsse;                      /* DSSE envelope (else message signature) */
	char *payload_type;             /* DSSE payloadType */
	coco_buf payload;               /* DSSE payload (the in-toto statement) */
	char *predicate_type;           /* in-toto predicateType, if any */
	int64_t signed_time;            /* the time proven (tlog or TSA), 0 if none */
	char *san;                      /* the certificate's identity (NULL in key mode) */
	char *issuer;                   /* its OIDC issuer (NULL in key mode) */
	size_t n_tlog_entries;          /* verified tlog entries */
	size_t n_timestamps;            /* verified RFC 3161 timestamps */
} coco_sigstore_result;

void coco_sigstore_result_clear(coco_sigstore_result *r);

/*
 * Verify one Sigstore bundle (JSON bytes) for an artifact, following
 * sigstore-go's order of checks:
 *   1. parse the bundle (v0.1 needs an inclusion promise, v0.2+ an
 *      inclusion proof) -> "bundle";
 *   2. signature over the artifact / DSSE PAE with the leaf's or the given
 *      key -> "signature"; artifact digest or in-toto subject -> "digest";
 *   3. every tlog entry: body matches this signature, SET against the log
 *      key, inclusion proof + checkpoint -> "tlog";
 *   4. RFC 3161 timestamps against the TSAs -> "timestamp";
 *   5. certificate chain to a Fulcio CA valid at each proven time (tlog
 *      integrated time or TSA time; at least one) -> "chain"/"timestamp";
 *      embedded SCTs -> "sct";
 *   6. SAN and issuer -> "identity", "issuer".
 * Returns 0 when verified; COCOIMG_EPOLICY when refused (res->failed and
 * ctx's message say why); COCOIMG_EBADIMAGE for a bundle that is not valid
 * JSON / not a bundle (res->failed = BUNDLE); COCOIMG_EINVAL for a policy
 * that names no key and no identity, or keyless without a root;
 * COCOIMG_ENOMEM.  res may be NULL.
 */
int coco_sigstore_verify_bundle(cocoimg_ctx *ctx, const void *bundle, size_t len,
                                const coco_sigstore_artifact *art,
                                const coco_sigstore_policy *pol, coco_sigstore_result *res);

/* ------------------------------------------------------------------ */
/* Building blocks (for cosign's legacy .sig annotations as well)      */
/* ------------------------------------------------------------------ */

/* What a Fulcio certificate says about its subject (fulcio.c). */
typedef struct coco_fulcio_identity {
	char *san;                      /* first email / URI / other-name SAN */
	char **sans;                    /* every SAN value as a string */
	size_t n_sans;
	char *issuer;                   /* OID 1.3.6.1.4.1.57264.1.8, else .1.1 */
} coco_fulcio_identity;

void coco_fulcio_identity_clear(coco_fulcio_identity *id);

/*
 * Verify leaf (with untrusted intermediates `chain`, may be NULL) to one
 * of root's CAs whose validity window contains `at`, at time `at`, with
 * EKU codeSigning.  A root or intermediate certificate given in `chain`
 * that is itself self-signed is refused (bundles must not carry roots).
 * When check_sct, at least one embedded SCT must verify against a CT log
 * key of root valid at the SCT's time.  Fills *id when not NULL.
 * 0, COCOIMG_EPOLICY (*failed = CHAIN or SCT).
 */
int coco_fulcio_verify(cocoimg_ctx *ctx, const coco_trustroot *root, X509 *leaf,
                       STACK_OF(X509) *chain, int64_t at, bool check_sct,
                       coco_fulcio_identity *id, coco_sigcheck *failed);

/* The identity constraints of a policy against *id: 0, or EPOLICY with
 * *failed = IDENTITY or ISSUER.  COCOIMG_EINVAL for a bad regexp. */
int coco_fulcio_match(cocoimg_ctx *ctx, const coco_fulcio_identity *id,
                      const coco_sigstore_policy *pol, coco_sigcheck *failed);

/*
 * Rekor SET (rekor.c): verify the signed entry timestamp over the canonical
 * JSON {"body","integratedTime","logID","logIndex"} with the log key whose
 * id is log_id (raw bytes) and whose validity contains integrated_time.
 * body_b64 is the base64 canonicalized body as the bundle carries it.
 * 0 or COCOIMG_EPOLICY.
 */
int coco_rekor_set_verify(cocoimg_ctx *ctx, const coco_trustroot *root, const char *body_b64,
                          int64_t integrated_time, int64_t log_index,
                          const unsigned char *log_id, size_t log_id_len,
                          const unsigned char *set, size_t set_len);

/*
 * RFC 6962 section 2.1.1 inclusion proof: leaf_hash at index in a tree of
 * tree_size leaves with audit path hashes (32 bytes each, n of them)
 * yields root.  0 or COCOIMG_EPOLICY.
 */
int coco_merkle_verify_inclusion(cocoimg_ctx *ctx, uint64_t index, uint64_t tree_size,
                                 const unsigned char leaf_hash[32],
                                 const unsigned char (*hashes)[32], size_t n,
                                 const unsigned char root[32]);
/* SHA-256(0x00 || data), RFC 6962 leaf hash. */
void coco_merkle_leaf_hash(const void *data, size_t len, unsigned char out[32]);

/* A parsed signed-note checkpoint (rekor.c). */
typedef struct coco_checkpoint {
	char *origin;
	uint64_t size;
	unsigned char root[32];
} coco_checkpoint;

/*
 * Parse a checkpoint envelope (signed note: origin, size, base64 root hash,
 * optional extension lines, blank line, "— NAME BASE64(keyhash4||sig)"
 * lines) and verify at least one signature line by a tlog key of root
 * (key hash = first 4 bytes of SHA-256(origin "\n" 0x02/0x01 ... ) as
 * sigstore derives it).  0 and *out, or COCOIMG_EPOLICY.
 */
int coco_checkpoint_verify(cocoimg_ctx *ctx, const coco_trustroot *root, const char *envelope,
                           size_t len, const coco_tlog_key **by, coco_checkpoint *out);
/* Syntax only (for fuzzing and diagnostics). */
int coco_checkpoint_parse(cocoimg_ctx *ctx, const char *envelope, size_t len, coco_checkpoint *out);
void coco_checkpoint_clear(coco_checkpoint *c);

/*
 * RFC 3161 (tsa.c): verify a DER TimeStampToken whose message imprint is
 * the digest of `signature` against root's TSAs; *at = genTime.
 * 0 or COCOIMG_EPOLICY.
 */
int coco_tsa_verify(cocoimg_ctx *ctx, const coco_trustroot *root, const unsigned char *token,
                    size_t token_len, const unsigned char *signature, size_t sig_len,
                    int64_t *at);

#endif
