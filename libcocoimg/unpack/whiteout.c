/*
 * Whiteouts and removal.
 *
 * OCI image-spec layer.md: ".wh.NAME" removes NAME of the lower layers from
 * its directory; ".wh..wh..opq" removes everything the lower layers put in
 * its directory (which itself stays).  Neither ever removes what the same
 * layer wrote: like umoci, the applier keeps the set of paths the current
 * layer wrote (with their ancestors) and spares them, so an opaque marker
 * gives the same result wherever it appears among its directory's entries.
 *
 * Removal works on (directory fd, name) pairs and never follows a symlink.
 */
#include "unpack.h"
#include "../base.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- path set (open addressing, FNV-1a) ---- */

static uint64_t hash_str(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

void coco_pathset_clear(coco_pathset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->slots[i]);
	free(s->slots);
	s->slots = NULL;
	s->cap = s->n = 0;
}

static size_t find_slot(char **slots, size_t cap, const char *p, size_t n)
{
	size_t i = (size_t)hash_str(p, n) & (cap - 1);
	while (slots[i] && !(strlen(slots[i]) == n && !memcmp(slots[i], p, n)))
		i = (i + 1) & (cap - 1);
	return i;
}

static bool has_n(const coco_pathset *s, const char *p, size_t n)
{
	if (!s->cap)
		return false;
	return s->slots[find_slot(s->slots, s->cap, p, n)] != NULL;
}

bool coco_pathset_has(const coco_pathset *s, const char *path)
{
	return has_n(s, path, strlen(path));
}

static int grow(coco_pathset *s)
{
	size_t ncap = s->cap ? s->cap * 2 : 256;
	char **ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return COCOIMG_ENOMEM;
	for (size_t i = 0; i < s->cap; i++)
		if (s->slots[i])
			ns[find_slot(ns, ncap, s->slots[i], strlen(s->slots[i]))] = s->slots[i];
	free(s->slots);
	s->slots = ns;
	s->cap = ncap;
	return 0;
}

static int add_n(coco_pathset *s, const char *p, size_t n)
{
	if ((s->n + 1) * 4 >= s->cap * 3 && grow(s))
		return COCOIMG_ENOMEM;
	size_t i = find_slot(s->slots, s->cap, p, n);
	if (s->slots[i])
		return 0;
	s->slots[i] = strndup(p, n);
	if (!s->slots[i])
		return COCOIMG_ENOMEM;
	s->n++;
	return 0;
}

int coco_pathset_add(coco_pathset *s, const char *path)
{
	return add_n(s, path, strlen(path));
}

int coco_pathset_add_with_parents(coco_pathset *s, const char *path)
{
	size_t n = strlen(path);
	while (n > 0) {
		if (has_n(s, path, n))
			return 0;  /* its ancestors are in too */
		int rc = add_n(s, path, n);
		if (rc)
			return rc;
		while (n > 0 && path[n - 1] != '/')
			n--;
		if (n > 0)
			n--;
	}
	return 0;
}

/* ---- removal ---- */

/* Make a directory we own writable and searchable (rootless unpacking of
 * images with read-only directories). */
static void make_writable(int dirfd, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
		fchmodat(dirfd, name, (st.st_mode & 07777) | 0700, 0);
}

static int rm_children(int fd)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		return -e;
	}
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		int r = coco_rm_at(dirfd(d), de->d_name);
		if (r && !rc)
			rc = r;
	}
	closedir(d);
	return rc;
}

int coco_rm_at(int pfd, const char *name)
{
	if (unlinkat(pfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM && errno != EACCES)
		return -errno;
	if (errno == EACCES) {
		/* rootless: the parent may be read-only; caller's problem
		 * unless it is the directory itself we cannot list */
		return -EACCES;
	}
	int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == EACCES) {
		make_writable(pfd, name);
		fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	int rc = rm_children(fd);
	if (rc == -EACCES) {
		make_writable(pfd, name);
		fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		rc = rm_children(fd);
	}
	if (rc)
		return rc;
	if (unlinkat(pfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int coco_opaque_at(int dfd, const char *dirpath, const coco_pathset *keep)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		return -e;
	}
	size_t plen = strlen(dirpath);
	int rc = 0;
	struct dirent *de;
	/* Removing while iterating is fine for readdir on Linux: entries are
	 * neither skipped nor repeated except possibly the removed ones. */
	while ((de = readdir(d))) {
		const char *nm = de->d_name;
		if (!strcmp(nm, ".") || !strcmp(nm, ".."))
			continue;
		size_t nl = strlen(nm);
		char *full = malloc(plen + nl + 2);
		if (!full) {
			rc = -ENOMEM;
			break;
		}
		if (plen) {
			memcpy(full, dirpath, plen);
			full[plen] = '/';
			memcpy(full + plen + 1, nm, nl + 1);
		} else {
			memcpy(full, nm, nl + 1);
		}
		int r = 0;
		if (!coco_pathset_has(keep, full)) {
			r = coco_rm_at(dirfd(d), nm);
		} else {
			struct stat st;
			if (fstatat(dirfd(d), nm, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISDIR(st.st_mode)) {
				int cfd = openat(dirfd(d), nm, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (cfd >= 0) {
					r = coco_opaque_at(cfd, full, keep);
					close(cfd);
				}
			}
		}
		free(full);
		if (r && !rc)
			rc = r;
	}
	closedir(d);
	return rc;
}
