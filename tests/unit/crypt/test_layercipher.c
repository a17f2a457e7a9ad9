/* Layer cipher, private/public options, JWE: against the ocicrypt vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base.h"
#include "crypt/crypt.h"
#include "digest.h"
#include "json.h"
#include "sha2x.h"
#include "stream.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

static cocoimg_ctx *ctx;

/* ocicrypt interop vectors; tests run in the source root */
static char *vec(const char *name)
{
	return coco_asprintf("tests/data/ocicrypt-vectors/%s", name);
}

static void load(const char *name, coco_buf *b)
{
	char *p = vec(name);
	b->len = 0;
	assert_int_equal(coco_read_file(ctx, p, 1 << 24, b, COCOIMG_EIO), 0);
	free(p);
}

static int setup(void **st)
{
	(void)st;
	return cocoimg_ctx_new(&ctx);
}

static int teardown(void **st)
{
	(void)st;
	cocoimg_ctx_free(ctx);
	return 0;
}

static void vector_opts(coco_layer_opts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 0; i < 32; i++)
		o->symkey[i] = (unsigned char)i;
	for (int i = 0; i < 16; i++)
		o->nonce[i] = (unsigned char)(0xf0 + i);
	o->have_symkey = o->have_nonce = true;
	o->digest = strdup("sha256:805b8cb8bbd621c586b09aadc6313b06b298e79fc4dc7b42952b19de15539ccf");
}

static void test_privopts_bytes(void **st)
{
	(void)st;
	coco_layer_opts o;
	coco_buf want = COCO_BUF_INIT, got = COCO_BUF_INIT;
	vector_opts(&o);
	load("privopts.json", &want);
	assert_int_equal(coco_privopts_encode(&o, &got), 0);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.data, want.data, want.len);

	coco_layer_opts p;
	memset(&p, 0, sizeof(p));
	assert_int_equal(coco_privopts_parse(ctx, want.data, want.len, "t", &p), 0);
	assert_memory_equal(p.symkey, o.symkey, 32);
	assert_memory_equal(p.nonce, o.nonce, 16);
	assert_string_equal(p.digest, o.digest);
	coco_layer_opts_clear(&p);

	/* Rust member order and whitespace parse too; bad lengths do not */
	const char *rust = "{ \"symkey\" : \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\", "
	                   "\"cipheroptions\":{\"nonce\":\"8PHy8/T19vf4+fr7/P3+/w==\"},\"digest\":\"\"}";
	memset(&p, 0, sizeof(p));
	assert_int_equal(coco_privopts_parse(ctx, (const unsigned char *)rust, strlen(rust), "t", &p), 0);
	assert_true(p.have_nonce);
	coco_layer_opts_clear(&p);
	const char *shortkey = "{\"symkey\":\"AAEC\",\"digest\":\"\",\"cipheroptions\":{}}";
	memset(&p, 0, sizeof(p));
	assert_int_equal(coco_privopts_parse(ctx, (const unsigned char *)shortkey, strlen(shortkey), "t", &p),
	                 COCOIMG_EBADIMAGE);
	coco_layer_opts_clear(&p);

	coco_buf_free(&want);
	coco_buf_free(&got);
	coco_layer_opts_clear(&o);
}

static void test_pubopts_bytes(void **st)
{
	(void)st;
	coco_buf want = COCO_BUF_INIT;
	load("pubopts.json", &want);
	coco_layer_opts o;
	memset(&o, 0, sizeof(o));
	char *b64 = coco_b64_encode(want.data, want.len);
	assert_int_equal(coco_pubopts_parse(ctx, b64, "t", &o), 0);
	assert_true(o.have_hmac);
	char *got = coco_pubopts_encode(o.hmac);
	assert_int_equal(strlen(got), want.len);
	assert_memory_equal(got, want.data, want.len);
	static const unsigned char hm[32] = {
		0xe2, 0x1d, 0x71, 0x96, 0x15, 0x14, 0xca, 0x70, 0x2d, 0x36, 0x0f, 0xb0, 0x30, 0x5d, 0xdb, 0x02,
		0x95, 0xe5, 0xce, 0x97, 0x8c, 0x6e, 0xd6, 0x15, 0x98, 0x70, 0xf8, 0x31, 0xd7, 0xca, 0xa1, 0x06,
	};
	assert_memory_equal(o.hmac, hm, 32);
	free(got);
	free(b64);
	/* unknown cipher */
	const char *bad = "{\"cipher\":\"AES_GCM\",\"hmac\":\"\",\"cipheroptions\":{}}";
	b64 = coco_b64_encode((const unsigned char *)bad, strlen(bad));
	assert_int_equal(coco_pubopts_parse(ctx, b64, "t", &o), COCOIMG_EUNSUPPORTED);
	free(b64);
	coco_buf_free(&want);
}

/* The ocicrypt vector: ciphertext, plaintext, and the options (key, nonce
 * and the public options' HMAC) that open it. */
static void vector_load(coco_buf *enc, coco_buf *plain, coco_layer_opts *o)
{
	coco_buf pub = COCO_BUF_INIT;
	load("layer_encrypted.bin", enc);
	load("layer_plain.tar", plain);
	load("pubopts.json", &pub);
	vector_opts(o);
	char *b64 = coco_b64_encode(pub.data, pub.len);
	assert_int_equal(coco_pubopts_parse(ctx, b64, "t", o), 0);
	free(b64);
	coco_buf_free(&pub);
}

static void vector_free(coco_buf *enc, coco_buf *plain, coco_layer_opts *o)
{
	coco_layer_opts_clear(o);
	coco_buf_free(enc);
	coco_buf_free(plain);
}

static void test_decrypt_vector(void **st)
{
	(void)st;
	coco_buf enc = COCO_BUF_INIT, plain = COCO_BUF_INIT, out = COCO_BUF_INIT;
	coco_layer_opts o;
	vector_load(&enc, &plain, &o);

	coco_stage *sink, *dec;
	assert_int_equal(coco_buf_stage_new(ctx, &out, 1 << 20, COCOIMG_EIO, &sink), 0);
	assert_int_equal(coco_layer_decrypt_stage_new(ctx, &o, "layer sha256:4c91", sink, &dec), 0);
	/* odd chunking */
	size_t off = 0, step = 1;
	while (off < enc.len) {
		size_t n = enc.len - off < step ? enc.len - off : step;
		assert_int_equal(coco_stage_write(dec, enc.data + off, n), 0);
		off += n;
		step = step * 3 + 1;
	}
	assert_int_equal(coco_stage_finish(dec), 0);
	assert_int_equal(out.len, plain.len);
	assert_memory_equal(out.data, plain.data, plain.len);
	coco_stage_chain_free(dec);

	/* one flipped byte: fails at finish with EDIGEST naming the layer */
	for (size_t pos = 0; pos < enc.len; pos += 4097) {
		enc.data[pos] ^= 1;
		out.len = 0;
		assert_int_equal(coco_buf_stage_new(ctx, &out, 1 << 20, COCOIMG_EIO, &sink), 0);
		assert_int_equal(coco_layer_decrypt_stage_new(ctx, &o, "layer sha256:4c91", sink, &dec), 0);
		assert_int_equal(coco_stage_write(dec, enc.data, enc.len), 0);
		assert_int_equal(coco_stage_finish(dec), COCOIMG_EDIGEST);
		assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "sha256:4c91"));
		coco_stage_chain_free(dec);
		enc.data[pos] ^= 1;
	}

	/* encryption with the same key and nonce reproduces the blob */
	out.len = 0;
	assert_int_equal(coco_buf_stage_new(ctx, &out, 1 << 20, COCOIMG_EIO, &sink), 0);
	assert_int_equal(coco_layer_encrypt_stage_new(ctx, &o, sink, &dec), 0);
	assert_int_equal(coco_stage_pump_mem(dec, plain.data, plain.len), 0);
	unsigned char h[32];
	coco_layer_stage_hmac(dec, h);
	assert_memory_equal(h, o.hmac, 32);
	assert_int_equal(out.len, enc.len);
	assert_memory_equal(out.data, enc.data, enc.len);
	coco_stage_chain_free(dec);

	vector_free(&enc, &plain, &o);
	coco_buf_free(&out);
}

/* A verify stage upstream that hands its digest to the decrypting stage
 * (the unpack pipeline on CPUs with the SHA extensions; the portable C
 * elsewhere, and on demand here): the same digest and plaintext as the
 * two separate passes, and a changed blob still fails as a digest
 * mismatch (before the HMAC), a wrong expected digest too, and a short
 * blob as a size mismatch. */
static int verify_then_decrypt(const coco_layer_opts *o, const char *expected, int64_t size,
                               const coco_buf *enc, coco_buf *out, bool *deferred, char *got)
{
	coco_stage *sink, *dec, *v;
	out->len = 0;
	assert_int_equal(coco_buf_stage_new(ctx, out, 1 << 20, COCOIMG_EIO, &sink), 0);
	assert_int_equal(coco_layer_decrypt_stage_new(ctx, o, "layer sha256:4c91", sink, &dec), 0);
	assert_int_equal(coco_verify_stage_new(ctx, expected, size, "layer sha256:4c91", dec, &v), 0);
	*deferred = coco_verify_stage_can_defer(v) &&
	            coco_layer_stage_digest_to(dec, coco_verify_stage_check, v);
	if (*deferred)
		coco_verify_stage_defer(v);
	/* a second call changes nothing */
	if (*deferred)
		assert_false(coco_layer_stage_digest_to(dec, coco_verify_stage_check, v));
	size_t off = 0, step = 1;
	int rc = 0;
	while (!rc && off < enc->len) {
		size_t n = enc->len - off < step ? enc->len - off : step;
		rc = coco_stage_write(v, enc->data + off, n);
		off += n;
		step = step * 5 + 3;
	}
	if (!rc)
		rc = coco_stage_finish(v);
	if (!rc)
		coco_verify_result(v, got, NULL);
	coco_stage_chain_free(v);
	return rc;
}

static void test_decrypt_digest_to(void **st)
{
	(void)st;
	coco_buf enc = COCO_BUF_INIT, plain = COCO_BUF_INIT, out = COCO_BUF_INIT;
	coco_layer_opts o;
	vector_load(&enc, &plain, &o);
	unsigned char md[32];
	unsigned int mdlen = 0;
	assert_int_equal(EVP_Digest(enc.data, enc.len, md, &mdlen, EVP_sha256(), NULL), 1);
	char want[COCO_DIGEST_STRLEN] = "sha256:";
	coco_hex_encode(md, 32, want + 7);
	const char *other = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

	for (int portable = 0; portable < 2; portable++) {
		coco_sha2x_test_portable(portable);
		char got[COCO_DIGEST_STRLEN] = "";
		bool deferred;
		assert_int_equal(verify_then_decrypt(&o, want, (int64_t)enc.len, &enc, &out, &deferred,
		                                     got), 0);
		assert_int_equal(deferred, coco_sha2x_available());
		assert_string_equal(got, want);
		assert_int_equal(out.len, plain.len);
		assert_memory_equal(out.data, plain.data, plain.len);

		/* a sha512 blob digest keeps the verify stage's own pass */
		char want512[COCO_DIGEST_STRLEN];
		assert_int_equal(coco_digest_bytes(COCO_SHA512, enc.data, enc.len, want512), 0);
		assert_int_equal(verify_then_decrypt(&o, want512, (int64_t)enc.len, &enc, &out,
		                                     &deferred, got), 0);
		assert_false(deferred);
		assert_string_equal(got, want512);
		assert_memory_equal(out.data, plain.data, plain.len);

		assert_int_equal(verify_then_decrypt(&o, other, (int64_t)enc.len, &enc, &out, &deferred,
		                                     got), COCOIMG_EDIGEST);
		assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "digest mismatch"));
		coco_clearerr(ctx);

		for (size_t pos = 0; pos < enc.len; pos += 5003) {
			enc.data[pos] ^= 0x40;
			assert_int_equal(verify_then_decrypt(&o, want, (int64_t)enc.len, &enc, &out,
			                                     &deferred, got), COCOIMG_EDIGEST);
			assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "digest mismatch"));
			coco_clearerr(ctx);
			enc.data[pos] ^= 0x40;
		}
		enc.len--;
		assert_int_equal(verify_then_decrypt(&o, want, (int64_t)enc.len + 1, &enc, &out,
		                                     &deferred, got), COCOIMG_EDIGEST);
		assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "size mismatch"));
		coco_clearerr(ctx);
		enc.len++;
	}
	coco_sha2x_test_portable(false);
	vector_free(&enc, &plain, &o);
	coco_buf_free(&out);
}

/* In place (a small layer in memory): the plaintext, the HMAC checked; a
 * changed byte fails as EDIGEST and leaves the buffer wiped; a stage
 * that already has output or a next stage is refused. */
static void test_decrypt_in_place(void **st)
{
	(void)st;
	coco_buf enc = COCO_BUF_INIT, plain = COCO_BUF_INIT;
	coco_layer_opts o;
	vector_load(&enc, &plain, &o);
	unsigned char *b = malloc(enc.len);
	assert_non_null(b);
	for (int portable = 0; portable < 2; portable++) {
		coco_sha2x_test_portable(portable);
		coco_stage *dec;
		memcpy(b, enc.data, enc.len);
		assert_int_equal(coco_layer_decrypt_stage_new(ctx, &o, "layer sha256:4c91", NULL, &dec), 0);
		assert_int_equal(coco_layer_stage_decrypt_in_place(dec, b, enc.len), 0);
		assert_int_equal(enc.len, plain.len);
		assert_memory_equal(b, plain.data, plain.len);
		coco_stage_free(dec);

		memcpy(b, enc.data, enc.len);
		b[enc.len / 3] ^= 0x10;
		assert_int_equal(coco_layer_decrypt_stage_new(ctx, &o, "layer sha256:4c91", NULL, &dec), 0);
		assert_int_equal(coco_layer_stage_decrypt_in_place(dec, b, enc.len), COCOIMG_EDIGEST);
		assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "HMAC mismatch"));
		for (size_t i = 0; i < enc.len; i++)
			assert_int_equal(b[i], 0);
		coco_stage_free(dec);
		coco_clearerr(ctx);
	}
	coco_sha2x_test_portable(false);
	coco_stage *sink, *dec;
	coco_buf out = COCO_BUF_INIT;
	assert_int_equal(coco_buf_stage_new(ctx, &out, 1 << 20, COCOIMG_EIO, &sink), 0);
	assert_int_equal(coco_layer_decrypt_stage_new(ctx, &o, "layer sha256:4c91", sink, &dec), 0);
	memcpy(b, enc.data, enc.len);
	assert_int_equal(coco_layer_stage_decrypt_in_place(dec, b, enc.len), COCOIMG_EINTERNAL);
	coco_stage_chain_free(dec);
	coco_clearerr(ctx);
	free(b);
	vector_free(&enc, &plain, &o);
	coco_buf_free(&out);
}

static void test_spec_vectors(void **st)
{
	(void)st;
	coco_layer_opts o;
	vector_opts(&o);
	unsigned char pt[100];
	const char *s = "This is some text!";
	for (size_t i = 0; i < sizeof(pt); i++)
		pt[i] = (unsigned char)s[i % 18];
	coco_buf out = COCO_BUF_INIT;
	coco_stage *sink, *enc;
	assert_int_equal(coco_buf_stage_new(ctx, &out, 1 << 20, COCOIMG_EIO, &sink), 0);
	assert_int_equal(coco_layer_encrypt_stage_new(ctx, &o, sink, &enc), 0);
	assert_int_equal(coco_stage_pump_mem(enc, pt, sizeof(pt)), 0);
	char hex[65];
	coco_hex_encode(out.data, 16, hex);
	assert_string_equal(hex, "c668a4fe03fff3eb29068b316046066c");
	unsigned char h[32];
	coco_layer_stage_hmac(enc, h);
	coco_hex_encode(h, 32, hex);
	assert_string_equal(hex, "1fbc5ee76ba0d065ee56550b0a4fa69653a6bfa8bbc29d04349f0d058eaf2517");
	/* with the SHA extensions the same pass digests the ciphertext */
	if (coco_layer_stage_has_out_digest(enc)) {
		char d[COCO_DIGEST_STRLEN], want[COCO_DIGEST_STRLEN];
		uint64_t n = 0;
		assert_int_equal(coco_layer_stage_out_digest(enc, d, &n), 0);
		assert_int_equal(coco_digest_bytes(COCO_SHA256, out.data, out.len, want), 0);
		assert_string_equal(d, want);
		assert_int_equal(n, sizeof(pt));
	}
	coco_stage_chain_free(enc);
	/* empty layer */
	out.len = 0;
	assert_int_equal(coco_buf_stage_new(ctx, &out, 1 << 20, COCOIMG_EIO, &sink), 0);
	assert_int_equal(coco_layer_encrypt_stage_new(ctx, &o, sink, &enc), 0);
	assert_int_equal(coco_stage_finish(enc), 0);
	coco_layer_stage_hmac(enc, h);
	coco_hex_encode(h, 32, hex);
	assert_string_equal(hex, "d38b42096d80f45f826b44a9d5607de72496a415d3f4a1a8c88e3bb9da8dc1cb");
	coco_stage_chain_free(enc);
	coco_buf_free(&out);
	coco_layer_opts_clear(&o);
}

static coco_key *add_key(cocoimg_keyring *kr, const char *name)
{
	char *p = vec(name);
	int rc = cocoimg_keyring_add_decryption_key(ctx, kr, p);
	if (rc)
		fprintf(stderr, "%s\n", cocoimg_ctx_last_error(ctx));
	assert_int_equal(rc, 0);
	free(p);
	return &kr->keys[kr->n_keys - 1];
}

static void test_jwe_vectors(void **st)
{
	(void)st;
	cocoimg_keyring *kr;
	assert_int_equal(cocoimg_keyring_new(&kr), 0);
	coco_key *rsa = add_key(kr, "rsa_private_pkcs1.pem");
	assert_int_equal(rsa->kind, COCO_KEY_PRIVATE);
	EVP_PKEY *rsak = rsa->pkey;
	coco_key *ec = add_key(kr, "ec_p256_private_sec1.der");
	EVP_PKEY *eck = ec->pkey;
	coco_buf want = COCO_BUF_INIT, j1 = COCO_BUF_INIT, j2 = COCO_BUF_INIT, j3 = COCO_BUF_INIT;
	load("privopts.json", &want);
	load("jwe_rsa_single.json", &j1);
	load("jwe_rsa_ec_multi.json", &j2);
	load("jwe_ec_single.json", &j3);
	struct { coco_buf *j; EVP_PKEY *k; int rc; } cases[] = {
		{ &j1, rsak, 0 }, { &j2, rsak, 0 }, { &j2, eck, 0 }, { &j3, eck, 0 },
		{ &j1, eck, COCOIMG_ENOKEY }, { &j3, rsak, COCOIMG_ENOKEY },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		coco_buf out = COCO_BUF_INIT;
		assert_int_equal(coco_jwe_decrypt_one(cases[i].j->data, cases[i].j->len, cases[i].k, &out),
		                 cases[i].rc);
		if (!cases[i].rc) {
			assert_int_equal(out.len, want.len);
			assert_memory_equal(out.data, want.data, want.len);
		}
		coco_buf_free(&out);
	}
	/* the annotation of descriptor.json via the wrapper: EC key needs the
	 * second comma-separated element */
	char *a = coco_b64_encode(j1.data, j1.len), *b = coco_b64_encode(j2.data, j2.len);
	char *val = coco_asprintf("%s,%s", a, b);
	coco_buf out = COCO_BUF_INIT, tried = COCO_BUF_INIT;
	assert_int_equal(coco_kw_jwe.unwrap(ctx, kr, coco_kw_jwe.annotation, val, &out, &tried), 0);
	assert_memory_equal(out.data, want.data, want.len);
	coco_buf_free(&out);
	/* compact serialization of the RSA one */
	json_t *doc = json_loadb((const char *)j1.data, j1.len, 0, NULL);
	char *compact = coco_asprintf("%s.%s.%s.%s.%s", json_string_value(json_object_get(doc, "protected")),
	                              json_string_value(json_object_get(doc, "encrypted_key")),
	                              json_string_value(json_object_get(doc, "iv")),
	                              json_string_value(json_object_get(doc, "ciphertext")),
	                              json_string_value(json_object_get(doc, "tag")));
	assert_int_equal(coco_jwe_decrypt_one((unsigned char *)compact, strlen(compact), rsak, &out), 0);
	assert_memory_equal(out.data, want.data, want.len);
	coco_buf_free(&out);
	free(compact);
	json_decref(doc);
	free(a);
	free(b);
	free(val);
	coco_buf_free(&tried);
	coco_buf_free(&want);
	coco_buf_free(&j1);
	coco_buf_free(&j2);
	coco_buf_free(&j3);
	cocoimg_keyring_free(kr);
}

static void test_jwe_roundtrip(void **st)
{
	(void)st;
	cocoimg_keyring *kr;
	assert_int_equal(cocoimg_keyring_new(&kr), 0);
	char *p1 = vec("rsa_public.pem"), *p2 = vec("ec_p256_public.der");
	char *s1 = coco_asprintf("jwe:%s", p1), *s2 = coco_asprintf("jwe:%s", p2);
	assert_int_equal(cocoimg_keyring_add_recipient(ctx, kr, s1), 0);
	assert_int_equal(cocoimg_keyring_add_recipient(ctx, kr, s2), 0);
	const char *msg = "{\"symkey\":\"x\"}";
	char **names = coco_kw_jwe.annotations(kr);
	assert_non_null(names);
	assert_string_equal(names[0], "org.opencontainers.image.enc.keys.jwe");
	char *value = NULL;
	assert_int_equal(coco_kw_jwe.wrap(ctx, kr, names[0], (const unsigned char *)msg, strlen(msg), &value), 0);
	assert_non_null(strchr(value, ','));
	free(names[0]);
	free(names);
	for (int which = 0; which < 2; which++) {
		cocoimg_keyring *dk;
		assert_int_equal(cocoimg_keyring_new(&dk), 0);
		add_key(dk, which ? "ec_p256_private_sec1.der" : "rsa_private_pkcs1.pem");
		coco_buf out = COCO_BUF_INIT, tried = COCO_BUF_INIT;
		assert_int_equal(coco_kw_jwe.unwrap(ctx, dk, "x", value, &out, &tried), 0);
		assert_int_equal(out.len, strlen(msg));
		assert_memory_equal(out.data, msg, out.len);
		coco_buf_free(&out);
		coco_buf_free(&tried);
		cocoimg_keyring_free(dk);
	}
	/* the written protected header of the first element */
	const char *comma = strchr(value, ',');
	coco_buf raw = COCO_BUF_INIT;
	assert_int_equal(coco_b64_decode(value, (size_t)(comma - value), &raw), 0);
	json_t *doc = json_loadb((const char *)raw.data, raw.len, 0, NULL);
	assert_non_null(doc);
	const char *prot = json_string_value(json_object_get(doc, "protected"));
	coco_buf hdr = COCO_BUF_INIT;
	assert_int_equal(coco_b64url_decode(prot, strlen(prot), &hdr), 0);
	assert_int_equal(strncmp((char *)hdr.data, "{\"alg\":\"RSA-OAEP\",\"enc\":\"A256GCM\",\"kid\":\"", 40), 0);
	coco_buf_free(&hdr);
	json_decref(doc);
	coco_buf_free(&raw);
	free(value);
	free(p1);
	free(p2);
	free(s1);
	free(s2);
	cocoimg_keyring_free(kr);
}

static void test_key_errors(void **st)
{
	(void)st;
	cocoimg_keyring *kr;
	assert_int_equal(cocoimg_keyring_new(&kr), 0);
	assert_int_equal(cocoimg_keyring_add_decryption_key(ctx, kr, "/nonexistent/key.pem:secret"),
	                 COCOIMG_EINVAL);
	assert_null(strstr(cocoimg_ctx_last_error(ctx), "secret"));
	char *p = vec("pubopts.json");
	assert_int_equal(cocoimg_keyring_add_decryption_key(ctx, kr, p), COCOIMG_ECONFIG);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "pubopts.json"));
	char *r = coco_asprintf("jwe:%s", p);
	assert_int_equal(cocoimg_keyring_add_recipient(ctx, kr, r), COCOIMG_ECONFIG);
	free(r);
	free(p);
	assert_int_equal(cocoimg_keyring_add_recipient(ctx, kr, "bogus:x"), COCOIMG_EINVAL);
	cocoimg_keyring_free(kr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_privopts_bytes),
		cmocka_unit_test(test_pubopts_bytes),
		cmocka_unit_test(test_decrypt_vector),
		cmocka_unit_test(test_decrypt_digest_to),
		cmocka_unit_test(test_decrypt_in_place),
		cmocka_unit_test(test_spec_vectors),
		cmocka_unit_test(test_jwe_vectors),
		cmocka_unit_test(test_jwe_roundtrip),
		cmocka_unit_test(test_key_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
