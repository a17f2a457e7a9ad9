/* Unit tests for broker/resource_uri.c: every accepted form, the normal
 * form, and the refusals with their messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base.h"
#include "broker/resource_uri.h"

#include <stdlib.h>
#include <string.h>

static void ok(const char *s, unsigned flags, const char *host, const char *repo,
               const char *type, const char *tag)
{
	coco_ruri r;
	assert_int_equal(coco_ruri_parse(NULL, s, flags, &r), 0);
	if (host)
		assert_string_equal(r.host, host);
	else
		assert_null(r.host);
	assert_string_equal(r.repo, repo);
	assert_string_equal(r.type, type);
	assert_string_equal(r.tag, tag);
	char *want = coco_asprintf("kbs:///%s/%s/%s", repo, type, tag);
	assert_string_equal(r.uri, want);
	assert_string_equal(r.path, want + 7);
	free(want);
	coco_ruri_clear(&r);
}

static void test_forms(void **state)
{
	(void)state;
	ok("kbs:///default/key/app1", 0, "", "default", "key", "app1");
	ok("kbs://kbs.example.org:8081/alice/decryption-key/1", 0, "kbs.example.org:8081",
	   "alice", "decryption-key", "1");
	ok("KBS://[::1]:80/r/t/g", 0, "[::1]:80", "r", "t", "g");
	ok("kbs:///default/cosign-public-key/test", COCO_RURI_KID, "", "default",
	   "cosign-public-key", "test");
	ok("/default/key/key_id1", COCO_RURI_KID, NULL, "default", "key", "key_id1");
	ok("default/key/key_id1", COCO_RURI_KID, NULL, "default", "key", "key_id1");
	ok("kbs:///a.b/c_d/e~f:1", 0, "", "a.b", "c_d", "e~f:1");
}

static void refused(const char *s, unsigned flags, const char *needle)
{
	cocoimg_ctx *ctx;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	coco_ruri r;
	assert_int_equal(coco_ruri_parse(ctx, s, flags, &r), COCOIMG_EINVAL);
	const char *m = cocoimg_ctx_last_error(ctx);
	if (!strstr(m, needle))
		fail_msg("message for \"%s\": \"%s\" lacks \"%s\"", s, m, needle);
	assert_null(r.uri);
	cocoimg_ctx_free(ctx);
}

static void test_refused(void **state)
{
	(void)state;
	refused("kbs+pkcs11:///a/b/c", 0, "kbs+pkcs11:// names a KBS plugin");
	refused("kbs+resource:///a/b/c", COCO_RURI_KID, "plugin");
	refused("kbs:///a/b", 0, "fewer than three");
	refused("kbs:///a/b/c/d", 0, "more than three");
	refused("kbs:///a//c", 0, "empty path segment");
	refused("kbs:///a/b/", 0, "empty path segment");
	refused("kbs:///a/../c", 0, "\"..\"");
	refused("kbs:///a/./c", 0, "\".\"");
	refused("kbs:///repo/type/tag?x=1", 0, "query strings");
	refused("kbs:///r/t/g#f", 0, "fragments");
	refused("kbs:/a/b/c", 0, "expected kbs:///");
	refused("kbs://host", 0, "no resource path");
	refused("kbs:///a/b%2fc/d", 0, "percent-encoding");
	refused("kbs:///a/b c/d", 0, "spaces");
	refused("kbs:///a/b\\c/d", 0, "RFC 3986");
	refused("kbs://ho st/a/b/c", 0, "spaces");
	refused("kbs://h<o>/a/b/c", 0, "host");
	refused("/default/key/k1", 0, "not a KBS resource URI");
	refused("default/key/k1", 0, "not a KBS resource URI");
	refused("https://kbs/default/key/k1", COCO_RURI_KID, "not a KBS resource URI");
	refused("84688df7-2c0c-40fa-956b-29d8e74d16c0", COCO_RURI_KID, "fewer than three");
	refused("", 0, "empty");
	refused("kbs:///a/\x01/c", 0, "control characters");
}

static void test_control_chars_not_quoted(void **state)
{
	(void)state;
	cocoimg_ctx *ctx;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	coco_ruri r;
	assert_int_equal(coco_ruri_parse(ctx, "kbs:///a/b\n/c", 0, &r), COCOIMG_EINVAL);
	assert_null(strchr(cocoimg_ctx_last_error(ctx), '\n'));
	cocoimg_ctx_free(ctx);
}

static void test_is_uri_and_normalize(void **state)
{
	(void)state;
	assert_true(coco_ruri_is_uri("kbs:///a/b/c"));
	assert_true(coco_ruri_is_uri("KBS+x:///a/b/c"));
	assert_false(coco_ruri_is_uri("/etc/containers/policy.json"));
	assert_false(coco_ruri_is_uri("kbsfile"));
	assert_false(coco_ruri_is_uri(NULL));
	char *n = coco_ruri_normalize(NULL, "kbs://1.2.3.4:8080/default/key/app1", 0);
	assert_string_equal(n, "kbs:///default/key/app1");
	free(n);
	n = coco_ruri_normalize(NULL, "default/key/app1", COCO_RURI_KID);
	assert_string_equal(n, "kbs:///default/key/app1");
	free(n);
	assert_null(coco_ruri_normalize(NULL, "default/key/app1", 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_control_chars_not_quoted),
		cmocka_unit_test(test_is_uri_and_normalize),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
