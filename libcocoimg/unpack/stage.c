/*
 * A layer applied ahead of its turn: the record of what it holds.
 *
 * While an earlier, large layer still streams into the rootfs, the next
 * layer can be read, checked and written on another thread into a private
 * directory (a sibling of the staging rootfs, on the same filesystem).
 * The expensive part of a many-file layer is making its regular files:
 * those are created there under numbered names with their data, owner,
 * xattrs, mode and times.  Every other entry (directories, symlinks,
 * nodes, hardlinks, whiteouts, the root) is only recorded, as a copy of
 * its tar header.  In its turn the layer is replayed in tar order by the
 * applier of the real rootfs (apply.c, coco_applier_replay): the same
 * resolution, removal and whiteout rules as a layer read from its
 * stream, a plain file being renamed into place instead of written.  So
 * the result is the one of applying the layers one after the other, and
 * nothing of the later layer touches the rootfs before the earlier one is
 * complete.
 *
 * The record is bounded (`budget` bytes, an estimate of what it holds):
 * past it, staging gives up and the layer is applied in its turn.
 */
#include "unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* what a copied header costs, besides its strings (libarchive's entry
 * object and allocator overhead, generously) */
#define HEADER_COST 1024u
#define REC_COST 48u

void coco_staged_init(coco_staged *s, size_t budget)
{
	memset(s, 0, sizeof(*s));
	s->budget = budget;
}

static size_t header_cost(struct archive_entry *e)
{
	size_t n = HEADER_COST;
	const char *t = archive_entry_symlink(e);
	n += t ? strlen(t) : 0;
	t = archive_entry_hardlink(e);
	n += t ? strlen(t) : 0;
	const char *xn;
	const void *xv;
	size_t xs;
	if (archive_entry_xattr_reset(e) > 0)
		while (archive_entry_xattr_next(e, &xn, &xv, &xs) == ARCHIVE_OK)
			n += xs + (xn ? strlen(xn) : 0) + 32;
	return n;
}

int coco_staged_add(coco_staged *s, const char *name, struct archive_entry *e, unsigned seq)
{
	size_t cost = REC_COST + strlen(name) + (e ? header_cost(e) : 0);
	if (s->bytes + cost > s->budget)
		return COCOIMG_ENOMEM;
	if (s->n == s->cap) {
		size_t nc = s->cap ? 2 * s->cap : 256;
		coco_staged_rec *nr = realloc(s->recs, nc * sizeof(*nr));
		if (!nr)
			return COCOIMG_ENOMEM;
		s->recs = nr;
		s->cap = nc;
	}
	coco_staged_rec *r = &s->recs[s->n];
	r->name = strdup(name);
	r->e = e ? archive_entry_clone(e) : NULL;
	r->seq = seq;
	if (!r->name || (e && !r->e)) {
		free(r->name);
		archive_entry_free(r->e);
		return COCOIMG_ENOMEM;
	}
	s->n++;
	s->bytes += cost;
	return 0;
}

void coco_staged_clear(coco_staged *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->recs[i].name);
		archive_entry_free(s->recs[i].e);
	}
	free(s->recs);
	size_t budget = s->budget;
	coco_staged_init(s, budget);
}

bool coco_stage_dir_usable(int dirfd)
{
	/* a replay renames with RENAME_NOREPLACE, which not every
	 * filesystem offers: try it once here, where nothing is at stake */
	int fd = openat(dirfd, ".probe", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	close(fd);
	bool ok = renameat2(dirfd, ".probe", dirfd, ".probe2", RENAME_NOREPLACE) == 0;
	unlinkat(dirfd, ok ? ".probe2" : ".probe", 0);
	return ok;
}
