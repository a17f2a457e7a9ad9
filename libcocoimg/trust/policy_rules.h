/*
 * trust/: the parsed form of containers-policy.json, shared by the parser
 * (policy_parse.c) and the evaluator (policy_eval.c).  Internal to those
 * two files.
 */
#ifndef COCO_TRUST_POLICY_RULES_H
#define COCO_TRUST_POLICY_RULES_H

#include "../base.h"

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

typedef struct pr {
	pr_type type;
	char *key_type;            /* signedBy */
	char **key_paths;          /* keyPath (1 entry) or keyPaths */
	size_t n_key_paths;
	coco_buf *key_datas;       /* keyData (1 entry) or keyDatas */
	size_t n_key_datas;
	bool has_paths, has_datas;
	/* sigstoreSigned keyless / PKI / Rekor: parsed, not supported yet */
	bool fulcio, pki, rekor;
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

#endif
