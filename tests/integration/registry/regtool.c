/*
 * regtool: a small driver for the registry integration tests that calls
 * the registry back ends directly (independent of the CLI):
 *
 *   regtool copy SRC DST [--platform P] [--all] [KEY=VALUE...]
 *       copy one image (or with --all every instance of an index and the
 *       index) with has_blob / mount_blob / get_blob -> put_blob (layers
 *       in parallel, 3 threads) / put_manifest / commit
 *   regtool digest REF [KEY=VALUE...]
 *       print the digest and media type of the manifest REF names
 *   regtool get URL [KEY=VALUE...]
 *       coco_http_get: print the status and the body
 *   regtool referrers REF DIGEST [--artifact-type T] [KEY=VALUE...]
 *       list_referrers of the source REF for DIGEST: one line
 *       "DIGEST MEDIATYPE ARTIFACTTYPE|- ORIGIN" per referrer
 *
 * KEY=VALUE are cocoimg_ctx_set() options (creds=..., tls-verify=false).
 * Exit status as coco-img: cocoimg_error_exit_code().
 */
#include "base.h"
#include "digest.h"
#include "image_open.h"
#include "oci/oci.h"
#include "oci/referrers.h"
#include "oci/resolve.h"
#include "registry/registry.h"
#include "stream.h"
#include "transport.h"

#include <stdlib.h>
#include <string.h>

static cocoimg_ctx *ctx;

typedef struct job {
	coco_src *src;
	coco_dest *dst;
	const coco_desc *d;
	int rc;
} job;

static int copy_blob(coco_src *src, coco_dest *dst, const coco_desc *d)
{
	int rc = dst->ops->has_blob(dst, d->digest, d->size);
	if (rc < 0)
		return rc;
	if (rc == 1)
		return 0;
	if (dst->ops->mount_blob) {
		rc = dst->ops->mount_blob(dst, src, d->digest);
		if (rc == 0) {
			fprintf(stderr, "mounted %s\n", d->digest);
			return 0;
		}
		if (rc != COCOIMG_EUNSUPPORTED)
			return rc;
	}
	coco_stage *sink = NULL;
	rc = dst->ops->put_blob(dst, d->digest, d->size, &sink);
	if (rc)
		return rc;
	rc = src->ops->get_blob(src, d, sink);
	if (!rc) {
		char dg[COCO_DIGEST_STRLEN];
		uint64_t sz;
		coco_dest_blob_done(sink, dg, &sz);
		if (strcmp(dg, d->digest))
			rc = coco_seterr(ctx, COCOIMG_EINTERNAL, "blob_done: %s != %s", dg, d->digest);
	}
	coco_stage_chain_free(sink);
	return rc;
}

static void *worker(void *arg)
{
	job *j = arg;
	j->rc = copy_blob(j->src, j->dst, j->d);
	return NULL;
}

static int copy_image(coco_src *src, coco_dest *dst, const coco_buf *raw, const char *mt, bool top)
{
	coco_manifest *m = NULL;
	int rc = coco_manifest_parse(ctx, raw->data, raw->len, mt, &m);
	if (rc)
		return rc;
	/* layers in parallel, three at a time */
	size_t n = m->n_layers;
	for (size_t i = 0; i < n && !rc; i += 3) {
		pthread_t th[3];
		job jobs[3];
		size_t k = 0;
		for (; k < 3 && i + k < n; k++) {
			jobs[k] = (job){ src, dst, &m->layers[i + k], 0 };
			pthread_create(&th[k], NULL, worker, &jobs[k]);
		}
		for (size_t t = 0; t < k; t++) {
			pthread_join(th[t], NULL);
			if (jobs[t].rc && !rc)
				rc = jobs[t].rc;
		}
	}
	if (!rc)
		rc = copy_blob(src, dst, &m->config);
	if (!rc)
		rc = dst->ops->put_manifest(dst, raw->data, raw->len, mt, top);
	coco_manifest_free(m);
	return rc;
}

static int do_copy(const char *s, const char *d, const char *platform, bool all)
{
	coco_src *src = NULL;
	coco_dest *dst = NULL;
	coco_resolved r;
	memset(&r, 0, sizeof(r));
	int rc = coco_src_open(ctx, s, "src", &src);
	if (!rc)
		rc = coco_dest_open(ctx, d, &dst);
	coco_platform p;
	memset(&p, 0, sizeof(p));
	if (!rc && platform)
		rc = coco_platform_parse(ctx, platform, &p);
	if (!rc && all) {
		coco_buf top = COCO_BUF_INIT;
		char *mt = NULL;
		rc = src->ops->get_manifest(src, NULL, &top, &mt);
		coco_manifest *idx = NULL;
		if (!rc)
			rc = coco_manifest_parse(ctx, top.data, top.len, mt, &idx);
		if (!rc && idx->kind == COCO_KIND_INDEX) {
			for (size_t i = 0; i < idx->n_manifests && !rc; i++) {
				coco_buf b = COCO_BUF_INIT;
				char *cmt = NULL;
				rc = src->ops->get_manifest(src, idx->manifests[i].digest, &b, &cmt);
				if (!rc)
					rc = copy_image(src, dst, &b, cmt, false);
				coco_buf_free(&b);
				free(cmt);
			}
			if (!rc)
				rc = dst->ops->put_manifest(dst, top.data, top.len, mt, true);
		} else if (!rc) {
			rc = copy_image(src, dst, &top, mt, true);
		}
		coco_manifest_free(idx);
		coco_buf_free(&top);
		free(mt);
	} else if (!rc) {
		rc = coco_resolve(src, platform ? &p : NULL, &r);
		if (!rc)
			rc = copy_image(src, dst, &r.raw, r.media_type, true);
	}
	if (!rc)
		rc = dst->ops->commit(dst);
	if (!rc)
		printf("%s\n", r.digest);
	coco_platform_clear(&p);
	coco_resolved_clear(&r);
	coco_dest_close(dst);
	coco_src_close(src);
	return rc;
}

static int do_digest(const char *s)
{
	coco_src *src = NULL;
	int rc = coco_src_open(ctx, s, "src", &src);
	coco_buf b = COCO_BUF_INIT;
	char *mt = NULL;
	if (!rc)
		rc = src->ops->get_manifest(src, NULL, &b, &mt);
	if (!rc) {
		char dg[COCO_DIGEST_STRLEN];
		coco_digest_bytes(COCO_SHA256, b.data, b.len, dg);
		printf("%s %s\n", dg, mt);
	}
	coco_buf_free(&b);
	free(mt);
	coco_src_close(src);
	return rc;
}

static int do_get(const char *url)
{
	coco_buf b = COCO_BUF_INIT;
	long status = 0;
	int rc = coco_http_get(ctx, url, 1 << 20, NULL, &b, &status);
	if (!rc) {
		printf("%ld\n", status);
		fwrite(b.data ? (const void *)b.data : "", 1, b.len, stdout);
	}
	coco_buf_free(&b);
	return rc;
}

static int do_referrers(const char *s, const char *digest, const char *artifact_type)
{
	coco_src *src = NULL;
	coco_referrers refs = { 0 };
	int rc = coco_src_open(ctx, s, "src", &src);
	if (!rc && !src->ops->list_referrers)
		rc = coco_seterr(ctx, COCOIMG_EUNSUPPORTED, "%s keeps no referrers", s);
	if (!rc)
		rc = src->ops->list_referrers(src, digest, artifact_type, &refs);
	for (size_t i = 0; !rc && i < refs.n; i++)
		printf("%s %s %s %s\n", refs.v[i].digest, refs.v[i].media_type,
		       refs.v[i].artifact_type ? refs.v[i].artifact_type : "-", refs.v[i].origin);
	coco_referrers_clear(&refs);
	coco_src_close(src);
	return rc;
}

static void log_cb(cocoimg_log_level lvl, const char *msg, void *payload)
{
	fprintf(stderr, "log[%d]: %s\n", (int)lvl, msg);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: regtool copy|digest|get|referrers ARGS... [KEY=VALUE...]\n");
		return 2;
	}
	if (cocoimg_ctx_new(&ctx))
		return 1;
	if (getenv("REGTOOL_DEBUG"))
		cocoimg_ctx_set_log(ctx, log_cb, COCOIMG_LOG_DEBUG, NULL);
	const char *pos[3] = { NULL };
	size_t npos = 0;
	const char *platform = NULL, *artifact_type = NULL;
	bool all = false;
	for (int i = 1; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		if (!strcmp(argv[i], "--platform") && i + 1 < argc) {
			platform = argv[++i];
		} else if (!strcmp(argv[i], "--artifact-type") && i + 1 < argc) {
			artifact_type = argv[++i];
		} else if (!strcmp(argv[i], "--all")) {
			all = true;
		} else if (eq && argv[i][0] != '-' && i > 2 && strncmp(argv[i], "docker://", 9) &&
		           strncmp(argv[i], "oci:", 4) && strncmp(argv[i], "http", 4)) {
			*eq = 0;
			if (cocoimg_ctx_set(ctx, argv[i], eq + 1)) {
				fprintf(stderr, "regtool: %s\n", cocoimg_ctx_last_error(ctx));
				return 2;
			}
		} else if (npos < 3) {
			pos[npos++] = argv[i];
		}
	}
	int rc;
	if (!strcmp(pos[0], "copy") && npos == 3)
		rc = do_copy(pos[1], pos[2], platform, all);
	else if (!strcmp(pos[0], "digest") && npos == 2)
		rc = do_digest(pos[1]);
	else if (!strcmp(pos[0], "get") && npos == 2)
		rc = do_get(pos[1]);
	else if (!strcmp(pos[0], "referrers") && npos == 3)
		rc = do_referrers(pos[1], pos[2], artifact_type);
	else {
		fprintf(stderr, "regtool: bad usage\n");
		return 2;
	}
	if (rc)
		fprintf(stderr, "regtool: %s\n", cocoimg_ctx_last_error(ctx));
	cocoimg_ctx_free(ctx);
	return rc ? cocoimg_error_exit_code(rc) : 0;
}
