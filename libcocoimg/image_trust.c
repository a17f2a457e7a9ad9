/*
 * Image operation glue for the trust module: cocoimg_verify(),
 * cocoimg_verify_blobs() and coco_trust_evaluate() (the hook unpack
 * calls before fetching any layer).  Everything policy-related lives in
 * trust/; this file only resolves the image and gathers its signatures.
 */
#include "internal.h"
#include "trust/policy.h"

#include <string.h>
#include <sys/stat.h>

#define DEFAULT_POLICY "/etc/containers/policy.json"

/* containers/image's choice of the policy file (signatures.md 1.1). */
static char *policy_path_default(const cocoimg_ctx *ctx, const char *given)
{
	if (given && *given)
		return coco_strdup(given);
	const char *opt = coco_opt(ctx, NULL, "policy");
	if (opt && *opt)
		return coco_strdup(opt);
	const char *home = getenv("HOME");
	if (home) {
		char *p = coco_asprintf("%s/.config/containers/policy.json", home);
		struct stat st;
		if (p && stat(p, &st) == 0)
			return p;
		free(p);
	}
	return coco_strdup(DEFAULT_POLICY);
}

static int report_out(cocoimg_ctx *ctx, json_t *rep, char **report)
{
	if (!report) {
		json_decref(rep);
		return 0;
	}
	*report = rep ? json_dumps(rep, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(rep);
	if (rep && !*report)
		return coco_oom(ctx);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Signatures of a real image                                          */
/* ------------------------------------------------------------------ */

typedef struct src_fetch {
	coco_src *src;
	const coco_trust_image *im;
	const coco_regd *regd;
} src_fetch;

static int fetch_from_src(void *payload, cocoimg_ctx *ctx, coco_trust_sigs *sigs)
{
	src_fetch *sf = payload;
	const coco_trust_image *im = sf->im;
	int rc;
	if (!strcmp(im->transport, "docker") && im->dref) {
		char *base = coco_regd_lookaside(sf->regd, im->dref);
		if (!base)
			return coco_oom(ctx);
		coco_debug(ctx, "reading signatures of %s from %s", im->name, base);
		rc = coco_lookaside_fetch(ctx, base, im->dref->path, im->manifest_digest, sigs);
		free(base);
		if (rc)
			return rc;
		if (!coco_regd_use_sigstore_attachments(sf->regd, im->dref))
			return 0;
	} else if (strcmp(im->transport, "oci") != 0) {
		return 0;
	}
	/* OCI layouts hold no simple signatures, but `coco-img sign oci:...`
	 * (like cosign with an OCI layout) stores sigstore attachments there
	 * under the sha256-<hex>.sig tag: always look for them.  containers/image
	 * reads no signatures from layouts; this is an extension. */
	coco_sigstore_sig *att = NULL;
	size_t n = 0;
	rc = coco_cosign_fetch(ctx, sf->src, im->manifest_digest, &att, &n);
	if (rc)
		return rc == COCOIMG_ENOMEM ? rc : coco_preferr(ctx, COCOIMG_ESIGLOOKUP,
		                                               "sigstore attachments");
	for (size_t i = 0; i < n; i++) {
		coco_trust_sig *nv = realloc(sigs->v, (sigs->n + 1) * sizeof(*nv));
		if (!nv) {
			coco_sigstore_sigs_free(att + i, n - i);
			free(att);
			return coco_oom(ctx);
		}
		sigs->v = nv;
		coco_trust_sig *g = &nv[sigs->n++];
		memset(g, 0, sizeof(*g));
		g->kind = COCO_SIG_SIGSTORE;
		g->mime_type = coco_strdup(COCO_COSIGN_SIMPLESIGNING_MT);
		g->origin = coco_asprintf("sigstore attachment %zu", i + 1);
		g->sigstore = att[i];      /* moved */
	}
	free(att);
	return 0;
}

int coco_trust_evaluate(cocoimg_ctx *ctx, coco_src *src, const coco_resolved *img,
                        const char *policy_path, json_t **report)
{
	if (report)
		*report = NULL;
	char *path = policy_path_default(ctx, policy_path);
	if (!path)
		return coco_oom(ctx);
	coco_policy *pol = NULL;
	int rc = coco_policy_load(ctx, path, &pol);
	free(path);
	if (rc)
		return rc;
	char *name = coco_ref_string(src->ref);
	coco_trust_image im;
	rc = name ? coco_trust_image_init(ctx, &im, name)
	          : coco_oom(ctx);
	free(name);
	if (rc) {
		if (name)
			coco_trust_image_clear(&im);
		coco_policy_free(pol);
		return rc;
	}
	if (src->ref->raw) {
		free(im.name);
		im.name = coco_strdup(src->ref->raw);
	}
	im.manifest = img->raw.data;
	im.manifest_len = img->raw.len;
	snprintf(im.manifest_digest, sizeof(im.manifest_digest), "%s", img->digest);
	coco_regd *regd = NULL;
	if (!strcmp(im.transport, "docker"))
		rc = coco_regd_load(ctx, NULL, &regd);
	if (rc == 0) {
		src_fetch sf = { src, &im, regd };
		coco_trust_fetcher f = { fetch_from_src, &sf };
		rc = coco_policy_evaluate(ctx, pol, &im, &f, 0, report);
	}
	coco_regd_free(regd);
	coco_trust_image_clear(&im);
	coco_policy_free(pol);
	return rc;
}

int cocoimg_verify(cocoimg_ctx *ctx, const char *image, const char *policy_path, char **report)
{
	if (report)
		*report = NULL;
	if (!ctx || !image)
		return COCOIMG_EINVAL;
	coco_clearerr(ctx);
	/* The policy is checked first: a missing or broken policy is the
	 * user's mistake whatever the image. */
	char *path = policy_path_default(ctx, policy_path);
	if (!path)
		return coco_oom(ctx);
	coco_policy *pol = NULL;
	int rc = coco_policy_load(ctx, path, &pol);
	coco_policy_free(pol);
	if (rc) {
		free(path);
		return rc;
	}
	coco_src *src = NULL;
	rc = coco_src_open(ctx, image, "src", &src);
	if (rc) {
		free(path);
		return rc;
	}
	coco_resolved res;
	memset(&res, 0, sizeof(res));
	rc = coco_resolve(src, NULL, &res);
	if (rc == 0) {
		json_t *rep = NULL;
		rc = coco_trust_evaluate(ctx, src, &res, path, &rep);
		int r2 = report_out(ctx, rep, report);
		if (r2)
			rc = r2;
	}
	coco_resolved_clear(&res);
	coco_src_close(src);
	free(path);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Signatures given as bytes                                           */
/* ------------------------------------------------------------------ */

static int fetch_from_blobs(void *payload, cocoimg_ctx *ctx, coco_trust_sigs *sigs)
{
	const cocoimg_verify_input *in = payload;
	for (size_t i = 0; i < in->n_signatures; i++) {
		char origin[48];
		snprintf(origin, sizeof(origin), "signature-%zu", i + 1);
		int rc = coco_trust_sigs_add_blob(ctx, sigs, in->signatures[i], in->signature_lens[i],
		                                  origin);
		if (rc)
			return rc;
	}
	return 0;
}

int cocoimg_verify_blobs(cocoimg_ctx *ctx, const cocoimg_verify_input *in, char **report)
{
	if (report)
		*report = NULL;
	if (!ctx)
		return COCOIMG_EINVAL;
	coco_clearerr(ctx);
	if (!in || in->version < 1 || !in->image || (!in->manifest && in->manifest_len) ||
	    (in->n_signatures && (!in->signatures || !in->signature_lens)))
		return coco_seterr(ctx, COCOIMG_EINVAL, "cocoimg_verify_blobs: invalid input");
	coco_policy *pol = NULL;
	int rc;
	if (in->policy_json)
		rc = coco_policy_parse(ctx, in->policy_json, in->policy_json_len, "policy.json", &pol);
	else {
		char *path = policy_path_default(ctx, in->policy_path);
		rc = path ? coco_policy_load(ctx, path, &pol)
		          : coco_oom(ctx);
		free(path);
	}
	if (rc)
		return rc;
	coco_trust_image im;
	rc = coco_trust_image_init(ctx, &im, in->image);
	if (rc == 0) {
		im.manifest = in->manifest ? in->manifest : (const unsigned char *)"";
		im.manifest_len = in->manifest_len;
		rc = coco_digest_bytes(COCO_SHA256, im.manifest, im.manifest_len, im.manifest_digest);
		if (rc)
			rc = coco_oom(ctx);
	}
	if (rc == 0) {
		coco_trust_fetcher f = { fetch_from_blobs, (void *)in };
		json_t *rep = NULL;
		rc = coco_policy_evaluate(ctx, pol, &im, &f, in->now, &rep);
		int r2 = report_out(ctx, rep, report);
		if (r2)
			rc = r2;
	}
	coco_trust_image_clear(&im);
	coco_policy_free(pol);
	return rc;
}
