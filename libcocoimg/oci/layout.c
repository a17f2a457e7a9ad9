/*
 * OCI image layout directories (oci:DIR[:TAG]): source and destination.
 *
 *   DIR/oci-layout   {"imageLayoutVersion":"1.0.0"}
 *   DIR/index.json   an OCI index; entries tagged with
 *                    org.opencontainers.image.ref.name
 *   DIR/blobs/<alg>/<hex>
 *
 * Destination rules (containers/image oci_dest.go addManifest): a new
 * entry with a name takes the name away from the older entry that had it
 * (the older entry stays, untagged, reachable as oci:DIR:@N); an untagged
 * entry with the same digest is replaced instead of adding a duplicate.
 * Blobs go to a temporary file in DIR/blobs (tmpblob.c) and get their
 * name once size and digest are verified; index.json is replaced atomically at
 * commit under flock(DIR).  A DIR created by this destination is removed
 * again when the copy does not commit.
 */
#include "layout.h"
#include "oci.h"
#include "referrers.h"
#include "tmpblob.h"
#include "../base.h"
#include "../caps.h"
#include "../digest.h"
#include "../json.h"
#include "../ref.h"
#include "../stream.h"
#include "../transport.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REFNAME "org.opencontainers.image.ref.name"
#define LAYOUT_FILE "{\"imageLayoutVersion\":\"1.0.0\"}"
/* the oci-layout file, read under no ctx cap */
#define LAYOUT_FILE_MAX 65536

/* "DIR/blobs/<alg>/<hex>" for a validated digest, else NULL. */
static char *blob_path(const char *dir, const char *digest)
{
	coco_digest_alg alg;
	if (!digest || coco_digest_validate(digest, &alg))
		return NULL;
	const char *colon = strchr(digest, ':');
	return coco_asprintf("%s/blobs/%.*s/%s", dir, (int)(colon - digest), digest, colon + 1);
}

/*
 * Read a layout file (index.json, oci-layout, a manifest blob) of at most
 * the cap's bytes (COCO_LIM_COUNT: the oci-layout file's fixed limit).  A layout may come from anyone (an extracted oci-archive, a
 * shared directory): the file must be a regular file and not a symbolic
 * link, so that neither a link to a file elsewhere on the host nor a FIFO
 * (which would block the open forever) is read.
 */
static int read_layout_file(cocoimg_ctx *ctx, const char *path, coco_limit_id cap, coco_buf *out,
                            int err_missing)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
	if (fd < 0) {
		int e = errno;
		if (e == ELOOP)
			return coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s is a symbolic link (refused in "
			                   "an OCI layout)", path);
		return coco_seterr(ctx, e == ENOENT ? err_missing : COCOIMG_EIO, "cannot open %s: %s",
		                   path, strerror(e));
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s is not a regular file", path);
	}
	size_t max = cap == COCO_LIM_COUNT ? LAYOUT_FILE_MAX : coco_limit_size(ctx, cap);
	if ((uint64_t)st.st_size > max) {
		close(fd);
		if (cap == COCO_LIM_COUNT)
			return coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s is too large (over %zu bytes)",
			                   path, max);
		return coco_limit_refuse(ctx, COCOIMG_EBADIMAGE, cap, (uint64_t)st.st_size, "%s",
		                         path);
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return coco_read_fd(ctx, fd, path, max, out, COCOIMG_EBADIMAGE);
}

static int read_index(cocoimg_ctx *ctx, const char *dir, coco_manifest **out, bool missing_ok)
{
	*out = NULL;
	char *p = coco_asprintf("%s/index.json", dir);
	if (!p)
		return coco_oom(ctx);
	if (missing_ok && access(p, F_OK) < 0 && errno == ENOENT) {
		free(p);
		return 0;
	}
	coco_buf b = COCO_BUF_INIT;
	int rc = read_layout_file(ctx, p, COCO_LIM_MANIFEST_SIZE, &b, COCOIMG_EBADIMAGE);
	if (!rc) {
		/* skopeo writes index.json without mediaType: the hint makes it an index */
		rc = coco_manifest_parse(ctx, b.data, b.len, COCO_MT_OCI_INDEX, out);
		if (rc)
			coco_preferr(ctx, rc, "%s", p);
	}
	coco_buf_free(&b);
	free(p);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Source                                                              */
/* ------------------------------------------------------------------ */

typedef struct {
	char *dir;
	coco_manifest *index;
	size_t entry;              /* the entry the reference names */
} oci_src;

static int src_read_blob_mem(coco_src *s, const char *digest, int64_t expect_size, coco_buf *out)
{
	oci_src *o = s->impl;
	char *p = blob_path(o->dir, digest);
	if (!p)
		return coco_seterr(s->ctx, COCOIMG_EBADIMAGE, "malformed digest \"%.150s\"", digest);
	int rc = read_layout_file(s->ctx, p, COCO_LIM_MANIFEST_SIZE, out, COCOIMG_ENOTFOUND);
	free(p);
	if (rc == COCOIMG_ENOTFOUND)
		return coco_seterr(s->ctx, rc, "manifest %s not found in layout %s", digest, o->dir);
	if (rc)
		return rc;
	char got[COCO_DIGEST_STRLEN];
	coco_digest_alg alg;
	coco_digest_validate(digest, &alg);
	if (coco_digest_bytes(alg, out->data, out->len, got))
		return coco_seterr(s->ctx, COCOIMG_EINTERNAL, "digest computation failed");
	if (expect_size >= 0 && (uint64_t)expect_size != out->len)
		return coco_seterr(s->ctx, COCOIMG_EDIGEST,
		                   "manifest %s: size mismatch: expected %lld bytes, got %zu", digest,
		                   (long long)expect_size, out->len);
	if (strcmp(got, digest))
		return coco_seterr(s->ctx, COCOIMG_EDIGEST, "manifest %s: digest mismatch: got %s", digest, got);
	return 0;
}

static int src_get_manifest(coco_src *s, const char *digest, coco_buf *out, char **media_type)
{
	oci_src *o = s->impl;
	*media_type = NULL;
	const coco_desc *d = NULL;
	if (!digest) {
		d = &o->index->manifests[o->entry];
	} else {
		for (size_t i = 0; i < o->index->n_manifests; i++)
			if (!strcmp(o->index->manifests[i].digest, digest))
				d = &o->index->manifests[i];
	}
	int rc = src_read_blob_mem(s, d ? d->digest : digest, d ? d->size : -1, out);
	if (rc)
		return rc;
	if (d && !(*media_type = coco_strdup(d->media_type)))
		return coco_oom(s->ctx);
	return 0;
}

static int src_get_blob(coco_src *s, const coco_desc *d, coco_stage *sink)
{
	oci_src *o = s->impl;
	char *p = blob_path(o->dir, d->digest);
	if (!p)
		return coco_seterr(s->ctx, COCOIMG_EBADIMAGE, "malformed digest \"%.150s\"", d->digest);
	int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
	if (fd < 0) {
		int e = errno;
		free(p);
		if (e == ELOOP)
			return coco_seterr(s->ctx, COCOIMG_EBADIMAGE, "blob %s in layout %s is a "
			                   "symbolic link (refused)", d->digest, o->dir);
		if (e == ENOENT)
			return coco_seterr(s->ctx, COCOIMG_ENOTFOUND, "blob %s not found in layout %s",
			                   d->digest, o->dir);
		return coco_seterr(s->ctx, COCOIMG_EIO, "blob %s: cannot open: %s", d->digest, strerror(e));
	}
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		rc = coco_seterr(s->ctx, COCOIMG_EBADIMAGE, "blob %s in layout %s is not a regular file",
		                 d->digest, o->dir);
	else if (d->size >= 0 && st.st_size != d->size)
		rc = coco_seterr(s->ctx, COCOIMG_EDIGEST,
		                 "blob %s: size mismatch: expected %lld bytes, layout has %lld", d->digest,
		                 (long long)d->size, (long long)st.st_size);
	if (!rc) {
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
		rc = coco_stage_pump_fd(sink, fd, p);
	}
	close(fd);
	free(p);
	return rc;
}

static int src_read_desc(void *arg, const coco_desc *d, coco_buf *out)
{
	return src_read_blob_mem(arg, d->digest, d->size, out);
}

/* Referrers in a layout: its referrers tag and the manifests index.json
 * lists with that subject (oci/referrers.c). */
static int src_list_referrers(coco_src *s, const char *digest, const char *artifact_type,
                              coco_referrers *out)
{
	oci_src *o = s->impl;
	return coco_referrers_from_layout(s->ctx, o->index, digest, artifact_type, src_read_desc, s,
	                                  out);
}

static void src_close(coco_src *s)
{
	oci_src *o = s->impl;
	coco_manifest_free(o->index);
	free(o->dir);
}

static const struct coco_src_ops oci_src_ops = {
	.get_manifest = src_get_manifest,
	.get_blob = src_get_blob,
	.list_referrers = src_list_referrers,
	.close = src_close,
};

static int check_layout_file(cocoimg_ctx *ctx, const char *dir)
{
	char *p = coco_asprintf("%s/oci-layout", dir);
	if (!p)
		return COCOIMG_ENOMEM;
	coco_buf b = COCO_BUF_INIT;
	int rc = read_layout_file(ctx, p, COCO_LIM_COUNT, &b, COCOIMG_EBADIMAGE);
	json_t *j = NULL;
	if (!rc)
		rc = coco_json_parse(ctx, b.data, b.len, p, COCOIMG_EBADIMAGE, &j);
	const char *v;
	if (!rc)
		rc = coco_json_str(ctx, j, "imageLayoutVersion", p, COCOIMG_EBADIMAGE, &v);
	json_decref(j);
	coco_buf_free(&b);
	free(p);
	return rc;
}

/* The index entry a reference names: "@N", an image name
 * (org.opencontainers.image.ref.name), or, without either, the only one. */
static int select_entry(cocoimg_ctx *ctx, oci_src *o, const char *tag)
{
	const coco_manifest *ix = o->index;
	if (tag && tag[0] == '@') {
		unsigned long n = strtoul(tag + 1, NULL, 10);
		if (n >= ix->n_manifests)
			return coco_seterr(ctx, COCOIMG_ENOTFOUND, "layout %s has no entry %s (%zu entries)",
			                   o->dir, tag, ix->n_manifests);
		o->entry = n;
		return 0;
	}
	if (tag) {
		for (size_t i = 0; i < ix->n_manifests; i++) {
			json_t *v = json_object_get(ix->manifests[i].annotations, REFNAME);
			if (v && !strcmp(json_string_value(v), tag)) {
				o->entry = i;
				return 0;
			}
		}
		return coco_seterr(ctx, COCOIMG_ENOTFOUND, "no image named \"%s\" in layout %s", tag,
		                   o->dir);
	}
	if (ix->n_manifests == 0)
		return coco_seterr(ctx, COCOIMG_ENOTFOUND, "layout %s holds no image", o->dir);
	if (ix->n_manifests != 1)
		return coco_seterr(ctx, COCOIMG_EINVAL,
		                   "layout %s holds %zu images: name one with oci:%s:TAG or @N", o->dir,
		                   ix->n_manifests, o->dir);
	return 0;
}

int coco_oci_src_open(cocoimg_ctx *ctx, coco_ref *ref, const char *side, coco_src **out)
{
	*out = NULL;
	struct stat st;
	if (stat(ref->path, &st) < 0) {
		int e = errno;
		int rc = coco_seterr(ctx, e == ENOENT ? COCOIMG_ENOTFOUND : COCOIMG_EIO,
		                     "OCI layout %s: %s", ref->path, strerror(e));
		coco_ref_free(ref);
		return rc;
	}
	coco_src *s = NULL;
	int rc = coco_src_new(ctx, &oci_src_ops, ref, side, sizeof(oci_src), &s);
	if (rc)
		return rc;
	oci_src *o = s->impl;
	if (!(o->dir = coco_strdup(ref->path))) {
		rc = coco_oom(ctx);
		goto fail;
	}
	if (!S_ISDIR(st.st_mode)) {
		rc = coco_seterr(ctx, COCOIMG_EINVAL, "OCI layout %s is not a directory", ref->path);
		goto fail;
	}
	if ((rc = check_layout_file(ctx, o->dir)) || (rc = read_index(ctx, o->dir, &o->index, false)))
		goto fail;
	if (o->index->kind != COCO_KIND_INDEX) {
		rc = coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s/index.json is not an image index", o->dir);
		goto fail;
	}
	if ((rc = select_entry(ctx, o, ref->tag)))
		goto fail;
	if (!coco_mt_is_manifest(o->index->manifests[o->entry].media_type)) {
		rc = coco_seterr(ctx, COCOIMG_EUNSUPPORTED, "layout %s: entry has unsupported media type \"%.200s\"",
		                 o->dir, o->index->manifests[o->entry].media_type);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	coco_src_close(s);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Destination                                                         */
/* ------------------------------------------------------------------ */

typedef struct {
	char *dir;
	char *created;             /* topmost directory we created, or NULL */
	json_t *top;               /* descriptor for index.json, Go field order */
	bool committed;
	pthread_mutex_t mu;
} oci_dest;

static int dest_has_blob(coco_dest *d, const char *digest, int64_t size)
{
	oci_dest *o = d->impl;
	char *p = blob_path(o->dir, digest);
	if (!p)
		return coco_seterr(d->ctx, COCOIMG_EBADIMAGE, "malformed digest \"%.150s\"", digest);
	struct stat st;
	int r = lstat(p, &st) == 0 && S_ISREG(st.st_mode) && (size < 0 || st.st_size == size);
	free(p);
	return r;
}

typedef struct {
	cocoimg_ctx *ctx;
	char *dir;
	coco_tmpblob *tmp;
} blob_tmp;

static int tmp_commit(void *arg, const char *digest, uint64_t size)
{
	blob_tmp *t = arg;
	(void)size;
	char *final = blob_path(t->dir, digest);
	if (!final)
		return coco_seterr(t->ctx, COCOIMG_EINTERNAL, "bad digest %s", digest);
	char *slash = strrchr(final, '/');
	*slash = 0;
	int rc = 0;
	if (mkdir(final, 0755) < 0 && errno != EEXIST)
		rc = coco_seterr(t->ctx, COCOIMG_EIO, "cannot create %s: %s", final, strerror(errno));
	*slash = '/';
	if (!rc)
		rc = coco_tmpblob_commit(t->tmp, final, digest);
	free(final);
	return rc;
}

static void tmp_discard(void *arg)
{
	blob_tmp *t = arg;
	coco_tmpblob_discard(t->tmp);
}

static void tmp_release(void *arg)
{
	blob_tmp *t = arg;
	coco_tmpblob_free(t->tmp);
	free(t->dir);
	free(t);
}

static const coco_blob_sink_ops tmp_ops = { tmp_commit, tmp_discard, tmp_release };

static int dest_put_blob(coco_dest *d, const char *expected_digest, int64_t size, coco_stage **sink)
{
	oci_dest *o = d->impl;
	*sink = NULL;
	blob_tmp *t = calloc(1, sizeof(*t));
	if (!t)
		return coco_oom(d->ctx);
	t->ctx = d->ctx;
	t->dir = coco_strdup(o->dir);
	if (!t->dir) {
		tmp_release(t);
		return coco_oom(d->ctx);
	}
	int rc = coco_tmpblob_open(d->ctx, o->dir, &t->tmp);
	if (rc) {
		tmp_release(t);
		return rc;
	}
	coco_stage *fds;
	rc = coco_fd_stage_new(d->ctx, coco_tmpblob_fd(t->tmp), coco_tmpblob_what(t->tmp), &fds);
	if (rc) {
		tmp_discard(t);
		tmp_release(t);
		return coco_seterr(d->ctx, rc, "out of memory");
	}
	char what[200];
	snprintf(what, sizeof(what), "blob %s", expected_digest ? expected_digest : "");
	rc = coco_blob_sink_new(d->ctx, expected_digest, size, what, fds, &tmp_ops, t, sink);
	if (rc) {
		coco_stage_chain_free(fds);
		tmp_discard(t);
		tmp_release(t);
	}
	return rc;
}

static json_t *make_desc(const char *mt, const char *digest, size_t size, const char *name)
{
	json_t *j = json_object();
	json_object_set_new(j, "mediaType", json_string(mt));
	json_object_set_new(j, "digest", json_string(digest));
	json_object_set_new(j, "size", json_integer((json_int_t)size));
	if (name)
		json_object_set_new(j, "annotations", json_pack("{s:s}", REFNAME, name));
	return j;
}

static int dest_put_manifest(coco_dest *d, const void *data, size_t len, const char *media_type,
                             bool top)
{
	oci_dest *o = d->impl;
	char dg[COCO_DIGEST_STRLEN];
	if (coco_digest_bytes(COCO_SHA256, data, len, dg))
		return coco_seterr(d->ctx, COCOIMG_EINTERNAL, "digest computation failed");
	char *p = blob_path(o->dir, dg);
	if (!p)
		return COCOIMG_ENOMEM;
	int rc = coco_write_file_atomic(d->ctx, p, data, len, 0644);
	free(p);
	if (rc)
		return rc;
	if (top) {
		json_t *j = make_desc(media_type, dg, len, d->ref->tag);
		if (!j)
			return coco_oom(d->ctx);
		pthread_mutex_lock(&o->mu);
		json_decref(o->top);
		o->top = j;
		pthread_mutex_unlock(&o->mu);
	}
	return 0;
}

/* containers/image addManifest, see the comment at the top.  Takes desc. */
static int add_entry(json_t *manifests, json_t *desc, const char *name)
{
	size_t i;
	json_t *e;
	if (name) {
		json_array_foreach(manifests, i, e) {
			json_t *a = json_object_get(e, "annotations");
			json_t *v = json_is_object(a) ? json_object_get(a, REFNAME) : NULL;
			if (json_is_string(v) && !strcmp(json_string_value(v), name)) {
				json_object_del(a, REFNAME);
				if (json_object_size(a) == 0)
					json_object_del(e, "annotations");
				break;
			}
		}
	}
	const char *dg = json_string_value(json_object_get(desc, "digest"));
	json_array_foreach(manifests, i, e) {
		json_t *a = json_object_get(e, "annotations");
		json_t *v = json_is_object(a) ? json_object_get(a, REFNAME) : NULL;
		const char *edg = json_string_value(json_object_get(e, "digest"));
		if (edg && !strcmp(edg, dg) && (!json_is_string(v) || !json_string_length(v)))
			return json_array_set_new(manifests, i, desc);
	}
	return json_array_append_new(manifests, desc);
}

static int dest_commit(coco_dest *d)
{
	oci_dest *o = d->impl;
	cocoimg_ctx *ctx = d->ctx;
	if (!o->top)
		return coco_seterr(ctx, COCOIMG_EINTERNAL, "layout %s: nothing to commit", o->dir);
	int dfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return coco_seterr(ctx, COCOIMG_EIO, "cannot open %s: %s", o->dir, strerror(errno));
	/* serialise concurrent writers of the same layout */
	while (flock(dfd, LOCK_EX) < 0 && errno == EINTR)
		;
	int rc = 0;
	char *ip = coco_asprintf("%s/index.json", o->dir);
	char *lp = coco_asprintf("%s/oci-layout", o->dir);
	coco_buf b = COCO_BUF_INIT;
	json_t *index = NULL;
	char *out = NULL;
	if (!ip || !lp) {
		rc = coco_oom(ctx);
		goto done;
	}
	if (access(ip, F_OK) == 0) {
		/* re-read under the lock: another writer may have added entries */
		coco_manifest *m = NULL;
		if ((rc = read_index(ctx, o->dir, &m, false)))
			goto done;
		index = json_incref(m->json);
		coco_manifest_free(m);
	} else {
		index = json_pack("{s:i,s:s,s:[]}", "schemaVersion", 2, "mediaType", COCO_MT_OCI_INDEX,
		                  "manifests");
	}
	json_t *manifests = index ? json_object_get(index, "manifests") : NULL;
	if (!manifests || add_entry(manifests, json_deep_copy(o->top), d->ref->tag)) {
		rc = coco_oom(ctx);
		goto done;
	}
	size_t len;
	out = coco_json_dump_go(index, &len);
	if (!out) {
		rc = coco_oom(ctx);
		goto done;
	}
	if (access(lp, F_OK) < 0 &&
	    (rc = coco_write_file_atomic(ctx, lp, LAYOUT_FILE, strlen(LAYOUT_FILE), 0644)))
		goto done;
	if ((rc = coco_write_file_atomic(ctx, ip, out, len, 0644)))
		goto done;
	o->committed = true;
done:
	flock(dfd, LOCK_UN);
	close(dfd);
	free(out);
	json_decref(index);
	coco_buf_free(&b);
	free(ip);
	free(lp);
	return rc;
}

static void dest_close(coco_dest *d)
{
	oci_dest *o = d->impl;
	if (!o->committed && o->created)
		coco_rm_rf(NULL, o->created);
	json_decref(o->top);
	pthread_mutex_destroy(&o->mu);
	free(o->created);
	free(o->dir);
}

static const struct coco_dest_ops oci_dest_ops = {
	.has_blob = dest_has_blob,
	.put_blob = dest_put_blob,
	.mount_blob = NULL,
	.put_manifest = dest_put_manifest,
	.commit = dest_commit,
	.close = dest_close,
};

/* The topmost missing ancestor of path (inclusive), or NULL if it exists. */
static char *first_missing(const char *path)
{
	char *p = coco_strdup(path);
	char *best = NULL;
	struct stat st;
	while (p && *p && lstat(p, &st) < 0 && errno == ENOENT) {
		free(best);
		best = coco_strdup(p);
		char *slash = strrchr(p, '/');
		while (slash && slash > p && slash[1] == 0) {
			*slash = 0;
			slash = strrchr(p, '/');
		}
		if (!slash || slash == p)
			break;
		*slash = 0;
	}
	free(p);
	return best;
}

int coco_oci_dest_open(cocoimg_ctx *ctx, coco_ref *ref, coco_dest **out)
{
	*out = NULL;
	if (ref->tag && ref->tag[0] == '@') {
		int rc = coco_seterr(ctx, COCOIMG_EINVAL, "%s: an @N index cannot be written to", ref->raw);
		coco_ref_free(ref);
		return rc;
	}
	coco_dest *d = NULL;
	int rc = coco_dest_new(ctx, &oci_dest_ops, ref, sizeof(oci_dest), &d);
	if (rc)
		return rc;
	oci_dest *o = d->impl;
	pthread_mutex_init(&o->mu, NULL);
	if (!(o->dir = coco_strdup(ref->path))) {
		coco_dest_close(d);
		return coco_oom(ctx);
	}
	struct stat st;
	if (stat(o->dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			rc = coco_seterr(ctx, COCOIMG_EINVAL, "destination %s exists and is not a directory",
			                 o->dir);
			goto fail;
		}
		/* an existing layout: its index.json must be readable now */
		coco_manifest *m = NULL;
		if ((rc = read_index(ctx, o->dir, &m, true)))
			goto fail;
		if (m && m->kind != COCO_KIND_INDEX)
			rc = coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s/index.json is not an image index", o->dir);
		coco_manifest_free(m);
		if (rc)
			goto fail;
	} else {
		o->created = first_missing(o->dir);
		if (!o->created) {
			rc = coco_seterr(ctx, COCOIMG_EIO, "destination %s: %s", o->dir, strerror(errno));
			goto fail;
		}
	}
	char *bd = coco_asprintf("%s/blobs/sha256", o->dir);
	rc = bd ? coco_mkdir_p(ctx, bd, 0755) : COCOIMG_ENOMEM;
	free(bd);
	if (rc)
		goto fail;
	coco_tmpblob_sweep(ctx, o->dir);
	*out = d;
	return 0;
fail:
	coco_dest_close(d);
	return rc;
}
