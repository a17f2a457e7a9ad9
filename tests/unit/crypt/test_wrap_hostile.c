/* Unit tests for crypt/jwe.c and crypt/pkcs7.c: regression tests of the
 * security review (IV/tag length enforcement, JWK alg handling,
 * recipient removal). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base.h"
#include "crypt/crypt.h"
#include "json.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

static const char PT[] = "{\"symkey\":\"x\"}";

static char *b64u(const unsigned char *d, size_t n)
{
	char *s = coco_b64url_encode(d, n);
	assert_non_null(s);
	return s;
}

/* A flattened RSA-OAEP + A256GCM JWE built by hand with an IV of ivlen
 * bytes. */
static char *make_rsa_jwe(EVP_PKEY *pk, size_t ivlen)
{
	unsigned char cek[32], iv[32], ct[64], tag[16], ek[512];
	size_t eklen = sizeof(ek);
	assert_int_equal(RAND_bytes(cek, 32), 1);
	assert_int_equal(RAND_bytes(iv, (int)ivlen), 1);
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	assert_true(EVP_PKEY_encrypt_init(pc) > 0);
	assert_true(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING) > 0);
	assert_true(EVP_PKEY_CTX_set_rsa_oaep_md(pc, EVP_sha1()) > 0);
	assert_true(EVP_PKEY_encrypt(pc, ek, &eklen, cek, 32) > 0);
	EVP_PKEY_CTX_free(pc);
	const char *hdr = "{\"alg\":\"RSA-OAEP\",\"enc\":\"A256GCM\"}";
	char *prot = b64u((const unsigned char *)hdr, strlen(hdr));
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l1 = 0, l2 = 0;
	assert_true(EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL));
	assert_true(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, (int)ivlen, NULL));
	assert_true(EVP_EncryptInit_ex(c, NULL, NULL, cek, iv));
	assert_true(EVP_EncryptUpdate(c, NULL, &l1, (unsigned char *)prot, (int)strlen(prot)));
	assert_true(EVP_EncryptUpdate(c, ct, &l1, (const unsigned char *)PT, (int)strlen(PT)));
	assert_true(EVP_EncryptFinal_ex(c, ct + l1, &l2));
	assert_true(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag));
	EVP_CIPHER_CTX_free(c);
	char *a = b64u(ek, eklen), *b = b64u(iv, ivlen), *d = b64u(ct, (size_t)(l1 + l2)),
	     *e = b64u(tag, 16);
	char *out = coco_asprintf("{\"protected\":\"%s\",\"encrypted_key\":\"%s\",\"iv\":\"%s\","
	                          "\"ciphertext\":\"%s\",\"tag\":\"%s\"}", prot, a, b, d, e);
	free(prot);
	free(a);
	free(b);
	free(d);
	free(e);
	return out;
}

static void jwe_gcm_iv_must_be_96_bits(void **state)
{
	(void)state;
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	assert_non_null(pk);
	coco_buf out = COCO_BUF_INIT;
	char *ok = make_rsa_jwe(pk, 12);
	assert_int_equal(coco_jwe_decrypt_one((unsigned char *)ok, strlen(ok), pk, &out), 0);
	assert_int_equal(out.len, strlen(PT));
	assert_memory_equal(out.data, PT, out.len);
	coco_buf_free(&out);
	char *bad = make_rsa_jwe(pk, 16);
	assert_int_equal(coco_jwe_decrypt_one((unsigned char *)bad, strlen(bad), pk, &out),
	                 COCOIMG_ENOKEY);
	assert_int_equal(out.len, 0);
	coco_buf_free(&out);
	free(ok);
	free(bad);
	EVP_PKEY_free(pk);
}

static cocoimg_keyring *ring_with(EVP_PKEY *pub, const char *jwk_alg, X509 *cert)
{
	cocoimg_keyring *kr = NULL;
	assert_int_equal(cocoimg_keyring_new(&kr), 0);
	coco_key k;
	memset(&k, 0, sizeof(k));
	k.kind = cert ? COCO_KEY_CERT : COCO_KEY_PUBLIC;
	k.recipient = true;
	k.label = coco_strdup("test-recipient");
	k.pkey = pub;
	k.cert = cert;
	k.jwk_alg = jwk_alg ? coco_strdup(jwk_alg) : NULL;
	assert_int_equal(coco_keyring_push(NULL, kr, &k), 0);
	return kr;
}

/* A JWK "alg" the wrapper does not implement must not be copied into the
 * header (the JWE would be unreadable by everyone). */
static void jwe_wrap_unknown_jwk_alg(void **state)
{
	(void)state;
	cocoimg_ctx *ctx = NULL;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(pk);
	assert_int_equal(EVP_PKEY_up_ref(pk), 1);
	cocoimg_keyring *kr = ring_with(pk, "ECDH-ES+A512KW", NULL);
	char *value = NULL;
	assert_int_equal(coco_kw_jwe.wrap(ctx, kr, coco_kw_jwe.annotation, (const unsigned char *)PT,
	                                  strlen(PT), &value), 0);
	assert_non_null(value);
	coco_buf raw = COCO_BUF_INIT, hdr = COCO_BUF_INIT, out = COCO_BUF_INIT;
	assert_int_equal(coco_b64_decode(value, strlen(value), &raw), 0);
	json_error_t e;
	json_t *doc = json_loadb((const char *)raw.data, raw.len, 0, &e);
	assert_non_null(doc);
	const char *prot = json_string_value(json_object_get(doc, "protected"));
	assert_non_null(prot);
	assert_int_equal(coco_b64url_decode(prot, strlen(prot), &hdr), 0);
	json_t *h = json_loadb((const char *)hdr.data, hdr.len, 0, &e);
	assert_string_equal(json_string_value(json_object_get(h, "alg")), "ECDH-ES+A256KW");
	assert_int_equal(coco_jwe_decrypt_one(raw.data, raw.len, pk, &out), 0);
	assert_int_equal(out.len, strlen(PT));
	json_decref(h);
	json_decref(doc);
	coco_buf_free(&raw);
	coco_buf_free(&hdr);
	coco_buf_free(&out);
	free(value);
	cocoimg_keyring_free(kr);
	EVP_PKEY_free(pk);
	cocoimg_ctx_free(ctx);
}

/* General serialization preceded by whitespace: removal must really
 * drop the recipient, not report it removed and keep the bytes. */
static void jwe_remove_with_leading_space(void **state)
{
	(void)state;
	cocoimg_ctx *ctx = NULL;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	const char *jwe = "  {\"protected\":\"eyJlbmMiOiJBMjU2R0NNIn0\",\"recipients\":["
	                  "{\"header\":{\"alg\":\"RSA-OAEP\",\"kid\":\"B\"},\"encrypted_key\":\"AA\"},"
	                  "{\"header\":{\"alg\":\"RSA-OAEP\",\"kid\":\"C\"},\"encrypted_key\":\"AA\"}],"
	                  "\"iv\":\"AAAAAAAAAAAAAAAA\",\"ciphertext\":\"AA\",\"tag\":\"AAAAAAAAAAAAAAAAAAAAAA\"}";
	const char *kids[] = { "B" };
	coco_buf out = COCO_BUF_INIT;
	bool empty = true;
	size_t removed = 0;
	assert_int_equal(coco_jwe_remove(ctx, (const unsigned char *)jwe, strlen(jwe), kids, 1, &out,
	                                 &empty, &removed), 0);
	assert_false(empty);
	assert_int_equal(removed, 1);
	size_t n = 0;
	json_t *left = json_array();
	assert_int_equal(coco_jwe_describe(out.data, out.len, &n, left), 0);
	assert_int_equal(n, 1);
	assert_string_equal(json_string_value(json_array_get(left, 0)), "C");
	json_decref(left);
	coco_buf_free(&out);
	cocoimg_ctx_free(ctx);
}

static X509 *self_signed(EVP_PKEY *pk)
{
	X509 *c = X509_new();
	assert_non_null(c);
	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), 4242);
	X509_gmtime_adj(X509_getm_notBefore(c), 0);
	X509_gmtime_adj(X509_getm_notAfter(c), 3600);
	X509_NAME *n = X509_get_subject_name(c);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"pkcs7 test", -1, -1,
	                           0);
	X509_set_issuer_name(c, n);
	X509_set_pubkey(c, pk);
	assert_true(X509_sign(c, pk, EVP_sha256()) > 0);
	return c;
}

static size_t find(const coco_buf *b, const unsigned char *pat, size_t n)
{
	for (size_t i = 0; i + n <= b->len; i++)
		if (!memcmp(b->data + i, pat, n))
			return i;
	fail_msg("pattern not found");
	return 0;
}

/* The GCM ICV length is part of the envelope: anything but 16 (a
 * truncated tag) is refused; so is a nonce other than 96 bits. */
static void pkcs7_gcm_tag_must_be_16(void **state)
{
	(void)state;
	cocoimg_ctx *ctx = NULL;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	X509 *cert = self_signed(pk);
	assert_int_equal(EVP_PKEY_up_ref(pk), 1);
	assert_int_equal(X509_up_ref(cert), 1);
	cocoimg_keyring *kr = ring_with(pk, NULL, cert);
	char *value = NULL;
	assert_int_equal(coco_kw_pkcs7.wrap(ctx, kr, coco_kw_pkcs7.annotation,
	                                    (const unsigned char *)PT, strlen(PT), &value), 0);
	coco_buf der = COCO_BUF_INIT, out = COCO_BUF_INIT;
	assert_int_equal(coco_b64_decode(value, strlen(value), &der), 0);
	/* decryption keyring: the private key with its certificate */
	cocoimg_keyring *dk = NULL;
	assert_int_equal(cocoimg_keyring_new(&dk), 0);
	coco_key k;
	memset(&k, 0, sizeof(k));
	k.kind = COCO_KEY_PRIVATE;
	k.label = coco_strdup("priv");
	k.pkey = pk;
	k.cert = cert;
	assert_int_equal(EVP_PKEY_up_ref(pk), 1);
	assert_int_equal(X509_up_ref(cert), 1);
	assert_int_equal(coco_keyring_push(NULL, dk, &k), 0);
	assert_int_equal(coco_pkcs7_decrypt_one(der.data, der.len, dk, &out), 0);
	assert_int_equal(out.len, strlen(PT));
	coco_buf_free(&out);
	/* ... [4] nonce(12) INTEGER 16: patch the ICV length to 12 */
	static const unsigned char icv[] = { 0x02, 0x01, 0x10 };
	size_t at = find(&der, icv, sizeof(icv));
	der.data[at + 2] = 12;
	assert_int_equal(coco_pkcs7_decrypt_one(der.data, der.len, dk, &out), COCOIMG_EBADIMAGE);
	der.data[at + 2] = 16;
	/* nonce length byte (0x84 0x0c) → 8: structure shifts, must fail */
	static const unsigned char nonce_hdr[] = { 0x84, 0x0c };
	at = find(&der, nonce_hdr, sizeof(nonce_hdr));
	der.data[at + 1] = 8;
	assert_int_not_equal(coco_pkcs7_decrypt_one(der.data, der.len, dk, &out), 0);
	assert_int_equal(out.len, 0);
	coco_buf_free(&der);
	coco_buf_free(&out);
	free(value);
	cocoimg_keyring_free(kr);
	cocoimg_keyring_free(dk);
	X509_free(cert);
	EVP_PKEY_free(pk);
	cocoimg_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(jwe_gcm_iv_must_be_96_bits),
		cmocka_unit_test(jwe_wrap_unknown_jwk_alg),
		cmocka_unit_test(jwe_remove_with_leading_space),
		cmocka_unit_test(pkcs7_gcm_tag_must_be_16),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
