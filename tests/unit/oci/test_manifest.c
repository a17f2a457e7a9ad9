/* Unit tests for manifests, indexes, media types and platform selection. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base.h"
#include "json.h"
#include "oci/oci.h"

#include <stdlib.h>
#include <string.h>

#define D1 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define D2 "sha256:1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define CFG "{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D1 "\",\"size\":7}"
#define LAYER "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" D2 "\",\"size\":32}"

static cocoimg_ctx *ctx;

static int setup(void **state)
{
	(void)state;
	return cocoimg_ctx_new(&ctx);
}

static int teardown(void **state)
{
	(void)state;
	cocoimg_ctx_free(ctx);
	return 0;
}

static int parse(const char *s, const char *hint, coco_manifest **m)
{
	return coco_manifest_parse(ctx, s, strlen(s), hint, m);
}

static void test_oci_manifest(void **state)
{
	(void)state;
	coco_manifest *m;
	const char *s = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	                "\"config\":" CFG ",\"layers\":[" LAYER "],\"x-unknown\":{\"keep\":1},"
	                "\"annotations\":{\"a\":\"b<&>\"}}";
	assert_int_equal(parse(s, NULL, &m), 0);
	assert_int_equal(m->kind, COCO_KIND_IMAGE);
	assert_string_equal(m->media_type, COCO_MT_OCI_MANIFEST);
	assert_string_equal(m->config.digest, D1);
	assert_int_equal(m->config.size, 7);
	assert_int_equal(m->n_layers, 1);
	assert_string_equal(m->layers[0].digest, D2);
	assert_non_null(m->annotations);
	size_t len;
	char *out = coco_manifest_serialize(m, &len);
	/* unknown fields kept, Go escaping of <&> */
	assert_non_null(strstr(out, "\"x-unknown\":{\"keep\":1}"));
	assert_non_null(strstr(out, "b\\u003c\\u0026\\u003e"));
	assert_int_equal(strlen(out), len);
	free(out);
	coco_manifest_free(m);

	/* hint with parameters agrees */
	assert_int_equal(parse(s, "application/vnd.oci.image.manifest.v1+json; charset=utf-8", &m), 0);
	coco_manifest_free(m);
	/* no mediaType: guessed from config */
	assert_int_equal(parse("{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[]}", NULL, &m), 0);
	assert_string_equal(m->media_type, COCO_MT_OCI_MANIFEST);
	coco_manifest_free(m);
	/* no mediaType, hint docker */
	assert_int_equal(parse("{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[]}",
	                       COCO_MT_DOCKER_MANIFEST, &m), 0);
	assert_string_equal(m->media_type, COCO_MT_DOCKER_MANIFEST);
	coco_manifest_free(m);
	/* unknown hint ignored */
	assert_int_equal(parse(s, "text/plain", &m), 0);
	coco_manifest_free(m);
}

static void test_index(void **state)
{
	(void)state;
	coco_manifest *m;
	const char *s = "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	                "\"digest\":\"" D1 "\",\"size\":10,\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v7\"}},"
	                "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	                "\"digest\":\"" D2 "\",\"size\":11,\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}]}";
	assert_int_equal(parse(s, NULL, &m), 0);
	assert_int_equal(m->kind, COCO_KIND_INDEX);
	assert_string_equal(m->media_type, COCO_MT_OCI_INDEX);
	assert_int_equal(m->n_manifests, 2);
	assert_string_equal(m->manifests[0].platform.variant, "v7");
	coco_manifest_free(m);
	assert_int_equal(parse(s, COCO_MT_DOCKER_LIST, &m), 0);
	assert_string_equal(m->media_type, COCO_MT_DOCKER_LIST);
	coco_manifest_free(m);
}

static const struct {
	const char *doc, *hint, *msg;
	int rc;
} bad[] = {
	{ "[]", NULL, "JSON object", COCOIMG_EBADIMAGE },
	{ "{", NULL, "invalid JSON", COCOIMG_EBADIMAGE },
	{ "{\"schemaVersion\":2,\"schemaVersion\":2}", NULL, "invalid JSON", COCOIMG_EBADIMAGE },
	{ "{\"config\":" CFG ",\"layers\":[]}", NULL, "schemaVersion", COCOIMG_EBADIMAGE },
	{ "{\"schemaVersion\":\"2\",\"config\":" CFG ",\"layers\":[]}", NULL, "schemaVersion", COCOIMG_EBADIMAGE },
	{ "{\"schemaVersion\":1}", NULL, "schema1", COCOIMG_EUNSUPPORTED },
	{ "{\"schemaVersion\":3,\"config\":" CFG ",\"layers\":[]}", NULL, "schemaVersion", COCOIMG_EBADIMAGE },
	{ "{\"schemaVersion\":2,\"mediaType\":5,\"config\":" CFG ",\"layers\":[]}", NULL, "mediaType", COCOIMG_EBADIMAGE },
	{ "{\"schemaVersion\":2,\"mediaType\":\"application/x-foo\",\"config\":" CFG ",\"layers\":[]}", NULL, "unsupported", COCOIMG_EUNSUPPORTED },
	{ "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":" CFG ",\"layers\":[]}",
	  COCO_MT_OCI_INDEX, "does not match", COCOIMG_EBADIMAGE },
	{ "{\"schemaVersion\":2,\"layers\":[]}", NULL, "unknown format", COCOIMG_EBADIMAGE },
	{ "{\"schemaVersion\":2,\"config\":" CFG "}", NULL, "\"layers\"", COCOIMG_EBADIMAGE },
	{ "{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":{}}", NULL, "\"layers\" must be an array", COCOIMG_EBADIMAGE },
	{ "{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[5]}", NULL, "layers[0]", COCOIMG_EBADIMAGE },
	{ "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1 "\"},\"layers\":[]}", NULL, "\"size\"", COCOIMG_EBADIMAGE },
	{ "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1 "\",\"size\":-1},\"layers\":[]}", NULL, "negative size", COCOIMG_EBADIMAGE },
	{ "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1 "\",\"size\":1.5},\"layers\":[]}", NULL, "\"size\" must be an integer", COCOIMG_EBADIMAGE },
	{ "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"sha256:../../etc/passwd\",\"size\":1},\"layers\":[]}", NULL, "malformed digest", COCOIMG_EBADIMAGE },
	{ "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\",\"size\":1},\"layers\":[]}", NULL, "malformed digest", COCOIMG_EBADIMAGE },
	{ "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":[]}", NULL, "\"mediaType\"", COCOIMG_EBADIMAGE },
	{ "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":7,\"size\":1},\"layers\":[]}", NULL, "\"digest\" must be a string", COCOIMG_EBADIMAGE },
	{ "{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[],\"annotations\":{\"a\":1}}", NULL, "annotations", COCOIMG_EBADIMAGE },
	{ "{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[],\"manifests\":[]}", NULL, "must not have", COCOIMG_EBADIMAGE },
	{ "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":" CFG ",\"layers\":[],\"manifests\":[]}", NULL, "\"manifests\"", COCOIMG_EBADIMAGE },
	{ "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[],\"layers\":[]}", NULL, "must not have", COCOIMG_EBADIMAGE },
	{ "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\",\"digest\":\"" D1 "\",\"size\":1,\"platform\":{\"os\":\"linux\"}}]}", NULL, "architecture", COCOIMG_EBADIMAGE },
	{ "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\",\"digest\":\"" D1 "\",\"size\":1,\"urls\":[1]}]}", NULL, "urls[0]", COCOIMG_EBADIMAGE },
	{ "{\"schemaVersion\":2,\"manifests\":null}", NULL, "must be an array", COCOIMG_EBADIMAGE },
};

static void test_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < COCO_ARRAY_SIZE(bad); i++) {
		coco_manifest *m = (coco_manifest *)1;
		int rc = parse(bad[i].doc, bad[i].hint, &m);
		if (rc != bad[i].rc || !strstr(cocoimg_ctx_last_error(ctx), bad[i].msg))
			fail_msg("case %zu: rc %d msg \"%s\" (wanted %d, \"%s\")", i, rc,
			         cocoimg_ctx_last_error(ctx), bad[i].rc, bad[i].msg);
		assert_null(m);
	}
	coco_manifest *m;
	/* the default max-manifest-size is 4 MiB */
	size_t cap = 4u << 20;
	char *big = malloc(cap + 2);
	memset(big, ' ', cap + 1);
	big[cap + 1] = 0;
	assert_int_equal(parse(big, NULL, &m), COCOIMG_EBADIMAGE);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "(max-manifest-size)"));
	free(big);
}

static void test_media_types(void **state)
{
	(void)state;
	assert_true(coco_mt_is_layer("application/vnd.oci.image.layer.v1.tar+gzip"));
	assert_true(coco_mt_is_layer("application/vnd.oci.image.layer.v1.tar+zstd+encrypted"));
	assert_true(coco_mt_is_layer("application/vnd.docker.image.rootfs.diff.tar.gzip"));
	assert_false(coco_mt_is_layer("application/vnd.oci.image.config.v1+json"));
	assert_false(coco_mt_is_layer(NULL));
	assert_true(coco_mt_is_encrypted("application/vnd.oci.image.layer.v1.tar+gzip+encrypted"));
	assert_false(coco_mt_is_encrypted("application/vnd.oci.image.layer.v1.tar+gzip"));
	assert_int_equal(coco_mt_compression("application/vnd.oci.image.layer.v1.tar+gzip"), COCO_COMP_GZIP);
	assert_int_equal(coco_mt_compression("application/vnd.oci.image.layer.v1.tar+zstd+encrypted"), COCO_COMP_ZSTD);
	assert_int_equal(coco_mt_compression("application/vnd.docker.image.rootfs.diff.tar.gzip"), COCO_COMP_GZIP);
	assert_int_equal(coco_mt_compression("application/vnd.oci.image.layer.v1.tar"), COCO_COMP_NONE);
	assert_int_equal(coco_mt_compression("application/x-whatever"), COCO_COMP_UNKNOWN);
	assert_string_equal(coco_mt_docker_to_oci("application/vnd.docker.image.rootfs.diff.tar.gzip"),
	                    "application/vnd.oci.image.layer.v1.tar+gzip");
	assert_null(coco_mt_docker_to_oci("application/vnd.oci.image.layer.v1.tar"));
	assert_true(coco_mt_is_index(COCO_MT_DOCKER_LIST));
	assert_false(coco_mt_is_index(COCO_MT_OCI_MANIFEST));
}

static coco_manifest *mkindex(const char *const *plats, size_t n)
{
	coco_buf b = COCO_BUF_INIT;
	coco_buf_appendf(&b, "{\"schemaVersion\":2,\"manifests\":[");
	for (size_t i = 0; i < n; i++) {
		coco_buf_appendf(&b, "%s{\"mediaType\":\"%s\",\"digest\":\"" D1 "\",\"size\":%zu", i ? "," : "",
		                 COCO_MT_OCI_MANIFEST, i);
		if (plats[i]) {
			char os[32], arch[32], var[32] = "";
			int k = sscanf(plats[i], "%31[^/]/%31[^/]/%31s", os, arch, var);
			coco_buf_appendf(&b, ",\"platform\":{\"os\":\"%s\",\"architecture\":\"%s\"", os, arch);
			if (k == 3)
				coco_buf_appendf(&b, ",\"variant\":\"%s\"", var);
			coco_buf_appendf(&b, "}");
		}
		coco_buf_appendf(&b, "}");
	}
	coco_buf_appendf(&b, "]}");
	coco_manifest *m = NULL;
	assert_int_equal(coco_manifest_parse(ctx, b.data, b.len, NULL, &m), 0);
	coco_buf_free(&b);
	return m;
}

static int pick(coco_manifest *m, const char *want)
{
	coco_platform p;
	assert_int_equal(coco_platform_parse(ctx, want, &p), 0);
	size_t w = 99;
	int rc = coco_index_select(ctx, m, &p, &w);
	coco_platform_clear(&p);
	return rc ? -1 : (int)w;
}

static void test_select(void **state)
{
	(void)state;
	const char *p1[] = { "linux/amd64", "linux/arm/v6", "linux/arm/v7", "linux/arm64/v8", "linux/ppc64le" };
	coco_manifest *m = mkindex(p1, 5);
	assert_int_equal(pick(m, "linux/amd64"), 0);
	assert_int_equal(pick(m, "linux/arm/v7"), 2);
	assert_int_equal(pick(m, "linux/arm/v6"), 1);
	assert_int_equal(pick(m, "linux/arm/v8"), 2);      /* v8 -> v7 compatible */
	assert_int_equal(pick(m, "linux/arm/v5"), -1);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "linux/arm/v7"));
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "available"));
	assert_int_equal(pick(m, "linux/arm64"), 3);       /* v8 == none */
	assert_int_equal(pick(m, "linux/arm64/v8"), 3);
	assert_int_equal(pick(m, "linux/s390x"), -1);
	assert_int_equal(pick(m, "windows/amd64"), -1);
	coco_manifest_free(m);

	const char *p2[] = { "linux/amd64/v3", "linux/amd64", "linux/arm" };
	m = mkindex(p2, 3);
	assert_int_equal(pick(m, "linux/amd64"), 1);       /* only empty variant without W */
	assert_int_equal(pick(m, "linux/amd64/v3"), 0);
	assert_int_equal(pick(m, "linux/amd64/v4"), 0);
	assert_int_equal(pick(m, "linux/amd64/v2"), 1);
	assert_int_equal(pick(m, "linux/arm/v7"), 2);      /* no-variant entry accepted last */
	coco_manifest_free(m);

	/* aliases on entries, first match wins */
	const char *p3[] = { "linux/x86_64", "linux/amd64", "linux/aarch64" };
	m = mkindex(p3, 3);
	assert_int_equal(pick(m, "linux/amd64"), 0);
	assert_int_equal(pick(m, "linux/arm64"), 2);
	coco_manifest_free(m);

	/* platform-less entries: only when alone */
	const char *p4[] = { NULL };
	m = mkindex(p4, 1);
	assert_int_equal(pick(m, "linux/amd64"), 0);
	coco_manifest_free(m);
	const char *p5[] = { NULL, "linux/arm64" };
	m = mkindex(p5, 2);
	assert_int_equal(pick(m, "linux/amd64"), -1);
	coco_manifest_free(m);

	/* default: ctx option */
	const char *p6[] = { "linux/amd64", "linux/arm64" };
	m = mkindex(p6, 2);
	assert_int_equal(cocoimg_ctx_set(ctx, "platform", "linux/arm64"), 0);
	size_t w;
	assert_int_equal(coco_index_select(ctx, m, NULL, &w), 0);
	assert_int_equal(w, 1);
	assert_int_equal(cocoimg_ctx_set(ctx, "platform", NULL), 0);
	coco_manifest_free(m);
}

static void test_go_json(void **state)
{
	(void)state;
	json_t *j = json_pack("{s:s, s:i, s:f, s:f, s:f, s:b, s:n, s:[]}", "s", "a\"\\\n\t\x01<\xe2\x80\xa8",
	                      "i", 42, "f1", 1.0, "f2", 0.5, "f3", 1e-7, "t", 1, "n", "a");
	size_t len;
	char *s = coco_json_dump_go(j, &len);
	assert_string_equal(s, "{\"s\":\"a\\\"\\\\\\n\\t\\u0001\\u003c\\u2028\",\"i\":42,\"f1\":1,"
	                       "\"f2\":0.5,\"f3\":1e-07,\"t\":true,\"n\":null,\"a\":[]}");
	free(s);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oci_manifest),
		cmocka_unit_test(test_index),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_media_types),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_go_json),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
