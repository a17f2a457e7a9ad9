/*
 * rootfs_lock.c: one unpack at a time per ROOTFS, and the leftovers of
 * killed ones.  A lock file beside ROOTFS (".BASE.coco-unpack.lock",
 * flock) is taken before anything is downloaded, so a second unpack into
 * the same ROOTFS fails at once; while it is held, staging directories
 * beside ROOTFS (".BASE.coco-unpack-XXXXXX") belong to dead runs and are
 * removed.
 */
#ifndef COCO_ROOTFS_LOCK_H
#define COCO_ROOTFS_LOCK_H

#include "base.h"

typedef struct coco_rootfs_lock {
	int fd;                    /* -1 when not held */
	char *path;
} coco_rootfs_lock;

/* Take the lock for rootfs (its parent directory is created if needed).
 * COCOIMG_EEXIST when another unpack holds it. */
int coco_rootfs_lock_take(cocoimg_ctx *ctx, const char *rootfs, coco_rootfs_lock *out);
/* Remove the staging directories of earlier, killed unpacks into rootfs
 * (call with the lock held); failures are warnings. */
void coco_rootfs_clean_stale(cocoimg_ctx *ctx, const char *rootfs);
/* Unlink and release (no-op when not held). */
void coco_rootfs_lock_release(coco_rootfs_lock *l);

/* Split a path into its directory and base name (trailing slashes
 * dropped); caller frees both. 0 or COCOIMG_ENOMEM. */
int coco_path_split(const char *path, char **dir, char **base);

#endif /* COCO_ROOTFS_LOCK_H */
