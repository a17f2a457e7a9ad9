/* Unit tests for broker/resources.c and broker/broker.c: the resources
 * file, the resource callback, first match wins, one fetch per URI per
 * context, and the failure messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../lib/tmpdir.h"
#include "base.h"
#include "broker/broker.h"
#include "broker/resources.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* "hello" and "key" in base64 */
#define RES_JSON "{\"default/policy/p\": \"aGVsbG8=\", \"default/key/k1\": \"a2V5\"}"

static void test_resfile(void **state)
{
	(void)state;
	coco_resfile *f;
	const char *j = RES_JSON;
	assert_int_equal(coco_resfile_parse(NULL, (const unsigned char *)j, strlen(j), "r.json", &f), 0);
	coco_buf b = COCO_BUF_INIT;
	assert_int_equal(coco_resfile_get(f, "default/policy/p", &b), 0);
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.data, "hello", 5);
	assert_int_equal(coco_resfile_get(f, "default/policy/x", &b), COCOIMG_ENOTFOUND);
	coco_buf_wipe_free(&b);
	assert_string_equal(coco_resfile_name(f), "r.json");
	coco_resfile_free(f);

	cocoimg_ctx *ctx;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	static const char *const bad[] = { "[]", "{\"a/b/c\": 1}", "{\"a/b/c\": \"!!notb64\"}",
	                                   "{\"a/b/c\": \"YQ==\", \"a/b/c\": \"YQ==\"}", "{" };
	static const char *const msg[] = { "expected a JSON object", "not a string", "not base64",
	                                   "invalid JSON", "invalid JSON" };
	for (size_t i = 0; i < COCO_ARRAY_SIZE(bad); i++) {
		assert_int_equal(coco_resfile_parse(ctx, (const unsigned char *)bad[i], strlen(bad[i]),
		                                    "r.json", &f), COCOIMG_ECONFIG);
		assert_non_null(strstr(cocoimg_ctx_last_error(ctx), msg[i]));
		assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "r.json"));
		assert_null(strstr(cocoimg_ctx_last_error(ctx), "notb64"));
	}
	cocoimg_ctx_free(ctx);
}

typedef struct cbstate {
	int calls;
	int refuse;
} cbstate;

static int cb(const char *uri, cocoimg_resource *res, void *payload)
{
	cbstate *st = payload;
	st->calls++;
	if (st->refuse == 2)
		return COCOIMG_ECANCELLED;
	if (st->refuse || strcmp(uri, "kbs:///default/cred/c")) {
		cocoimg_resource_set_message(res, "not released\nto you");
		return 1;
	}
	return cocoimg_resource_set_data(res, "{\"auths\":{}}", 12);
}

static void test_chain(void **state)
{
	(void)state;
	char *rf = test_tmp_file("res.json", RES_JSON, strlen(RES_JSON));
	cocoimg_ctx *ctx;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	coco_buf b = COCO_BUF_INIT;
	/* nothing configured */
	assert_false(coco_broker_configured(ctx));
	assert_int_equal(coco_broker_get(ctx, "kbs:///default/policy/p", 0, "policy",
	                                 COCOIMG_EPOLICY, &b), COCOIMG_EPOLICY);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "no source of resources"));

	assert_int_equal(cocoimg_ctx_set(ctx, "resources", rf), 0);
	cbstate st = { 0, 0 };
	assert_int_equal(cocoimg_ctx_set_resource_cb(ctx, cb, &st), 0);
	assert_true(coco_broker_configured(ctx));
	/* the file first (the callback is not asked), any URI form */
	assert_int_equal(coco_broker_get(ctx, "kbs://kbs:8080/default/policy/p", 0, "policy",
	                                 COCOIMG_EPOLICY, &b), 0);
	assert_memory_equal(b.data, "hello", 5);
	assert_int_equal(st.calls, 0);
	b.len = 0;
	/* then the callback, once per URI */
	for (int i = 0; i < 3; i++) {
		b.len = 0;
		assert_int_equal(coco_broker_get(ctx, "kbs:///default/cred/c", 0, "auth file",
		                                 COCOIMG_EAUTH, &b), 0);
		assert_int_equal(b.len, 12);
	}
	assert_int_equal(st.calls, 1);
	/* unknown everywhere: the message names the URI and each source */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(coco_broker_get(ctx, "kbs:///default/key/none", 0, "key",
		                                 COCOIMG_ENOKEY, &b), COCOIMG_ENOKEY);
		const char *m = cocoimg_ctx_last_error(ctx);
		assert_non_null(strstr(m, "key kbs:///default/key/none: not found or not released"));
		assert_non_null(strstr(m, "resources file"));
		assert_non_null(strstr(m, "no entry \"default/key/none\""));
		assert_non_null(strstr(m, "resource callback: not released?to you"));
	}
	assert_int_equal(st.calls, 2);
	/* malformed and plugin URIs */
	assert_int_equal(coco_broker_get(ctx, "kbs+pkcs11:///a/b/c", 0, "policy", COCOIMG_EPOLICY,
	                                 &b), COCOIMG_EINVAL);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "policy: resource URI"));
	/* cancel */
	st.refuse = 2;
	assert_int_equal(coco_broker_get(ctx, "kbs:///x/y/z", 0, "policy", COCOIMG_EPOLICY, &b),
	                 COCOIMG_ECANCELLED);
	coco_buf_wipe_free(&b);
	cocoimg_ctx_free(ctx);
	free(rf);
}

static void test_bad_resfile_reported(void **state)
{
	(void)state;
	const char *bad = "{\"a/b/c\": 7}";
	char *rf = test_tmp_file("bad.json", bad, strlen(bad));
	cocoimg_ctx *ctx;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	assert_int_equal(cocoimg_ctx_set(ctx, "resources", rf), 0);
	coco_buf b = COCO_BUF_INIT;
	assert_int_equal(coco_broker_get(ctx, "kbs:///a/b/c", 0, "policy", COCOIMG_EPOLICY, &b),
	                 COCOIMG_EPOLICY);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "not a string"));
	/* a missing file */
	assert_int_equal(cocoimg_ctx_set(ctx, "resources", "/nonexistent/r.json"), 0);
	assert_int_equal(coco_broker_get(ctx, "kbs:///a/b/c", 0, "policy", COCOIMG_EPOLICY, &b),
	                 COCOIMG_EPOLICY);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "/nonexistent/r.json"));
	cocoimg_ctx_free(ctx);
	free(rf);
}

static int try_kek(void *arg, const unsigned char *kek, size_t len, coco_buf *opts)
{
	(void)arg;
	if (len == 3 && !memcmp(kek, "key", 3))
		return coco_buf_append(opts, "OPTS", 4) ? -2 : 0;
	return 1;
}

static void test_packet_and_memo(void **state)
{
	(void)state;
	char *rf = test_tmp_file("res2.json", RES_JSON, strlen(RES_JSON));
	cocoimg_ctx *ctx;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	assert_int_equal(cocoimg_ctx_set(ctx, "resources", rf), 0);
	const char *pk = "{\"kid\":\"default/key/k1\"}";
	coco_buf opts = COCO_BUF_INIT, tried = COCO_BUF_INIT;
	assert_int_equal(coco_broker_open_packet(ctx, "/default/key/k1", (const unsigned char *)pk,
	                                         strlen(pk), try_kek, NULL, &opts, &tried), 0);
	assert_int_equal(opts.len, 4);
	assert_int_equal(coco_broker_open_packet(ctx, "default/key/k2", (const unsigned char *)pk,
	                                         strlen(pk), try_kek, NULL, &opts, &tried),
	                 COCOIMG_ENOKEY);
	assert_non_null(strstr(coco_buf_cstr(&tried), "no entry \"default/key/k2\""));
	/* a kid that is no resource URI: no source has it */
	assert_int_equal(coco_broker_open_packet(ctx, "84688df7", (const unsigned char *)pk,
	                                         strlen(pk), try_kek, NULL, &opts, &tried),
	                 COCOIMG_ENOKEY);
	coco_buf_wipe_free(&opts);
	coco_buf_free(&tried);

	coco_buf b = COCO_BUF_INIT;
	int rc = 0;
	const char *why = NULL;
	assert_int_equal(coco_broker_memo_lookup(ctx, "k", &b, &rc, &why), 0);
	assert_int_equal(coco_broker_memo_store(ctx, "k", (const unsigned char *)"abc", 3, 0, NULL), 0);
	assert_int_equal(coco_broker_memo_store(ctx, "n", NULL, 0, COCOIMG_ENOKEY, "no"), 0);
	assert_int_equal(coco_broker_memo_lookup(ctx, "k", &b, &rc, &why), 1);
	assert_int_equal(rc, 0);
	assert_int_equal(b.len, 3);
	assert_int_equal(coco_broker_memo_lookup(ctx, "n", &b, &rc, &why), 1);
	assert_int_equal(rc, COCOIMG_ENOKEY);
	assert_string_equal(why, "no");
	coco_buf_wipe_free(&b);
	cocoimg_ctx_free(ctx);
	free(rf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resfile),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_bad_resfile_reported),
		cmocka_unit_test(test_packet_and_memo),
	};
	return cmocka_run_group_tests(tests, test_tmpdir_setup, test_tmpdir_teardown);
}
