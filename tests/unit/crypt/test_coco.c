/* Unit tests for crypt/coco.c: CoCo annotation packets, coco: and
 * coco-keys: keys, the key resolver callback. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../lib/tmpdir.h"
#include "base.h"
#include "crypt/coco.h"
#include "crypt/crypt.h"
#include "json.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ocicrypt interop vectors; tests run in the source root */
static char *vec(const char *name)
{
	return coco_asprintf("tests/data/ocicrypt-vectors/%s", name);
}

static void read_vec(const char *name, coco_buf *out)
{
	char *p = vec(name);
	assert_int_equal(coco_read_file(NULL, p, 1 << 20, out, COCOIMG_EIO), 0);
	free(p);
}

/* The annotation value of descriptor_coco.json. */
static char *vector_annotation(void)
{
	coco_buf b = COCO_BUF_INIT;
	read_vec("descriptor_coco.json", &b);
	json_t *d = json_loadb((char *)b.data, b.len, 0, NULL);
	assert_non_null(d);
	const char *v = json_string_value(json_object_get(json_object_get(d, "annotations"),
	                                                  COCO_AA_ANNOTATION));
	assert_non_null(v);
	char *r = coco_strdup(v);
	json_decref(d);
	coco_buf_free(&b);
	return r;
}

static void test_kid_paths(void **state)
{
	(void)state;
	struct { const char *kid; bool strict; const char *want; } c[] = {
		{ "kbs:///default/key/app1", true, "default/key/app1" },
		{ "kbs://kbs.example:8080/a/b/c", true, "a/b/c" },
		{ "kbs:///repo/type/tag?x=1&y=2", true, "repo/type/tag" },
		{ "kbs+pkcs11:///r/t/g", true, "r/t/g" },
		{ "kbs+:///r/t/g", true, NULL },
		{ "http:///r/t/g", true, NULL },
		{ "cc_kbc://127.0.0.1:8080/test_repo/key/id_1", false, "test_repo/key/id_1" },
		{ "cc_kbc://127.0.0.1:8080/test_repo/key/id_1", true, NULL },
		{ "/default/key/1", false, "default/key/1" },
		{ "default/key/1", false, "default/key/1" },
		{ "/default/key/1", true, NULL },
		{ "kbs:///a/b", true, NULL },
		{ "kbs:///a/b/c/d", true, NULL },
		{ "kbs://hostonly", true, NULL },
		{ "kbs:///kbs:///default/key/1", false, NULL },
		{ "kbs:///a b/c/d", true, NULL },
		{ "", false, NULL },
	};
	for (size_t i = 0; i < COCO_ARRAY_SIZE(c); i++) {
		char *p = coco_kid_resource_path(c[i].kid, c[i].strict);
		if (c[i].want) {
			assert_non_null(p);
			assert_string_equal(p, c[i].want);
		} else {
			assert_null(p);
		}
		free(p);
	}
}

static void test_packet_parse_vector(void **state)
{
	(void)state;
	coco_buf b = COCO_BUF_INIT;
	read_vec("coco_annotation_packet.json", &b);
	coco_packet p;
	assert_int_equal(coco_packet_parse(NULL, b.data, b.len, &p), 0);
	assert_string_equal(p.kid, "kbs:///default/key/vector1");
	assert_string_equal(p.wrap_type, "A256GCM");
	assert_int_equal(p.iv.len, 12);
	assert_int_equal(p.iv.data[0], 1);
	assert_int_equal(p.iv.data[11], 12);
	assert_null(p.version);
	coco_packet_clear(&p);
	coco_buf_free(&b);

	static const char *const bad[] = {
		"", "[]", "{}", "{\"kid\":1}", "{\"kid\":\"k\"}",
		"{\"kid\":\"k\",\"wrapped_data\":\"!!\",\"iv\":\"AAAA\"}",
		"{\"kid\":\"k\",\"wrapped_data\":\"AAAA\"}",
		"{\"kid\":\"k\",\"wrapped_data\":[256],\"iv\":\"AAAA\"}",
		"{\"kid\":\"k\",\"wrapped_data\":\"AAAA\",\"iv\":\"AAAA\",\"kid\":\"j\"}",
		"{\"kid\":\"k\",\"wrapped_data\":\"\",\"iv\":\"AAAA\"}",
		"{\"kid\":\"k\",\"wrapped_data\":\"AAAA\",\"iv\":\"AAAA\",\"annotations\":[]}",
	};
	for (size_t i = 0; i < COCO_ARRAY_SIZE(bad); i++) {
		assert_int_equal(coco_packet_parse(NULL, (const unsigned char *)bad[i], strlen(bad[i]), &p),
		                 COCOIMG_EBADIMAGE);
	}
}

static void test_vector_keys_file(void **state)
{
	(void)state;
	cocoimg_ctx *ctx;
	cocoimg_keyring *kr;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	assert_int_equal(cocoimg_keyring_new(&kr), 0);
	char *kf = vec("coco_offline_fs_kbc_keys.json");
	char *spec = coco_asprintf("coco-keys:%s", kf);
	assert_int_equal(coco_keyring_add_coco(ctx, kr, spec, false), 0);
	char *ann = vector_annotation();
	coco_buf opts = COCO_BUF_INIT, tried = COCO_BUF_INIT, want = COCO_BUF_INIT;
	assert_int_equal(coco_kw_coco.unwrap(ctx, kr, COCO_AA_ANNOTATION, ann, &opts, &tried), 0);
	read_vec("privopts.json", &want);
	assert_int_equal(opts.len, want.len);
	assert_memory_equal(opts.data, want.data, want.len);
	/* the wrapper only owns its exact annotation */
	assert_string_equal(coco_kw_coco.annotation, COCO_AA_ANNOTATION);
	assert_false(coco_kw_coco.prefix);
	opts.len = 0;
	assert_int_equal(coco_kw_coco.unwrap(ctx, kr, COCO_KP_ANNOTATION_PREFIX "other", ann, &opts,
	                                     &tried), COCOIMG_ENOKEY);
	coco_buf_free(&opts);
	coco_buf_free(&tried);
	coco_buf_free(&want);
	free(ann);
	free(spec);
	free(kf);
	cocoimg_keyring_free(kr);
	cocoimg_ctx_free(ctx);
}

static void test_wrong_kek(void **state)
{
	(void)state;
	cocoimg_ctx *ctx;
	cocoimg_keyring *kr;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	assert_int_equal(cocoimg_keyring_new(&kr), 0);
	/* right path, wrong key (the vector KEK with one byte changed) */
	const char *keys = "{\"default/key/vector1\":\"QUFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8=\"}";
	char *kf = test_tmp_file("wrong.json", keys, strlen(keys));
	char *spec = coco_asprintf("coco-keys:%s", kf);
	assert_int_equal(coco_keyring_add_coco(ctx, kr, spec, false), 0);
	char *ann = vector_annotation();
	coco_buf opts = COCO_BUF_INIT, tried = COCO_BUF_INIT;
	assert_int_equal(coco_kw_coco.unwrap(ctx, kr, COCO_AA_ANNOTATION, ann, &opts, &tried),
	                 COCOIMG_ENOKEY);
	assert_int_equal(opts.len, 0);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "kbs:///default/key/vector1"));
	assert_non_null(strstr(coco_buf_cstr(&tried), "kbs:///default/key/vector1"));
	assert_non_null(strstr(coco_buf_cstr(&tried), "wrong key"));
	assert_null(strstr(coco_buf_cstr(&tried), "QUFCQ0RF"));
	assert_null(strstr(cocoimg_ctx_last_error(ctx), "QUFCQ0RF"));

	/* a keys file without the entry */
	cocoimg_keyring_free(kr);
	assert_int_equal(cocoimg_keyring_new(&kr), 0);
	const char *other = "{\"default/key/other\":\"QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8=\"}";
	free(kf);
	kf = test_tmp_file("other.json", other, strlen(other));
	free(spec);
	spec = coco_asprintf("coco-keys:%s", kf);
	assert_int_equal(coco_keyring_add_coco(ctx, kr, spec, false), 0);
	tried.len = 0;
	assert_int_equal(coco_kw_coco.unwrap(ctx, kr, COCO_AA_ANNOTATION, ann, &opts, &tried),
	                 COCOIMG_ENOKEY);
	assert_non_null(strstr(coco_buf_cstr(&tried), "no entry default/key/vector1"));

	/* an element that is not base64 is a broken image */
	assert_int_equal(coco_kw_coco.unwrap(ctx, kr, COCO_AA_ANNOTATION, "@@@", &opts, &tried),
	                 COCOIMG_EBADIMAGE);
	coco_buf_free(&opts);
	coco_buf_free(&tried);
	free(ann);
	free(spec);
	free(kf);
	cocoimg_keyring_free(kr);
	cocoimg_ctx_free(ctx);
}

struct resolver_state {
	int calls;
	char kid[128];
	int ret;
	const unsigned char *key;
	size_t key_len;
};

static int resolver(const char *kid, unsigned char *key, size_t *key_len, void *payload)
{
	struct resolver_state *st = payload;
	st->calls++;
	snprintf(st->kid, sizeof(st->kid), "%s", kid);
	if (st->ret)
		return st->ret;
	assert_true(*key_len >= st->key_len);
	memcpy(key, st->key, st->key_len);
	*key_len = st->key_len;
	return 0;
}

static void test_vector_resolver(void **state)
{
	(void)state;
	cocoimg_ctx *ctx;
	cocoimg_keyring *kr;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	assert_int_equal(cocoimg_keyring_new(&kr), 0);
	unsigned char kek[32];
	for (int i = 0; i < 32; i++)
		kek[i] = (unsigned char)(0x40 + i);
	struct resolver_state st = { .key = kek, .key_len = 32 };
	assert_int_equal(cocoimg_keyring_set_resolver(NULL, resolver, &st), COCOIMG_EINVAL);
	/* no local means: the coco wrapper does nothing */
	char *ann = vector_annotation();
	coco_buf opts = COCO_BUF_INIT, tried = COCO_BUF_INIT, want = COCO_BUF_INIT;
	assert_int_equal(coco_kw_coco.unwrap(ctx, kr, COCO_AA_ANNOTATION, ann, &opts, &tried),
	                 COCOIMG_ENOKEY);
	assert_int_equal(st.calls, 0);
	assert_int_equal(cocoimg_keyring_set_resolver(kr, resolver, &st), 0);
	assert_int_equal(coco_kw_coco.unwrap(ctx, kr, COCO_AA_ANNOTATION, ann, &opts, &tried), 0);
	assert_int_equal(st.calls, 1);
	assert_string_equal(st.kid, "kbs:///default/key/vector1");
	read_vec("privopts.json", &want);
	assert_int_equal(opts.len, want.len);
	assert_memory_equal(opts.data, want.data, want.len);

	/* one call per kid and context: the answer is kept */
	opts.len = 0;
	assert_int_equal(coco_kw_coco.unwrap(ctx, kr, COCO_AA_ANNOTATION, ann, &opts, &tried), 0);
	assert_int_equal(st.calls, 1);

	/* resolver says no (a new context asks again; a refusal is kept too) */
	opts.len = 0;
	st.ret = COCOIMG_ENOKEY;
	cocoimg_ctx_free(ctx);
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	assert_int_equal(coco_kw_coco.unwrap(ctx, kr, COCO_AA_ANNOTATION, ann, &opts, &tried),
	                 COCOIMG_ENOKEY);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "vector1"));
	/* resolver stops the operation: any non-zero value but COCOIMG_ENOKEY */
	st.ret = COCOIMG_ECANCELLED;
	cocoimg_ctx_free(ctx);
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	assert_int_equal(coco_kw_coco.unwrap(ctx, kr, COCO_AA_ANNOTATION, ann, &opts, &tried),
	                 COCOIMG_ECANCELLED);
	st.ret = -1;
	coco_clearerr(ctx);   /* an earlier error would win over the cancellation */
	assert_int_equal(coco_kw_coco.unwrap(ctx, kr, COCO_AA_ANNOTATION, ann, &opts, &tried),
	                 COCOIMG_ECANCELLED);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "returned -1"));
	st.ret = 7;
	assert_int_equal(coco_kw_coco.unwrap(ctx, kr, COCO_AA_ANNOTATION, ann, &opts, &tried),
	                 COCOIMG_ECANCELLED);
	/* resolver gives a key of the wrong size */
	st.ret = 0;
	st.key_len = 16;
	tried.len = 0;
	cocoimg_ctx_free(ctx);
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	assert_int_equal(coco_kw_coco.unwrap(ctx, kr, COCO_AA_ANNOTATION, ann, &opts, &tried),
	                 COCOIMG_ENOKEY);
	assert_non_null(strstr(coco_buf_cstr(&tried), "wrong key"));
	/* removed again */
	assert_int_equal(cocoimg_keyring_set_resolver(kr, NULL, NULL), 0);
	assert_null(kr->resolver);
	coco_buf_free(&opts);
	coco_buf_free(&tried);
	coco_buf_free(&want);
	free(ann);
	cocoimg_keyring_free(kr);
	cocoimg_ctx_free(ctx);
}

/* The real packet of guest-components' ocicrypt-rs/data/sample_kbc_annotation.json
 * opened with the sample KBC's published KEK (ocicrypt.md 7.6). */
static void test_sample_kbc_packet(void **state)
{
	(void)state;
	static const char pkt[] =
		"{\"kid\":\"kbs:///default/key/1\",\"wrapped_data\":\"KxAFgXwa0y72Xdygub9lF00RVMtSRbYzvakIEASgi3Gvt1wGLkhKPXf0S033Jdi6vAN6zBM7d0xZSDo2JCeew0FeKwTYgdJfdcPhuEpZOpjhwIsidyeiunzp0J/crvI1tSPZJw4DPHZN2eQtg71rDzIbuDM5ATheiDM9/YJv+k+n6Nv6/pRb8qynNzbWFz7Q8wEo1ZZlL6UftOBJ6j9GuEOTM2k/B+5sMA2VhGHSzDsKA1mn0qzcn2HJg4GcmxwDpJwzm5n7B4iIJ3A0umrQAjQ=\",\"iv\":\"3PQMqtjbR4hxCr83\",\"wrap_type\":\"A256GCM\"}";
	static const char want[] =
		"{\"symkey\":\"1jL2jJV0Oyz2nmPkLtqulW6cKcpIUN5FpILcVnP5Uqs=\",\"digest\":\"sha256:18be1897f9402f27c8c0eba7c86e0c00f5656db62961b5949d55f9565c42c6e7\",\"cipheroptions\":{\"nonce\":\"r10F9oaCu+nWFXfod3l83g==\"}}";
	static const unsigned char kek[32] = {
		0xd9, 0x9b, 0x77, 0x05, 0xb0, 0xba, 0x7a, 0x16, 0x82, 0x95, 0xb3, 0xa3, 0x36, 0x72, 0x70, 0xb0,
		0xdd, 0x9b, 0x37, 0x1b, 0xf5, 0x14, 0xca, 0x8b, 0x9b, 0xa7, 0xf0, 0xa3, 0x37, 0x11, 0xda, 0xea,
	};
	cocoimg_ctx *ctx;
	cocoimg_keyring *kr;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	assert_int_equal(cocoimg_keyring_new(&kr), 0);
	struct resolver_state st = { .key = kek, .key_len = 32 };
	cocoimg_keyring_set_resolver(kr, resolver, &st);
	char *ann = coco_b64_encode((const unsigned char *)pkt, strlen(pkt));
	coco_buf opts = COCO_BUF_INIT, tried = COCO_BUF_INIT;
	assert_int_equal(coco_packet_unwrap_local(ctx, kr, ann, &opts, &tried), 0);
	assert_int_equal(opts.len, strlen(want));
	assert_memory_equal(opts.data, want, strlen(want));
	assert_string_equal(st.kid, "kbs:///default/key/1");
	coco_buf_free(&opts);
	coco_buf_free(&tried);
	free(ann);
	cocoimg_keyring_free(kr);
	cocoimg_ctx_free(ctx);
}

static char *keys_file_for(const char *path, const unsigned char *kek)
{
	char *b = coco_b64_encode(kek, 32);
	char *doc = coco_asprintf("{\"%s\":\"%s\"}", path, b);
	char *name = coco_asprintf("keys-%s.json", strrchr(path, '/') + 1);
	char *f = test_tmp_file(name, doc, strlen(doc));
	free(b);
	free(doc);
	free(name);
	return f;
}

static void test_round_trip(void **state)
{
	(void)state;
	cocoimg_ctx *ctx;
	cocoimg_keyring *enc, *dec;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	assert_int_equal(cocoimg_keyring_new(&enc), 0);
	unsigned char k1[32], k2[32];
	for (int i = 0; i < 32; i++) {
		k1[i] = (unsigned char)(i * 7 + 1);
		k2[i] = (unsigned char)(i * 13 + 5);
	}
	char *f1 = test_tmp_file("kek1", k1, 32), *f2 = test_tmp_file("kek2", k2, 32);
	char *s1 = coco_asprintf("coco:kbs:///default/key/app1:%s", f1);
	char *s2 = coco_asprintf("coco:kbs://kbs.example:8080/other/key/app2:%s", f2);
	assert_int_equal(coco_keyring_add_coco(ctx, enc, s1, true), 0);
	assert_int_equal(coco_keyring_add_coco(ctx, enc, s2, true), 0);
	char **names = coco_kw_coco.annotations(enc);
	assert_non_null(names);
	assert_string_equal(names[0], COCO_AA_ANNOTATION);
	assert_null(names[1]);
	free(names[0]);
	free(names);

	const char *opts = "{\"symkey\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\",\"digest\":\"\",\"cipheroptions\":{\"nonce\":\"8PHy8/T19vf4+fr7/P3+/w==\"}}";
	char *value = NULL;
	assert_int_equal(coco_kw_coco.wrap(ctx, enc, COCO_AA_ANNOTATION, (const unsigned char *)opts,
	                                   strlen(opts), &value), 0);
	assert_non_null(value);
	char *comma = strchr(value, ',');
	assert_non_null(comma);
	assert_null(strchr(comma + 1, ','));
	/* the packet looks exactly like coco_keyprovider's */
	coco_buf pk = COCO_BUF_INIT;
	assert_int_equal(coco_b64_decode(value, (size_t)(comma - value), &pk), 0);
	const char *prefix = "{\"kid\":\"kbs:///default/key/app1\",\"wrapped_data\":\"";
	assert_memory_equal(pk.data, prefix, strlen(prefix));
	json_t *j = json_loadb((char *)pk.data, pk.len, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_object_size(j), 4);
	assert_string_equal(json_string_value(json_object_get(j, "wrap_type")), "A256GCM");
	assert_int_equal(json_string_length(json_object_get(j, "iv")), 16); /* 12 bytes */
	assert_null(strstr((char *)pk.data, "symkey"));
	json_decref(j);
	coco_buf_free(&pk);
	/* other annotation names get nothing */
	char *none = (char *)"x";
	assert_int_equal(coco_kw_coco.wrap(ctx, enc, COCO_KP_ANNOTATION_PREFIX "x",
	                                   (const unsigned char *)opts, strlen(opts), &none), 0);
	assert_null(none);

	/* each recipient's KEK opens its packet through a keys file */
	char *kf1 = keys_file_for("default/key/app1", k1), *kf2 = keys_file_for("other/key/app2", k2);
	const char *files[2] = { kf1, kf2 };
	for (int i = 0; i < 2; i++) {
		assert_int_equal(cocoimg_keyring_new(&dec), 0);
		char *spec = coco_asprintf("coco-keys:%s", files[i]);
		assert_int_equal(coco_keyring_add_coco(ctx, dec, spec, false), 0);
		coco_buf out = COCO_BUF_INIT, tried = COCO_BUF_INIT;
		assert_int_equal(coco_kw_coco.unwrap(ctx, dec, COCO_AA_ANNOTATION, value, &out, &tried), 0);
		assert_int_equal(out.len, strlen(opts));
		assert_memory_equal(out.data, opts, out.len);
		coco_buf_free(&out);
		coco_buf_free(&tried);
		free(spec);
		cocoimg_keyring_free(dec);
	}
	/* the encryption keyring (coco: KEKs) opens them too */
	coco_buf out = COCO_BUF_INIT, tried = COCO_BUF_INIT;
	assert_int_equal(coco_kw_coco.unwrap(ctx, enc, COCO_AA_ANNOTATION, value, &out, &tried), 0);
	assert_int_equal(out.len, strlen(opts));
	coco_buf_free(&out);
	coco_buf_free(&tried);

	free(value);
	free(kf1);
	free(kf2);
	free(s1);
	free(s2);
	free(f1);
	free(f2);
	cocoimg_keyring_free(enc);
	cocoimg_ctx_free(ctx);
}

/* Historical and versioned packet forms (ocicrypt.md 7.1, 7.6). */
static char *make_packet(const unsigned char *kek, const char *wrap_type, bool arrays,
                         const char *extra, const char *opts)
{
	bool ctr = !strcmp(wrap_type, "A256CTR") || !strcmp(wrap_type, "aes_256_ctr");
	unsigned char iv[16];
	for (int i = 0; i < 16; i++)
		iv[i] = (unsigned char)(0xa0 + i);
	size_t ivl = ctr ? 16 : 12, n = strlen(opts);
	unsigned char *ct = malloc(n + 16);
	int l1 = 0, l2 = 0;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	assert_true(EVP_EncryptInit_ex(c, ctr ? EVP_aes_256_ctr() : EVP_aes_256_gcm(), NULL, kek, iv));
	assert_true(EVP_EncryptUpdate(c, ct, &l1, (const unsigned char *)opts, (int)n));
	assert_true(EVP_EncryptFinal_ex(c, ct + l1, &l2));
	size_t cl = (size_t)(l1 + l2);
	if (!ctr) {
		assert_true(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, ct + cl));
		cl += 16;
	}
	EVP_CIPHER_CTX_free(c);
	json_t *j = json_object();
	json_object_set_new(j, "kid", json_string("kbs:///default/key/hist"));
	if (arrays) {
		json_t *a = json_array(), *b = json_array();
		for (size_t i = 0; i < cl; i++)
			json_array_append_new(a, json_integer(ct[i]));
		for (size_t i = 0; i < ivl; i++)
			json_array_append_new(b, json_integer(iv[i]));
		json_object_set_new(j, "wrapped_data", a);
		json_object_set_new(j, "iv", b);
	} else {
		char *a = coco_b64_encode(ct, cl), *b = coco_b64_encode(iv, ivl);
		json_object_set_new(j, "wrapped_data", json_string(a));
		json_object_set_new(j, "iv", json_string(b));
		free(a);
		free(b);
	}
	json_object_set_new(j, "wrap_type", json_string(wrap_type));
	if (extra) {
		json_t *e = json_loads(extra, 0, NULL);
		assert_non_null(e);
		json_object_update(j, e);
		json_decref(e);
	}
	char *txt = coco_json_dump(j);
	char *b64 = coco_b64_encode((unsigned char *)txt, strlen(txt));
	json_decref(j);
	free(txt);
	free(ct);
	return b64;
}

static void test_packet_forms(void **state)
{
	(void)state;
	unsigned char kek[32], bad[32];
	for (int i = 0; i < 32; i++) {
		kek[i] = (unsigned char)(0x11 * (i % 15));
		bad[i] = (unsigned char)(kek[i] ^ 0x80);
	}
	const char *opts = "{\"symkey\":\"x\",\"digest\":\"\",\"cipheroptions\":{}}";
	cocoimg_ctx *ctx;
	cocoimg_keyring *kr;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	assert_int_equal(cocoimg_keyring_new(&kr), 0);
	char *kf = keys_file_for("default/key/hist", kek);
	char *spec = coco_asprintf("coco-keys:%s", kf);
	assert_int_equal(coco_keyring_add_coco(ctx, kr, spec, false), 0);
	struct { const char *wt; bool arrays; const char *extra; int want; } c[] = {
		{ "A256GCM", false, NULL, 0 },
		{ "A256CTR", false, NULL, 0 },
		{ "aes_256_gcm", true, NULL, 0 },          /* 2021-2022: number arrays */
		{ "aes_256_ctr", true, NULL, 0 },
		{ "A256GCM", false, "{\"version\":\"0.1.0\",\"provider\":\"kbs\",\"provider_settings\":{},\"annotations\":{}}", 0 },
		{ "A256GCM", false, "{\"version\":\"0.2.0\"}", COCOIMG_ENOKEY },
		{ "A256GCM", false, "{\"provider\":\"aliyun\"}", COCOIMG_ENOKEY },
		{ "A128KW", false, NULL, COCOIMG_ENOKEY },
	};
	for (size_t i = 0; i < COCO_ARRAY_SIZE(c); i++) {
		char *v = make_packet(kek, c[i].wt, c[i].arrays, c[i].extra, opts);
		coco_buf out = COCO_BUF_INIT, tried = COCO_BUF_INIT;
		assert_int_equal(coco_packet_unwrap_local(ctx, kr, v, &out, &tried), c[i].want);
		if (!c[i].want) {
			assert_int_equal(out.len, strlen(opts));
			assert_memory_equal(out.data, opts, out.len);
		} else {
			assert_int_equal(out.len, 0);
			assert_true(tried.len > 0);
		}
		coco_buf_free(&out);
		coco_buf_free(&tried);
		free(v);
	}
	/* CTR with a wrong key: no integrity, caught by the JSON check */
	char *v = make_packet(bad, "A256CTR", false, NULL, opts);
	coco_buf out = COCO_BUF_INIT, tried = COCO_BUF_INIT;
	assert_int_equal(coco_packet_unwrap_local(ctx, kr, v, &out, &tried), COCOIMG_ENOKEY);
	free(v);
	/* a list: bad element first, good second */
	char *v1 = make_packet(bad, "A256GCM", false, NULL, opts);
	char *v2 = make_packet(kek, "A256GCM", false, NULL, opts);
	char *list = coco_asprintf("%s,%s", v1, v2);
	tried.len = 0;
	assert_int_equal(coco_packet_unwrap_local(ctx, kr, list, &out, &tried), 0);
	assert_int_equal(out.len, strlen(opts));
	/* a packet that is not JSON is skipped, not fatal */
	char *junk = coco_b64_encode((const unsigned char *)"not json", 8);
	free(list);
	list = coco_asprintf("%s,%s", junk, v2);
	out.len = 0;
	assert_int_equal(coco_packet_unwrap_local(ctx, kr, list, &out, &tried), 0);
	free(junk);
	free(list);
	free(v1);
	free(v2);
	coco_buf_free(&out);
	coco_buf_free(&tried);
	free(spec);
	free(kf);
	cocoimg_keyring_free(kr);
	cocoimg_ctx_free(ctx);
}

/* Review regressions: a GCM packet whose IV is not 96 bits is refused
 * even when it would decrypt (CDH cannot open it); control characters
 * in packet strings are refused before they reach any message. */
static void test_packet_strictness(void **state)
{
	(void)state;
	unsigned char kek[32], iv[16];
	for (int i = 0; i < 32; i++)
		kek[i] = (unsigned char)(i * 7);
	for (int i = 0; i < 16; i++)
		iv[i] = (unsigned char)(0x30 + i);
	const char *opts = "{\"symkey\":\"x\",\"digest\":\"\",\"cipheroptions\":{}}";
	unsigned char ct[128];
	int l1 = 0, l2 = 0;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	assert_true(EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL));
	assert_true(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 16, NULL));
	assert_true(EVP_EncryptInit_ex(c, NULL, NULL, kek, iv));
	assert_true(EVP_EncryptUpdate(c, ct, &l1, (const unsigned char *)opts, (int)strlen(opts)));
	assert_true(EVP_EncryptFinal_ex(c, ct + l1, &l2));
	assert_true(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, ct + l1 + l2));
	EVP_CIPHER_CTX_free(c);
	char *wd = coco_b64_encode(ct, (size_t)(l1 + l2 + 16)), *ivb = coco_b64_encode(iv, 16);
	char *pkt = coco_asprintf("{\"kid\":\"kbs:///default/key/strict\",\"wrapped_data\":\"%s\","
	                          "\"iv\":\"%s\",\"wrap_type\":\"A256GCM\"}", wd, ivb);
	char *ann = coco_b64_encode((unsigned char *)pkt, strlen(pkt));
	cocoimg_ctx *ctx;
	cocoimg_keyring *kr;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	assert_int_equal(cocoimg_keyring_new(&kr), 0);
	char *kf = keys_file_for("default/key/strict", kek);
	char *spec = coco_asprintf("coco-keys:%s", kf);
	assert_int_equal(coco_keyring_add_coco(ctx, kr, spec, false), 0);
	coco_buf out = COCO_BUF_INIT, tried = COCO_BUF_INIT;
	assert_int_equal(coco_packet_unwrap_local(ctx, kr, ann, &out, &tried), COCOIMG_ENOKEY);
	assert_int_equal(out.len, 0);
	assert_non_null(strstr(coco_buf_cstr(&tried), "iv is 16 bytes"));
	/* control characters in the kid */
	const char *evil = "{\"kid\":\"kbs:///a/b/c\\u001b[2J\",\"wrapped_data\":\"AAAA\",\"iv\":\"AAAA\"}";
	coco_packet p;
	assert_int_equal(coco_packet_parse(ctx, (const unsigned char *)evil, strlen(evil), &p),
	                 COCOIMG_EBADIMAGE);
	assert_null(strchr(cocoimg_ctx_last_error(ctx), 0x1b));
	coco_buf_free(&out);
	coco_buf_free(&tried);
	free(spec);
	free(kf);
	free(ann);
	free(pkt);
	free(wd);
	free(ivb);
	cocoimg_keyring_free(kr);
	cocoimg_ctx_free(ctx);
}

static void test_add_errors(void **state)
{
	(void)state;
	cocoimg_ctx *ctx;
	cocoimg_keyring *kr;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	assert_int_equal(cocoimg_keyring_new(&kr), 0);
	unsigned char k[33] = { 0 };
	char *f32 = test_tmp_file("k32", k, 32), *f31 = test_tmp_file("k31", k, 31);
	char *s;

	s = coco_asprintf("coco:%s", f32);   /* no KID */
	assert_int_equal(coco_keyring_add_coco(ctx, kr, s, true), COCOIMG_EINVAL);
	free(s);
	s = coco_asprintf("coco:https://kbs/a/b/c:%s", f32);
	assert_int_equal(coco_keyring_add_coco(ctx, kr, s, true), COCOIMG_EINVAL);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "https://kbs/a/b/c"));
	free(s);
	s = coco_asprintf("coco:kbs:///a/b/c:%s", f31);
	assert_int_equal(coco_keyring_add_coco(ctx, kr, s, true), COCOIMG_ECONFIG);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), f31));
	free(s);
	assert_int_equal(coco_keyring_add_coco(ctx, kr, "coco:kbs:///a/b/c:/nonexistent/kek", true),
	                 COCOIMG_ECONFIG);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "/nonexistent/kek"));
	assert_int_equal(coco_keyring_add_coco(ctx, kr, "coco:kbs:///a/b/c:", true), COCOIMG_EINVAL);
	assert_int_equal(kr->n_keys, 0);
	s = coco_asprintf("coco:kbs:///a/b/c:%s", f32);
	assert_int_equal(coco_keyring_add_coco(ctx, kr, s, true), 0);
	assert_int_equal(kr->n_keys, 1);
	assert_int_equal(kr->keys[0].kind, COCO_KEY_COCO_KEK);
	assert_string_equal(kr->keys[0].kid, "kbs:///a/b/c");
	assert_string_equal(kr->keys[0].label, "coco:kbs:///a/b/c");
	free(s);

	/* keys files */
	const char *secretish = "{\"a/b/c\": \"SECRETSECRET\" garbage";
	char *bad = test_tmp_file("bad.json", secretish, strlen(secretish));
	s = coco_asprintf("coco-keys:%s", bad);
	assert_int_equal(coco_keyring_add_coco(ctx, kr, s, false), COCOIMG_ECONFIG);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), bad));
	assert_null(strstr(cocoimg_ctx_last_error(ctx), "SECRET"));
	assert_int_equal(coco_keyring_add_coco(ctx, kr, s, true), COCOIMG_EINVAL);
	free(s);
	const char *notb64 = "{\"a/b/c\":\"***\"}";
	char *nb = test_tmp_file("nb.json", notb64, strlen(notb64));
	s = coco_asprintf("coco-keys:%s", nb);
	assert_int_equal(coco_keyring_add_coco(ctx, kr, s, false), COCOIMG_ECONFIG);
	assert_null(strstr(cocoimg_ctx_last_error(ctx), "***"));
	free(s);
	const char *arr = "[1]";
	char *af = test_tmp_file("arr.json", arr, strlen(arr));
	s = coco_asprintf("coco-keys:%s", af);
	assert_int_equal(coco_keyring_add_coco(ctx, kr, s, false), COCOIMG_ECONFIG);
	free(s);
	assert_int_equal(coco_keyring_add_coco(ctx, kr, "coco-keys:/nonexistent/keys.json", false),
	                 COCOIMG_ECONFIG);
	assert_int_equal(coco_keyring_add_coco(ctx, kr, "coco-keys:", false), COCOIMG_EINVAL);
	assert_int_equal(kr->n_keys, 1);

	free(f32);
	free(f31);
	free(bad);
	free(nb);
	free(af);
	cocoimg_keyring_free(kr);
	cocoimg_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kid_paths),
		cmocka_unit_test(test_packet_parse_vector),
		cmocka_unit_test(test_vector_keys_file),
		cmocka_unit_test(test_wrong_kek),
		cmocka_unit_test(test_vector_resolver),
		cmocka_unit_test(test_sample_kbc_packet),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_packet_forms),
		cmocka_unit_test(test_packet_strictness),
		cmocka_unit_test(test_add_errors),
	};
	return cmocka_run_group_tests(tests, test_tmpdir_setup, test_tmpdir_teardown);
}
