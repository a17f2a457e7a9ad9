/* Unit tests of registry/: WWW-Authenticate parsing, auth.json lookup and
 * key matching, Range/resume bookkeeping, URL helpers, error bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "registry/registry.h"

static cocoimg_ctx *new_ctx(void)
{
	cocoimg_ctx *c = NULL;
	assert_int_equal(cocoimg_ctx_new(&c), 0);
	return c;
}

/* ---- WWW-Authenticate ---- */

static void test_www_auth_table(void **state)
{
	static const struct {
		const char *in;
		size_t n;              /* challenges */
		int pick;              /* scheme of the picked one, -1 none */
		const char *realm, *service, *scope, *error;
	} tab[] = {
		{ "Bearer realm=\"http://127.0.0.1:5058/token\",service=\"test-registry\"", 1,
		  COCO_AUTH_BEARER, "http://127.0.0.1:5058/token", "test-registry", NULL, NULL },
		{ "Bearer realm=\"https://a/t\",service=\"s\",scope=\"repository:test/a:pull,push\",error=\"insufficient_scope\"",
		  1, COCO_AUTH_BEARER, "https://a/t", "s", "repository:test/a:pull,push", "insufficient_scope" },
		{ "Basic realm=\"test-realm\"", 1, COCO_AUTH_BASIC, "test-realm", NULL, NULL, NULL },
		{ "bEaReR REALM=\"r\", Service=svc , SCOPE=\"a b\"", 1, COCO_AUTH_BEARER, "r", "svc", "a b", NULL },
		/* several challenges in one header: Bearer preferred */
		{ "Basic realm=\"x\", Bearer realm=\"https://t\",service=\"s\"", 2, COCO_AUTH_BEARER,
		  "https://t", "s", NULL, NULL },
		{ "Negotiate abc==, Basic realm=\"q\"", 2, COCO_AUTH_BASIC, "q", NULL, NULL, NULL },
		/* escapes and commas inside quoted strings */
		{ "Bearer realm=\"a\\\"b,c\",service=\"x\\\\y\"", 1, COCO_AUTH_BEARER, "a\"b,c", "x\\y", NULL, NULL },
		/* repeated scope parameters are joined */
		{ "Bearer realm=\"r\",scope=\"repository:a:pull\",scope=\"repository:b:pull\"", 1,
		  COCO_AUTH_BEARER, "r", NULL, "repository:a:pull repository:b:pull", NULL },
		/* garbage */
		{ "", 0, -1, NULL, NULL, NULL, NULL },
		{ "=,,=\"", 0, -1, NULL, NULL, NULL, NULL },
		{ "Bearer realm=\"unterminated", 1, COCO_AUTH_BEARER, "unterminated", NULL, NULL, NULL },
		{ "Bearer", 1, -1, NULL, NULL, NULL, NULL }, /* bearer without realm: unusable */
		{ "Digest realm=\"x\", nonce=\"y\"", 1, -1, NULL, NULL, NULL, NULL },
	};
	for (size_t i = 0; i < COCO_ARRAY_SIZE(tab); i++) {
		coco_challenge *ch = NULL;
		size_t n = 0;
		assert_int_equal(coco_www_auth_parse(tab[i].in, &ch, &n), 0);
		if (n != tab[i].n)
			fail_msg("case %zu: %zu challenges, want %zu", i, n, tab[i].n);
		const coco_challenge *c = coco_challenge_pick(ch, n);
		if (tab[i].pick < 0) {
			assert_null(c);
		} else {
			assert_non_null(c);
			assert_int_equal(c->scheme, tab[i].pick);
#define EQ(f) if (tab[i].f) assert_string_equal(c->f, tab[i].f); else assert_null(c->f)
			EQ(realm);
			EQ(service);
			EQ(scope);
			EQ(error);
#undef EQ
		}
		coco_challenges_free(ch, n);
	}
}

/* ---- auth.json ---- */

/* "alice:s3cret" and "bob:hunter2" */
#define ALICE "YWxpY2U6czNjcmV0"
#define BOB "Ym9iOmh1bnRlcjI="

static int lookup(cocoimg_ctx *c, const char *json, bool legacy, const char *host,
                  const char *path, char **user)
{
	coco_creds cr;
	memset(&cr, 0, sizeof(cr));
	int rc = coco_authjson_lookup(c, json, strlen(json), "test.json", legacy, host, path, &cr);
	*user = rc == 1 ? coco_strdup(cr.user) : NULL;
	coco_creds_clear(&cr);
	return rc;
}

static void test_authjson_keys(void **state)
{
	cocoimg_ctx *c = new_ctx();
	char *u;
	const char *j =
		"{\"auths\":{"
		"\"reg.example:5000\":{\"auth\":\"" ALICE "\"},"
		"\"reg.example:5000/team/app\":{\"auth\":\"" BOB "\"},"
		"\"https://index.docker.io/v1/\":{\"auth\":\"" BOB "\"},"
		"\"http://old.example/v1/\":{\"auth\":\"" ALICE "\"},"
		"\"marker.example\":{}"
		"}}";
	/* longest match first */
	assert_int_equal(lookup(c, j, false, "reg.example:5000", "team/app", &u), 1);
	assert_string_equal(u, "bob");
	free(u);
	assert_int_equal(lookup(c, j, false, "reg.example:5000", "team/app/sub", &u), 1);
	assert_string_equal(u, "bob");
	free(u);
	assert_int_equal(lookup(c, j, false, "reg.example:5000", "team/other", &u), 1);
	assert_string_equal(u, "alice");
	free(u);
	/* docker.io aliases find the legacy URL key */
	assert_int_equal(lookup(c, j, false, "docker.io", "library/alpine", &u), 1);
	assert_string_equal(u, "bob");
	free(u);
	/* scheme-prefixed keys are cut at the first '/' */
	assert_int_equal(lookup(c, j, false, "old.example", "x", &u), 1);
	assert_string_equal(u, "alice");
	free(u);
	/* no match, different port, marker entries */
	assert_int_equal(lookup(c, j, false, "reg.example", "team/app", &u), 0);
	assert_int_equal(lookup(c, j, false, "marker.example", "a", &u), 0);
	assert_int_equal(lookup(c, j, false, "other", "a", &u), 0);
	/* a prefix that is not at a '/' boundary does not match */
	assert_int_equal(lookup(c, j, false, "reg.example:5000", "team/application", &u), 1);
	assert_string_equal(u, "alice");
	free(u);

	/* legacy ~/.dockercfg: the top level is the auths map */
	const char *lg = "{\"https://index.docker.io/v1/\":{\"auth\":\"" ALICE "\"},"
	                 "\"legacy.example\":{\"auth\":\"" BOB "\"}}";
	assert_int_equal(lookup(c, lg, true, "docker.io", "library/x", &u), 1);
	assert_string_equal(u, "alice");
	free(u);
	assert_int_equal(lookup(c, lg, true, "legacy.example", "a/b", &u), 1);
	assert_string_equal(u, "bob");
	free(u);

	/* password with ':' and trailing NULs; identity tokens */
	coco_creds cr;
	memset(&cr, 0, sizeof(cr));
	const char *j2 = "{\"auths\":{\"h\":{\"auth\":\"dTpwOnc6AAA=\"},"
	                 "\"t\":{\"auth\":\"\",\"identitytoken\":\"rt\"}}}";
	assert_int_equal(coco_authjson_lookup(c, j2, strlen(j2), "f", false, "h", "p", &cr), 1);
	assert_string_equal(cr.user, "u");
	assert_string_equal(cr.pass, "p:w:");
	coco_creds_clear(&cr);
	assert_int_equal(coco_authjson_lookup(c, j2, strlen(j2), "f", false, "t", "p", &cr), 1);
	assert_null(cr.user);
	assert_string_equal(cr.identity_token, "rt");
	coco_creds_clear(&cr);

	/* malformed files are configuration errors naming the file */
	assert_int_equal(lookup(c, "[1]", false, "h", "p", &u), COCOIMG_ECONFIG);
	assert_non_null(strstr(cocoimg_ctx_last_error(c), "test.json"));
	assert_int_equal(lookup(c, "{\"auths\":[]}", false, "h", "p", &u), COCOIMG_ECONFIG);
	assert_int_equal(lookup(c, "{\"auths\":{\"h\":{\"auth\":\"!!!\"}}}", false, "h", "p", &u),
	                 COCOIMG_ECONFIG);
	assert_int_equal(lookup(c, "{}", false, "h", "p", &u), 0);
	cocoimg_ctx_free(c);
}

static void write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(data, f);
	fclose(f);
}

static void test_authfile_order(void **state)
{
	char tmpl[] = "/tmp/coco-authtest.XXXXXX";
	char *dir = mkdtemp(tmpl);
	assert_non_null(dir);
	char *run = coco_asprintf("%s/run", dir), *cfg = coco_asprintf("%s/cfg", dir),
	     *home = coco_asprintf("%s/home", dir);
	char *p;
	p = coco_asprintf("%s/containers", run);
	assert_int_equal(coco_mkdir_p(NULL, p, 0700), 0);
	free(p);
	p = coco_asprintf("%s/containers", cfg);
	assert_int_equal(coco_mkdir_p(NULL, p, 0700), 0);
	free(p);
	p = coco_asprintf("%s/.docker", home);
	assert_int_equal(coco_mkdir_p(NULL, p, 0700), 0);
	free(p);
	setenv("XDG_RUNTIME_DIR", run, 1);
	setenv("XDG_CONFIG_HOME", cfg, 1);
	setenv("HOME", home, 1);
	unsetenv("DOCKER_CONFIG");
	unsetenv("REGISTRY_AUTH_FILE");

	cocoimg_ctx *c = new_ctx();
	char **paths;
	bool *legacy;
	size_t n;
	bool ex;
	assert_int_equal(coco_authfile_paths(c, NULL, &paths, &legacy, &n, &ex), 0);
	assert_int_equal(n, 4);
	assert_false(ex);
	p = coco_asprintf("%s/containers/auth.json", run);
	assert_string_equal(paths[0], p);
	free(p);
	p = coco_asprintf("%s/containers/auth.json", cfg);
	assert_string_equal(paths[1], p);
	free(p);
	p = coco_asprintf("%s/.docker/config.json", home);
	assert_string_equal(paths[2], p);
	free(p);
	p = coco_asprintf("%s/.dockercfg", home);
	assert_string_equal(paths[3], p);
	assert_true(legacy[3]);
	assert_false(legacy[0]);
	free(p);
	coco_strv_free(paths, n);
	free(legacy);

	coco_creds cr;
	/* nothing anywhere: anonymous */
	assert_int_equal(coco_creds_lookup(c, NULL, "h:1", "a/b", &cr), 0);
	assert_null(cr.user);
	coco_creds_clear(&cr);

	/* legacy file only */
	p = coco_asprintf("%s/.dockercfg", home);
	write_file(p, "{\"h:1\":{\"auth\":\"" ALICE "\"}}");
	free(p);
	assert_int_equal(coco_creds_lookup(c, NULL, "h:1", "a/b", &cr), 0);
	assert_string_equal(cr.user, "alice");
	coco_creds_clear(&cr);

	/* docker config wins over legacy */
	p = coco_asprintf("%s/.docker/config.json", home);
	write_file(p, "{\"auths\":{\"h:1\":{\"auth\":\"" BOB "\"}}}");
	free(p);
	assert_int_equal(coco_creds_lookup(c, NULL, "h:1", "a/b", &cr), 0);
	assert_string_equal(cr.user, "bob");
	coco_creds_clear(&cr);

	/* XDG_CONFIG_HOME wins over docker; a file without a match is skipped */
	p = coco_asprintf("%s/containers/auth.json", cfg);
	write_file(p, "{\"auths\":{\"h:1/a\":{\"auth\":\"" ALICE "\"}}}");
	free(p);
	assert_int_equal(coco_creds_lookup(c, NULL, "h:1", "a/b", &cr), 0);
	assert_string_equal(cr.user, "alice");
	coco_creds_clear(&cr);
	assert_int_equal(coco_creds_lookup(c, NULL, "h:1", "z/b", &cr), 0);
	assert_string_equal(cr.user, "bob");
	coco_creds_clear(&cr);

	/* XDG_RUNTIME_DIR first */
	p = coco_asprintf("%s/containers/auth.json", run);
	write_file(p, "{\"auths\":{\"h:1\":{\"auth\":\"" BOB "\"}}}");
	free(p);
	assert_int_equal(coco_creds_lookup(c, NULL, "h:1", "a/b", &cr), 0);
	assert_string_equal(cr.user, "bob");
	coco_creds_clear(&cr);

	/* REGISTRY_AUTH_FILE alone */
	p = coco_asprintf("%s/env.json", dir);
	write_file(p, "{\"auths\":{}}");
	setenv("REGISTRY_AUTH_FILE", p, 1);
	free(p);
	assert_int_equal(coco_creds_lookup(c, NULL, "h:1", "a/b", &cr), 0);
	assert_null(cr.user);
	coco_creds_clear(&cr);

	/* --authfile beats the environment; a missing one is an error */
	p = coco_asprintf("%s/explicit.json", dir);
	write_file(p, "{\"auths\":{\"h:1\":{\"auth\":\"" ALICE "\"}}}");
	assert_int_equal(cocoimg_ctx_set(c, "src.authfile", p), 0);
	free(p);
	assert_int_equal(coco_creds_lookup(c, "src", "h:1", "a/b", &cr), 0);
	assert_string_equal(cr.user, "alice");
	coco_creds_clear(&cr);
	assert_int_equal(coco_creds_lookup(c, "dest", "h:1", "a/b", &cr), 0);
	assert_null(cr.user);
	coco_creds_clear(&cr);
	assert_int_equal(cocoimg_ctx_set(c, "authfile", "/nonexistent/auth.json"), 0);
	assert_int_equal(coco_creds_lookup(c, "dest", "h:1", "a/b", &cr), COCOIMG_ECONFIG);

	/* --creds beats files; the password never appears in messages */
	assert_int_equal(cocoimg_ctx_set(c, "creds", "carol:pa:ss"), 0);
	assert_int_equal(coco_creds_lookup(c, "dest", "h:1", "a/b", &cr), 0);
	assert_string_equal(cr.user, "carol");
	assert_string_equal(cr.pass, "pa:ss");
	coco_creds_clear(&cr);
	assert_int_equal(cocoimg_ctx_set(c, "creds", ":x"), 0);
	assert_int_equal(coco_creds_lookup(c, "dest", "h:1", "a/b", &cr), COCOIMG_EINVAL);
	assert_null(strstr(cocoimg_ctx_last_error(c), "x\""));
	assert_int_equal(cocoimg_ctx_set(c, "no-creds", "true"), 0);
	assert_int_equal(coco_creds_lookup(c, "dest", "h:1", "a/b", &cr), 0);
	assert_null(cr.user);
	coco_creds_clear(&cr);
	cocoimg_ctx_free(c);
	unsetenv("REGISTRY_AUTH_FILE");
	coco_rm_rf(NULL, dir);
	free(run);
	free(cfg);
	free(home);
}

/* ---- resume bookkeeping ---- */

static void test_resume_plan(void **state)
{
	uint64_t skip = 99;
	assert_int_equal(coco_resume_plan(0, 200, NULL, &skip), 0);
	assert_int_equal(skip, 0);
	/* server ignored the Range: drop what the sink already has */
	assert_int_equal(coco_resume_plan(1000, 200, NULL, &skip), 0);
	assert_int_equal(skip, 1000);
	assert_int_equal(coco_resume_plan(1000, 206, "bytes 1000-1999/2000", &skip), 0);
	assert_int_equal(skip, 0);
	assert_int_equal(coco_resume_plan(1000, 206, "bytes=1000-1999/*", &skip), 0);
	/* wrong start, missing or junk Content-Range, other statuses */
	assert_int_equal(coco_resume_plan(1000, 206, "bytes 999-1999/2000", &skip), -1);
	assert_int_equal(coco_resume_plan(1000, 206, "bytes 1001-1999/2000", &skip), -1);
	assert_int_equal(coco_resume_plan(1000, 206, NULL, &skip), -1);
	assert_int_equal(coco_resume_plan(1000, 206, "items 1000-1", &skip), -1);
	assert_int_equal(coco_resume_plan(1000, 206, "bytes -5", &skip), -1);
	assert_int_equal(coco_resume_plan(1000, 206, "bytes 99999999999999999999999-1", &skip), -1);
	assert_int_equal(coco_resume_plan(1000, 416, "bytes */2000", &skip), -1);
}

/* ---- URLs and error bodies ---- */

static void test_urls(void **state)
{
	char *u = coco_url_resolve("http://127.0.0.1:5000/v2/a/blobs/uploads/",
	                           "/v2/a/blobs/uploads/uuid?_state=x");
	assert_string_equal(u, "http://127.0.0.1:5000/v2/a/blobs/uploads/uuid?_state=x");
	free(u);
	u = coco_url_resolve("http://h:1/v2/a/", "https://s3.example/bucket/obj?sig=1");
	assert_string_equal(u, "https://s3.example/bucket/obj?sig=1");
	free(u);
	u = coco_url_origin("HTTPS://Example.COM/x?y");
	assert_string_equal(u, "https://example.com:443");
	free(u);
	u = coco_url_origin("http://127.0.0.1:5000/v2/");
	assert_string_equal(u, "http://127.0.0.1:5000");
	free(u);
	u = coco_url_escape("sha256:ab/c d");
	assert_string_equal(u, "sha256%3Aab%2Fc%20d");
	free(u);
}

static void test_errbody(void **state)
{
	coco_http_resp r = { .status = 404, .content_length = -1 };
	const char *j = "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\","
	                "\"detail\":{\"tag\":\"v9\"}}]}";
	coco_buf_append(&r.body, j, strlen(j));
	char *m = coco_reg_errbody(&r);
	assert_string_equal(m, "MANIFEST_UNKNOWN: manifest unknown");
	free(m);
	assert_true(coco_reg_errcode(&r, "manifest_unknown"));
	assert_false(coco_reg_errcode(&r, "NAME_UNKNOWN"));
	coco_buf_free(&r.body);
	coco_buf_append(&r.body, "404 page not found\n", 19);
	m = coco_reg_errbody(&r);
	assert_string_equal(m, "404 page not found");
	free(m);
	coco_buf_free(&r.body);
	m = coco_reg_errbody(&r);
	assert_string_equal(m, "HTTP 404");
	free(m);
	const char *j2 = "{\"errors\":[{\"code\":\"X\\u0001\",\"detail\":\"d\"},{}]}";
	coco_buf_append(&r.body, j2, strlen(j2));
	m = coco_reg_errbody(&r);
	assert_string_equal(m, "X  (d); UNKNOWN");
	free(m);
	coco_buf_free(&r.body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_www_auth_table),
		cmocka_unit_test(test_authjson_keys),
		cmocka_unit_test(test_authfile_order),
		cmocka_unit_test(test_resume_plan),
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_errbody),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
