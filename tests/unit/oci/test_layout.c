/* Unit tests for OCI layout source/destination and image.c basics. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base.h"
#include "digest.h"
#include "image_open.h"
#include "oci/oci.h"
#include "oci/resolve.h"
#include "stream.h"
#include "transport.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static cocoimg_ctx *ctx;
static char tmpdir[] = "/tmp/coco-layout-test.XXXXXX";

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	return cocoimg_ctx_new(&ctx);
}

static int teardown(void **state)
{
	(void)state;
	coco_rm_rf(NULL, tmpdir);
	cocoimg_ctx_free(ctx);
	return 0;
}

static int put(coco_dest *d, const char *data, const char *expect, char dg[COCO_DIGEST_STRLEN])
{
	coco_stage *sink;
	int rc = d->ops->put_blob(d, expect, expect ? (int64_t)strlen(data) : -1, &sink);
	if (rc)
		return rc;
	rc = coco_stage_pump_mem(sink, data, strlen(data));
	uint64_t sz;
	coco_dest_blob_done(sink, dg, &sz);
	coco_stage_chain_free(sink);
	return rc;
}

typedef struct {
	coco_dest *d;
	int i;
	int rc;
} thr_arg;

static void *thr(void *a)
{
	thr_arg *t = a;
	char data[64], dg[COCO_DIGEST_STRLEN];
	snprintf(data, sizeof(data), "blob number %d", t->i % 3);
	t->rc = put(t->d, data, NULL, dg);
	return NULL;
}

static char *mkmanifest(const char *cfgdg, size_t cfglen, const char *ldg, size_t llen)
{
	return coco_asprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\","
	                     "\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":"
	                     "\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"%s\",\"size\":%zu}]}",
	                     COCO_MT_OCI_MANIFEST, COCO_MT_OCI_CONFIG, cfgdg, cfglen, ldg, llen);
}

static void test_roundtrip(void **state)
{
	(void)state;
	char *dir = coco_asprintf("%s/a/b/lay", tmpdir);
	char *refs = coco_asprintf("oci:%s:v1", dir);
	coco_dest *d;
	assert_int_equal(coco_dest_open(ctx, refs, &d), 0);
	char cdg[COCO_DIGEST_STRLEN], ldg[COCO_DIGEST_STRLEN];
	const char *cfg = "{\"architecture\":\"amd64\",\"os\":\"linux\"}";
	const char *layer = "not really a tar";
	assert_int_equal(put(d, cfg, NULL, cdg), 0);
	char want[COCO_DIGEST_STRLEN];
	coco_digest_bytes(COCO_SHA256, layer, strlen(layer), want);
	assert_int_equal(put(d, layer, want, ldg), 0);
	assert_string_equal(ldg, want);
	assert_int_equal(d->ops->has_blob(d, ldg, (int64_t)strlen(layer)), 1);
	assert_int_equal(d->ops->has_blob(d, ldg, 3), 0);
	/* wrong digest: refused, nothing stored */
	char bad[COCO_DIGEST_STRLEN];
	coco_digest_bytes(COCO_SHA256, "x", 1, bad);
	assert_int_equal(put(d, "y", bad, ldg), COCOIMG_EDIGEST);
	assert_int_equal(d->ops->has_blob(d, bad, -1), 0);
	/* concurrent writers */
	pthread_t th[6];
	thr_arg ta[6];
	for (int i = 0; i < 6; i++) {
		ta[i] = (thr_arg){ d, i, -1 };
		pthread_create(&th[i], NULL, thr, &ta[i]);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(ta[i].rc, 0);
	}
	char *man = mkmanifest(cdg, strlen(cfg), want, strlen(layer));
	assert_int_equal(d->ops->put_manifest(d, man, strlen(man), COCO_MT_OCI_MANIFEST, true), 0);
	assert_int_equal(d->ops->commit(d), 0);
	coco_dest_close(d);

	/* no temp files left */
	char *cmd = coco_asprintf("test -z \"$(find %s -name '.tmp*')\"", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);

	coco_src *s;
	assert_int_equal(coco_src_open(ctx, refs, NULL, &s), 0);
	coco_resolved r;
	assert_int_equal(coco_resolve(s, NULL, &r), 0);
	assert_int_equal(r.raw.len, strlen(man));
	assert_memory_equal(r.raw.data, man, strlen(man));
	assert_string_equal(r.media_type, COCO_MT_OCI_MANIFEST);
	coco_buf cb = COCO_BUF_INIT;
	assert_int_equal(coco_fetch_small_blob(s, &r.image->config, COCO_LIM_CONFIG_SIZE, &cb), 0);
	assert_int_equal(cb.len, strlen(cfg));
	coco_buf_free(&cb);
	coco_resolved_clear(&r);
	coco_src_close(s);

	/* no tag + one entry: that one; a second tag makes "oci:DIR" ambiguous */
	char *untagged = coco_asprintf("oci:%s", dir);
	assert_int_equal(coco_src_open(ctx, untagged, NULL, &s), 0);
	coco_src_close(s);
	char *refs2 = coco_asprintf("oci:%s:v2", dir);
	assert_int_equal(coco_dest_open(ctx, refs2, &d), 0);
	assert_int_equal(d->ops->put_manifest(d, man, strlen(man), COCO_MT_OCI_MANIFEST, true), 0);
	assert_int_equal(d->ops->commit(d), 0);
	coco_dest_close(d);
	assert_int_equal(coco_src_open(ctx, untagged, NULL, &s), COCOIMG_EINVAL);
	assert_int_equal(coco_src_open(ctx, refs2, NULL, &s), 0);
	coco_src_close(s);
	char *nope = coco_asprintf("oci:%s:v3", dir);
	assert_int_equal(coco_src_open(ctx, nope, NULL, &s), COCOIMG_ENOTFOUND);
	char *at1 = coco_asprintf("oci:%s:@1", dir);
	assert_int_equal(coco_src_open(ctx, at1, NULL, &s), 0);
	coco_src_close(s);
	/* re-tagging v1 keeps one entry per (digest, name) */
	assert_int_equal(coco_dest_open(ctx, refs, &d), 0);
	assert_int_equal(d->ops->put_manifest(d, man, strlen(man), COCO_MT_OCI_MANIFEST, true), 0);
	assert_int_equal(d->ops->commit(d), 0);
	coco_dest_close(d);
	coco_manifest *idx;
	char *ip = coco_asprintf("%s/index.json", dir);
	coco_buf ib = COCO_BUF_INIT;
	assert_int_equal(coco_read_file(ctx, ip, 1 << 20, &ib, COCOIMG_EIO), 0);
	assert_int_equal(coco_manifest_parse(ctx, ib.data, ib.len, NULL, &idx), 0);
	/* v1 (untagged now, same digest -> replaced by the new v1), v2 */
	assert_int_equal(idx->n_manifests, 2);
	coco_manifest_free(idx);
	coco_buf_free(&ib);
	free(ip);
	free(at1);
	free(nope);
	free(refs2);
	free(untagged);
	free(man);
	free(refs);
	free(dir);
}

static void test_failed_copy_cleans_up(void **state)
{
	(void)state;
	/* a new directory is removed entirely, including created parents */
	char *top = coco_asprintf("%s/new1", tmpdir);
	char *refs = coco_asprintf("oci:%s/x/lay:t", top);
	coco_dest *d;
	assert_int_equal(coco_dest_open(ctx, refs, &d), 0);
	char dg[COCO_DIGEST_STRLEN];
	assert_int_equal(put(d, "data", NULL, dg), 0);
	coco_dest_close(d); /* no commit */
	struct stat st;
	assert_int_equal(stat(top, &st), -1);

	/* an existing layout keeps its index.json untouched */
	char *ex = coco_asprintf("oci:%s/exist:t", tmpdir);
	assert_int_equal(coco_dest_open(ctx, ex, &d), 0);
	assert_int_equal(d->ops->put_manifest(d, "{}", 2, COCO_MT_OCI_MANIFEST, true), 0);
	assert_int_equal(d->ops->commit(d), 0);
	coco_dest_close(d);
	char *ip = coco_asprintf("%s/exist/index.json", tmpdir);
	coco_buf before = COCO_BUF_INIT, after = COCO_BUF_INIT;
	assert_int_equal(coco_read_file(ctx, ip, 1 << 20, &before, COCOIMG_EIO), 0);
	assert_int_equal(coco_dest_open(ctx, ex, &d), 0);
	assert_int_equal(d->ops->put_manifest(d, "{\"a\":1}", 7, COCO_MT_OCI_MANIFEST, true), 0);
	coco_dest_close(d);
	assert_int_equal(coco_read_file(ctx, ip, 1 << 20, &after, COCOIMG_EIO), 0);
	assert_int_equal(before.len, after.len);
	assert_memory_equal(before.data, after.data, before.len);
	coco_buf_free(&before);
	coco_buf_free(&after);
	free(ip);
	free(ex);
	free(refs);
	free(top);
}

static void test_hostile_source(void **state)
{
	(void)state;
	char *dir = coco_asprintf("%s/hostile", tmpdir);
	char *p = coco_asprintf("%s/blobs/sha256", dir);
	coco_mkdir_p(ctx, p, 0755);
	free(p);
	char *refs = coco_asprintf("oci:%s", dir);
	coco_src *s;
	/* no oci-layout */
	assert_int_equal(coco_src_open(ctx, refs, NULL, &s), COCOIMG_EBADIMAGE);
	p = coco_asprintf("%s/oci-layout", dir);
	coco_write_file_atomic(ctx, p, "{\"imageLayoutVersion\":\"1.0.0\"}", 30, 0644);
	free(p);
	p = coco_asprintf("%s/index.json", dir);
	static const char *const bad[] = {
		"{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		"\"digest\":\"sha256:../../../../etc/passwd\",\"size\":10}]}",
		"{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		"\"digest\":\"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"size\":-10}]}",
		"{\"schemaVersion\":2,\"manifests\":7}",
		"not json",
	};
	for (size_t i = 0; i < COCO_ARRAY_SIZE(bad); i++) {
		coco_write_file_atomic(ctx, p, bad[i], strlen(bad[i]), 0644);
		assert_int_equal(coco_src_open(ctx, refs, NULL, &s), COCOIMG_EBADIMAGE);
		assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "index.json"));
	}
	/* missing manifest blob, huge size */
	const char *missing = "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	                      "\"digest\":\"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"size\":9000000000000000000}]}";
	coco_write_file_atomic(ctx, p, missing, strlen(missing), 0644);
	assert_int_equal(coco_src_open(ctx, refs, NULL, &s), 0);
	coco_resolved r;
	int rc = coco_resolve(s, NULL, &r);
	assert_true(rc == COCOIMG_ENOTFOUND || rc == COCOIMG_EBADIMAGE);
	coco_src_close(s);
	free(p);
	free(refs);
	free(dir);
}

/* Review regression: a layout's index.json and blobs must be regular
 * files, never symbolic links (to a host file) or FIFOs (which would
 * block the reader forever). */
static void test_links_refused(void **state)
{
	(void)state;
	char *dir = coco_asprintf("%s/links", tmpdir);
	char *p = coco_asprintf("%s/blobs/sha256", dir);
	coco_mkdir_p(ctx, p, 0755);
	free(p);
	p = coco_asprintf("%s/oci-layout", dir);
	coco_write_file_atomic(ctx, p, "{\"imageLayoutVersion\":\"1.0.0\"}", 30, 0644);
	free(p);
	/* a manifest that lives outside the layout */
	char *cfg = mkmanifest("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 2,
	                       "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 2);
	char dg[COCO_DIGEST_STRLEN];
	assert_int_equal(coco_digest_bytes(COCO_SHA256, cfg, strlen(cfg), dg), 0);
	char *outside = coco_asprintf("%s/outside-manifest", tmpdir);
	coco_write_file_atomic(ctx, outside, cfg, strlen(cfg), 0644);
	char *blob = coco_asprintf("%s/blobs/sha256/%s", dir, dg + 7);
	assert_int_equal(symlink(outside, blob), 0);
	char *idx = coco_asprintf("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\","
	                          "\"digest\":\"%s\",\"size\":%zu}]}", COCO_MT_OCI_MANIFEST, dg,
	                          strlen(cfg));
	char *ip = coco_asprintf("%s/index.json", dir);
	coco_write_file_atomic(ctx, ip, idx, strlen(idx), 0644);
	char *refs = coco_asprintf("oci:%s", dir);
	coco_src *s;
	coco_resolved r;
	assert_int_equal(coco_src_open(ctx, refs, NULL, &s), 0);
	assert_int_equal(coco_resolve(s, NULL, &r), COCOIMG_EBADIMAGE);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "symbolic link"));
	coco_src_close(s);
	/* index.json itself a link to a valid index elsewhere */
	char *oidx = coco_asprintf("%s/outside-index.json", tmpdir);
	coco_write_file_atomic(ctx, oidx, idx, strlen(idx), 0644);
	unlink(ip);
	assert_int_equal(symlink(oidx, ip), 0);
	assert_int_equal(coco_src_open(ctx, refs, NULL, &s), COCOIMG_EBADIMAGE);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "symbolic link"));
	/* index.json a FIFO: refused at once, no hang */
	unlink(ip);
	assert_int_equal(mkfifo(ip, 0644), 0);
	alarm(20);
	assert_int_equal(coco_src_open(ctx, refs, NULL, &s), COCOIMG_EBADIMAGE);
	alarm(0);
	free(oidx);
	free(refs);
	free(ip);
	free(idx);
	free(blob);
	free(outside);
	free(cfg);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_failed_copy_cleans_up),
		cmocka_unit_test(test_hostile_source),
		cmocka_unit_test(test_links_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
