/* Unit tests of the OpenPGP reader (trust/openpgp.c) and the simple
 * signing payload (trust/simplesign.c) with the containers/image
 * fixtures. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base.h"
#include "digest.h"
#include "trust/policy.h"

#include <stdlib.h>
#include <string.h>

/* fixtures copied from containers/image (see its PROVENANCE.md); tests run in the source root */
#define FIX "tests/data/containers-image-signature/"
/* a time after every fixture was made, before the expired one's expiry
 * would matter either way */
#define NOW ((int64_t)1760000000)

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

static void rd(const char *rel, coco_buf *out)
{
	char *p = coco_asprintf(FIX "%s", rel);
	out->len = 0;
	assert_int_equal(coco_read_file(ctx, p, 1 << 22, out, COCOIMG_ENOTFOUND), 0);
	free(p);
}

static coco_pgp_keyring *ring(const char *rel)
{
	coco_buf b = COCO_BUF_INIT;
	rd(rel, &b);
	coco_pgp_keyring *kr = coco_pgp_keyring_new();
	assert_non_null(kr);
	assert_true(coco_pgp_keyring_add(ctx, kr, b.data, b.len, rel) >= 0);
	coco_buf_free(&b);
	return kr;
}

/* Verify rel with keyring; returns rc, the content and signer. */
static int verify(coco_pgp_keyring *kr, const char *rel, coco_buf *content, char signer[41])
{
	coco_buf b = COCO_BUF_INIT;
	rd(rel, &b);
	int rc = coco_pgp_verify_message(ctx, kr, b.data, b.len, NOW, content, signer);
	coco_buf_free(&b);
	return rc;
}

static void expect_fail(coco_pgp_keyring *kr, const char *rel, const char *needle)
{
	coco_buf c = COCO_BUF_INIT;
	char s[41];
	int rc = verify(kr, rel, &c, s);
	if (rc != COCOIMG_EPOLICY || !strstr(cocoimg_ctx_last_error(ctx), needle))
		fail_msg("%s: rc %d, message \"%s\", wanted \"%s\"", rel, rc,
		         cocoimg_ctx_last_error(ctx), needle);
	coco_buf_free(&c);
}

static void test_keyrings(void **state)
{
	(void)state;
	char f[41];
	coco_pgp_keyring *kr = ring("public-key.gpg");   /* ASCII armor */
	assert_int_equal(coco_pgp_keyring_count(kr), 1);
	coco_pgp_keyring_fpr(kr, 0, f);
	assert_string_equal(f, "08CD26E446E2E95249B7A405E932F44B23E8DD43");
	coco_pgp_keyring_free(kr);

	kr = ring("public-key-1.gpg");                     /* binary */
	assert_int_equal(coco_pgp_keyring_count(kr), 1);
	coco_pgp_keyring_free(kr);

	kr = ring("pubring.gpg");                          /* several keys */
	assert_true(coco_pgp_keyring_count(kr) >= 2);
	coco_pgp_keyring_free(kr);

	kr = ring("public-key-with-subkey.gpg");
	assert_int_equal(coco_pgp_keyring_count(kr), 1);
	coco_pgp_keyring_fpr(kr, 0, f);
	assert_string_equal(f, "B9F4CDB9FD8C475BFA340AC38D54A947EE396F36");
	coco_pgp_keyring_free(kr);

	/* not a keyring at all */
	kr = coco_pgp_keyring_new();
	assert_int_equal(coco_pgp_keyring_add(ctx, kr, (const unsigned char *)"nonsense", 8, "x"),
	                 COCOIMG_EINVAL);
	assert_int_equal(coco_pgp_keyring_count(kr), 0);
	coco_pgp_keyring_free(kr);
}

static void test_valid(void **state)
{
	(void)state;
	coco_pgp_keyring *kr = ring("public-key.gpg");
	coco_buf c = COCO_BUF_INIT;
	char s[41];
	assert_int_equal(verify(kr, "image.signature", &c, s), 0);
	assert_string_equal(s, "08CD26E446E2E95249B7A405E932F44B23E8DD43");
	char *d = NULL, *r = NULL;
	assert_int_equal(coco_simple_payload_parse(ctx, c.data, c.len, false, &d, &r), 0);
	assert_string_equal(d, "sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55");
	assert_string_equal(r, "testing/manifest");
	free(d);
	free(r);
	coco_buf_free(&c);

	/* no optional fields: still a valid payload */
	assert_int_equal(verify(kr, "no-optional-fields.signature", &c, s), 0);
	assert_int_equal(coco_simple_payload_parse(ctx, c.data, c.len, false, &d, &r), 0);
	free(d);
	free(r);
	coco_buf_free(&c);

	/* a valid signature over something that is not JSON */
	assert_int_equal(verify(kr, "invalid-blob.signature", &c, s), 0);
	assert_int_equal(coco_simple_payload_parse(ctx, c.data, c.len, false, &d, &r),
	                 COCOIMG_EPOLICY);
	coco_buf_free(&c);
	coco_pgp_keyring_free(kr);
}

static void test_failures(void **state)
{
	(void)state;
	coco_pgp_keyring *kr = ring("public-key.gpg");
	expect_fail(kr, "corrupt.signature", "cryptographic verification failed");
	expect_fail(kr, "corrupt.signature-v3", "cryptographic verification failed");
	expect_fail(kr, "expired.signature", "expired");
	expect_fail(kr, "unknown-key.signature", "not a trusted key");
	expect_fail(kr, "unknown-key.signature-v3", "not a trusted key");
	expect_fail(kr, "unsigned-encrypted.signature", "encrypted");
	expect_fail(kr, "unsigned-literal.signature", "signature count 0");
	/* by a subkey of another key */
	expect_fail(kr, "subkey.signature", "not a trusted key");
	coco_pgp_keyring_free(kr);

	/* garbage and truncation never crash */
	kr = ring("public-key.gpg");
	coco_buf b = COCO_BUF_INIT, c = COCO_BUF_INIT;
	char s[41];
	rd("image.signature", &b);
	for (size_t cut = 0; cut < b.len; cut += 7)
		assert_int_not_equal(coco_pgp_verify_message(ctx, kr, b.data, cut, NOW, &c, s), 0);
	coco_buf_free(&b);
	coco_pgp_keyring_free(kr);
}

static void test_subkeys(void **state)
{
	(void)state;
	/* Current containers/image accepts a signing subkey and reports the
	 * primary key (Debian's skopeo 1.9.3 rejects it: upstream wins). */
	coco_pgp_keyring *kr = ring("public-key-with-subkey.gpg");
	coco_buf c = COCO_BUF_INIT;
	char s[41];
	assert_int_equal(verify(kr, "subkey.signature", &c, s), 0);
	assert_string_equal(s, "B9F4CDB9FD8C475BFA340AC38D54A947EE396F36");
	coco_buf_free(&c);
	assert_int_equal(verify(kr, "subkey.signature-v3", &c, s), 0);
	coco_buf_free(&c);
	coco_pgp_keyring_free(kr);

	kr = ring("public-key-with-revoked-subkey.gpg");
	expect_fail(kr, "subkey-revoked.signature", "revoked");
	expect_fail(kr, "subkey-revoked.signature-v3", "revoked");
	coco_pgp_keyring_free(kr);
}

/* Fixtures of this directory (tests/unit/trust/data, see its README). */
#define DATA "tests/unit/trust/data/"

static void add_data(coco_pgp_keyring *kr, const char *rel)
{
	coco_buf b = COCO_BUF_INIT;
	char *p = coco_asprintf(DATA "%s", rel);
	assert_int_equal(coco_read_file(ctx, p, 1 << 22, &b, COCOIMG_ENOTFOUND), 0);
	assert_true(coco_pgp_keyring_add(ctx, kr, b.data, b.len, rel) >= 0);
	free(p);
	coco_buf_free(&b);
}

static int verify_data(coco_pgp_keyring *kr, const char *rel, int64_t now)
{
	coco_buf b = COCO_BUF_INIT, c = COCO_BUF_INIT;
	char s[41];
	char *p = coco_asprintf(DATA "%s", rel);
	assert_int_equal(coco_read_file(ctx, p, 1 << 22, &b, COCOIMG_ENOTFOUND), 0);
	int rc = coco_pgp_verify_message(ctx, kr, b.data, b.len, now, &c, s);
	free(p);
	coco_buf_free(&b);
	coco_buf_free(&c);
	return rc;
}

/* Curves beyond NIST P-*: keys and signatures made by gpg 2.2.40
 * (Brainpool P-256/384/512r1, secp256k1) and by openpgp.js 6.3.2 (a v4 key
 * of the RFC 9580 Ed25519 algorithm 27, which gpg 2.2 cannot make); see
 * data/README.  gpg verifies each (except type 27, unknown to 2.2), and
 * refuses the tampered one, as we must. */
#define CURVES_NOW ((int64_t)1800000000) /* 2027-01-15, after they were made */

static void test_curves(void **state)
{
	(void)state;
	static const struct { const char *name, *fpr; } keys[] = {
		{ "brainpoolP256r1", "1E4137B69F9AFABCFFA48E67685FE38DF96990C8" },
		{ "brainpoolP384r1", "404F1254D591843DAD04879FA59D8C86518BA010" },
		{ "brainpoolP512r1", "AB5127CEC83198B912496FEE0D8AC9810CB3A3E8" },
		{ "secp256k1", "11E193A875C6EBFF695124FA0372C87AD0AFEB30" },
		{ "ed25519-27", "2465E2DAF4ABCA69A115562A0672B4730A86170E" },
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char rel[64], fpr[41], signer[41];
		coco_pgp_keyring *kr = coco_pgp_keyring_new();
		assert_non_null(kr);
		snprintf(rel, sizeof(rel), "curve-%s.gpg", keys[i].name);
		add_data(kr, rel);
		assert_int_equal(coco_pgp_keyring_count(kr), 1);
		coco_pgp_keyring_fpr(kr, 0, fpr);
		assert_string_equal(fpr, keys[i].fpr);
		snprintf(rel, sizeof(rel), DATA "curve-%s.signature", keys[i].name);
		coco_buf b = COCO_BUF_INIT, c = COCO_BUF_INIT;
		assert_int_equal(coco_read_file(ctx, rel, 1 << 20, &b, COCOIMG_ENOTFOUND), 0);
		int rc = coco_pgp_verify_message(ctx, kr, b.data, b.len, CURVES_NOW, &c, signer);
		if (rc)
			fail_msg("%s: %s", keys[i].name, cocoimg_ctx_last_error(ctx));
		assert_string_equal(signer, keys[i].fpr);
		assert_non_null(memmem(c.data, c.len, "testing/manifest", 16));
		coco_buf_free(&b);
		coco_buf_free(&c);
		if (!strcmp(keys[i].name, "brainpoolP384r1"))
			assert_int_equal(verify_data(kr, "curve-brainpoolP384r1-tampered.signature",
			                             CURVES_NOW),
			                 COCOIMG_EPOLICY);
		coco_pgp_keyring_free(kr);
	}
}

/* Regression: a keyring holding an old export of a key and then a newer
 * one carrying its revocation used to keep only the first copy, so the
 * revocation was ignored (gpg merges both: REVKEYSIG, rejected). */
static void test_duplicate_key_merged(void **state)
{
	(void)state;
	const int64_t now = 1800000000;
	coco_pgp_keyring *kr = coco_pgp_keyring_new();
	add_data(kr, "dup-old.gpg");
	assert_int_equal(verify_data(kr, "dup.signature", now), 0);
	add_data(kr, "dup-revoked.gpg");
	assert_int_equal(coco_pgp_keyring_count(kr), 1);
	assert_int_equal(verify_data(kr, "dup.signature", now), COCOIMG_EPOLICY);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "revoked"));
	coco_pgp_keyring_free(kr);

	/* the other order, and both copies in one blob */
	kr = coco_pgp_keyring_new();
	add_data(kr, "dup-revoked.gpg");
	add_data(kr, "dup-old.gpg");
	assert_int_equal(coco_pgp_keyring_count(kr), 1);
	assert_int_equal(verify_data(kr, "dup.signature", now), COCOIMG_EPOLICY);
	coco_pgp_keyring_free(kr);

	coco_buf a = COCO_BUF_INIT, b = COCO_BUF_INIT;
	assert_int_equal(coco_read_file(ctx, DATA "dup-old.gpg", 1 << 20, &a, COCOIMG_ENOTFOUND), 0);
	assert_int_equal(coco_read_file(ctx, DATA "dup-revoked.gpg", 1 << 20, &b,
	                                COCOIMG_ENOTFOUND), 0);
	assert_int_equal(coco_buf_append(&a, b.data, b.len), 0);
	kr = coco_pgp_keyring_new();
	assert_int_equal(coco_pgp_keyring_add(ctx, kr, a.data, a.len, "both"), 1);
	assert_int_equal(verify_data(kr, "dup.signature", now), COCOIMG_EPOLICY);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "revoked"));
	coco_pgp_keyring_free(kr);
	coco_buf_free(&a);
	coco_buf_free(&b);

	/* a re-export that adds a signing subkey: the subkey joins the copy
	 * already in the keyring (and the slot reuse leaks nothing) */
	kr = coco_pgp_keyring_new();
	add_data(kr, "order-key.gpg");
	assert_int_equal(verify_data(kr, "order-subkey.signature", now), COCOIMG_EPOLICY);
	add_data(kr, "order-key-with-subkey.gpg");
	assert_int_equal(coco_pgp_keyring_count(kr), 1);
	assert_int_equal(verify_data(kr, "order-subkey.signature", now), 0);
	assert_int_equal(verify_data(kr, "order-ops.signature", now), 0);
	coco_pgp_keyring_free(kr);
}

/* Regression: a key created after "now" (gpg: time conflict, the key is
 * not even imported) was accepted. */
static void test_future_key(void **state)
{
	(void)state;
	coco_pgp_keyring *kr = coco_pgp_keyring_new();
	add_data(kr, "future-key.gpg");
	assert_int_equal(coco_pgp_keyring_count(kr), 1);
	assert_int_equal(verify_data(kr, "future.signature", 1800000000), COCOIMG_EPOLICY);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "created in the future"));
	/* once the time has come, the same signature is fine */
	assert_int_equal(verify_data(kr, "future.signature", 4100000000), 0);
	coco_pgp_keyring_free(kr);
}

/* Regression: literal data followed by a signature packet with no
 * one-pass signature packet was accepted; gpg (so containers/image)
 * refuses it ("can't handle this ambiguous signature data").  The old
 * PGP 2 order (signature, then literal) stays accepted, as in gpg. */
static void test_packet_order(void **state)
{
	(void)state;
	const int64_t now = 1800000000;
	coco_pgp_keyring *kr = coco_pgp_keyring_new();
	add_data(kr, "order-key.gpg");
	assert_int_equal(verify_data(kr, "order-ops.signature", now), 0);
	assert_int_equal(verify_data(kr, "order-sig-first.signature", now), 0);
	assert_int_equal(verify_data(kr, "order-no-ops.signature", now), COCOIMG_EPOLICY);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "without a one-pass signature"));
	coco_pgp_keyring_free(kr);
}

static void payload(const char *json, int want)
{
	char *d = NULL, *r = NULL;
	int rc = coco_simple_payload_parse(ctx, (const unsigned char *)json, strlen(json), false,
	                                   &d, &r);
	if (rc != want)
		fail_msg("%s: rc %d (%s), wanted %d", json, rc, cocoimg_ctx_last_error(ctx), want);
	free(d);
	free(r);
}

#define DG "sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55"
#define CRIT "\"critical\":{\"type\":\"atomic container signature\",\"image\":{\"docker-manifest-digest\":\"" DG "\"},\"identity\":{\"docker-reference\":\"x/y:1\"}}"

static void test_payload_rules(void **state)
{
	(void)state;
	payload("{" CRIT ",\"optional\":{}}", 0);
	payload("{" CRIT ",\"optional\":{\"creator\":\"c\",\"timestamp\":1e3,\"other\":[1]}}", 0);
	payload("{" CRIT ",\"optional\":{\"timestamp\":1.5}}", COCOIMG_EPOLICY);
	payload("{" CRIT ",\"optional\":{\"creator\":5}}", COCOIMG_EPOLICY);
	payload("{" CRIT ",\"optional\":null}", COCOIMG_EPOLICY);
	payload("{" CRIT "}", COCOIMG_EPOLICY);
	payload("{" CRIT ",\"optional\":{},\"extra\":1}", COCOIMG_EPOLICY);
	payload("{" CRIT ",\"optional\":{\"a\":1,\"a\":2}}", COCOIMG_EPOLICY);
	payload("{" CRIT ",\"optional\":{}} ", 0);
	payload("{" CRIT ",\"optional\":{}} x", COCOIMG_EPOLICY);
	payload("{\"critical\":{\"type\":\"cosign container image signature\",\"image\":{"
	        "\"docker-manifest-digest\":\"" DG "\"},\"identity\":{\"docker-reference\":\"x\"}},"
	        "\"optional\":{}}", COCOIMG_EPOLICY);
	payload("{\"critical\":{\"type\":\"atomic container signature\",\"image\":{"
	        "\"docker-manifest-digest\":\"sha256:ABC\"},\"identity\":{\"docker-reference\":\"x\"}},"
	        "\"optional\":{}}", COCOIMG_EPOLICY);
	payload("{\"critical\":{\"type\":\"atomic container signature\",\"image\":{"
	        "\"docker-manifest-digest\":\"" DG "\",\"x\":1},\"identity\":{\"docker-reference\":\"x\"}},"
	        "\"optional\":{}}", COCOIMG_EPOLICY);
	payload("{\"critical\":{\"type\":\"atomic container signature\",\"image\":{"
	        "\"docker-manifest-digest\":\"" DG "\"},\"identity\":{}},\"optional\":{}}",
	        COCOIMG_EPOLICY);
	payload("[]", COCOIMG_EPOLICY);
}

static void test_digest_match(void **state)
{
	(void)state;
	coco_buf m = COCO_BUF_INIT;
	rd("image.manifest.json", &m);
	assert_true(coco_manifest_matches_digest(m.data, m.len, DG));
	/* upper-case hex and other algorithms never match */
	assert_false(coco_manifest_matches_digest(m.data, m.len,
	        "sha256:20BF21ED457B390829CDBEEC8795A7BEA1626991FDA603E0D01B4E7F60427E55"));
	assert_false(coco_manifest_matches_digest(m.data, m.len, "sha512:00"));
	coco_buf_free(&m);
	rd("v2s1-invalid-signatures.manifest.json", &m);
	char d[COCO_DIGEST_STRLEN];
	coco_digest_bytes(COCO_SHA256, m.data, m.len, d);
	assert_false(coco_manifest_matches_digest(m.data, m.len, d));
	coco_buf_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyrings),
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_subkeys),
		cmocka_unit_test(test_duplicate_key_merged),
		cmocka_unit_test(test_future_key),
		cmocka_unit_test(test_packet_order),
		cmocka_unit_test(test_payload_rules),
		cmocka_unit_test(test_digest_match),
		cmocka_unit_test(test_curves),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
