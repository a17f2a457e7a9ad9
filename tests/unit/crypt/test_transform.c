/* coco_crypt_transform_layer with in-memory source/destination: encrypt,
 * decrypt, recipient add/remove, wrong key, tampering, PKCS7 vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base.h"
#include "crypt/crypt.h"
#include "digest.h"
#include "image_crypt.h"
#include "json.h"
#include "oci/oci.h"
#include "stream.h"
#include "transport.h"

#include <stdlib.h>
#include <string.h>

static cocoimg_ctx *ctx;

/* ---- in-memory blob store ---- */

typedef struct blob {
	char digest[COCO_DIGEST_STRLEN];
	coco_buf data;
} blob;

static blob store[64];
static size_t n_store;

static blob *find(const char *digest)
{
	for (size_t i = 0; i < n_store; i++)
		if (!strcmp(store[i].digest, digest))
			return &store[i];
	return NULL;
}

static void put(const char *digest, const void *d, size_t n)
{
	if (find(digest))
		return;
	assert_true(n_store < 64);
	blob *b = &store[n_store++];
	snprintf(b->digest, sizeof(b->digest), "%s", digest);
	memset(&b->data, 0, sizeof(b->data));
	coco_buf_append(&b->data, d, n);
}

static int src_get_blob(coco_src *s, const coco_desc *d, coco_stage *sink)
{
	blob *b = find(d->digest);
	if (!b)
		return coco_seterr(s->ctx, COCOIMG_ENOTFOUND, "no blob %s", d->digest);
	return coco_stage_pump_mem(sink, b->data.data, b->data.len);
}

static const struct coco_src_ops src_ops = { .get_blob = src_get_blob };

typedef struct pending {
	coco_buf buf;
} pending;

static int p_commit(void *arg, const char *digest, uint64_t size)
{
	pending *p = arg;
	assert_int_equal(size, p->buf.len);
	put(digest, p->buf.data, p->buf.len);
	return 0;
}

static void p_release(void *arg)
{
	pending *p = arg;
	coco_buf_free(&p->buf);
	free(p);
}

static const coco_blob_sink_ops sink_ops = { p_commit, NULL, p_release };

static int dst_has_blob(coco_dest *d, const char *digest, int64_t size)
{
	(void)d;
	(void)size;
	return find(digest) ? 1 : 0;
}

static int dst_put_blob(coco_dest *d, const char *expected, int64_t size, coco_stage **sink)
{
	pending *p = calloc(1, sizeof(*p));
	coco_stage *inner;
	assert_int_equal(coco_buf_stage_new(d->ctx, &p->buf, 1 << 26, COCOIMG_EIO, &inner), 0);
	return coco_blob_sink_new(d->ctx, expected, size, "blob", inner, &sink_ops, p, sink);
}

static const struct coco_dest_ops dst_ops = { .has_blob = dst_has_blob, .put_blob = dst_put_blob };

static coco_src src = { &src_ops, NULL, NULL, "src", NULL };
static coco_dest dst = { &dst_ops, NULL, NULL, "dest", NULL };

/* ---- helpers ---- */

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

static void desc_from(json_t *j, coco_desc *d)
{
	memset(d, 0, sizeof(*d));
	d->json = j;
	d->media_type = json_string_value(json_object_get(j, "mediaType"));
	d->digest = json_string_value(json_object_get(j, "digest"));
	d->size = json_integer_value(json_object_get(j, "size"));
	d->annotations = json_object_get(j, "annotations");
}

static cocoimg_keyring *ring(const char *const *dec, const char *const *rcpt)
{
	cocoimg_keyring *kr;
	assert_int_equal(cocoimg_keyring_new(&kr), 0);
	for (; dec && *dec; dec++) {
		char *p = vec(*dec);
		assert_int_equal(cocoimg_keyring_add_decryption_key(ctx, kr, p), 0);
		free(p);
	}
	for (; rcpt && *rcpt; rcpt++) {
		const char *colon = strchr(*rcpt, ':');
		char *p = vec(colon + 1);
		char *s = coco_asprintf("%.*s:%s", (int)(colon - *rcpt), *rcpt, p);
		int rc = cocoimg_keyring_add_recipient(ctx, kr, s);
		if (rc)
			fprintf(stderr, "%s\n", cocoimg_ctx_last_error(ctx));
		assert_int_equal(rc, 0);
		free(p);
		free(s);
	}
	return kr;
}

static int transform(int mode, cocoimg_keyring *kr, json_t *in, json_t **out, json_t *report,
                     const char *const *remove, size_t n_remove, const int *layers, size_t nl)
{
	cocoimg_copy_options o = COCOIMG_COPY_OPTIONS_INIT;
	o.crypt_mode = (cocoimg_crypt_mode)mode;
	o.keys = kr;
	o.remove_recipients = remove;
	o.n_remove_recipients = n_remove;
	o.encrypt_layers = layers;
	o.n_encrypt_layers = nl;
	coco_desc d;
	desc_from(in, &d);
	uint64_t written;
	return coco_crypt_transform_layer(ctx, &o, &src, &dst, &d, 0, 1, out, report, &written);
}

static size_t elements(json_t *desc, const char *scheme)
{
	char name[128];
	snprintf(name, sizeof(name), "org.opencontainers.image.enc.keys.%s", scheme);
	const char *v = json_string_value(json_object_get(json_object_get(desc, "annotations"), name));
	if (!v)
		return 0;
	size_t n = 1;
	for (; *v; v++)
		n += *v == ',';
	return n;
}

static json_t *plain_desc;
static coco_buf plain;
static char plain_digest[COCO_DIGEST_STRLEN];

static int setup(void **st)
{
	(void)st;
	if (cocoimg_ctx_new(&ctx))
		return -1;
	src.ctx = ctx;
	dst.ctx = ctx;
	load("layer_plain.tar", &plain);
	coco_digest_bytes(COCO_SHA256, plain.data, plain.len, plain_digest);
	put(plain_digest, plain.data, plain.len);
	plain_desc = json_pack("{s:s,s:s,s:I,s:{s:s}}", "mediaType",
	                       "application/vnd.oci.image.layer.v1.tar+gzip", "digest", plain_digest,
	                       "size", (json_int_t)plain.len, "annotations", "x.keep", "yes");
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	for (size_t i = 0; i < n_store; i++)
		coco_buf_free(&store[i].data);
	coco_buf_free(&plain);
	json_decref(plain_desc);
	cocoimg_ctx_free(ctx);
	return 0;
}

static void check_plain(json_t *d)
{
	assert_string_equal(json_string_value(json_object_get(d, "digest")), plain_digest);
	assert_string_equal(json_string_value(json_object_get(d, "mediaType")),
	                    "application/vnd.oci.image.layer.v1.tar+gzip");
	json_t *ann = json_object_get(d, "annotations");
	assert_int_equal(json_object_size(ann), 1);
	assert_string_equal(json_string_value(json_object_get(ann, "x.keep")), "yes");
}

static void test_roundtrip(void **st)
{
	(void)st;
	static const char *const rc[] = { "jwe:rsa_public.pem", "jwe:ec_p256_public.der",
	                                  "pkcs7:rsa_cert.pem", NULL };
	cocoimg_keyring *enc = ring(NULL, rc);
	json_t *e = NULL, *report = json_object();
	assert_int_equal(transform(COCOIMG_CRYPT_ENCRYPT, enc, plain_desc, &e, report, NULL, 0, NULL, 0), 0);
	assert_string_equal(json_string_value(json_object_get(report, "action")), "encrypt");
	json_decref(report);
	assert_string_equal(json_string_value(json_object_get(e, "mediaType")),
	                    "application/vnd.oci.image.layer.v1.tar+gzip+encrypted");
	assert_int_equal(elements(e, "jwe"), 2);
	assert_int_equal(elements(e, "pkcs7"), 1);
	assert_string_not_equal(json_string_value(json_object_get(e, "digest")), plain_digest);
	/* the ciphertext is as long as the plaintext */
	assert_int_equal(json_integer_value(json_object_get(e, "size")), plain.len);

	/* every key alone decrypts it back to the original digest */
	static const char *const k1[] = { "rsa_private_pkcs1.pem", NULL };
	static const char *const k2[] = { "ec_p256_private_sec1.der", NULL };
	const char *const *keys[] = { k1, k2 };
	for (size_t i = 0; i < 2; i++) {
		cocoimg_keyring *dk = ring(keys[i], NULL);
		json_t *p = NULL;
		assert_int_equal(transform(COCOIMG_CRYPT_DECRYPT, dk, e, &p, NULL, NULL, 0, NULL, 0), 0);
		check_plain(p);
		json_decref(p);
		cocoimg_keyring_free(dk);
	}
	/* pkcs7 alone (annotation without the jwe one) with key + cert */
	json_t *only7 = json_deep_copy(e);
	json_object_del(json_object_get(only7, "annotations"), "org.opencontainers.image.enc.keys.jwe");
	static const char *const k3[] = { "rsa_private_pkcs1.pem", "rsa_cert.pem", NULL };
	cocoimg_keyring *dk = ring(k3, NULL);
	json_t *p = NULL;
	assert_int_equal(transform(COCOIMG_CRYPT_DECRYPT, dk, only7, &p, NULL, NULL, 0, NULL, 0), 0);
	check_plain(p);
	json_decref(p);
	cocoimg_keyring_free(dk);
	/* the EC key cannot open pkcs7: ENOKEY naming the layer and the schemes */
	dk = ring(k2, NULL);
	p = NULL;
	assert_int_equal(transform(COCOIMG_CRYPT_DECRYPT, dk, only7, &p, NULL, NULL, 0, NULL, 0),
	                 COCOIMG_ENOKEY);
	const char *msg = cocoimg_ctx_last_error(ctx);
	assert_non_null(strstr(msg, json_string_value(json_object_get(e, "digest"))));
	assert_non_null(strstr(msg, "PKCS#7 recipient"));
	assert_null(p);
	cocoimg_keyring_free(dk);
	json_decref(only7);

	/* rewrap: add the EC recipient with the RSA key, remove the RSA JWE one */
	static const char *const add[] = { "jwe:ec_p256_public.der", NULL };
	cocoimg_keyring *rw = ring(k1, add);
	json_t *e2 = NULL;
	assert_int_equal(transform(COCOIMG_CRYPT_ENCRYPT, rw, e, &e2, NULL, NULL, 0, NULL, 0), 0);
	assert_string_equal(json_string_value(json_object_get(e2, "digest")),
	                    json_string_value(json_object_get(e, "digest")));
	assert_int_equal(elements(e2, "jwe"), 3);
	char *rsapub = vec("rsa_public.pem"), *cert = vec("rsa_cert.pem");
	char *r1 = coco_asprintf("jwe:%s", rsapub), *r2 = coco_asprintf("pkcs7:%s", cert);
	const char *rm[] = { r1, r2 };
	cocoimg_keyring *none = ring(NULL, NULL);
	json_t *e3 = NULL;
	report = json_object();
	assert_int_equal(transform(COCOIMG_CRYPT_ENCRYPT, none, e2, &e3, report, rm, 2, NULL, 0), 0);
	assert_int_equal(elements(e3, "jwe"), 2);
	assert_int_equal(elements(e3, "pkcs7"), 0);
	assert_int_equal(json_integer_value(json_object_get(report, "recipients_removed")), 2);
	json_decref(report);
	/* the RSA key no longer opens it, the EC key does */
	dk = ring(k1, NULL);
	p = NULL;
	assert_int_equal(transform(COCOIMG_CRYPT_DECRYPT, dk, e3, &p, NULL, NULL, 0, NULL, 0),
	                 COCOIMG_ENOKEY);
	cocoimg_keyring_free(dk);
	dk = ring(k2, NULL);
	assert_int_equal(transform(COCOIMG_CRYPT_DECRYPT, dk, e3, &p, NULL, NULL, 0, NULL, 0), 0);
	check_plain(p);
	json_decref(p);
	cocoimg_keyring_free(dk);
	/* removing every recipient is refused */
	char *ecpub = vec("ec_p256_public.der");
	char *r3 = coco_asprintf("jwe:%s", ecpub);
	const char *rm2[] = { r3 };
	json_t *e4 = NULL;
	assert_int_equal(transform(COCOIMG_CRYPT_ENCRYPT, none, e3, &e4, NULL, rm2, 1, NULL, 0),
	                 COCOIMG_EINVAL);
	free(ecpub);
	free(r3);
	cocoimg_keyring_free(none);
	free(rsapub);
	free(cert);
	free(r1);
	free(r2);
	json_decref(e3);
	json_decref(e2);
	cocoimg_keyring_free(rw);

	/* tampering: flip a byte, re-store under the new digest */
	blob *b = find(json_string_value(json_object_get(e, "digest")));
	assert_non_null(b);
	coco_buf t = COCO_BUF_INIT;
	coco_buf_append(&t, b->data.data, b->data.len);
	t.data[t.len / 2] ^= 0x20;
	char td[COCO_DIGEST_STRLEN];
	coco_digest_bytes(COCO_SHA256, t.data, t.len, td);
	put(td, t.data, t.len);
	coco_buf_free(&t);
	json_t *te = json_deep_copy(e);
	json_object_set_new(te, "digest", json_string(td));
	dk = ring(k1, NULL);
	size_t before = n_store;
	assert_int_equal(transform(COCOIMG_CRYPT_DECRYPT, dk, te, &p, NULL, NULL, 0, NULL, 0),
	                 COCOIMG_EDIGEST);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "HMAC"));
	assert_int_equal(n_store, before);  /* nothing committed */
	cocoimg_keyring_free(dk);
	json_decref(te);

	json_decref(e);
	cocoimg_keyring_free(enc);
}

static void test_vector_descriptor(void **st)
{
	(void)st;
	coco_buf d = COCO_BUF_INIT, eb = COCO_BUF_INIT;
	load("descriptor.json", &d);
	load("layer_encrypted.bin", &eb);
	char dg[COCO_DIGEST_STRLEN];
	coco_digest_bytes(COCO_SHA256, eb.data, eb.len, dg);
	put(dg, eb.data, eb.len);
	json_t *j = json_loadb((char *)d.data, d.len, 0, NULL);
	assert_non_null(j);
	static const char *const k1[] = { "rsa_private_pkcs1.pem", NULL };
	static const char *const k2[] = { "ec_p256_private_sec1.der", NULL };
	static const char *const k3[] = { "rsa_cert.pem", "rsa_private_pkcs1.pem", NULL };
	const char *const *keys[] = { k1, k2, k3 };
	for (size_t i = 0; i < 3; i++) {
		cocoimg_keyring *kr = ring(keys[i], NULL);
		json_t *p = NULL;
		assert_int_equal(transform(COCOIMG_CRYPT_DECRYPT, kr, j, &p, NULL, NULL, 0, NULL, 0), 0);
		assert_string_equal(json_string_value(json_object_get(p, "mediaType")),
		                    "application/vnd.oci.image.layer.v1.tar");
		assert_string_equal(json_string_value(json_object_get(p, "digest")), plain_digest);
		assert_null(json_object_get(p, "annotations"));
		json_decref(p);
		cocoimg_keyring_free(kr);
	}
	/* describe */
	coco_desc cd;
	desc_from(j, &cd);
	json_t *info = coco_crypt_describe_layer(ctx, &cd);
	assert_string_equal(json_string_value(json_object_get(info, "cipher")), "AES_256_CTR_HMAC_SHA256");
	assert_int_equal(json_integer_value(json_object_get(info, "recipients")), 4);
	json_decref(info);
	json_decref(j);
	coco_buf_free(&d);
	coco_buf_free(&eb);
}

static void test_pkcs7_vector(void **st)
{
	(void)st;
	coco_buf der = COCO_BUF_INIT, want = COCO_BUF_INIT;
	load("pkcs7_rsa.der", &der);
	load("privopts.json", &want);
	static const char *const k[] = { "rsa_private_pkcs1.pem", "rsa_cert.pem", NULL };
	cocoimg_keyring *kr = ring(k, NULL);
	coco_buf out = COCO_BUF_INIT;
	assert_int_equal(coco_pkcs7_decrypt_one(der.data, der.len, kr, &out), 0);
	assert_int_equal(out.len, want.len);
	assert_memory_equal(out.data, want.data, want.len);
	coco_buf_free(&out);
	size_t n = 0;
	assert_int_equal(coco_pkcs7_describe(der.data, der.len, &n), 0);
	assert_int_equal(n, 1);
	/* our own encoding keeps the quirky parameters: 10 13 30 11 84 0c */
	static const char *const rc[] = { "pkcs7:rsa_cert.pem", NULL };
	cocoimg_keyring *enc = ring(NULL, rc);
	char *v = NULL;
	assert_int_equal(coco_kw_pkcs7.wrap(ctx, enc, "x", want.data, want.len, &v), 0);
	coco_buf raw = COCO_BUF_INIT;
	assert_int_equal(coco_b64_decode(v, strlen(v), &raw), 0);
	static const unsigned char quirk[] = { 0x10, 0x13, 0x30, 0x11, 0x84, 0x0c };
	assert_non_null(memmem(raw.data, raw.len, quirk, sizeof(quirk)));
	assert_int_equal(coco_pkcs7_decrypt_one(raw.data, raw.len, kr, &out), 0);
	assert_memory_equal(out.data, want.data, want.len);
	/* truncations never crash */
	for (size_t l = 0; l < der.len; l += 7) {
		coco_buf o2 = COCO_BUF_INIT;
		coco_pkcs7_decrypt_one(der.data, l, kr, &o2);
		coco_buf_free(&o2);
	}
	coco_buf_free(&out);
	coco_buf_free(&raw);
	free(v);
	cocoimg_keyring_free(enc);
	cocoimg_keyring_free(kr);
	coco_buf_free(&der);
	coco_buf_free(&want);
}

static void test_selection(void **st)
{
	(void)st;
	static const char *const rc[] = { "jwe:rsa_public.pem", NULL };
	cocoimg_keyring *enc = ring(NULL, rc);
	json_t *e = NULL;
	int sel[] = { 5 };
	assert_int_equal(transform(COCOIMG_CRYPT_ENCRYPT, enc, plain_desc, &e, NULL, NULL, 0, sel, 1),
	                 COCOIMG_EINVAL);
	int last[] = { -1 };
	assert_int_equal(transform(COCOIMG_CRYPT_ENCRYPT, enc, plain_desc, &e, NULL, NULL, 0, last, 1), 0);
	assert_non_null(strstr(json_string_value(json_object_get(e, "mediaType")), "+encrypted"));
	json_decref(e);
	/* an unencryptable type */
	json_t *odd = json_deep_copy(plain_desc);
	json_object_set_new(odd, "mediaType", json_string("application/vnd.example.thing"));
	e = NULL;
	assert_int_equal(transform(COCOIMG_CRYPT_ENCRYPT, enc, odd, &e, NULL, NULL, 0, NULL, 0),
	                 COCOIMG_EUNSUPPORTED);
	json_decref(odd);
	/* decrypting a plaintext layer copies it */
	assert_int_equal(transform(COCOIMG_CRYPT_DECRYPT, enc, plain_desc, &e, NULL, NULL, 0, NULL, 0), 0);
	check_plain(e);
	json_decref(e);
	cocoimg_keyring_free(enc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_vector_descriptor),
		cmocka_unit_test(test_pkcs7_vector),
		cmocka_unit_test(test_selection),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
