/* Unit tests for broker/keyprovider.c and the provider key wrapper
 * (crypt/provider.c): request/response JSON against the ocicrypt vectors,
 * gRPC framing, configuration, and real cmd and gRPC providers
 * (tests/integration/crypt/keyprovider_{cmd,grpc}.py). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../lib/doubles.h"
#include "../../lib/tmpdir.h"
#include "base.h"
#include "broker/keyprovider.h"
#include "crypt/coco.h"
#include "crypt/crypt.h"
#include "json.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *keys_path;          /* offline keys file with default/key/test */
static const char *opts_json =
	"{\"symkey\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\",\"digest\":\"sha256:805b8cb8bbd621c586b09aadc6313b06b298e79fc4dc7b42952b19de15539ccf\",\"cipheroptions\":{\"nonce\":\"8PHy8/T19vf4+fr7/P3+/w==\"}}";

static int setup(void **state)
{
	if (test_tmpdir_setup(state))
		return -1;
	/* KEK = bytes 0x40..0x5f, the vector KEK, under two paths */
	const char *keys = "{\"default/key/test\":\"QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8=\","
	                   "\"default/key/vector1\":\"QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8=\"}";
	keys_path = test_tmp_file("keys.json", keys, strlen(keys));
	return 0;
}

static int teardown(void **state)
{
	test_doubles_stop_all();   /* gRPC servers a failed assertion left */
	free(keys_path);
	return test_tmpdir_teardown(state);
}

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

static char *script(const char *name)
{
	const char *top = getenv("TOP_SRCDIR");
	return coco_asprintf("%s/tests/integration/crypt/%s", top ? top : ".", name);
}

/* ---- request / response ------------------------------------------------ */

static void test_request_vectors(void **state)
{
	(void)state;
	/* Exact Go bytes (ocicrypt.md 6.1). */
	const char *p1[] = { "keyid=kbs:///default/key/1::keypath=/k" };
	coco_buf req = COCO_BUF_INIT;
	assert_int_equal(coco_kp_build_request("attestation-agent", p1, 1, true,
	                                       (const unsigned char *)"{\"symkey\":\"...\"}", 16, &req), 0);
	assert_string_equal(coco_buf_cstr(&req),
		"{\"op\":\"keywrap\",\"keywrapparams\":{\"ec\":{\"Parameters\":{\"attestation-agent\":[\"a2V5aWQ9a2JzOi8vL2RlZmF1bHQva2V5LzE6OmtleXBhdGg9L2s=\"]},\"DecryptConfig\":{\"Parameters\":{}}},\"optsdata\":\"eyJzeW1rZXkiOiIuLi4ifQ==\"},\"keyunwrapparams\":{\"dc\":null,\"annotation\":null}}");
	req.len = 0;
	const char *p2[] = { "offline_fs_kbc::null" };
	assert_int_equal(coco_kp_build_request("attestation-agent", p2, 1, false,
	                                       (const unsigned char *)"{\"kid\":\"x\"}", 11, &req), 0);
	assert_string_equal(coco_buf_cstr(&req),
		"{\"op\":\"keyunwrap\",\"keywrapparams\":{\"ec\":null,\"optsdata\":null},\"keyunwrapparams\":{\"dc\":{\"Parameters\":{\"attestation-agent\":[\"b2ZmbGluZV9mc19rYmM6Om51bGw=\"]}},\"annotation\":\"eyJraWQiOiJ4In0=\"}}");
	/* no OPTS -> "Enabled"; names are JSON-escaped; several params */
	req.len = 0;
	const char *p3[] = { NULL, "b" };
	assert_int_equal(coco_kp_build_request("we\"ird", p3, 2, false, (const unsigned char *)"a", 1,
	                                       &req), 0);
	json_t *j = json_loads(coco_buf_cstr(&req), JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(j);
	json_t *l = json_object_get(json_object_get(json_object_get(json_object_get(j, "keyunwrapparams"),
	                                                            "dc"), "Parameters"), "we\"ird");
	assert_int_equal(json_array_size(l), 2);
	assert_string_equal(json_string_value(json_array_get(l, 0)), "RW5hYmxlZA==");
	json_decref(j);
	coco_buf_free(&req);

	/* The request for descriptor_coco.json with provider:attestation-agent:offline_fs_kbc::null */
	coco_buf d = COCO_BUF_INIT, want = COCO_BUF_INIT, blob = COCO_BUF_INIT;
	read_vec("descriptor_coco.json", &d);
	read_vec("keyprovider_unwrap_request.json", &want);
	json_t *desc = json_loadb((char *)d.data, d.len, 0, NULL);
	const char *ann = json_string_value(json_object_get(json_object_get(desc, "annotations"),
	                                                    COCO_AA_ANNOTATION));
	assert_non_null(ann);
	assert_int_equal(coco_b64_decode(ann, strlen(ann), &blob), 0);
	coco_buf mine = COCO_BUF_INIT;
	assert_int_equal(coco_kp_build_request("attestation-agent", p2, 1, false, blob.data, blob.len,
	                                       &mine), 0);
	json_t *a = json_loadb((char *)mine.data, mine.len, 0, NULL);
	json_t *b = json_loadb((char *)want.data, want.len, 0, NULL);
	assert_non_null(a);
	assert_non_null(b);
	assert_true(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	json_decref(desc);
	coco_buf_free(&d);
	coco_buf_free(&want);
	coco_buf_free(&blob);
	coco_buf_free(&mine);
}

static void test_response_forms(void **state)
{
	(void)state;
	cocoimg_ctx *ctx;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	{
		coco_buf want = COCO_BUF_INIT;
		read_vec("privopts.json", &want);
		const char *files[] = { "keyprovider_unwrap_response_array_form.json",
		                        "keyprovider_unwrap_response_base64_form.json" };
		for (size_t i = 0; i < 2; i++) {
			coco_buf r = COCO_BUF_INIT, out = COCO_BUF_INIT;
			read_vec(files[i], &r);
			assert_int_equal(coco_kp_parse_response(ctx, "aa", false, r.data, r.len, &out), 0);
			assert_int_equal(out.len, want.len);
			assert_memory_equal(out.data, want.data, want.len);
			/* asking for the wrap result of an unwrap answer fails */
			out.len = 0;
			assert_int_equal(coco_kp_parse_response(ctx, "aa", true, r.data, r.len, &out),
			                 COCOIMG_EBADIMAGE);
			assert_int_equal(out.len, 0);
			coco_buf_free(&r);
			coco_buf_free(&out);
		}
		coco_buf_free(&want);
	}
	struct { const char *json; bool wrap; int rc; const char *want; } c[] = {
		{ "{\"keywrapresults\":{\"annotation\":\"aGk=\"}}", true, 0, "hi" },
		{ "{\"keywrapresults\":{\"annotation\":[104,105]}}", true, 0, "hi" },
		{ "{\"keywrapresults\":{\"annotation\":[]}}", true, COCOIMG_EBADIMAGE, NULL },
		{ "{\"keywrapresults\":{\"annotation\":null}}", true, COCOIMG_EBADIMAGE, NULL },
		{ "{\"keywrapresults\":{\"annotation\":[256]}}", true, COCOIMG_EBADIMAGE, NULL },
		{ "{\"keywrapresults\":{\"annotation\":[-1]}}", true, COCOIMG_EBADIMAGE, NULL },
		{ "{\"keywrapresults\":{\"annotation\":[1.5]}}", true, COCOIMG_EBADIMAGE, NULL },
		{ "{\"keywrapresults\":{\"annotation\":\"aGk\"}}", true, COCOIMG_EBADIMAGE, NULL },
		{ "{\"keywrapresults\":{\"annotation\":\"a-k=\"}}", true, COCOIMG_EBADIMAGE, NULL },
		{ "{\"keywrapresults\":{\"annotation\":{}}}", true, COCOIMG_EBADIMAGE, NULL },
		{ "{\"keywrapresults\":7}", true, COCOIMG_EBADIMAGE, NULL },
		{ "[]", true, COCOIMG_EBADIMAGE, NULL },
		{ "", false, COCOIMG_EBADIMAGE, NULL },
		{ "{\"keyunwrapresults\":{\"optsdata\":\"c2VjcmV0\"}} trailing SECRET", false, COCOIMG_EBADIMAGE, NULL },
		{ "{\"keyunwrapresults\":{\"optsdata\":\"c2VjcmV0\"}}", false, 0, "secret" },
	};
	for (size_t i = 0; i < COCO_ARRAY_SIZE(c); i++) {
		coco_buf out = COCO_BUF_INIT;
		int rc = coco_kp_parse_response(ctx, "kp", c[i].wrap, (const unsigned char *)c[i].json,
		                                strlen(c[i].json), &out);
		assert_int_equal(rc, c[i].rc);
		if (!rc) {
			assert_int_equal(out.len, strlen(c[i].want));
			assert_memory_equal(out.data, c[i].want, out.len);
		} else {
			assert_int_equal(out.len, 0);
			assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "\"kp\""));
			assert_null(strstr(cocoimg_ctx_last_error(ctx), "SECRET"));
		}
		coco_buf_free(&out);
	}
	cocoimg_ctx_free(ctx);
}

static void test_grpc_frame(void **state)
{
	(void)state;
	coco_buf f = COCO_BUF_INIT;
	const unsigned char *m;
	size_t ml;
	assert_int_equal(coco_grpc_frame_encode((const unsigned char *)"{}", 2, &f), 0);
	static const unsigned char want[] = { 0, 0, 0, 0, 4, 0x0a, 2, '{', '}' };
	assert_int_equal(f.len, sizeof(want));
	assert_memory_equal(f.data, want, sizeof(want));
	assert_int_equal(coco_grpc_frame_decode(f.data, f.len, &m, &ml), 0);
	assert_int_equal(ml, 2);
	assert_memory_equal(m, "{}", 2);
	/* 300 bytes: two-byte varint length */
	f.len = 0;
	unsigned char big[300];
	memset(big, 'x', sizeof(big));
	assert_int_equal(coco_grpc_frame_encode(big, sizeof(big), &f), 0);
	assert_int_equal(f.len, 5 + 1 + 2 + 300);
	assert_int_equal(f.data[6], 0xac);
	assert_int_equal(f.data[7], 0x02);
	assert_int_equal(coco_grpc_frame_decode(f.data, f.len, &m, &ml), 0);
	assert_int_equal(ml, 300);
	/* truncations all fail */
	for (size_t cut = 0; cut < f.len; cut++)
		assert_int_equal(coco_grpc_frame_decode(f.data, cut, &m, &ml), COCOIMG_EBADIMAGE);
	/* compressed flag */
	f.data[0] = 1;
	assert_int_equal(coco_grpc_frame_decode(f.data, f.len, &m, &ml), COCOIMG_EBADIMAGE);
	/* unknown fields skipped; empty message = empty bytes */
	static const unsigned char other[] = { 0, 0, 0, 0, 13, 0x10, 0x96, 0x01, 0x19, 1, 2, 3, 4, 5,
	                                       6, 7, 8, 0x0a, 0 };
	unsigned char fixed[sizeof(other)];
	memcpy(fixed, other, sizeof(other));
	fixed[4] = sizeof(other) - 5;
	assert_int_equal(coco_grpc_frame_decode(fixed, sizeof(fixed), &m, &ml), 0);
	assert_int_equal(ml, 0);
	static const unsigned char empty[] = { 0, 0, 0, 0, 0 };
	assert_int_equal(coco_grpc_frame_decode(empty, 5, &m, &ml), 0);
	assert_null(m);
	/* length past the end, bad wire type, field 0 */
	static const unsigned char b1[] = { 0, 0, 0, 0, 3, 0x0a, 5, 'x' };
	static const unsigned char b2[] = { 0, 0, 0, 0, 2, 0x0b, 0 };
	static const unsigned char b3[] = { 0, 0, 0, 0, 2, 0x02, 0 };
	assert_int_equal(coco_grpc_frame_decode(b1, sizeof(b1), &m, &ml), COCOIMG_EBADIMAGE);
	assert_int_equal(coco_grpc_frame_decode(b2, sizeof(b2), &m, &ml), COCOIMG_EBADIMAGE);
	assert_int_equal(coco_grpc_frame_decode(b3, sizeof(b3), &m, &ml), COCOIMG_EBADIMAGE);
	coco_buf_free(&f);
}

/* ---- configuration ----------------------------------------------------- */

static void test_config(void **state)
{
	(void)state;
	cocoimg_ctx *ctx;
	cocoimg_keyring *kr;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	assert_int_equal(cocoimg_keyring_new(&kr), 0);
	coco_kp_provider p;

	unsetenv("OCICRYPT_KEYPROVIDER_CONFIG");
	assert_int_equal(coco_kp_lookup(ctx, "x", &p), COCOIMG_EINVAL);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "OCICRYPT_KEYPROVIDER_CONFIG"));

	const char *good = "{\"key-providers\":{\"c\":{\"cmd\":{\"path\":\"/bin/true\",\"args\":[\"-a\",\"b\"]}},"
	                   "\"g\":{\"grpc\":\"127.0.0.1:1\"},\"both\":{\"cmd\":{\"path\":\"/bin/x\"},\"grpc\":\"h:1\"},"
	                   "\"t\":{\"ttrpc\":\"unix:///x\"},\"none\":{},\"badcmd\":{\"cmd\":{\"args\":[]}},"
	                   "\"badargs\":{\"cmd\":{\"path\":\"/x\",\"args\":[1]}},\"tls\":{\"grpc\":\"h:1\",\"grpc-tls\":{}},"
	                   "\"str\":\"x\"}}";
	char *cfg = test_tmp_file("good.json", good, strlen(good));
	setenv("OCICRYPT_KEYPROVIDER_CONFIG", cfg, 1);
	assert_int_equal(coco_kp_lookup(ctx, "c", &p), 0);
	assert_string_equal(p.cmd_path, "/bin/true");
	assert_string_equal(p.cmd_args[0], "-a");
	assert_string_equal(p.cmd_args[1], "b");
	assert_null(p.cmd_args[2]);
	assert_null(p.grpc);
	coco_kp_provider_clear(&p);
	assert_int_equal(coco_kp_lookup(ctx, "g", &p), 0);
	assert_string_equal(p.grpc, "127.0.0.1:1");
	coco_kp_provider_clear(&p);
	assert_int_equal(coco_kp_lookup(ctx, "both", &p), 0);  /* cmd wins, as in Go */
	assert_string_equal(p.cmd_path, "/bin/x");
	assert_null(p.grpc);
	coco_kp_provider_clear(&p);
	assert_int_equal(coco_kp_lookup(ctx, "t", &p), COCOIMG_EUNSUPPORTED);
	assert_int_equal(coco_kp_lookup(ctx, "tls", &p), COCOIMG_EUNSUPPORTED);
	assert_int_equal(coco_kp_lookup(ctx, "none", &p), COCOIMG_ECONFIG);
	assert_int_equal(coco_kp_lookup(ctx, "badcmd", &p), COCOIMG_ECONFIG);
	assert_int_equal(coco_kp_lookup(ctx, "badargs", &p), COCOIMG_ECONFIG);
	assert_int_equal(coco_kp_lookup(ctx, "str", &p), COCOIMG_ECONFIG);
	assert_int_equal(coco_kp_lookup(ctx, "missing", &p), COCOIMG_EINVAL);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "missing"));
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), cfg));

	/* keyring entries */
	assert_int_equal(coco_keyring_add_provider(ctx, kr, "missing:x", true), COCOIMG_EINVAL);
	assert_int_equal(coco_keyring_add_provider(ctx, kr, "", true), COCOIMG_EINVAL);
	assert_int_equal(coco_keyring_add_provider(ctx, kr, ":x", true), COCOIMG_EINVAL);
	assert_int_equal(coco_keyring_add_provider(ctx, kr, "c:keyid=kbs:///a/b/c::x=y", true), 0);
	assert_int_equal(coco_keyring_add_provider(ctx, kr, "g", false), 0);
	assert_int_equal(kr->n_keys, 2);
	assert_int_equal(kr->keys[0].kind, COCO_KEY_PROVIDER);
	assert_true(kr->keys[0].recipient);
	assert_string_equal(kr->keys[0].provider, "c");
	assert_string_equal(kr->keys[0].provider_opts, "keyid=kbs:///a/b/c::x=y");
	assert_string_equal(kr->keys[0].label, "provider:c");
	assert_false(kr->keys[1].recipient);
	assert_null(kr->keys[1].provider_opts);
	char **names = coco_kw_provider.annotations(kr);
	assert_non_null(names);
	assert_string_equal(names[0], COCO_KP_ANNOTATION_PREFIX "c");
	assert_null(names[1]);
	free(names[0]);
	free(names);

	/* the ctx option wins over the environment; malformed files */
	const char *bad = "{\"key-providers\": [ SECRET";
	char *badf = test_tmp_file("bad.json", bad, strlen(bad));
	assert_int_equal(cocoimg_ctx_set(ctx, "keyprovider-config", badf), 0);
	assert_int_equal(coco_kp_lookup(ctx, "c", &p), COCOIMG_ECONFIG);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), badf));
	assert_int_equal(coco_keyring_add_provider(ctx, kr, "c", true), COCOIMG_ECONFIG);
	const char *noprov = "{\"providers\":{}}";
	char *npf = test_tmp_file("noprov.json", noprov, strlen(noprov));
	assert_int_equal(cocoimg_ctx_set(ctx, "keyprovider-config", npf), 0);
	assert_int_equal(coco_kp_lookup(ctx, "c", &p), COCOIMG_ECONFIG);
	assert_int_equal(cocoimg_ctx_set(ctx, "keyprovider-config", "/nonexistent/kp.json"), 0);
	assert_int_equal(coco_kp_lookup(ctx, "c", &p), COCOIMG_ECONFIG);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "/nonexistent/kp.json"));
	unsetenv("OCICRYPT_KEYPROVIDER_CONFIG");

	free(cfg);
	free(badf);
	free(npf);
	cocoimg_keyring_free(kr);
	cocoimg_ctx_free(ctx);
}

/* ---- real providers ----------------------------------------------------- */

/* Write a config with one cmd provider NAME running keyprovider_cmd.py
 * with the extra args (JSON array text without brackets), set it on ctx. */
static char *cmd_config(cocoimg_ctx *ctx, const char *file, const char *name, const char *extra)
{
	char *py = script("keyprovider_cmd.py");
	char *doc = coco_asprintf("{\"key-providers\":{\"%s\":{\"cmd\":{\"path\":\"/usr/bin/python3\","
	                          "\"args\":[\"%s\",\"--keys\",\"%s\"%s%s]}}}}", name, py, keys_path,
	                          extra ? "," : "", extra ? extra : "");
	char *p = test_tmp_file(file, doc, strlen(doc));
	assert_int_equal(cocoimg_ctx_set(ctx, "keyprovider-config", p), 0);
	free(py);
	free(doc);
	return p;
}

/* wrap opts for provider NAME with a recipient keyring, unwrap with a
 * decryption keyring; returns the annotation value. */
static char *wrap_with(cocoimg_ctx *ctx, const char *spec, const char *name)
{
	cocoimg_keyring *kr;
	assert_int_equal(cocoimg_keyring_new(&kr), 0);
	assert_int_equal(coco_keyring_add_provider(ctx, kr, spec, true), 0);
	char *ann = coco_asprintf(COCO_KP_ANNOTATION_PREFIX "%s", name);
	char *value = NULL;
	int rc = coco_kw_provider.wrap(ctx, kr, ann, (const unsigned char *)opts_json,
	                               strlen(opts_json), &value);
	if (rc)
		print_error("wrap: %s\n", cocoimg_ctx_last_error(ctx));
	assert_int_equal(rc, 0);
	assert_non_null(value);
	free(ann);
	cocoimg_keyring_free(kr);
	return value;
}

static int unwrap_with(cocoimg_ctx *ctx, const char *dec_spec, const char *coco_spec,
                       const char *name, const char *value, coco_buf *tried)
{
	cocoimg_keyring *kr;
	assert_int_equal(cocoimg_keyring_new(&kr), 0);
	if (dec_spec)
		assert_int_equal(coco_keyring_add_provider(ctx, kr, dec_spec, false), 0);
	if (coco_spec)
		assert_int_equal(coco_keyring_add_coco(ctx, kr, coco_spec, false), 0);
	char *ann = coco_asprintf(COCO_KP_ANNOTATION_PREFIX "%s", name);
	coco_buf out = COCO_BUF_INIT;
	/* both wrappers, in either order, as the decrypt loop would */
	int rc = coco_kw_coco.unwrap(ctx, kr, ann, value, &out, tried);
	if (rc == COCOIMG_ENOKEY)
		rc = coco_kw_provider.unwrap(ctx, kr, ann, value, &out, tried);
	if (!rc) {
		assert_int_equal(out.len, strlen(opts_json));
		assert_memory_equal(out.data, opts_json, out.len);
	} else {
		assert_int_equal(out.len, 0);
	}
	coco_buf_free(&out);
	free(ann);
	cocoimg_keyring_free(kr);
	return rc;
}

static void test_cmd_provider(void **state)
{
	(void)state;
	cocoimg_ctx *ctx;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	char *log = coco_asprintf("%s/cmd.log", test_tmpdir);
	char *extra = coco_asprintf("\"--log\",\"%s\"", log);
	char *cfg = cmd_config(ctx, "cmd.json", "testkp", extra);
	char *value = wrap_with(ctx, "testkp:keyid=kbs:///default/key/test", "testkp");
	coco_buf tried = COCO_BUF_INIT;
	assert_int_equal(unwrap_with(ctx, "testkp", NULL, "testkp", value, &tried), 0);
	/* a provider of another name is not asked */
	assert_int_equal(unwrap_with(ctx, "testkp", NULL, "other", value, &tried), COCOIMG_ENOKEY);
	/* no provider key given: not asked either */
	assert_int_equal(unwrap_with(ctx, NULL, NULL, "testkp", value, &tried), COCOIMG_ENOKEY);

	/* what the provider received: only its own parameters */
	coco_buf l = COCO_BUF_INIT;
	assert_int_equal(coco_read_file(NULL, log, 1 << 20, &l, COCOIMG_EIO), 0);
	char *nl = strchr(coco_buf_cstr(&l), '\n');
	assert_non_null(nl);
	json_t *w = json_loadb((char *)l.data, (size_t)(nl - (char *)l.data), 0, NULL);
	assert_non_null(w);
	assert_string_equal(json_string_value(json_object_get(w, "op")), "keywrap");
	json_t *params = json_object_get(json_object_get(json_object_get(w, "keywrapparams"), "ec"),
	                                 "Parameters");
	assert_int_equal(json_object_size(params), 1);
	assert_non_null(json_object_get(params, "testkp"));
	json_decref(w);
	json_t *u = json_loads(nl + 1, JSON_DISABLE_EOF_CHECK, NULL);
	assert_non_null(u);
	assert_string_equal(json_string_value(json_object_get(u, "op")), "keyunwrap");
	json_t *dp = json_object_get(json_object_get(json_object_get(u, "keyunwrapparams"), "dc"),
	                             "Parameters");
	assert_string_equal(json_string_value(json_array_get(json_object_get(dp, "testkp"), 0)),
	                    "RW5hYmxlZA==");
	json_decref(u);
	coco_buf_free(&l);
	free(value);

	/* Go-style base64 answers */
	free(cfg);
	cfg = cmd_config(ctx, "cmd64.json", "testkp", "\"--form\",\"base64\"");
	value = wrap_with(ctx, "testkp", "testkp");
	assert_int_equal(unwrap_with(ctx, "testkp", NULL, "testkp", value, &tried), 0);
	free(value);

	coco_buf_free(&tried);
	free(cfg);
	free(extra);
	free(log);
	cocoimg_ctx_free(ctx);
}

static void test_cmd_failures(void **state)
{
	(void)state;
	cocoimg_ctx *ctx;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	char *cfg = cmd_config(ctx, "ok.json", "testkp", NULL);
	char *value = wrap_with(ctx, "testkp", "testkp");
	free(cfg);

	/* provider fails: ENOKEY naming it, its stderr redacted */
	cfg = cmd_config(ctx, "fail.json", "testkp", "\"--fail\",\"all\"");
	coco_buf tried = COCO_BUF_INIT;
	assert_int_equal(unwrap_with(ctx, "testkp", NULL, "testkp", value, &tried), COCOIMG_ENOKEY);
	const char *msg = cocoimg_ctx_last_error(ctx);
	assert_non_null(strstr(msg, "testkp"));
	assert_non_null(strstr(msg, "status 3"));
	assert_non_null(strstr(msg, "test provider told to fail"));
	assert_null(strstr(msg, "c2VjcmV0LWtleS1tYXRlcmlhbC1zaG91bGQtbm90LWxlYWs"));
	assert_non_null(strstr(coco_buf_cstr(&tried), "testkp"));
	assert_null(strstr(coco_buf_cstr(&tried), "c2VjcmV0LWtleS1tYXRlcmlhbC1zaG91bGQtbm90LWxlYWs"));
	/* and on wrap: a clear error, not ENOKEY */
	cocoimg_keyring *kr;
	assert_int_equal(cocoimg_keyring_new(&kr), 0);
	assert_int_equal(coco_keyring_add_provider(ctx, kr, "testkp", true), 0);
	char *v2 = (char *)"x";
	assert_int_equal(coco_kw_provider.wrap(ctx, kr, COCO_KP_ANNOTATION_PREFIX "testkp",
	                                       (const unsigned char *)opts_json, strlen(opts_json), &v2),
	                 COCOIMG_EIO);
	assert_null(v2);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "testkp"));
	cocoimg_keyring_free(kr);
	free(cfg);

	struct { const char *path; const char *args; const char *want; } c[] = {
		{ "/nonexistent/provider", "", "cannot run" },
		{ "/bin/echo", "\"notjson\"", "not valid JSON" },
		{ "/bin/true", "", "not valid JSON" },
		{ "/bin/sh", "\"-c\",\"exec >&-; sleep 30\"", "timed out" },
		{ "/bin/sleep", "\"30\"", "timed out" },
	};
	assert_int_equal(cocoimg_ctx_set(ctx, "keyprovider-timeout", "1"), 0);
	for (size_t i = 0; i < COCO_ARRAY_SIZE(c); i++) {
		char *doc = coco_asprintf("{\"key-providers\":{\"bad\":{\"cmd\":{\"path\":\"%s\","
		                          "\"args\":[%s]}}}}", c[i].path, c[i].args);
		char *f = test_tmp_file("badcmd.json", doc, strlen(doc));
		assert_int_equal(cocoimg_ctx_set(ctx, "keyprovider-config", f), 0);
		tried.len = 0;
		time_t t0 = time(NULL);
		assert_int_equal(unwrap_with(ctx, "bad", NULL, "bad", value, &tried), COCOIMG_ENOKEY);
		assert_true(time(NULL) - t0 < 10);
		if (!strstr(cocoimg_ctx_last_error(ctx), c[i].want))
			print_error("case %zu: %s\n", i, cocoimg_ctx_last_error(ctx));
		assert_non_null(strstr(cocoimg_ctx_last_error(ctx), c[i].want));
		assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "\"bad\""));
		free(doc);
		free(f);
	}
	coco_buf_free(&tried);
	free(value);
	cocoimg_ctx_free(ctx);
}

/* ---- gRPC ---------------------------------------------------------------- */

struct server {
	pid_t pid;
	int port;
};

static void start_grpc(struct server *s, const char *extra1, const char *extra2)
{
	char *py = script("keyprovider_grpc.py");
	char *argv[] = { (char *)"/usr/bin/python3", py, (char *)"--keys", keys_path,
	                 (char *)extra1, (char *)extra2, NULL };
	if (!extra1)
		argv[4] = NULL;
	char line[64];
	s->pid = test_double_spawn(argv, line, sizeof(line));
	assert_true(s->pid > 0);
	assert_int_equal(sscanf(line, "PORT %d", &s->port), 1);
	free(py);
}

static void stop_grpc(struct server *s)
{
	test_double_stop(s->pid);
}

static char *grpc_config(cocoimg_ctx *ctx, const char *file, const char *name, const char *addr)
{
	char *doc = coco_asprintf("{\"key-providers\":{\"%s\":{\"grpc\":\"%s\"}}}", name, addr);
	char *p = test_tmp_file(file, doc, strlen(doc));
	assert_int_equal(cocoimg_ctx_set(ctx, "keyprovider-config", p), 0);
	free(doc);
	return p;
}

static void test_grpc_provider(void **state)
{
	(void)state;
	cocoimg_ctx *ctx;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	struct server ok, fail, b64, ux;
	start_grpc(&ok, NULL, NULL);
	start_grpc(&fail, "--fail", "all");
	start_grpc(&b64, "--form", "base64");
	char *sock = coco_asprintf("%s/kp.sock", test_tmpdir);
	start_grpc(&ux, "--unix", sock);

	char addr[64];
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", ok.port);
	char *cfg = grpc_config(ctx, "grpc.json", "gkp", addr);
	char *value = wrap_with(ctx, "gkp:keyid=kbs:///default/key/test", "gkp");
	coco_buf tried = COCO_BUF_INIT;
	int rc = unwrap_with(ctx, "gkp", NULL, "gkp", value, &tried);
	if (rc)
		print_error("%s\n", cocoimg_ctx_last_error(ctx));
	assert_int_equal(rc, 0);
	free(cfg);

	/* other address spellings */
	char *alt = coco_asprintf("http://127.0.0.1:%d", b64.port);
	cfg = grpc_config(ctx, "grpc64.json", "gkp", alt);
	assert_int_equal(unwrap_with(ctx, "gkp", NULL, "gkp", value, &tried), 0);
	free(cfg);
	free(alt);
	alt = coco_asprintf("unix://%s", sock);
	cfg = grpc_config(ctx, "grpcux.json", "gkp", alt);
	rc = unwrap_with(ctx, "gkp", NULL, "gkp", value, &tried);
	if (rc)
		print_error("%s\n", cocoimg_ctx_last_error(ctx));
	assert_int_equal(rc, 0);
	free(cfg);
	free(alt);

	/* server answers with a gRPC error status */
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", fail.port);
	cfg = grpc_config(ctx, "grpcfail.json", "gkp", addr);
	tried.len = 0;
	assert_int_equal(unwrap_with(ctx, "gkp", NULL, "gkp", value, &tried), COCOIMG_ENOKEY);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "gkp"));
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "INTERNAL"));
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "test provider failed"));
	free(cfg);

	/* unreachable */
	stop_grpc(&fail);
	cfg = grpc_config(ctx, "grpcdown.json", "gkp", addr);
	tried.len = 0;
	assert_int_equal(unwrap_with(ctx, "gkp", NULL, "gkp", value, &tried), COCOIMG_ENOKEY);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "gkp"));
	assert_non_null(strstr(coco_buf_cstr(&tried), "gkp"));
	/* and wrapping through it is a network error */
	cocoimg_keyring *kr;
	assert_int_equal(cocoimg_keyring_new(&kr), 0);
	assert_int_equal(coco_keyring_add_provider(ctx, kr, "gkp", true), 0);
	char *v2 = NULL;
	assert_int_equal(coco_kw_provider.wrap(ctx, kr, COCO_KP_ANNOTATION_PREFIX "gkp",
	                                       (const unsigned char *)opts_json, strlen(opts_json), &v2),
	                 COCOIMG_ENET);
	cocoimg_keyring_free(kr);
	free(cfg);

	stop_grpc(&ok);
	stop_grpc(&b64);
	stop_grpc(&ux);
	coco_buf_free(&tried);
	free(value);
	free(sock);
	cocoimg_ctx_free(ctx);
}

/* ---- CoCo packets with both local keys and a provider ----------------- */

static void test_coexistence(void **state)
{
	(void)state;
	cocoimg_ctx *ctx;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	char *ok = cmd_config(ctx, "aa.json", COCO_AA_PROVIDER, NULL);
	/* a packet made by the provider (like coco_keyprovider) ... */
	char *value = wrap_with(ctx, COCO_AA_PROVIDER ":keyid=kbs:///default/key/test", COCO_AA_PROVIDER);
	char *good_keys = coco_asprintf("coco-keys:%s", keys_path);
	const char *wrong = "{\"default/key/test\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}";
	char *wf = test_tmp_file("wrongkeys.json", wrong, strlen(wrong));
	char *wrong_keys = coco_asprintf("coco-keys:%s", wf);
	coco_buf tried = COCO_BUF_INIT;
	/* ... opens locally with no provider key */
	assert_int_equal(unwrap_with(ctx, NULL, good_keys, COCO_AA_PROVIDER, value, &tried), 0);
	/* ... opens through the provider when the local key is wrong */
	assert_int_equal(unwrap_with(ctx, COCO_AA_PROVIDER, wrong_keys, COCO_AA_PROVIDER, value, &tried), 0);

	/* provider failing: the local key still opens it (tried first) */
	char *failing = cmd_config(ctx, "aafail.json", COCO_AA_PROVIDER, "\"--fail\",\"all\"");
	char *log = coco_asprintf("%s/aa.log", test_tmpdir);
	assert_int_equal(unwrap_with(ctx, COCO_AA_PROVIDER, good_keys, COCO_AA_PROVIDER, value, &tried), 0);
	/* both fail: ENOKEY listing the local attempt and the provider */
	tried.len = 0;
	assert_int_equal(unwrap_with(ctx, COCO_AA_PROVIDER, wrong_keys, COCO_AA_PROVIDER, value, &tried),
	                 COCOIMG_ENOKEY);
	assert_non_null(strstr(coco_buf_cstr(&tried), "kbs:///default/key/test"));
	assert_non_null(strstr(coco_buf_cstr(&tried), "keyprovider \"attestation-agent\""));
	/* the coco wrapper stands aside when a provider key is present */
	cocoimg_keyring *kr;
	assert_int_equal(cocoimg_keyring_new(&kr), 0);
	assert_int_equal(coco_keyring_add_provider(ctx, kr, COCO_AA_PROVIDER, false), 0);
	assert_int_equal(coco_keyring_add_coco(ctx, kr, good_keys, false), 0);
	coco_buf out = COCO_BUF_INIT;
	tried.len = 0;
	assert_int_equal(coco_kw_coco.unwrap(ctx, kr, COCO_AA_ANNOTATION, value, &out, &tried),
	                 COCOIMG_ENOKEY);
	assert_int_equal(tried.len, 0);
	assert_int_equal(coco_kw_provider.unwrap(ctx, kr, COCO_AA_ANNOTATION, value, &out, &tried), 0);
	coco_buf_free(&out);
	cocoimg_keyring_free(kr);

	/* the reverse: a packet we write (coco:) opens in the provider */
	free(ok);
	ok = cmd_config(ctx, "aa2.json", COCO_AA_PROVIDER, NULL);
	unsigned char kek[32];
	for (int i = 0; i < 32; i++)
		kek[i] = (unsigned char)(0x40 + i);
	char *kf = test_tmp_file("kek.bin", kek, 32);
	char *spec = coco_asprintf("coco:kbs:///default/key/test:%s", kf);
	assert_int_equal(cocoimg_keyring_new(&kr), 0);
	assert_int_equal(coco_keyring_add_coco(ctx, kr, spec, true), 0);
	char *mine = NULL;
	assert_int_equal(coco_kw_coco.wrap(ctx, kr, COCO_AA_ANNOTATION, (const unsigned char *)opts_json,
	                                   strlen(opts_json), &mine), 0);
	cocoimg_keyring_free(kr);
	assert_int_equal(unwrap_with(ctx, COCO_AA_PROVIDER, NULL, COCO_AA_PROVIDER, mine, &tried), 0);

	free(mine);
	free(spec);
	free(kf);
	free(log);
	free(failing);
	coco_buf_free(&tried);
	free(wrong_keys);
	free(wf);
	free(good_keys);
	free(value);
	free(ok);
	cocoimg_ctx_free(ctx);
}

/* Review regression: a descriptor the caller left inheritable (no
 * O_CLOEXEC) must not reach the provider process. */
static void test_cmd_no_fd_leak(void **state)
{
	(void)state;
	cocoimg_ctx *ctx;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	/* deliberately inheritable, and high enough not to be confused with
	 * the directory descriptor ls itself opens */
	int fd0 = open("/dev/null", O_RDONLY);
	assert_true(fd0 >= 0);
	int fd = dup2(fd0, 200);
	assert_int_equal(fd, 200);
	close(fd0);
	char *args[] = { (char *)"-c", (char *)"ls /proc/self/fd", NULL };
	coco_kp_provider p = { .name = (char *)"fdcheck", .cmd_path = (char *)"/bin/sh",
	                       .cmd_args = args };
	coco_buf out = COCO_BUF_INIT;
	assert_int_equal(coco_kp_call(ctx, &p, false, (const unsigned char *)"{}", 2, &out), 0);
	char want[32];
	snprintf(want, sizeof(want), "\n%d\n", fd);
	char *txt = coco_asprintf("\n%s", coco_buf_cstr(&out));
	assert_non_null(strstr(txt, "\n0\n"));   /* stdio is there... */
	if (txt && strstr(txt, want))
		print_error("provider saw: %s\n", txt);
	assert_null(strstr(txt, want));          /* ...our descriptor is not */
	free(txt);
	coco_buf_free(&out);
	close(fd);
	cocoimg_ctx_free(ctx);
}

int main(void)
{
	signal(SIGPIPE, SIG_DFL); /* the client must cope without SIG_IGN */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_vectors),
		cmocka_unit_test(test_response_forms),
		cmocka_unit_test(test_grpc_frame),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_cmd_provider),
		cmocka_unit_test(test_cmd_failures),
		cmocka_unit_test(test_cmd_no_fd_leak),
		cmocka_unit_test(test_grpc_provider),
		cmocka_unit_test(test_coexistence),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
