/*
 * Path resolution inside a rootfs with chroot semantics.
 *
 * Every name in a layer (entry, hardlink target, whiteout) is cleaned
 * lexically first (leading "/", ".", ".." clamped at the root: the choice
 * containerd and umoci make), then its parent directory is resolved
 * relative to the rootfs descriptor:
 *
 *  - fast path: openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), where the
 *    kernel has it (Linux >= 5.6); ENOSYS switches it off for the process
 *    lifetime of the resolver;
 *  - otherwise, and whenever components must be created: a walk one
 *    component at a time with openat(O_PATH|O_NOFOLLOW), expanding
 *    symlinks by hand (absolute targets restart at the rootfs, ".." never
 *    climbs above it, at most 40 links).
 *
 * Both give the same answer, and neither can name anything outside the
 * rootfs.  The last few resolved directories are cached (tar streams list
 * a directory's entries together); the cache is dropped whenever the
 * applier removes or replaces something.
 */
#include "unpack.h"
#include "../base.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#if HAVE_OPENAT2
#include <linux/openat2.h>
#endif

#define MAX_LINK_HOPS 40

int coco_sp_clean(const char *name, char **out, bool *escaped)
{
	size_t len = strlen(name);
	*escaped = false;
	*out = NULL;
	if (len >= PATH_MAX)
		return COCOIMG_EBADIMAGE;
	char *res = malloc(len + 1);
	if (!res)
		return COCOIMG_ENOMEM;
	size_t o = 0;
	const char *p = name;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == 1 && p[0] == '.') {
			/* skip */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (o == 0) {
				*escaped = true;
			} else {
				while (o > 0 && res[o - 1] != '/')
					o--;
				if (o > 0)
					o--;   /* the separator */
			}
		} else {
			if (o)
				res[o++] = '/';
			memcpy(res + o, p, n);
			o += n;
		}
		p += n;
	}
	res[o] = 0;
	*out = res;
	return 0;
}

const char *coco_sp_split(char *path, const char **parent)
{
	char *s = strrchr(path, '/');
	if (!s) {
		*parent = "";
		return path;
	}
	*s = 0;
	*parent = path;
	return s + 1;
}

int coco_root_open(coco_root *r, const char *path)
{
	memset(r, 0, sizeof(*r));
	for (int i = 0; i < COCO_SP_CACHE; i++)
		r->cache[i].fd = -1;
	r->fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->fd < 0)
		return -errno;
	r->use_openat2 = HAVE_OPENAT2 ? true : false;
	return 0;
}

void coco_root_invalidate(coco_root *r)
{
	for (int i = 0; i < COCO_SP_CACHE; i++) {
		if (r->cache[i].fd >= 0)
			close(r->cache[i].fd);
		r->cache[i].fd = -1;
		free(r->cache[i].path);
		r->cache[i].path = NULL;
	}
}

void coco_root_close(coco_root *r)
{
	coco_root_invalidate(r);
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

/* Re-open the real (symlink-free) directory chain comps[0..n) from root. */
static int reopen_chain(int rootfd, char **comps, size_t n)
{
	int fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < n; i++) {
		int nfd = openat(fd, comps[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		close(fd);
		if (nfd < 0)
			return -e;
		fd = nfd;
	}
	return fd;
}

/*
 * The user-space walk.  `pending` holds the components still to resolve
 * (a '/'-separated string we own and rewrite on symlink expansion; `p` is
 * the position in it); `done` is the list of real directories resolved
 * so far and `cur` the last of them, opened.
 */
typedef struct walker {
	int rootfd;
	bool create;
	char *pending, *p;
	char **done;
	size_t n, cap;
	int cur;
	int hops;
} walker;

/* The next component into comp: 1, 0 at the end, or -ENAMETOOLONG. */
static int next_comp(walker *w, char comp[NAME_MAX + 1])
{
	while (*w->p == '/')
		w->p++;
	if (!*w->p)
		return 0;
	char *e = strchr(w->p, '/');
	size_t len = e ? (size_t)(e - w->p) : strlen(w->p);
	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(comp, w->p, len);
	comp[len] = 0;
	w->p += len;
	return 1;
}

/* "..": back to the parent (never above the root). */
static int walk_up(walker *w)
{
	if (w->n == 0)
		return 0;
	free(w->done[--w->n]);
	close(w->cur);
	w->cur = reopen_chain(w->rootfd, w->done, w->n);
	return w->cur < 0 ? w->cur : 0;
}

/* Step into the directory comp, opened as nfd (taken). */
static int walk_enter(walker *w, const char *comp, int nfd)
{
	if (w->n == w->cap) {
		char **nd = realloc(w->done, 2 * w->cap * sizeof(*nd));
		if (!nd) {
			close(nfd);
			return -ENOMEM;
		}
		w->done = nd;
		w->cap *= 2;
	}
	w->done[w->n] = strdup(comp);
	if (!w->done[w->n]) {
		close(nfd);
		return -ENOMEM;
	}
	w->n++;
	close(w->cur);
	w->cur = nfd;
	return 0;
}

/* Back at the root (an absolute symlink target). */
static int walk_restart(walker *w)
{
	while (w->n > 0)
		free(w->done[--w->n]);
	close(w->cur);
	w->cur = fcntl(w->rootfd, F_DUPFD_CLOEXEC, 3);
	return w->cur < 0 ? -errno : 0;
}

/* The symlink comp: its target goes in front of what is left to walk. */
static int walk_symlink(walker *w, const char *comp)
{
	if (++w->hops > MAX_LINK_HOPS)
		return -ELOOP;
	char target[PATH_MAX];
	ssize_t tl = readlinkat(w->cur, comp, target, sizeof(target) - 1);
	if (tl < 0)
		return -errno;
	target[tl] = 0;
	size_t rest = strlen(w->p);
	if ((size_t)tl + rest + 2 >= PATH_MAX)
		return -ENAMETOOLONG;
	char *np = malloc((size_t)tl + rest + 2);
	if (!np)
		return -ENOMEM;
	memcpy(np, target, (size_t)tl);
	np[tl] = '/';
	memcpy(np + tl + 1, w->p, rest + 1);
	free(w->pending);
	w->pending = w->p = np;
	return target[0] == '/' ? walk_restart(w) : 0;
}

/* Resolve one real component: a directory is entered, a symlink
 * expanded; with `create`, a missing directory is made and anything else
 * in the way removed (a few tries: the tree may change under us). */
static int walk_comp(walker *w, const char *comp)
{
	for (int tries = 0; tries < 4; tries++) {
		int nfd = openat(w->cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0) {
			int e = errno;
			if (e != ENOENT || !w->create)
				return -e;
			if (mkdirat(w->cur, comp, 0755) < 0 && errno != EEXIST)
				return -errno;
			continue;
		}
		struct stat st;
		if (fstat(nfd, &st) < 0) {
			int e = errno;
			close(nfd);
			return -e;
		}
		if (S_ISDIR(st.st_mode))
			return walk_enter(w, comp, nfd);
		close(nfd);
		if (S_ISLNK(st.st_mode))
			return walk_symlink(w, comp);
		/* something else is in the way */
		if (!w->create)
			return -ENOTDIR;
		if (unlinkat(w->cur, comp, 0) < 0 && errno != ENOENT)
			return -errno;
	}
	return -EAGAIN;
}

static int walk(int rootfd, const char *path, bool create, int *out)
{
	walker w = { .rootfd = rootfd, .create = create, .cap = 16 };
	w.pending = w.p = strdup(path);
	w.done = malloc(w.cap * sizeof(*w.done));
	w.cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	int rc = w.cur < 0 ? -errno : (!w.pending || !w.done) ? -ENOMEM : 0;
	char comp[NAME_MAX + 1];
	while (!rc && (rc = next_comp(&w, comp)) > 0) {
		if (!strcmp(comp, "."))
			rc = 0;
		else if (!strcmp(comp, ".."))
			rc = walk_up(&w);
		else
			rc = walk_comp(&w, comp);
	}
	if (rc == 0)
		*out = w.cur;
	else if (w.cur >= 0)
		close(w.cur);
	while (w.done && w.n > 0)
		free(w.done[--w.n]);
	free(w.done);
	free(w.pending);
	return rc;
}

static int resolve(coco_root *r, const char *dir, bool create, int *out)
{
#if HAVE_OPENAT2
	if (r->use_openat2) {
		struct open_how how;
		memset(&how, 0, sizeof(how));
		how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
		how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
		for (int i = 0; i < 8; i++) {
			long fd = syscall(SYS_openat2, r->fd, dir, &how, sizeof(how));
			if (fd >= 0) {
				*out = (int)fd;
				return 0;
			}
			if (errno == EAGAIN || errno == EINTR)
				continue;
			break;
		}
		int e = errno;
		if (e == ENOSYS || e == EPERM) {
			/* old kernel or a seccomp filter: use the walk from now on */
			r->use_openat2 = false;
		} else if (!(e == EAGAIN || (create && (e == ENOENT || e == ENOTDIR)))) {
			return -e;
		}
	}
#endif
	return walk(r->fd, dir, create, out);
}

int coco_root_dir(coco_root *r, const char *dir, bool create, int *fd)
{
	if (!*dir) {
		*fd = r->fd;
		return 0;
	}
	int victim = 0;
	for (int i = 0; i < COCO_SP_CACHE; i++) {
		if (r->cache[i].path && !strcmp(r->cache[i].path, dir)) {
			r->cache[i].used = ++r->stamp;
			*fd = r->cache[i].fd;
			return 0;
		}
		if (r->cache[i].used < r->cache[victim].used)
			victim = i;
	}
	int nfd;
	int rc = resolve(r, dir, create, &nfd);
	if (rc)
		return rc;
	char *copy = strdup(dir);
	if (!copy) {
		close(nfd);
		return -ENOMEM;
	}
	if (r->cache[victim].fd >= 0)
		close(r->cache[victim].fd);
	free(r->cache[victim].path);
	r->cache[victim].path = copy;
	r->cache[victim].fd = nfd;
	r->cache[victim].used = ++r->stamp;
	*fd = nfd;
	return 0;
}
