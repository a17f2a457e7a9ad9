/* sha2x: HMAC-SHA256 and SHA-256 of the same bytes in one pass, against
 * published answers and against OpenSSL, with the SHA extensions (when
 * this CPU has them) and with the portable C. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base.h"
#include "sha2x.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

static void hex_is(const unsigned char *b, const char *want)
{
	char hex[65];
	coco_hex_encode(b, 32, hex);
	assert_string_equal(hex, want);
}

static void openssl_both(const unsigned char *key, size_t keylen, const unsigned char *m,
                         size_t n, unsigned char hmac[32], unsigned char digest[32])
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *c = EVP_MAC_CTX_new(mac);
	char md[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, md, 0),
		OSSL_PARAM_construct_end(),
	};
	size_t outl = 0;
	assert_true(EVP_MAC_init(c, key, keylen, params));
	assert_true(EVP_MAC_update(c, m, n));
	assert_true(EVP_MAC_final(c, hmac, &outl, 32));
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(mac);
	unsigned int dl = 0;
	assert_true(EVP_Digest(m, n, digest, &dl, EVP_sha256(), NULL));
}

/* FIPS 180-4's "abc" example and RFC 4231 test case 2 (a short key). */
static void known_answers(void)
{
	unsigned char h[32], d[32];
	coco_sha2x x;
	assert_int_equal(coco_sha2x_init(&x, (const unsigned char *)"Jefe", 4), 0);
	coco_sha2x_update(&x, (const unsigned char *)"what do ya want ", 16);
	coco_sha2x_update(&x, (const unsigned char *)"for nothing?", 12);
	assert_int_equal(coco_sha2x_final(&x, h, d), 0);
	hex_is(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	assert_int_equal(coco_sha2x_init(&x, (const unsigned char *)"k", 1), 0);
	coco_sha2x_update(&x, (const unsigned char *)"abc", 3);
	assert_int_equal(coco_sha2x_final(&x, h, d), 0);
	hex_is(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* Every length up to 300 (all tail and two-block padding cases), then
 * longer random ones, fed in random pieces. */
static void against_openssl(void)
{
	enum { MAX = 200000 };
	unsigned char *m = malloc(MAX);
	assert_non_null(m);
	assert_int_equal(RAND_bytes(m, MAX), 1);
	for (int it = 0; it < 400; it++) {
		size_t n = it < 300 ? (size_t)it : (size_t)(m[it] | m[it + 1] << 8 | m[it + 2] << 16) % MAX;
		/* key lengths around the 64-byte block: longer ones are hashed */
		unsigned char key[131], h[32], d[32], h2[32], d2[32];
		size_t keylen = (size_t[]){ 32, 1, 64, 65, 131 }[it % 5];
		assert_int_equal(RAND_bytes(key, sizeof(key)), 1);
		coco_sha2x x;
		assert_int_equal(coco_sha2x_init(&x, key, keylen), 0);
		for (size_t off = 0, step = 1; off < n; off += step) {
			step = 1 + (size_t)(m[(off + (size_t)it) % MAX] * (it % 2 ? 7 : 311));
			if (step > n - off)
				step = n - off;
			coco_sha2x_update(&x, m + off, step);
		}
		assert_int_equal(coco_sha2x_final(&x, h, d), 0);
		openssl_both(key, keylen, m, n, h2, d2);
		assert_memory_equal(h, h2, 32);
		assert_memory_equal(d, d2, 32);
	}
	free(m);
}

static void test_fast(void **st)
{
	(void)st;
	if (!coco_sha2x_available())
		skip();
	coco_sha2x_test_portable(false);
	known_answers();
	against_openssl();
}

static void test_portable(void **st)
{
	(void)st;
	coco_sha2x_test_portable(true);
	known_answers();
	against_openssl();
	coco_sha2x_test_portable(false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fast),
		cmocka_unit_test(test_portable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
