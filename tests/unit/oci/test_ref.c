/* Unit tests for image references (libcocoimg/ref.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base.h"
#include "ref.h"

#include <stdlib.h>
#include <string.h>

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const struct {
	const char *in;
	const char *canonical;      /* NULL = must fail */
} docker_cases[] = {
	{ "alpine", "docker.io/library/alpine:latest" },
	{ "alpine:3.20", "docker.io/library/alpine:3.20" },
	{ "user/app", "docker.io/user/app:latest" },
	{ "index.docker.io/user/app", "docker.io/user/app:latest" },
	{ "docker.io/ubuntu", "docker.io/library/ubuntu:latest" },
	{ "localhost/app", "localhost/app:latest" },
	{ "localhost:5000/a/b:v1", "localhost:5000/a/b:v1" },
	{ "127.0.0.1:5000/a@sha256:" H64, "127.0.0.1:5000/a@sha256:" H64 },
	{ "127.0.0.1:5000/a:t@sha256:" H64, "127.0.0.1:5000/a:t@sha256:" H64 },
	{ "[::1]:5000/a:v1", "[::1]:5000/a:v1" },
	{ "Example.com/a", "Example.com/a:latest" },
	{ "a_b/c", "docker.io/a_b/c:latest" },
	{ "a/b__c/d-e---f.g", "docker.io/a/b__c/d-e---f.g:latest" },
	{ "quay.io/x/y:V_1.2-rc", "quay.io/x/y:V_1.2-rc" },
	{ "localhost:5000", "docker.io/library/localhost:5000" },
	{ "example/App", NULL },
	{ "a/b:", NULL },
	{ "a//b", NULL },
	{ "a/-b", NULL },
	{ "a:b:c", NULL },
	{ "", NULL },
	{ H64, NULL },
	{ "a/b@sha256:abc", NULL },
	{ "a/b@sha256:" "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", NULL },
	{ "a/b@md5:" H64, NULL },
	{ "a/b:.tag", NULL },
	{ "a/b_", NULL },
	{ "a/b___c", NULL },
	{ "-a.com/b", NULL },
	{ "a.com:/b", NULL },
	{ "a.com:12x/b", NULL },
	{ "[zz]:5000/a", NULL },
	{ "a b", NULL },
	{ "a/b:" "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901234567890", NULL },
};

static void test_docker_refs(void **state)
{
	(void)state;
	cocoimg_ctx *ctx;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	for (size_t i = 0; i < COCO_ARRAY_SIZE(docker_cases); i++) {
		coco_dref r;
		int rc = coco_dref_parse(ctx, docker_cases[i].in, &r);
		if (!docker_cases[i].canonical) {
			if (rc != COCOIMG_EINVAL)
				fail_msg("accepted bad reference \"%s\"", docker_cases[i].in);
			assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "invalid image reference"));
			continue;
		}
		if (rc)
			fail_msg("rejected \"%s\": %s", docker_cases[i].in, cocoimg_ctx_last_error(ctx));
		char *s = coco_dref_string(&r);
		assert_string_equal(s, docker_cases[i].canonical);
		free(s);
		coco_dref_clear(&r);
	}
	/* lower-case message */
	coco_dref r;
	assert_int_equal(coco_dref_parse(ctx, "example/App", &r), COCOIMG_EINVAL);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "lowercase"));
	/* tag and digest kept, repo */
	assert_int_equal(coco_dref_parse(ctx, "reg.io:443/ns/app:v1@sha256:" H64, &r), 0);
	assert_string_equal(r.domain, "reg.io:443");
	assert_string_equal(r.path, "ns/app");
	assert_string_equal(r.tag, "v1");
	assert_string_equal(r.digest, "sha256:" H64);
	char *repo = coco_dref_repo(&r);
	assert_string_equal(repo, "reg.io:443/ns/app");
	free(repo);
	coco_dref_clear(&r);
	/* digest only: no default tag */
	assert_int_equal(coco_dref_parse(ctx, "app@sha256:" H64, &r), 0);
	assert_null(r.tag);
	coco_dref_clear(&r);
	/* length limit: 255 for domain/path */
	char longname[300];
	memset(longname, 'a', sizeof(longname));
	memcpy(longname, "x.io/", 5);
	longname[250] = 0; /* 250 total: ok */
	assert_int_equal(coco_dref_parse(ctx, longname, &r), 0);
	coco_dref_clear(&r);
	longname[250] = 'a';
	longname[260] = 0;
	assert_int_equal(coco_dref_parse(ctx, longname, &r), COCOIMG_EINVAL);
	cocoimg_ctx_free(ctx);
}

static const struct {
	const char *in;
	const char *canonical;
	const char *path;
	const char *tag;
} transport_cases[] = {
	{ "docker://alpine", "docker://docker.io/library/alpine:latest", NULL, NULL },
	{ "docker://127.0.0.1:5000/a/b:v2", "docker://127.0.0.1:5000/a/b:v2", NULL, NULL },
	{ "oci:dir", "oci:dir", "dir", NULL },
	{ "oci:dir:", "oci:dir", "dir", NULL },
	{ "oci:/tmp/x:v1.0", "oci:/tmp/x:v1.0", "/tmp/x", "v1.0" },
	{ "oci:d:a/b:c@d+e--f", "oci:d:a/b:c@d+e--f", "d", "a/b:c@d+e--f" },
	{ "oci:d:@1", "oci:d:@1", "d", "@1" },
	{ "oci-archive:/tmp/f.tar:latest", "oci-archive:/tmp/f.tar:latest", "/tmp/f.tar", "latest" },
	{ "oci-archive:f.tar", "oci-archive:f.tar", "f.tar", NULL },
	{ "docker:alpine", NULL, NULL, NULL },
	{ "docker:///alpine", NULL, NULL, NULL },
	{ "alpine", NULL, NULL, NULL },
	{ "oci:", NULL, NULL, NULL },
	{ "oci::tag", NULL, NULL, NULL },
	{ "oci:d:bad tag", NULL, NULL, NULL },
	{ "oci:d:-x", NULL, NULL, NULL },
	{ "oci:d:a--", NULL, NULL, NULL },
	{ "oci:d:a/", NULL, NULL, NULL },
	{ "oci:d:@1x", NULL, NULL, NULL },
	{ "dir:/tmp/x", NULL, NULL, NULL },
	{ "docker-archive:/tmp/x.tar", NULL, NULL, NULL },
	{ "nope:x", NULL, NULL, NULL },
	{ ":x", NULL, NULL, NULL },
};

static void test_transports(void **state)
{
	(void)state;
	cocoimg_ctx *ctx;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	for (size_t i = 0; i < COCO_ARRAY_SIZE(transport_cases); i++) {
		coco_ref *r = NULL;
		int rc = coco_ref_parse(ctx, transport_cases[i].in, &r);
		if (!transport_cases[i].canonical) {
			if (rc != COCOIMG_EINVAL)
				fail_msg("accepted bad reference \"%s\"", transport_cases[i].in);
			assert_null(r);
			continue;
		}
		if (rc)
			fail_msg("rejected \"%s\": %s", transport_cases[i].in, cocoimg_ctx_last_error(ctx));
		char *s = coco_ref_string(r);
		assert_string_equal(s, transport_cases[i].canonical);
		free(s);
		if (transport_cases[i].path)
			assert_string_equal(r->path, transport_cases[i].path);
		if (transport_cases[i].tag)
			assert_string_equal(r->tag, transport_cases[i].tag);
		else if (r->transport != COCO_TR_DOCKER)
			assert_null(r->tag);
		assert_string_equal(r->raw, transport_cases[i].in);
		coco_ref_free(r);
	}
	coco_ref *r;
	assert_int_equal(coco_ref_parse(ctx, "dir:/x", &r), COCOIMG_EINVAL);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "unsupported transport"));
	assert_int_equal(coco_ref_parse(ctx, "nope:/x", &r), COCOIMG_EINVAL);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "unknown transport"));
	coco_ref_free(NULL);
	cocoimg_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_docker_refs),
		cmocka_unit_test(test_transports),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
