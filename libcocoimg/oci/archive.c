/*
 * oci-archive:FILE[:TAG]: an OCI image layout packed as a tar file.
 *
 * Source: the tar is extracted with libarchive into a private temporary
 * directory, keeping only what an image layout holds (oci-layout,
 * index.json, blobs/<alg>/<hex>, and those directories); entries that
 * would leave the directory are an error, anything else (links, devices,
 * other files) is skipped.  The layout source then reads it, referrers
 * included (oci/referrers.c: the referrers tag and index.json entries).
 *
 * Destination: a layout is built in a temporary directory next to FILE;
 * at commit it is written as an uncompressed ustar/pax tar to a temp file
 * beside FILE and renamed over FILE, so FILE only ever holds a complete
 * archive.  Like skopeo, writing replaces the whole file with one image.
 * FILE may be a symbolic link to an existing file: that file is replaced,
 * not the link.  A FILE that is not a regular file (a directory, a device
 * such as /dev/null, a pipe, a link to nothing) is refused: renaming over
 * it would replace the node itself.
 * (libarchive is used as a reader only, so the small tar writer is here.)
 */
#include "layout.h"
#include "oci.h"
#include "../base.h"
#include "../ref.h"
#include "../stream.h"
#include "../transport.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *tmp_base(cocoimg_ctx *ctx)
{
	const char *t = coco_opt(ctx, NULL, "tmpdir");
	if (!t || !*t)
		t = getenv("TMPDIR");
	return t && *t ? t : "/var/tmp";
}

/* ------------------------------------------------------------------ */
/* Wrapper that forwards to a layout source/destination                */
/* ------------------------------------------------------------------ */

typedef struct {
	coco_src *src;
	coco_dest *dst;
	char *tmpdir;              /* removed at close */
	char *file;                /* destination FILE */
	char *partial;             /* FILE.tmp-XXXXXX while writing */
	cocoimg_ctx *ctx;
} arch_impl;

/* Release what a holds (coco_src_close / coco_dest_close free a). */
static void arch_clear(arch_impl *a)
{
	coco_src_close(a->src);
	coco_dest_close(a->dst);
	if (a->partial)
		unlink(a->partial);
	if (a->tmpdir)
		coco_rm_rf(NULL, a->tmpdir);
	free(a->tmpdir);
	free(a->file);
	free(a->partial);
}

static int asrc_get_manifest(coco_src *s, const char *digest, coco_buf *out, char **mt)
{
	arch_impl *a = s->impl;
	return a->src->ops->get_manifest(a->src, digest, out, mt);
}

static int asrc_get_blob(coco_src *s, const coco_desc *d, coco_stage *sink)
{
	arch_impl *a = s->impl;
	return a->src->ops->get_blob(a->src, d, sink);
}

/* The archive is a layout: its referrers are the layout's (its referrers
 * tag and the index.json entries whose subject is digest). */
static int asrc_list_referrers(coco_src *s, const char *digest, const char *artifact_type,
                               coco_referrers *out)
{
	arch_impl *a = s->impl;
	return a->src->ops->list_referrers(a->src, digest, artifact_type, out);
}

static void asrc_close(coco_src *s)
{
	arch_clear(s->impl);
}

static const struct coco_src_ops arch_src_ops = {
	.get_manifest = asrc_get_manifest,
	.get_blob = asrc_get_blob,
	.list_referrers = asrc_list_referrers,
	.close = asrc_close,
};

/* ------------------------------------------------------------------ */
/* Extraction                                                          */
/* ------------------------------------------------------------------ */

static bool alg_ok(const char *s, size_t n)
{
	if (n == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

/*
 * Normalise a member name: drop leading "./" and trailing "/".  Returns
 * -1 when it would escape (absolute, "..", empty components in between),
 * 0 otherwise (the result may be "" for "./").
 */
static int clean_name(const char *in, char *out, size_t outsz)
{
	while (in[0] == '.' && in[1] == '/')
		in += 2;
	while (*in == '/' && 0)
		in++;
	if (in[0] == '/')
		return -1;
	size_t n = strlen(in);
	if (n >= outsz)
		return -1;
	memcpy(out, in, n + 1);
	while (n && out[n - 1] == '/')
		out[--n] = 0;
	if (!strcmp(out, "."))
		out[0] = 0;
	/* component checks */
	const char *p = out;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t cl = e ? (size_t)(e - p) : strlen(p);
		if (cl == 0 || (cl == 2 && !strncmp(p, "..", 2)))
			return -1;
		if (cl == 1 && p[0] == '.')
			return -1;
		p += cl;
		if (*p == '/')
			p++;
	}
	return 0;
}

/* coco_write_all, with errno set for the callers' messages */
static int write_all(int fd, const void *buf, size_t n)
{
	int r = coco_write_all(fd, buf, n);
	if (r)
		errno = -r;
	return r ? -1 : 0;
}

/* Whether to extract regular file `name` (cleaned): oci-layout,
 * index.json and blobs/<alg>/<lower-case hex> (creating that blobs/<alg>
 * directory). */
static bool keep_file(int dfd, const char *name)
{
	if (!strcmp(name, "oci-layout") || !strcmp(name, "index.json"))
		return true;
	const char *slash1 = strchr(name, '/');
	if (!slash1 || strncmp(name, "blobs/", 6))
		return false;
	const char *slash2 = strchr(slash1 + 1, '/');
	size_t alen = slash2 ? (size_t)(slash2 - slash1 - 1) : 0;
	if (!slash2 || strchr(slash2 + 1, '/') || !alg_ok(slash1 + 1, alen))
		return false;
	char sub[64];
	snprintf(sub, sizeof(sub), "blobs/%.*s", (int)alen, slash1 + 1);
	mkdirat(dfd, "blobs", 0755);
	mkdirat(dfd, sub, 0755);
	return slash2[1] != 0 && strspn(slash2 + 1, "0123456789abcdef") == strlen(slash2 + 1);
}

/* A write into the extraction directory failed.  The directory lies in
 * the temporary-files directory (tmp_base), so a full one is named with
 * the ways to choose another, as for the spool. */
static int write_error(cocoimg_ctx *ctx, const char *file, const char *dir, const char *name,
                       int e)
{
	if (e == ENOSPC || e == EDQUOT)
		return coco_seterr(ctx, COCOIMG_EIO,
		                   "oci-archive %s: cannot extract %s into %s: %s: the directory for "
		                   "temporary files %s is full (set TMPDIR, --tmpdir or the tmpdir key "
		                   "to a directory with room for the archive's blobs)",
		                   file, name, dir, strerror(e), tmp_base(ctx));
	return coco_seterr(ctx, COCOIMG_EIO, "cannot write %s/%s: %s", dir, name, strerror(e));
}

/* Write the current entry's data to dfd/name (which must not exist). */
static int extract_file(cocoimg_ctx *ctx, struct archive *ar, int dfd, const char *file,
                        const char *dir, const char *name)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 && (errno == ENOSPC || errno == EDQUOT))
		return write_error(ctx, file, dir, name, errno);
	if (fd < 0)
		return coco_seterr(ctx, errno == EEXIST ? COCOIMG_EBADIMAGE : COCOIMG_EIO,
		                   "oci-archive %s: cannot extract %s: %s", file, name,
		                   errno == EEXIST ? "duplicate entry" : strerror(errno));
	const void *blk;
	size_t len;
	la_int64_t off;
	int r, rc = 0;
	while ((r = archive_read_data_block(ar, &blk, &len, &off)) == ARCHIVE_OK) {
		/* the deadline and cancellation, for every block extracted */
		if ((rc = coco_check_stop(ctx)))
			break;
		if (write_all(fd, blk, len) < 0) {
			rc = write_error(ctx, file, dir, name, errno);
			break;
		}
	}
	close(fd);
	if (!rc && r != ARCHIVE_EOF)
		rc = coco_seterr(ctx, COCOIMG_EBADIMAGE, "oci-archive %s: %s: %s", file, name,
		                 archive_error_string(ar));
	return rc;
}

/* One archive entry: blobs/<alg> directories are made, the layout's files
 * extracted, everything else skipped. */
static int extract_entry(cocoimg_ctx *ctx, struct archive *ar, struct archive_entry *ent,
                         int dfd, const char *file, const char *dir)
{
	const char *raw = archive_entry_pathname(ent);
	char name[512];
	if (!raw || clean_name(raw, name, sizeof(name)) < 0)
		return coco_seterr(ctx, COCOIMG_EBADIMAGE,
		                   "oci-archive %s: entry \"%.200s\" escapes the layout", file,
		                   raw ? raw : "");
	mode_t type = archive_entry_filetype(ent);
	const char *slash1 = strchr(name, '/');
	if (type == AE_IFDIR) {
		/* blobs/<alg> directories; others are not needed */
		if (slash1 && !strncmp(name, "blobs/", 6) && !strchr(slash1 + 1, '/') &&
		    alg_ok(slash1 + 1, strlen(slash1 + 1)))
			mkdirat(dfd, name, 0755);
		return 0;
	}
	if (type != AE_IFREG || archive_entry_hardlink(ent)) {
		coco_debug(ctx, "oci-archive %s: skipping non-regular entry %s", file, name);
		return 0;
	}
	if (!keep_file(dfd, name)) {
		coco_debug(ctx, "oci-archive %s: skipping %s", file, name);
		return 0;
	}
	return extract_file(ctx, ar, dfd, file, dir, name);
}

static int extract(cocoimg_ctx *ctx, const char *file, const char *dir)
{
	struct archive *ar = archive_read_new();
	if (!ar)
		return coco_oom(ctx);
	archive_read_support_format_tar(ar);
	archive_read_support_filter_all(ar);
	int rc = 0;
	int dfd = -1;
	if (archive_read_open_filename(ar, file, 256 * 1024) != ARCHIVE_OK) {
		int e = archive_errno(ar);
		rc = coco_seterr(ctx, e == ENOENT ? COCOIMG_ENOTFOUND : COCOIMG_EBADIMAGE,
		                 "oci-archive %s: %s", file, archive_error_string(ar));
		goto done;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		rc = coco_seterr(ctx, COCOIMG_EIO, "cannot open %s: %s", dir, strerror(errno));
		goto done;
	}
	mkdirat(dfd, "blobs", 0755);
	struct archive_entry *ent;
	while (!rc && !(rc = coco_check_stop(ctx))) {
		int r = archive_read_next_header(ar, &ent);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			rc = coco_seterr(ctx, COCOIMG_EBADIMAGE, "oci-archive %s: %s", file,
			                 archive_error_string(ar));
		else
			rc = extract_entry(ctx, ar, ent, dfd, file, dir);
	}
done:
	if (dfd >= 0)
		close(dfd);
	archive_read_free(ar);
	return rc;
}

static coco_ref *layout_ref(const coco_ref *orig, const char *dir)
{
	coco_ref *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->transport = COCO_TR_OCI;
	r->path = coco_strdup(dir);
	r->tag = coco_strdup(orig->tag);
	r->raw = coco_asprintf("oci:%s%s%s", dir, orig->tag ? ":" : "", orig->tag ? orig->tag : "");
	if (!r->path || !r->raw || (orig->tag && !r->tag)) {
		coco_ref_free(r);
		return NULL;
	}
	return r;
}

int coco_ociarchive_src_open(cocoimg_ctx *ctx, coco_ref *ref, const char *side, coco_src **out)
{
	*out = NULL;
	coco_src *s = NULL;
	int rc = coco_src_new(ctx, &arch_src_ops, ref, side, sizeof(arch_impl), &s);
	if (rc)
		return rc;
	arch_impl *a = s->impl;
	a->ctx = ctx;
	struct stat st;
	if (stat(ref->path, &st) < 0) {
		rc = coco_seterr(ctx, errno == ENOENT ? COCOIMG_ENOTFOUND : COCOIMG_EIO, "oci-archive %s: %s",
		                 ref->path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = coco_seterr(ctx, COCOIMG_EINVAL, "oci-archive %s is not a regular file", ref->path);
		goto fail;
	}
	a->tmpdir = coco_asprintf("%s/coco-ociarchive-XXXXXX", tmp_base(ctx));
	if (!a->tmpdir || !mkdtemp(a->tmpdir)) {
		rc = coco_seterr(ctx, COCOIMG_EIO, "cannot create a temporary directory in %s: %s",
		                 tmp_base(ctx), strerror(errno));
		free(a->tmpdir);
		a->tmpdir = NULL;
		goto fail;
	}
	if ((rc = extract(ctx, ref->path, a->tmpdir)))
		goto fail;
	coco_ref *lr = layout_ref(ref, a->tmpdir);
	if (!lr) {
		rc = coco_oom(ctx);
		goto fail;
	}
	if ((rc = coco_oci_src_open(ctx, lr, side, &a->src))) {
		/* name the archive, not our temporary directory */
		coco_preferr(ctx, rc, "oci-archive %s", ref->path);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	coco_src_close(s);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Tar writer                                                          */
/* ------------------------------------------------------------------ */

static void octal(char *field, size_t width, uint64_t v)
{
	/* width-1 octal digits + NUL; base-256 when it does not fit */
	if (width == 12 && v > 077777777777ull) {
		memset(field, 0, width);
		field[0] = (char)0x80;
		for (size_t i = width - 1; i > 0 && v; i--) {
			field[i] = (char)(v & 0xff);
			v >>= 8;
		}
		return;
	}
	snprintf(field, width, "%0*llo", (int)width - 1, (unsigned long long)v);
}

static int tar_header(int fd, const char *name, char type, uint64_t size, mode_t mode)
{
	unsigned char h[512];
	memset(h, 0, sizeof(h));
	size_t n = strlen(name);
	if (n > 100) {
		/* pax extended header carrying the path */
		char rec[600];
		int body = (int)n + 7; /* " path=" + "\n" */
		int len = body + 1;
		while ((int)snprintf(NULL, 0, "%d", len) + body != len)
			len++;
		int rl = snprintf(rec, sizeof(rec), "%d path=%s\n", len, name);
		if (rl != len)
			return -1;
		if (tar_header(fd, "PaxHeader", 'x', (uint64_t)rl, 0644) < 0 || write_all(fd, rec, (size_t)rl) < 0)
			return -1;
		size_t pad = (512 - (size_t)rl % 512) % 512;
		unsigned char z[512] = { 0 };
		if (pad && write_all(fd, z, pad) < 0)
			return -1;
		n = 100;
	}
	memcpy(h, name, n);
	octal((char *)h + 100, 8, mode);
	octal((char *)h + 108, 8, 0);
	octal((char *)h + 116, 8, 0);
	octal((char *)h + 124, 12, size);
	octal((char *)h + 136, 12, 0);
	h[156] = (unsigned char)type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (size_t i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
	return write_all(fd, h, 512);
}

/* Append regular file `full` (archived as `r`, st its lstat) and its
 * padding to the 512-byte block. */
static int tar_file(cocoimg_ctx *ctx, int out, const char *full, const char *r,
                    const struct stat *st, unsigned char *buf)
{
	int fd = open(full, O_RDONLY | O_CLOEXEC);
	int rc = 0;
	if (fd < 0 || tar_header(out, r, '0', (uint64_t)st->st_size, 0644) < 0) {
		rc = coco_seterr(ctx, COCOIMG_EIO, "cannot archive %s: %s", r, strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	uint64_t left = (uint64_t)st->st_size;
	/* the deadline and cancellation, for every chunk archived */
	while (left && !rc && !(rc = coco_check_stop(ctx))) {
		ssize_t got = read(fd, buf, left < COCO_BUFSZ ? left : COCO_BUFSZ);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0 || write_all(out, buf, (size_t)got) < 0)
			rc = coco_seterr(ctx, COCOIMG_EIO, "cannot archive %s: %s", r,
			                 got == 0 ? "file shrank" : strerror(errno));
		else
			left -= (uint64_t)got;
	}
	close(fd);
	size_t pad = (512 - (size_t)(st->st_size % 512)) % 512;
	if (!rc && pad) {
		memset(buf, 0, pad);
		if (write_all(out, buf, pad) < 0)
			rc = coco_seterr(ctx, COCOIMG_EIO, "cannot write the archive: %s", strerror(errno));
	}
	return rc;
}

static int tar_tree(cocoimg_ctx *ctx, int out, const char *root, const char *rel,
                    unsigned char *buf);

/* Append the entry `name` of directory `rel`: a directory (and what is
 * below it) or a regular file; anything else is left out. */
static int tar_entry(cocoimg_ctx *ctx, int out, const char *root, const char *rel,
                     const char *name, unsigned char *buf)
{
	char *r = rel[0] ? coco_asprintf("%s/%s", rel, name) : coco_strdup(name);
	char *full = r ? coco_asprintf("%s/%s", root, r) : NULL;
	struct stat st;
	int rc = 0;
	if (!r || !full || lstat(full, &st) < 0) {
		rc = coco_seterr(ctx, COCOIMG_EIO, "cannot stat %s", full ? full : name);
	} else if (S_ISDIR(st.st_mode)) {
		char *dn = coco_asprintf("%s/", r);
		if (!dn || tar_header(out, dn, '5', 0, 0755) < 0)
			rc = coco_seterr(ctx, COCOIMG_EIO, "cannot write the archive: %s", strerror(errno));
		free(dn);
		if (!rc)
			rc = tar_tree(ctx, out, root, r, buf);
	} else if (S_ISREG(st.st_mode)) {
		rc = tar_file(ctx, out, full, r, &st, buf);
	}
	free(r);
	free(full);
	return rc;
}

/* Append directory `rel` (under root) and everything below, sorted; names
 * starting with '.' (our temporary files) are left out. */
static int tar_tree(cocoimg_ctx *ctx, int out, const char *root, const char *rel, unsigned char *buf)
{
	char *path = coco_asprintf("%s/%s", root, rel);
	if (!path)
		return coco_oom(ctx);
	char **names = NULL;
	size_t n = 0;
	int rc = coco_list_dir(ctx, path, NULL, false, false, &names, &n);
	for (size_t i = 0; i < n && !rc; i++)
		rc = tar_entry(ctx, out, root, rel, names[i], buf);
	coco_strv_free(names, n);
	free(path);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Destination                                                         */
/* ------------------------------------------------------------------ */

static int adst_has_blob(coco_dest *d, const char *digest, int64_t size)
{
	arch_impl *a = d->impl;
	return a->dst->ops->has_blob(a->dst, digest, size);
}

static int adst_put_blob(coco_dest *d, const char *digest, int64_t size, coco_stage **sink)
{
	arch_impl *a = d->impl;
	return a->dst->ops->put_blob(a->dst, digest, size, sink);
}

static int adst_put_manifest(coco_dest *d, const void *data, size_t len, const char *mt, bool top)
{
	arch_impl *a = d->impl;
	return a->dst->ops->put_manifest(a->dst, data, len, mt, top);
}

static int adst_commit(coco_dest *d)
{
	arch_impl *a = d->impl;
	cocoimg_ctx *ctx = d->ctx;
	int rc = a->dst->ops->commit(a->dst);
	if (rc)
		return rc;
	a->partial = coco_asprintf("%s.tmp-XXXXXX", a->file);
	int fd = a->partial ? mkostemp(a->partial, O_CLOEXEC) : -1;
	if (fd < 0) {
		rc = coco_seterr(ctx, COCOIMG_EIO, "cannot create %s: %s", a->file, strerror(errno));
		free(a->partial);
		a->partial = NULL;
		return rc;
	}
	unsigned char *buf = malloc(COCO_BUFSZ);
	if (!buf)
		rc = coco_oom(ctx);
	if (!rc)
		rc = tar_tree(ctx, fd, a->tmpdir, "", buf);
	free(buf);
	if (!rc) {
		unsigned char z[1024] = { 0 };
		if (write_all(fd, z, sizeof(z)) < 0 || fchmod(fd, 0644) < 0)
			rc = coco_seterr(ctx, COCOIMG_EIO, "cannot write %s: %s", a->file, strerror(errno));
	}
	if (close(fd) < 0 && !rc)
		rc = coco_seterr(ctx, COCOIMG_EIO, "cannot write %s: %s", a->file, strerror(errno));
	if (!rc && rename(a->partial, a->file) < 0)
		rc = coco_seterr(ctx, COCOIMG_EIO, "cannot write %s: %s", a->file, strerror(errno));
	if (!rc) {
		free(a->partial);
		a->partial = NULL;
	}
	return rc;
}

static void adst_close(coco_dest *d)
{
	arch_clear(d->impl);
}

static const struct coco_dest_ops arch_dest_ops = {
	.has_blob = adst_has_blob,
	.put_blob = adst_put_blob,
	.mount_blob = NULL,
	.put_manifest = adst_put_manifest,
	.commit = adst_commit,
	.close = adst_close,
};

/* The file to replace: path, or the file a symbolic link names; a node
 * that is not a regular file is refused (renaming over it would replace
 * the node). */
static int dest_file(cocoimg_ctx *ctx, const char *path, char **file)
{
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return coco_seterr(ctx, COCOIMG_EINVAL, "oci-archive destination %s is %s, not a regular "
		                   "file", path, S_ISDIR(st.st_mode) ? "a directory"
		                                                     : "a device, pipe or socket");
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && stat(path, &st) < 0)
		return coco_seterr(ctx, COCOIMG_EINVAL, "oci-archive destination %s is a symbolic link "
		                   "to a file that does not exist", path);
	*file = realpath(path, NULL);
	if (!*file)
		*file = coco_strdup(path);
	return *file ? 0 : coco_oom(ctx);
}

int coco_ociarchive_dest_open(cocoimg_ctx *ctx, coco_ref *ref, coco_dest **out)
{
	*out = NULL;
	coco_dest *d = NULL;
	int rc = coco_dest_new(ctx, &arch_dest_ops, ref, sizeof(arch_impl), &d);
	if (rc)
		return rc;
	arch_impl *a = d->impl;
	a->ctx = ctx;
	if (ref->tag && ref->tag[0] == '@') {
		rc = coco_seterr(ctx, COCOIMG_EINVAL, "%s: an @N index cannot be written to", ref->raw);
		goto fail;
	}
	if ((rc = dest_file(ctx, ref->path, &a->file)))
		goto fail;
	char *copy = coco_strdup(a->file);
	char *base = coco_strdup(a->file);
	if (!copy || !base) {
		free(copy);
		free(base);
		rc = coco_oom(ctx);
		goto fail;
	}
	a->tmpdir = coco_asprintf("%s/.%s.coco-XXXXXX", dirname(copy), basename(base));
	free(copy);
	free(base);
	if (!a->tmpdir || !mkdtemp(a->tmpdir)) {
		rc = coco_seterr(ctx, COCOIMG_EIO, "cannot create a working directory next to %s: %s",
		                 a->file, strerror(errno));
		free(a->tmpdir);
		a->tmpdir = NULL;
		goto fail;
	}
	coco_ref *lr = layout_ref(ref, a->tmpdir);
	if (!lr) {
		rc = coco_oom(ctx);
		goto fail;
	}
	if ((rc = coco_oci_dest_open(ctx, lr, &a->dst)))
		goto fail;
	*out = d;
	return 0;
fail:
	coco_dest_close(d);
	return rc;
}
