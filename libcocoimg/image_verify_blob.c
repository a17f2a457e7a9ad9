/*
 * cocoimg_verify_blob(): cosign verify-blob over a Sigstore bundle.  Reads
 * the artifact, bundle, key and trusted root named by the caller and hands
 * the bytes to trust/ (bundle_verify.c), then writes the verdict report.
 */
#include "api.h"
#include "base.h"
#include "digest.h"
#include "json.h"
#include "trust/sigstore.h"
#include "trust/trust.h"

#include <stdlib.h>
#include <string.h>

typedef struct blob_job {
	coco_buf bundle;
	coco_buf artifact;
	bool by_digest;
	EVP_PKEY *key;
	coco_trustroot *root;
} blob_job;

static void job_clear(blob_job *j)
{
	coco_buf_free(&j->bundle);
	coco_buf_free(&j->artifact);
	EVP_PKEY_free(j->key);
	coco_trustroot_free(j->root);
}

static int check_options(cocoimg_ctx *ctx, const char *artifact,
                         const cocoimg_verify_blob_options *o)
{
	if (o && coco_api_check_version(ctx, "cocoimg_verify_blob_options", o->version,
	                                COCOIMG_VERIFY_BLOB_OPTIONS_VERSION))
		return COCOIMG_EINVAL;
	if (!o || !artifact || !o->bundle_path)
		return coco_seterr(ctx, COCOIMG_EINVAL, "verify-blob: an artifact and a bundle are needed");
	bool ident = o->identity || o->identity_regexp, iss = o->issuer || o->issuer_regexp;
	if (o->key_path && (ident || iss))
		return coco_seterr(ctx, COCOIMG_EINVAL,
		                   "verify-blob: --key and --certificate-* are exclusive");
	if (!o->key_path && (!ident || !iss))
		return coco_seterr(ctx, COCOIMG_EINVAL, "verify-blob: give --key, or a certificate "
		                   "identity and OIDC issuer");
	if (!o->key_path && !o->trusted_root_path)
		return coco_seterr(ctx, COCOIMG_EINVAL, "verify-blob: keyless verification needs "
		                   "--trusted-root (coco-img ships no trust anchor)");
	if (o->key_path && !o->trusted_root_path && !o->insecure_ignore_tlog)
		return coco_seterr(ctx, COCOIMG_EINVAL, "verify-blob: give --trusted-root to verify the "
		                   "transparency log, or --insecure-ignore-tlog");
	if (o->insecure_ignore_tlog && !o->key_path)
		return coco_seterr(ctx, COCOIMG_EINVAL, "verify-blob: --insecure-ignore-tlog needs --key");
	return 0;
}

static int load_key(cocoimg_ctx *ctx, const char *path, EVP_PKEY **out)
{
	coco_buf pem = COCO_BUF_INIT;
	EVP_PKEY **keys = NULL;
	size_t n = 0;
	int rc = coco_read_file(ctx, path, 1024 * 1024, &pem, COCOIMG_EINVAL);
	if (!rc)
		rc = coco_pubkeys_load_pem(ctx, pem.data, pem.len, &keys, &n);
	coco_buf_free(&pem);
	if (rc)
		return coco_preferr(ctx, COCOIMG_EINVAL, "key %s", path);
	*out = keys[0];
	keys[0] = NULL;
	coco_pubkeys_free(keys, n);
	return 0;
}

static int load_inputs(cocoimg_ctx *ctx, const char *artifact,
                       const cocoimg_verify_blob_options *o, blob_job *j)
{
	int rc = coco_read_file(ctx, o->bundle_path, COCO_BUNDLE_MAX, &j->bundle, COCOIMG_EINVAL);
	if (rc)
		return coco_preferr(ctx, COCOIMG_EINVAL, "bundle");
	coco_digest_alg alg;
	j->by_digest = !coco_digest_validate(artifact, &alg);
	if (!j->by_digest && (rc = coco_read_file(ctx, artifact, SIZE_MAX / 2, &j->artifact,
	                                          COCOIMG_EINVAL)))
		return coco_preferr(ctx, COCOIMG_EINVAL, "artifact");
	if (o->key_path && (rc = load_key(ctx, o->key_path, &j->key)))
		return rc;
	if (o->trusted_root_path && (rc = coco_trustroot_load(ctx, o->trusted_root_path, &j->root)))
		return rc;
	return 0;
}

static int set_str(json_t *o, const char *k, const char *v)
{
	return json_object_set_new(o, k, v ? json_string(v) : json_null());
}

static char *make_report(const char *artifact, const cocoimg_verify_blob_options *o,
                         const coco_sigstore_result *r, int rc, const char *msg)
{
	json_t *j = json_object();
	if (!j)
		return NULL;
	set_str(j, "artifact", artifact);
	set_str(j, "bundle", o->bundle_path);
	json_object_set_new(j, "verified", json_boolean(rc == 0));
	set_str(j, "failed_check", coco_sigcheck_name(r->failed));
	set_str(j, "message", rc ? msg : "");
	set_str(j, "bundle_media_type", r->media_type);
	set_str(j, "content", rc ? NULL : r->dsse ? "dsse" : "message-signature");
	set_str(j, "payload_type", r->payload_type);
	set_str(j, "predicate_type", r->predicate_type);
	json_object_set_new(j, "signed_time", json_integer(r->signed_time));
	set_str(j, "identity", r->san);
	set_str(j, "issuer", r->issuer);
	json_object_set_new(j, "tlog_entries", json_integer((json_int_t)r->n_tlog_entries));
	json_object_set_new(j, "timestamps", json_integer((json_int_t)r->n_timestamps));
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

COCOIMG_API int cocoimg_verify_blob(cocoimg_ctx *ctx, const char *artifact,
                                    const cocoimg_verify_blob_options *opts, char **report)
{
	COCO_API_ENTER(ctx);
	if (report)
		*report = NULL;
	int rc = check_options(ctx, artifact, opts);
	if (rc)
		return rc;
	blob_job j = { .bundle = COCO_BUF_INIT, .artifact = COCO_BUF_INIT };
	coco_sigstore_result res = {0};
	rc = load_inputs(ctx, artifact, opts, &j);
	if (rc) {
		job_clear(&j);
		return rc;
	}
	coco_sigstore_policy pol = {
		.root = j.root, .key = j.key,
		.identity = opts->identity, .identity_regexp = opts->identity_regexp,
		.issuer = opts->issuer, .issuer_regexp = opts->issuer_regexp,
		.allow_no_tlog = opts->insecure_ignore_tlog != 0,
		.ignore_sct = opts->insecure_ignore_sct != 0,
	};
	coco_sigstore_artifact art = {
		.data = j.by_digest ? NULL : (j.artifact.data ? (const void *)j.artifact.data : ""),
		.len = j.artifact.len, .digest = j.by_digest ? artifact : NULL,
	};
	rc = coco_sigstore_verify_bundle(ctx, j.bundle.data, j.bundle.len, &art, &pol, &res);
	/* A bundle that does not parse is bad input (cli.md: exit 2). */
	if (rc == COCOIMG_EBADIMAGE)
		rc = COCOIMG_EINVAL;
	if (report && (rc == 0 || rc == COCOIMG_EPOLICY || res.failed == COCO_SIGCHECK_BUNDLE) &&
	    !(*report = make_report(artifact, opts, &res, rc, cocoimg_ctx_last_error(ctx))))
		rc = coco_oom(ctx);
	coco_sigstore_result_clear(&res);
	job_clear(&j);
	return rc;
}
