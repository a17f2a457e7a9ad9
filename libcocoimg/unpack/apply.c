/*
 * The layer writer: libarchive reads the tar headers and data (and nothing
 * else: it never touches the filesystem); every filesystem change is made
 * here with descriptor-relative system calls on (parent fd, base name)
 * pairs, the parent resolved inside the rootfs by safepath.c.
 *
 * Per entry (containerd's safe order): remove what is in the way (unless
 * directory over directory) -> create -> chown -> xattrs -> chmod ->
 * times.  Directory times (and, unprivileged, restrictive directory
 * modes) are applied at the end of the layer, after their contents.
 *
 * Choices (see also README "Unpacking"):
 *  - names are cleaned lexically with "/" as the root: a leading "/" or a
 *    ".." that would climb above the root is clamped inside ROOTFS, as
 *    containerd and umoci do;
 *  - a hardlink whose target climbs above the root is refused
 *    (COCOIMG_EESCAPE); a missing or directory target is a bad layer;
 *  - xattrs: user.* and security.capability are applied; trusted.* is
 *    refused (warning) and security.selinux dropped (the host labels
 *    files), as containerd and umoci do; other namespaces are dropped;
 *  - device nodes need privilege: unprivileged, they are skipped with a
 *    warning (containerd's choice); ownership is then the caller's;
 *  - a layer tar that stops right after the last entry's data (no padding,
 *    no end blocks; Debian's umoci writes such layers) is accepted: the
 *    diff_id covers the bytes as received, and the reader is handed the
 *    missing zeros.  A stream that ends inside an entry's data is corrupt.
 */
#include "unpack.h"
#include "../base.h"
#include "../digest.h"
#include "../oci/oci.h"
#include "../stream.h"
#include "../caps.h"
#include "../thread.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define READ_BUFSZ (1024 * 1024)

typedef struct deferred_dir {
	char *path;
	struct timespec ts[2];
	mode_t mode;
	bool set_mode;
} deferred_dir;

struct coco_applier {
	cocoimg_ctx *ctx;
	coco_root root;
	char *rootfs;
	bool privileged;
	bool root_set;
	unsigned char *bufs[2];
	bool bufs_faulted[2];      /* coco_prefault done at first use */
	bool multi_cpu;
	bool one_thread;           /* coco_applier_one_thread: no hasher thread */
	/* staging mode (coco_applier_stage_into): plain files into the
	 * directory, every entry recorded; stopped by *stop */
	coco_staged *stage;
	const int *stop;
	cocoimg_ctx *watch;        /* the operation's: its cancel and deadline */
	/* caps (caps.c): unpacked tar bytes per layer and per image, and
	 * entries per image; the image totals count finished layers */
	uint64_t max_layer_bytes, max_image_bytes, max_entries;
	uint64_t image_bytes, image_entries;
	/* unprivileged: directories stay owner-rwx while layers are applied
	 * (so later layers can write and remove inside them); their modes
	 * are set by coco_applier_finish(), deepest first */
	deferred_dir *modes;
	size_t n_modes, cap_modes;
	/* per layer */
	const char *what;
	coco_pathset upper;
	deferred_dir *defer;
	size_t n_defer, cap_defer;
	bool warned_trusted, warned_xattr, warned_dev, warned_aufs;
};

typedef struct layer_reader {
	coco_applier *ap;
	coco_pull_fn pull;
	void *payload;
	coco_decomp *dc;
	coco_digest dg;
	uint64_t total;
	bool real_eof;
	size_t pad_left;
	int src_rc;
	uint64_t digest_ns, wait_ns;
	const unsigned char *cur;  /* chunk handed to libarchive */
	/* diff_id hashing on its own thread (when there is more than one
	 * CPU): chunk k is decompressed into buf[k % 2]; before buf[k % 2]
	 * is reused, chunk k-2 must have been hashed */
	bool threaded;
	coco_thread hasher;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t submitted, hashed;
	size_t lens[2];
	bool stop, used_thread;
	uint64_t hwait_ns;         /* applier time spent waiting for the hasher */
} layer_reader;

static const unsigned char zeros[2048];

/* ---- errors ---- */

static int errno_code(int e)
{
	switch (e) {
	case ENOMEM: return COCOIMG_ENOMEM;
	case ENAMETOOLONG: case ELOOP: case ENOTDIR: case EEXIST: case EINVAL:
	case EISDIR: case ENOTEMPTY: case EMLINK: case EXDEV:
		return COCOIMG_EBADIMAGE;
	default: return COCOIMG_EIO;
	}
}

static int ent_err(coco_applier *ap, int e, const char *name, const char *op)
{
	return coco_seterr(ap->ctx, errno_code(e), "%s: entry \"%s\": %s: %s", ap->what, name, op,
	                   strerror(e));
}

/* ---- the reader that feeds libarchive ---- */

static ssize_t timed_pull(void *p, const unsigned char **data)
{
	layer_reader *lr = p;
	uint64_t t0 = coco_now_ns();
	ssize_t n = lr->pull(lr->payload, data);
	lr->wait_ns += coco_now_ns() - t0;
	return n;
}

static int hasher_main(void *arg)
{
	layer_reader *lr = arg;
	pthread_mutex_lock(&lr->mu);
	for (;;) {
		while (lr->hashed == lr->submitted && !lr->stop)
			pthread_cond_wait(&lr->cv, &lr->mu);
		if (lr->hashed == lr->submitted)
			break;
		uint64_t k = lr->hashed;
		pthread_mutex_unlock(&lr->mu);
		uint64_t t0 = coco_now_ns();
		coco_digest_update(&lr->dg, lr->ap->bufs[k % 2], lr->lens[k % 2]);
		uint64_t dt = coco_now_ns() - t0;
		pthread_mutex_lock(&lr->mu);
		lr->digest_ns += dt;
		lr->hashed++;
		pthread_cond_broadcast(&lr->cv);
	}
	pthread_mutex_unlock(&lr->mu);
	return 0;
}

/* Wait until at most `left` chunks are still being hashed. */
static void hash_wait(layer_reader *lr, uint64_t left)
{
	if (!lr->threaded)
		return;
	uint64_t t0 = coco_now_ns();
	pthread_mutex_lock(&lr->mu);
	while (lr->submitted - lr->hashed > left)
		pthread_cond_wait(&lr->cv, &lr->mu);
	pthread_mutex_unlock(&lr->mu);
	lr->hwait_ns += coco_now_ns() - t0;
}

static void hash_stop(layer_reader *lr)
{
	if (!lr->threaded)
		return;
	pthread_mutex_lock(&lr->mu);
	lr->stop = true;
	pthread_cond_broadcast(&lr->cv);
	pthread_mutex_unlock(&lr->mu);
	coco_thread_join(&lr->hasher);
	pthread_mutex_destroy(&lr->mu);
	pthread_cond_destroy(&lr->cv);
	lr->threaded = false;
}

/* ---- caps ---- */

static bool past_size_cap(const layer_reader *lr)
{
	const coco_applier *ap = lr->ap;
	return lr->total > ap->max_layer_bytes || ap->image_bytes + lr->total > ap->max_image_bytes;
}

static int size_cap_error(coco_applier *ap, uint64_t layer_total)
{
	bool layer = layer_total > ap->max_layer_bytes;
	return coco_seterr(ap->ctx, COCOIMG_EBADIMAGE,
	                   "%s: unpacks to more than the %s cap of %llu bytes (%s)", ap->what,
	                   layer ? "per-layer" : "per-image",
	                   (unsigned long long)(layer ? ap->max_layer_bytes : ap->max_image_bytes),
	                   layer ? "max-layer-size" : "max-image-size");
}

static int entries_cap_error(coco_applier *ap)
{
	return coco_seterr(ap->ctx, COCOIMG_EBADIMAGE,
	                   "%s: the image has more than the cap of %llu entries (max-entries)",
	                   ap->what, (unsigned long long)ap->max_entries);
}

/* Next chunk of the real (decompressed) stream, hashed; 0 at its end. */
static ssize_t real_read(layer_reader *lr)
{
	uint64_t k = lr->submitted;
	unsigned char *buf = lr->ap->bufs[k % 2];
	/* chunk k-2 used this buffer: it must be hashed (chunk k-1 may
	 * still be) */
	hash_wait(lr, 1);
	/* the one check of the operation's deadline and cancellation while
	 * applying: every (at most READ_BUFSZ) chunk of tar, however little
	 * compressed input it took (the fetch section checks per input) */
	int stop = coco_check_stop(lr->ap->ctx);
	if (!stop && lr->ap->stop && __atomic_load_n(lr->ap->stop, __ATOMIC_ACQUIRE))
		stop = COCOIMG_ECANCELLED;
	/* staging: the operation's cancellation and deadline too, or a
	 * large staged layer would hold up the turn that waits for it */
	if (!stop && lr->ap->watch)
		stop = coco_check_stop(lr->ap->watch);
	if (stop) {
		lr->src_rc = stop;
		return stop;
	}
	if (!lr->ap->bufs_faulted[k % 2]) {
		coco_prefault(buf, READ_BUFSZ);
		lr->ap->bufs_faulted[k % 2] = true;
	}
	ssize_t n = coco_decomp_read(lr->dc, buf, READ_BUFSZ);
	if (n < 0) {
		lr->src_rc = (int)n;
		return n;
	}
	if (n > 0) {
		lr->total += (uint64_t)n;
		if (past_size_cap(lr)) {
			lr->src_rc = size_cap_error(lr->ap, lr->total);
			return lr->src_rc;
		}
		lr->cur = buf;
		if (lr->threaded) {
			pthread_mutex_lock(&lr->mu);
			lr->lens[k % 2] = (size_t)n;
			lr->submitted++;
			pthread_cond_broadcast(&lr->cv);
			pthread_mutex_unlock(&lr->mu);
		} else {
			uint64_t t0 = coco_now_ns();
			coco_digest_update(&lr->dg, buf, (size_t)n);
			lr->digest_ns += coco_now_ns() - t0;
			lr->submitted++;
		}
	}
	return n;
}

static la_ssize_t archive_cb(struct archive *a, void *p, const void **out)
{
	layer_reader *lr = p;
	if (!lr->real_eof) {
		ssize_t n = real_read(lr);
		if (n < 0) {
			archive_set_error(a, EIO, "layer stream failed");
			return ARCHIVE_FATAL;
		}
		if (n > 0) {
			*out = lr->cur;
			return n;
		}
		lr->real_eof = true;
		/* hand over the missing padding and end-of-archive blocks;
		 * they are not part of the diff_id */
		lr->pad_left = (size_t)((512 - lr->total % 512) % 512) + 1024;
	}
	if (lr->pad_left) {
		size_t k = lr->pad_left < sizeof(zeros) ? lr->pad_left : sizeof(zeros);
		lr->pad_left -= k;
		*out = zeros;
		return (la_ssize_t)k;
	}
	return 0;
}

/* ---- helpers ---- */

static const char *entry_name(struct archive_entry *e)
{
	const char *n = archive_entry_pathname(e);
	return n ? n : archive_entry_pathname_utf8(e);
}

static const char *entry_hardlink(struct archive_entry *e)
{
	const char *n = archive_entry_hardlink(e);
	return n ? n : archive_entry_hardlink_utf8(e);
}

static const char *entry_symlink(struct archive_entry *e)
{
	const char *n = archive_entry_symlink(e);
	return n ? n : archive_entry_symlink_utf8(e);
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
	ts[1].tv_sec = (time_t)archive_entry_mtime(e);
	ts[1].tv_nsec = archive_entry_mtime_nsec(e);
	if (archive_entry_atime_is_set(e)) {
		ts[0].tv_sec = (time_t)archive_entry_atime(e);
		ts[0].tv_nsec = archive_entry_atime_nsec(e);
	} else {
		ts[0] = ts[1];
	}
	for (int i = 0; i < 2; i++)
		if (ts[i].tv_nsec < 0 || ts[i].tv_nsec >= 1000000000L)
			ts[i].tv_nsec = 0;
}

static int entry_owner(coco_applier *ap, struct archive_entry *e, const char *name,
                       uid_t *uid, gid_t *gid)
{
	la_int64_t u = archive_entry_uid(e), g = archive_entry_gid(e);
	if (u < 0 || g < 0 || u >= 0xffffffffLL || g >= 0xffffffffLL)
		return coco_seterr(ap->ctx, COCOIMG_EBADIMAGE, "%s: entry \"%s\": invalid owner %lld:%lld",
		                   ap->what, name, (long long)u, (long long)g);
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 0;
}

static int do_chown(coco_applier *ap, int fd, int pfd, const char *base, struct archive_entry *e,
                    const char *name)
{
	if (!ap->privileged)
		return 0;
	uid_t u = 0;
	gid_t g = 0;
	int rc = entry_owner(ap, e, name, &u, &g);
	if (rc)
		return rc;
	int r = fd >= 0 ? fchown(fd, u, g) : fchownat(pfd, base, u, g, AT_SYMLINK_NOFOLLOW);
	if (r < 0) {
		if (errno == EINVAL)
			return coco_seterr(ap->ctx, COCOIMG_EIO,
			                   "%s: entry \"%s\": cannot chown to %u:%u (not mapped in this user namespace?)",
			                   ap->what, name, (unsigned)u, (unsigned)g);
		return ent_err(ap, errno, name, "chown");
	}
	return 0;
}

static bool xattr_kept(const char *n)
{
	return !strncmp(n, "user.", 5) || !strcmp(n, "security.capability");
}

/* dir over dir: drop the xattrs we manage before applying the header's */
static void clear_xattrs(int fd)
{
	char list[4096];
	ssize_t n = flistxattr(fd, list, sizeof(list));
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(list + i) + 1)
		if (xattr_kept(list + i))
			fremovexattr(fd, list + i);
}

static int do_xattrs(coco_applier *ap, int fd, struct archive_entry *e, const char *name)
{
	const char *xn;
	const void *xv;
	size_t xs;
	if (archive_entry_xattr_reset(e) == 0)
		return 0;
	while (archive_entry_xattr_next(e, &xn, &xv, &xs) == ARCHIVE_OK) {
		if (!xn)
			continue;
		if (!strncmp(xn, "trusted.", 8)) {
			if (ap->stage)
				return COCOIMG_EUNSUPPORTED;  /* warned when applied in its turn */
			if (!ap->warned_trusted)
				coco_warn(ap->ctx, "%s: entry \"%s\": refusing xattr %s (trusted.* is never applied)",
				          ap->what, name, xn);
			ap->warned_trusted = true;
			continue;
		}
		if (!xattr_kept(xn)) {
			coco_debug(ap->ctx, "%s: entry \"%s\": dropping xattr %s", ap->what, name, xn);
			continue;
		}
		if (fd < 0)
			continue;  /* not settable safely on symlinks, fifos, devices */
		if (fsetxattr(fd, xn, xv, xs, 0) < 0) {
			if (errno == ENOTSUP || errno == EPERM || errno == EACCES) {
				if (ap->stage)
					return COCOIMG_EUNSUPPORTED;
				if (!ap->warned_xattr)
					coco_warn(ap->ctx, "%s: entry \"%s\": cannot set xattr %s: %s (ignored)",
					          ap->what, name, xn, strerror(errno));
				ap->warned_xattr = true;
				continue;
			}
			return ent_err(ap, errno, name, "setxattr");
		}
	}
	return 0;
}

static int push_dir(deferred_dir **arr, size_t *n, size_t *cap, const char *path)
{
	if (*n == *cap) {
		size_t nc = *cap ? 2 * *cap : 64;
		deferred_dir *nd = realloc(*arr, nc * sizeof(*nd));
		if (!nd)
			return COCOIMG_ENOMEM;
		*arr = nd;
		*cap = nc;
	}
	memset(&(*arr)[*n], 0, sizeof(**arr));
	(*arr)[*n].path = strdup(path);
	if (!(*arr)[*n].path)
		return COCOIMG_ENOMEM;
	(*n)++;
	return 0;
}

static int defer_dir(coco_applier *ap, const char *path, struct archive_entry *e, mode_t mode,
                     bool set_mode)
{
	if (push_dir(&ap->defer, &ap->n_defer, &ap->cap_defer, path))
		return coco_seterr(ap->ctx, COCOIMG_ENOMEM, "out of memory");
	entry_times(e, ap->defer[ap->n_defer - 1].ts);
	if (set_mode) {
		if (push_dir(&ap->modes, &ap->n_modes, &ap->cap_modes, path))
			return coco_seterr(ap->ctx, COCOIMG_ENOMEM, "out of memory");
		ap->modes[ap->n_modes - 1].mode = mode;
	}
	return 0;
}

static size_t depth(const char *p)
{
	size_t n = *p ? 1 : 0;
	for (; *p; p++)
		n += *p == '/';
	return n;
}

static int cmp_depth(const void *a, const void *b)
{
	size_t da = depth(((const deferred_dir *)a)->path), db = depth(((const deferred_dir *)b)->path);
	return da < db ? 1 : da > db ? -1 : 0;
}

int coco_applier_finish(coco_applier *ap)
{
	/* the last mode recorded for a path wins; children before parents */
	coco_pathset seen = { 0 };
	size_t k = 0;
	deferred_dir *keep = malloc((ap->n_modes ? ap->n_modes : 1) * sizeof(*keep));
	for (size_t i = ap->n_modes; i-- > 0;) {
		if (!keep || coco_pathset_has(&seen, ap->modes[i].path) ||
		    coco_pathset_add(&seen, ap->modes[i].path)) {
			free(ap->modes[i].path);
			continue;
		}
		keep[k++] = ap->modes[i];
	}
	coco_pathset_clear(&seen);
	free(ap->modes);
	ap->modes = keep;
	ap->cap_modes = keep ? (ap->n_modes ? ap->n_modes : 1) : 0;
	ap->n_modes = 0;
	qsort(ap->modes, k, sizeof(*ap->modes), cmp_depth);
	for (size_t i = 0; i < k; i++) {
		deferred_dir *d = &ap->modes[i];
		struct stat st;
		if (!*d->path) {
			int fd = openat(ap->root.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd >= 0) {
				fstat(fd, &st);
				fchmod(fd, d->mode);
				struct timespec ts[2] = { st.st_atim, st.st_mtim };
				futimens(fd, ts);
				close(fd);
			}
		} else {
			const char *parent;
			const char *base = coco_sp_split(d->path, &parent);
			int pfd;
			if (coco_root_dir(&ap->root, parent, false, &pfd) == 0 &&
			    fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
				fchmodat(pfd, base, d->mode, 0);
		}
		free(d->path);
	}
	coco_root_invalidate(&ap->root);
	return 0;
}

static void apply_deferred(coco_applier *ap)
{
	/* children come after their parents in a tar: go backwards */
	for (size_t i = ap->n_defer; i-- > 0;) {
		deferred_dir *d = &ap->defer[i];
		if (!*d->path) {
			int fd = openat(ap->root.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd >= 0) {
				futimens(fd, d->ts);
				close(fd);
			}
		} else {
			const char *parent;
			const char *base = coco_sp_split(d->path, &parent);
			int pfd;
			struct stat st;
			if (coco_root_dir(&ap->root, parent, false, &pfd) == 0 &&
			    fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
				utimensat(pfd, base, d->ts, AT_SYMLINK_NOFOLLOW);
			}
		}
		free(d->path);
	}
	ap->n_defer = 0;
}

static void reset_layer(coco_applier *ap)
{
	for (size_t i = 0; i < ap->n_defer; i++)
		free(ap->defer[i].path);
	ap->n_defer = 0;
	coco_pathset_clear(&ap->upper);
	ap->warned_trusted = ap->warned_xattr = ap->warned_dev = ap->warned_aufs = false;
}

/* ---- entries ---- */

static int write_data(coco_applier *ap, struct archive *a, layer_reader *lr, int fd,
                      struct archive_entry *e, const char *name)
{
	int64_t pos = 0;
	for (;;) {
		const void *buf;
		size_t sz;
		la_int64_t off;
		int r = archive_read_data_block(a, &buf, &sz, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			if (lr->src_rc)
				return lr->src_rc;
			return coco_seterr(ap->ctx, COCOIMG_EBADIMAGE, "%s: entry \"%s\": %s", ap->what,
			                   name, archive_error_string(a));
		}
		if (off != pos && lseek(fd, off, SEEK_SET) < 0)
			return ent_err(ap, errno, name, "seek");
		int w = coco_write_all(fd, buf, sz);
		if (w)
			return ent_err(ap, -w, name, "write");
		pos = off + (int64_t)sz;
	}
	int64_t size = archive_entry_size(e);
	if (size > pos && ftruncate(fd, size) < 0)
		return ent_err(ap, errno, name, "truncate");
	return 0;
}

/* Remove whatever is at (pfd, base).  Anything but a plain file may be
 * on a cached resolution path: drop the cache and re-resolve parent. */
static int remove_existing(coco_applier *ap, const struct stat *st, const char *parent,
                           const char *base, int *pfd, const char *name)
{
	int r = coco_rm_at(*pfd, base);
	if (r)
		return ent_err(ap, -r, name, "cannot replace existing entry");
	if (S_ISDIR(st->st_mode) || S_ISLNK(st->st_mode)) {
		coco_root_invalidate(&ap->root);
		r = coco_root_dir(&ap->root, parent, false, pfd);
		if (r)
			return ent_err(ap, -r, name, "cannot resolve parent directory");
	}
	return 0;
}

static int do_whiteout(coco_applier *ap, const char *parent, const char *base, const char *name)
{
	const char *w = base + 4;
	int dfd, r;
	if (!strcmp(base, ".wh..wh..opq")) {
		r = coco_root_dir(&ap->root, parent, false, &dfd);
		if (r == -ENOENT || r == -ENOTDIR)
			return 0;
		if (r)
			return ent_err(ap, -r, name, "opaque directory");
		r = coco_opaque_at(dfd, parent, &ap->upper);
		coco_root_invalidate(&ap->root);
		return r ? ent_err(ap, -r, name, "opaque directory") : 0;
	}
	if (!strncmp(w, ".wh.", 4)) {
		if (!ap->warned_aufs)
			coco_warn(ap->ctx, "%s: ignoring AUFS metadata entry \"%s\"", ap->what, name);
		ap->warned_aufs = true;
		return 0;
	}
	if (!strcmp(w, ".."))
		return coco_seterr(ap->ctx, COCOIMG_EESCAPE, "%s: whiteout \"%s\" points outside its directory",
		                   ap->what, name);
	if (!*w || !strcmp(w, "."))
		return coco_seterr(ap->ctx, COCOIMG_EBADIMAGE, "%s: invalid whiteout \"%s\"", ap->what, name);
	char *target = *parent ? coco_asprintf("%s/%s", parent, w) : strdup(w);
	if (!target)
		return coco_seterr(ap->ctx, COCOIMG_ENOMEM, "out of memory");
	bool same_layer = coco_pathset_has(&ap->upper, target);
	free(target);
	if (same_layer) {
		coco_debug(ap->ctx, "%s: whiteout \"%s\" spares an entry of the same layer", ap->what, name);
		return 0;
	}
	r = coco_root_dir(&ap->root, parent, false, &dfd);
	if (r == -ENOENT || r == -ENOTDIR)
		return 0;
	if (r)
		return ent_err(ap, -r, name, "whiteout");
	r = coco_rm_at(dfd, w);
	coco_root_invalidate(&ap->root);
	return r ? ent_err(ap, -r, name, "whiteout") : 0;
}

static int do_hardlink(coco_applier *ap, const char *path, const char *parent, const char *base,
                       const char *target, const char *name)
{
	char *tc = NULL;
	bool esc;
	int rc = coco_sp_clean(target, &tc, &esc);
	if (rc)
		return coco_seterr(ap->ctx, rc, "%s: entry \"%s\": hardlink target too long", ap->what, name);
	if (esc) {
		free(tc);
		return coco_seterr(ap->ctx, COCOIMG_EESCAPE,
		                   "%s: entry \"%s\": hardlink target \"%s\" lies outside the rootfs",
		                   ap->what, name, target);
	}
	if (!*tc) {
		free(tc);
		return coco_seterr(ap->ctx, COCOIMG_EBADIMAGE, "%s: entry \"%s\": bad hardlink target",
		                   ap->what, name);
	}
	if (!strcmp(tc, path)) {
		free(tc);
		return 0;  /* a link to itself: nothing to do */
	}
	int pfd, tpfd;
	struct stat st;
	rc = coco_root_dir(&ap->root, parent, true, &pfd);
	if (rc)
		goto sysfail;
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		rc = remove_existing(ap, &st, parent, base, &pfd, name);
		if (rc) {
			free(tc);
			return rc;
		}
	}
	const char *tparent;
	const char *tbase = coco_sp_split(tc, &tparent);
	rc = coco_root_dir(&ap->root, tparent, false, &tpfd);
	if (rc == 0 && fstatat(tpfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0)
		rc = -errno;
	if (rc == -ENOENT || rc == -ENOTDIR) {
		coco_seterr(ap->ctx, COCOIMG_EBADIMAGE, "%s: entry \"%s\": hardlink target \"%s\" does not exist",
		            ap->what, name, target);
		free(tc);
		return COCOIMG_EBADIMAGE;
	}
	if (rc)
		goto sysfail;
	if (S_ISDIR(st.st_mode)) {
		free(tc);
		return coco_seterr(ap->ctx, COCOIMG_EBADIMAGE, "%s: entry \"%s\": hardlink to a directory",
		                   ap->what, name);
	}
	/* the cache keeps the most recent lookups: pfd may have been evicted
	 * only if both lookups missed and it was the oldest; re-fetch it */
	rc = coco_root_dir(&ap->root, parent, false, &pfd);
	if (rc)
		goto sysfail;
	if (linkat(tpfd, tbase, pfd, base, 0) < 0) {
		rc = -errno;
		goto sysfail;
	}
	free(tc);
	return 0;
sysfail:
	free(tc);
	return ent_err(ap, -rc, name, "hardlink");
}

static int apply_root(coco_applier *ap, struct archive_entry *e, const char *name)
{
	if (archive_entry_filetype(e) != AE_IFDIR || entry_hardlink(e))
		return coco_seterr(ap->ctx, COCOIMG_EBADIMAGE, "%s: entry \"%s\" for the root is not a directory",
		                   ap->what, name);
	int fd = openat(ap->root.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ent_err(ap, errno, name, "open root");
	mode_t mode = archive_entry_perm(e) & 07777;
	int rc = do_chown(ap, fd, ap->root.fd, ".", e, name);
	if (!rc)
		rc = do_xattrs(ap, fd, e, name);
	if (!rc && fchmod(fd, ap->privileged ? mode : (mode | 0700)) < 0)
		rc = ent_err(ap, errno, name, "chmod");
	close(fd);
	if (!rc)
		rc = defer_dir(ap, "", e, mode, !ap->privileged);
	ap->root_set = true;
	return rc;
}

/* One entry being created: where, what, and as what. */
typedef struct entry_ctx {
	struct archive_entry *e;
	const char *name;          /* as in the tar, for messages */
	const char *path;          /* cleaned, relative to the root */
	const char *parent, *base;
	int pfd;                   /* parent directory (cached by the resolver) */
	mode_t type, mode;
	bool keep_dir;             /* directory over directory: kept, not replaced */
	struct timespec ts[2];
} entry_ctx;

/* chown, then xattrs: on fd, or on (pfd, base) when fd < 0 */
static int own_and_label(coco_applier *ap, const entry_ctx *ec, int fd)
{
	int rc = do_chown(ap, fd, ec->pfd, ec->base, ec->e, ec->name);
	return rc ? rc : do_xattrs(ap, fd, ec->e, ec->name);
}

static int make_dir(coco_applier *ap, entry_ctx *ec)
{
	const char *name = ec->name;
	if (!ec->keep_dir && mkdirat(ec->pfd, ec->base, 0700) < 0)
		return ent_err(ap, errno, name, "mkdir");
	int fd = openat(ec->pfd, ec->base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == EACCES && !ap->privileged) {
		fchmodat(ec->pfd, ec->base, 0700, 0);
		fd = openat(ec->pfd, ec->base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return ent_err(ap, errno, name, "open directory");
	if (ec->keep_dir)
		clear_xattrs(fd);
	int rc = own_and_label(ap, ec, fd);
	if (!rc && fchmod(fd, ap->privileged ? ec->mode : (ec->mode | 0700)) < 0)
		rc = ent_err(ap, errno, name, "chmod");
	close(fd);
	if (rc)
		return rc;
	return defer_dir(ap, ec->path, ec->e, ec->mode,
	                 !ap->privileged && (ec->mode & 0700) != 0700);
}

static int make_file(coco_applier *ap, struct archive *a, layer_reader *lr, entry_ctx *ec)
{
	const char *name = ec->name;
	int fd = openat(ec->pfd, ec->base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	                0600);
	if (fd < 0)
		return ent_err(ap, errno, name, "create");
	int rc = write_data(ap, a, lr, fd, ec->e, name);
	if (!rc)
		rc = own_and_label(ap, ec, fd);
	if (!rc && fchmod(fd, ec->mode) < 0)
		rc = ent_err(ap, errno, name, "chmod");
	if (!rc && futimens(fd, ec->ts) < 0)
		rc = ent_err(ap, errno, name, "set times");
	close(fd);
	return rc;
}

static int make_symlink(coco_applier *ap, entry_ctx *ec)
{
	const char *t = entry_symlink(ec->e);
	if (!t || !*t)
		return coco_seterr(ap->ctx, COCOIMG_EBADIMAGE, "%s: symlink \"%s\" without a target",
		                   ap->what, ec->name);
	if (symlinkat(t, ec->pfd, ec->base) < 0)
		return ent_err(ap, errno, ec->name, "symlink");
	int rc = own_and_label(ap, ec, -1);
	if (!rc && utimensat(ec->pfd, ec->base, ec->ts, AT_SYMLINK_NOFOLLOW) < 0)
		rc = ent_err(ap, errno, ec->name, "set times");
	return rc;
}

static void warn_device(coco_applier *ap, const char *name, const char *why)
{
	if (!ap->warned_dev)
		coco_warn(ap->ctx, "%s: skipping device node \"%s\" (%s)", ap->what, name, why);
	ap->warned_dev = true;
}

/* FIFOs and device nodes (devices only with privilege: skipped, with a
 * warning, when the kernel refuses) */
static int make_node(coco_applier *ap, entry_ctx *ec)
{
	const char *name = ec->name;
	dev_t dev = 0;
	if (ec->type != AE_IFIFO) {
		unsigned long long ma = (unsigned long long)archive_entry_rdevmajor(ec->e);
		unsigned long long mi = (unsigned long long)archive_entry_rdevminor(ec->e);
		if (ma > 0xffffffffULL || mi > 0xffffffffULL)
			return coco_seterr(ap->ctx, COCOIMG_EBADIMAGE, "%s: device \"%s\": bad numbers",
			                   ap->what, name);
		dev = makedev((unsigned)ma, (unsigned)mi);
	}
	if (mknodat(ec->pfd, ec->base, ec->type | 0600, dev) < 0) {
		if (errno == EPERM && ec->type != AE_IFIFO) {
			warn_device(ap, name, strerror(errno));
			return 0;
		}
		return ent_err(ap, errno, name, "mknod");
	}
	int rc = own_and_label(ap, ec, -1);
	/* we just created it, in a directory only we write: no symlink can
	 * have replaced it */
	if (!rc && fchmodat(ec->pfd, ec->base, ec->mode, 0) < 0)
		rc = ent_err(ap, errno, name, "chmod");
	if (!rc && utimensat(ec->pfd, ec->base, ec->ts, AT_SYMLINK_NOFOLLOW) < 0)
		rc = ent_err(ap, errno, name, "set times");
	return rc;
}

/* Resolve (creating) the parent and clear the way for the new entry. */
static int prepare_parent(coco_applier *ap, entry_ctx *ec)
{
	int r = coco_root_dir(&ap->root, ec->parent, true, &ec->pfd);
	if (r)
		return ent_err(ap, -r, ec->name, "cannot create parent directory");
	struct stat st;
	bool exists = fstatat(ec->pfd, ec->base, &st, AT_SYMLINK_NOFOLLOW) == 0;
	ec->keep_dir = exists && ec->type == AE_IFDIR && S_ISDIR(st.st_mode);
	if (exists && !ec->keep_dir)
		return remove_existing(ap, &st, ec->parent, ec->base, &ec->pfd, ec->name);
	return 0;
}

/* A file, directory, symlink or node at ec->path. */
static int create_entry(coco_applier *ap, struct archive *a, layer_reader *lr, entry_ctx *ec)
{
	if ((ec->type == AE_IFCHR || ec->type == AE_IFBLK) && !ap->privileged) {
		warn_device(ap, ec->name, "needs privilege");
		return 0;
	}
	int rc = prepare_parent(ap, ec);
	if (rc)
		return rc;
	entry_times(ec->e, ec->ts);
	switch (ec->type) {
	case AE_IFDIR: return make_dir(ap, ec);
	case AE_IFREG: return make_file(ap, a, lr, ec);
	case AE_IFLNK: return make_symlink(ap, ec);
	case AE_IFIFO:
	case AE_IFCHR:
	case AE_IFBLK: return make_node(ap, ec);
	default:
		return coco_seterr(ap->ctx, COCOIMG_EBADIMAGE, "%s: entry \"%s\": unsupported type 0%o",
		                   ap->what, ec->name, (unsigned)ec->type);
	}
}

/* The entry at a cleaned, non-root path: a whiteout, a hardlink, or
 * something created. */
static int apply_at(coco_applier *ap, struct archive *a, layer_reader *lr,
                    struct archive_entry *e, const char *name, const char *path)
{
	char *pc = strdup(path);
	if (!pc)
		return coco_oom(ap->ctx);
	entry_ctx ec = { .e = e, .name = name, .path = path, .pfd = -1 };
	ec.base = coco_sp_split(pc, &ec.parent);
	ec.type = archive_entry_filetype(e);
	ec.mode = archive_entry_perm(e) & 07777;
	const char *hl = entry_hardlink(e);
	int rc;
	if (!strncmp(ec.base, ".wh.", 4))
		rc = do_whiteout(ap, ec.parent, ec.base, name);
	else if (coco_pathset_add_with_parents(&ap->upper, path))
		rc = coco_oom(ap->ctx);
	else if (hl)
		rc = do_hardlink(ap, path, ec.parent, ec.base, hl, name);
	else
		rc = create_entry(ap, a, lr, &ec);
	free(pc);
	return rc;
}

/* ---- staging and replay (stage.c) ---- */

/* Would apply_at() create a plain file for this entry? */
static bool plain_file(struct archive_entry *e, const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	return *path && strncmp(base, ".wh.", 4) && !entry_hardlink(e) &&
	       archive_entry_filetype(e) == AE_IFREG;
}

/* Staging mode: a plain file becomes a numbered file of the stage
 * directory, with its data and metadata; anything else is recorded. */
static int stage_entry(coco_applier *ap, struct archive *a, layer_reader *lr,
                       struct archive_entry *e, const char *name, const char *path)
{
	if (!plain_file(e, path))
		return coco_staged_add(ap->stage, name, e, 0);
	unsigned seq = ap->stage->next_seq++;
	char sname[16];
	snprintf(sname, sizeof(sname), "%u", seq);
	entry_ctx ec = { .e = e, .name = name, .path = sname, .parent = "", .base = sname,
	                 .pfd = ap->root.fd, .type = AE_IFREG,
	                 .mode = archive_entry_perm(e) & 07777 };
	entry_times(e, ec.ts);
	int rc = make_file(ap, a, lr, &ec);
	return rc ? rc : coco_staged_add(ap->stage, name, NULL, seq);
}

void coco_applier_stage_into(coco_applier *ap, const coco_applier *like, coco_staged *sg,
                             const int *stop)
{
	/* the caps are the operation's */
	ap->max_layer_bytes = like->max_layer_bytes;
	ap->max_image_bytes = like->max_image_bytes;
	ap->max_entries = like->max_entries;
	ap->watch = like->ctx;
	ap->stage = sg;
	ap->stop = stop;
	ap->one_thread = true;
}

int coco_applier_dirfd(const coco_applier *ap) { return ap->root.fd; }

/* A staged plain file into place: what apply_at() and create_entry() do
 * for one, the file renamed from the stage directory instead of made. */
static int replay_file(coco_applier *ap, const char *name, const char *path, int sfd,
                       unsigned seq)
{
	char *pc = strdup(path);
	if (!pc)
		return coco_oom(ap->ctx);
	entry_ctx ec = { .name = name, .path = path, .pfd = -1, .type = AE_IFREG };
	ec.base = coco_sp_split(pc, &ec.parent);
	char sname[16];
	snprintf(sname, sizeof(sname), "%u", seq);
	int rc = 0, r;
	if (coco_pathset_add_with_parents(&ap->upper, path))
		rc = coco_oom(ap->ctx);
	else if ((r = coco_root_dir(&ap->root, ec.parent, true, &ec.pfd)))
		rc = ent_err(ap, -r, name, "cannot create parent directory");
	/* mostly nothing is in the way: try first, clear the way on EEXIST */
	if (!rc && renameat2(sfd, sname, ec.pfd, ec.base, RENAME_NOREPLACE) < 0) {
		rc = errno == EEXIST ? prepare_parent(ap, &ec) : ent_err(ap, errno, name, "create");
		if (!rc && renameat2(sfd, sname, ec.pfd, ec.base, RENAME_NOREPLACE) < 0)
			rc = ent_err(ap, errno, name, "create");
	}
	free(pc);
	return rc;
}

static int replay_rec(coco_applier *ap, const coco_staged_rec *r, int sfd)
{
	char *path = NULL;
	bool esc;
	int rc = coco_sp_clean(r->name, &path, &esc);
	if (rc)
		return coco_seterr(ap->ctx, rc, "%s: entry name longer than %d bytes", ap->what, PATH_MAX);
	if (esc)
		coco_debug(ap->ctx, "%s: entry \"%s\" clamped inside the rootfs", ap->what, r->name);
	if (!r->e)
		rc = replay_file(ap, r->name, path, sfd, r->seq);
	else if (*path)
		rc = apply_at(ap, NULL, NULL, r->e, r->name, path);
	else
		rc = apply_root(ap, r->e, r->name);
	free(path);
	return rc;
}

int coco_applier_replay(coco_applier *ap, const coco_staged *sg, int stage_fd, const char *what,
                        coco_apply_stats *stats)
{
	uint64_t t0 = coco_now_ns();
	if (ap->image_entries + sg->n > ap->max_entries ||
	    ap->image_bytes + sg->tar_bytes > ap->max_image_bytes)
		return COCO_REPLAY_DECLINED;
	reset_layer(ap);
	ap->what = what ? what : "layer";
	int rc = 0;
	for (size_t i = 0; i < sg->n && !rc; i++) {
		if (i % 1024 == 0)
			rc = coco_check_stop(ap->ctx);
		if (!rc)
			rc = replay_rec(ap, &sg->recs[i], stage_fd);
	}
	if (!rc) {
		apply_deferred(ap);
		ap->image_bytes += sg->tar_bytes;
		ap->image_entries += sg->n;
		if (stats)
			stats->write_ns += coco_now_ns() - t0;
	}
	coco_root_invalidate(&ap->root);
	if (rc)
		reset_layer(ap);
	return rc;
}

static int apply_entry(coco_applier *ap, struct archive *a, layer_reader *lr,
                       struct archive_entry *e)
{
	const char *name = entry_name(e);
	if (!name)
		return coco_seterr(ap->ctx, COCOIMG_EBADIMAGE, "%s: entry without a name", ap->what);
	char *path = NULL;
	bool esc;
	int rc = coco_sp_clean(name, &path, &esc);
	if (rc)
		return coco_seterr(ap->ctx, rc, "%s: entry name longer than %d bytes", ap->what, PATH_MAX);
	if (esc)
		coco_debug(ap->ctx, "%s: entry \"%s\" clamped inside the rootfs", ap->what, name);
	if (ap->stage)
		rc = stage_entry(ap, a, lr, e, name, path);
	else
		rc = *path ? apply_at(ap, a, lr, e, name, path) : apply_root(ap, e, name);
	free(path);
	return rc;
}

/* ---- layer ---- */

int coco_applier_new(cocoimg_ctx *ctx, const char *rootfs, unsigned flags, coco_applier **out)
{
	coco_applier *ap = calloc(1, sizeof(*ap));
	if (!ap)
		return coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory");
	ap->ctx = ctx;
	ap->root.fd = -1;
	ap->rootfs = strdup(rootfs);
	ap->bufs[0] = malloc(READ_BUFSZ);
	ap->bufs[1] = malloc(READ_BUFSZ);
	ap->multi_cpu = coco_cpus_usable() > 1;
	ap->privileged = geteuid() == 0 && !(flags & COCO_APPLY_ROOTLESS);
	ap->max_layer_bytes = coco_limit(ctx, COCO_LIM_LAYER_SIZE);
	ap->max_image_bytes = coco_limit(ctx, COCO_LIM_IMAGE_SIZE);
	ap->max_entries = coco_limit(ctx, COCO_LIM_ENTRIES);
	if (!ap->rootfs || !ap->bufs[0] || !ap->bufs[1]) {
		coco_applier_free(ap);
		return coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory");
	}
	int r = coco_root_open(&ap->root, rootfs);
	if (r) {
		coco_applier_free(ap);
		return coco_seterr(ctx, COCOIMG_EIO, "cannot open rootfs %s: %s", rootfs, strerror(-r));
	}
	if (flags & COCO_APPLY_NO_OPENAT2)
		ap->root.use_openat2 = false;
	*out = ap;
	return 0;
}

void coco_applier_free(coco_applier *ap)
{
	if (!ap)
		return;
	reset_layer(ap);
	free(ap->defer);
	for (size_t i = 0; i < ap->n_modes; i++)
		free(ap->modes[i].path);
	free(ap->modes);
	if (ap->root.fd >= 0)
		coco_root_close(&ap->root);
	free(ap->rootfs);
	free(ap->bufs[0]);
	free(ap->bufs[1]);
	free(ap);
}

bool coco_applier_root_set(const coco_applier *ap) { return ap->root_set; }

void coco_applier_one_thread(coco_applier *ap, bool on) { ap->one_thread = on; }

/* The decompressor, the diff_id digest and (more than one CPU) the
 * hasher thread of a layer reader. */
static int reader_open(coco_applier *ap, layer_reader *lr, coco_compression comp,
                       coco_digest_alg alg)
{
	int rc = coco_decomp_new(ap->ctx, comp, timed_pull, lr, ap->what, &lr->dc);
	if (rc)
		return rc;
	if (coco_digest_init(&lr->dg, alg))
		return coco_oom(ap->ctx);
	if (!ap->multi_cpu || ap->one_thread)
		return 0;
	pthread_mutex_init(&lr->mu, NULL);
	pthread_cond_init(&lr->cv, NULL);
	lr->threaded = coco_thread_try(&lr->hasher, ap->ctx, "hash", hasher_main, lr);
	lr->used_thread = lr->threaded;
	if (!lr->threaded) {
		pthread_mutex_destroy(&lr->mu);
		pthread_cond_destroy(&lr->cv);
	}
	return 0;
}

static int open_tar(coco_applier *ap, layer_reader *lr, struct archive **out)
{
	struct archive *a = *out = archive_read_new();
	if (!a)
		return coco_oom(ap->ctx);
	archive_read_support_format_tar(a);
	if (archive_read_open(a, lr, NULL, archive_cb, NULL) == ARCHIVE_OK)
		return 0;
	return lr->src_rc ? lr->src_rc
	                  : coco_seterr(ap->ctx, COCOIMG_EBADIMAGE, "%s: not a tar stream: %s",
	                                ap->what, archive_error_string(a));
}

/* Why the next header could not be read. */
static int header_error(coco_applier *ap, struct archive *a, const layer_reader *lr)
{
	if (lr->src_rc)
		return lr->src_rc;
	if (lr->real_eof && lr->total == 0)
		return coco_seterr(ap->ctx, COCOIMG_EBADIMAGE, "%s: empty tar stream", ap->what);
	return coco_seterr(ap->ctx, COCOIMG_EBADIMAGE, "%s: corrupt tar stream: %s", ap->what,
	                   archive_error_string(a));
}

/* Where the data of the entry just read ends in the tar stream. */
static int64_t entry_data_end(struct archive *a, struct archive_entry *e)
{
	la_int64_t pos = archive_filter_bytes(a, 0);
	if (archive_entry_size_is_set(e) && archive_entry_sparse_count(e) == 0 &&
	    archive_entry_size(e) > 0)
		return pos + archive_entry_size(e);
	return pos;
}

/* Every entry of the tar stream; *entries counts them. */
static int read_entries(coco_applier *ap, struct archive *a, layer_reader *lr,
                        uint64_t *entries)
{
	int64_t data_end = 0;
	for (;;) {
		struct archive_entry *e;
		int r = archive_read_next_header(a, &e);
		if (lr->real_eof && (uint64_t)data_end > lr->total)
			return coco_seterr(ap->ctx, COCOIMG_EBADIMAGE,
			                   "%s: tar stream ends inside an entry's data", ap->what);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			return header_error(ap, a, lr);
		if (ap->image_entries + *entries >= ap->max_entries)
			return entries_cap_error(ap);
		data_end = entry_data_end(a, e);
		int rc = apply_entry(ap, a, lr, e);
		if (rc)
			return rc;
		(*entries)++;
	}
}

/* The rest of the tar stream (padding, trailing data) and of the blob
 * belong to the diff_id and to the blob checks. */
static int drain_reader(layer_reader *lr)
{
	while (!lr->real_eof) {
		ssize_t n = real_read(lr);
		if (n < 0)
			return (int)n;
		if (n == 0)
			lr->real_eof = true;
	}
	return 0;
}

static int check_diff_id(coco_applier *ap, layer_reader *lr, const char *expected,
                         char diff_id_out[COCO_DIGEST_STRLEN])
{
	hash_wait(lr, 0);
	hash_stop(lr);
	char got[COCO_DIGEST_STRLEN];
	if (coco_digest_final(&lr->dg, got))
		return coco_seterr(ap->ctx, COCOIMG_EINTERNAL, "digest failed");
	if (diff_id_out)
		memcpy(diff_id_out, got, COCO_DIGEST_STRLEN);
	if (expected && strcmp(got, expected))
		return coco_seterr(ap->ctx, COCOIMG_EDIGEST, "%s: diff_id mismatch: expected %s, got %s",
		                   ap->what, expected, got);
	return 0;
}

static void add_apply_stats(const layer_reader *lr, uint64_t t_start, uint64_t entries,
                            coco_apply_stats *stats)
{
	uint64_t dn = coco_decomp_nsec(lr->dc);
	uint64_t wall = coco_now_ns() - t_start;
	uint64_t other = dn + lr->wait_ns + (lr->used_thread ? lr->hwait_ns : lr->digest_ns);
	stats->decompress_ns += dn;
	stats->digest_ns += lr->digest_ns;
	stats->write_ns += wall > other ? wall - other : 0;
	stats->tar_bytes += lr->total;
	stats->entries += entries;
}

int coco_applier_apply(coco_applier *ap, coco_compression comp, coco_pull_fn pull, void *payload,
                       const char *what, const char *expected_diff_id,
                       char diff_id_out[COCO_DIGEST_STRLEN], coco_apply_stats *stats)
{
	uint64_t t_start = coco_now_ns();
	layer_reader lr;
	memset(&lr, 0, sizeof(lr));
	lr.ap = ap;
	lr.pull = pull;
	lr.payload = payload;
	reset_layer(ap);
	ap->what = what ? what : "layer";
	coco_digest_alg alg = COCO_SHA256;
	if (expected_diff_id && coco_digest_validate(expected_diff_id, &alg))
		return coco_seterr(ap->ctx, COCOIMG_EBADIMAGE, "%s: malformed diff_id \"%s\"", ap->what,
		                   expected_diff_id);
	struct archive *a = NULL;
	uint64_t entries = 0;
	int rc = reader_open(ap, &lr, comp, alg);
	if (!rc)
		rc = open_tar(ap, &lr, &a);
	if (!rc)
		rc = read_entries(ap, a, &lr, &entries);
	if (!rc)
		rc = drain_reader(&lr);
	if (!rc)
		rc = check_diff_id(ap, &lr, expected_diff_id, diff_id_out);
	if (!rc) {
		apply_deferred(ap);
		if (ap->stage)
			ap->stage->tar_bytes = lr.total;
		ap->image_bytes += lr.total;
		ap->image_entries += entries;
	}
	if (!rc && stats)
		add_apply_stats(&lr, t_start, entries, stats);
	hash_stop(&lr);
	if (a)
		archive_read_free(a);
	coco_digest_free(&lr.dg);
	coco_decomp_free(lr.dc);
	coco_root_invalidate(&ap->root);
	if (rc)
		reset_layer(ap);
	return rc;
}
