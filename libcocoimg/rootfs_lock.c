/*
 * The lock beside a ROOTFS that serialises unpacks into it, and the
 * removal of staging directories left by killed unpacks.
 */
#include "rootfs_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int coco_path_split(const char *path, char **dir, char **base)
{
	char *a = coco_strdup(path), *b = coco_strdup(path);
	*dir = *base = NULL;
	if (a && b) {
		size_t l = strlen(a);
		while (l > 1 && a[l - 1] == '/') {
			a[--l] = 0;
			b[l] = 0;
		}
		*dir = coco_strdup(dirname(a));
		*base = coco_strdup(basename(b));
	}
	free(a);
	free(b);
	if (*dir && *base)
		return 0;
	free(*dir);
	free(*base);
	*dir = *base = NULL;
	return COCOIMG_ENOMEM;
}

/* Lock the file at path; 1 when another process holds it, 0 taken, <0. */
static int lock_once(coco_rootfs_lock *l)
{
	int fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(fd);
		return e == EWOULDBLOCK ? 1 : -e;
	}
	/* the holder before us may have unlinked the file after we opened
	 * it: then ours is a lock on nothing, try again */
	struct stat a, b;
	if (fstat(fd, &a) < 0 || stat(l->path, &b) < 0 || a.st_ino != b.st_ino ||
	    a.st_dev != b.st_dev) {
		close(fd);
		return 2;
	}
	l->fd = fd;
	return 0;
}

int coco_rootfs_lock_take(cocoimg_ctx *ctx, const char *rootfs, coco_rootfs_lock *out)
{
	out->fd = -1;
	out->path = NULL;
	char *dir, *base;
	if (coco_path_split(rootfs, &dir, &base))
		return coco_oom(ctx);
	int rc = coco_mkdir_p(ctx, dir, 0755);
	if (!rc && !(out->path = coco_asprintf("%s/.%s.coco-unpack.lock", dir, base)))
		rc = coco_oom(ctx);
	free(dir);
	free(base);
	int r = 2;
	for (int tries = 0; !rc && r == 2 && tries < 10; tries++)
		r = lock_once(out);
	if (!rc && r == 1)
		rc = coco_seterr(ctx, COCOIMG_EEXIST,
		                 "another unpack into %s is running (it holds %s)", rootfs, out->path);
	else if (!rc && r)
		rc = coco_seterr(ctx, COCOIMG_EIO, "cannot lock %s: %s", out->path,
		                 r < 0 ? strerror(-r) : "it keeps being replaced");
	if (rc) {
		free(out->path);
		out->path = NULL;
	}
	return rc;
}

void coco_rootfs_lock_release(coco_rootfs_lock *l)
{
	if (l->fd >= 0) {
		unlink(l->path);
		close(l->fd);
	}
	l->fd = -1;
	free(l->path);
	l->path = NULL;
}

/* ".BASE.coco-unpack-" and six mkdtemp characters, nothing else */
static bool is_staging_name(const char *name, const char *prefix, size_t plen)
{
	if (strncmp(name, prefix, plen) || strlen(name) != plen + 6)
		return false;
	for (const char *p = name + plen; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
			return false;
	return true;
}

/* A directory of ours: a real directory (not a symlink) owned by us. */
static bool is_our_dir(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid();
}

void coco_rootfs_clean_stale(cocoimg_ctx *ctx, const char *rootfs)
{
	char *dir, *base, *prefix = NULL, **names = NULL;
	size_t n = 0;
	if (coco_path_split(rootfs, &dir, &base))
		return;
	prefix = coco_asprintf(".%s.coco-unpack-", base);
	cocoimg_ctx *scratch = NULL;   /* keeps ctx's error state as it is */
	if (prefix && cocoimg_ctx_new(&scratch) == 0 &&
	    coco_list_dir(scratch, dir, NULL, true, true, &names, &n) == 0) {
		size_t pl = strlen(prefix);
		for (size_t i = 0; i < n; i++) {
			char *p = is_staging_name(names[i], prefix, pl) ? coco_asprintf("%s/%s", dir, names[i])
			                                                 : NULL;
			if (p && is_our_dir(p)) {
				if (coco_rm_rf(scratch, p))
					coco_warn(ctx, "cannot remove %s, left by an earlier unpack", p);
				else
					coco_info(ctx, "removed %s, left by an earlier unpack", p);
			}
			free(p);
		}
		coco_strv_free(names, n);
	}
	cocoimg_ctx_free(scratch);
	free(prefix);
	free(dir);
	free(base);
}
