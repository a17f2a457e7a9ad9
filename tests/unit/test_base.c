/* Unit tests for the base layer: errors, context options, buffers, base64,
 * digests, stages and the ring. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base.h"
#include "digest.h"
#include "stream.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void test_exit_codes(void **state)
{
	(void)state;
	assert_int_equal(cocoimg_error_exit_code(COCOIMG_OK), 0);
	assert_int_equal(cocoimg_error_exit_code(COCOIMG_EINVAL), 2);
	assert_int_equal(cocoimg_error_exit_code(COCOIMG_EDIGEST), 1);
	assert_int_equal(cocoimg_error_exit_code(COCOIMG_EPOLICY), 3);
	assert_int_equal(cocoimg_error_exit_code(COCOIMG_ENOKEY), 4);
	assert_int_equal(cocoimg_error_exit_code(COCOIMG_EEXIST), 2);
	assert_int_equal(cocoimg_error_exit_code(COCOIMG_ECONFIG), 2);
}

static void test_ctx_options(void **state)
{
	(void)state;
	cocoimg_ctx *ctx;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	assert_int_equal(cocoimg_ctx_set(ctx, "creds", "a:b"), 0);
	assert_int_equal(cocoimg_ctx_set(ctx, "dest.creds", "c:d"), 0);
	assert_string_equal(coco_opt(ctx, "src", "creds"), "a:b");
	assert_string_equal(coco_opt(ctx, "dest", "creds"), "c:d");
	assert_int_equal(cocoimg_ctx_set(ctx, "bogus", "x"), COCOIMG_EINVAL);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "bogus"));
	assert_int_equal(cocoimg_ctx_set(ctx, "tls-verify", "maybe"), COCOIMG_EINVAL);
	assert_int_equal(cocoimg_ctx_set(ctx, "src.tls-verify", "false"), 0);
	assert_false(coco_opt_bool(ctx, "src", "tls-verify", true));
	assert_true(coco_opt_bool(ctx, "dest", "tls-verify", true));
	assert_int_equal(cocoimg_ctx_set(ctx, "platform", "linux"), COCOIMG_EINVAL);
	assert_int_equal(cocoimg_ctx_set(ctx, "platform", "linux/arm64/v8"), 0);
	assert_int_equal(cocoimg_ctx_set(ctx, "registries.d", "/tmp"), 0);
	assert_int_equal(cocoimg_ctx_set(ctx, "retry-times", "-1"), COCOIMG_EINVAL);
	cocoimg_ctx_free(ctx);
	cocoimg_ctx_free(NULL);
}

static void test_errors_prefix(void **state)
{
	(void)state;
	cocoimg_ctx *ctx;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	assert_int_equal(coco_seterr(ctx, COCOIMG_EIO, "inner %d", 1), COCOIMG_EIO);
	coco_preferr(ctx, COCOIMG_EIO, "outer");
	assert_string_equal(cocoimg_ctx_last_error(ctx), "outer: inner 1");
	coco_seterr(ctx, COCOIMG_ECANCELLED, "cancelled");
	assert_int_equal(cocoimg_ctx_last_error_code(ctx), COCOIMG_EIO);
	coco_seterr(ctx, COCOIMG_EBADIMAGE, "tag \"%s\"", "a\x1b[2Jb\nc");
	assert_string_equal(cocoimg_ctx_last_error(ctx), "tag \"a?[2Jb?c\"");
	cocoimg_ctx_free(ctx);
}

static void test_base64(void **state)
{
	(void)state;
	coco_buf b = COCO_BUF_INIT;
	char *e = coco_b64_encode((const unsigned char *)"hello!?", 7);
	assert_string_equal(e, "aGVsbG8hPw==");
	assert_int_equal(coco_b64_decode(e, strlen(e), &b), 0);
	assert_int_equal(b.len, 7);
	assert_memory_equal(b.data, "hello!?", 7);
	free(e);
	b.len = 0;
	assert_int_equal(coco_b64_decode("aGVsbG8hPw", 10, &b), 0); /* unpadded */
	assert_int_equal(b.len, 7);
	b.len = 0;
	assert_int_equal(coco_b64_decode("a*==", 4, &b), COCOIMG_EINVAL);
	assert_null(b.data); /* a failure leaves nothing to free */
	assert_int_equal(coco_b64_decode("a", 1, &b), COCOIMG_EINVAL);
	assert_null(b.data);
	/* the bad character comes after bytes were decoded: none is kept */
	assert_int_equal(coco_b64url_decode("c2VjcmV0*A", 10, &b), COCOIMG_EINVAL);
	assert_true(b.data == NULL && b.len == 0 && b.cap == 0);
	e = coco_b64url_encode((const unsigned char *)"\xfb\xff", 2);
	assert_string_equal(e, "-_8");
	b.len = 0;
	assert_int_equal(coco_b64url_decode(e, strlen(e), &b), 0);
	assert_memory_equal(b.data, "\xfb\xff", 2);
	free(e);
	coco_buf_free(&b);
}

static void test_hex(void **state)
{
	(void)state;
	unsigned char in[] = { 0x00, 0x9f, 0xa0, 0xff }, out[4];
	char hex[9];
	coco_hex_encode(in, sizeof(in), hex);
	assert_string_equal(hex, "009fa0ff");
	assert_int_equal(coco_hex_decode(hex, 8, out), 0);
	assert_memory_equal(out, in, sizeof(in));
	assert_int_equal(coco_hex_decode("009FA0Ff", 8, out), 0); /* either case */
	assert_memory_equal(out, in, sizeof(in));
	assert_int_equal(coco_hex_decode("0g", 2, out), COCOIMG_EINVAL);
	assert_int_equal(coco_hex_decode("abc", 3, out), COCOIMG_EINVAL);
	assert_int_equal(coco_hex_decode("", 0, out), 0);
}

static void test_digest(void **state)
{
	(void)state;
	char d[COCO_DIGEST_STRLEN];
	assert_int_equal(coco_digest_bytes(COCO_SHA256, "abc", 3, d), 0);
	assert_string_equal(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(coco_digest_validate(d, NULL), 0);
	assert_int_equal(coco_digest_validate("sha256:BA7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", NULL), COCOIMG_EINVAL);
	assert_int_equal(coco_digest_validate("sha256:abc", NULL), COCOIMG_EINVAL);
	assert_int_equal(coco_digest_validate("md5:abc", NULL), COCOIMG_EINVAL);
	assert_int_equal(coco_digest_bytes(COCO_SHA512, "abc", 3, d), 0);
	assert_int_equal(coco_digest_validate(d, NULL), 0);
}

static void test_verify_stage(void **state)
{
	(void)state;
	cocoimg_ctx *ctx;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	coco_buf out = COCO_BUF_INIT;
	coco_stage *sink, *v;
	assert_int_equal(coco_buf_stage_new(ctx, &out, 100, COCOIMG_EBADIMAGE, &sink), 0);
	assert_int_equal(coco_verify_stage_new(ctx,
		"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 3,
		"blob x", sink, &v), 0);
	assert_int_equal(coco_stage_pump_mem(v, "abc", 3), 0);
	assert_int_equal(out.len, 3);
	coco_stage_chain_free(v);
	/* wrong content */
	assert_int_equal(coco_verify_stage_new(ctx,
		"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 3,
		"blob y", NULL, &v), 0);
	assert_int_equal(coco_stage_pump_mem(v, "abd", 3), COCOIMG_EDIGEST);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "blob y"));
	coco_stage_chain_free(v);
	/* too long */
	assert_int_equal(coco_verify_stage_new(ctx, NULL, 2, "blob z", NULL, &v), 0);
	assert_int_equal(coco_stage_pump_mem(v, "abc", 3), COCOIMG_EDIGEST);
	coco_stage_chain_free(v);
	coco_buf_free(&out);
	cocoimg_ctx_free(ctx);
}

typedef struct {
	coco_ring *r;
	size_t total;
} producer_arg;

static void *producer(void *p)
{
	producer_arg *a = p;
	unsigned char chunk[777];
	size_t sent = 0;
	while (sent < a->total) {
		size_t n = a->total - sent < sizeof(chunk) ? a->total - sent : sizeof(chunk);
		for (size_t i = 0; i < n; i++)
			chunk[i] = (unsigned char)((sent + i) % 251);
		if (coco_stage_write(coco_ring_stage(a->r), chunk, n))
			return NULL;
		sent += n;
	}
	coco_stage_finish(coco_ring_stage(a->r));
	return NULL;
}

static void test_ring(void **state)
{
	(void)state;
	cocoimg_ctx *ctx;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	coco_ring *r;
	assert_int_equal(coco_ring_new(ctx, 3, 1000, &r), 0);
	producer_arg a = { r, 123457 };
	pthread_t th;
	pthread_create(&th, NULL, producer, &a);
	size_t got = 0;
	unsigned char buf[333];
	for (;;) {
		ssize_t n = coco_ring_read(r, buf, sizeof(buf));
		assert_true(n >= 0);
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			assert_int_equal(buf[i], (got + (size_t)i) % 251);
		got += (size_t)n;
	}
	pthread_join(th, NULL);
	assert_int_equal(got, a.total);
	coco_ring_free(r);
	/* abort from the consumer unblocks the producer */
	assert_int_equal(coco_ring_new(ctx, 2, 100, &r), 0);
	a.r = r;
	a.total = 100000;
	pthread_create(&th, NULL, producer, &a);
	assert_true(coco_ring_read(r, buf, 10) == 10);
	coco_ring_abort(r, COCOIMG_EDIGEST);
	pthread_join(th, NULL);
	assert_int_equal(coco_ring_read(r, buf, 10), COCOIMG_EDIGEST);
	coco_ring_free(r);
	cocoimg_ctx_free(ctx);
}

/* exact reservations leave no unused tail; prefaulting keeps contents
 * and is harmless on small, odd or NULL ranges */
static void test_buf_exact_prefault(void **state)
{
	(void)state;
	coco_buf b = COCO_BUF_INIT;
	assert_int_equal(coco_buf_reserve_exact(&b, 787003), 0);
	assert_int_equal(b.cap, 787004);
	assert_int_equal(coco_buf_reserve_exact(&b, 10), 0);
	assert_int_equal(b.cap, 787004);
	for (size_t i = 0; i < 787003; i++)
		b.data[i] = (unsigned char)(i * 7);
	coco_prefault(b.data, b.cap);
	coco_prefault(b.data + 1, 100);
	coco_prefault(NULL, 1 << 20);
	for (size_t i = 0; i < 787003; i++)
		assert_int_equal(b.data[i], (unsigned char)(i * 7));
	assert_int_equal(coco_buf_reserve_exact(&b, SIZE_MAX), COCOIMG_ENOMEM);
	assert_int_equal(coco_buf_reserve(&b, SIZE_MAX - 2), COCOIMG_ENOMEM);
	coco_buf_wipe_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_ctx_options),
		cmocka_unit_test(test_errors_prefix),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_verify_stage),
		cmocka_unit_test(test_ring),
		cmocka_unit_test(test_buf_exact_prefault),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
