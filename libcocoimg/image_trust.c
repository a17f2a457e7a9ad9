/*
 * Image operation glue for the trust module: cocoimg_verify(),
 * cocoimg_verify_blobs() and coco_trust_evaluate() (the hook unpack
 * calls before fetching any layer).  Everything policy-related lives in
 * trust/; this file resolves the image and implements the fetcher through
 * which trust/ reads signatures (registry, OCI layout, HTTP, local files).
 */
#include "api.h"
#include "base.h"
#include "caps.h"
#include "digest.h"
#include "image_open.h"
#include "image_plain.h"
#include "image_trust.h"
#include "json.h"
#include "oci/oci.h"
#include "oci/referrers.h"
#include "oci/resolve.h"
#include "ref.h"
#include "registry/registry.h"
#include "transport.h"
#include "trust/policy.h"
#include "image_broker.h"

#include <errno.h>
#include <stdint.h>
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

/* Files named by the policy (keyPath(s), rekorPublicKeyPath(s), caPath,
 * caRootsPath, ...): local files, or resource URIs fetched through the
 * broker (a policy file that cannot be had rejects: exit 3). */
static int read_policy_file(void *payload, cocoimg_ctx *ctx, const char *path, size_t max,
                            coco_buf *out)
{
	(void)payload;
	return coco_read_named(ctx, path, max, "policy file", COCOIMG_EPOLICY, out,
	                       COCOIMG_ECONFIG);
}

static const coco_trust_reader policy_reader = { NULL, read_policy_file };

/* The policy from a file or a resource URI (fetched: a policy that
 * cannot be had is a refusal, exit 3), with the key reader installed. */
/* The policy an operation uses: the one given, else the "policy" option,
 * else the default file (policy_path_default). */
static int policy_load(cocoimg_ctx *ctx, const char *given, coco_policy **out)
{
	*out = NULL;
	char *path = policy_path_default(ctx, given);
	if (!path)
		return coco_oom(ctx);
	int rc;
	coco_op_broker_attach(ctx);
	if (coco_name_is_uri(path)) {
		coco_buf b = COCO_BUF_INIT;
		rc = coco_read_named(ctx, path, 4 << 20, "policy", COCOIMG_EPOLICY, &b, COCOIMG_ECONFIG);
		if (!rc)
			rc = coco_policy_parse(ctx, b.data, b.len, path, out);
		coco_buf_wipe_free(&b);
	} else {
		rc = coco_policy_load(ctx, path, out);
	}
	if (!rc)
		coco_policy_set_reader(*out, &policy_reader);
	free(path);
	return rc;
}

/* registries.d: a directory, or one YAML file given as a resource URI. */
static int regd_load(cocoimg_ctx *ctx, coco_regd **out)
{
	const char *opt = coco_opt(ctx, NULL, "registries.d");
	if (!coco_name_is_uri(opt))
		return coco_regd_load(ctx, NULL, out);
	*out = NULL;
	coco_buf b = COCO_BUF_INIT;
	int rc = coco_read_named(ctx, opt, 4 << 20, "registries.d", COCOIMG_ESIGLOOKUP, &b,
	                         COCOIMG_ECONFIG);
	coco_regd *rd = rc ? NULL : coco_regd_new();
	if (!rc && !rd)
		rc = coco_oom(ctx);
	if (!rc)
		rc = coco_regd_add_yaml(ctx, rd, b.data, b.len, opt);
	coco_buf_wipe_free(&b);
	if (rc)
		coco_regd_free(rd);
	else
		*out = rd;
	return rc;
}

/* Hand rep out as JSON text when the caller asked for it (rep is freed):
 * rc, the evaluation's result, unless the text cannot be made. */
static int report_out(cocoimg_ctx *ctx, int rc, json_t *rep, char **report)
{
	if (!report) {
		json_decref(rep);
		return rc;
	}
	*report = rep ? json_dumps(rep, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(rep);
	if (rep && !*report)
		return coco_oom(ctx);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The signature fetcher: registry / layout, HTTP, local files         */
/* ------------------------------------------------------------------ */

/* The sibling tag (sigstore attachment) in the image's repository or
 * layout; later get_blob calls read from it. */
static int sf_get_manifest(void *payload, cocoimg_ctx *ctx, const char *tag, coco_buf *out,
                           char **media_type)
{
	coco_src_sigfetch *sf = payload;
	coco_src_close(sf->attachment);
	sf->attachment = NULL;
	if (!sf->src)
		return COCOIMG_ENOTFOUND;
	coco_ref *r = NULL;
	int rc = coco_ref_sibling(ctx, sf->src->ref, tag, &r);
	if (rc)
		return rc;
	rc = coco_src_open_ref(ctx, r, sf->src->side, &sf->attachment);
	if (rc)
		return rc;
	return sf->attachment->ops->get_manifest(sf->attachment, NULL, out, media_type);
}

static int sf_get_blob(void *payload, cocoimg_ctx *ctx, const coco_desc *d, size_t max,
                       coco_buf *out)
{
	coco_src_sigfetch *sf = payload;
	coco_src *s = sf->attachment ? sf->attachment : sf->src;
	if (!s)
		return coco_seterr(ctx, COCOIMG_ENOTFOUND, "blob %s not found", d->digest);
	return coco_fetch_blob_mem(s, d, max, out);
}

/* A file:// lookaside signature: 1 read, 0 missing, <0 error. */
static int read_local(cocoimg_ctx *ctx, const char *path, size_t max, coco_buf *out)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return coco_seterr(ctx, COCOIMG_ESIGLOOKUP, "cannot read signature %s: %s", path,
		                   strerror(errno));
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > max)
		return coco_limit_refuse(ctx, COCOIMG_ESIGLOOKUP, COCO_LIM_SIGNATURE_SIZE,
		                         (uint64_t)st.st_size, "signature %s", path);
	int rc = coco_read_file(ctx, path, max, out, COCOIMG_ESIGLOOKUP);
	if (rc)
		return coco_preferr(ctx, COCOIMG_ESIGLOOKUP, "signature lookup");
	return 1;
}

/* An http(s):// lookaside signature: 1 read (200), 0 missing (404), <0. */
static int read_http(cocoimg_ctx *ctx, const char *url, size_t max, coco_buf *out)
{
	long status = 0;
	if (coco_http_get(ctx, url, max, coco_limit_key(COCO_LIM_SIGNATURE_SIZE), out, &status)) {
		coco_preferr(ctx, COCOIMG_ESIGLOOKUP, "reading signature %s", url);
		return COCOIMG_ESIGLOOKUP;
	}
	if (status == 404)
		return 0;
	if (status == 200)
		return 1;
	return coco_seterr(ctx, COCOIMG_ESIGLOOKUP, "reading signature %s: HTTP status %ld", url,
	                   status);
}

static int sf_get_lookaside(void *payload, cocoimg_ctx *ctx, const char *url, size_t max,
                            coco_buf *out)
{
	(void)payload;
	if (strncmp(url, "file://", 7))
		return read_http(ctx, url, max, out);
	char *path = coco_lookaside_file_path(url);
	if (!path)
		return coco_oom(ctx);    /* trust/ checked that the URL names a path */
	int got = read_local(ctx, path, max, out);
	free(path);
	return got;
}

/* Referrers of a manifest in the image's own repository or layout. */
static int sf_list_referrers(void *payload, cocoimg_ctx *ctx, const char *digest,
                             const char *artifact_type, coco_referrers *out)
{
	coco_src_sigfetch *sf = payload;
	(void)ctx;
	if (!sf->src || !sf->src->ops->list_referrers)
		return 0;
	return sf->src->ops->list_referrers(sf->src, digest, artifact_type, out);
}

/* A referrer manifest, by digest, from the image's repository or layout;
 * blobs are read from there afterwards (not from an attachment). */
static int sf_get_referrer(void *payload, cocoimg_ctx *ctx, const char *digest, coco_buf *out)
{
	coco_src_sigfetch *sf = payload;
	coco_src_close(sf->attachment);
	sf->attachment = NULL;
	if (!sf->src)
		return coco_seterr(ctx, COCOIMG_ENOTFOUND, "manifest %s not found", digest);
	char *mt = NULL;
	int rc = sf->src->ops->get_manifest(sf->src, digest, out, &mt);
	free(mt);
	return rc;
}

void coco_src_sigfetch_init(coco_src_sigfetch *sf, coco_src *src)
{
	memset(sf, 0, sizeof(*sf));
	sf->src = src;
	sf->f.payload = sf;
	sf->f.get_manifest = sf_get_manifest;
	sf->f.get_blob = sf_get_blob;
	sf->f.get_lookaside = sf_get_lookaside;
	sf->f.list_referrers = sf_list_referrers;
	sf->f.get_referrer = sf_get_referrer;
}

void coco_src_sigfetch_clear(coco_src_sigfetch *sf)
{
	coco_src_close(sf->attachment);
	sf->attachment = NULL;
}

/* ------------------------------------------------------------------ */
/* Signatures of a real image                                          */
/* ------------------------------------------------------------------ */

typedef struct src_collect {
	coco_src *src;
	const coco_trust_image *im;
	const coco_regd *regd;
	bool cosign;               /* cosign-style: the sigstore attachment only */
} src_collect;

static int collect_from_src(void *payload, cocoimg_ctx *ctx, coco_trust_sigs *sigs)
{
	src_collect *sc = payload;
	coco_src_sigfetch sf;
	coco_src_sigfetch_init(&sf, sc->src);
	int rc = sc->cosign ? coco_trust_collect_attachment(ctx, sc->im, &sf.f, sigs)
	                    : coco_trust_collect_sigs(ctx, sc->im, sc->regd, &sf.f, sigs);
	coco_src_sigfetch_clear(&sf);
	return rc;
}

/* Evaluate pol for the resolved image of src (cosign: signatures only
 * from the sigstore attachment, no registries.d). */
static int evaluate_policy(cocoimg_ctx *ctx, coco_src *src, const coco_resolved *img,
                           const coco_policy *pol, bool cosign, json_t **report)
{
	char *name = coco_ref_string(src->ref);
	coco_trust_image im;
	int rc = name ? coco_trust_image_init(ctx, &im, name)
	          : coco_oom(ctx);
	free(name);
	if (rc) {
		if (name)
			coco_trust_image_clear(&im);
		return rc;
	}
	if (src->ref->raw) {
		free(im.name);
		im.name = coco_strdup(src->ref->raw);
	}
	im.manifest = img->raw.data;
	im.manifest_len = img->raw.len;
	snprintf(im.manifest_digest, sizeof(im.manifest_digest), "%s", img->digest);
	if (img->top && img->top != img->image && img->top->kind == COCO_KIND_INDEX) {
		im.index = img->top_raw.data;
		im.index_len = img->top_raw.len;
		snprintf(im.index_digest, sizeof(im.index_digest), "%s", img->top_digest);
	}
	coco_regd *regd = NULL;
	if (!cosign && !strcmp(im.transport, "docker"))
		rc = regd_load(ctx, &regd);
	if (rc == 0) {
		src_collect sc = { src, &im, regd, cosign };
		coco_trust_sigsource ss = { collect_from_src, &sc };
		rc = coco_policy_evaluate(ctx, pol, &im, &ss, 0, report);
	}
	coco_regd_free(regd);
	coco_trust_image_clear(&im);
	return rc;
}

int coco_trust_evaluate(cocoimg_ctx *ctx, coco_src *src, const coco_resolved *img,
                        const char *policy_path, json_t **report)
{
	if (report)
		*report = NULL;
	coco_policy *pol = NULL;
	int rc = policy_load(ctx, policy_path, &pol);
	if (rc)
		return rc;
	rc = evaluate_policy(ctx, src, img, pol, false, report);
	coco_policy_free(pol);
	return rc;
}

/* Open and resolve image, check --require-encrypted, evaluate pol
 * (cosign: as evaluate_policy) and hand the report out. */
static int verify_image(cocoimg_ctx *ctx, const char *image, const coco_policy *pol, bool cosign,
                        char **report)
{
	coco_src *src = NULL;
	int rc = coco_src_open(ctx, image, "src", &src);
	if (rc)
		return rc;
	coco_resolved res;
	memset(&res, 0, sizeof(res));
	rc = coco_resolve(src, NULL, &res);
	if (rc == 0)
		rc = coco_op_require_encrypted(ctx, res.image, image);
	if (rc == 0) {
		json_t *rep = NULL;
		rc = evaluate_policy(ctx, src, &res, pol, cosign, &rep);
		rc = report_out(ctx, rc, rep, report);
	}
	coco_resolved_clear(&res);
	coco_src_close(src);
	return rc;
}

int cocoimg_verify(cocoimg_ctx *ctx, const char *image, const char *policy_path, char **report)
{
	COCO_API_ENTER(ctx);
	if (report)
		*report = NULL;
	if (!image)
		return coco_seterr(ctx, COCOIMG_EINVAL, "verify: an image is required");
	/* The policy is loaded first: a missing or broken policy is the
	 * user's mistake whatever the image. */
	coco_policy *pol = NULL;
	int rc = policy_load(ctx, policy_path, &pol);
	if (rc == 0)
		rc = verify_image(ctx, image, pol, false, report);
	coco_policy_free(pol);
	return rc;
}

/* ------------------------------------------------------------------ */
/* cosign-style verification (no policy file)                          */
/* ------------------------------------------------------------------ */

/* The key and trusted root named by the flags are the user's input: an
 * unreadable or malformed one is exit 2, before any image is fetched. */
static int cosign_inputs_check(cocoimg_ctx *ctx, const coco_cosign_flags *f)
{
	coco_buf b = COCO_BUF_INIT;
	int rc = 0;
	if (f->key_path) {
		EVP_PKEY **keys = NULL;
		size_t n = 0;
		rc = read_policy_file(NULL, ctx, f->key_path, 1 << 20, &b);
		if (rc == 0)
			rc = coco_pubkeys_load_pem(ctx, b.data, b.len, &keys, &n);
		coco_pubkeys_free(keys, n);
		if (rc && rc != COCOIMG_ENOMEM)
			coco_preferr(ctx, rc, "--key %s", f->key_path);
	}
	b.len = 0;
	if (!rc && f->trusted_root) {
		coco_trustroot *tr = NULL;
		rc = read_policy_file(NULL, ctx, f->trusted_root, COCO_TRUSTROOT_MAX, &b);
		if (rc == 0)
			rc = coco_trustroot_parse(ctx, b.data, b.len, &tr);
		coco_trustroot_free(tr);
		if (rc && rc != COCOIMG_ENOMEM)
			coco_preferr(ctx, rc, "--trusted-root %s", f->trusted_root);
	}
	coco_buf_free(&b);
	return rc == COCOIMG_EPOLICY ? COCOIMG_EINVAL : rc;
}

static int cosign_policy(cocoimg_ctx *ctx, const cocoimg_verify_blob_options *o,
                         coco_policy **pol)
{
	coco_cosign_flags f = { .key_path = o->key_path, .identity = o->identity,
	                        .identity_regexp = o->identity_regexp, .issuer = o->issuer,
	                        .issuer_regexp = o->issuer_regexp,
	                        .trusted_root = o->trusted_root_path,
	                        .ignore_tlog = o->insecure_ignore_tlog != 0,
	                        .ignore_sct = o->insecure_ignore_sct != 0 };
	coco_op_broker_attach(ctx);
	int rc = coco_policy_cosign(ctx, &f, pol);
	if (rc == 0 && (rc = cosign_inputs_check(ctx, &f))) {
		coco_policy_free(*pol);
		*pol = NULL;
	}
	if (*pol)
		coco_policy_set_reader(*pol, &policy_reader);
	return rc;
}

int cocoimg_verify_cosign(cocoimg_ctx *ctx, const char *image,
                          const cocoimg_verify_blob_options *opts, char **report)
{
	COCO_API_ENTER(ctx);
	if (report)
		*report = NULL;
	if (!image || !opts)
		return coco_seterr(ctx, COCOIMG_EINVAL, "verify: an image and options are required");
	if (coco_api_check_version(ctx, "cocoimg_verify_blob_options", opts->version,
	                           COCOIMG_VERIFY_BLOB_OPTIONS_VERSION))
		return COCOIMG_EINVAL;
	coco_policy *pol = NULL;
	int rc = cosign_policy(ctx, opts, &pol);
	if (rc == 0)
		rc = verify_image(ctx, image, pol, true, report);
	coco_policy_free(pol);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Signatures given as bytes                                           */
/* ------------------------------------------------------------------ */

static int collect_from_blobs(void *payload, cocoimg_ctx *ctx, coco_trust_sigs *sigs)
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
	COCO_API_ENTER(ctx);
	if (report)
		*report = NULL;
	if (!in)
		return coco_seterr(ctx, COCOIMG_EINVAL, "cocoimg_verify_blobs: no input");
	if (coco_api_check_version(ctx, "cocoimg_verify_input", in->version,
	                           COCOIMG_VERIFY_INPUT_VERSION))
		return COCOIMG_EINVAL;
	if (!in->image || (!in->manifest && in->manifest_len) ||
	    (in->n_signatures && (!in->signatures || !in->signature_lens)))
		return coco_seterr(ctx, COCOIMG_EINVAL, "cocoimg_verify_blobs: invalid input");
	coco_policy *pol = NULL;
	int rc;
	if (in->policy_json)
		rc = coco_policy_parse(ctx, in->policy_json, in->policy_json_len, "policy.json", &pol);
	else
		rc = policy_load(ctx, in->policy_path, &pol);
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
		coco_trust_sigsource ss = { collect_from_blobs, (void *)in };
		json_t *rep = NULL;
		rc = coco_policy_evaluate(ctx, pol, &im, &ss, in->now, &rep);
		rc = report_out(ctx, rc, rep, report);
	}
	coco_trust_image_clear(&im);
	coco_policy_free(pol);
	return rc;
}
