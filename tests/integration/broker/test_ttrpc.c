/* broker/ttrpc.c, cdh.c and aa.c against the ttrpc double
 * (tests/integration/broker/ttrpc_double.py, written from containerd/ttrpc
 * PROTOCOL.md and guest-components' protos): CDH GetResource for every
 * kid form, UnWrapKey of a CoCo packet whose bare kid is rewritten to
 * kbs:///, failure statuses, the AA's TEE type and evidence, the KBS
 * protocol with evidence from the AA (KBS double), a peer that never
 * answers; and the double's own strictness (even stream ids, unknown
 * methods, missing fields are refused). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../lib/doubles.h"
#include "base.h"
#include "broker/aa.h"
#include "broker/attester.h"
#include "broker/cdh.h"
#include "broker/kbs.h"
#include "image_broker.h"
#include "broker/ttrpc.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[256];
static char *resdir;

typedef struct dbl {
	pid_t pid;
	char *log;
	char *sock;
	int port;
	char *url;
} dbl;

static const unsigned char kek[32] = "0123456789abcdef0123456789abcdef";

static void put_file(const char *rel, const void *content, size_t len)
{
	char *p = coco_asprintf("%s/%s", tmpdir, rel);
	char *slash = strrchr(p, '/');
	*slash = 0;
	assert_int_equal(coco_mkdir_p(NULL, p, 0700), 0);
	*slash = '/';
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fwrite(content, 1, len, f);
	fclose(f);
	free(p);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/ttrpc-test-XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir))
		return -1;
	resdir = coco_asprintf("%s/res", tmpdir);
	put_file("res/default/key/k1", "key one", 7);
	put_file("res/default/policy/p", "{\"default\":[{\"type\":\"reject\"}]}", 31);
	put_file("res/default/key/kek", kek, sizeof(kek));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	test_doubles_stop_all();
	if (!getenv("KEEP")) coco_rm_rf(NULL, tmpdir);
	free(resdir);
	return 0;
}

/* Spawn argv; its first line of output into line. */
static void spawn_line(pid_t *pid, char **argv, char *line, size_t cap)
{
	*pid = test_double_spawn(argv, line, cap);
	assert_true(*pid > 0);
}

/* The ttrpc double with role and up to two extra arguments. */
static void start(dbl *d, const char *role, const char *a1, const char *a2)
{
	static int n;
	const char *top = getenv("TOP_SRCDIR") ? getenv("TOP_SRCDIR") : ".";
	char *py = coco_asprintf("%s/tests/integration/broker/ttrpc_double.py", top);
	memset(d, 0, sizeof(*d));
	d->log = coco_asprintf("%s/ttrpc-%d.log", tmpdir, n);
	d->sock = coco_asprintf("%s/s%d.sock", tmpdir, n++);
	char *argv[16] = { (char *)"/usr/bin/python3", py, (char *)"--log", d->log,
	                   (char *)"--resources", resdir, (char *)"--socket", d->sock,
	                   (char *)"--role", (char *)role, (char *)a1, (char *)a2, NULL };
	char line[64];
	spawn_line(&d->pid, argv, line, sizeof(line));
	assert_non_null(strstr(line, "READY"));
	free(py);
}

static void start_kbs(dbl *d)
{
	const char *top = getenv("TOP_SRCDIR") ? getenv("TOP_SRCDIR") : ".";
	char *py = coco_asprintf("%s/tests/integration/broker/kbs_double.py", top);
	memset(d, 0, sizeof(*d));
	d->log = coco_asprintf("%s/kbs.log", tmpdir);
	char *argv[] = { (char *)"/usr/bin/python3", py, (char *)"--log", d->log,
	                 (char *)"--resources", resdir, NULL };
	char line[64];
	spawn_line(&d->pid, argv, line, sizeof(line));
	assert_int_equal(sscanf(line, "PORT %d", &d->port), 1);
	d->url = coco_asprintf("http://127.0.0.1:%d", d->port);
	free(py);
}

static void stop(dbl *d)
{
	test_double_stop(d->pid);
	free(d->log);
	free(d->sock);
	free(d->url);
}

static int log_count(const dbl *d, const char *needle)
{
	return test_log_count(d->log, needle);
}

static void expect_msg(cocoimg_ctx *ctx, const char *msg)
{
	const char *e = cocoimg_ctx_last_error(ctx);
	if (!strstr(e, msg))
		fail_msg("message \"%s\" lacks \"%s\"", e, msg);
}

static void test_get_resource(void **state)
{
	(void)state;
	dbl d;
	start(&d, "cdh", NULL, NULL);
	cocoimg_ctx *ctx = NULL;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	coco_op_broker_attach(ctx);  /* the KBS client opens JWEs with crypt/ */
	coco_cdh *c = NULL;
	char *addr = coco_asprintf("unix://%s", d.sock);
	assert_int_equal(coco_cdh_new(ctx, addr, &c), 0);
	const char *forms[] = { "kbs:///default/key/k1", "kbs://example.org:8080/default/key/k1",
	                        "/default/key/k1", "default/key/k1" };
	for (size_t i = 0; i < COCO_ARRAY_SIZE(forms); i++) {
		coco_buf b = COCO_BUF_INIT;
		if (coco_cdh_get_resource(c, ctx, forms[i], &b))
			fail_msg("%s: %s", forms[i], cocoimg_ctx_last_error(ctx));
		assert_int_equal(b.len, 7);
		assert_memory_equal(b.data, "key one", 7);
		coco_buf_wipe_free(&b);
	}
	/* CDH is always asked for the normal form */
	assert_int_equal(log_count(&d, "\"detail\": \"kbs:///default/key/k1\""), 4);
	coco_buf b = COCO_BUF_INIT;
	assert_int_equal(coco_cdh_get_resource(c, ctx, "kbs:///default/key/none", &b), COCOIMG_ENET);
	expect_msg(ctx, "kbs:///default/key/none");
	expect_msg(ctx, "status 13");
	assert_int_equal(b.len, 0);
	assert_int_equal(coco_cdh_get_resource(c, ctx, "kbs+plugin:///a/b/c", &b), COCOIMG_EINVAL);
	coco_cdh_free(c);
	free(addr);
	stop(&d);
	/* NOT_FOUND maps to COCOIMG_ENOTFOUND; a plain path is an address too */
	start(&d, "cdh", "--not-found-status", "5");
	assert_int_equal(coco_cdh_new(ctx, d.sock, &c), 0);
	assert_int_equal(coco_cdh_get_resource(c, ctx, "default/key/none", &b), COCOIMG_ENOTFOUND);
	coco_cdh_free(c);
	stop(&d);
	cocoimg_ctx_free(ctx);
}

/* A CoCo packet wrapping opts under the KEK with kid. */
static char *make_packet(const char *kid, const char *opts)
{
	unsigned char iv[12], ct[256], tag[16];
	int len = 0, fin = 0;
	assert_int_equal(RAND_bytes(iv, sizeof(iv)), 1);
	EVP_CIPHER_CTX *e = EVP_CIPHER_CTX_new();
	assert_int_equal(EVP_EncryptInit_ex(e, EVP_aes_256_gcm(), NULL, kek, iv), 1);
	assert_int_equal(EVP_EncryptUpdate(e, ct, &len, (const unsigned char *)opts,
	                                   (int)strlen(opts)), 1);
	assert_int_equal(EVP_EncryptFinal_ex(e, ct + len, &fin), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_GCM_GET_TAG, 16, tag), 1);
	EVP_CIPHER_CTX_free(e);
	memcpy(ct + len + fin, tag, 16);
	char *w = coco_b64_encode(ct, (size_t)(len + fin + 16));
	char *i = coco_b64_encode(iv, sizeof(iv));
	char *p = coco_asprintf("{\"kid\":\"%s\",\"wrapped_data\":\"%s\",\"iv\":\"%s\","
	                        "\"wrap_type\":\"A256GCM\"}", kid, w, i);
	free(w);
	free(i);
	return p;
}

static void test_unwrap_key(void **state)
{
	(void)state;
	dbl d;
	start(&d, "cdh", NULL, NULL);
	cocoimg_ctx *ctx = NULL;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	coco_op_broker_attach(ctx);  /* the KBS client opens JWEs with crypt/ */
	coco_cdh *c = NULL;
	assert_int_equal(coco_cdh_new(ctx, d.sock, &c), 0);
	const char *opts = "{\"symkey\":\"c2VjcmV0\",\"cipher\":\"AES_256_CTR_HMAC_SHA256\"}";
	const char *kids[] = { "default/key/kek", "/default/key/kek", "kbs:///default/key/kek" };
	for (size_t i = 0; i < COCO_ARRAY_SIZE(kids); i++) {
		char *p = make_packet(kids[i], opts);
		coco_buf b = COCO_BUF_INIT;
		if (coco_cdh_unwrap_key(c, ctx, (unsigned char *)p, strlen(p), &b))
			fail_msg("%s: %s", kids[i], cocoimg_ctx_last_error(ctx));
		assert_int_equal(b.len, strlen(opts));
		assert_memory_equal(b.data, opts, b.len);
		coco_buf_wipe_free(&b);
		free(p);
	}
	assert_int_equal(log_count(&d, "\"detail\": \"kbs:///default/key/kek\""), 3);
	/* unknown KEK, malformed packets */
	char *p = make_packet("default/key/none", opts);
	coco_buf b = COCO_BUF_INIT;
	assert_int_not_equal(coco_cdh_unwrap_key(c, ctx, (unsigned char *)p, strlen(p), &b), 0);
	expect_msg(ctx, "UnWrapKey");
	free(p);
	assert_int_equal(coco_cdh_unwrap_key(c, ctx, (const unsigned char *)"{}", 2, &b),
	                 COCOIMG_EBADIMAGE);
	assert_int_equal(coco_cdh_unwrap_key(c, ctx, (const unsigned char *)"[", 1, &b),
	                 COCOIMG_EBADIMAGE);
	assert_int_equal(b.len, 0);
	coco_cdh_free(c);
	stop(&d);
	cocoimg_ctx_free(ctx);
}

static void test_aa(void **state)
{
	(void)state;
	dbl d;
	start(&d, "aa", "--tee", "sample");
	cocoimg_ctx *ctx = NULL;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	coco_op_broker_attach(ctx);  /* the KBS client opens JWEs with crypt/ */
	coco_attester *a = NULL;
	char *addr = coco_asprintf("unix://%s", d.sock);
	assert_int_equal(coco_attester_aa(ctx, addr, &a), 0);
	assert_string_equal(coco_attester_name(a), "aa");
	char tee[COCO_TEE_MAX];
	assert_int_equal(coco_attester_tee(a, ctx, tee), 0);
	assert_string_equal(tee, "sample");
	unsigned char rd[48];
	memset(rd, 0xab, sizeof(rd));
	coco_buf ev = COCO_BUF_INIT;
	if (coco_attester_evidence(a, ctx, rd, sizeof(rd), &ev, tee))
		fail_msg("%s", cocoimg_ctx_last_error(ctx));
	char *b64 = coco_b64_encode(rd, sizeof(rd));
	assert_non_null(strstr(coco_buf_cstr(&ev), b64));
	free(b64);
	coco_buf_wipe_free(&ev);
	assert_int_equal(log_count(&d, "GetEvidence\", \"status\": 0, \"detail\": \"48 bytes\""), 1);
	coco_attester_free(a);
	free(addr);
	/* a CDH has no AA service */
	stop(&d);
	start(&d, "cdh", NULL, NULL);
	assert_int_equal(coco_attester_aa(ctx, d.sock, &a), 0);
	assert_int_equal(coco_attester_tee(a, ctx, tee), COCOIMG_EUNSUPPORTED);
	expect_msg(ctx, "status 12");
	coco_attester_free(a);
	stop(&d);
	cocoimg_ctx_free(ctx);
}

/* The KBS protocol with evidence from the AA: the KBS double checks the
 * sample evidence binds its nonce and the TEE key. */
static void test_kbs_with_aa(void **state)
{
	(void)state;
	dbl aa, kbs;
	start(&aa, "aa", NULL, NULL);
	start_kbs(&kbs);
	cocoimg_ctx *ctx = NULL;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	coco_op_broker_attach(ctx);  /* the KBS client opens JWEs with crypt/ */
	coco_attester *a = NULL;
	assert_int_equal(coco_attester_aa(ctx, aa.sock, &a), 0);
	coco_kbs *k = NULL;
	assert_int_equal(coco_kbs_new(ctx, kbs.url, NULL, a, &k), 0);
	coco_buf b = COCO_BUF_INIT;
	if (coco_kbs_get_resource(k, "default/key/k1", &b))
		fail_msg("%s", cocoimg_ctx_last_error(ctx));
	assert_int_equal(b.len, 7);
	assert_memory_equal(b.data, "key one", 7);
	coco_buf_wipe_free(&b);
	assert_int_equal(coco_kbs_attestations(k), 1);
	assert_int_equal(log_count(&aa, "GetEvidence\", \"status\": 0"), 1);
	coco_kbs_free(k);
	stop(&kbs);
	stop(&aa);
	cocoimg_ctx_free(ctx);
}

/* Send one raw frame and decode the answer's status code. */
static int64_t raw_call(const char *path, uint32_t stream, const char *service,
                        const char *method, const unsigned char *payload, size_t len)
{
	coco_buf req = COCO_BUF_INIT;
	assert_int_equal(coco_ttrpc_request_encode(stream, service, method, payload, len, 0, &req),
	                 0);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(send(fd, req.data, req.len, MSG_NOSIGNAL), (ssize_t)req.len);
	unsigned char h[COCO_TTRPC_HEADER], body[4096];
	assert_int_equal(recv(fd, h, sizeof(h), MSG_WAITALL), (ssize_t)sizeof(h));
	uint32_t blen, sid;
	uint8_t type, flags;
	assert_int_equal(coco_ttrpc_header_parse(h, &blen, &sid, &type, &flags), 0);
	assert_int_equal(sid, stream);
	assert_int_equal(type, COCO_TTRPC_RESPONSE);
	assert_true(blen <= sizeof(body));
	assert_int_equal(recv(fd, body, blen, MSG_WAITALL), (ssize_t)blen);
	close(fd);
	coco_buf_free(&req);
	coco_ttrpc_response r;
	assert_int_equal(coco_ttrpc_response_decode(body, blen, &r), 0);
	return r.code;
}

static void test_double_strict(void **state)
{
	(void)state;
	dbl d;
	start(&d, "both", NULL, NULL);
	coco_buf p = COCO_BUF_INIT;
	assert_int_equal(coco_pb_put_bytes(&p, 1, "kbs:///default/key/k1", 21), 0);
	assert_int_equal(raw_call(d.sock, 1, "api.GetResourceService", "GetResource", p.data, p.len),
	                 0);
	assert_int_equal(raw_call(d.sock, 2, "api.GetResourceService", "GetResource", p.data, p.len),
	                 3);
	assert_int_equal(raw_call(d.sock, 1, "api.GetResourceService", "Get", p.data, p.len), 12);
	assert_int_equal(raw_call(d.sock, 1, "GetResourceService", "GetResource", p.data, p.len),
	                 12);
	assert_int_equal(raw_call(d.sock, 1, "api.GetResourceService", "GetResource", NULL, 0), 3);
	assert_int_equal(raw_call(d.sock, 1, "attestation_agent.AttestationAgentService",
	                          "GetEvidence", NULL, 0), 3);
	coco_buf_free(&p);
	stop(&d);
}

/* A peer that accepts and never answers: the call times out. */
static void test_timeout(void **state)
{
	(void)state;
	char *path = coco_asprintf("%s/silent.sock", tmpdir);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	cocoimg_ctx *ctx = NULL;
	assert_int_equal(cocoimg_ctx_new(&ctx), 0);
	coco_op_broker_attach(ctx);  /* the KBS client opens JWEs with crypt/ */
	coco_buf b = COCO_BUF_INIT;
	assert_int_equal(coco_ttrpc_call(ctx, path, "api.GetResourceService", "GetResource",
	                                 NULL, 0, 300, &b), COCOIMG_ENET);
	expect_msg(ctx, "timed out");
	close(fd);
	/* nobody listening */
	assert_int_equal(coco_ttrpc_call(ctx, path, "s", "m", NULL, 0, 300, &b), COCOIMG_ENET);
	expect_msg(ctx, "cannot connect");
	assert_null(coco_ttrpc_socket_path(ctx, "unix://@abstract"));
	cocoimg_ctx_free(ctx);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_resource), cmocka_unit_test(test_unwrap_key),
		cmocka_unit_test(test_aa),           cmocka_unit_test(test_kbs_with_aa),
		cmocka_unit_test(test_double_strict), cmocka_unit_test(test_timeout),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
