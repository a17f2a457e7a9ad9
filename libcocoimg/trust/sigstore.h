/*
 * libcocoimg trust/: Sigstore verification at the byte level (helper
 * "sig-core", issue 12).  Not installed.
 *
 *   trustroot.c     trusted_root.json (protobuf-specs TrustedRoot, JSON form)
 *   bundle.c        Sigstore bundles v0.1 .. v0.3 parsed (message signature or DSSE)
 *   bundle_verify.c the whole verification, in sigstore-go's order
 *   fulcio.c        certificate chain at a proven time, SAN / OIDC issuer, matching
 *   sct.c           embedded SCTs against the CT log keys
 *   rekor.c         SET, entry bodies (hashedrekord, dsse, intoto)
 *   merkle.c        RFC 6962 inclusion proofs
 *   checkpoint.c    signed-note checkpoints
 *   tsa.c           RFC 3161 timestamp tokens
 *   sigstore_util.c times, key hashes, signature checks, protobuf-JSON members
 *
 * Nothing here fetches anything: every input is bytes the caller read.
 * Times are Unix seconds.  A signature that does not verify is
 * COCOIMG_EPOLICY with a message on ctx and, where a result structure is
 * given, the name of the failed check in it.
 */
#ifndef COCO_TRUST_SIGSTORE_H
#define COCO_TRUST_SIGSTORE_H

#include "../base.h"
#include "../json.h"

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
 * Unknown members are ignored (as protojson with DiscardUnknown); every
 * key and certificate must parse; a validity window needs a start.
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
/* The log among logs[0..n) whose log id is id (any validity), or NULL. */
const coco_tlog_key *coco_trustroot_find_log(const coco_tlog_key *logs, size_t n,
                                             const unsigned char *id, size_t id_len);

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

/* A PKI trust root (policy "pki"): certificates that are not Fulcio's,
 * checked as containers/image's pki_cert.go checks them (cosign_cert.c). */
typedef struct coco_pki_trust {
	STACK_OF(X509) *roots;          /* caRootsPath / caRootsData */
	STACK_OF(X509) *intermediates;  /* caIntermediatesPath / ...Data, may be NULL */
	const char *subject_email;      /* "" or NULL: not checked */
	const char *subject_hostname;   /* "" or NULL: not checked */
} coco_pki_trust;

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
	/* Keyless: do not require an embedded SCT (cosign
	 * --insecure-ignore-sct; containers/image's fulcio checks none). */
	bool ignore_sct;
	/* Key mode only, when allow_no_tlog: time of reference when the bundle
	 * proves none (0 = now); PKI mode: the time the chain is checked at. */
	int64_t now;
	/* PKI mode (policy "pki", neither key nor identity): the bundle's
	 * certificate chains to pki's roots at `now` (coco_pki_cert_verify);
	 * log entries and timestamps are not read (pki takes no Rekor key and
	 * no trusted root, as in containers/image). */
	const coco_pki_trust *pki;
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
/* Free what a result holds but keep `failed`. */
void coco_sigstore_result_clear_data(coco_sigstore_result *r);

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

/*
 * cosign_cert.c: a certificate under a PKI trust root, as containers/image's
 * pki check: leaf chains to one of p->roots through p->intermediates and
 * chain (untrusted, may be NULL; neither is modified) at time at (0 =
 * now), with code signing allowed along the chain; p->subject_email among
 * its e-mail SANs and p->subject_hostname as Go's VerifyHostname, when
 * set.  0, COCOIMG_EPOLICY (*failed = CHAIN or IDENTITY), COCOIMG_ENOMEM.
 */
int coco_pki_cert_verify(cocoimg_ctx *ctx, const coco_pki_trust *p, X509 *leaf,
                         STACK_OF(X509) *chain, int64_t at, coco_sigcheck *failed);

/* SANs and OIDC issuer of a certificate (no chain check).  0, ENOMEM, or
 * EPOLICY when the v1 and v2 issuer extensions disagree. */
int coco_fulcio_identity_get(cocoimg_ctx *ctx, X509 *leaf, coco_fulcio_identity *id);

/*
 * sct.c: at least one SCT embedded in leaf (RFC 6962 precertificate SCT
 * list) verifies against a CT log key of root whose validity contains the
 * SCT's time; issuer is the certificate that signed leaf (its key hash is
 * part of the signed data).  0 or COCOIMG_EPOLICY.
 */
int coco_sct_verify(cocoimg_ctx *ctx, const coco_trustroot *root, X509 *leaf, X509 *issuer);

/* The identity constraints of a policy against *id: 0, or EPOLICY with
 * *failed = IDENTITY or ISSUER.  COCOIMG_EINVAL for a bad regexp. */
int coco_fulcio_match(cocoimg_ctx *ctx, const coco_fulcio_identity *id,
                      const coco_sigstore_policy *pol, coco_sigcheck *failed);

/*
 * Rekor SET (rekor.c): verify the signed entry timestamp over the canonical
 * JSON {"body","integratedTime","logID","logIndex"} with `log` (whose id
 * is logID, hex-encoded in the JSON).  body is the canonicalized entry
 * body (raw bytes; base64-encoded in the JSON).  0 or COCOIMG_EPOLICY.
 */
int coco_rekor_set_verify(cocoimg_ctx *ctx, const coco_tlog_key *log, const unsigned char *body,
                          size_t body_len, int64_t integrated_time, int64_t log_index,
                          const unsigned char *set, size_t set_len);

/* What a transparency log entry must describe (rekor.c). */
typedef struct coco_sig_content {
	bool dsse;                      /* DSSE envelope, else message signature */
	const unsigned char *sig;       /* the signature bytes */
	size_t sig_len;
	/* Message signature: the artifact digest (algorithm name as Rekor
	 * writes it: "sha256", "sha384", "sha512").  DSSE: SHA-256 of the
	 * payload. */
	const char *digest_alg;
	const unsigned char *digest;
	size_t digest_len;
	/* DSSE only: SHA-256 of PAE(payloadType, payload) (Rekor v2
	 * hashedrekord over DSSE). */
	const unsigned char *pae_digest;
	/* The signer: leaf certificate DER, or the key's SubjectPublicKeyInfo
	 * DER (signer_is_cert false). */
	const unsigned char *signer_der;
	size_t signer_der_len;
	bool signer_is_cert;
} coco_sig_content;

/*
 * The canonicalized body of an entry of kind/version (from the bundle's
 * kindVersion, which must agree with the body) matches c: hashedrekord
 * 0.0.1 and 0.0.2, dsse 0.0.1, intoto 0.0.2.  0 or COCOIMG_EPOLICY.
 */
int coco_rekor_body_verify(cocoimg_ctx *ctx, const char *kind, const char *version,
                           const unsigned char *body, size_t len, const coco_sig_content *c);

/*
 * merkle.c: RFC 6962 section 2.1.1 inclusion proof: leaf_hash at index in a tree of
 * tree_size leaves with audit path hashes (32 bytes each, n of them)
 * yields root.  0 or COCOIMG_EPOLICY.
 */
int coco_merkle_verify_inclusion(cocoimg_ctx *ctx, uint64_t index, uint64_t tree_size,
                                 const unsigned char leaf_hash[32],
                                 const unsigned char (*hashes)[32], size_t n,
                                 const unsigned char root[32]);
/* SHA-256(0x00 || data), RFC 6962 leaf hash. */
void coco_merkle_leaf_hash(const void *data, size_t len, unsigned char out[32]);

/* A parsed signed-note checkpoint (checkpoint.c). */
typedef struct coco_checkpoint {
	char *origin;
	uint64_t size;
	unsigned char root[32];
} coco_checkpoint;

/*
 * Parse a checkpoint envelope (signed note: origin, size, base64 root hash,
 * optional extension lines, blank line, "\u2014 NAME BASE64(keyhint4||sig)"
 * lines) and require one signature line by `log`: key hint = the first 4
 * bytes of its log id (how Sigstore logs, v1 and v2, name their key), the
 * signer name equal to the origin or to its part before " - " (Rekor v1
 * origins carry the tree id), and the signature valid over the note text.
 * Other lines (witness cosignatures) are ignored.  0 and *out, or
 * COCOIMG_EPOLICY.
 */
int coco_checkpoint_verify(cocoimg_ctx *ctx, const coco_tlog_key *log, const char *envelope,
                           size_t len, coco_checkpoint *out);
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

/* ------------------------------------------------------------------ */
/* Parsed bundle (bundle.c)                                            */
/* ------------------------------------------------------------------ */

/* One TransparencyLogEntry. */
typedef struct coco_tlog_entry {
	int64_t log_index;
	unsigned char log_id[32];
	size_t log_id_len;
	char *kind;
	char *version;
	int64_t integrated_time;        /* 0 when absent (Rekor v2) */
	coco_buf body;                  /* canonicalizedBody */
	coco_buf set;                   /* inclusionPromise.signedEntryTimestamp */
	bool has_proof;                 /* inclusionProof present */
	int64_t proof_index;
	int64_t tree_size;
	unsigned char root_hash[32];
	unsigned char (*hashes)[32];
	size_t n_hashes;
	char *checkpoint;               /* inclusionProof.checkpoint.envelope */
} coco_tlog_entry;

typedef struct coco_bundle {
	char *media_type;
	int minor;                      /* 1, 2 or 3 (v0.x) */
	X509 *leaf;                     /* NULL in key mode */
	STACK_OF(X509) *chain;          /* certificates after the leaf (v0.1/v0.2) */
	bool key_hint;                  /* verificationMaterial.publicKey */
	coco_tlog_entry *tlogs;
	size_t n_tlogs;
	coco_buf *tsts;                 /* RFC 3161 signed timestamps (DER) */
	size_t n_tsts;
	bool dsse;
	char *digest_alg;               /* message: "sha256"/"sha384"/"sha512" or NULL */
	coco_buf msg_digest;            /* message: messageDigest.digest (may be empty) */
	coco_buf sig;                   /* message signature or the DSSE signature */
	char *payload_type;             /* DSSE */
	coco_buf payload;               /* DSSE */
} coco_bundle;

/* Parse a bundle v0.1 .. v0.3 (JSON).  0, or COCOIMG_EBADIMAGE with the
 * member named, or ENOMEM.  Clear with coco_bundle_clear (also after a
 * failure). */
int coco_bundle_parse(cocoimg_ctx *ctx, const void *json, size_t len, coco_bundle *out);
void coco_bundle_clear(coco_bundle *b);

/* ------------------------------------------------------------------ */
/* Shared helpers (sigstore_util.c)                                    */
/* ------------------------------------------------------------------ */

/* RFC 3339 "2021-01-12T11:53:27Z" (fraction and offset allowed) -> Unix
 * seconds (fraction dropped).  0 or COCOIMG_EINVAL (no message). */
int coco_rfc3339_parse(const char *s, int64_t *out);
/* Closed interval test. */
static inline bool coco_validity_contains(const coco_validity *v, int64_t t)
{
	return t >= v->start && t <= v->end;
}
/* The digest a Sigstore client pairs with a key: SHA-256 for P-256 and
 * RSA, SHA-384 for P-384, SHA-512 for P-521; NULL for Ed25519 (pure). */
const EVP_MD *coco_sigstore_key_md(EVP_PKEY *key);
/* Verify sig over data with key (hash from coco_sigstore_key_md).
 * 1 valid, 0 not. */
int coco_sigstore_verify_data(EVP_PKEY *key, const unsigned char *sig, size_t sig_len,
                              const void *data, size_t len);
/* One PEM block: its type ("PUBLIC KEY", ...), its RFC 1421 headers ("" when
 * none) and its decoded body. */
typedef struct coco_pem_block {
	char *name;
	char *header;
	unsigned char *der;
	long len;
} coco_pem_block;
/* Read the first PEM block of pem: 0 with *blk filled, 1 when pem holds
 * no readable block or is too large for OpenSSL (more than fits an int),
 * COCOIMG_ENOMEM.  *blk is set in every case: free it with
 * coco_pem_block_free. */
int coco_pem_first_block(const void *pem, size_t len, coco_pem_block *blk);
/* Free what a block holds; a secret block's body is wiped first. */
void coco_pem_block_free(coco_pem_block *blk, bool secret);
/* The certificates of the PEM blocks of pem, in order (the stack may be
 * empty).  Strict, as sigstore's UnmarshalCertificatesFromPEM: every
 * block, whatever its type, must be one whole DER certificate, else NULL.
 * Lenient, as Go's CertPool.AppendCertsFromPEM: blocks that are not
 * "CERTIFICATE", carry headers or do not parse are skipped.  NULL also
 * when out of memory or too large. */
STACK_OF(X509) *coco_pem_certs(const void *pem, size_t len, bool lenient);
/* Verify sig over data with key and the digest md (NULL for Ed25519, which
 * is pure); RSA is PKCS#1 v1.5 only.  1 valid, 0 not, COCOIMG_ENOMEM. */
int coco_sigstore_verify_md(EVP_PKEY *key, const EVP_MD *md, const unsigned char *sig,
                            size_t sig_len, const void *data, size_t len);
/* Verify sig over an already computed digest (md names its algorithm).
 * Not possible for Ed25519 (0).  1 valid, 0 not. */
int coco_sigstore_verify_digest(EVP_PKEY *key, const unsigned char *sig, size_t sig_len,
                                const EVP_MD *md, const unsigned char *digest, size_t dlen);
/* DER SubjectPublicKeyInfo of key into out (appended).  0 or ENOMEM. */
int coco_spki_der(EVP_PKEY *key, coco_buf *out);
/* A protobuf-JSON bytes member (base64): 0 with the bytes, COCOIMG_EINVAL
 * when absent (unless optional), not a string or not base64.  No message. */
int coco_pbjson_bytes(json_t *obj, const char *key, bool optional, coco_buf *out);
/* A protobuf-JSON int64 member (decimal string, or a JSON integer):
 * 0, or COCOIMG_EINVAL when absent (unless optional: *out = 0), malformed
 * or negative.  No message. */
int coco_pbjson_u63(json_t *obj, const char *key, bool optional, int64_t *out);
/* Parse a DER certificate (whole buffer).  NULL when malformed. */
X509 *coco_x509_from_der(const unsigned char *der, size_t len);

#endif
