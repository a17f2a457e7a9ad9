/* Unit tests for the public-API conventions: the options version rule
 * (0 and newer-than-known refused, the current version accepted), the
 * cocoimg_*_options_init() functions, and the entry prologue that clears
 * the context's last error. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cocoimg.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cocoimg_ctx *ctx;
static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/coco-api.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	return cocoimg_ctx_new(&ctx);
}

static int teardown(void **state)
{
	(void)state;
	cocoimg_ctx_free(ctx);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static bool said(const char *s)
{
	return strstr(cocoimg_ctx_last_error(ctx), s) != NULL;
}

/* An image that does not exist: with a good options version an operation
 * gets past the version check and fails on the image instead. */
static char *missing_image(void)
{
	static char ref[128];
	snprintf(ref, sizeof(ref), "oci:%s/nosuch:v1", dir);
	return ref;
}

/* The three cases of the rule for one operation: op(version) is called
 * with 0, the current version and current + 1. */
static void check_rule(int (*op)(unsigned), unsigned current, const char *type)
{
	assert_int_equal(op(0), COCOIMG_EINVAL);
	assert_true(said(type));
	assert_true(said("version 0"));
	char newer[32];
	snprintf(newer, sizeof(newer), "version %u is newer", current + 1);
	assert_int_equal(op(current + 1), COCOIMG_EINVAL);
	assert_true(said(type));
	assert_true(said(newer));
	int rc = op(current);
	assert_int_not_equal(rc, 0);   /* the image does not exist */
	assert_false(said(type));      /* ... but the options were accepted */
}

static int copy_v(unsigned v)
{
	cocoimg_copy_options o = COCOIMG_COPY_OPTIONS_INIT;
	char dst[128];
	o.version = v;
	snprintf(dst, sizeof(dst), "oci:%s/out:v1", dir);
	return cocoimg_copy(ctx, missing_image(), dst, &o, NULL);
}

static int unpack_v(unsigned v)
{
	cocoimg_unpack_options o = COCOIMG_UNPACK_OPTIONS_INIT;
	char root[128];
	o.version = v;
	snprintf(root, sizeof(root), "%s/rootfs", dir);
	return cocoimg_unpack(ctx, missing_image(), root, &o, NULL);
}

static int unpack_layer_v(unsigned v)
{
	cocoimg_unpack_options o = COCOIMG_UNPACK_OPTIONS_INIT;
	o.version = v;
	return cocoimg_unpack_layer(ctx, missing_image(), 0, dir, &o, NULL);
}

static int sign_v(unsigned v)
{
	cocoimg_sign_options o = COCOIMG_SIGN_OPTIONS_INIT;
	char key[128];
	o.version = v;
	snprintf(key, sizeof(key), "%s/nosuch.key", dir);
	o.key_path = key;
	return cocoimg_sign(ctx, missing_image(), &o, NULL);
}

static const char manifest[] = "{\"schemaVersion\":2}";
static const char reject[] = "{\"default\":[{\"type\":\"reject\"}]}";

static int verify_blobs_v(unsigned v)
{
	cocoimg_verify_input in = COCOIMG_VERIFY_INPUT_INIT;
	in.version = v;
	in.image = "docker://example.com/app:v1";
	in.manifest = (const unsigned char *)manifest;
	in.manifest_len = strlen(manifest);
	in.policy_json = reject;
	in.policy_json_len = strlen(reject);
	return cocoimg_verify_blobs(ctx, &in, NULL);
}

static int verify_blob_v(unsigned v)
{
	cocoimg_verify_blob_options o = COCOIMG_VERIFY_BLOB_OPTIONS_INIT;
	char path[128];
	o.version = v;
	snprintf(path, sizeof(path), "%s/nosuch.bundle", dir);
	o.bundle_path = path;
	o.key_path = path;
	o.insecure_ignore_tlog = 1;
	return cocoimg_verify_blob(ctx, path, &o, NULL);
}

static void test_version_copy(void **state)
{
	(void)state;
	check_rule(copy_v, COCOIMG_COPY_OPTIONS_VERSION, "cocoimg_copy_options");
}

static void test_version_unpack(void **state)
{
	(void)state;
	check_rule(unpack_v, COCOIMG_UNPACK_OPTIONS_VERSION, "cocoimg_unpack_options");
}

static void test_version_unpack_layer(void **state)
{
	(void)state;
	check_rule(unpack_layer_v, COCOIMG_UNPACK_OPTIONS_VERSION, "cocoimg_unpack_options");
}

static void test_version_sign(void **state)
{
	(void)state;
	check_rule(sign_v, COCOIMG_SIGN_OPTIONS_VERSION, "cocoimg_sign_options");
}

static void test_version_verify_blob(void **state)
{
	(void)state;
	check_rule(verify_blob_v, COCOIMG_VERIFY_BLOB_OPTIONS_VERSION, "cocoimg_verify_blob_options");
}

static void test_version_verify_blobs(void **state)
{
	(void)state;
	check_rule(verify_blobs_v, COCOIMG_VERIFY_INPUT_VERSION, "cocoimg_verify_input");
	assert_int_equal(verify_blobs_v(COCOIMG_VERIFY_INPUT_VERSION), COCOIMG_EPOLICY);
}

/* NULL options are the defaults, never a version error. */
static void test_null_options(void **state)
{
	(void)state;
	char root[128];
	snprintf(root, sizeof(root), "%s/rootfs", dir);
	assert_int_not_equal(cocoimg_unpack(ctx, missing_image(), root, NULL, NULL), 0);
	assert_false(said("version"));
	assert_int_not_equal(cocoimg_copy(ctx, missing_image(), missing_image(), NULL, NULL), 0);
	assert_false(said("version"));
}

static void test_options_init(void **state)
{
	(void)state;
	cocoimg_copy_options c;
	memset(&c, 0x5a, sizeof(c));
	assert_int_equal(cocoimg_copy_options_init(&c, COCOIMG_COPY_OPTIONS_VERSION), 0);
	assert_int_equal(c.version, COCOIMG_COPY_OPTIONS_VERSION);
	assert_int_equal(c.multi_arch, COCOIMG_MULTI_ARCH_SYSTEM);
	assert_int_equal(c.crypt_mode, COCOIMG_CRYPT_NONE);
	assert_null(c.keys);
	assert_null(c.encrypt_layers);
	assert_int_equal(c.n_encrypt_layers, 0);
	assert_null(c.remove_recipients);
	assert_int_equal(c.n_remove_recipients, 0);
	assert_int_equal(c.collect_stats, 0);

	cocoimg_unpack_options u;
	memset(&u, 0x5a, sizeof(u));
	assert_int_equal(cocoimg_unpack_options_init(&u, COCOIMG_UNPACK_OPTIONS_VERSION), 0);
	assert_int_equal(u.version, COCOIMG_UNPACK_OPTIONS_VERSION);
	assert_null(u.keyring);
	assert_null(u.policy);
	assert_int_equal(u.verify, 0);
	assert_null(u.platform);
	assert_int_equal(u.parallel, 0);
	assert_int_equal(u.collect_stats, 0);
	assert_int_equal(u.flags, 0);

	cocoimg_sign_options s;
	memset(&s, 0x5a, sizeof(s));
	assert_int_equal(cocoimg_sign_options_init(&s, COCOIMG_SIGN_OPTIONS_VERSION), 0);
	assert_int_equal(s.version, COCOIMG_SIGN_OPTIONS_VERSION);
	assert_null(s.key_path);
	assert_null(s.key_pem);
	assert_int_equal(s.key_pem_len, 0);
	assert_null(s.passphrase_file);
	assert_null(s.passphrase);
	assert_null(s.sign_identity);
	assert_int_equal(s.recursive, 0);
	assert_int_equal(s.bundle_format, COCOIMG_SIGN_LEGACY);
	assert_null(s.rekor_url);
	assert_null(s.fulcio_url);
	assert_null(s.identity_token);
	/* a version 3 caller's struct ends before fulcio_url */
	memset(&s, 0x5a, sizeof(s));
	assert_int_equal(cocoimg_sign_options_init(&s, 3), 0);
	assert_null(s.rekor_url);
	assert_ptr_equal(s.fulcio_url, (const char *)(uintptr_t)0x5a5a5a5a5a5a5a5aULL);
	/* a version 2 caller's struct ends before rekor_url */
	memset(&s, 0x5a, sizeof(s));
	assert_int_equal(cocoimg_sign_options_init(&s, 2), 0);
	assert_int_equal(s.bundle_format, COCOIMG_SIGN_LEGACY);
	assert_ptr_equal(s.rekor_url, (const char *)(uintptr_t)0x5a5a5a5a5a5a5a5aULL);
	/* a version 1 caller's struct ends before bundle_format: init must not
	 * write past it */
	memset(&s, 0x5a, sizeof(s));
	assert_int_equal(cocoimg_sign_options_init(&s, 1), 0);
	assert_int_equal(s.version, 1);
	assert_int_equal(s.recursive, 0);
	assert_int_equal(s.bundle_format, 0x5a5a5a5a);

	cocoimg_verify_input v;
	memset(&v, 0x5a, sizeof(v));
	assert_int_equal(cocoimg_verify_input_init(&v, COCOIMG_VERIFY_INPUT_VERSION), 0);
	assert_int_equal(v.version, COCOIMG_VERIFY_INPUT_VERSION);
	assert_null(v.image);
	assert_null(v.manifest);
	assert_int_equal(v.manifest_len, 0);
	assert_null(v.signatures);
	assert_null(v.signature_lens);
	assert_int_equal(v.n_signatures, 0);
	assert_null(v.policy_path);
	assert_null(v.policy_json);
	assert_int_equal(v.policy_json_len, 0);
	assert_int_equal(v.now, 0);

	cocoimg_verify_blob_options b;
	memset(&b, 0x5a, sizeof(b));
	assert_int_equal(cocoimg_verify_blob_options_init(&b, COCOIMG_VERIFY_BLOB_OPTIONS_VERSION), 0);
	assert_int_equal(b.version, COCOIMG_VERIFY_BLOB_OPTIONS_VERSION);
	assert_null(b.bundle_path);
	assert_null(b.key_path);
	assert_null(b.identity);
	assert_null(b.identity_regexp);
	assert_null(b.issuer);
	assert_null(b.issuer_regexp);
	assert_null(b.trusted_root_path);
	assert_int_equal(b.insecure_ignore_tlog, 0);
}

/* 0, newer than known and NULL are refused, and the struct is untouched. */
static void test_options_init_refused(void **state)
{
	(void)state;
	cocoimg_copy_options c;
	memset(&c, 0x5a, sizeof(c));
	unsigned poison = c.version;
	assert_int_equal(cocoimg_copy_options_init(&c, 0), COCOIMG_EINVAL);
	assert_int_equal(cocoimg_copy_options_init(&c, COCOIMG_COPY_OPTIONS_VERSION + 1), COCOIMG_EINVAL);
	assert_int_equal(c.version, poison);
	assert_int_equal(cocoimg_copy_options_init(NULL, COCOIMG_COPY_OPTIONS_VERSION), COCOIMG_EINVAL);

	cocoimg_unpack_options u;
	assert_int_equal(cocoimg_unpack_options_init(&u, 0), COCOIMG_EINVAL);
	assert_int_equal(cocoimg_unpack_options_init(&u, COCOIMG_UNPACK_OPTIONS_VERSION + 1), COCOIMG_EINVAL);
	assert_int_equal(cocoimg_unpack_options_init(NULL, COCOIMG_UNPACK_OPTIONS_VERSION), COCOIMG_EINVAL);

	cocoimg_sign_options s;
	assert_int_equal(cocoimg_sign_options_init(&s, 0), COCOIMG_EINVAL);
	assert_int_equal(cocoimg_sign_options_init(&s, COCOIMG_SIGN_OPTIONS_VERSION + 1), COCOIMG_EINVAL);
	assert_int_equal(cocoimg_sign_options_init(NULL, COCOIMG_SIGN_OPTIONS_VERSION), COCOIMG_EINVAL);

	cocoimg_verify_input v;
	assert_int_equal(cocoimg_verify_input_init(&v, 0), COCOIMG_EINVAL);
	assert_int_equal(cocoimg_verify_input_init(&v, COCOIMG_VERIFY_INPUT_VERSION + 1), COCOIMG_EINVAL);
	assert_int_equal(cocoimg_verify_input_init(NULL, COCOIMG_VERIFY_INPUT_VERSION), COCOIMG_EINVAL);

	cocoimg_verify_blob_options b;
	assert_int_equal(cocoimg_verify_blob_options_init(&b, 0), COCOIMG_EINVAL);
	assert_int_equal(cocoimg_verify_blob_options_init(&b, COCOIMG_VERIFY_BLOB_OPTIONS_VERSION + 1),
	                 COCOIMG_EINVAL);
	assert_int_equal(cocoimg_verify_blob_options_init(NULL, COCOIMG_VERIFY_BLOB_OPTIONS_VERSION),
	                 COCOIMG_EINVAL);
}

/* A struct from _options_init() is accepted by its operation. */
static void test_options_init_accepted(void **state)
{
	(void)state;
	cocoimg_unpack_options u;
	assert_int_equal(cocoimg_unpack_options_init(&u, COCOIMG_UNPACK_OPTIONS_VERSION), 0);
	char root[128];
	snprintf(root, sizeof(root), "%s/rootfs", dir);
	assert_int_not_equal(cocoimg_unpack(ctx, missing_image(), root, &u, NULL), 0);
	assert_false(said("cocoimg_unpack_options"));
}

/* Set an error, then run `call`: the prologue must have cleared it. */
#define STALE "unknown configuration key \"stale-marker\""
static void make_stale(void)
{
	assert_int_equal(cocoimg_ctx_set(ctx, "stale-marker", "x"), COCOIMG_EINVAL);
	assert_true(said(STALE));
}

static void test_prologue_clears(void **state)
{
	(void)state;
	char *out = NULL, *rep = NULL;
	char root[128];
	snprintf(root, sizeof(root), "%s/rootfs", dir);
	cocoimg_keyring *kr;
	assert_int_equal(cocoimg_keyring_new(&kr), 0);

	/* successful calls leave no error behind */
	make_stale();
	assert_int_equal(cocoimg_reference_normalize(ctx, "docker://alpine", &out), 0);
	assert_int_equal(cocoimg_ctx_last_error_code(ctx), 0);
	assert_string_equal(cocoimg_ctx_last_error(ctx), "");
	cocoimg_free(out);
	make_stale();
	assert_int_equal(cocoimg_ctx_set(ctx, "parallel", "2"), 0);
	assert_int_equal(cocoimg_ctx_last_error_code(ctx), 0);

	/* failed calls report themselves, never the stale message */
	struct { const char *name; int rc; } r[16];
	size_t n = 0;
#define RUN(call) do { make_stale(); r[n].name = #call; r[n].rc = (call); n++;       \
	               assert_false(said(STALE)); } while (0)
	RUN(cocoimg_copy(ctx, missing_image(), missing_image(), NULL, NULL));
	RUN(cocoimg_inspect(ctx, missing_image(), &rep));
	RUN(cocoimg_reference_normalize(ctx, "docker://example.com/UPPER", &out));
	RUN(cocoimg_verify(ctx, missing_image(), "/nonexistent/policy.json", NULL));
	RUN(verify_blobs_v(COCOIMG_VERIFY_INPUT_VERSION));
	RUN(sign_v(COCOIMG_SIGN_OPTIONS_VERSION));
	RUN(verify_blob_v(COCOIMG_VERIFY_BLOB_OPTIONS_VERSION));
	RUN(cocoimg_unpack(ctx, missing_image(), root, NULL, NULL));
	RUN(cocoimg_image_resolve(ctx, missing_image(), NULL, &out, NULL));
	RUN(cocoimg_image_fetch_config(ctx, missing_image(), NULL, &out, NULL));
	RUN(cocoimg_unpack_layer(ctx, missing_image(), 0, dir, NULL, NULL));
	RUN(cocoimg_keyring_add_recipient(ctx, kr, "jwe:/nonexistent/key.pem"));
	RUN(cocoimg_keyring_add_decryption_key(ctx, kr, "/nonexistent/key.pem"));
#undef RUN
	for (size_t i = 0; i < n; i++)
		if (r[i].rc == 0)
			fail_msg("%s succeeded", r[i].name);
	/* the read-callback form: a reader that stops at once */
	make_stale();
	assert_int_not_equal(cocoimg_unpack_layer_stream(ctx, dir, "application/vnd.oci.image.layer.v1.tar",
	                                                 NULL, NULL, NULL, 0, NULL), 0);
	assert_false(said(STALE));
	/* a NULL context is refused, not dereferenced */
	assert_int_equal(cocoimg_inspect(NULL, "oci:x", &rep), COCOIMG_EINVAL);
	assert_int_equal(cocoimg_image_resolve(NULL, "oci:x", NULL, NULL, NULL), COCOIMG_EINVAL);
	cocoimg_keyring_free(kr);
}

/* payload comes last in the read callback */
typedef struct reader { const unsigned char *p; size_t len, pos; int calls; } reader;

static int64_t read_last(void *buf, size_t len, void *payload)
{
	reader *r = payload;
	size_t k = r->len - r->pos < len ? r->len - r->pos : len;
	r->calls++;
	memcpy(buf, r->p + r->pos, k);
	r->pos += k;
	return (int64_t)k;
}

static int64_t read_stop(void *buf, size_t len, void *payload)
{
	(void)buf;
	(void)len;
	((reader *)payload)->calls++;
	return -1;
}

static void test_read_cb_payload_last(void **state)
{
	(void)state;
	/* an empty tar: two zero blocks */
	static unsigned char tar[1024];
	reader r = { tar, sizeof(tar), 0, 0 };
	char *got = NULL;
	assert_int_equal(cocoimg_unpack_layer_stream(ctx, dir, "application/vnd.oci.image.layer.v1.tar",
	                                             read_last, &r, NULL, COCOIMG_UNPACK_ROOTLESS, &got), 0);
	assert_true(r.calls >= 2);
	assert_non_null(got);
	cocoimg_free(got);
	reader s = { tar, sizeof(tar), 0, 0 };
	assert_int_equal(cocoimg_unpack_layer_stream(ctx, dir, "application/vnd.oci.image.layer.v1.tar",
	                                             read_stop, &s, NULL, COCOIMG_UNPACK_ROOTLESS, NULL),
	                 COCOIMG_ECANCELLED);
	assert_int_equal(s.calls, 1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_version_copy),
		T(test_version_unpack),
		T(test_version_unpack_layer),
		T(test_version_sign),
		T(test_version_verify_blobs),
		T(test_version_verify_blob),
		T(test_null_options),
		T(test_options_init),
		T(test_options_init_refused),
		T(test_options_init_accepted),
		T(test_prologue_clears),
		T(test_read_cb_payload_last),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
