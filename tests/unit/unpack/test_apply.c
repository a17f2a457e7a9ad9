/* Unit tests of the layer writer: tar streams built in memory (libarchive's
 * writer, test side only) applied into temporary rootfs directories. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base.h"
#include "digest.h"
#include "oci/oci.h"
#include "unpack/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <sys/xattr.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

/* ---- building tars ---- */

typedef struct ent {
	char type;          /* f d l h p c (char dev) w (raw name, file) */
	const char *path;
	const char *val;    /* content / link target */
	unsigned mode;
	unsigned uid, gid;
	const char *xattr;  /* "name=value" */
} ent;

static coco_buf mktar(const ent *es, size_t n)
{
	coco_buf out = COCO_BUF_INIT;
	size_t cap = 1 << 20, used = 0;
	out.data = malloc(cap);
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_per_block(a, 512);
	archive_write_set_bytes_in_last_block(a, 1);
	assert_int_equal(archive_write_open_memory(a, out.data, cap, &used), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, es[i].path);
		archive_entry_set_mtime(e, 1700000000, 0);
		archive_entry_set_uid(e, es[i].uid);
		archive_entry_set_gid(e, es[i].gid);
		size_t len = 0;
		switch (es[i].type) {
		case 'f':
			archive_entry_set_filetype(e, AE_IFREG);
			len = strlen(es[i].val);
			archive_entry_set_size(e, (la_int64_t)len);
			archive_entry_set_perm(e, es[i].mode ? es[i].mode : 0644);
			break;
		case 'd':
			archive_entry_set_filetype(e, AE_IFDIR);
			archive_entry_set_perm(e, es[i].mode ? es[i].mode : 0755);
			break;
		case 'l':
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_symlink(e, es[i].val);
			archive_entry_set_perm(e, 0777);
			break;
		case 'h':
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_hardlink(e, es[i].val);
			archive_entry_set_perm(e, 0644);
			break;
		case 'p':
			archive_entry_set_filetype(e, AE_IFIFO);
			archive_entry_set_perm(e, es[i].mode ? es[i].mode : 0644);
			break;
		case 'c':
			archive_entry_set_filetype(e, AE_IFCHR);
			archive_entry_set_rdevmajor(e, 1);
			archive_entry_set_rdevminor(e, 3);
			archive_entry_set_perm(e, 0666);
			break;
		}
		if (es[i].xattr) {
			const char *eq = strchr(es[i].xattr, '=');
			char nm[128];
			snprintf(nm, sizeof(nm), "%.*s", (int)(eq - es[i].xattr), es[i].xattr);
			archive_entry_xattr_add_entry(e, nm, eq + 1, strlen(eq + 1));
		}
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (len)
			assert_int_equal(archive_write_data(a, es[i].val, len), (la_ssize_t)len);
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
	out.len = used;
	out.cap = cap;
	return out;
}

/* ---- feeding ---- */

typedef struct mem_src {
	const unsigned char *p;
	size_t len, pos, chunk;
} mem_src;

static ssize_t mem_pull(void *payload, const unsigned char **data)
{
	mem_src *m = payload;
	size_t k = m->len - m->pos;
	if (k > m->chunk)
		k = m->chunk;
	*data = m->p + m->pos;
	m->pos += k;
	return (ssize_t)k;
}

static char tmpl[64];
static char root[128], outside[128];
static unsigned apply_flags;

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	chmod(p, 0700);
	return remove(p);
}

static int setup(void **state)
{
	(void)state;
	strcpy(tmpl, "/tmp/coco-apply-XXXXXX");
	assert_non_null(mkdtemp(tmpl));
	snprintf(root, sizeof(root), "%s/root", tmpl);
	snprintf(outside, sizeof(outside), "%s/outside", tmpl);
	mkdir(root, 0755);
	mkdir(outside, 0755);
	char p[256];
	snprintf(p, sizeof(p), "%s/secret", tmpl);
	FILE *f = fopen(p, "w");
	fputs("secret\n", f);
	fclose(f);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	nftw(tmpl, rm_cb, 64, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static int apply_buf(cocoimg_ctx *ctx, const void *data, size_t len, coco_compression c,
                     const char *expect, char *got)
{
	coco_applier *ap;
	int rc = coco_applier_new(ctx, root, apply_flags, &ap);
	assert_int_equal(rc, 0);
	mem_src m = { data, len, 0, 777 };
	rc = coco_applier_apply(ap, c, mem_pull, &m, "layer test", expect, got, NULL);
	coco_applier_finish(ap);
	coco_applier_free(ap);
	return rc;
}

static int apply_ents(const ent *es, size_t n)
{
	cocoimg_ctx *ctx;
	cocoimg_ctx_new(&ctx);
	coco_buf t = mktar(es, n);
	int rc = apply_buf(ctx, t.data, t.len, COCO_COMP_NONE, NULL, NULL);
	if (rc)
		print_message("error: %s\n", cocoimg_ctx_last_error(ctx));
	coco_buf_free(&t);
	cocoimg_ctx_free(ctx);
	return rc;
}

static char *rd(const char *rel)
{
	static char buf[4096];
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	int fd = open(p, O_RDONLY | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = 0;
	return buf;
}

static int lst(const char *rel, struct stat *st)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	return lstat(p, st);
}

static int count_dir(const char *dir)
{
	int n = 0;
	char p[512];
	snprintf(p, sizeof(p), "%s", dir);
	int fd = open(p, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return -1;
	DIR *d = fdopendir(fd);
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* ---- tests ---- */

static void test_clean(void **state)
{
	(void)state;
	struct { const char *in, *out; bool esc; } v[] = {
		{ "a/b/c", "a/b/c", false }, { "/a//b/./c/", "a/b/c", false },
		{ "../x", "x", true }, { "a/../../b", "b", true }, { "./", "", false },
		{ "/", "", false }, { "a/b/..", "a", false }, { "..", "", true },
	};
	for (size_t i = 0; i < COCO_ARRAY_SIZE(v); i++) {
		char *o;
		bool esc;
		assert_int_equal(coco_sp_clean(v[i].in, &o, &esc), 0);
		assert_string_equal(o, v[i].out);
		assert_int_equal(esc, v[i].esc);
		free(o);
	}
}

static void test_basic(void **state)
{
	(void)state;
	ent es[] = {
		{ 'd', "etc", NULL, 0755 },
		{ 'f', "etc/hello", "hello world\n", 0644, 12, 34 },
		{ 'f', "usr/bin/su", "suid", 04755 },
		{ 'd', "tmp", NULL, 01777 },
		{ 'l', "link", "etc/hello" },
		{ 'h', "hard", "etc/hello" },
		{ 'p', "fifo", NULL, 0600 },
		{ 'f', "cap", "x", 0755, 0, 0, "user.test=hello" },
		{ 'f', "tr", "x", 0644, 0, 0, "trusted.evil=1" },
	};
	assert_int_equal(apply_ents(es, COCO_ARRAY_SIZE(es)), 0);
	assert_string_equal(rd("etc/hello"), "hello world\n");
	struct stat st, st2;
	assert_int_equal(lst("usr/bin/su", &st), 0);
	assert_int_equal(st.st_mode & 07777, 04755);
	assert_int_equal(lst("tmp", &st), 0);
	assert_int_equal(st.st_mode & 07777, 01777);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mtime, 1700000000);
	assert_int_equal(lst("link", &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(lst("hard", &st), 0);
	assert_int_equal(lst("etc/hello", &st2), 0);
	assert_int_equal(st.st_ino, st2.st_ino);
	if (geteuid() == 0) {
		assert_int_equal(st2.st_uid, 12);
		assert_int_equal(st2.st_gid, 34);
	}
	assert_int_equal(lst("fifo", &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	char p[512], v[64];
	snprintf(p, sizeof(p), "%s/tr", root);
	assert_true(getxattr(p, "trusted.evil", v, sizeof(v)) < 0);
}

static void test_whiteouts(void **state)
{
	(void)state;
	ent l1[] = {
		{ 'd', "a" }, { 'f', "a/x", "x" }, { 'f', "a/y", "y" }, { 'd', "a/sub" },
		{ 'f', "a/sub/deep", "d" }, { 'd', "b" }, { 'f', "b/f", "f" }, { 'f', "c", "c" },
		{ 'f', "keep", "k" },
	};
	ent l2[] = {
		{ 'f', "a/z", "z" },
		{ 'f', "a/.wh..wh..opq", "" },  /* after a/z: must spare it */
		{ 'f', ".wh.b", "" },
		{ 'f', "new", "n" },
		{ 'f', ".wh.new", "" },        /* same layer: spared */
		{ 'f', ".wh.missing", "" },
		{ 'f', ".wh..wh.plnk", "" },   /* AUFS: ignored */
		{ 'd', "c" },                  /* dir over file */
	};
	assert_int_equal(apply_ents(l1, COCO_ARRAY_SIZE(l1)), 0);
	assert_int_equal(apply_ents(l2, COCO_ARRAY_SIZE(l2)), 0);
	struct stat st;
	char p[512];
	snprintf(p, sizeof(p), "%s/a", root);
	assert_int_equal(count_dir(p), 1);
	assert_string_equal(rd("a/z"), "z");
	assert_int_equal(lst("b", &st), -1);
	assert_string_equal(rd("new"), "n");
	assert_int_equal(lst("c", &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_string_equal(rd("keep"), "k");
	assert_int_equal(lst(".wh.missing", &st), -1);
	ent bad[] = { { 'f', "a/.wh...", "" } };
	assert_int_equal(apply_ents(bad, 1), COCOIMG_EESCAPE);
	ent bad2[] = { { 'f', "a/.wh.", "" } };
	assert_int_equal(apply_ents(bad2, 1), COCOIMG_EBADIMAGE);
}

static void test_replace(void **state)
{
	(void)state;
	ent l1[] = { { 'd', "d" }, { 'f', "d/f", "1" }, { 'f', "f", "file" }, { 'l', "s", "d" },
	             { 'f', "h1", "shared" }, { 'h', "h2", "h1" } };
	ent l2[] = { { 'f', "d", "now a file" }, { 'd', "f" }, { 'f', "f/in", "in" },
	             { 'f', "s", "was a link" }, { 'f', "h1", "new" } };
	assert_int_equal(apply_ents(l1, COCO_ARRAY_SIZE(l1)), 0);
	assert_int_equal(apply_ents(l2, COCO_ARRAY_SIZE(l2)), 0);
	assert_string_equal(rd("d"), "now a file");
	assert_string_equal(rd("f/in"), "in");
	assert_string_equal(rd("s"), "was a link");
	/* unlink + create: the other hardlink keeps the old content */
	assert_string_equal(rd("h2"), "shared");
	assert_string_equal(rd("h1"), "new");
}

static void test_symlinked_dirs(void **state)
{
	(void)state;
	ent es[] = {
		{ 'd', "usr" }, { 'd', "usr/lib" }, { 'l', "lib", "usr/lib" },
		{ 'f', "lib/inroot.txt", "ok" },
		{ 'l', "var/run", "/run" },
		{ 'f', "var/run/abs.txt", "abs" },
		{ 'l', "dangling", "/nonexistent/deeper" },
		{ 'f', "dangling/made.txt", "m" },
	};
	assert_int_equal(apply_ents(es, COCO_ARRAY_SIZE(es)), 0);
	assert_string_equal(rd("usr/lib/inroot.txt"), "ok");
	assert_string_equal(rd("run/abs.txt"), "abs");
	assert_string_equal(rd("nonexistent/deeper/made.txt"), "m");
}

static void test_escapes(void **state)
{
	(void)state;
	char p[512];
	snprintf(p, sizeof(p), "%s", outside);
	ent es[] = {
		{ 'f', "../dotdot.txt", "x" },
		{ 'f', "/abs.txt", "x" },
		{ 'f', "../../../../../../tmp/coco-escape-probe", "x" },
		{ 'l', "escape", "../outside" },
		{ 'f', "escape/pwned.txt", "x" },
		{ 'l', "escape2", outside },
		{ 'f', "escape2/pwned2.txt", "x" },
		{ 'l', "chain1", "chain2" }, { 'l', "chain2", "../../chain3" },
		{ 'l', "chain3", "/../outside" },
		{ 'f', "chain1/pwned3.txt", "x" },
		{ 'l', "loop", "loop" },
	};
	assert_int_equal(apply_ents(es, COCO_ARRAY_SIZE(es)), 0);
	assert_int_equal(count_dir(outside), 0);
	struct stat st;
	snprintf(p, sizeof(p), "%s/dotdot.txt", tmpl);
	assert_int_equal(lstat(p, &st), -1);
	assert_int_equal(lstat("/tmp/coco-escape-probe", &st), -1);
	assert_string_equal(rd("dotdot.txt"), "x");
	assert_string_equal(rd("abs.txt"), "x");
	assert_string_equal(rd("outside/pwned.txt"), "x");
	assert_string_equal(rd("outside/pwned3.txt"), "x");
	/* a write through a looping symlink fails cleanly */
	ent lp[] = { { 'f', "loop/x", "x" } };
	assert_int_equal(apply_ents(lp, 1), COCOIMG_EBADIMAGE);
	/* hardlinks out */
	ent h1[] = { { 'h', "hl", "../secret" } };
	assert_int_equal(apply_ents(h1, 1), COCOIMG_EESCAPE);
	ent h2[] = { { 'h', "hl", "/secret" } };
	assert_int_equal(apply_ents(h2, 1), COCOIMG_EBADIMAGE);
	ent h3[] = { { 'h', "hl", "escape2/../secret" } };
	assert_int_equal(apply_ents(h3, 1), COCOIMG_EBADIMAGE);
	snprintf(p, sizeof(p), "%s/secret", tmpl);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_nlink, 1);
	/* whiteout under a symlink that points out */
	FILE *f;
	snprintf(p, sizeof(p), "%s/victim", outside);
	f = fopen(p, "w");
	fclose(f);
	ent w[] = { { 'f', "escape2/.wh.victim", "" }, { 'f', "escape2/.wh..wh..opq", "" } };
	assert_int_equal(apply_ents(w, 2), 0);
	assert_int_equal(lstat(p, &st), 0);
	/* root entry must be a directory */
	ent r[] = { { 'f', "./", "x" } };
	assert_int_equal(apply_ents(r, 1), COCOIMG_EBADIMAGE);
}

static void test_truncated(void **state)
{
	(void)state;
	cocoimg_ctx *ctx;
	cocoimg_ctx_new(&ctx);
	ent es[] = { { 'd', "d" }, { 'f', "d/a", "0123456789" } };
	coco_buf t = mktar(es, 2);
	/* cut padding and end blocks: data ends 10 bytes into the last block */
	size_t cut = t.len - 1024 - 502;
	char want[COCO_DIGEST_STRLEN], got[COCO_DIGEST_STRLEN];
	coco_digest_bytes(COCO_SHA256, t.data, cut, want);
	assert_int_equal(apply_buf(ctx, t.data, cut, COCO_COMP_NONE, want, got), 0);
	assert_string_equal(rd("d/a"), "0123456789");
	/* a stream that stops inside the data is corrupt */
	coco_digest_bytes(COCO_SHA256, t.data, cut - 3, want);
	assert_int_equal(apply_buf(ctx, t.data, cut - 3, COCO_COMP_NONE, want, got), COCOIMG_EBADIMAGE);
	/* only the end blocks missing */
	coco_digest_bytes(COCO_SHA256, t.data, cut + 502, want);
	assert_int_equal(apply_buf(ctx, t.data, cut + 502, COCO_COMP_NONE, want, got), 0);
	/* empty layers: just end blocks; and zero bytes */
	static const unsigned char z[1024];
	assert_int_equal(apply_buf(ctx, z, sizeof(z), COCO_COMP_NONE, NULL, NULL), 0);
	assert_int_equal(apply_buf(ctx, z, 0, COCO_COMP_NONE, NULL, NULL), 0);
	/* diff_id mismatch */
	assert_int_equal(apply_buf(ctx, t.data, t.len, COCO_COMP_NONE,
	                           "sha256:0000000000000000000000000000000000000000000000000000000000000000",
	                           NULL), COCOIMG_EDIGEST);
	/* garbage */
	assert_int_equal(apply_buf(ctx, "hello world, not a tar", 22, COCO_COMP_NONE, NULL, NULL),
	                 COCOIMG_EBADIMAGE);
	coco_buf_free(&t);
	cocoimg_ctx_free(ctx);
}

static size_t gz(const unsigned char *in, size_t n, unsigned char *out, size_t cap)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)n;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	size_t r = zs.total_out;
	deflateEnd(&zs);
	return r;
}

static void test_compression(void **state)
{
	(void)state;
	cocoimg_ctx *ctx;
	cocoimg_ctx_new(&ctx);
	ent es[] = { { 'f', "one", "first member" }, { 'f', "two", "second member" } };
	coco_buf t = mktar(es, 2);
	char want[COCO_DIGEST_STRLEN], got[COCO_DIGEST_STRLEN];
	coco_digest_bytes(COCO_SHA256, t.data, t.len, want);
	/* two gzip members split in the middle of the tar, then NUL padding */
	int rc;
	size_t cap = 2 * t.len + 4096, half = t.len / 2;
	unsigned char *g = calloc(1, cap);
	size_t n1 = gz(t.data, half, g, cap);
	size_t n2 = gz(t.data + half, t.len - half, g + n1, cap - n1);
	rc = apply_buf(ctx, g, n1 + n2 + 100, COCO_COMP_GZIP, want, got);
	if (rc)
		print_message("error: %s\n", cocoimg_ctx_last_error(ctx));
	assert_int_equal(rc, 0);
	assert_string_equal(rd("two"), "second member");
	/* corrupt gzip */
	g[n1 + 20] ^= 0x55;
	assert_true(apply_buf(ctx, g, n1 + n2, COCO_COMP_GZIP, want, got) < 0);
	/* truncated gzip */
	assert_int_equal(apply_buf(ctx, g, n1 - 5, COCO_COMP_GZIP, want, got), COCOIMG_EBADIMAGE);
	/* zstd: two frames */
	size_t zc = ZSTD_compressBound(t.len) * 2;
	unsigned char *zb = malloc(zc);
	size_t z1 = ZSTD_compress(zb, zc, t.data, half, 3);
	size_t z2 = ZSTD_compress(zb + z1, zc - z1, t.data + half, t.len - half, 3);
	rc = apply_buf(ctx, zb, z1 + z2, COCO_COMP_ZSTD, want, got);
	if (rc)
		print_message("error: %s\n", cocoimg_ctx_last_error(ctx));
	assert_int_equal(rc, 0);
	assert_int_equal(apply_buf(ctx, zb, z1 + z2 - 3, COCO_COMP_ZSTD, want, got), COCOIMG_EBADIMAGE);
	free(zb);
	free(g);
	coco_buf_free(&t);
	cocoimg_ctx_free(ctx);
}

static void test_rootless(void **state)
{
	(void)state;
	unsigned saved = apply_flags;
	apply_flags |= COCO_APPLY_ROOTLESS;
	ent l1[] = { { 'd', "ro", NULL, 0555 }, { 'f', "ro/f", "f", 0444 }, { 'c', "dev/null" },
	             { 'd', "none", NULL, 0100 }, { 'f', "none/x", "x" } };
	ent l2[] = { { 'f', "ro/.wh.f", "" }, { 'f', "ro/g", "g" } };
	assert_int_equal(apply_ents(l1, COCO_ARRAY_SIZE(l1)), 0);
	struct stat st;
	assert_int_equal(lst("ro", &st), 0);
	assert_int_equal(st.st_mode & 07777, 0555);
	assert_int_equal(lst("none", &st), 0);
	assert_int_equal(st.st_mode & 07777, 0100);
	assert_int_equal(lst("dev/null", &st), -1);
	(void)l2;
	apply_flags = saved;
}

static int64_t cb_read(void *buf, size_t len, void *payload)
{
	mem_src *m = payload;
	size_t k = m->len - m->pos;
	if (k > len)
		k = len;
	if (k > 1000)
		k = 1000;
	memcpy(buf, m->p + m->pos, k);
	m->pos += k;
	return (int64_t)k;
}

static void test_public_stream(void **state)
{
	(void)state;
	cocoimg_ctx *ctx;
	cocoimg_ctx_new(&ctx);
	ent es[] = { { 'd', "etc" }, { 'f', "etc/os-release", "ID=test\n" } };
	coco_buf t = mktar(es, 2);
	char want[COCO_DIGEST_STRLEN];
	coco_digest_bytes(COCO_SHA256, t.data, t.len, want);
	unsigned char *g = malloc(t.len + 4096);
	size_t gl = gz(t.data, t.len, g, t.len + 4096);
	mem_src m = { g, gl, 0, 0 };
	char *got = NULL;
	int rc = cocoimg_unpack_layer_stream(ctx, root, "application/vnd.oci.image.layer.v1.tar+gzip",
	                                     cb_read, &m, want, apply_flags & COCO_APPLY_ROOTLESS ?
	                                     COCOIMG_UNPACK_ROOTLESS : 0, &got);
	assert_int_equal(rc, 0);
	assert_string_equal(got, want);
	assert_string_equal(rd("etc/os-release"), "ID=test\n");
	cocoimg_free(got);
	m.pos = 0;
	assert_int_equal(cocoimg_unpack_layer_stream(ctx, root, "application/vnd.oci.image.layer.v1.tar+gzip+encrypted",
	                                             cb_read, &m, NULL, 0, NULL), COCOIMG_EINVAL);
	assert_int_equal(cocoimg_unpack_layer_stream(ctx, root, "application/vnd.oci.image.layer.v1.tar",
	                                             cb_read, &m, want, 0, NULL), COCOIMG_EBADIMAGE);
	free(g);
	coco_buf_free(&t);
	cocoimg_ctx_free(ctx);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

static int use_walk(void **state)
{
	(void)state;
	apply_flags = COCO_APPLY_NO_OPENAT2;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean),
		T(test_basic), T(test_whiteouts), T(test_replace), T(test_symlinked_dirs),
		T(test_escapes), T(test_truncated), T(test_compression), T(test_rootless),
		T(test_public_stream),
	};
	int rc = cmocka_run_group_tests_name("openat2", tests, NULL, NULL);
	rc += cmocka_run_group_tests_name("walk", tests, use_walk, NULL);
	return rc;
}
