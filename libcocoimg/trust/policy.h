/*
 * libcocoimg trust/: internal interfaces of the policy engine
 * (policy_parse.c, policy_eval.c, identity.c, registries_d.c, lookaside.c,
 * collect.c), simple signing (simplesign.c) and the OpenPGP code
 * (openpgp.c).  Not installed.  The
 * interface to the cosign code and the fetcher are in trust.h.
 */
#ifndef COCO_TRUST_POLICY_H
#define COCO_TRUST_POLICY_H

#include "trust.h"
#include "../base.h"
#include "../digest.h"
#include "../json.h"
#include "../ref.h"

/* ------------------------------------------------------------------ */
/* OpenPGP (openpgp.c)                                                 */
/* ------------------------------------------------------------------ */

typedef struct coco_pgp_keyring coco_pgp_keyring;

coco_pgp_keyring *coco_pgp_keyring_new(void);
void coco_pgp_keyring_free(coco_pgp_keyring *kr);
/*
 * Add the transferable public keys in data (binary packets or ASCII
 * armor, one or several keys) to kr.  Keys without a valid self-signed
 * user id are skipped, as gpg's import does.  Returns the number of
 * primary keys added (>= 0) or COCOIMG_EINVAL when data is not a keyring
 * at all (message on ctx naming `what`).
 */
int coco_pgp_keyring_add(cocoimg_ctx *ctx, coco_pgp_keyring *kr, const unsigned char *data,
                         size_t len, const char *what);
/* Number of primary keys in kr. */
size_t coco_pgp_keyring_count(const coco_pgp_keyring *kr);
/* Upper-case hex fingerprint of primary key i (41 bytes with NUL). */
void coco_pgp_keyring_fpr(const coco_pgp_keyring *kr, size_t i, char out[41]);

/*
 * Verify an OpenPGP signed message ([compressed] one-pass-signature,
 * literal data, signature; or signature, literal data) against kr at
 * time `now` (Unix seconds).  On success returns 0, the literal content
 * in *content (caller frees) and the upper-case hex fingerprint of the
 * signing key's PRIMARY key in signer (a signing subkey maps to its
 * primary, as current containers/image does).  Failures return
 * COCOIMG_EPOLICY with a message: malformed message, unknown key,
 * bad signature, expired or revoked key, expired signature.
 */
int coco_pgp_verify_message(cocoimg_ctx *ctx, const coco_pgp_keyring *kr,
                            const unsigned char *msg, size_t len, int64_t now,
                            coco_buf *content, char signer[41]);

/* ------------------------------------------------------------------ */
/* Docker references for identity rules (identity.c)                   */
/* ------------------------------------------------------------------ */

/* References are parsed by ref.c: coco_dref_parse_named (Go's
 * ParseNormalizedNamed / ParseNamed, name-only references allowed). */
/* Validate a remapIdentity prefix (load time). */
bool coco_remap_prefix_valid(const char *s);
/* Go DockerReferenceNamespaces: repository, parents, host, *.wildcards.
 * Returns a NULL-terminated array (coco_trust_strv_free). */
char **coco_docker_namespaces(const coco_dref *r);
void coco_trust_strv_free(char **v);

/* ------------------------------------------------------------------ */
/* Policy (policy_parse.c, policy_eval.c)                             */
/* ------------------------------------------------------------------ */

typedef struct coco_policy coco_policy;

/* Parse policy.json bytes as strictly as containers/image.  `name`
 * prefixes every message ("policy.json", or the path).  COCOIMG_ECONFIG
 * with a message naming the place on any error. */
int coco_policy_parse(cocoimg_ctx *ctx, const void *data, size_t len, const char *name,
                      coco_policy **out);
/* Read and parse a file; a missing file is COCOIMG_ECONFIG too. */
int coco_policy_load(cocoimg_ctx *ctx, const char *path, coco_policy **out);
void coco_policy_free(coco_policy *p);

/*
 * How the evaluator reads the files a policy names (keyPath, keyPaths and
 * the other path fields).  The operation installs it: a path may be a
 * resource URI (kbs:///R/T/G) that only the operation can resolve.  read
 * appends at most max bytes of `path` to out (wiped by the caller) or
 * returns a code with a message on ctx naming the path.  Without a
 * reader, paths are local files.
 */
typedef struct coco_trust_reader {
	void *payload;
	int (*read)(void *payload, cocoimg_ctx *ctx, const char *path, size_t max, coco_buf *out);
} coco_trust_reader;
/* Install (or with NULL remove) the reader of p; r must outlive p. */
void coco_policy_set_reader(coco_policy *p, const coco_trust_reader *r);
/*
 * Every file a policy names (keyPath, keyPaths, rekorPublicKeyPath(s),
 * caPath, caRootsPath, caIntermediatesPath, any other *Path) is read
 * through this one call: with r (the operation's reader) the path may be
 * a resource URI; without, it is a local file (missing: COCOIMG_ECONFIG).
 * Appends at most max bytes to out; the caller wipes and frees out.
 */
int coco_trust_read_path(cocoimg_ctx *ctx, const coco_trust_reader *r, const char *path,
                         size_t max, coco_buf *out);

/*
 * policy_cosign.c: the policy `coco-img verify --key | --certificate-*`
 * stands for (cosign verify without a policy file): one sigstoreSigned
 * requirement for every image, signedIdentity matchRepository (a legacy
 * signature's docker-reference must name the image's repository; an image
 * without one, a layout, accepts any).  key_path: the signature verifies
 * with that key, and with trusted_root its Rekor SET must be valid (unless
 * ignore_tlog).  Keyless: identity or identity_regexp, issuer or
 * issuer_regexp and trusted_root are all required (coco-img ships no
 * Sigstore root and fetches none).  COCOIMG_EINVAL with a message for
 * flags that do not make a requirement (exit 2).
 */
typedef struct coco_cosign_flags {
	const char *key_path;
	const char *identity, *identity_regexp;
	const char *issuer, *issuer_regexp;
	const char *trusted_root;
	bool ignore_tlog, ignore_sct;
} coco_cosign_flags;

int coco_policy_cosign(cocoimg_ctx *ctx, const coco_cosign_flags *f, coco_policy **out);

/* The image as the policy sees it. */
typedef struct coco_trust_image {
	const char *transport;     /* "docker", "oci", "oci-archive", "dir" */
	char *name;                /* for the report: transport:reference */
	char *identity;            /* PolicyConfigurationIdentity */
	char **namespaces;         /* NULL-terminated, may be empty */
	coco_dref *dref;           /* docker reference identity, NULL if none */
	const unsigned char *manifest;
	size_t manifest_len;
	char manifest_digest[COCO_DIGEST_STRLEN];
	/* The multi-platform index the image was reached through, when its
	 * name named an index (not owned): bundles attached to the index
	 * count for its instances (docs/bundles.md).  NULL and "" otherwise. */
	const unsigned char *index;
	size_t index_len;
	char index_digest[COCO_DIGEST_STRLEN];
} coco_trust_image;

/* Build a coco_trust_image from "docker://REF", "oci:DIR[:TAG]",
 * "oci-archive:FILE[:TAG]", "dir:DIR" (manifest bytes set by caller).
 * EINVAL with message on a bad reference. */
int coco_trust_image_init(cocoimg_ctx *ctx, coco_trust_image *im, const char *image);
void coco_trust_image_clear(coco_trust_image *im);

/* One signature as found for the image. */
typedef enum coco_sig_kind {
	COCO_SIG_SIMPLE = 0,       /* OpenPGP signed message */
	COCO_SIG_SIGSTORE = 1,     /* cosign simple-signing payload + signature */
	COCO_SIG_BUNDLE = 2        /* Sigstore bundle attached as a referrer */
} coco_sig_kind;

typedef struct coco_trust_sig {
	coco_sig_kind kind;
	coco_buf blob;             /* SIMPLE: the OpenPGP message; BUNDLE: the bundle */
	char *mime_type;           /* SIGSTORE: mimeType; BUNDLE: its media type */
	coco_sigstore_sig sigstore;/* SIGSTORE */
	char *origin;              /* where it came from ("signature-1", URL) */
	char *problem;             /* BUNDLE: why it cannot be this image's (or NULL) */
	bool of_index;             /* BUNDLE: attached to the image's index (im->index) */
} coco_trust_sig;

typedef struct coco_trust_sigs {
	coco_trust_sig *v;
	size_t n;
} coco_trust_sigs;
/* (struct coco_trust_sigs is what trust.h forward-declares.) */

void coco_trust_sigs_clear(coco_trust_sigs *s);
/*
 * Classify one stored blob (2.3 of signatures.md: first-byte sniffing,
 * 0x00 envelopes "simple-signing" / "sigstore-json") and append it to
 * sigs.  An unrecognised blob is COCOIMG_EPOLICY with a message ("the
 * whole signature fetch fails", as in containers/image).
 */
int coco_trust_sigs_add_blob(cocoimg_ctx *ctx, coco_trust_sigs *sigs, const unsigned char *blob,
                             size_t len, const char *origin);

/* Where the evaluator gets the image's signatures: called at most once,
 * when the first signature requirement needs them. */
typedef struct coco_trust_sigsource {
	/* Append the image's signatures to sigs.  Returns 0, or
	 * COCOIMG_ESIGLOOKUP (lookup failed) / COCOIMG_EPOLICY (a blob
	 * could not be parsed at all), with a message. */
	int (*collect)(void *payload, cocoimg_ctx *ctx, coco_trust_sigs *sigs);
	void *payload;
} coco_trust_sigsource;

/*
 * Evaluate the policy for im.  Returns 0 (accepted), COCOIMG_EPOLICY
 * (rejected), COCOIMG_ESIGLOOKUP (signatures could not be fetched);
 * *report (optional) receives the verdict document described in
 * include/cocoimg/trust.h.  `now` is Unix seconds (0 = current time).
 */
int coco_policy_evaluate(cocoimg_ctx *ctx, const coco_policy *p, const coco_trust_image *im,
                         const coco_trust_sigsource *src, int64_t now,
                         json_t **report);

/*
 * Test hook: does the signedIdentity rule `prm_json` (a JSON object as in
 * policy.json) accept signed reference `signed_ref` for `image`
 * ("docker://..." etc.)?  1 yes, 0 no, <0 when prm_json or image is
 * invalid (message on ctx).
 */
int coco_policy_identity_check(cocoimg_ctx *ctx, const char *prm_json, const char *image,
                               const char *signed_ref);

/* ------------------------------------------------------------------ */
/* Simple signing payload (simplesign.c)                               */
/* ------------------------------------------------------------------ */

/* Strict parse of an "atomic container signature" (or, with
 * cosign=true, "cosign container image signature") payload.  Returns 0
 * and malloc'd digest and reference, or COCOIMG_EPOLICY with a message. */
int coco_simple_payload_parse(cocoimg_ctx *ctx, const unsigned char *data, size_t len,
                              bool cosign, char **digest, char **reference);
/* containers/image MatchesDigest: true iff digest (as a string) equals
 * sha256 of the manifest (or of the schema1 payload without signatures). */
bool coco_manifest_matches_digest(const unsigned char *manifest, size_t len, const char *digest);

/* ------------------------------------------------------------------ */
/* registries.d and lookaside (registries_d.c, lookaside.c)            */
/* ------------------------------------------------------------------ */

typedef struct coco_regd coco_regd;

/* Load every *.yaml in dir (NULL: ctx "registries.d", else
 * $HOME/.config/containers/registries.d if present, else
 * /etc/containers/registries.d).  A missing directory is an empty
 * configuration.  Malformed YAML: COCOIMG_ECONFIG naming the file. */
int coco_regd_load(cocoimg_ctx *ctx, const char *dir, coco_regd **out);
/* Parse one YAML document (for tests and fuzzing); `name` for messages. */
int coco_regd_add_yaml(cocoimg_ctx *ctx, coco_regd *rd, const void *data, size_t len,
                       const char *name);
coco_regd *coco_regd_new(void);
void coco_regd_free(coco_regd *rd);
/* The lookaside base URL for a docker reference (never NULL: falls back
 * to the built-in file:// store); caller frees. */
char *coco_regd_lookaside(const coco_regd *rd, const coco_dref *ref);
bool coco_regd_use_sigstore_attachments(const coco_regd *rd, const coco_dref *ref);

/* Signature URL number n (1-based) under base for repository path
 * `path` (no host) and manifest digest. Caller frees. */
char *coco_lookaside_url(const char *base, const char *path, const char *digest, unsigned n);
/* The local path a file:// URL names (percent-decoded), NULL if the URL is
 * not file:// with an absolute path (or out of memory).  Caller frees. */
char *coco_lookaside_file_path(const char *url);
/* Read signature-1, -2, ... through f->get_lookaside until one is missing;
 * at most 128, each <= 4 MiB; append to sigs.  path and digest are checked
 * against their grammars first.  COCOIMG_ESIGLOOKUP on failure. */
int coco_lookaside_collect(cocoimg_ctx *ctx, const coco_sig_fetcher *f, const char *base,
                           const char *path, const char *digest, coco_trust_sigs *sigs);

/* ------------------------------------------------------------------ */
/* Where the signatures of an image are (collect.c)                    */
/* ------------------------------------------------------------------ */

/*
 * Append every signature of im to sigs, read through f: for docker://
 * images the lookaside store registries.d (regd) names, then, if regd
 * enables sigstore attachments, the sigstore attachment and the Sigstore
 * bundles attached as referrers; for oci: layouts the sigstore attachment
 * (where `coco-img sign` writes it) and bundle referrers; for oci-archive:
 * the bundle referrers only (a sibling tag would unpack the archive
 * again); nothing for other transports.
 * COCOIMG_ESIGLOOKUP / COCOIMG_EPOLICY with a message on failure.
 */
int coco_trust_collect_sigs(cocoimg_ctx *ctx, const coco_trust_image *im, const coco_regd *regd,
                            const coco_sig_fetcher *f, coco_trust_sigs *sigs);
/* Only the sigstore attachment (sha256-<hex>.sig) and the Sigstore bundles
 * attached as referrers, whatever registries.d says: where cosign looks
 * (cosign-style verification). */
int coco_trust_collect_attachment(cocoimg_ctx *ctx, const coco_trust_image *im,
                                  const coco_sig_fetcher *f, coco_trust_sigs *sigs);

#endif
