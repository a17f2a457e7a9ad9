/*
 * docker:// as an image destination: HEAD checks, cross-repository
 * mounts, blob uploads (small blobs: POST + monolithic PUT; larger or
 * unknown sizes: POST + one streamed PATCH + PUT ?digest=, the digest
 * computed on the fly), manifest PUTs.
 */
#include "registry.h"
#include "../base.h"
#include "../digest.h"
#include "../ref.h"
#include "../stream.h"
#include "../transport.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct reg_dest {
	coco_reg_repo repo;        /* scope repository:PATH:pull,push */
	char *oci_subject;         /* OCI-Subject of the last manifest push */
} reg_dest;

/* ---- helpers ---- */

static char *with_digest(const char *loc, const char *digest)
{
	char *e = coco_url_escape(digest);
	char *u = e ? coco_asprintf("%s%cdigest=%s", loc, strchr(loc, '?') ? '&' : '?', e) : NULL;
	free(e);
	return u;
}

/* POST an upload session (optionally a mount); returns the resolved
 * Location in *loc and the status in *status. */
static int start_session(coco_dest *d, const char *query, const char *scope, char **loc,
                         long *status)
{
	reg_dest *rd = d->impl;
	coco_reg *r = rd->repo.reg;
	*loc = NULL;
	char *url = coco_reg_url(r, "blobs/uploads/%s", query ? query : "");
	char *what = coco_asprintf("upload to %s", rd->repo.name);
	if (!url || !what) {
		free(url);
		free(what);
		return coco_oom(d->ctx);
	}
	coco_http_req req = { .method = "POST", .url = url, .send_body = true };
	coco_http_resp resp = { .content_length = -1 };
	int rc = coco_reg_request(r, &req, scope, what, &resp);
	if (!rc) {
		*status = resp.status;
		if (resp.status == 201 || resp.status == 202) {
			if (resp.location) {
				*loc = coco_url_resolve(url, resp.location);
				if (!*loc)
					rc = coco_seterr(d->ctx, COCOIMG_ENET, "%s: malformed Location", what);
			} else if (resp.status == 202) {
				rc = coco_seterr(d->ctx, COCOIMG_ENET, "%s: no upload Location", what);
			}
		} else {
			rc = coco_reg_status_error(r, &resp, what);
		}
	}
	coco_http_resp_clear(&resp);
	free(url);
	free(what);
	return rc;
}

/* Cancel an upload session; failures are ignored. */
static void cancel_session(coco_dest *d, const char *loc)
{
	reg_dest *rd = d->impl;
	if (!loc)
		return;
	coco_http_req req = { .method = "DELETE", .url = loc };
	coco_http_resp resp = { .content_length = -1 };
	int saved = cocoimg_ctx_last_error_code(d->ctx);
	char msg[sizeof(d->ctx->err_msg)];
	snprintf(msg, sizeof(msg), "%s", cocoimg_ctx_last_error(d->ctx));
	(void)coco_reg_request(rd->repo.reg, &req, rd->repo.scope, "cancel upload", &resp);
	coco_http_resp_clear(&resp);
	/* keep the error that made us cancel */
	if (saved)
		coco_seterr(d->ctx, saved, "%s", msg);
	else
		coco_clearerr(d->ctx);
}

/* ---- has_blob / mount ---- */

static int dest_has_blob(coco_dest *d, const char *digest, int64_t size)
{
	reg_dest *rd = d->impl;
	coco_digest_alg alg;
	if (!digest || coco_digest_validate(digest, &alg))
		return coco_seterr(d->ctx, COCOIMG_EBADIMAGE, "malformed blob digest");
	char *url = coco_reg_url(rd->repo.reg, "blobs/%s", digest);
	char *what = coco_asprintf("blob %s in %s", digest, rd->repo.name);
	if (!url || !what) {
		free(url);
		free(what);
		return coco_oom(d->ctx);
	}
	coco_http_req req = { .method = "HEAD", .url = url };
	coco_http_resp resp = { .content_length = -1 };
	int rc = coco_reg_request(rd->repo.reg, &req, rd->repo.scope, what, &resp);
	if (!rc) {
		if (resp.status == 200)
			rc = size >= 0 && resp.content_length >= 0 && resp.content_length != size ? 0 : 1;
		else if (resp.status == 404)
			rc = 0;
		else
			rc = coco_reg_status_error(rd->repo.reg, &resp, what);
	}
	coco_http_resp_clear(&resp);
	free(url);
	free(what);
	return rc;
}

static int dest_mount_blob(coco_dest *d, coco_src *from, const char *digest)
{
	reg_dest *rd = d->impl;
	coco_reg *fr = coco_registry_src_client(from);
	coco_digest_alg alg;
	if (!fr || !digest || coco_digest_validate(digest, &alg))
		return COCOIMG_EUNSUPPORTED;
	if (strcasecmp(fr->wire_host, rd->repo.reg->wire_host) || !fr->scheme || !rd->repo.reg->scheme ||
	    strcmp(fr->scheme, rd->repo.reg->scheme) || !strcmp(fr->path, rd->repo.reg->path))
		return COCOIMG_EUNSUPPORTED;
	char *ed = coco_url_escape(digest), *ef = coco_url_escape(fr->path);
	char *q = ed && ef ? coco_asprintf("?mount=%s&from=%s", ed, ef) : NULL;
	char *scope = coco_asprintf("%s repository:%s:pull", rd->repo.scope, fr->path);
	free(ed);
	free(ef);
	if (!q || !scope) {
		free(q);
		free(scope);
		return coco_oom(d->ctx);
	}
	char *loc = NULL;
	long status = 0;
	int rc = start_session(d, q, scope, &loc, &status);
	if (!rc && status == 201) {
		coco_debug(d->ctx, "mounted %s from %s", digest, fr->path);
	} else if (!rc) {
		/* 202: not mounted, an ordinary session was opened instead */
		cancel_session(d, loc);
		rc = COCOIMG_EUNSUPPORTED;
	} else if (rc != COCOIMG_ENOMEM) {
		coco_debug(d->ctx, "mount of %s failed: %s", digest, cocoimg_ctx_last_error(d->ctx));
		coco_clearerr(d->ctx);
		rc = COCOIMG_EUNSUPPORTED;
	}
	free(loc);
	free(q);
	free(scope);
	return rc;
}

/* ---- upload sink ---- */

/*
 * The inner stage of a coco_blob_sink (image.c puts a verify stage in
 * front that counts and digests): the first COCO_REG_MONOLITHIC_MAX bytes
 * are kept; past that a session is opened and one PATCH streams the rest
 * as it arrives.  commit() sends the closing PUT ?digest= (with the whole
 * body for small blobs); discard() cancels the session.
 */
typedef struct up_stage {
	coco_stage base;
	coco_dest *dest;
	int64_t size;
	coco_buf buf;              /* the first bytes, until we know it is large */
	char *loc;                 /* upload session URL */
	coco_http_stream *stream;
	bool ended;
	pthread_mutex_t mu;        /* commit/discard may run on another thread */
} up_stage;

static int up_authz(up_stage *u, const char *url, char **authz)
{
	reg_dest *rd = u->dest->impl;
	*authz = NULL;
	char *o1 = coco_url_origin(url), *o2 = coco_url_origin(rd->repo.reg->base);
	bool same = o1 && o2 && !strcmp(o1, o2);
	free(o1);
	free(o2);
	return same ? coco_reg_authorization(rd->repo.reg, rd->repo.scope, false, NULL, authz) : 0;
}

static int up_start_stream(up_stage *u)
{
	coco_dest *d = u->dest;
	long status = 0;
	int rc = start_session(d, NULL, ((reg_dest *)d->impl)->repo.scope, &u->loc, &status);
	if (rc)
		return rc;
	char *authz = NULL;
	rc = up_authz(u, u->loc, &authz);
	if (rc)
		return rc;
	rc = coco_http_stream_begin(d->ctx, &((reg_dest *)d->impl)->repo.reg->tls, "PATCH", u->loc, NULL,
	                            authz, u->size, &u->stream);
	if (authz)
		coco_free_secret(authz, strlen(authz));
	if (rc)
		return rc;
	rc = coco_http_stream_write(u->stream, u->buf.data, u->buf.len);
	coco_buf_free(&u->buf);
	return rc;
}

static int up_write(coco_stage *s, const unsigned char *b, size_t n)
{
	up_stage *u = (up_stage *)s;
	if (!u->stream) {
		if (u->buf.len + n <= COCO_REG_MONOLITHIC_MAX)
			return coco_buf_append(&u->buf, b, n)
			               ? coco_oom(s->ctx)
			               : 0;
		int rc = up_start_stream(u);
		if (rc)
			return rc;
	}
	uint64_t t0 = coco_now_ns();
	int rc = coco_http_stream_write(u->stream, b, n);
	s->nsec += coco_now_ns() - t0;
	return rc;
}

/* End of data: finish the PATCH and move to the Location it returns. */
static int up_finish(coco_stage *s)
{
	up_stage *u = (up_stage *)s;
	if (!u->stream)
		return 0;
	coco_http_resp resp = { .content_length = -1 };
	int rc = coco_http_stream_end(u->stream, &resp);
	if (!rc && resp.status != 202 && resp.status != 204 && resp.status != 201)
		rc = coco_reg_status_error(((reg_dest *)u->dest->impl)->repo.reg, &resp, "blob upload");
	if (!rc && resp.location) {
		char *next = coco_url_resolve(u->loc, resp.location);
		if (!next) {
			rc = coco_oom(s->ctx);
		} else {
			free(u->loc);
			u->loc = next;
		}
	}
	coco_http_resp_clear(&resp);
	coco_http_stream_free(u->stream);
	u->stream = NULL;
	u->ended = true;
	return rc;
}

static int up_put_final(up_stage *u, const char *digest, const void *body, size_t len)
{
	coco_dest *d = u->dest;
	reg_dest *rd = d->impl;
	char *url = with_digest(u->loc, digest);
	char *what = coco_asprintf("upload of blob %s to %s", digest, rd->repo.name);
	if (!url || !what) {
		free(url);
		free(what);
		return coco_oom(d->ctx);
	}
	coco_http_req req = { .method = "PUT", .url = url, .body = body, .body_len = len,
	                      .send_body = true };
	coco_http_resp resp = { .content_length = -1 };
	int rc = coco_reg_request(rd->repo.reg, &req, rd->repo.scope, what, &resp);
	if (!rc && resp.status != 201 && resp.status != 204 && resp.status != 200) {
		if (resp.status == 400 && coco_reg_errcode(&resp, "DIGEST_INVALID"))
			rc = coco_seterr(d->ctx, COCOIMG_EDIGEST, "%s: the registry computed another digest",
			                 what);
		else
			rc = coco_reg_status_error(rd->repo.reg, &resp, what);
	}
	if (!rc && resp.docker_digest && strcmp(resp.docker_digest, digest))
		rc = coco_seterr(d->ctx, COCOIMG_EDIGEST, "%s: the registry stored digest %s", what,
		                 resp.docker_digest);
	coco_http_resp_clear(&resp);
	free(url);
	free(what);
	return rc;
}

static int up_commit(void *arg, const char *digest, uint64_t size)
{
	up_stage *u = arg;
	pthread_mutex_lock(&u->mu);
	int rc = 0;
	if (!u->ended) {
		/* small blob: one session, one PUT with the whole body */
		long status = 0;
		free(u->loc);
		u->loc = NULL;
		rc = start_session(u->dest, NULL, ((reg_dest *)u->dest->impl)->repo.scope, &u->loc, &status);
		if (!rc)
			rc = up_put_final(u, digest, u->buf.data ? (const void *)u->buf.data : "",
			                  u->buf.len);
	} else {
		rc = up_put_final(u, digest, "", 0);
	}
	if (!rc) {
		free(u->loc);
		u->loc = NULL;
		coco_debug(u->dest->ctx, "uploaded %s (%llu bytes)", digest, (unsigned long long)size);
	}
	pthread_mutex_unlock(&u->mu);
	return rc;
}

static void up_discard(void *arg)
{
	up_stage *u = arg;
	pthread_mutex_lock(&u->mu);
	coco_http_stream_free(u->stream);
	u->stream = NULL;
	if (u->loc)
		cancel_session(u->dest, u->loc);
	free(u->loc);
	u->loc = NULL;
	pthread_mutex_unlock(&u->mu);
}

static void up_destroy(coco_stage *s)
{
	up_stage *u = (up_stage *)s;
	coco_http_stream_free(u->stream);
	coco_buf_free(&u->buf);
	free(u->loc);
	pthread_mutex_destroy(&u->mu);
}

COCO_STAGE_TYPE(up_type, "upload", up_stage, up_write, up_finish, up_destroy);

static const coco_blob_sink_ops up_ops = {
	.commit = up_commit,
	.discard = up_discard,
	.release = NULL,
};

static int dest_put_blob(coco_dest *d, const char *expected_digest, int64_t size,
                         coco_stage **sink)
{
	reg_dest *rd = d->impl;
	up_stage *u = coco_stage_new(d->ctx, &up_type, NULL);
	if (!u)
		return coco_oom(d->ctx);
	pthread_mutex_init(&u->mu, NULL);
	u->dest = d;
	u->size = size;
	char *what = coco_asprintf("blob %s for %s", expected_digest ? expected_digest : "(new)",
	                           rd->repo.name);
	if (!what) {
		coco_stage_free(&u->base);
		return coco_oom(d->ctx);
	}
	int rc = coco_blob_sink_new(d->ctx, expected_digest, size, what, &u->base, &up_ops, u, sink);
	free(what);
	if (rc)
		coco_stage_free(&u->base);
	return rc;
}

/* ---- manifests ---- */

/* The manifest's digest (in the algorithm of the digest the destination
 * names, for the top manifest), which must then match that digest. */
static int manifest_digest_for(coco_dest *d, const void *data, size_t len, bool top,
                               char dg[COCO_DIGEST_STRLEN])
{
	const char *named = top ? d->ref->docker.digest : NULL;
	coco_digest_alg alg = COCO_SHA256;
	if (named)
		coco_digest_validate(named, &alg);
	coco_digest_bytes(alg, data, len, dg);
	if (named && strcmp(named, dg))
		return coco_seterr(d->ctx, COCOIMG_EINVAL,
		                   "destination %s names digest %s but the manifest has digest %s",
		                   ((reg_dest *)d->impl)->repo.name, named, dg);
	return 0;
}

/* The Docker-Content-Digest the registry answered, if any, must be the
 * manifest's digest in that algorithm. */
static int stored_digest_ok(cocoimg_ctx *ctx, const coco_http_resp *resp, const void *data,
                            size_t len, const char *what)
{
	coco_digest_alg alg;
	if (!resp->docker_digest || coco_digest_validate(resp->docker_digest, &alg))
		return 0;
	char got[COCO_DIGEST_STRLEN];
	coco_digest_bytes(alg, data, len, got);
	if (strcmp(got, resp->docker_digest))
		return coco_seterr(ctx, COCOIMG_EDIGEST, "%s: the registry stored digest %s", what,
		                   resp->docker_digest);
	return 0;
}

/* Remember the OCI-Subject answer of a successful manifest push (resp),
 * forget it otherwise (NULL). */
static void keep_oci_subject(reg_dest *rd, const coco_http_resp *resp)
{
	free(rd->oci_subject);
	rd->oci_subject = resp && resp->oci_subject ? coco_strdup(resp->oci_subject) : NULL;
}

static int dest_put_manifest(coco_dest *d, const void *data, size_t len, const char *media_type,
                             bool top)
{
	reg_dest *rd = d->impl;
	const coco_dref *dr = &d->ref->docker;
	char dg[COCO_DIGEST_STRLEN];
	int rc = manifest_digest_for(d, data, len, top, dg);
	if (rc)
		return rc;
	if (!media_type || !*media_type || strchr(media_type, '\n') || strchr(media_type, '\r'))
		return coco_seterr(d->ctx, COCOIMG_EBADIMAGE, "manifest without a media type");
	const char *reference = top && dr->tag ? dr->tag : dg;
	char *url = coco_reg_url(rd->repo.reg, "manifests/%s", reference);
	char *what = coco_asprintf("manifest %s%s%s", rd->repo.name, reference == dg ? "@" : ":", reference);
	char *ct = coco_asprintf("Content-Type: %s", media_type);
	struct curl_slist *h = ct ? curl_slist_append(NULL, ct) : NULL;
	free(ct);
	if (!url || !what || !h) {
		free(url);
		free(what);
		curl_slist_free_all(h);
		return coco_oom(d->ctx);
	}
	coco_http_req req = { .method = "PUT", .url = url, .headers = h, .body = data,
	                      .body_len = len, .send_body = true };
	coco_http_resp resp = { .content_length = -1 };
	rc = coco_reg_request(rd->repo.reg, &req, rd->repo.scope, what, &resp);
	if (!rc && resp.status != 201 && resp.status != 200 && resp.status != 202)
		rc = coco_reg_status_error(rd->repo.reg, &resp, what);
	if (!rc)
		rc = stored_digest_ok(d->ctx, &resp, data, len, what);
	keep_oci_subject(rd, rc ? NULL : &resp);
	coco_http_resp_clear(&resp);
	curl_slist_free_all(h);
	free(url);
	free(what);
	return rc;
}

/* distribution-spec v1.1.0: a registry that processed the pushed
 * manifest's subject (it has the referrers API) answers OCI-Subject. */
static int dest_subject_tracked(coco_dest *d, const char *subject_digest)
{
	reg_dest *rd = d->impl;
	return rd->oci_subject && !strcmp(rd->oci_subject, subject_digest);
}

static int dest_commit(coco_dest *d)
{
	(void)d;
	return 0;
}

static void dest_close(coco_dest *d)
{
	reg_dest *rd = d->impl;
	coco_reg_repo_close(d->ctx, &rd->repo);
	free(rd->oci_subject);
}

static const struct coco_dest_ops reg_dest_ops = {
	.has_blob = dest_has_blob,
	.put_blob = dest_put_blob,
	.mount_blob = dest_mount_blob,
	.put_manifest = dest_put_manifest,
	.subject_tracked = dest_subject_tracked,
	.commit = dest_commit,
	.close = dest_close,
};

int coco_registry_dest_open(cocoimg_ctx *ctx, coco_ref *ref, coco_dest **out)
{
	*out = NULL;
	if (!ref || ref->transport != COCO_TR_DOCKER) {
		coco_ref_free(ref);
		return coco_seterr(ctx, COCOIMG_EINVAL, "not a docker:// reference");
	}
	coco_dest *d = NULL;
	int rc = coco_dest_new(ctx, &reg_dest_ops, ref, sizeof(reg_dest), &d);
	if (!rc) {
		reg_dest *rd = d->impl;
		rc = coco_reg_repo_open(ctx, "dest", &ref->docker, "pull,push", &rd->repo);
	}
	if (rc) {
		coco_dest_close(d);
		return rc;
	}
	*out = d;
	return 0;
}
