/*
 * Temporary blobs of an OCI layout: unnamed (O_TMPFILE, linked into place
 * when complete) where the filesystem allows it, else named and locked;
 * and the sweep of named ones a killed writer left.  See tmpblob.h.
 */
#include "tmpblob.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TMP_BLOB_PREFIX ".tmp-blob-"

struct coco_tmpblob {
	cocoimg_ctx *ctx;
	char *blobs;               /* DIR/blobs */
	char *path;                /* the named form's path; NULL when unnamed */
	char *what;
	int fd;
};

/* Unnamed files are linked through /proc/self/fd (linkat with
 * AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH); without /proc, or when the
 * tests ask for it, the named form is used. */
static bool unnamed_wanted(void)
{
	const char *no = getenv("COCOIMG_TEST_NO_TMPFILE");
	if (no && *no && strcmp(no, "0"))
		return false;
	return access("/proc/self/fd", X_OK) == 0;
}

/* Does this failure of O_TMPFILE mean the filesystem or kernel has
 * none (then the named form is used)? */
static bool no_tmpfile(int e)
{
	return e == EOPNOTSUPP || e == EISDIR || e == EINVAL;
}

static int open_named(coco_tmpblob *t)
{
	/* the writer's pid in the name and a lock on the file let a later
	 * run tell an abandoned one (coco_tmpblob_sweep) */
	t->path = coco_asprintf("%s/" TMP_BLOB_PREFIX "%ld-XXXXXX", t->blobs, (long)getpid());
	if (!t->path) {
		errno = ENOMEM;
		return -1;
	}
	t->fd = mkostemp(t->path, O_CLOEXEC);
	if (t->fd < 0) {
		free(t->path);
		t->path = NULL;
	}
	return t->fd;
}

/* The file, unnamed when it can be; -1 with errno set. */
static int open_tmp(coco_tmpblob *t)
{
	if (unnamed_wanted()) {
		t->fd = open(t->blobs, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (t->fd >= 0 || !no_tmpfile(errno))
			return t->fd;
	}
	return open_named(t);
}

int coco_tmpblob_open(cocoimg_ctx *ctx, const char *dir, coco_tmpblob **out)
{
	*out = NULL;
	coco_tmpblob *t = calloc(1, sizeof(*t));
	if (!t)
		return coco_oom(ctx);
	t->ctx = ctx;
	t->fd = -1;
	t->blobs = coco_asprintf("%s/blobs", dir);
	if (!t->blobs) {
		coco_tmpblob_free(t);
		return coco_oom(ctx);
	}
	if (open_tmp(t) < 0) {
		int rc = errno == ENOMEM ? coco_oom(ctx)
		                         : coco_seterr(ctx, COCOIMG_EIO, "cannot create a blob in %s: %s",
		                                       t->blobs, strerror(errno));
		coco_tmpblob_free(t);
		return rc;
	}
	/* held until closed, or until we die: a named one is never swept
	 * while we write it, an unnamed one not while it is being named */
	flock(t->fd, LOCK_EX | LOCK_NB);
	t->what = t->path ? coco_strdup(t->path)
	                  : coco_asprintf("%s (unnamed temporary file)", t->blobs);
	if (!t->what) {
		coco_tmpblob_discard(t);
		coco_tmpblob_free(t);
		return coco_oom(ctx);
	}
	*out = t;
	return 0;
}

int coco_tmpblob_fd(const coco_tmpblob *t)
{
	return t->fd;
}

const char *coco_tmpblob_what(const coco_tmpblob *t)
{
	return t->what;
}

/* A file is at final already (rename would replace it): link ours to a
 * fresh temporary name and rename that over it.  A sweeper leaves the
 * temporary name alone: it is our file, which we hold the lock on. */
static int link_replacing(coco_tmpblob *t, const char *proc, const char *final)
{
	static unsigned seq;
	for (int tries = 0; tries < 100; tries++) {
		char *tmp = coco_asprintf("%s/" TMP_BLOB_PREFIX "%ld-L%u", t->blobs, (long)getpid(),
		                          __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
		if (!tmp) {
			errno = ENOMEM;
			return -1;
		}
		if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) < 0) {
			int e = errno;
			free(tmp);
			errno = e;
			if (e == EEXIST)
				continue;  /* a name left by an earlier process of our pid */
			return -1;
		}
		int r = rename(tmp, final), e = errno;
		if (r < 0)
			unlink(tmp);
		free(tmp);
		errno = e;
		return r;
	}
	errno = EEXIST;
	return -1;
}

/* Give the unnamed file its name. */
static int link_unnamed(coco_tmpblob *t, const char *final)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", t->fd);
	if (linkat(AT_FDCWD, proc, AT_FDCWD, final, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	return errno == EEXIST ? link_replacing(t, proc, final) : -1;
}

int coco_tmpblob_commit(coco_tmpblob *t, const char *final, const char *digest)
{
	int rc = 0;
	if (fchmod(t->fd, 0644) < 0)
		rc = coco_seterr(t->ctx, COCOIMG_EIO, "cannot write blob %s: %s", digest, strerror(errno));
	else if (t->path ? rename(t->path, final) < 0 : link_unnamed(t, final) < 0)
		rc = coco_seterr(t->ctx, COCOIMG_EIO, "cannot store blob %s: %s", digest, strerror(errno));
	/* closed once named (an unnamed file is named through its
	 * descriptor, and the lock covers it until it has its name); a late
	 * write error takes the name away again */
	if (close(t->fd) < 0 && !rc) {
		rc = coco_seterr(t->ctx, COCOIMG_EIO, "cannot write blob %s: %s", digest, strerror(errno));
		unlink(final);
	}
	t->fd = -1;
	if (rc && t->path)
		unlink(t->path);
	free(t->path);
	t->path = NULL;
	return rc;
}

void coco_tmpblob_discard(coco_tmpblob *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	if (t->path)
		unlink(t->path);
	free(t->path);
	t->path = NULL;
}

void coco_tmpblob_free(coco_tmpblob *t)
{
	if (!t)
		return;
	if (t->fd >= 0)
		close(t->fd);
	free(t->path);
	free(t->what);
	free(t->blobs);
	free(t);
}

/*
 * A named temporary blob that nobody writes any more: ours (same owner),
 * not locked (its writer holds a lock on it until it closes it or dies),
 * and either its writer (the pid in its name) is gone or it was not
 * modified for STALE_TMP_SECS (a writer in another pid namespace, or a
 * file from a version that did not lock).  A live writer is never in the
 * way: it holds the lock, and in this pid namespace it is not gone either.
 */
#define STALE_TMP_SECS 600

static bool tmp_unlocked(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return false;
	bool free_ = flock(fd, LOCK_EX | LOCK_NB) == 0;
	close(fd);
	return free_;
}

static bool tmp_abandoned(const char *path, const char *name)
{
	struct stat st;
	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    !tmp_unlocked(path))
		return false;
	if (time(NULL) - st.st_mtime >= STALE_TMP_SECS)
		return true;
	char *end;
	long pid = strtol(name + strlen(TMP_BLOB_PREFIX), &end, 10);
	if (*end != '-' || pid <= 0)
		return false;
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

void coco_tmpblob_sweep(cocoimg_ctx *ctx, const char *dir)
{
	char *bd = coco_asprintf("%s/blobs", dir), **names = NULL;
	size_t n = 0;
	cocoimg_ctx *scratch = NULL;   /* keeps ctx's error state as it is */
	if (bd && cocoimg_ctx_new(&scratch) == 0 &&
	    coco_list_dir(scratch, bd, NULL, true, true, &names, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			if (strncmp(names[i], TMP_BLOB_PREFIX, strlen(TMP_BLOB_PREFIX)))
				continue;
			char *p = coco_asprintf("%s/%s", bd, names[i]);
			if (p && tmp_abandoned(p, names[i]) && unlink(p) == 0)
				coco_info(ctx, "removed %s, left by an earlier run", p);
			free(p);
		}
		coco_strv_free(names, n);
	}
	cocoimg_ctx_free(scratch);
	free(bd);
}
