/* caps.c: size and duration parsing, limit keys, defaults. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "caps.h"

#include <string.h>

static void test_sizes(void **state)
{
	uint64_t v;
	assert_int_equal(coco_parse_size("1048576", &v), 0);
	assert_true(v == 1048576);
	assert_int_equal(coco_parse_size("512K", &v), 0);
	assert_true(v == 512 * 1024);
	assert_int_equal(coco_parse_size("4MiB", &v), 0);
	assert_true(v == 4u << 20);
	assert_int_equal(coco_parse_size("2g", &v), 0);
	assert_true(v == 2ull << 30);
	assert_int_equal(coco_parse_size("1T", &v), 0);
	assert_true(v == 1ull << 40);
	assert_int_equal(coco_parse_size("", &v), -1);
	assert_int_equal(coco_parse_size("-1", &v), -1);
	assert_int_equal(coco_parse_size("12parsecs", &v), -1);
	assert_int_equal(coco_parse_size("99999999999999999999", &v), -1);
	assert_int_equal(coco_parse_size("99999999999T", &v), -1);
}

static void test_durations(void **state)
{
	uint64_t v;
	assert_int_equal(coco_parse_duration("90", &v), 0);
	assert_true(v == 90000);
	assert_int_equal(coco_parse_duration("500ms", &v), 0);
	assert_true(v == 500);
	assert_int_equal(coco_parse_duration("5m", &v), 0);
	assert_true(v == 300000);
	assert_int_equal(coco_parse_duration("1h30m", &v), 0);
	assert_true(v == 5400000);
	assert_int_equal(coco_parse_duration("2m3s", &v), 0);
	assert_true(v == 123000);
	assert_int_equal(coco_parse_duration("1.5s", &v), -1);
	assert_int_equal(coco_parse_duration("5parsecs", &v), -1);
	assert_int_equal(coco_parse_duration("s", &v), -1);
	assert_int_equal(coco_parse_duration("3mss", &v), -1);
}

static void test_keys(void **state)
{
	cocoimg_ctx *ctx;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	/* documented defaults */
	assert_true(coco_limit(ctx, COCO_LIM_COMMAND_TIMEOUT) == 0);
	assert_true(coco_limit(ctx, COCO_LIM_METADATA_TIMEOUT) == 60000);
	assert_true(coco_limit(ctx, COCO_LIM_MIN_RATE) == 1024);
	assert_true(coco_limit(ctx, COCO_LIM_LAYER_SIZE) == 32ull << 30);
	assert_true(coco_limit(ctx, COCO_LIM_IMAGE_SIZE) == 64ull << 30);
	assert_true(coco_limit(ctx, COCO_LIM_ENTRIES) == 4000000);
	assert_true(coco_limit(ctx, COCO_LIM_LAYERS) == 1000);
	assert_int_equal(cocoimg_ctx_set(ctx, "max-layer-size", "8M"), 0);
	assert_true(coco_limit(ctx, COCO_LIM_LAYER_SIZE) == 8u << 20);
	assert_int_equal(cocoimg_ctx_set(ctx, "command-timeout", "2m"), 0);
	assert_true(coco_limit(ctx, COCO_LIM_COMMAND_TIMEOUT) == 120000);
	assert_int_equal(cocoimg_ctx_set(ctx, "max-layers", "0"), COCOIMG_EINVAL);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "max-layers"));
	assert_int_equal(cocoimg_ctx_set(ctx, "max-entries", "12k"), COCOIMG_EINVAL);
	assert_int_equal(cocoimg_ctx_set(ctx, "metadata-timeout", "fast"), COCOIMG_EINVAL);
	/* the caps on what is held in memory and the error body */
	assert_true(coco_limit(ctx, COCO_LIM_MANIFEST_SIZE) == 4u << 20);
	assert_true(coco_limit(ctx, COCO_LIM_CONFIG_SIZE) == 4u << 20);
	assert_true(coco_limit(ctx, COCO_LIM_SIGNATURE_SIZE) == 4u << 20);
	assert_true(coco_limit(ctx, COCO_LIM_TOKEN_SIZE) == 1u << 20);
	assert_true(coco_limit(ctx, COCO_LIM_ERROR_BODY) == 64u << 10);
	assert_true(coco_limit(ctx, COCO_LIM_SPOOL_SIZE) == 1ull << 30);
	assert_int_equal(cocoimg_ctx_set(ctx, "max-spool-size", "0"), 0);
	assert_true(coco_limit(ctx, COCO_LIM_SPOOL_SIZE) == 0);
	assert_int_equal(cocoimg_ctx_set(ctx, "max-spool-size", "-1"), COCOIMG_EINVAL);
	assert_int_equal(cocoimg_ctx_set(ctx, "max-manifest-size", "64K"), 0);
	assert_true(coco_limit_size(ctx, COCO_LIM_MANIFEST_SIZE) == 64u << 10);
	assert_string_equal(cocoimg_ctx_get(ctx, "max-manifest-size"), "64K");
	/* held in memory: at most 1G; an error body at most 16M */
	assert_int_equal(cocoimg_ctx_set(ctx, "max-config-size", "2G"), COCOIMG_EINVAL);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "max-config-size takes a size"));
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "from 1 to 1G"));
	assert_int_equal(cocoimg_ctx_set(ctx, "max-error-body", "17M"), COCOIMG_EINVAL);
	assert_int_equal(cocoimg_ctx_set(ctx, "max-token-size", "0"), COCOIMG_EINVAL);
	assert_int_equal(cocoimg_ctx_set(ctx, "max-signature-size", "lots"), COCOIMG_EINVAL);
	assert_true(coco_limit(ctx, COCO_LIM_CONFIG_SIZE) == 4u << 20);
	/* caps are for the whole operation, never per side */
	assert_int_equal(cocoimg_ctx_set(ctx, "src.max-manifest-size", "1K"), COCOIMG_EINVAL);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "without a src. or dest. prefix"));
	/* the refusal names the cap and the key */
	assert_int_equal(coco_limit_refuse(ctx, COCOIMG_EBADIMAGE, COCO_LIM_MANIFEST_SIZE, 70000,
	                                   "manifest %s", "x"), COCOIMG_EBADIMAGE);
	assert_string_equal(cocoimg_ctx_last_error(ctx),
	                    "manifest x: 70000 bytes, over the 65536-byte cap (max-manifest-size)");
	coco_limit_refuse(ctx, COCOIMG_EBADIMAGE, COCO_LIM_TOKEN_SIZE, UINT64_MAX, "token");
	assert_string_equal(cocoimg_ctx_last_error(ctx),
	                    "token: larger than the 1048576-byte cap (max-token-size)");
	/* NULL restores the default */
	assert_int_equal(cocoimg_ctx_set(ctx, "max-layer-size", NULL), 0);
	assert_true(coco_limit(ctx, COCO_LIM_LAYER_SIZE) == 32ull << 30);
	cocoimg_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
