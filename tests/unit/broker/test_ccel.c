/* Unit tests for broker/ccel.c: trimming a CC event log at the end of its
 * recorded events, the cc_eventlog member built from the firmware log and
 * the attestation agent's log, and TDX evidence from configfs-tsm with
 * it.  The sample log (ccel_sample.h) follows the TCG crypto-agile format
 * as Trustee 78962cd4 (deps/eventlog) reads it and guest-components
 * 8246e5e0 (attestation-agent/attester/src/utils.rs) trims it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../lib/tmpdir.h"
#include "base.h"
#include "broker/attester.h"
#include "broker/ccel.h"
#include "json.h"
#include "ccel_sample.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void expect_trim(const unsigned char *log, size_t len, size_t want)
{
	size_t end = 0;
	int rc = coco_ccel_trim(NULL, log, len, &end);
	if (rc)
		fail_msg("trim failed");
	assert_int_equal(end, want);
}

static void expect_bad(const unsigned char *log, size_t len, const char *msg)
{
	cocoimg_ctx *ctx = NULL;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	size_t end = 12345;
	assert_int_equal(coco_ccel_trim(ctx, log, len, &end), COCOIMG_EIO);
	assert_int_equal(end, 12345);
	if (!strstr(cocoimg_ctx_last_error(ctx), msg))
		fail_msg("\"%s\" lacks \"%s\"", cocoimg_ctx_last_error(ctx), msg);
	cocoimg_ctx_free(ctx);
}

/* OVMF pads with 0xFF, td-shim with zeros; a log that fills its area has
 * no end marker and is kept whole. */
static void test_trim(void **state)
{
	(void)state;
	static ccel_sample s;
	for (int algs = 0; algs < 2; algs++) {
		ccel_sample_build(&s, 0xff, algs);
		expect_trim(s.data, s.len, s.recorded);
		ccel_sample_build(&s, 0x00, algs);
		expect_trim(s.data, s.len, s.recorded);
		expect_trim(s.data, s.recorded, s.recorded);
		expect_trim(s.data, s.recorded + 8, s.recorded);
	}
	/* only the Spec ID event */
	ccel_sample_build(&s, 0xff, 0);
	size_t hdr = 32 + 33;
	expect_trim(s.data, hdr, hdr);
	memset(s.data + hdr, 0xff, 8);
	expect_trim(s.data, hdr + 8, hdr);
}

static void test_trim_bad(void **state)
{
	(void)state;
	static ccel_sample s;
	ccel_sample_build(&s, 0xff, 0);
	expect_bad(s.data, 31, "no TCG_PCR_EVENT header");
	expect_bad(s.data, 40, "runs past the end");
	/* a partial record where the next one would start */
	expect_bad(s.data, s.recorded + 5, "neither an event nor the end marker");
	/* every cut inside the events is refused */
	for (size_t n = 32 + 33 + 8; n < s.recorded; n++) {
		size_t end;
		int rc = coco_ccel_trim(NULL, s.data, n, &end);
		/* a cut exactly between two records is a complete, shorter log */
		if (!rc)
			assert_int_equal(end, n);
	}
	static ccel_sample t;
	t = s;
	t.data[4] = 1;                                  /* EV_POST_CODE first */
	expect_bad(t.data, t.len, "not the Spec ID event");
	t = s;
	t.data[32 + 24] = 0;                            /* no algorithms */
	expect_bad(t.data, t.len, "no or too many digest");
	t = s;
	t.data[32 + 30] = 65;                           /* SHA-384 of 65 bytes */
	expect_bad(t.data, t.len, "beyond 1..64");
	t = s;
	t.data[32 + 32] = 3;                            /* vendor data past the event */
	expect_bad(t.data, t.len, "does not match its contents");
	t = s;
	t.data[32 + 33 + 12] = 0x0b;                    /* SHA-256, not listed */
	expect_bad(t.data, t.len, "does not list");
	t = s;
	ccel_put32(t.data + 32 + 33 + 62, 0x7fffffff);  /* the first event's size */
	expect_bad(t.data, t.len, "runs past the end");
	t = s;
	ccel_put32(t.data + 32 + 33 + 8, 2);            /* digest count: the second is
	                                                 * the event size, 7: no such alg */
	expect_bad(t.data, t.len, "does not list");
}

static json_t *eventlog(const coco_eventlog_paths *p)
{
	cocoimg_ctx *ctx = NULL;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	coco_buf b = COCO_BUF_INIT;
	if (coco_cc_eventlog_json(ctx, p, &b))
		fail_msg("%s", cocoimg_ctx_last_error(ctx));
	json_error_t e;
	json_t *j = json_loadb((const char *)b.data, b.len, JSON_DECODE_ANY, &e);
	assert_non_null(j);
	coco_buf_free(&b);
	cocoimg_ctx_free(ctx);
	return j;
}

static void expect_log(json_t *j, const void *a, size_t alen, const void *b, size_t blen)
{
	assert_true(json_is_string(j));
	coco_buf got = COCO_BUF_INIT;
	assert_int_equal(coco_b64_decode(json_string_value(j), json_string_length(j), &got), 0);
	assert_int_equal(got.len, alen + blen + 8);
	assert_memory_equal(got.data, a, alen);
	if (blen)
		assert_memory_equal(got.data + alen, b, blen);
	for (size_t i = 0; i < 8; i++)
		assert_int_equal(got.data[alen + blen + i], 0xff);
	coco_buf_free(&got);
	json_decref(j);
}

static void test_eventlog_json(void **state)
{
	(void)state;
	static ccel_sample s;
	ccel_sample_build(&s, 0xff, 0);
	unsigned char aael[256];
	unsigned char rt[4][48];
	size_t alen = ccel_aael_record(aael, rt);
	alen += ccel_aael_record(aael + alen, rt);
	char *ccel = test_tmp_file("CCEL", s.data, s.len);
	char *ael = test_tmp_file("eventlog", aael, alen);
	char *none = coco_asprintf("%s/none", test_tmpdir);
	/* neither: null */
	coco_eventlog_paths p = { none, none };
	json_t *j = eventlog(&p);
	assert_true(json_is_null(j));
	json_decref(j);
	/* the firmware log, trimmed, then the end marker */
	p.ccel = ccel;
	expect_log(eventlog(&p), s.data, s.recorded, NULL, 0);
	/* then the agent's log as it is */
	p.aael = ael;
	expect_log(eventlog(&p), s.data, s.recorded, aael, alen);
	/* the agent's log alone gets guest-components' header: zero SHA-1,
	 * a Spec ID event of 37 bytes listing SHA-384 and SM3 */
	p.ccel = none;
	unsigned char hdr[69] = { 0 };
	hdr[4] = 3;
	hdr[28] = 37;
	memcpy(hdr + 56, "\x02\x00\x00\x00\x0c\x00\x30\x00\x12\x00\x20\x00", 12);
	expect_log(eventlog(&p), hdr, sizeof(hdr), aael, alen);
	/* which the trimmer reads as a header with an empty log */
	expect_trim(hdr, sizeof(hdr), sizeof(hdr));
	/* AAEL_PATH names the agent's log when the caller gives none */
	p.aael = NULL;
	assert_int_equal(setenv("AAEL_PATH", ael, 1), 0);
	expect_log(eventlog(&p), hdr, sizeof(hdr), aael, alen);
	unsetenv("AAEL_PATH");
	free(ccel);
	free(ael);
	free(none);
}

/* A firmware log that does not hold together fails the evidence, naming
 * the file, as guest-components' attester does. */
static void test_eventlog_bad(void **state)
{
	(void)state;
	static ccel_sample s;
	ccel_sample_build(&s, 0xff, 0);
	s.data[4] = 1;
	char *ccel = test_tmp_file("CCEL-bad", s.data, s.len);
	char *none = coco_asprintf("%s/none", test_tmpdir);
	coco_eventlog_paths p = { ccel, none };
	cocoimg_ctx *ctx = NULL;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	coco_buf b = COCO_BUF_INIT;
	assert_int_equal(coco_cc_eventlog_json(ctx, &p, &b), COCOIMG_EIO);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "CCEL-bad"));
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "Spec ID"));
	coco_buf_free(&b);
	cocoimg_ctx_free(ctx);
	free(ccel);
	free(none);
}

/* configfs-tsm TDX evidence carries the log next to the quote. */
static void test_tsm_tdx_eventlog(void **state)
{
	(void)state;
	static ccel_sample s;
	ccel_sample_build(&s, 0x00, 1);
	char *ccel = test_tmp_file("CCEL-tsm", s.data, s.len);
	char *none = coco_asprintf("%s/none", test_tmpdir);
	char *dir = coco_asprintf("%s/entry", test_tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	free(test_tmp_file("entry/provider", "tdx_guest\n", 10));
	free(test_tmp_file("entry/generation", "1\n", 2));
	free(test_tmp_file("entry/outblob", "\x04\x00\x02\x00\x81", 5));
	cocoimg_ctx *ctx = NULL;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	coco_eventlog_paths p = { ccel, none };
	coco_buf ev = COCO_BUF_INIT;
	char tee[COCO_TEE_MAX];
	assert_int_equal(coco_tsm_report(ctx, dir, &p, (const unsigned char *)"rd", 2, &ev, tee), 0);
	assert_string_equal(tee, "tdx");
	json_error_t e;
	json_t *j = json_loadb((const char *)ev.data, ev.len, 0, &e);
	assert_non_null(j);
	assert_int_equal(json_object_size(j), 2);
	assert_string_equal(json_string_value(json_object_get(j, "quote")), "BAACAIE=");
	expect_log(json_incref(json_object_get(j, "cc_eventlog")), s.data, s.recorded, NULL, 0);
	json_decref(j);
	/* and a broken log fails the evidence */
	s.data[32 + 24] = 0;
	free(test_tmp_file("CCEL-tsm", s.data, s.len));
	coco_buf_free(&ev);
	assert_int_equal(coco_tsm_report(ctx, dir, &p, (const unsigned char *)"rd", 2, &ev, tee),
	                 COCOIMG_EIO);
	assert_int_equal(ev.len, 0);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "attester tsm"));
	coco_buf_free(&ev);
	cocoimg_ctx_free(ctx);
	free(dir);
	free(ccel);
	free(none);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trim),
		cmocka_unit_test(test_trim_bad),
		cmocka_unit_test(test_eventlog_json),
		cmocka_unit_test(test_eventlog_bad),
		cmocka_unit_test(test_tsm_tdx_eventlog),
	};
	return cmocka_run_group_tests(tests, test_tmpdir_setup, test_tmpdir_teardown);
}
