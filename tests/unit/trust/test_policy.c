/* Unit tests of the policy engine: policy.json strictness, identity
 * rules, scope precedence, registries.d, and the containers/image
 * fixture images (manifest + signatures + policy in, verdict out). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base.h"
#include "image_trust.h"
#include "json.h"
#include "ref.h"
#include "trust/policy.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* fixtures copied from containers/image (see its PROVENANCE.md); tests run in the source root */
#define FIX "tests/data/containers-image-signature/"
#define NOW ((int64_t)1760000000)

static cocoimg_ctx *ctx;
static char *fixdir;

static int setup(void **state)
{
	(void)state;
	fixdir = realpath(FIX, NULL);
	return cocoimg_ctx_new(&ctx);
}

static int teardown(void **state)
{
	(void)state;
	cocoimg_ctx_free(ctx);
	free(fixdir);
	return 0;
}

/* ------------------------------------------------------------------ */
/* policy.json strictness                                              */
/* ------------------------------------------------------------------ */

struct pcase {
	const char *json;
	int rc;
	const char *needle;        /* in the message when rc != 0 */
};

#define IA "{\"type\":\"insecureAcceptAnything\"}"

static const struct pcase pcases[] = {
	{ "{\"default\":[" IA "]}", 0, NULL },
	{ "{\"default\":[]}", COCOIMG_ECONFIG, "default: list of verification policy requirements "
	  "must not be empty" },
	{ "{\"default\":null}", COCOIMG_ECONFIG, "must not be empty" },
	{ "{\"transports\":{}}", COCOIMG_ECONFIG, "default policy is missing" },
	{ "{}", COCOIMG_ECONFIG, "default policy is missing" },
	{ "{\"default\":[" IA "],\"default\":[" IA "]}", COCOIMG_ECONFIG, "duplicate" },
	{ "{\"default\":[" IA "],\"x\":1}", COCOIMG_ECONFIG, "unknown field \"x\"" },
	{ "{\"default\":[" IA "]} x", COCOIMG_ECONFIG, "invalid JSON" },
	{ "[]", COCOIMG_ECONFIG, "must be a JSON object" },
	{ "{\"default\":[{\"type\":\"insecureAcceptAnything\",\"x\":1}]}", COCOIMG_ECONFIG,
	  "default[0]: unknown field \"x\"" },
	{ "{\"default\":[{\"type\":\"nosuch\"}]}", COCOIMG_ECONFIG,
	  "unknown policy requirement type \"nosuch\"" },
	{ "{\"default\":[{}]}", COCOIMG_ECONFIG, "unknown policy requirement type \"\"" },
	{ "{\"default\":[" IA "],\"transports\":{\"docker\":{\"example.com\":[{\"type\":\"signedBy\","
	  "\"keyType\":\"GPGKeys\",\"keyPth\":\"/k\"}]}}}", COCOIMG_ECONFIG,
	  "policy.json: transports.docker[\"example.com\"][0]: unknown field \"keyPth\"" },
	{ "{\"default\":[" IA "],\"transports\":{\"docker\":{\"example.com\":[]}}}", COCOIMG_ECONFIG,
	  "transports.docker[\"example.com\"]: list of verification" },
	{ "{\"default\":[" IA "],\"transports\":{\"nosuch\":{\"anything\":[" IA "]}}}", 0, NULL },
	{ "{\"default\":[" IA "],\"transports\":{\"dir\":{\"relative/path\":[" IA "]}}}",
	  COCOIMG_ECONFIG, "invalid scope" },
	{ "{\"default\":[" IA "],\"transports\":{\"dir\":{\"/\":[" IA "]}}}", COCOIMG_ECONFIG,
	  "invalid scope" },
	{ "{\"default\":[" IA "],\"transports\":{\"oci\":{\"/a/../b\":[" IA "]}}}", COCOIMG_ECONFIG,
	  "invalid scope" },
	{ "{\"default\":[" IA "],\"transports\":{\"oci\":{\"/a/b\":[" IA "]}}}", 0, NULL },
	/* signedBy */
	{ "{\"default\":[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPath\":\"/k\"}]}", 0,
	  NULL },
	{ "{\"default\":[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\"}]}", COCOIMG_ECONFIG,
	  "none of them present" },
	{ "{\"default\":[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPath\":\"/k\","
	  "\"keyData\":\"\"}]}", COCOIMG_ECONFIG, "more than one present" },
	{ "{\"default\":[{\"type\":\"signedBy\",\"keyPath\":\"/k\"}]}", COCOIMG_ECONFIG,
	  "invalid keyType \"\"" },
	{ "{\"default\":[{\"type\":\"signedBy\",\"keyType\":\"PGP\",\"keyPath\":\"/k\"}]}",
	  COCOIMG_ECONFIG, "unrecognized keyType value \"PGP\"" },
	{ "{\"default\":[{\"type\":\"signedBy\",\"keyType\":\"X509Certificates\",\"keyPath\":"
	  "\"/k\"}]}", 0, NULL },
	{ "{\"default\":[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPath\":\"\"}]}",
	  COCOIMG_ECONFIG, "exactly one of keyPath" },
	{ "{\"default\":[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyData\":\"\"}]}", 0,
	  NULL },
	{ "{\"default\":[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPaths\":[]}]}", 0,
	  NULL },
	{ "{\"default\":[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyData\":\"!!\"}]}",
	  COCOIMG_ECONFIG, "not valid base64" },
	{ "{\"default\":[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPath\":\"/k\","
	  "\"signedIdentity\":null}]}", COCOIMG_ECONFIG, "unknown policy reference match type \"\"" },
	{ "{\"default\":[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPath\":\"/k\","
	  "\"signedIdentity\":{\"type\":\"matchExact\",\"x\":1}}]}", COCOIMG_ECONFIG,
	  "default[0].signedIdentity: unknown field \"x\"" },
	{ "{\"default\":[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPath\":\"/k\","
	  "\"signedIdentity\":{\"type\":\"exactReference\",\"dockerReference\":\"test\"}}]}",
	  COCOIMG_ECONFIG, "contains neither a tag nor digest" },
	{ "{\"default\":[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPath\":\"/k\","
	  "\"signedIdentity\":{\"type\":\"exactReference\"}}]}", COCOIMG_ECONFIG,
	  "missing field \"dockerReference\"" },
	{ "{\"default\":[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPath\":\"/k\","
	  "\"signedIdentity\":{\"type\":\"exactRepository\",\"dockerRepository\":\"UPPER\"}}]}",
	  COCOIMG_ECONFIG, "invalid format of dockerRepository" },
	{ "{\"default\":[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPath\":\"/k\","
	  "\"signedIdentity\":{\"type\":\"remapIdentity\",\"prefix\":\"example.com/a\","
	  "\"signedPrefix\":\"x.com:tag@\"}}]}", COCOIMG_ECONFIG, "is not valid" },
	{ "{\"default\":[{\"type\":\"signedBaseLayer\",\"baseLayerIdentity\":{\"type\":"
	  "\"matchRepository\"}}]}", 0, NULL },
	/* sigstoreSigned */
	{ "{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"/k\"}]}", 0, NULL },
	{ "{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"/k\",\"keyType\":\"x\"}]}",
	  COCOIMG_ECONFIG, "unknown field \"keyType\"" },
	{ "{\"default\":[{\"type\":\"sigstoreSigned\"}]}", COCOIMG_ECONFIG, "none of them present" },
	{ "{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPaths\":[]}]}", COCOIMG_ECONFIG,
	  "must not be empty" },
	{ "{\"default\":[{\"type\":\"sigstoreSigned\",\"keyDatas\":[\"bm9uc2Vuc2U=\"]}]}", 0, NULL },
	{ "{\"default\":[{\"type\":\"sigstoreSigned\",\"fulcio\":{\"caPath\":\"/c\",\"oidcIssuer\":"
	  "\"i\",\"subjectEmail\":\"e\"}}]}", COCOIMG_ECONFIG, "requires a rekorPublicKey" },
	{ "{\"default\":[{\"type\":\"sigstoreSigned\",\"fulcio\":{\"caPath\":\"/c\",\"oidcIssuer\":"
	  "\"i\",\"subjectEmail\":\"e\"},\"rekorPublicKeyPath\":\"/r\"}]}", 0, NULL },
	{ "{\"default\":[{\"type\":\"sigstoreSigned\",\"fulcio\":{\"caPath\":\"/c\",\"oidcIssuer\":"
	  "\"i\"},\"rekorPublicKeyPath\":\"/r\"}]}", COCOIMG_ECONFIG, "subjectEmail" },
	{ "{\"default\":[{\"type\":\"sigstoreSigned\",\"pki\":{\"caRootsPath\":\"/c\","
	  "\"subjectEmail\":\"e\"}}]}", 0, NULL },
	{ "{\"default\":[{\"type\":\"sigstoreSigned\",\"pki\":{\"caRootsPath\":\"/c\","
	  "\"subjectEmail\":\"e\"},\"rekorPublicKeyPath\":\"/r\"}]}", COCOIMG_ECONFIG,
	  "pki cannot be used" },
	{ "{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"/k\",\"rekorPublicKeyPath\":"
	  "\"/r\",\"rekorPublicKeyData\":\"\"}]}", COCOIMG_ECONFIG, "at most one of rekor" },
	{ "{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"/k\",\"rekorPublicKeyPaths\":"
	  "[\"/r\",\"/s\"]}]}", 0, NULL },
	{ "{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"/k\",\"rekorPublicKeyPaths\":"
	  "[]}]}", COCOIMG_ECONFIG, "non-empty array" },
	/* trustedRootPath (this project's extension) */
	{ "{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"/k\",\"trustedRootPath\":"
	  "\"/t\"}]}", 0, NULL },
	{ "{\"default\":[{\"type\":\"sigstoreSigned\",\"fulcio\":{\"oidcIssuer\":\"i\","
	  "\"subjectEmail\":\"e\"},\"trustedRootPath\":\"/t\"}]}", 0, NULL },
	{ "{\"default\":[{\"type\":\"sigstoreSigned\",\"fulcio\":{\"oidcIssuer\":\"i\","
	  "\"subjectEmail\":\"e\"},\"rekorPublicKeyPath\":\"/r\"}]}", COCOIMG_ECONFIG,
	  "exactly one of caPath and caData" },
	{ "{\"default\":[{\"type\":\"sigstoreSigned\",\"fulcio\":{\"caPath\":\"/c\",\"oidcIssuer\":"
	  "\"i\",\"subjectEmail\":\"e\"},\"trustedRootPath\":\"/t\"}]}", COCOIMG_ECONFIG,
	  "cannot be used with trustedRootPath" },
	{ "{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"/k\",\"trustedRootPath\":"
	  "\"/t\",\"rekorPublicKeyPath\":\"/r\"}]}", COCOIMG_ECONFIG, "lists the Rekor logs" },
	{ "{\"default\":[{\"type\":\"sigstoreSigned\",\"pki\":{\"caRootsPath\":\"/c\","
	  "\"subjectEmail\":\"e\"},\"trustedRootPath\":\"/t\"}]}", COCOIMG_ECONFIG,
	  "cannot be used with pki" },
	{ "{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"/k\",\"trustedRootPath\":"
	  "\"\"}]}", COCOIMG_ECONFIG, "must not be empty" },
	{ "{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"/k\",\"trustedRootPath\":"
	  "3}]}", COCOIMG_ECONFIG, "must be a string" },
};

static void test_policy_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < COCO_ARRAY_SIZE(pcases); i++) {
		const struct pcase *c = &pcases[i];
		coco_policy *p = NULL;
		coco_clearerr(ctx);
		int rc = coco_policy_parse(ctx, c->json, strlen(c->json), "policy.json", &p);
		coco_policy_free(p);
		if (rc != c->rc || (c->needle && !strstr(cocoimg_ctx_last_error(ctx), c->needle)))
			fail_msg("case %zu %s: rc %d \"%s\", wanted %d \"%s\"", i, c->json, rc,
			         cocoimg_ctx_last_error(ctx), c->rc, c->needle ? c->needle : "");
	}
	/* the upstream example policy parses */
	coco_policy *p = NULL;
	assert_int_equal(coco_policy_load(ctx, FIX "policy.json", &p), 0);
	coco_policy_free(p);
	assert_int_equal(coco_policy_load(ctx, FIX "nosuch.json", &p), COCOIMG_ECONFIG);
}

/* ------------------------------------------------------------------ */
/* Identity rules                                                      */
/* ------------------------------------------------------------------ */

struct icase {
	const char *prm, *image, *sig;
	int want;
};

#define D1 "sha256:0000000000000000000000000000000000000000000000000000000000000001"
#define D2 "sha256:0000000000000000000000000000000000000000000000000000000000000002"

static const struct icase icases[] = {
	/* matchExact */
	{ "{\"type\":\"matchExact\"}", "docker://busybox:latest", "busybox:latest", 1 },
	{ "{\"type\":\"matchExact\"}", "docker://busybox", "docker.io/library/busybox:latest", 1 },
	{ "{\"type\":\"matchExact\"}", "docker://busybox:latest", "busybox", 0 },
	{ "{\"type\":\"matchExact\"}", "docker://busybox:1", "busybox:2", 0 },
	{ "{\"type\":\"matchExact\"}", "docker://busybox@" D1, "busybox:latest", 0 },
	{ "{\"type\":\"matchExact\"}", "docker://busybox@" D1, "busybox@" D1, 1 },
	{ "{\"type\":\"matchExact\"}", "oci:/tmp/x", "busybox:latest", 0 },
	/* matchRepoDigestOrExact (the default) */
	{ "{\"type\":\"matchRepoDigestOrExact\"}", "docker://busybox:latest", "busybox:latest", 1 },
	{ "{\"type\":\"matchRepoDigestOrExact\"}", "docker://busybox:latest", "busybox:other", 0 },
	{ "{\"type\":\"matchRepoDigestOrExact\"}", "docker://busybox@" D1, "busybox:whatever", 1 },
	{ "{\"type\":\"matchRepoDigestOrExact\"}", "docker://busybox@" D1, "busybox@" D2, 1 },
	{ "{\"type\":\"matchRepoDigestOrExact\"}", "docker://busybox@" D1, "busybox", 0 },
	{ "{\"type\":\"matchRepoDigestOrExact\"}", "docker://busybox@" D1, "other:1", 0 },
	{ "{\"type\":\"matchRepoDigestOrExact\"}", "docker://busybox:latest", "UPPER:latest", 0 },
	/* matchRepository */
	{ "{\"type\":\"matchRepository\"}", "docker://busybox:latest", "busybox", 1 },
	{ "{\"type\":\"matchRepository\"}", "docker://busybox:latest", "busybox:2", 1 },
	{ "{\"type\":\"matchRepository\"}", "docker://busybox:latest", "docker.io/busybox", 1 },
	{ "{\"type\":\"matchRepository\"}", "docker://busybox:latest",
	  "index.docker.io/library/busybox", 1 },
	{ "{\"type\":\"matchRepository\"}", "docker://busybox:latest", "quay.io/busybox", 0 },
	{ "{\"type\":\"matchRepository\"}", "docker://localhost:5000/a/b:1", "localhost:5000/a/b", 1 },
	/* exactReference */
	{ "{\"type\":\"exactReference\",\"dockerReference\":\"example.com/a:1\"}", "oci:/tmp/x",
	  "example.com/a:1", 1 },
	{ "{\"type\":\"exactReference\",\"dockerReference\":\"example.com/a:1\"}",
	  "docker://example.com/a:1", "example.com/a:2", 0 },
	{ "{\"type\":\"exactReference\",\"dockerReference\":\"example.com/a:1\"}",
	  "docker://example.com/a:1", "example.com/a", 0 },
	/* exactRepository */
	{ "{\"type\":\"exactRepository\",\"dockerRepository\":\"example.com/a\"}", "oci:/tmp/x",
	  "example.com/a:7", 1 },
	{ "{\"type\":\"exactRepository\",\"dockerRepository\":\"example.com/a\"}", "oci:/tmp/x",
	  "example.com/b", 0 },
	/* remapIdentity */
	{ "{\"type\":\"remapIdentity\",\"prefix\":\"mirror.local:5000/vendor\",\"signedPrefix\":"
	  "\"vendor.example.com\"}", "docker://mirror.local:5000/vendor/app:1",
	  "vendor.example.com/app:1", 1 },
	{ "{\"type\":\"remapIdentity\",\"prefix\":\"mirror.local:5000/vendor\",\"signedPrefix\":"
	  "\"vendor.example.com\"}", "docker://mirror.local:5000/vendor/app:1",
	  "mirror.local:5000/vendor/app:1", 0 },
	{ "{\"type\":\"remapIdentity\",\"prefix\":\"mirror.local:5000/vendor\",\"signedPrefix\":"
	  "\"vendor.example.com\"}", "docker://mirror.local:5000/vendorx/app:1",
	  "mirror.local:5000/vendorx/app:1", 1 },
	{ "{\"type\":\"remapIdentity\",\"prefix\":\"mirror.local:5000/vendor\",\"signedPrefix\":"
	  "\"vendor.example.com\"}", "docker://mirror.local:5000/vendor/app@" D1,
	  "vendor.example.com/app:any", 1 },
	{ "{\"type\":\"remapIdentity\",\"prefix\":\"docker.io\",\"signedPrefix\":\"busybox\"}",
	  "docker://docker.io/library/busybox:1", "busybox:1", 0 },
};

static void test_identity(void **state)
{
	(void)state;
	for (size_t i = 0; i < COCO_ARRAY_SIZE(icases); i++) {
		const struct icase *c = &icases[i];
		int got = coco_policy_identity_check(ctx, c->prm, c->image, c->sig);
		if (got != c->want)
			fail_msg("identity case %zu (%s, image %s, signed %s): got %d (%s), wanted %d",
			         i, c->prm, c->image, c->sig, got, cocoimg_ctx_last_error(ctx), c->want);
	}
}

static void test_references(void **state)
{
	(void)state;
	static const struct { const char *in, *out; } ok[] = {
		{ "busybox", "docker.io/library/busybox" },
		{ "index.docker.io/x/y:1", "docker.io/x/y:1" },
		{ "localhost/a", "localhost/a" },
		{ "localhost:5000/a_b/c-d:t.1", "localhost:5000/a_b/c-d:t.1" },
		{ "a.b/c@" D1, "a.b/c@" D1 },
		{ "a.b/c:t@" D1, "a.b/c:t@" D1 },
		{ "Example.COM/x", "Example.COM/x" },
	};
	static const char *const bad[] = {
		"", "UPPER", "a/B", "a..b", "a:", "a@sha256:12", "a@sha256:0000000000000000000000000000000000000000000000000000000000000ABC",
		"0000000000000000000000000000000000000000000000000000000000000001", "a/", "-a", "a b",
		"a@md5:00000000000000000000000000000000",
	};
	for (size_t i = 0; i < COCO_ARRAY_SIZE(ok); i++) {
		coco_dref r;
		const char *err;
		if (coco_dref_parse_named(ok[i].in, COCO_DREF_NORMALIZE, &r, &err))
			fail_msg("%s: %s", ok[i].in, err);
		char *s = coco_dref_string(&r);
		assert_string_equal(s, ok[i].out);
		free(s);
		coco_dref_clear(&r);
	}
	for (size_t i = 0; i < COCO_ARRAY_SIZE(bad); i++) {
		coco_dref r;
		const char *err;
		if (coco_dref_parse_named(bad[i], COCO_DREF_NORMALIZE, &r, &err) == 0)
			fail_msg("%s parsed", bad[i]);
	}
	/* scope namespaces, in order */
	coco_dref r;
	const char *err;
	assert_int_equal(coco_dref_parse_named("registry.example.com:5000/team/app:1.2", COCO_DREF_NORMALIZE, &r, &err), 0);
	char **ns = coco_docker_namespaces(&r);
	static const char *const want[] = { "registry.example.com:5000/team/app",
		"registry.example.com:5000/team", "registry.example.com:5000", "*.example.com", "*.com",
		NULL };
	for (size_t i = 0; want[i]; i++)
		assert_string_equal(ns[i], want[i]);
	assert_null(ns[5]);
	coco_trust_strv_free(ns);
	coco_dref_clear(&r);
}

/* ------------------------------------------------------------------ */
/* Evaluation with the fixtures                                        */
/* ------------------------------------------------------------------ */

static void slurp(const char *path, coco_buf *b)
{
	b->len = 0;
	coco_read_file(ctx, path, 1 << 22, b, COCOIMG_ENOTFOUND);
}

/* Evaluate a dir-img-* fixture directory (manifest.json, signature-N). */
static int eval_dir(const char *dir, const char *image, const char *policy, char **report)
{
	coco_buf m = COCO_BUF_INIT;
	coco_buf sigs[8];
	const unsigned char *sp[8];
	size_t sl[8], n = 0;
	char *p = coco_asprintf("%s/%s/manifest.json", fixdir, dir);
	slurp(p, &m);
	free(p);
	for (; n < 8; n++) {
		memset(&sigs[n], 0, sizeof(sigs[n]));
		p = coco_asprintf("%s/%s/signature-%zu", fixdir, dir, n + 1);
		int rc = coco_read_file(ctx, p, 1 << 22, &sigs[n], COCOIMG_ENOTFOUND);
		free(p);
		if (rc) {
			coco_buf_free(&sigs[n]);
			break;
		}
		sp[n] = sigs[n].data;
		sl[n] = sigs[n].len;
	}
	cocoimg_verify_input in = COCOIMG_VERIFY_INPUT_INIT;
	in.image = image;
	in.manifest = m.data;
	in.manifest_len = m.len;
	in.signatures = sp;
	in.signature_lens = sl;
	in.n_signatures = n;
	in.policy_json = policy;
	in.policy_json_len = strlen(policy);
	in.now = NOW;
	int rc = cocoimg_verify_blobs(ctx, &in, report);
	for (size_t i = 0; i < n; i++)
		coco_buf_free(&sigs[i]);
	coco_buf_free(&m);
	return rc;
}

static char *gpg_policy(const char *key, const char *identity)
{
	return coco_asprintf("{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{"
	                     "\"\":[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPath\":"
	                     "\"%s/%s\"%s%s%s}]}}}", fixdir, key, identity ? ",\"signedIdentity\":" : "",
	                     identity ? identity : "", "");
}

static char *cosign_policy(const char *keyfield, const char *key)
{
	return coco_asprintf("{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{"
	                     "\"\":[{\"type\":\"sigstoreSigned\",%s\"%s/%s\"%s,\"signedIdentity\":"
	                     "{\"type\":\"matchRepository\"}}]}}}", keyfield, fixdir, key,
	                     !strcmp(keyfield, "\"keyPaths\":[") ? "]" : "");
}

struct fcase {
	const char *dir;
	int rc;
	const char *reason;        /* of requirement 0 */
};

static void check_report(const char *what, const char *rep, int rc, const struct fcase *c)
{
	if (rc != c->rc)
		fail_msg("%s: rc %d (%s), wanted %d; report %s", what, rc,
		         cocoimg_ctx_last_error(ctx), c->rc, rep ? rep : "(none)");
	assert_non_null(rep);
	json_t *j = json_loads(rep, 0, NULL);
	assert_non_null(j);
	json_t *r0 = json_array_get(json_object_get(j, "requirements"), 0);
	const char *reason = json_string_value(json_object_get(r0, "reason"));
	if (!reason || strcmp(reason, c->reason))
		fail_msg("%s: reason %s, wanted %s; report %s", what, reason ? reason : "(null)",
		         c->reason, rep);
	json_decref(j);
}

static void test_fixtures_gpg(void **state)
{
	(void)state;
	static const struct fcase cases[] = {
		{ "dir-img-valid", 0, "trusted-signature" },
		{ "dir-img-valid-2", 0, "trusted-signature" },
		{ "dir-img-mixed", 0, "trusted-signature" },
		{ "dir-img-modified-manifest", COCOIMG_EPOLICY, "wrong-image-or-identity" },
		{ "dir-img-manifest-digest-error", COCOIMG_EPOLICY, "wrong-image-or-identity" },
		{ "dir-img-no-manifest", COCOIMG_EPOLICY, "wrong-image-or-identity" },
		{ "dir-img-unsigned", COCOIMG_EPOLICY, "no-signature" },
		/* signed by a subkey of another key */
		{ "dir-img-valid-subkey", COCOIMG_EPOLICY, "no-trusted-signature" },
	};
	char *pol = gpg_policy("public-key.gpg", NULL);
	for (size_t i = 0; i < COCO_ARRAY_SIZE(cases); i++) {
		char *rep = NULL;
		int rc = eval_dir(cases[i].dir, "docker://testing/manifest:latest", pol, &rep);
		check_report(cases[i].dir, rep, rc, &cases[i]);
		free(rep);
	}
	free(pol);

	/* current upstream accepts signing subkeys (skopeo 1.9.3 does not) */
	pol = gpg_policy("public-key-with-subkey.gpg", NULL);
	char *rep = NULL;
	const struct fcase sub = { "dir-img-valid-subkey", 0, "trusted-signature" };
	check_report("subkey", rep, eval_dir(sub.dir, "docker://testing/manifest:latest", pol, &rep),
	             &sub);
	free(rep);
	free(pol);

	/* the signed identity must match: another tag is another image */
	pol = gpg_policy("public-key.gpg", NULL);
	const struct fcase other = { "dir-img-valid", COCOIMG_EPOLICY, "wrong-image-or-identity" };
	rep = NULL;
	check_report("other tag", rep, eval_dir(other.dir, "docker://testing/manifest:v2", pol,
	                                        &rep), &other);
	free(rep);
	free(pol);

	/* exactRepository works for transports without a docker identity */
	pol = coco_asprintf("{\"default\":[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\","
	                    "\"keyPath\":\"%s/public-key.gpg\",\"signedIdentity\":{\"type\":"
	                    "\"exactRepository\",\"dockerRepository\":\"testing/manifest\"}}]}",
	                    fixdir);
	const struct fcase dirc = { "dir-img-valid", 0, "trusted-signature" };
	rep = NULL;
	char *img = coco_asprintf("dir:%s/dir-img-valid", fixdir);
	check_report("dir transport", rep, eval_dir(dirc.dir, img, pol, &rep), &dirc);
	free(img);
	free(rep);
	free(pol);

	/* keys: a missing key file, a keyring with no keys */
	pol = gpg_policy("nosuch.gpg", NULL);
	const struct fcase nokey = { "dir-img-valid", COCOIMG_EPOLICY, "key-error" };
	rep = NULL;
	check_report("missing key", rep, eval_dir(nokey.dir, "docker://testing/manifest:latest",
	                                          pol, &rep), &nokey);
	free(rep);
	free(pol);
}

static void test_fixtures_cosign(void **state)
{
	(void)state;
	static const struct fcase cases[] = {
		{ "dir-img-cosign-valid", 0, "trusted-signature" },
		{ "dir-img-cosign-valid-2", 0, "trusted-signature" },
		{ "dir-img-cosign-mixed", 0, "trusted-signature" },
		{ "dir-img-cosign-modified-manifest", COCOIMG_EPOLICY, "wrong-image-or-identity" },
		{ "dir-img-cosign-manifest-digest-error", COCOIMG_EPOLICY, "wrong-image-or-identity" },
		{ "dir-img-cosign-no-manifest", COCOIMG_EPOLICY, "wrong-image-or-identity" },
		{ "dir-img-cosign-other-attachment", COCOIMG_EPOLICY, "no-signature" },
		{ "dir-img-unsigned", COCOIMG_EPOLICY, "no-signature" },
		/* simple signing signatures are not sigstore ones */
		{ "dir-img-valid", COCOIMG_EPOLICY, "no-signature" },
	};
	char *pol = cosign_policy("\"keyPath\":", "cosign.pub");
	for (size_t i = 0; i < COCO_ARRAY_SIZE(cases); i++) {
		char *rep = NULL;
		int rc = eval_dir(cases[i].dir,
		                  "docker://192.168.64.2:5000/cosign-signed-single-sample:latest", pol,
		                  &rep);
		check_report(cases[i].dir, rep, rc, &cases[i]);
		free(rep);
	}
	/* signed with cosign2.pub, for another repository; keyPaths unions */
	free(pol);
	pol = cosign_policy("\"keyPaths\":[", "cosign2.pub");
	const struct fcase kr = { "dir-img-cosign-key-rekor-valid", 0, "trusted-signature" };
	char *rk = NULL;
	check_report(kr.dir, rk, eval_dir(kr.dir, "docker://192.168.64.2:5000/cosign-signed/key-1:x",
	                                  pol, &rk), &kr);
	free(rk);
	free(pol);
	pol = cosign_policy("\"keyPath\":", "cosign.pub");
	/* signed for another repository (with a tag) */
	const struct fcase wt = { "dir-img-cosign-valid-with-tag", 0, "trusted-signature" };
	char *rp = NULL;
	check_report(wt.dir, rp, eval_dir(wt.dir, "docker://192.168.64.2:5000/skopeo-signed:tag", pol,
	                                  &rp), &wt);
	free(rp);
	free(pol);
	/* another key: nothing trusted */
	pol = cosign_policy("\"keyPath\":", "cosign2.pub");
	const struct fcase other = { "dir-img-cosign-valid", COCOIMG_EPOLICY,
	                             "no-trusted-signature" };
	char *rep = NULL;
	check_report("cosign2", rep, eval_dir(other.dir,
	             "docker://192.168.64.2:5000/cosign-signed-single-sample:latest", pol, &rep),
	             &other);
	free(rep);
	free(pol);
}

/* sigstoreSigned fields beyond keys (REQ: the requirement's members
 * without its type and signedIdentity), matchRepository. */
static char *sigstore_req_policy(const char *req)
{
	return coco_asprintf("{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{"
	                     "\"\":[{\"type\":\"sigstoreSigned\",%s,\"signedIdentity\":"
	                     "{\"type\":\"matchRepository\"}}]}}}", req);
}

struct rcase {
	const char *what;
	const char *req;           /* %1$s: fixture directory */
	const char *dir;
	const char *image;
	int rc;
	const char *reason;
};

#define FULCIO_OK "\"fulcio\":{\"caPath\":\"%1$s/fulcio_v1.crt.pem\",\"oidcIssuer\":" \
                  "\"https://github.com/login/oauth\",\"subjectEmail\":\"mitr@redhat.com\"}"
#define PKI_OK "\"pki\":{\"caRootsPath\":\"%1$s/pki_root_crts.pem\",\"caIntermediatesPath\":" \
               "\"%1$s/pki_intermediate_crts.pem\",\"subjectEmail\":\"qiwan@redhat.com\"," \
               "\"subjectHostname\":\"myhost.example.com\"}"
#define IMG_KR "docker://192.168.64.2:5000/cosign-signed/key-1"
#define IMG_FR "docker://192.168.64.2:5000/cosign-signed/fulcio-rekor-1"
#define IMG_PK "docker://localhost:5000/test"

/* containers/image's verdicts for its Rekor, Fulcio and PKI fixtures
 * (policy_eval_sigstore_test.go), through whole policies. */
static const struct rcase rcases[] = {
	{ "key+rekor", "\"keyPath\":\"%1$s/cosign2.pub\",\"rekorPublicKeyPath\":\"%1$s/rekor.pub\"",
	  "dir-img-cosign-key-rekor-valid", IMG_KR, 0, "trusted-signature" },
	{ "key+rekor paths", "\"keyPaths\":[\"%1$s/cosign.pub\",\"%1$s/cosign2.pub\"],"
	  "\"rekorPublicKeyPaths\":[\"%1$s/cosign.pub\",\"%1$s/rekor.pub\"]",
	  "dir-img-cosign-key-rekor-valid", IMG_KR, 0, "trusted-signature" },
	{ "key+rekor, Rekor key did not sign", "\"keyPath\":\"%1$s/cosign2.pub\","
	  "\"rekorPublicKeyPath\":\"%1$s/cosign.pub\"", "dir-img-cosign-key-rekor-valid", IMG_KR,
	  COCOIMG_EPOLICY, "no-trusted-signature" },
	{ "key+rekor, no SET", "\"keyPath\":\"%1$s/cosign.pub\",\"rekorPublicKeyPath\":"
	  "\"%1$s/rekor.pub\"", "dir-img-cosign-valid",
	  "docker://192.168.64.2:5000/cosign-signed-single-sample", COCOIMG_EPOLICY,
	  "no-trusted-signature" },
	{ "rekor key not ECDSA", "\"keyPath\":\"%1$s/cosign2.pub\",\"rekorPublicKeyPath\":"
	  "\"%1$s/some-rsa-key.pub\"", "dir-img-cosign-key-rekor-valid", IMG_KR, COCOIMG_EPOLICY,
	  "key-error" },
	{ "fulcio", FULCIO_OK ",\"rekorPublicKeyPath\":\"%1$s/rekor.pub\"",
	  "dir-img-cosign-fulcio-rekor-valid", IMG_FR, 0, "trusted-signature" },
	{ "fulcio, rekorPublicKeyDatas", FULCIO_OK ",\"rekorPublicKeyPaths\":[\"%1$s/cosign.pub\","
	  "\"%1$s/rekor.pub\"]", "dir-img-cosign-fulcio-rekor-valid", IMG_FR, 0, "trusted-signature" },
	{ "fulcio, another e-mail", "\"fulcio\":{\"caPath\":\"%1$s/fulcio_v1.crt.pem\","
	  "\"oidcIssuer\":\"https://github.com/login/oauth\",\"subjectEmail\":"
	  "\"this-does-not-match@example.com\"},\"rekorPublicKeyPath\":\"%1$s/rekor.pub\"",
	  "dir-img-cosign-fulcio-rekor-valid", IMG_FR, COCOIMG_EPOLICY, "no-trusted-signature" },
	{ "fulcio, another issuer", "\"fulcio\":{\"caPath\":\"%1$s/fulcio_v1.crt.pem\","
	  "\"oidcIssuer\":\"https://accounts.google.com\",\"subjectEmail\":\"mitr@redhat.com\"},"
	  "\"rekorPublicKeyPath\":\"%1$s/rekor.pub\"", "dir-img-cosign-fulcio-rekor-valid", IMG_FR,
	  COCOIMG_EPOLICY, "no-trusted-signature" },
	{ "fulcio, Rekor key did not sign", FULCIO_OK ",\"rekorPublicKeyPath\":\"%1$s/cosign.pub\"",
	  "dir-img-cosign-fulcio-rekor-valid", IMG_FR, COCOIMG_EPOLICY, "no-trusted-signature" },
	{ "fulcio, other repository", FULCIO_OK ",\"rekorPublicKeyPath\":\"%1$s/rekor.pub\"",
	  "dir-img-cosign-fulcio-rekor-valid", "docker://192.168.64.2:5000/other", COCOIMG_EPOLICY,
	  "wrong-image-or-identity" },
	{ "fulcio, key-signed image", FULCIO_OK ",\"rekorPublicKeyPath\":\"%1$s/rekor.pub\"",
	  "dir-img-cosign-key-rekor-valid", IMG_KR, COCOIMG_EPOLICY, "no-trusted-signature" },
	{ "fulcio, CA unreadable", "\"fulcio\":{\"caPath\":\"%1$s/nosuch.pem\",\"oidcIssuer\":"
	  "\"https://github.com/login/oauth\",\"subjectEmail\":\"mitr@redhat.com\"},"
	  "\"rekorPublicKeyPath\":\"%1$s/rekor.pub\"", "dir-img-cosign-fulcio-rekor-valid", IMG_FR,
	  COCOIMG_EPOLICY, "key-error" },
	{ "fulcio, CA not a certificate", "\"fulcio\":{\"caPath\":\"%1$s/image.signature\","
	  "\"oidcIssuer\":\"https://github.com/login/oauth\",\"subjectEmail\":\"mitr@redhat.com\"},"
	  "\"rekorPublicKeyPath\":\"%1$s/rekor.pub\"", "dir-img-cosign-fulcio-rekor-valid", IMG_FR,
	  COCOIMG_EPOLICY, "key-error" },
	{ "pki", PKI_OK, "dir-img-cosign-pki-valid", IMG_PK, 0, "trusted-signature" },
	{ "pki, roots only (chain annotation)", "\"pki\":{\"caRootsPath\":\"%1$s/pki_root_crts.pem\","
	  "\"subjectEmail\":\"qiwan@redhat.com\"}", "dir-img-cosign-pki-valid", IMG_PK, 0,
	  "trusted-signature" },
	{ "pki, another hostname", "\"pki\":{\"caRootsPath\":\"%1$s/pki_root_crts.pem\","
	  "\"subjectHostname\":\"other.example.com\"}", "dir-img-cosign-pki-valid", IMG_PK,
	  COCOIMG_EPOLICY, "no-trusted-signature" },
	{ "pki, the Fulcio CA as root", "\"pki\":{\"caRootsPath\":\"%1$s/fulcio_v1.crt.pem\","
	  "\"subjectEmail\":\"qiwan@redhat.com\"}", "dir-img-cosign-pki-valid", IMG_PK,
	  COCOIMG_EPOLICY, "no-trusted-signature" },
	{ "pki, key-signed image", PKI_OK, "dir-img-cosign-valid",
	  "docker://192.168.64.2:5000/cosign-signed-single-sample", COCOIMG_EPOLICY,
	  "no-trusted-signature" },
};

/* tmpl with every "%1$s" replaced by the fixture directory. */
static char *with_fixdir(const char *tmpl)
{
	coco_buf b = COCO_BUF_INIT;
	for (const char *p = tmpl; *p;) {
		const char *q = strstr(p, "%1$s");
		size_t n = q ? (size_t)(q - p) : strlen(p);
		assert_int_equal(coco_buf_append(&b, p, n), 0);
		if (!q)
			break;
		assert_int_equal(coco_buf_append(&b, fixdir, strlen(fixdir)), 0);
		p = q + 4;
	}
	assert_int_equal(coco_buf_putc(&b, 0), 0);
	return (char *)b.data;
}

static void test_fixtures_rekor_fulcio_pki(void **state)
{
	(void)state;
	for (size_t i = 0; i < COCO_ARRAY_SIZE(rcases); i++) {
		const struct rcase *c = &rcases[i];
		char *req = with_fixdir(c->req);
		char *pol = sigstore_req_policy(req);
		char *rep = NULL;
		const struct fcase fc = { c->dir, c->rc, c->reason };
		check_report(c->what, rep, eval_dir(c->dir, c->image, pol, &rep), &fc);
		free(rep);
		free(pol);
		free(req);
	}
	/* caData: the CA inline */
	coco_buf ca = COCO_BUF_INIT;
	char *p = coco_asprintf("%s/fulcio_v1.crt.pem", fixdir);
	slurp(p, &ca);
	free(p);
	char *b64 = coco_b64_encode(ca.data, ca.len);
	char *req = coco_asprintf("\"fulcio\":{\"caData\":\"%s\",\"oidcIssuer\":"
	                          "\"https://github.com/login/oauth\",\"subjectEmail\":"
	                          "\"mitr@redhat.com\"},\"rekorPublicKeyPath\":\"%s/rekor.pub\"",
	                          b64, fixdir);
	char *pol = sigstore_req_policy(req);
	char *rep = NULL;
	const struct fcase ok = { "dir-img-cosign-fulcio-rekor-valid", 0, "trusted-signature" };
	check_report("fulcio caData", rep, eval_dir(ok.dir, IMG_FR, pol, &rep), &ok);
	assert_non_null(strstr(rep, "Fulcio certificate"));
	free(rep);
	free(pol);
	free(req);
	free(b64);
	coco_buf_free(&ca);
}

static void test_scopes(void **state)
{
	(void)state;
	/* the most specific scope wins; no merging */
	const char *pol =
	        "{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{"
	        "\"registry.example.com:5000/team/app:1.2\":[{\"type\":\"insecureAcceptAnything\"}],"
	        "\"registry.example.com:5000/team\":[{\"type\":\"reject\"}],"
	        "\"*.example.com\":[{\"type\":\"insecureAcceptAnything\"}],"
	        "\"\":[{\"type\":\"reject\"}]},"
	        "\"oci\":{\"/nonexistent/layouts\":[{\"type\":\"insecureAcceptAnything\"}]}}}";
	static const struct { const char *image, *scope; int rc; } cases[] = {
		{ "docker://registry.example.com:5000/team/app:1.2",
		  "transports.docker[\"registry.example.com:5000/team/app:1.2\"]", 0 },
		{ "docker://registry.example.com:5000/team/app:1.3",
		  "transports.docker[\"registry.example.com:5000/team\"]", COCOIMG_EPOLICY },
		{ "docker://registry.example.com:5000/other/app",
		  "transports.docker[\"*.example.com\"]", 0 },
		{ "docker://busybox", "transports.docker[\"\"]", COCOIMG_EPOLICY },
		{ "oci:/nonexistent/layouts/one:tag", "transports.oci[\"/nonexistent/layouts\"]", 0 },
		{ "oci:/elsewhere", "default", COCOIMG_EPOLICY },
	};
	for (size_t i = 0; i < COCO_ARRAY_SIZE(cases); i++) {
		cocoimg_verify_input in = COCOIMG_VERIFY_INPUT_INIT;
		in.image = cases[i].image;
		in.manifest = (const unsigned char *)"{}";
		in.manifest_len = 2;
		in.policy_json = pol;
		in.policy_json_len = strlen(pol);
		char *rep = NULL;
		int rc = cocoimg_verify_blobs(ctx, &in, &rep);
		assert_non_null(rep);
		json_t *j = json_loads(rep, 0, NULL);
		const char *scope = json_string_value(json_object_get(j, "scope"));
		if (rc != cases[i].rc || !scope || strcmp(scope, cases[i].scope))
			fail_msg("%s: rc %d scope %s, wanted %d %s", cases[i].image, rc, scope,
			         cases[i].rc, cases[i].scope);
		json_decref(j);
		free(rep);
	}
	/* requirements are ANDed: accept + reject rejects */
	const char *andp = "{\"default\":[{\"type\":\"insecureAcceptAnything\"},{\"type\":\"reject\"}]}";
	cocoimg_verify_input in = COCOIMG_VERIFY_INPUT_INIT;
	in.image = "docker://busybox";
	in.policy_json = andp;
	in.policy_json_len = strlen(andp);
	assert_int_equal(cocoimg_verify_blobs(ctx, &in, NULL), COCOIMG_EPOLICY);
}

static void test_unparseable_blob(void **state)
{
	(void)state;
	/* an armored blob makes the whole signature fetch fail */
	char *pol = gpg_policy("public-key.gpg", NULL);
	coco_buf m = COCO_BUF_INIT, s = COCO_BUF_INIT;
	char *p = coco_asprintf("%s/dir-img-valid/manifest.json", fixdir);
	slurp(p, &m);
	free(p);
	p = coco_asprintf("%s/dir-img-valid/signature-1", fixdir);
	slurp(p, &s);
	free(p);
	const unsigned char *sp[2] = { (const unsigned char *)"-----BEGIN PGP", s.data };
	size_t sl[2] = { 14, s.len };
	cocoimg_verify_input in = COCOIMG_VERIFY_INPUT_INIT;
	in.image = "docker://testing/manifest:latest";
	in.manifest = m.data;
	in.manifest_len = m.len;
	in.signatures = sp;
	in.signature_lens = sl;
	in.n_signatures = 2;
	in.policy_json = pol;
	in.policy_json_len = strlen(pol);
	in.now = NOW;
	char *rep = NULL;
	int rc = cocoimg_verify_blobs(ctx, &in, &rep);
	const struct fcase c = { "", COCOIMG_EPOLICY, "invalid-signature" };
	check_report("armored blob", rep, rc, &c);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "0x2d"));
	free(rep);
	coco_buf_free(&m);
	coco_buf_free(&s);
	free(pol);
}

static void test_registries_d(void **state)
{
	if (!HAVE_YAML) {
		skip();        /* registries.d needs libyaml (-Dyaml) */
		return;
	}
	(void)state;
	coco_regd *rd = coco_regd_new();
	const char *y1 = "default-docker:\n  sigstore: file:///legacy\n"
	                 "docker:\n  registry.example.com/team:\n    use-sigstore-attachments: true\n"
	                 "  registry.example.com:\n    lookaside: https://sigs.example.com/store\n"
	                 "    sigstore: https://ignored\n    unknown-key: 1\n"
	                 "  '*.example.com':\n    lookaside-staging: file:///staging\n";
	assert_int_equal(coco_regd_add_yaml(ctx, rd, y1, strlen(y1), "a.yaml"), 0);
	coco_dref r;
	const char *err;
	assert_int_equal(coco_dref_parse_named("registry.example.com/team/app:1", COCO_DREF_NORMALIZE, &r, &err), 0);
	char *la = coco_regd_lookaside(rd, &r);
	/* team section has no lookaside: the search continues */
	assert_string_equal(la, "https://sigs.example.com/store");
	free(la);
	assert_true(coco_regd_use_sigstore_attachments(rd, &r));
	coco_dref_clear(&r);
	assert_int_equal(coco_dref_parse_named("other.example.com/app", COCO_DREF_NORMALIZE, &r, &err), 0);
	la = coco_regd_lookaside(rd, &r);
	assert_string_equal(la, "file:///legacy");
	free(la);
	assert_false(coco_regd_use_sigstore_attachments(rd, &r));
	coco_dref_clear(&r);
	/* duplicates across files, malformed YAML, wrong types */
	const char *y2 = "docker:\n  registry.example.com:\n    lookaside: x\n";
	assert_int_equal(coco_regd_add_yaml(ctx, rd, y2, strlen(y2), "b.yaml"), COCOIMG_ECONFIG);
	coco_regd_free(rd);
	static const char *const bad[] = {
		"docker: [1, 2]\n", "default-docker:\n  lookaside: [x]\n",
		"docker:\n  a:\n    use-sigstore-attachments: maybe\n", "a: b: c\n",
		"docker:\n  a: {}\n  a: {}\n",
	};
	for (size_t i = 0; i < COCO_ARRAY_SIZE(bad); i++) {
		rd = coco_regd_new();
		if (coco_regd_add_yaml(ctx, rd, bad[i], strlen(bad[i]), "bad.yaml") != COCOIMG_ECONFIG)
			fail_msg("accepted: %s", bad[i]);
		coco_regd_free(rd);
	}
	/* Regression: an empty (quoted) lookaside is unset in Go: the legacy
	 * key of the same section, then less specific sections, are used */
	rd = coco_regd_new();
	const char *y3 = "default-docker:\n  lookaside: file:///default\n"
	                 "docker:\n  a.example.com/x:\n    lookaside: ''\n    sigstore: file:///legacy\n"
	                 "  a.example.com/y:\n    lookaside: \"\"\n";
	assert_int_equal(coco_regd_add_yaml(ctx, rd, y3, strlen(y3), "c.yaml"), 0);
	assert_int_equal(coco_dref_parse_named("a.example.com/x/app:1", COCO_DREF_NORMALIZE, &r, &err), 0);
	la = coco_regd_lookaside(rd, &r);
	assert_string_equal(la, "file:///legacy");
	free(la);
	coco_dref_clear(&r);
	assert_int_equal(coco_dref_parse_named("a.example.com/y/app:1", COCO_DREF_NORMALIZE, &r, &err), 0);
	la = coco_regd_lookaside(rd, &r);
	assert_string_equal(la, "file:///default");
	free(la);
	coco_dref_clear(&r);
	coco_regd_free(rd);
	char *u = coco_lookaside_url("https://example.com/lookaside", "library/busybox",
	                             "sha256:abcd", 1);
	assert_string_equal(u, "https://example.com/lookaside/library/busybox@sha256=abcd/signature-1");
	free(u);
}

static void put_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* Lookaside signatures through the operations layer's fetcher. */
static int lookaside_sigs(const char *base, const char *path, const char *digest,
                          coco_trust_sigs *sigs)
{
	coco_src_sigfetch sf;
	coco_src_sigfetch_init(&sf, NULL);
	int rc = coco_lookaside_collect(ctx, &sf.f, base, path, digest, sigs);
	coco_src_sigfetch_clear(&sf);
	return rc;
}

/* file:// lookaside: the read loop stops at the first gap, and a path or
 * digest that is not grammatical is refused before any file is touched
 * (hardening: a "../" or "%2e%2e" would otherwise escape the base). */
static void test_lookaside_file(void **state)
{
	(void)state;
	char tmpl[] = "/tmp/coco-lookaside-XXXXXX";
	char *dir = mkdtemp(tmpl);
	assert_non_null(dir);
	const char *dg = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char *sd = coco_asprintf("%s/library/busybox@sha256=0123456789abcdef0123456789abcdef"
	                         "0123456789abcdef0123456789abcdef", dir);
	char *lib = coco_asprintf("%s/library", dir);
	assert_int_equal(mkdir(lib, 0755), 0);
	assert_int_equal(mkdir(sd, 0755), 0);
	static const char sig[] = "\x90\x0d\x03";  /* sniffed as simple signing */
	for (int i = 1; i <= 4; i++) {
		if (i == 3)
			continue;     /* gap: signature-4 is never read */
		char *f = coco_asprintf("%s/signature-%d", sd, i);
		put_file(f, sig, 3);
		free(f);
	}
	char *base = coco_asprintf("file://%s", dir);
	coco_trust_sigs sigs = { 0 };
	assert_int_equal(lookaside_sigs(base, "library/busybox", dg, &sigs), 0);
	assert_int_equal(sigs.n, 2);
	coco_trust_sigs_clear(&sigs);

	/* a secret next to the base must stay unreachable */
	char *secret = coco_asprintf("%s/secret@sha256=x", dir);
	assert_int_equal(mkdir(secret, 0755), 0);
	char *sf = coco_asprintf("%s/signature-1", secret);
	put_file(sf, sig, 3);
	static const char *const bad_paths[] = { "../x", "library/../..", "a/%2e%2e", "", "/abs",
	                                         "a//b", "UPPER" };
	for (size_t i = 0; i < COCO_ARRAY_SIZE(bad_paths); i++) {
		assert_int_equal(lookaside_sigs(base, bad_paths[i], dg, &sigs),
		                 COCOIMG_ESIGLOOKUP);
		assert_int_equal(sigs.n, 0);
	}
	static const char *const bad_digests[] = { "sha256:x", "sha256:../../secret@sha256=x",
	                                           "sha256", "md5:00", "" };
	for (size_t i = 0; i < COCO_ARRAY_SIZE(bad_digests); i++) {
		assert_int_equal(lookaside_sigs(base, "library/busybox", bad_digests[i],
		                                      &sigs), COCOIMG_ESIGLOOKUP);
		assert_int_equal(sigs.n, 0);
	}
	unlink(sf);
	rmdir(secret);
	for (int i = 1; i <= 4; i++) {
		char *f = coco_asprintf("%s/signature-%d", sd, i);
		unlink(f);
		free(f);
	}
	rmdir(sd);
	rmdir(lib);
	rmdir(dir);
	free(sf);
	free(secret);
	free(base);
	free(sd);
	free(lib);
}

/* The policy's file reader: every path goes through the installed
 * reader (which may resolve URIs); without one, local files only. */
static int fake_read(void *payload, cocoimg_ctx *c, const char *path, size_t max, coco_buf *out)
{
	(*(int *)payload)++;
	if (strcmp(path, "kbs:///default/key/1"))
		return coco_seterr(c, COCOIMG_EPOLICY, "policy file %s: not found", path);
	return max < 5 ? COCOIMG_EPOLICY : coco_buf_append(out, "bytes", 5);
}

static void test_read_path(void **state)
{
	(void)state;
	int calls = 0;
	const coco_trust_reader r = { &calls, fake_read };
	coco_buf b = COCO_BUF_INIT;
	assert_int_equal(coco_trust_read_path(ctx, &r, "kbs:///default/key/1", 64, &b), 0);
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.data, "bytes", 5);
	assert_int_equal(coco_trust_read_path(ctx, &r, "kbs:///default/key/2", 64, &b),
	                 COCOIMG_EPOLICY);
	assert_int_equal(calls, 2);
	coco_buf_free(&b);
	/* no reader: a local file, a missing one is a configuration error */
	char tmpl[] = "/tmp/coco-readpath-XXXXXX";
	int fd = mkstemp(tmpl);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "pem", 3), 3);
	close(fd);
	assert_int_equal(coco_trust_read_path(ctx, NULL, tmpl, 64, &b), 0);
	assert_int_equal(b.len, 3);
	coco_buf_free(&b);
	unlink(tmpl);
	assert_int_equal(coco_trust_read_path(ctx, NULL, tmpl, 64, &b), COCOIMG_ECONFIG);
	assert_int_equal(coco_trust_read_path(ctx, NULL, "kbs:///default/key/1", 64, &b),
	                 COCOIMG_ECONFIG);
	coco_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_parse),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_references),
		cmocka_unit_test(test_fixtures_gpg),
		cmocka_unit_test(test_fixtures_cosign),
		cmocka_unit_test(test_fixtures_rekor_fulcio_pki),
		cmocka_unit_test(test_scopes),
		cmocka_unit_test(test_unparseable_blob),
		cmocka_unit_test(test_registries_d),
		cmocka_unit_test(test_lookaside_file),
		cmocka_unit_test(test_read_path),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
