/* broker/kbs.c against the KBS double (tests/integration/broker/
 * kbs_double.py, sample TEE): one attestation for several resources, both
 * TEE key types, token expiry and refusal with exactly one re-attestation,
 * attestation refused, unknown resources, HTTPS with and without the CA,
 * the challenge's hash selection; SEV-SNP evidence from a configfs-tsm
 * report entry checked by the double as Trustee's verifier reads it; and
 * the double's own strictness (a client that skips the session or the
 * token is refused). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base.h"
#include "broker/attester.h"
#include "broker/kbs.h"
#include "broker/snp.h"
#include "../../unit/broker/ccel_sample.h"
#include "image_broker.h"
#include "../../lib/doubles.h"

#include <openssl/evp.h>

#include <curl/curl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[256];
static char *resdir, *cert, *key;

typedef struct dbl {
	pid_t pid;
	int port;
	char *log;
	char *url;
} dbl;

static void put_file(const char *rel, const char *content)
{
	char *p = coco_asprintf("%s/%s", tmpdir, rel);
	char *slash = strrchr(p, '/');
	*slash = 0;
	assert_int_equal(coco_mkdir_p(NULL, p, 0700), 0);
	*slash = '/';
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
	free(p);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/kbs-test-XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir))
		return -1;
	resdir = coco_asprintf("%s/res", tmpdir);
	put_file("res/default/key/k1", "key one");
	put_file("res/default/key/k2", "key two");
	put_file("res/default/policy/p", "{\"default\":[{\"type\":\"reject\"}]}");
	cert = coco_asprintf("%s/kbs.crt", tmpdir);
	key = coco_asprintf("%s/kbs.key", tmpdir);
	char *cmd = coco_asprintf(
		"openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
		"-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout %s -out %s "
		">/dev/null 2>&1", key, cert);
	int rc = system(cmd);
	free(cmd);
	return rc == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	test_doubles_stop_all();
	coco_rm_rf(NULL, tmpdir);
	free(resdir);
	free(cert);
	free(key);
	return 0;
}

/* Start the double with up to four extra arguments (NULL-terminated). */
static void start(dbl *d, int tls, ...)
{
	static int n;
	const char *top = getenv("TOP_SRCDIR") ? getenv("TOP_SRCDIR") : ".";
	char *py = coco_asprintf("%s/tests/integration/broker/kbs_double.py", top);
	d->log = coco_asprintf("%s/kbs-%d.log", tmpdir, n++);
	char *argv[16] = { (char *)"/usr/bin/python3", py, (char *)"--log", d->log,
	                   (char *)"--resources", resdir };
	int argc = 6;
	if (tls) {
		argv[argc++] = (char *)"--tls";
		argv[argc++] = cert;
		argv[argc++] = key;
	}
	va_list ap;
	va_start(ap, tls);
	for (const char *a; argc < 15 && (a = va_arg(ap, const char *));)
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	char line[64];
	d->pid = test_double_spawn(argv, line, sizeof(line));
	assert_true(d->pid > 0);
	assert_int_equal(sscanf(line, "PORT %d", &d->port), 1);
	d->url = coco_asprintf("%s://127.0.0.1:%d", tls ? "https" : "http", d->port);
	free(py);
}

static void stop(dbl *d)
{
	test_double_stop(d->pid);
	free(d->log);
	free(d->url);
}

/* Lines of the double's log containing needle. */
static int log_count(const dbl *d, const char *needle)
{
	return test_log_count(d->log, needle);
}

static coco_kbs *client(cocoimg_ctx *ctx, const dbl *d, const char *ca, coco_kbs_key_type kt)
{
	coco_attester *a = NULL;
	assert_int_equal(coco_attester_sample(ctx, &a), 0);
	coco_kbs *k = NULL;
	assert_int_equal(coco_kbs_new(ctx, d->url, ca, a, &k), 0);
	assert_int_equal(coco_kbs_set_key_type(k, kt), 0);
	return k;
}

static void expect_resource(coco_kbs *k, cocoimg_ctx *ctx, const char *path, const char *want)
{
	coco_buf b = COCO_BUF_INIT;
	int rc = coco_kbs_get_resource(k, path, &b);
	if (rc)
		fail_msg("%s: %s", path, cocoimg_ctx_last_error(ctx));
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.data, want, b.len);
	coco_buf_wipe_free(&b);
}

static void expect_error(coco_kbs *k, cocoimg_ctx *ctx, const char *path, int code,
                         const char *msg)
{
	coco_buf b = COCO_BUF_INIT;
	assert_int_equal(coco_kbs_get_resource(k, path, &b), code);
	assert_int_equal(b.len, 0);
	const char *e = cocoimg_ctx_last_error(ctx);
	if (!strstr(e, msg))
		fail_msg("message \"%s\" lacks \"%s\"", e, msg);
	coco_buf_free(&b);
}

static void several_resources(coco_kbs_key_type kt)
{
	dbl d;
	start(&d, 0, NULL);
	cocoimg_ctx *ctx = NULL;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	coco_op_broker_attach(ctx);  /* the KBS client opens JWEs with crypt/ */
	coco_kbs *k = client(ctx, &d, NULL, kt);
	expect_resource(k, ctx, "default/key/k1", "key one");
	expect_resource(k, ctx, "default/key/k2", "key two");
	expect_resource(k, ctx, "default/policy/p", "{\"default\":[{\"type\":\"reject\"}]}");
	assert_int_equal(coco_kbs_attestations(k), 1);
	assert_int_equal(log_count(&d, "\"event\": \"challenge\""), 1);
	assert_int_equal(log_count(&d, "\"event\": \"attested\""), 1);
	/* every GET carried the session cookie and the token */
	assert_int_equal(log_count(&d, "\"cookie\": true, \"bearer\": true, \"event\": \"released\""), 3);
	coco_kbs_free(k);
	cocoimg_ctx_free(ctx);
	stop(&d);
}

static void test_several_resources_ec(void **state)
{
	(void)state;
	several_resources(COCO_KBS_KEY_EC_P256);
}

static void test_several_resources_rsa(void **state)
{
	(void)state;
	several_resources(COCO_KBS_KEY_RSA);
}

/* The token serves two GETs; the third is refused: one re-attestation. */
static void test_token_expiry(void **state)
{
	(void)state;
	dbl d;
	start(&d, 0, "--expire-after", "2", NULL);
	cocoimg_ctx *ctx = NULL;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	coco_op_broker_attach(ctx);  /* the KBS client opens JWEs with crypt/ */
	coco_kbs *k = client(ctx, &d, NULL, COCO_KBS_KEY_EC_P256);
	expect_resource(k, ctx, "default/key/k1", "key one");
	expect_resource(k, ctx, "default/key/k2", "key two");
	expect_resource(k, ctx, "default/policy/p", "{\"default\":[{\"type\":\"reject\"}]}");
	assert_int_equal(coco_kbs_attestations(k), 2);
	assert_int_equal(log_count(&d, "\"event\": \"attested\""), 2);
	assert_int_equal(log_count(&d, "token expired"), 1);
	coco_kbs_free(k);
	cocoimg_ctx_free(ctx);
	stop(&d);
}

/* A token whose exp claim has passed is replaced before it is used. */
static void test_token_exp_claim(void **state)
{
	(void)state;
	dbl d;
	start(&d, 0, "--token-exp", "-60", NULL);
	cocoimg_ctx *ctx = NULL;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	coco_op_broker_attach(ctx);  /* the KBS client opens JWEs with crypt/ */
	coco_kbs *k = client(ctx, &d, NULL, COCO_KBS_KEY_EC_P256);
	expect_resource(k, ctx, "default/key/k1", "key one");
	expect_resource(k, ctx, "default/key/k2", "key two");
	assert_int_equal(coco_kbs_attestations(k), 2);
	assert_int_equal(log_count(&d, "\"status\": 401"), 0);
	coco_kbs_free(k);
	cocoimg_ctx_free(ctx);
	stop(&d);
}

static void test_attestation_refused(void **state)
{
	(void)state;
	dbl d;
	start(&d, 0, "--refuse-attestation", NULL);
	cocoimg_ctx *ctx = NULL;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	coco_op_broker_attach(ctx);  /* the KBS client opens JWEs with crypt/ */
	coco_kbs *k = client(ctx, &d, NULL, COCO_KBS_KEY_EC_P256);
	expect_error(k, ctx, "default/key/k1", COCOIMG_EAUTH, "attestation refused at attest");
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "PolicyDeny"));
	assert_int_equal(coco_kbs_attestations(k), 0);
	assert_int_equal(log_count(&d, "/kbs/v0/resource/"), 0);
	coco_kbs_free(k);
	cocoimg_ctx_free(ctx);
	stop(&d);
}

/* Unknown resources: Trustee's 401 (after one re-attestation when the
 * token was not fresh) and a 404, both "not found or not released". */
static void test_unknown_resource(void **state)
{
	(void)state;
	dbl d;
	start(&d, 0, NULL);
	cocoimg_ctx *ctx = NULL;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	coco_op_broker_attach(ctx);  /* the KBS client opens JWEs with crypt/ */
	coco_kbs *k = client(ctx, &d, NULL, COCO_KBS_KEY_EC_P256);
	expect_error(k, ctx, "default/key/nope", COCOIMG_ENOTFOUND,
	             "kbs:///default/key/nope not found or not released");
	assert_int_equal(coco_kbs_attestations(k), 1);   /* fresh token: no second try */
	expect_resource(k, ctx, "default/key/k1", "key one");
	expect_error(k, ctx, "default/key/nope", COCOIMG_ENOTFOUND, "not found or not released");
	assert_int_equal(coco_kbs_attestations(k), 2);   /* exactly one re-attestation */
	expect_resource(k, ctx, "default/key/k2", "key two");
	assert_int_equal(coco_kbs_attestations(k), 2);
	coco_kbs_free(k);
	cocoimg_ctx_free(ctx);
	stop(&d);

	start(&d, 0, "--missing-status", "404", NULL);
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	coco_op_broker_attach(ctx);  /* the KBS client opens JWEs with crypt/ */
	k = client(ctx, &d, NULL, COCO_KBS_KEY_EC_P256);
	expect_resource(k, ctx, "default/key/k1", "key one");
	expect_error(k, ctx, "default/key/nope", COCOIMG_ENOTFOUND, "not found or not released (HTTP 404");
	assert_int_equal(coco_kbs_attestations(k), 1);
	coco_kbs_free(k);
	cocoimg_ctx_free(ctx);
	stop(&d);
}

static void test_bad_paths(void **state)
{
	(void)state;
	cocoimg_ctx *ctx = NULL;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	coco_op_broker_attach(ctx);  /* the KBS client opens JWEs with crypt/ */
	coco_attester *a = NULL;
	assert_int_equal(coco_attester_sample(ctx, &a), 0);
	coco_kbs *k = NULL;
	assert_int_equal(coco_kbs_new(ctx, "http://127.0.0.1:1/", NULL, a, &k), 0);
	static const char *const bad[] = { "a/b", "a/b/c/d", "a//c", "a/../c", "/a/b/c", "a/b/",
	                                   "a/b/.", "a/\n/c", "" };
	for (size_t i = 0; i < COCO_ARRAY_SIZE(bad); i++)
		expect_error(k, ctx, bad[i], COCOIMG_EINVAL, "is not REPOSITORY/TYPE/TAG");
	/* nothing listens on port 1 */
	expect_error(k, ctx, "a/b/c", COCOIMG_ENET, "KBS http://127.0.0.1:1");
	coco_kbs_free(k);
	a = NULL;
	assert_int_equal(coco_attester_sample(ctx, &a), 0);
	assert_int_equal(coco_kbs_new(ctx, "ftp://x", NULL, a, &k), COCOIMG_EINVAL);
	assert_null(k);
	assert_int_equal(coco_attester_sample(ctx, &a), 0);
	assert_int_equal(coco_kbs_new(ctx, "https://127.0.0.1:1", "/nonexistent/kbs.crt", a, &k),
	                 COCOIMG_EINVAL);
	assert_null(k);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "/nonexistent/kbs.crt"));
	cocoimg_ctx_free(ctx);
}

/* A peer that accepts the connection and never answers: the request
 * gives up after the client's timeout. */
static void test_timeout(void **state)
{
	(void)state;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	dbl d = { .url = coco_asprintf("http://127.0.0.1:%d", ntohs(sa.sin_port)) };
	cocoimg_ctx *ctx = NULL;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	coco_op_broker_attach(ctx);  /* the KBS client opens JWEs with crypt/ */
	coco_kbs *k = client(ctx, &d, NULL, COCO_KBS_KEY_EC_P256);
	coco_kbs_set_timeout(k, 1);
	time_t t0 = time(NULL);
	expect_error(k, ctx, "default/key/k1", COCOIMG_ENET, "/kbs/v0/auth");
	assert_true(time(NULL) - t0 < 10);
	coco_kbs_free(k);
	cocoimg_ctx_free(ctx);
	free(d.url);
	close(fd);
}

static void test_tls(void **state)
{
	(void)state;
	dbl d;
	start(&d, 1, NULL);
	cocoimg_ctx *ctx = NULL;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	coco_op_broker_attach(ctx);  /* the KBS client opens JWEs with crypt/ */
	coco_kbs *k = client(ctx, &d, cert, COCO_KBS_KEY_EC_P256);
	expect_resource(k, ctx, "default/key/k1", "key one");
	coco_kbs_free(k);
	/* the system CAs do not know the double's certificate */
	k = client(ctx, &d, NULL, COCO_KBS_KEY_EC_P256);
	expect_error(k, ctx, "default/key/k1", COCOIMG_ENET, d.url);
	assert_int_equal(coco_kbs_attestations(k), 0);
	coco_kbs_free(k);
	cocoimg_ctx_free(ctx);
	assert_int_equal(log_count(&d, "\"event\": \"attested\""), 1);
	stop(&d);
}

static void test_selected_hash(void **state)
{
	(void)state;
	dbl d;
	start(&d, 0, "--select-hash", "sha512", NULL);
	cocoimg_ctx *ctx = NULL;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	coco_op_broker_attach(ctx);  /* the KBS client opens JWEs with crypt/ */
	coco_kbs *k = client(ctx, &d, NULL, COCO_KBS_KEY_RSA);
	expect_resource(k, ctx, "default/key/k2", "key two");
	coco_kbs_free(k);
	cocoimg_ctx_free(ctx);
	stop(&d);
}

/* ---- the double is strict: skipped steps fail ---- */

static size_t sink(char *p, size_t s, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return s * n;
}

static long raw(const char *url, const char *body, const char *hdr)
{
	CURL *h = curl_easy_init();
	struct curl_slist *l = curl_slist_append(NULL, "Content-Type: application/json");
	if (hdr)
		l = curl_slist_append(l, hdr);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, l);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	if (body)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	long status = 0;
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(l);
	curl_easy_cleanup(h);
	return status;
}

static void test_double_strict(void **state)
{
	(void)state;
	dbl d;
	start(&d, 0, NULL);
	char *u = coco_asprintf("%s/kbs/v0/resource/default/key/k1", d.url);
	assert_int_equal(raw(u, NULL, NULL), 401);                        /* no token */
	assert_int_equal(raw(u, NULL, "Authorization: Bearer x.y.z"), 401); /* forged token */
	free(u);
	u = coco_asprintf("%s/kbs/v0/attest", d.url);
	assert_int_equal(raw(u, "{}", NULL), 401);                        /* no session */
	free(u);
	u = coco_asprintf("%s/kbs/v0/auth", d.url);
	assert_int_equal(raw(u, "{\"version\":\"0.1.1\",\"tee\":\"sample\",\"extra-params\":\"\"}",
	                     NULL), 401);                                  /* old version */
	assert_int_equal(raw(u, "{\"version\":\"0.4.0\",\"tee\":\"tdx\",\"extra-params\":\"\"}",
	                     NULL), 401);                                  /* not sample */
	assert_int_equal(raw(u, "{\"version\":\"0.4.0\",\"tee\":\"sample\",\"extra-params\":\"\"}",
	                     NULL), 200);
	free(u);
	stop(&d);
}

/* Evidence that binds another key is refused: a callback attester that
 * answers with sample evidence over the wrong report data. */
static int wrong_binding(void *payload, const unsigned char *rd, size_t len,
                         unsigned char **ev, size_t *evlen, char **tee, char *why,
                         size_t why_cap)
{
	(void)why;
	(void)why_cap;
	(void)payload;
	*tee = coco_strdup("sample");
	if (!rd)
		return 0;
	unsigned char other[64];
	memcpy(other, rd, len);
	other[0] ^= 1;
	char *b64 = coco_b64_encode(other, len);
	char *s = coco_asprintf("{\"svn\":\"1\",\"report_data\":\"%s\"}", b64);
	free(b64);
	*ev = (unsigned char *)s;
	*evlen = strlen(s);
	return 0;
}

static void test_wrong_binding_refused(void **state)
{
	(void)state;
	dbl d;
	start(&d, 0, NULL);
	cocoimg_ctx *ctx = NULL;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	coco_op_broker_attach(ctx);  /* the KBS client opens JWEs with crypt/ */
	coco_attester *a = NULL;
	assert_int_equal(coco_attester_callback(ctx, wrong_binding, NULL, &a), 0);
	coco_kbs *k = NULL;
	assert_int_equal(coco_kbs_new(ctx, d.url, NULL, a, &k), 0);
	expect_error(k, ctx, "default/key/k1", COCOIMG_EAUTH, "attestation refused at attest");
	assert_int_equal(log_count(&d, "REPORT_DATA does not bind"), 1);
	coco_kbs_free(k);
	cocoimg_ctx_free(ctx);
	stop(&d);
}

/* Write len bytes to the absolute path p. */
static void put_file_abs(const char *p, const void *data, size_t len)
{
	FILE *f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* ---- SEV-SNP through configfs-tsm ---------------------------------- */

/* A version-3 report from a Milan part (CPUID family 0x19 model 0x01)
 * carrying rd, with the stand-in signature the double checks: SHA-384 of
 * bytes 0..0x29F in signature.r (no AMD key signs test reports).  tamper:
 * a reserved byte set, which the verifier's re-encoding loses. */
static void snp_report(unsigned char r[COCO_SNP_REPORT_LEN], const unsigned char *rd, size_t len,
                       bool tamper)
{
	memset(r, 0, COCO_SNP_REPORT_LEN);
	r[0x00] = 3;                       /* version */
	r[0x0A] = 0x03;                    /* policy: bit 17 (reserved, 1) and SMT, */
	r[0x0F] = 0x80;                    /* and bit 63: a u64 beyond int64 */
	r[0x38] = 3; r[0x39] = 0; r[0x3E] = 8; r[0x3F] = 115;   /* current TCB */
	memcpy(r + 0x50, rd, len);
	for (int i = 0; i < 48; i++)
		r[0x90 + i] = (unsigned char)(0xA0 + i);         /* measurement */
	memcpy(r + 0x180, r + 0x38, 8);    /* reported TCB */
	r[0x188] = 0x19; r[0x189] = 0x01; r[0x18A] = 0x01;   /* CPUID family, model, stepping */
	for (int i = 0; i < 64; i++)
		r[0x1A0 + i] = (unsigned char)(i + 1);           /* chip id */
	memcpy(r + 0x1E0, r + 0x38, 8);    /* committed TCB */
	r[0x1E8] = 21; r[0x1E9] = 55; r[0x1EA] = 1;           /* current build, minor, major */
	memcpy(r + 0x1EC, r + 0x1E8, 3);
	memcpy(r + 0x1F0, r + 0x38, 8);    /* launch TCB */
	if (tamper)
		r[0x4C] = 1;                    /* reserved */
	unsigned int n = 0;
	EVP_Digest(r, 0x2A0, r + 0x2A0, &n, EVP_sha384(), NULL);
}

/* The GHCB certificate table the kernel hands out as auxblob: VCEK. */
static size_t snp_aux(unsigned char *aux)
{
	static const unsigned char vcek[16] = { 0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
	                                        0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd };
	memset(aux, 0, 48 + 4);
	memcpy(aux, vcek, 16);
	aux[16] = 48;                      /* offset */
	aux[20] = 4;                       /* length */
	memcpy(aux + 48, "\x30\x02\x05\x00", 4);
	return 52;
}

static int snp_evidence_fn(void *payload, const unsigned char *rd, size_t len,
                           unsigned char **ev, size_t *evlen, char **tee, char *why,
                           size_t why_cap)
{
	(void)why;
	(void)why_cap;
	bool tamper = payload != NULL;
	*tee = coco_strdup("snp");
	if (!rd)
		return 0;
	/* the report entry as configfs-tsm shows it once inblob is written */
	static int n;
	char *dir = coco_asprintf("%s/tsm-%d", tmpdir, n++);
	assert_int_equal(mkdir(dir, 0700), 0);
	unsigned char rep[COCO_SNP_REPORT_LEN], aux[64];
	snp_report(rep, rd, len, tamper);
	size_t auxlen = snp_aux(aux);
	char *p = coco_asprintf("%s/provider", dir);
	put_file_abs(p, "sev_guest\n", 10);
	free(p);
	p = coco_asprintf("%s/generation", dir);
	put_file_abs(p, "1\n", 2);
	free(p);
	p = coco_asprintf("%s/outblob", dir);
	put_file_abs(p, rep, sizeof(rep));
	free(p);
	p = coco_asprintf("%s/auxblob", dir);
	put_file_abs(p, aux, auxlen);
	free(p);
	cocoimg_ctx *c = NULL;
	assert_int_equal(cocoimg_ctx_new(&c), 0);
	coco_buf b = COCO_BUF_INIT;
	char t[COCO_TEE_MAX];
	int rc = coco_tsm_report(c, dir, NULL, rd, len, &b, t);
	if (rc)
		fail_msg("coco_tsm_report: %s", cocoimg_ctx_last_error(c));
	assert_string_equal(t, "snp");
	cocoimg_ctx_free(c);
	coco_rm_rf(NULL, dir);
	free(dir);
	*ev = b.data;
	*evlen = b.len;
	return 0;
}

/* SNP evidence from configfs-tsm's report (outblob) and certificate
 * table (auxblob), shaped as Trustee's SNP verifier reads it: the double
 * re-encodes it field by field, checks the stand-in signature over that
 * and the report data's binding of nonce and TEE key; a report whose
 * re-encoding differs (a reserved byte set) is refused, as the real
 * verifier's signature check would refuse it. */
static void test_snp_tsm(void **state)
{
	(void)state;
	dbl d;
	start(&d, 0, "--tee", "snp", NULL);
	for (int tamper = 0; tamper < 2; tamper++) {
		cocoimg_ctx *ctx = NULL;
		assert_int_equal(cocoimg_ctx_new(&ctx), 0);
		coco_op_broker_attach(ctx);  /* the KBS client opens JWEs with crypt/ */
		coco_attester *a = NULL;
		assert_int_equal(coco_attester_callback(ctx, snp_evidence_fn,
		                                        tamper ? (void *)"tamper" : NULL, &a), 0);
		coco_kbs *k = NULL;
		assert_int_equal(coco_kbs_new(ctx, d.url, NULL, a, &k), 0);
		if (!tamper)
			expect_resource(k, ctx, "default/key/k1", "key one");
		else
			expect_error(k, ctx, "default/key/k1", COCOIMG_EAUTH, "attestation refused");
		coco_kbs_free(k);
		cocoimg_ctx_free(ctx);
	}
	assert_int_equal(log_count(&d, "\"event\": \"attested\""), 1);
	assert_int_equal(log_count(&d, "does not match its signature"), 1);
	stop(&d);
}

/* ---- TDX through configfs-tsm, with the CC event log --------------- */

enum tdx_case { TDX_CCEL, TDX_CCEL_AAEL, TDX_TAMPERED, TDX_AAEL_MISSING, TDX_NO_LOG };

/* A v4 TDX quote (header: version 4, ECDSA-P256 key, TEE type 0x81; TD
 * report body with RTMR0..3 and REPORT_DATA) with the double's stand-in
 * signature data, SHA-384(header || body) (no Intel key signs test
 * quotes).  Returns its length. */
static size_t tdx_quote(unsigned char *q, const unsigned char rtmr[4][48],
                        const unsigned char *rd, size_t len)
{
	memset(q, 0, 48 + 584 + 4 + 48);
	q[0] = 4;
	q[2] = 2;
	q[4] = 0x81;
	unsigned char *body = q + 48;
	memset(body + 136, 0x11, 48);                    /* MRTD */
	for (int i = 0; i < 4; i++)
		memcpy(body + 328 + 48 * i, rtmr[i], 48);
	memcpy(body + 520, rd, len);                     /* REPORT_DATA, zero-padded */
	ccel_put32(q + 48 + 584, 48);
	SHA384(q, 48 + 584, q + 48 + 584 + 4);
	return 48 + 584 + 4 + 48;
}

/* The configfs-tsm entry of a TD whose firmware left the sample log in
 * the CCEL area (and, for some cases, the attestation agent its log),
 * then coco_tsm_report over it with those paths. */
static int tdx_evidence_fn(void *payload, const unsigned char *rd, size_t len,
                           unsigned char **ev, size_t *evlen, char **tee, char *why,
                           size_t why_cap)
{
	(void)why;
	(void)why_cap;
	enum tdx_case c = (enum tdx_case)(intptr_t)payload;
	*tee = coco_strdup("tdx");
	if (!rd)
		return 0;
	static int n;
	char *dir = coco_asprintf("%s/tdx-%d", tmpdir, n++);
	assert_int_equal(mkdir(dir, 0700), 0);
	static ccel_sample s;
	ccel_sample_build(&s, 0xff, 0);
	unsigned char aael[128];
	size_t aalen = ccel_aael_record(aael, s.rtmr);   /* measured into RTMR3 */
	unsigned char q[48 + 584 + 4 + 48];
	size_t qlen = tdx_quote(q, (const unsigned char(*)[48])s.rtmr, rd, len);
	if (c == TDX_TAMPERED)
		s.data[32 + 33 + 12 + 2] ^= 1;           /* the first SHA-384 digest */
	char *paths[5];
	const char *names[5] = { "provider", "generation", "outblob", "CCEL", "eventlog" };
	for (int i = 0; i < 5; i++)
		paths[i] = coco_asprintf("%s/%s", dir, names[i]);
	put_file_abs(paths[0], "tdx_guest\n", 10);
	put_file_abs(paths[1], "1\n", 2);
	put_file_abs(paths[2], q, qlen);
	put_file_abs(paths[3], s.data, s.len);
	if (c != TDX_AAEL_MISSING)
		put_file_abs(paths[4], aael, aalen);
	/* without the agent's log RTMR3 stays zero in the quote */
	if (c == TDX_CCEL) {
		memset(s.rtmr[3], 0, 48);
		qlen = tdx_quote(q, (const unsigned char(*)[48])s.rtmr, rd, len);
		put_file_abs(paths[2], q, qlen);
		unlink(paths[4]);
	}
	if (c == TDX_NO_LOG) {
		unlink(paths[3]);
		unlink(paths[4]);
	}
	coco_eventlog_paths logs = { paths[3], paths[4] };
	cocoimg_ctx *cx = NULL;
	assert_int_equal(cocoimg_ctx_new(&cx), 0);
	coco_buf b = COCO_BUF_INIT;
	char t[COCO_TEE_MAX];
	if (coco_tsm_report(cx, dir, &logs, rd, len, &b, t))
		fail_msg("coco_tsm_report: %s", cocoimg_ctx_last_error(cx));
	assert_string_equal(t, "tdx");
	cocoimg_ctx_free(cx);
	coco_rm_rf(NULL, dir);
	for (int i = 0; i < 5; i++)
		free(paths[i]);
	free(dir);
	*ev = b.data;
	*evlen = b.len;
	return 0;
}

/* log_count, waiting up to 5 s for want lines: the double logs a request
 * after it has sent the answer the client already holds. */
static int log_wait(const dbl *d, const char *needle, int want)
{
	int n = 0;
	for (int i = 0; i < 100 && (n = log_count(d, needle)) < want; i++)
		usleep(50000);
	return n;
}

/* TDX evidence with the CC event log, as guest-components sends it: the
 * double parses the log strictly and replays it into RTMR0..3, which
 * must equal the quote's.  The agent's log (AAEL) is appended when there
 * is one; a tampered firmware log, or an RTMR3 extended by the agent
 * whose log is gone, is refused as Trustee's replay refuses it; evidence
 * without a log (cc_eventlog null) is refused by this double. */
static void test_tdx_tsm(void **state)
{
	(void)state;
	dbl d;
	start(&d, 0, "--tee", "tdx", NULL);
	static const struct {
		enum tdx_case c;
		const char *detail;
	} cases[] = {
		{ TDX_CCEL, NULL },
		{ TDX_CCEL_AAEL, NULL },
		{ TDX_TAMPERED, "does not replay to RTMR0" },
		{ TDX_AAEL_MISSING, "does not replay to RTMR3" },
		{ TDX_NO_LOG, "cc_eventlog is missing" },   /* the double is strict */
	};
	for (size_t i = 0; i < COCO_ARRAY_SIZE(cases); i++) {
		cocoimg_ctx *ctx = NULL;
		assert_int_equal(cocoimg_ctx_new(&ctx), 0);
		coco_op_broker_attach(ctx);
		coco_attester *a = NULL;
		assert_int_equal(coco_attester_callback(ctx, tdx_evidence_fn,
		                                        (void *)(intptr_t)cases[i].c, &a), 0);
		coco_kbs *k = NULL;
		assert_int_equal(coco_kbs_new(ctx, d.url, NULL, a, &k), 0);
		if (!cases[i].detail)
			expect_resource(k, ctx, "default/key/k1", "key one");
		else
			expect_error(k, ctx, "default/key/k1", COCOIMG_EAUTH, "attestation refused");
		coco_kbs_free(k);
		cocoimg_ctx_free(ctx);
		if (cases[i].detail)
			assert_int_equal(log_wait(&d, cases[i].detail, 1), 1);
	}
	assert_int_equal(log_wait(&d, "\"event\": \"attested\"", 2), 2);
	assert_int_equal(log_count(&d, "eventlog replayed: 5 records, RTMR0..3 match"), 1);
	assert_int_equal(log_count(&d, "eventlog replayed: 6 records, RTMR0..3 match"), 1);
	stop(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_several_resources_ec),
		cmocka_unit_test(test_several_resources_rsa),
		cmocka_unit_test(test_token_expiry),
		cmocka_unit_test(test_token_exp_claim),
		cmocka_unit_test(test_attestation_refused),
		cmocka_unit_test(test_unknown_resource),
		cmocka_unit_test(test_bad_paths),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_selected_hash),
		cmocka_unit_test(test_double_strict),
		cmocka_unit_test(test_wrong_binding_refused),
		cmocka_unit_test(test_snp_tsm),
		cmocka_unit_test(test_tdx_tsm),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
