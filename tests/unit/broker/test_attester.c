/* Unit tests for broker/attester.c (sample TEE, runtime callback, the
 * configfs-tsm file protocol on a fake report directory whose outblob the
 * test writes; SEV-SNP reports and certificate tables shaped as Trustee reads them) and the protocol pieces of broker/kbs.c that need no peer
 * (canonical JSON, report data, challenge / token / response parsing). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../lib/tmpdir.h"
#include "base.h"
#include "broker/attester.h"
#include "broker/kbs.h"
#include "broker/snp.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A fake report entry: provider, generation and outblob as the kernel
 * would show them after an inblob write. */
static char *fake_entry(const char *name, const char *provider, const char *generation,
                        const void *outblob, size_t outlen)
{
	char *dir = coco_asprintf("%s/%s", test_tmpdir, name);
	assert_int_equal(mkdir(dir, 0700), 0);
	free(test_write_file(dir, "provider", provider, strlen(provider)));
	free(test_write_file(dir, "generation", generation, strlen(generation)));
	free(test_write_file(dir, "outblob", outblob, outlen));
	return dir;
}

static json_t *parse(const coco_buf *b)
{
	json_error_t e;
	json_t *j = json_loadb((const char *)b->data, b->len, 0, &e);
	assert_non_null(j);
	return j;
}

static void test_tsm_tdx(void **state)
{
	(void)state;
	cocoimg_ctx *ctx = NULL;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	static const unsigned char quote[] = { 4, 0, 2, 0, 0x81, 0, 0, 0, 0xff };
	char *dir = fake_entry("tdx", "tdx_guest\n", "1\n", quote, sizeof(quote));
	unsigned char rd[48];
	memset(rd, 0xab, sizeof(rd));
	coco_buf ev = COCO_BUF_INIT;
	char tee[COCO_TEE_MAX];
	/* no event log (test_ccel.c has the ones with a log) */
	char *none = coco_asprintf("%s/no-log", test_tmpdir);
	coco_eventlog_paths logs = { none, none };
	assert_int_equal(coco_tsm_report(ctx, dir, &logs, rd, sizeof(rd), &ev, tee), 0);
	free(none);
	assert_string_equal(tee, "tdx");
	json_t *j = parse(&ev);
	assert_true(json_is_null(json_object_get(j, "cc_eventlog")));
	char *b64 = coco_b64_encode(quote, sizeof(quote));
	assert_string_equal(json_string_value(json_object_get(j, "quote")), b64);
	free(b64);
	json_decref(j);
	/* inblob: the report data padded with zeros to 64 bytes */
	char *in = coco_asprintf("%s/inblob", dir);
	coco_buf got = COCO_BUF_INIT;
	assert_int_equal(coco_read_file(ctx, in, 1024, &got, COCOIMG_EIO), 0);
	assert_int_equal(got.len, 64);
	assert_memory_equal(got.data, rd, sizeof(rd));
	for (size_t i = sizeof(rd); i < 64; i++)
		assert_int_equal(got.data[i], 0);
	coco_buf_free(&got);
	coco_buf_free(&ev);
	free(in);
	free(dir);
	cocoimg_ctx_free(ctx);
}

static void test_tsm_cca(void **state)
{
	(void)state;
	cocoimg_ctx *ctx = NULL;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	static const unsigned char token[] = { 0xd2, 0x84, 7 };
	char *dir = fake_entry("cca", "arm_cca_guest\n", "1\n", token, sizeof(token));
	coco_buf ev = COCO_BUF_INIT;
	char tee[COCO_TEE_MAX];
	assert_int_equal(coco_tsm_report(ctx, dir, NULL, (const unsigned char *)"rd", 2, &ev, tee), 0);
	assert_string_equal(tee, "cca");
	assert_int_equal(ev.len, strlen("{\"token\":[210,132,7]}"));
	assert_memory_equal(ev.data, "{\"token\":[210,132,7]}", ev.len);
	coco_buf_free(&ev);
	free(dir);
	cocoimg_ctx_free(ctx);
}

static void expect_tsm_error(const char *name, const char *provider, const char *gen,
                             const char *out, int code, const char *msg)
{
	cocoimg_ctx *ctx = NULL;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	char *dir = fake_entry(name, provider, gen, out, strlen(out));
	coco_buf ev = COCO_BUF_INIT;
	char tee[COCO_TEE_MAX];
	assert_int_equal(coco_tsm_report(ctx, dir, NULL, (const unsigned char *)"x", 1, &ev, tee), code);
	if (!strstr(cocoimg_ctx_last_error(ctx), msg))
		fail_msg("\"%s\" lacks \"%s\"", cocoimg_ctx_last_error(ctx), msg);
	assert_int_equal(ev.len, 0);
	coco_buf_free(&ev);
	free(dir);
	cocoimg_ctx_free(ctx);
}

static void test_tsm_errors(void **state)
{
	(void)state;
	expect_tsm_error("race", "tdx_guest\n", "2\n", "q", COCOIMG_EIO, "written by someone else");
	expect_tsm_error("gen", "tdx_guest\n", "x\n", "q", COCOIMG_EIO, "written by someone else");
	expect_tsm_error("empty", "tdx_guest\n", "1\n", "", COCOIMG_EIO, "outblob is empty");
	expect_tsm_error("unknown", "foo_guest\n", "1\n", "q", COCOIMG_EUNSUPPORTED,
	                 "unknown provider");
	expect_tsm_error("snp", "sev_guest\n", "1\n", "q", COCOIMG_EIO, "SNP report of 1 bytes");
}

/* ---- SEV-SNP: outblob is the attestation report, auxblob the GHCB
 * certificate table ---------------------------------------------------- */

static void snp_fill(unsigned char r[COCO_SNP_REPORT_LEN], unsigned version, unsigned fam,
                     unsigned mod)
{
	memset(r, 0, COCO_SNP_REPORT_LEN);
	r[0] = (unsigned char)version;
	for (int i = 0; i < 8; i++)
		r[0x38 + i] = (unsigned char)(0x10 + i);   /* current TCB bytes 10 11 .. 17 */
	r[0x188] = (unsigned char)fam;
	r[0x189] = (unsigned char)mod;
	r[0x18A] = 2;
	for (int i = 0; i < 64; i++)
		r[0x1A0 + i] = (unsigned char)(i + 1);
	r[0x1E8] = 7; r[0x1E9] = 55; r[0x1EA] = 1;      /* current: build 7, 1.55 */
	r[0x1F8] = 5;                                  /* launch mit vector (v5) */
	r[0x2A0] = 0xEE;                               /* signature r[0] */
}

static const unsigned char G_VCEK[16] = { 0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
                                          0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd };
static const unsigned char G_ASK[16] = { 0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4,
                                         0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82 };

/* A table of ASK, an unknown GUID and VCEK (in that order), data after it. */
static size_t snp_table(unsigned char *t)
{
	memset(t, 0, 128);
	static const unsigned char other[16] = { 0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x33, 0x33,
	                                         0x44, 0x44, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55 };
	const unsigned char *g[3] = { G_ASK, other, G_VCEK };
	for (int i = 0; i < 3; i++) {
		memcpy(t + 24 * i, g[i], 16);
		t[24 * i + 16] = (unsigned char)(96 + 2 * i);   /* offset */
		t[24 * i + 20] = 2;                             /* length */
		t[96 + 2 * i] = (unsigned char)('a' + i);
		t[97 + 2 * i] = (unsigned char)('A' + i);
	}
	return 102;
}

static json_t *snp_case(const char *name, const unsigned char *rep, size_t len,
                        const unsigned char *aux, size_t auxlen, int want, const char *msg)
{
	cocoimg_ctx *ctx = NULL;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	char *dir = fake_entry(name, "sev_guest\n", "1\n", rep, len);
	if (aux)
		free(test_write_file(dir, "auxblob", aux, auxlen));
	unsigned char rd[48];
	memset(rd, 0xcd, sizeof(rd));
	coco_buf ev = COCO_BUF_INIT;
	char tee[COCO_TEE_MAX];
	int rc = coco_tsm_report(ctx, dir, NULL, rd, sizeof(rd), &ev, tee);
	if (rc != want)
		fail_msg("%s: %d (%s), wanted %d", name, rc, cocoimg_ctx_last_error(ctx), want);
	json_t *j = NULL;
	if (!rc) {
		assert_string_equal(tee, "snp");
		j = parse(&ev);
	} else {
		if (!strstr(cocoimg_ctx_last_error(ctx), msg))
			fail_msg("\"%s\" lacks \"%s\"", cocoimg_ctx_last_error(ctx), msg);
		assert_int_equal(ev.len, 0);
	}
	coco_buf_free(&ev);
	free(dir);
	cocoimg_ctx_free(ctx);
	return j;
}

static int jint(json_t *o, const char *path1, const char *path2)
{
	json_t *v = json_object_get(o, path1);
	if (path2)
		v = json_object_get(v, path2);
	assert_true(json_is_integer(v));
	return (int)json_integer_value(v);
}

static void test_tsm_snp(void **state)
{
	(void)state;
	unsigned char r[COCO_SNP_REPORT_LEN], t[128];
	/* version 3 from a Milan part, with a certificate table */
	snp_fill(r, 3, 0x19, 0x01);
	memset(r + 0x50, 0xcd, 48);           /* what the kernel reports back */
	json_t *j = snp_case("snp3", r, sizeof(r), t, snp_table(t), 0, NULL);
	json_t *ar = json_object_get(j, "attestation_report");
	assert_int_equal(json_object_size(ar), 29);
	assert_int_equal(jint(ar, "version", NULL), 3);
	assert_true(json_is_null(json_object_get(json_object_get(ar, "current_tcb"), "fmc")));
	assert_int_equal(jint(ar, "current_tcb", "bootloader"), 0x10);
	assert_int_equal(jint(ar, "current_tcb", "tee"), 0x11);
	assert_int_equal(jint(ar, "current_tcb", "snp"), 0x16);
	assert_int_equal(jint(ar, "current_tcb", "microcode"), 0x17);
	assert_int_equal(jint(ar, "cpuid_fam_id", NULL), 0x19);
	assert_int_equal(jint(ar, "cpuid_step", NULL), 2);
	assert_int_equal(jint(ar, "current", "major"), 1);
	assert_int_equal(jint(ar, "current", "minor"), 55);
	assert_int_equal(jint(ar, "current", "build"), 7);
	assert_true(json_is_null(json_object_get(ar, "launch_mit_vector")));
	json_t *rdj = json_object_get(ar, "report_data");
	assert_int_equal(json_array_size(rdj), 64);
	assert_int_equal(json_integer_value(json_array_get(rdj, 0)), 0xcd);
	assert_int_equal(json_integer_value(json_array_get(rdj, 63)), 0);
	assert_int_equal(json_array_size(json_object_get(json_object_get(ar, "signature"), "r")), 72);
	assert_int_equal(json_integer_value(json_array_get(
		json_object_get(json_object_get(ar, "signature"), "r"), 0)), 0xEE);
	/* the table sorted as the sev crate sorts it: VCEK, ASK, then others */
	json_t *cc = json_object_get(j, "cert_chain");
	assert_int_equal(json_array_size(cc), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(cc, 0), "cert_type")),
	                    "VCEK");
	assert_int_equal(json_integer_value(json_array_get(
		json_object_get(json_array_get(cc, 0), "data"), 0)), 'c');
	assert_string_equal(json_string_value(json_object_get(json_array_get(cc, 1), "cert_type")),
	                    "ASK");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
		json_array_get(cc, 2), "cert_type"), "OTHER")), "11111111-2222-3333-4444-555555555555");
	json_decref(j);

	/* version 5 from a Turin part, no auxblob: fmc and mitigation vectors */
	snp_fill(r, 5, 0x1A, 0x02);
	j = snp_case("snp5", r, sizeof(r), NULL, 0, 0, NULL);
	ar = json_object_get(j, "attestation_report");
	assert_int_equal(jint(ar, "current_tcb", "fmc"), 0x10);
	assert_int_equal(jint(ar, "current_tcb", "bootloader"), 0x11);
	assert_int_equal(jint(ar, "current_tcb", "snp"), 0x13);
	assert_int_equal(jint(ar, "launch_mit_vector", NULL), 5);
	assert_int_equal(jint(ar, "current_mit_vector", NULL), 0);
	assert_true(json_is_null(json_object_get(j, "cert_chain")));
	json_decref(j);

	/* version 2: no CPUID fields; the chip id tells the generation */
	snp_fill(r, 2, 0, 0);
	j = snp_case("snp2", r, sizeof(r), NULL, 0, 0, NULL);
	ar = json_object_get(j, "attestation_report");
	assert_true(json_is_null(json_object_get(ar, "cpuid_fam_id")));
	assert_true(json_is_null(json_object_get(json_object_get(ar, "current_tcb"), "fmc")));
	json_decref(j);
	memset(r + 0x1A0, 0, 64);
	assert_null(snp_case("snp2m", r, sizeof(r), NULL, 0, COCOIMG_EUNSUPPORTED, "masked chip id"));
	snp_fill(r, 3, 0x17, 0x31);
	assert_null(snp_case("snpfam", r, sizeof(r), NULL, 0, COCOIMG_EUNSUPPORTED,
	                     "not a known SEV-SNP processor"));
	snp_fill(r, 1, 0x19, 0x01);
	assert_null(snp_case("snpv1", r, sizeof(r), NULL, 0, COCOIMG_EUNSUPPORTED, "version 1"));
	assert_null(snp_case("snpshort", r, 100, NULL, 0, COCOIMG_EIO, "1184"));
	/* certificate tables that do not hold together */
	snp_fill(r, 3, 0x19, 0x01);
	size_t tl = snp_table(t);
	t[16] = t[40] = t[64] = 0;             /* data at the table's start, no end entry */
	assert_null(snp_case("snpnoend", r, sizeof(r), t, 72, COCOIMG_EIO, "no end entry"));
	t[16] = 200;
	assert_null(snp_case("snpout", r, sizeof(r), t, tl, COCOIMG_EIO, "outside the table"));
}

/* The backend makes its entry under root and removes it, also when the
 * entry is not a real configfs one. */
static void test_tsm_backend(void **state)
{
	(void)state;
	cocoimg_ctx *ctx = NULL;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	coco_attester *a = NULL;
	char *missing = coco_asprintf("%s/no-such-root", test_tmpdir);
	assert_int_equal(coco_attester_tsm(ctx, missing, NULL, &a), COCOIMG_ENOTFOUND);
	assert_null(a);
	char *root = coco_asprintf("%s/root", test_tmpdir);
	assert_int_equal(mkdir(root, 0700), 0);
	assert_int_equal(coco_attester_tsm(ctx, root, NULL, &a), 0);
	assert_string_equal(coco_attester_name(a), "tsm");
	char tee[COCO_TEE_MAX];
	assert_int_equal(coco_attester_tee(a, ctx, tee), COCOIMG_EIO);   /* no provider file */
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "provider"));
	char **names = NULL;
	size_t n = 0;
	assert_int_equal(coco_list_dir(ctx, root, NULL, true, false, &names, &n), 0);
	assert_int_equal(n, 0);
	coco_strv_free(names, n);
	coco_attester_free(a);
	free(root);
	free(missing);
	cocoimg_ctx_free(ctx);
}

static void test_sample(void **state)
{
	(void)state;
	cocoimg_ctx *ctx = NULL;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	coco_attester *a = NULL;
	assert_int_equal(coco_attester_sample(ctx, &a), 0);
	char tee[COCO_TEE_MAX];
	assert_int_equal(coco_attester_tee(a, ctx, tee), 0);
	assert_string_equal(tee, "sample");
	coco_buf ev = COCO_BUF_INIT;
	assert_int_equal(coco_attester_evidence(a, ctx, (const unsigned char *)"\x01\x02\x03", 3,
	                                        &ev, tee), 0);
	json_t *j = parse(&ev);
	assert_string_equal(json_string_value(json_object_get(j, "svn")), "1");
	assert_string_equal(json_string_value(json_object_get(j, "report_data")), "AQID");
	json_decref(j);
	coco_buf_free(&ev);
	unsigned char big[65] = { 0 };
	assert_int_equal(coco_attester_evidence(a, ctx, big, sizeof(big), &ev, tee),
	                 COCOIMG_EINTERNAL);
	coco_attester_free(a);
	cocoimg_ctx_free(ctx);
}

/* payload: what the callback answers ("ok", "notjson", "refuse", "badtee",
 * "switch" (another TEE with evidence than announced)) */
static int cb(void *payload, const unsigned char *rd, size_t len, unsigned char **ev,
              size_t *evlen, char **tee, char *why, size_t why_cap)
{
	const char *mode = payload;
	if (!strcmp(mode, "refuse"))
		snprintf(why, why_cap, "the TEE is busy");
	if (!strcmp(mode, "refuse"))
		return -1;
	*tee = coco_strdup(!strcmp(mode, "badtee") ? "TDX!" : rd && !strcmp(mode, "switch")
	                                                          ? "snp" : "tdx");
	if (rd) {
		char *s = !strcmp(mode, "notjson") ? coco_strdup("quote") :
		          coco_asprintf("{\"quote\":\"%zu\"}", len);
		*ev = (unsigned char *)s;
		*evlen = strlen(s);
	}
	return 0;
}

static int callback_case(const char *mode, bool ask_tee_first)
{
	cocoimg_ctx *ctx = NULL;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	coco_attester *a = NULL;
	assert_int_equal(coco_attester_callback(ctx, cb, (void *)mode, &a), 0);
	char tee[COCO_TEE_MAX];
	int rc = ask_tee_first ? coco_attester_tee(a, ctx, tee) : 0;
	coco_buf ev = COCO_BUF_INIT;
	if (!rc)
		rc = coco_attester_evidence(a, ctx, (const unsigned char *)"0123456789", 10, &ev, tee);
	if (!rc) {
		assert_string_equal(tee, "tdx");
		assert_int_equal(ev.len, strlen("{\"quote\":\"10\"}"));
	} else {
		assert_int_equal(ev.len, 0);
	}
	coco_buf_free(&ev);
	coco_attester_free(a);
	cocoimg_ctx_free(ctx);
	return rc;
}

static void test_callback(void **state)
{
	(void)state;
	assert_int_equal(callback_case("ok", true), 0);
	assert_int_equal(callback_case("ok", false), 0);
	assert_int_equal(callback_case("notjson", true), COCOIMG_EINVAL);
	assert_int_equal(callback_case("refuse", true), COCOIMG_EAUTH);
	assert_int_equal(callback_case("refuse", false), COCOIMG_EAUTH);
	assert_int_equal(callback_case("badtee", true), COCOIMG_EINVAL);
	assert_int_equal(callback_case("switch", true), COCOIMG_EINVAL);
	cocoimg_ctx *ctx = NULL;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	coco_attester *a = NULL;
	assert_int_equal(coco_attester_callback(ctx, NULL, NULL, &a), COCOIMG_EINVAL);
	cocoimg_ctx_free(ctx);
}

/* ---- kbs.c protocol pieces ---- */

static void test_jcs(void **state)
{
	(void)state;
	json_error_t e;
	/* control characters as lower-case \u escapes, '/' and non-ASCII
	 * as they are, keys in UTF-16 order (U+1F600 before U+FB33) */
	json_t *v = json_loads("{\"\\ud83d\\ude00\":\"a\",\"\\ufb33\":\"b\","
	                       "\"b\":\"\\u001f/\\u20ac\\\"\\\\\\n\",\"a\":{\"z\":\"\",\"y\":\"\"}}",
	                       0, &e);
	assert_non_null(v);
	coco_buf out = COCO_BUF_INIT;
	assert_int_equal(coco_jcs_append(v, &out), 0);
	static const char want[] = "{\"a\":{\"y\":\"\",\"z\":\"\"},\"b\":\"\\u001f/\xe2\x82\xac"
	                           "\\\"\\\\\\n\",\"\xf0\x9f\x98\x80\":\"a\",\"\xef\xac\xb3\":\"b\"}";
	assert_int_equal(out.len, strlen(want));
	assert_memory_equal(out.data, want, out.len);
	coco_buf_free(&out);
	json_decref(v);
	v = json_loads("{\"n\":1}", 0, &e);
	assert_int_equal(coco_jcs_append(v, &out), COCOIMG_EINVAL);
	coco_buf_free(&out);
	json_decref(v);
}

static void test_report_data(void **state)
{
	(void)state;
	json_error_t e;
	json_t *jwk = json_loads("{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ECDH-ES+A256KW\","
	                         "\"x\":\"AQ\",\"y\":\"Ag\"}", 0, &e);
	unsigned char rd[64];
	size_t len = 0;
	char hex[129];
	/* sha384 of {"additional-evidence":"","nonce":"bm9uY2U=","tee-pubkey":
	 * {"alg":"ECDH-ES+A256KW","crv":"P-256","kty":"EC","x":"AQ","y":"Ag"}} */
	assert_int_equal(coco_kbs_report_data("bm9uY2U=", jwk, "sha384", rd, &len), 0);
	assert_int_equal(len, 48);
	coco_hex_encode(rd, len, hex);
	assert_string_equal(hex, "8a0dedde8eaf03a25760757ffbcd91cacda23aa699d3cd311deb57f51110cfef"
	                         "59b397dba35234c48747f3e6efc92558");
	assert_int_equal(coco_kbs_report_data("bm9uY2U=", jwk, "sha256", rd, &len), 0);
	coco_hex_encode(rd, len, hex);
	assert_string_equal(hex, "79e617d16b285d0c0b24fa6ec565031fdbfc5abb3347a978f929564bc9c57818");
	assert_int_equal(coco_kbs_report_data("bm9uY2U=", jwk, "sm3", rd, &len), COCOIMG_EINVAL);
	json_decref(jwk);
}

static int challenge(const char *doc, char **nonce, const char **hash)
{
	cocoimg_ctx *ctx = NULL;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	int rc = coco_kbs_parse_challenge(ctx, (const unsigned char *)doc, strlen(doc), nonce, hash);
	cocoimg_ctx_free(ctx);
	return rc;
}

static void test_parse_challenge(void **state)
{
	(void)state;
	char *nonce = NULL;
	const char *hash = NULL;
	assert_int_equal(challenge("{\"nonce\":\"abc\",\"extra-params\":\"\"}", &nonce, &hash), 0);
	assert_string_equal(nonce, "abc");
	assert_string_equal(hash, "sha384");
	free(nonce);
	assert_int_equal(challenge("{\"nonce\":\"abc\",\"extra-params\":{\"selected-hash-algorithm\":"
	                           "\"SHA256\"}}", &nonce, &hash), 0);
	assert_string_equal(hash, "sha256");
	free(nonce);
	static const char *const bad[] = {
		"{\"extra-params\":\"\"}", "{\"nonce\":7}", "{\"nonce\":\"\"}", "[]", "{",
		"{\"nonce\":\"a\\u0000b\"}",
		"{\"nonce\":\"a\",\"extra-params\":{\"selected-hash-algorithm\":\"sm3\"}}",
		"{\"nonce\":\"a\",\"extra-params\":{\"selected-hash-algorithm\":[]}}",
		"{\"nonce\":\"a\",\"nonce\":\"b\"}",
	};
	for (size_t i = 0; i < COCO_ARRAY_SIZE(bad); i++) {
		assert_int_equal(challenge(bad[i], &nonce, &hash), COCOIMG_EBADIMAGE);
		assert_null(nonce);
	}
}

static void test_parse_token_and_response(void **state)
{
	(void)state;
	cocoimg_ctx *ctx = NULL;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	char *tok = NULL;
	const char *ok = "{\"token\":\"aaa.bbb.ccc\"}";
	assert_int_equal(coco_kbs_parse_token(ctx, (const unsigned char *)ok, strlen(ok), &tok), 0);
	assert_string_equal(tok, "aaa.bbb.ccc");
	free(tok);
	static const char *const badtok[] = { "{}", "{\"token\":\"\"}", "{\"token\":\"a\\nb\"}",
	                                      "{\"token\":1}", "x", "{\"token\":\"secret-x\" " };
	for (size_t i = 0; i < COCO_ARRAY_SIZE(badtok); i++) {
		assert_int_equal(coco_kbs_parse_token(ctx, (const unsigned char *)badtok[i], strlen(badtok[i]), &tok),
		                 COCOIMG_EBADIMAGE);
		assert_null(tok);
		assert_null(strstr(cocoimg_ctx_last_error(ctx), "secret"));
	}
	char alg[32];
	/* {"alg":"RSA-OAEP-256","enc":"A256GCM"} */
	const char *r = "{\"protected\":\"eyJhbGciOiJSU0EtT0FFUC0yNTYiLCJlbmMiOiJBMjU2R0NNIn0\","
	                "\"encrypted_key\":\"AA\",\"iv\":\"AA\",\"ciphertext\":\"\",\"tag\":\"AA\"}";
	assert_int_equal(coco_kbs_parse_response(ctx, (const unsigned char *)r, strlen(r), alg), 0);
	assert_string_equal(alg, "RSA-OAEP-256");
	/* {"alg":"RSA-OAEP-256","enc":"A128GCM"} */
	r = "{\"protected\":\"eyJhbGciOiJSU0EtT0FFUC0yNTYiLCJlbmMiOiJBMTI4R0NNIn0\","
	    "\"encrypted_key\":\"AA\",\"iv\":\"AA\",\"ciphertext\":\"\",\"tag\":\"AA\"}";
	assert_int_equal(coco_kbs_parse_response(ctx, (const unsigned char *)r, strlen(r), alg), COCOIMG_EBADIMAGE);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "A256GCM"));
	r = "{\"protected\":\"eyJhbGciOiJSU0EtT0FFUC0yNTYiLCJlbmMiOiJBMjU2R0NNIn0\","
	    "\"encrypted_key\":\"AA\",\"iv\":\"A+A\",\"ciphertext\":\"\",\"tag\":\"AA\"}";
	assert_int_equal(coco_kbs_parse_response(ctx, (const unsigned char *)r, strlen(r), alg), COCOIMG_EBADIMAGE);
	r = "{\"protected\":\"e30\",\"encrypted_key\":\"AA\",\"iv\":\"AA\",\"ciphertext\":\"\","
	    "\"tag\":\"AA\"}";
	assert_int_equal(coco_kbs_parse_response(ctx, (const unsigned char *)r, strlen(r), alg), COCOIMG_EBADIMAGE);
	cocoimg_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tsm_tdx),
		cmocka_unit_test(test_tsm_cca),
		cmocka_unit_test(test_tsm_errors),
		cmocka_unit_test(test_tsm_snp),
		cmocka_unit_test(test_tsm_backend),
		cmocka_unit_test(test_sample),
		cmocka_unit_test(test_callback),
		cmocka_unit_test(test_jcs),
		cmocka_unit_test(test_report_data),
		cmocka_unit_test(test_parse_challenge),
		cmocka_unit_test(test_parse_token_and_response),
	};
	return cmocka_run_group_tests(tests, test_tmpdir_setup, test_tmpdir_teardown);
}
