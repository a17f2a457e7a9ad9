/*
 * trust/: the parsed form of containers-policy.json, shared by the parser
 * (policy_parse.c) and the evaluator (policy_eval.c).  Internal to those
 * two files.
 */
#ifndef COCO_TRUST_POLICY_RULES_H
#define COCO_TRUST_POLICY_RULES_H

#include "../base.h"
#include "policy.h"
#include "trust.h"

/* Key files and inline key data are bounded (they are small); so is
 * policy.json itself. */
#define COCO_POLICY_FILE_MAX (16 * 1024 * 1024)

typedef enum prm_type {
	PRM_MATCH_EXACT,
	PRM_MATCH_REPO_DIGEST_OR_EXACT,
	PRM_MATCH_REPOSITORY,
	PRM_EXACT_REFERENCE,
	PRM_EXACT_REPOSITORY,
	PRM_REMAP_IDENTITY
} prm_type;

/* The "type" names of prm_type, in order. */
extern const char *const coco_prm_names[6];

typedef struct prm {
	prm_type type;
	char *ref;                 /* dockerReference / dockerRepository */
	char *prefix, *signed_prefix;
} prm;

typedef enum pr_type {
	PR_INSECURE_ACCEPT_ANYTHING,
	PR_REJECT,
	PR_SIGNED_BY,
	PR_SIGNED_BASE_LAYER,
	PR_SIGSTORE_SIGNED
} pr_type;

/* The "type" names of pr_type, in order. */
extern const char *const coco_pr_names[5];

/* One "…Path" / "…Data" source of certificate material (read when the
 * requirement is evaluated). */
typedef struct pr_src {
	char *path;                /* NULL when not given */
	coco_buf data;
	bool has_data;
} pr_src;

/* sigstoreSigned beyond public keys (containers/image's fulcio,
 * rekorPublicKey*, pki; this project's trustedRootPath; and cosign-style
 * identity rules that only `coco-img verify --certificate-identity` sets). */
typedef struct pr_sigstore {
	bool fulcio;
	pr_src fulcio_ca;          /* caPath / caData (absent with trusted_root) */
	char *oidc_issuer, *subject_email;
	bool rekor;                /* one of the rekorPublicKey* fields */
	char **rekor_paths;        /* rekorPublicKeyPath (1 entry) or ...Paths */
	size_t n_rekor_paths;
	coco_buf *rekor_datas;     /* rekorPublicKeyData (1 entry) or ...Datas */
	size_t n_rekor_datas;
	bool pki;
	pr_src pki_roots, pki_intermediates;
	char *pki_email, *pki_hostname;
	char *trusted_root;        /* trustedRootPath */
	char *identity, *identity_regexp, *issuer, *issuer_regexp;
	/* Built by coco_policy_cosign (never parsed): an image without a
	 * docker reference (a layout) accepts any signed reference, the
	 * manifest digest binding it (cosign --local-image); cosign's
	 * --insecure-ignore-tlog / --insecure-ignore-sct. */
	bool cosign_style;
	bool ignore_tlog, ignore_sct;
} pr_sigstore;

typedef struct pr {
	pr_type type;
	char *key_type;            /* signedBy */
	char **key_paths;          /* keyPath (1 entry) or keyPaths */
	size_t n_key_paths;
	coco_buf *key_datas;       /* keyData (1 entry) or keyDatas */
	size_t n_key_datas;
	bool has_paths, has_datas;
	pr_sigstore ss;            /* sigstoreSigned: fulcio, Rekor, PKI, trusted root */
	prm ident;
} pr;

typedef struct reqlist {
	char *scope;               /* "" = transport default */
	pr *v;
	size_t n;
} reqlist;

typedef struct ptransport {
	char *name;
	reqlist *scopes;
	size_t n;
} ptransport;

struct coco_policy {
	reqlist dflt;
	ptransport *t;
	size_t nt;
	const coco_trust_reader *reader;  /* key files; NULL: local files */
};

/* Parse one signedIdentity object given as JSON text (messages start with
 * "signedIdentity").  COCOIMG_ECONFIG with a message when it is invalid;
 * out is then cleared. */
int coco_prm_parse_json(cocoimg_ctx *ctx, const char *json, prm *out);
void coco_prm_clear(prm *m);
void coco_pr_sigstore_clear(pr_sigstore *s);

/*
 * policy_sigstore.c: the trust material of a sigstoreSigned requirement,
 * read through rd (NULL: local files) when it is evaluated.  On failure
 * (COCOIMG_ECONFIG or the reader's code, message on ctx) m is still to be
 * cleared.
 */
typedef struct coco_sigstore_material {
	EVP_PKEY **keys;
	size_t n_keys;
	EVP_PKEY **rekor;
	size_t n_rekor;
	coco_trustroot *root;          /* trustedRootPath */
	coco_trustroot *fulcio_cas;    /* fulcio caPath / caData, rekorPublicKey* as logs */
	coco_pki_trust pki;
	coco_sigstore_policy match;    /* cosign-style identity / issuer */
	coco_cosign_trust trust;       /* what the verifier takes (points into m) */
} coco_sigstore_material;

int coco_sigstore_material_load(cocoimg_ctx *ctx, const coco_trust_reader *rd, const pr *r,
                                int64_t now, coco_sigstore_material *m);
void coco_sigstore_material_clear(coco_sigstore_material *m);

#endif
