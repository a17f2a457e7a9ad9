/*
 * The in-memory policy of cosign-style verification (`coco-img verify IMAGE
 * --key PUB` or `--certificate-identity[-regexp] ID
 * --certificate-oidc-issuer[-regexp] ISS --trusted-root FILE`): what a
 * policy.json with one sigstoreSigned requirement in "default" would say,
 * with cosign's rules for the flags (both an identity and an issuer for
 * keyless, no trust anchor built in).
 */
#include "policy.h"
#include "policy_rules.h"
#include "../base.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>

static int flag_err(cocoimg_ctx *ctx, const char *msg)
{
	return coco_seterr(ctx, COCOIMG_EINVAL, "verify: %s", msg);
}

static bool regex_ok(const char *re)
{
	regex_t r;
	if (!re)
		return true;
	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB))
		return false;
	regfree(&r);
	return true;
}

static int flags_check(cocoimg_ctx *ctx, const coco_cosign_flags *f)
{
	bool id = f->identity || f->identity_regexp, iss = f->issuer || f->issuer_regexp;
	if (f->key_path && (id || iss))
		return flag_err(ctx, "--key and --certificate-* cannot be used together");
	if (!f->key_path && !id && !iss)
		return flag_err(ctx, "--key or --certificate-identity is required");
	if (f->key_path)
		return 0;
	if (!id || !iss)
		return flag_err(ctx, "keyless verification needs both --certificate-identity[-regexp] "
		                "and --certificate-oidc-issuer[-regexp]");
	if ((f->identity && f->identity_regexp) || (f->issuer && f->issuer_regexp))
		return flag_err(ctx, "give an exact value or a regular expression, not both");
	if (!regex_ok(f->identity_regexp) || !regex_ok(f->issuer_regexp))
		return flag_err(ctx, "invalid regular expression");
	if (!f->trusted_root)
		return flag_err(ctx, "keyless verification has no trust anchor: give --trusted-root "
		                "FILE (coco-img ships no Sigstore root and fetches none)");
	return 0;
}

/* s copied into *out when given. */
static bool dup_opt(const char *s, char **out)
{
	*out = s ? coco_strdup(s) : NULL;
	return !s || *out;
}

static int fill(const coco_cosign_flags *f, pr *r)
{
	pr_sigstore *ss = &r->ss;
	r->type = PR_SIGSTORE_SIGNED;
	r->ident.type = PRM_MATCH_REPOSITORY;
	ss->cosign_style = true;
	ss->ignore_tlog = f->ignore_tlog;
	ss->ignore_sct = f->ignore_sct;
	ss->fulcio = !f->key_path;
	if (f->key_path) {
		r->key_paths = calloc(2, sizeof(char *));
		if (!r->key_paths || !(r->key_paths[0] = coco_strdup(f->key_path)))
			return COCOIMG_ENOMEM;
		r->n_key_paths = 1;
		r->has_paths = true;
	}
	if (!dup_opt(f->trusted_root, &ss->trusted_root) || !dup_opt(f->identity, &ss->identity) ||
	    !dup_opt(f->identity_regexp, &ss->identity_regexp) || !dup_opt(f->issuer, &ss->issuer) ||
	    !dup_opt(f->issuer_regexp, &ss->issuer_regexp))
		return COCOIMG_ENOMEM;
	return 0;
}

int coco_policy_cosign(cocoimg_ctx *ctx, const coco_cosign_flags *f, coco_policy **out)
{
	*out = NULL;
	int rc = flags_check(ctx, f);
	if (rc)
		return rc;
	coco_policy *p = calloc(1, sizeof(*p));
	if (!p || !(p->dflt.v = calloc(1, sizeof(pr)))) {
		free(p);
		return coco_oom(ctx);
	}
	p->dflt.n = 1;
	if (fill(f, &p->dflt.v[0])) {
		coco_policy_free(p);
		return coco_oom(ctx);
	}
	*out = p;
	return 0;
}
