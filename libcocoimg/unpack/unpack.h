/*
 * libcocoimg unpack/: internal interfaces shared by the files of this
 * module (path resolution inside the rootfs, whiteouts, decompression, the
 * tar -> filesystem writer).  Not installed.
 *
 * Data flow on the applying thread:
 *
 *   pull (ring / fd / callback)  ->  coco_decomp (gzip | zstd | none)
 *     ->  diff_id sha256  ->  libarchive tar reader  ->  coco_applier
 */
#ifndef COCO_UNPACK_H
#define COCO_UNPACK_H

#include "../base.h"
#include "../digest.h"
#include "../oci/oci.h"

#include <sys/stat.h>

/* ---- safepath.c: resolution inside the rootfs -------------------------- */

/*
 * Clean an entry name lexically as if it were rooted at "/": leading "/",
 * empty and "." components are dropped, ".." removes the previous
 * component and is clamped at the root.  *out receives "a/b/c" ("" for the
 * root itself); *escaped tells whether a ".." tried to climb above the
 * root (the caller decides whether that is fatal).  Returns 0, or
 * COCOIMG_EBADIMAGE when the name is longer than PATH_MAX, ENOMEM.
 */
int coco_sp_clean(const char *name, char **out, bool *escaped);

/* Split a cleaned, non-empty path in place: returns the base name and
 * sets *parent to the parent path ("" for a top-level name). */
const char *coco_sp_split(char *path, const char **parent);

#define COCO_SP_CACHE 8

typedef struct coco_root {
	int fd;                    /* O_PATH|O_DIRECTORY of the rootfs */
	bool use_openat2;          /* cleared at runtime on ENOSYS */
	unsigned long stamp;
	struct {
		char *path;
		int fd;
		unsigned long used;
	} cache[COCO_SP_CACHE];
} coco_root;

/* Open rootfs as the root for resolution. errno-style: 0 or -errno. */
int coco_root_open(coco_root *r, const char *path);
void coco_root_close(coco_root *r);
/* Forget cached directory fds (after anything was removed or replaced). */
void coco_root_invalidate(coco_root *r);

/*
 * Resolve the cleaned directory path `dir` inside the root with chroot
 * semantics (symlinks followed and interpreted inside the root, ".."
 * clamped at the root).  With create, missing components are created
 * (0755) and a non-directory in the way is replaced by a directory; a
 * dangling symlink gets its in-root target created.  *fd is an
 * O_PATH|O_DIRECTORY descriptor owned by the resolver, valid until the
 * next coco_root_* call that may evict it (at least one more lookup).
 * Returns 0 or -errno (ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG, ...).
 */
int coco_root_dir(coco_root *r, const char *dir, bool create, int *fd);

/* ---- whiteout.c: removal and the per-layer set of written paths -------- */

typedef struct coco_pathset {
	char **slots;
	size_t cap, n;
} coco_pathset;

void coco_pathset_clear(coco_pathset *s);
bool coco_pathset_has(const coco_pathset *s, const char *path);
/* Add path only / path and all its ancestors. 0 or COCOIMG_ENOMEM. */
int coco_pathset_add(coco_pathset *s, const char *path);
int coco_pathset_add_with_parents(coco_pathset *s, const char *path);

/* Remove dirfd/name recursively without following symlinks. 0 or -errno
 * (missing is not an error). */
int coco_rm_at(int dirfd, const char *name);

/* Opaque directory: remove every child of dirfd (whose cleaned path is
 * `dirpath`) that is not in `keep`; descends into kept directories.
 * 0 or -errno. */
int coco_opaque_at(int dirfd, const char *dirpath, const coco_pathset *keep);

/* ---- decompress.c ------------------------------------------------------ */

/*
 * Pull callback: hand out the next chunk of input (borrowed, valid until
 * the next call).  Returns its length, 0 at end of input, or a negative
 * COCOIMG_E* code (the error is already recorded on ctx).
 */
typedef ssize_t (*coco_pull_fn)(void *payload, const unsigned char **data);

typedef struct coco_decomp coco_decomp;

int coco_decomp_new(cocoimg_ctx *ctx, coco_compression comp, coco_pull_fn pull,
                    void *payload, const char *what, coco_decomp **out);
/* Fill buf with up to cap decompressed bytes. Returns bytes, 0 at the end
 * of the (fully drained) input, or a negative code (message set; when the
 * pull callback failed its code is returned unchanged and no message is
 * added). */
ssize_t coco_decomp_read(coco_decomp *d, unsigned char *buf, size_t cap);
/* Time spent decompressing (excluding time waiting in pull). */
uint64_t coco_decomp_nsec(const coco_decomp *d);
/* Compressed bytes consumed so far. */
uint64_t coco_decomp_in_bytes(const coco_decomp *d);
void coco_decomp_free(coco_decomp *d);

/* ---- stage.c: a layer applied ahead of its turn -------------------------- */

struct archive_entry;

typedef struct coco_staged_rec {
	char *name;                /* the entry's name in the tar */
	struct archive_entry *e;   /* not a plain file: a copy of its header */
	unsigned seq;              /* a plain file: its name in the stage directory */
} coco_staged_rec;

typedef struct coco_staged {
	coco_staged_rec *recs;
	size_t n, cap;
	size_t bytes, budget;      /* estimated size of the record, its bound */
	unsigned next_seq;
	uint64_t tar_bytes;        /* of the staged layer's tar stream */
} coco_staged;

void coco_staged_init(coco_staged *s, size_t budget);
/* Record an entry: a copy of header e, or (e NULL) the plain file staged
 * as seq.  0, or COCOIMG_ENOMEM (nothing recorded, no message) when out
 * of memory or past the budget. */
int coco_staged_add(coco_staged *s, const char *name, struct archive_entry *e, unsigned seq);
/* Free the records (the budget stays). */
void coco_staged_clear(coco_staged *s);
/* Can a staged layer be replayed from dirfd (the filesystem renames with
 * RENAME_NOREPLACE)? */
bool coco_stage_dir_usable(int dirfd);

/* ---- apply.c: the writer ----------------------------------------------- */

typedef struct coco_applier coco_applier;

typedef struct coco_apply_stats {
	uint64_t decompress_ns;
	uint64_t digest_ns;        /* diff_id hashing */
	uint64_t write_ns;         /* tar parsing + filesystem work */
	uint64_t tar_bytes;
	uint64_t entries;
} coco_apply_stats;

/* Flags for coco_applier_new. */
#define COCO_APPLY_ROOTLESS 1u     /* force unprivileged behaviour */
#define COCO_APPLY_NO_OPENAT2 2u   /* always use the user-space walk (tests) */

/* Open an applier on an existing directory (the staging rootfs). */
int coco_applier_new(cocoimg_ctx *ctx, const char *rootfs, unsigned flags,
                     coco_applier **out);
/* on: the next layers are applied without the diff_id hasher thread (a
 * small layer costs less to hash inline than a thread start). */
void coco_applier_one_thread(coco_applier *ap, bool on);
/*
 * Apply one layer whose (compressed as `comp`) bytes come from pull.
 * Reads the input to its very end, computes the diff_id and compares it
 * with expected_diff_id when given (COCOIMG_EDIGEST).  `what` names the
 * layer in messages.  diff_id_out (optional) receives the computed value.
 * Stats are added to *st when given.
 */
int coco_applier_apply(coco_applier *ap, coco_compression comp, coco_pull_fn pull,
                       void *payload, const char *what, const char *expected_diff_id,
                       char diff_id_out[COCO_DIGEST_STRLEN], coco_apply_stats *st);
/*
 * Staging mode (stage.c): the next coco_applier_apply() writes the plain
 * files of its layer into this applier's directory (a private directory)
 * as numbered files and records every entry into *sg, changing nothing
 * else.  The applier should have been made with a context of its own, not
 * the operation's (its errors then stay there), and takes the caps of
 * `like`, the rootfs's applier.  Whatever would warn (xattrs refused)
 * makes it fail: the layer is then applied in its turn, warnings and all.
 * It stops (COCOIMG_ECANCELLED) soon after *stop becomes non-zero, or
 * when like's context is cancelled or past its deadline (recorded there,
 * as the operation's own checks would).
 */
void coco_applier_stage_into(coco_applier *ap, const coco_applier *like, coco_staged *sg,
                             const int *stop);
/*
 * Apply a staged layer in its turn: its records in order, plain files
 * renamed from stage_fd (the staging applier's directory) into place,
 * exactly as coco_applier_apply() would have applied the stream.  Returns
 * 0, an error (the layer's), or COCO_REPLAY_DECLINED with nothing
 * changed when the image caps say the layer must be applied from its
 * stream (which then reports the cap).
 */
#define COCO_REPLAY_DECLINED 1
int coco_applier_replay(coco_applier *ap, const coco_staged *sg, int stage_fd, const char *what,
                        coco_apply_stats *st);
/* The directory an applier writes into (O_PATH). */
int coco_applier_dirfd(const coco_applier *ap);
/* After the last layer: apply the directory modes that unprivileged
 * unpacking kept owner-rwx meanwhile (deepest first).  Idempotent. */
int coco_applier_finish(coco_applier *ap);
/* Whether the image set the root directory's own metadata. */
bool coco_applier_root_set(const coco_applier *ap);
void coco_applier_free(coco_applier *ap);

#endif /* COCO_UNPACK_H */
