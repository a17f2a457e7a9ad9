/*
 * containers-policy.json: the evaluator of a parsed policy
 * (policy_parse.c) for one image and its signatures.
 *
 * Evaluation follows policy_eval*.go: the requirement list is chosen by
 * the most specific scope (identity, namespaces, *. wildcards, "" of the
 * transport, then "default"; first hit only), requirements are evaluated
 * in order and all must allow, one accepted signature satisfies a
 * signature requirement.  Where Debian's skopeo 1.9.3 (c/image 5.23.1)
 * differs, current upstream wins: signatures made by a signing subkey
 * are accepted (mapped to the primary key), keyPaths/keyDatas exist.
 */
#include "policy.h"
#include "policy_rules.h"
#include "sigstore.h"
#include "trust.h"
#include "../base.h"
#include "../json.h"
#include "../ref.h"

#include <limits.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Image identity for the policy                                       */
/* ------------------------------------------------------------------ */

void coco_trust_image_clear(coco_trust_image *im)
{
	free(im->name);
	free(im->identity);
	coco_trust_strv_free(im->namespaces);
	if (im->dref) {
		coco_dref_clear(im->dref);
		free(im->dref);
	}
	memset(im, 0, sizeof(*im));
}

/* Absolute, lexically cleaned path; symlinks resolved when it exists. */
static char *resolve_path(const char *p)
{
	char *rp = realpath(p, NULL);
	if (rp)
		return rp;
	char cwd[PATH_MAX];
	char *abs = p[0] == '/' ? coco_strdup(p)
	                        : (getcwd(cwd, sizeof(cwd)) ? coco_asprintf("%s/%s", cwd, p) : NULL);
	if (!abs)
		return NULL;
	/* clean: drop "." and "//", resolve ".." lexically */
	char *out = malloc(strlen(abs) + 2);
	if (!out) {
		free(abs);
		return NULL;
	}
	size_t o = 0;
	char *save = NULL;
	for (char *c = strtok_r(abs, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		out[o++] = '/';
		size_t cl = strlen(c);
		memcpy(out + o, c, cl);
		o += cl;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = 0;
	free(abs);
	return out;
}

static char **path_namespaces(const char *path)
{
	size_t n = 0, cap = 4;
	char **v = calloc(cap, sizeof(char *));
	char *p = coco_strdup(path);
	if (!v || !p)
		goto oom;
	for (;;) {
		char *sl = strrchr(p, '/');
		if (!sl || !strcmp(p, "/") || !*p)
			break;
		if (n + 2 > cap) {
			char **nv = realloc(v, cap * 2 * sizeof(char *));
			if (!nv)
				goto oom;
			v = nv;
			cap *= 2;
		}
		if (!(v[n++] = coco_strdup(p)))
			goto oom;
		v[n] = NULL;
		*sl = 0;
	}
	free(p);
	return v;
oom:
	free(p);
	coco_trust_strv_free(v);
	return NULL;
}

int coco_trust_image_init(cocoimg_ctx *ctx, coco_trust_image *im, const char *image)
{
	memset(im, 0, sizeof(*im));
	im->name = coco_strdup(image);
	if (!im->name)
		return coco_oom(ctx);
	if (!strncmp(image, "docker://", 9)) {
		im->transport = "docker";
		im->dref = calloc(1, sizeof(coco_dref));
		const char *err;
		if (!im->dref)
			return coco_oom(ctx);
		int rc = coco_dref_parse_named(image + 9, COCO_DREF_NORMALIZE, im->dref, &err);
		if (rc)
			return coco_seterr(ctx, COCOIMG_EINVAL, "invalid image reference \"%s\": %s",
			                   image, err);
		/* The docker transport adds :latest to a bare name.  With both a
		 * tag and a digest (which skopeo refuses) coco-img pulls by
		 * digest, so the digest alone is the identity. */
		if (coco_dref_name_only(im->dref) && !(im->dref->tag = coco_strdup("latest")))
			return coco_oom(ctx);
		if (im->dref->tag && im->dref->digest) {
			free(im->dref->tag);
			im->dref->tag = NULL;
		}
		im->identity = coco_dref_string(im->dref);
		im->namespaces = coco_docker_namespaces(im->dref);
	} else {
		const char *rest;
		bool has_tag;
		if (!strncmp(image, "oci:", 4)) {
			im->transport = "oci";
			rest = image + 4;
			has_tag = true;
		} else if (!strncmp(image, "oci-archive:", 12)) {
			im->transport = "oci-archive";
			rest = image + 12;
			has_tag = true;
		} else if (!strncmp(image, "dir:", 4)) {
			im->transport = "dir";
			rest = image + 4;
			has_tag = false;
		} else {
			return coco_seterr(ctx, COCOIMG_EINVAL, "unsupported image reference \"%s\" "
			                   "(expected docker://, oci:, oci-archive: or dir:)", image);
		}
		char *path = coco_strdup(rest);
		if (!path)
			return coco_oom(ctx);
		char *colon = has_tag ? strchr(path, ':') : NULL;
		if (colon)
			*colon = 0;
		if (!*path) {
			free(path);
			return coco_seterr(ctx, COCOIMG_EINVAL, "invalid image reference \"%s\"", image);
		}
		im->identity = resolve_path(path);
		free(path);
		if (im->identity)
			im->namespaces = path_namespaces(im->identity);
	}
	if (!im->identity || !im->namespaces)
		return coco_oom(ctx);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Identity rules                                                      */
/* ------------------------------------------------------------------ */

static bool dref_eq_string(const coco_dref *a, const coco_dref *b)
{
	return coco_streq_free(coco_dref_string(a), coco_dref_string(b));
}

static bool dref_eq_name(const coco_dref *a, const coco_dref *b)
{
	return !strcmp(a->domain, b->domain) && !strcmp(a->path, b->path);
}

static bool repo_digest_or_exact(const coco_dref *intended, const coco_dref *sig)
{
	if (coco_dref_name_only(sig))
		return false;
	if (intended->tag)
		return dref_eq_string(intended, sig);
	if (intended->digest)
		return dref_eq_name(intended, sig);
	return false;
}

/* exactReference (exact) or exactRepository: the rule's reference ref
 * against the signed one. */
static bool ref_matches(const char *ref, const coco_dref *sig, bool exact)
{
	coco_dref other;
	const char *err;
	if (coco_dref_parse_named(ref, COCO_DREF_NORMALIZE, &other, &err))
		return false;
	bool ok = exact ? !coco_dref_name_only(&other) && !coco_dref_name_only(sig) &&
	                  dref_eq_string(&other, sig)
	                : dref_eq_name(&other, sig);
	coco_dref_clear(&other);
	return ok;
}

/* remapIdentity: an image under prefix is matched as if it were under
 * signedPrefix; others as matchRepoDigestOrExact. */
static bool remap_matches(const prm *m, const coco_dref *image, const coco_dref *sig)
{
	char *name = coco_dref_repo(image);
	size_t pl = strlen(m->prefix);
	bool hit = name && (!strcmp(name, m->prefix) ||
	                    (!strncmp(name, m->prefix, pl) && name[pl] == '/'));
	free(name);
	if (!hit)
		return repo_digest_or_exact(image, sig);
	char *full = coco_dref_string(image);
	char *pos = full ? strstr(full, m->prefix) : NULL;
	char *re = pos ? coco_asprintf("%.*s%s%s", (int)(pos - full), full, m->signed_prefix,
	                               pos + pl)
	               : NULL;
	free(full);
	coco_dref other;
	const char *err;
	bool ok = false;
	if (re && coco_dref_parse_named(re, COCO_DREF_CANONICAL, &other, &err) == 0) {
		ok = repo_digest_or_exact(&other, sig);
		coco_dref_clear(&other);
	}
	free(re);
	return ok;
}

static bool identity_matches(const prm *m, const coco_trust_image *im, const char *signed_ref)
{
	coco_dref sig;
	const char *err;
	bool ok = false;
	if (coco_dref_parse_named(signed_ref, COCO_DREF_NORMALIZE, &sig, &err))
		return false;
	const coco_dref *d = im->dref;
	switch (m->type) {
	case PRM_MATCH_EXACT:
		ok = d && !coco_dref_name_only(d) && !coco_dref_name_only(&sig) &&
		     dref_eq_string(d, &sig);
		break;
	case PRM_MATCH_REPO_DIGEST_OR_EXACT:
		ok = d && repo_digest_or_exact(d, &sig);
		break;
	case PRM_MATCH_REPOSITORY:
		ok = d && dref_eq_name(d, &sig);
		break;
	case PRM_EXACT_REFERENCE:
	case PRM_EXACT_REPOSITORY:
		ok = ref_matches(m->ref, &sig, m->type == PRM_EXACT_REFERENCE);
		break;
	case PRM_REMAP_IDENTITY:
		ok = d && remap_matches(m, d, &sig);
		break;
	}
	coco_dref_clear(&sig);
	return ok;
}

int coco_policy_identity_check(cocoimg_ctx *ctx, const char *prm_json, const char *image,
                               const char *signed_ref)
{
	prm m;
	int rc = coco_prm_parse_json(ctx, prm_json, &m);
	if (rc)
		return rc;
	coco_trust_image im;
	rc = coco_trust_image_init(ctx, &im, image);
	if (rc == 0)
		rc = identity_matches(&m, &im, signed_ref) ? 1 : 0;
	coco_trust_image_clear(&im);
	coco_prm_clear(&m);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Evaluation                                                          */
/* ------------------------------------------------------------------ */

/* Reason codes in the report (documented in include/cocoimg/trust.h). */
#define R_ACCEPT_ANYTHING "insecure-accept-anything"
#define R_TRUSTED "trusted-signature"
#define R_REJECT "rejected-by-policy"
#define R_NO_SIG "no-signature"
#define R_UNTRUSTED "no-trusted-signature"
#define R_MISMATCH "wrong-image-or-identity"
#define R_LOOKUP "lookup-failed"
#define R_INVALID "invalid-signature"
#define R_KEYS "key-error"
#define R_UNSUPPORTED "unsupported"

typedef struct evstate {
	cocoimg_ctx *ctx;
	const coco_trust_reader *reader;
	const coco_trust_image *im;
	const coco_trust_sigsource *src;
	int64_t now;
	bool fetched;
	int fetch_rc;
	char *fetch_msg;
	coco_trust_sigs sigs;
} evstate;

static int ensure_sigs(evstate *st)
{
	if (st->fetched)
		return st->fetch_rc;
	st->fetched = true;
	if (!st->src || !st->src->collect)
		return 0;
	coco_clearerr(st->ctx);
	st->fetch_rc = st->src->collect(st->src->payload, st->ctx, &st->sigs);
	if (st->fetch_rc) {
		st->fetch_msg = coco_strdup(cocoimg_ctx_last_error(st->ctx));
		coco_trust_sigs_clear(&st->sigs);
	}
	return st->fetch_rc;
}

static void set_result(json_t *r, const char *outcome, const char *reason, const char *msg)
{
	json_object_set_new(r, "outcome", json_string(outcome));
	json_object_set_new(r, "reason", json_string(reason));
	json_object_set_new(r, "message", json_string(msg ? msg : ""));
}

/* Read key material for a requirement (paths or inline). */
static int load_key_blobs(evstate *st, const pr *r, coco_buf **out, size_t *n)
{
	*n = 0;
	if (r->has_datas) {
		*out = calloc(r->n_key_datas + 1, sizeof(coco_buf));
		if (!*out)
			return coco_oom(st->ctx);
		for (size_t i = 0; i < r->n_key_datas; i++) {
			if (coco_buf_append(&(*out)[i], r->key_datas[i].data, r->key_datas[i].len))
				return coco_oom(st->ctx);
			*n = i + 1;
		}
		return 0;
	}
	*out = calloc(r->n_key_paths + 1, sizeof(coco_buf));
	if (!*out)
		return coco_oom(st->ctx);
	for (size_t i = 0; i < r->n_key_paths; i++) {
		*n = i + 1;
		int rc = coco_trust_read_path(st->ctx, st->reader, r->key_paths[i],
		                              COCO_POLICY_FILE_MAX, &(*out)[i]);
		if (rc)
			return rc;
	}
	return 0;
}

static void free_blobs(coco_buf *b, size_t n)
{
	COCO_FREE_ARRAY(b, n, coco_buf_free);
}

/* Per-signature classification, most telling last. */
enum { CAT_NONE = 0, CAT_UNTRUSTED = 1, CAT_MISMATCH = 2 };

static json_t *sig_entry(const coco_trust_sig *g, const char *outcome, const char *reason,
                         const char *msg)
{
	json_t *e = json_object();
	json_object_set_new(e, "source", json_string(g->origin ? g->origin : ""));
	json_object_set_new(e, "format", json_string(g->kind == COCO_SIG_SIMPLE   ? "simple-signing"
	                                             : g->kind == COCO_SIG_BUNDLE ? "sigstore-bundle"
	                                                                          : "sigstore"));
	set_result(e, outcome, reason, msg);
	return e;
}

/* The signatures a requirement looked at and why they were rejected. */
typedef struct tally {
	json_t *arr;               /* the requirement's "signatures" */
	coco_buf all;              /* every reason, "; "-separated */
	size_t count;
	int cat;
	char last[1024];
} tally;

static void tally_start(tally *t, json_t *rep)
{
	memset(t, 0, sizeof(*t));
	t->arr = json_array();
	json_object_set_new(rep, "signatures", t->arr);
}

/* Record a rejected signature (its report entry e, category cat). */
static void tally_reject(tally *t, json_t *e, int cat, const char *why)
{
	json_array_append_new(t->arr, e);
	if (t->count++)
		coco_buf_append(&t->all, "; ", 2);
	coco_buf_append(&t->all, why, strlen(why));
	if (t->cat < cat)
		t->cat = cat;
	snprintf(t->last, sizeof(t->last), "%s", why);
}

/* No signature was accepted: the verdict, Go-style. */
static int tally_reject_all(tally *t, json_t *rep, const char *none_msg)
{
	if (t->count == 0) {
		set_result(rep, "rejected", R_NO_SIG, none_msg);
	} else {
		char *m = t->count == 1 ? coco_strdup(t->last)
		                        : coco_asprintf("none of the signatures were accepted, "
		                                        "reasons: %.*s", (int)t->all.len,
		                                        (char *)t->all.data);
		set_result(rep, "rejected", t->cat == CAT_MISMATCH ? R_MISMATCH : R_UNTRUSTED, m);
		free(m);
	}
	coco_buf_free(&t->all);
	return COCOIMG_EPOLICY;
}

/* The image's signatures, or the requirement rejected for want of them. */
static int sigs_or_reject(evstate *st, json_t *rep)
{
	int rc = ensure_sigs(st);
	if (!rc)
		return 0;
	set_result(rep, "rejected", rc == COCOIMG_ESIGLOOKUP ? R_LOOKUP : R_INVALID, st->fetch_msg);
	return rc == COCOIMG_ESIGLOOKUP ? rc : COCOIMG_EPOLICY;
}

/* cosign signs the repository without a tag, which the default identity
 * rule (matchRepoDigestOrExact) never accepts for a tagged image: say
 * what the policy needs (containers/image semantics stay: no silent
 * acceptance). */
static const char *repo_only_hint(const pr *r, const char *ref)
{
	if (r->ident.type != PRM_MATCH_REPO_DIGEST_OR_EXACT)
		return "";
	coco_dref d;
	const char *err = NULL;
	if (coco_dref_parse_named(ref, COCO_DREF_NORMALIZE, &d, &err))
		return "";
	bool repo_only = coco_dref_name_only(&d);
	coco_dref_clear(&d);
	return repo_only ? " by the default identity rule (matchRepoDigestOrExact): the signature "
	                   "names the repository only, as cosign writes it; to accept it, set "
	                   "\"signedIdentity\": {\"type\": \"matchRepository\"} in the policy" : "";
}

/* Digest + identity checks shared by both signature kinds. */
static bool claims_ok(evstate *st, const pr *r, const char *digest, const char *ref,
                      char *why, size_t wl)
{
	if (!coco_manifest_matches_digest(st->im->manifest, st->im->manifest_len, digest)) {
		snprintf(why, wl, "signature for digest %s does not match", digest);
		return false;
	}
	/* cosign-style verification of a layout: no repository to compare */
	if (r->type == PR_SIGSTORE_SIGNED && r->ss.cosign_style && !st->im->dref)
		return true;
	if (!identity_matches(&r->ident, st->im, ref)) {
		snprintf(why, wl, "signature for identity \"%s\" is not accepted%s", ref,
		         repo_only_hint(r, ref));
		return false;
	}
	return true;
}

/* signedBy's keyring, listed in the report as "trusted_keys".  NULL with
 * the requirement rejected (*rc) when no key could be read. */
static coco_pgp_keyring *gpg_keyring(evstate *st, const pr *r, json_t *rep, int *rc)
{
	cocoimg_ctx *ctx = st->ctx;
	coco_buf *blobs = NULL;
	size_t nb = 0;
	coco_clearerr(ctx);
	*rc = load_key_blobs(st, r, &blobs, &nb);
	coco_pgp_keyring *kr = *rc ? NULL : coco_pgp_keyring_new();
	if (*rc) {
		set_result(rep, "rejected", R_KEYS, cocoimg_ctx_last_error(ctx));
		*rc = COCOIMG_EPOLICY;
	} else if (!kr) {
		*rc = coco_oom(ctx);
	}
	for (size_t i = 0; kr && i < nb; i++) {
		const char *what = r->has_paths ? r->key_paths[i] : "keyData";
		if (coco_pgp_keyring_add(ctx, kr, blobs[i].data, blobs[i].len, what) < 0)
			coco_debug(ctx, "%s", cocoimg_ctx_last_error(ctx));
	}
	free_blobs(blobs, nb);
	if (!kr)
		return NULL;
	json_t *keys = json_array();
	for (size_t i = 0; i < coco_pgp_keyring_count(kr); i++) {
		char f[41];
		coco_pgp_keyring_fpr(kr, i, f);
		json_array_append_new(keys, json_string(f));
	}
	json_object_set_new(rep, "trusted_keys", keys);
	if (coco_pgp_keyring_count(kr) == 0) {
		coco_pgp_keyring_free(kr);
		set_result(rep, "rejected", R_KEYS, "no public keys imported");
		*rc = COCOIMG_EPOLICY;
		return NULL;
	}
	return kr;
}

/* One simple-signing signature against kr: true when it is accepted (the
 * requirement's result is then set), else tallied. */
static bool simple_sig_accepted(evstate *st, const pr *r, const coco_pgp_keyring *kr,
                                const coco_trust_sig *g, tally *t, json_t *rep)
{
	cocoimg_ctx *ctx = st->ctx;
	coco_buf content = COCO_BUF_INIT;
	char signer[41];
	char why[1024];
	coco_clearerr(ctx);
	if (coco_pgp_verify_message(ctx, kr, g->blob.data, g->blob.len, st->now, &content,
	                            signer)) {
		snprintf(why, sizeof(why), "%s", cocoimg_ctx_last_error(ctx));
		tally_reject(t, sig_entry(g, "rejected", R_UNTRUSTED, why), CAT_UNTRUSTED, why);
		return false;
	}
	char *digest = NULL, *ref = NULL;
	bool ok = false;
	coco_clearerr(ctx);
	if (coco_simple_payload_parse(ctx, content.data, content.len, false, &digest, &ref))
		snprintf(why, sizeof(why), "%s", cocoimg_ctx_last_error(ctx));
	else
		ok = claims_ok(st, r, digest, ref, why, sizeof(why));
	coco_buf_free(&content);
	free(digest);
	free(ref);
	json_t *e = sig_entry(g, ok ? "accepted" : "rejected", ok ? R_TRUSTED : R_MISMATCH,
	                      ok ? "" : why);
	json_object_set_new(e, "signer", json_string(signer));
	if (!ok) {
		tally_reject(t, e, CAT_MISMATCH, why);
		return false;
	}
	json_array_append_new(t->arr, e);
	char m[200];
	snprintf(m, sizeof(m), "signed by key %s", signer);
	set_result(rep, "accepted", R_TRUSTED, m);
	json_object_set_new(rep, "signer", json_string(signer));
	return true;
}

static int eval_signed_by(evstate *st, const pr *r, json_t *rep)
{
	if (strcmp(r->key_type, "GPGKeys") != 0) {
		char m[200];
		snprintf(m, sizeof(m), "unimplemented \"keyType\" value \"%s\"", r->key_type);
		set_result(rep, "rejected", R_UNSUPPORTED, m);
		return COCOIMG_EPOLICY;
	}
	int rc;
	coco_pgp_keyring *kr = gpg_keyring(st, r, rep, &rc);
	if (!kr)
		return rc;
	if ((rc = sigs_or_reject(st, rep))) {
		coco_pgp_keyring_free(kr);
		return rc;
	}
	tally t;
	tally_start(&t, rep);
	for (size_t i = 0; i < st->sigs.n; i++) {
		const coco_trust_sig *g = &st->sigs.v[i];
		if (g->kind == COCO_SIG_SIMPLE && simple_sig_accepted(st, r, kr, g, &t, rep)) {
			coco_buf_free(&t.all);
			coco_pgp_keyring_free(kr);
			return 0;
		}
	}
	coco_pgp_keyring_free(kr);
	return tally_reject_all(&t, rep, "a signature was required, but no signature exists");
}

#define COSIGN_MIME "application/vnd.dev.cosign.simplesigning.v1+json"

/* One sigstore signature against the requirement's trust: true when
 * accepted, else tallied (the failed check named in its entry). */
static bool sigstore_sig_accepted(evstate *st, const pr *r, const coco_cosign_trust *trust,
                                  const coco_trust_sig *g, tally *t)
{
	char *digest = NULL, *ref = NULL;
	char why[1024];
	coco_sigcheck failed = COCO_SIGCHECK_NONE;
	coco_clearerr(st->ctx);
	if (coco_cosign_verify_ex(st->ctx, &g->sigstore, trust, &digest, &ref, &failed)) {
		snprintf(why, sizeof(why), "%s", cocoimg_ctx_last_error(st->ctx));
		json_t *e = sig_entry(g, "rejected", R_UNTRUSTED, why);
		if (failed != COCO_SIGCHECK_NONE)
			json_object_set_new(e, "failed_check", json_string(coco_sigcheck_name(failed)));
		tally_reject(t, e, CAT_UNTRUSTED, why);
		free(digest);
		free(ref);
		return false;
	}
	bool ok = digest && ref && claims_ok(st, r, digest, ref, why, sizeof(why));
	bool digest_ok = !digest || coco_manifest_matches_digest(st->im->manifest,
	                                                          st->im->manifest_len, digest);
	free(digest);
	free(ref);
	if (ok) {
		json_array_append_new(t->arr, sig_entry(g, "accepted", R_TRUSTED, ""));
		return true;
	}
	json_t *e = sig_entry(g, "rejected", R_MISMATCH, why);
	json_object_set_new(e, "failed_check", json_string(digest_ok ? "identity" : "digest"));
	tally_reject(t, e, CAT_MISMATCH, why);
	return false;
}


/* One Sigstore bundle (bundle_image.c) against pols (one per policy key;
 * keyless requirements add theirs): true when accepted, else tallied with
 * the failed check named ("failed_check" in the report).  A bundle names
 * no repository: the subject digest binds the image and signedIdentity is
 * not consulted (bundle_image.c, docs/bundles.md). */
static bool bundle_sig_accepted(evstate *st, const coco_sigstore_policy *pols, size_t np,
                                const coco_trust_sig *g, tally *t)
{
	coco_sigstore_result res = {0};
	char *why = NULL;
	int rc = COCOIMG_EPOLICY;
	coco_clearerr(st->ctx);
	/* a bundle of the index binds the index, which lists the image */
	const unsigned char *signed_m = g->of_index ? st->im->index : st->im->manifest;
	size_t signed_len = g->of_index ? st->im->index_len : st->im->manifest_len;
	if (g->problem)
		res.failed = COCO_SIGCHECK_DIGEST;
	else
		rc = coco_bundle_image_verify(st->ctx, g->blob.data, g->blob.len, signed_m,
		                              signed_len, pols, np, &res, &why);
	const char *check = coco_sigcheck_name(rc ? res.failed : COCO_SIGCHECK_NONE);
	char msg[1200];
	snprintf(msg, sizeof(msg), "Sigstore bundle refused (failed check: %s): %s", check,
	         g->problem ? g->problem : why ? why : cocoimg_ctx_last_error(st->ctx));
	free(why);
	coco_sigstore_result_clear(&res);
	bool mismatch = rc && res.failed == COCO_SIGCHECK_DIGEST;
	json_t *e = sig_entry(g, rc ? "rejected" : "accepted",
	                      !rc ? R_TRUSTED : mismatch ? R_MISMATCH : R_UNTRUSTED, rc ? msg : "");
	json_object_set_new(e, "failed_check", json_string(check));
	json_object_set_new(e, "identity", json_string("digest-bound"));
	if (rc)
		tally_reject(t, e, mismatch ? CAT_MISMATCH : CAT_UNTRUSTED, msg);
	else
		json_array_append_new(t->arr, e);
	return rc == 0;
}

/*
 * The bundle verification policies of a requirement (referrers bundles):
 * one per key (a transparency log entry required when the requirement has
 * Rekor keys or a trusted root, as for the .sig signatures), or one for
 * keyless: the policy's Fulcio CAs and Rekor keys (no SCT, as
 * containers/image) or the trusted root (SCT unless ignored), with the
 * e-mail / issuer (or cosign-style identity rules); or one for pki: the
 * bundle's certificate under the policy's PKI roots (docs/bundles.md).
 */
static coco_sigstore_policy *bundle_policies(const evstate *st, const pr *r,
                                             const coco_sigstore_material *m, size_t *np)
{
	const pr_sigstore *ss = &r->ss;
	const coco_trustroot *root = m->root ? m->root : m->fulcio_cas;
	size_t n = ss->pki || ss->fulcio ? 1 : m->n_keys;
	coco_sigstore_policy *p = calloc(n ? n : 1, sizeof(*p));
	*np = p ? n : 0;
	if (p && ss->pki) {
		p[0] = (coco_sigstore_policy){ .pki = &m->pki, .now = st->now };
		return p;
	}
	for (size_t i = 0; p && !ss->fulcio && i < n; i++)
		p[i] = (coco_sigstore_policy){ .key = m->keys[i], .root = root, .now = st->now,
		                               .allow_no_tlog = !root || ss->ignore_tlog };
	if (p && ss->fulcio && n) {
		bool cli = ss->identity || ss->identity_regexp;
		p[0] = (coco_sigstore_policy){ .root = root, .now = st->now,
		                               .identity = cli ? ss->identity : ss->subject_email,
		                               .identity_regexp = ss->identity_regexp,
		                               .issuer = cli ? ss->issuer : ss->oidc_issuer,
		                               .issuer_regexp = ss->issuer_regexp,
		                               .ignore_sct = !m->root || ss->ignore_sct };
	}
	return p;
}

/* What an accepted sigstoreSigned requirement says. */
static const char *sigstore_accept_msg(const pr *r, const coco_trust_sig *g)
{
	if (g->kind == COCO_SIG_BUNDLE)
		return r->ss.fulcio ? "signed with a trusted Fulcio certificate (Sigstore bundle)"
		       : r->ss.pki  ? "signed with a trusted PKI certificate (Sigstore bundle)"
		                    : "signed by a trusted sigstore key (Sigstore bundle)";
	if (r->ss.fulcio)
		return "signed with a trusted Fulcio certificate";
	if (r->ss.pki)
		return "signed with a trusted PKI certificate";
	return "signed by a trusted sigstore key";
}

/* One signature of the image against the requirement: true when accepted;
 * *skipped_simple / *skipped_other count what is not a signature for it. */
static bool sig_accepted(evstate *st, const pr *r, const coco_sigstore_material *m,
                         const coco_sigstore_policy *bpols, size_t nbp,
                         const coco_trust_sig *g, tally *t, size_t *skipped_simple,
                         size_t *skipped_other)
{
	if (g->kind == COCO_SIG_BUNDLE && nbp)
		return bundle_sig_accepted(st, bpols, nbp, g, t);
	if (g->kind == COCO_SIG_BUNDLE || (g->kind == COCO_SIG_SIGSTORE &&
	                                   (!g->mime_type || strcmp(g->mime_type, COSIGN_MIME))))
		(*skipped_other)++;
	else if (g->kind != COCO_SIG_SIGSTORE)
		(*skipped_simple)++;
	else
		return sigstore_sig_accepted(st, r, &m->trust, g, t);
	return false;
}

static int eval_sigstore(evstate *st, const pr *r, json_t *rep)
{
	cocoimg_ctx *ctx = st->ctx;
	coco_sigstore_material m;
	coco_clearerr(ctx);
	int rc = coco_sigstore_material_load(ctx, st->reader, r, st->now, &m);
	if (rc) {
		set_result(rep, "rejected", R_KEYS, cocoimg_ctx_last_error(ctx));
		coco_sigstore_material_clear(&m);
		return rc == COCOIMG_ENOMEM ? rc : COCOIMG_EPOLICY;
	}
	size_t nbp = 0;
	coco_sigstore_policy *bpols = NULL;
	if ((rc = sigs_or_reject(st, rep)) || !(bpols = bundle_policies(st, r, &m, &nbp))) {
		coco_sigstore_material_clear(&m);
		return rc ? rc : coco_oom(ctx);
	}
	tally t;
	tally_start(&t, rep);
	size_t skipped_simple = 0, skipped_other = 0;
	for (size_t i = 0; i < st->sigs.n; i++) {
		const coco_trust_sig *g = &st->sigs.v[i];
		if (sig_accepted(st, r, &m, bpols, nbp, g, &t, &skipped_simple, &skipped_other)) {
			set_result(rep, "accepted", R_TRUSTED, sigstore_accept_msg(r, g));
			coco_buf_free(&t.all);
			free(bpols);
			coco_sigstore_material_clear(&m);
			return 0;
		}
	}
	free(bpols);
	coco_sigstore_material_clear(&m);
	char msg[300];
	snprintf(msg, sizeof(msg), "a signature was required, but no signature exists "
	         "(%zu non-sigstore signatures and %zu sigstore attachments of other types "
	         "skipped)", skipped_simple, skipped_other);
	return tally_reject_all(&t, rep, msg);
}

static const reqlist *choose(const coco_policy *p, const coco_trust_image *im, char **scope)
{
	for (size_t i = 0; i < p->nt; i++) {
		const ptransport *t = &p->t[i];
		if (strcmp(t->name, im->transport))
			continue;
		const reqlist *dflt = NULL;
		const char *cand[2] = { im->identity, NULL };
		for (size_t c = 0; cand[c]; c++)
			for (size_t k = 0; k < t->n; k++)
				if (!strcmp(t->scopes[k].scope, cand[c])) {
					*scope = coco_asprintf("transports.%s[\"%s\"]", t->name, cand[c]);
					return &t->scopes[k];
				}
		for (size_t nsi = 0; im->namespaces && im->namespaces[nsi]; nsi++)
			for (size_t k = 0; k < t->n; k++)
				if (!strcmp(t->scopes[k].scope, im->namespaces[nsi])) {
					*scope = coco_asprintf("transports.%s[\"%s\"]", t->name,
					                       im->namespaces[nsi]);
					return &t->scopes[k];
				}
		for (size_t k = 0; k < t->n; k++)
			if (!*t->scopes[k].scope)
				dflt = &t->scopes[k];
		if (dflt) {
			*scope = coco_asprintf("transports.%s[\"\"]", t->name);
			return dflt;
		}
	}
	*scope = coco_strdup("default");
	return &p->dflt;
}

/* One requirement; its result goes into its report entry e. */
static int eval_requirement(evstate *st, const pr *r, json_t *e)
{
	switch (r->type) {
	case PR_INSECURE_ACCEPT_ANYTHING:
		set_result(e, "accepted", R_ACCEPT_ANYTHING, "any image is accepted");
		return 0;
	case PR_REJECT:
		set_result(e, "rejected", R_REJECT, "the policy rejects this image");
		return COCOIMG_EPOLICY;
	case PR_SIGNED_BASE_LAYER:
		set_result(e, "rejected", R_UNSUPPORTED, "signedBaseLayer is not implemented");
		return COCOIMG_EPOLICY;
	case PR_SIGNED_BY:
		json_object_set_new(e, "key_type", json_string(r->key_type));
		json_object_set_new(e, "signed_identity", json_string(coco_prm_names[r->ident.type]));
		return eval_signed_by(st, r, e);
	case PR_SIGSTORE_SIGNED:
		json_object_set_new(e, "signed_identity", json_string(coco_prm_names[r->ident.type]));
		return eval_sigstore(st, r, e);
	}
	return 0;
}

/* The overall verdict on ctx: a message for a rejection or failed lookup. */
static void verdict_message(cocoimg_ctx *ctx, const coco_trust_image *im, const char *scope,
                            const char *req_type, size_t idx, int result, const char *msg)
{
	if (result == COCOIMG_ESIGLOOKUP)
		coco_seterr(ctx, result, "signature lookup for %s failed: %s", im->name,
		            msg ? msg : "");
	else if (result)
		coco_seterr(ctx, COCOIMG_EPOLICY, "%s rejected by policy (%s, requirement %zu, %s): %s",
		            im->name, scope ? scope : "default", idx, req_type, msg ? msg : "");
	else
		coco_clearerr(ctx);
}

int coco_policy_evaluate(cocoimg_ctx *ctx, const coco_policy *p, const coco_trust_image *im,
                         const coco_trust_sigsource *src, int64_t now, json_t **report)
{
	evstate st;
	memset(&st, 0, sizeof(st));
	st.ctx = ctx;
	st.reader = p->reader;
	st.im = im;
	st.src = src;
	st.now = now ? now : (int64_t)time(NULL);
	char *scope = NULL;
	const reqlist *l = choose(p, im, &scope);
	json_t *rep = json_object();
	json_t *reqs = json_array();
	json_object_set_new(rep, "image", json_string(im->name ? im->name : ""));
	json_object_set_new(rep, "transport", json_string(im->transport));
	json_object_set_new(rep, "identity", json_string(im->identity ? im->identity : ""));
	json_object_set_new(rep, "manifest_digest", json_string(im->manifest_digest));
	json_object_set_new(rep, "scope", json_string(scope ? scope : "default"));
	int result = 0;
	const char *fail_msg = NULL;
	size_t fail_idx = 0;
	for (size_t i = 0; i < l->n; i++) {
		const pr *r = &l->v[i];
		json_t *e = json_object();
		json_object_set_new(e, "index", json_integer((json_int_t)i));
		json_object_set_new(e, "type", json_string(coco_pr_names[r->type]));
		json_array_append_new(reqs, e);
		if (result) {
			set_result(e, "not-evaluated", "", "an earlier requirement rejected the image");
			continue;
		}
		int rc = eval_requirement(&st, r, e);
		if (rc == COCOIMG_ENOMEM) {
			json_decref(rep);
			json_decref(reqs);
			free(scope);
			coco_trust_sigs_clear(&st.sigs);
			free(st.fetch_msg);
			return rc;
		}
		const char *why = json_string_value(json_object_get(e, "message"));
		coco_debug(ctx, "policy scope %s: requirement %zu (%s) %s%s%s", scope ? scope : "default",
		           i, coco_pr_names[r->type], rc ? "refused" : "accepted", why && *why ? ": " : "",
		           why && *why ? why : "");
		if (rc) {
			result = rc;
			fail_idx = i;
			fail_msg = json_string_value(json_object_get(e, "message"));
		}
	}
	json_object_set_new(rep, "requirements", reqs);
	json_object_set_new(rep, "accepted", json_boolean(result == 0));
	json_object_set_new(rep, "verdict", json_string(result == 0 ? "accepted" :
	                                                result == COCOIMG_ESIGLOOKUP ? "lookup-failed"
	                                                                             : "rejected"));
	verdict_message(ctx, im, scope, result ? coco_pr_names[l->v[fail_idx].type] : "", fail_idx,
	                result, fail_msg);
	free(scope);
	coco_trust_sigs_clear(&st.sigs);
	free(st.fetch_msg);
	if (report)
		*report = rep;
	else
		json_decref(rep);
	return result ? (result == COCOIMG_ESIGLOOKUP ? result : COCOIMG_EPOLICY) : 0;
}
