/*
 * tmpblob.c: the temporary file a blob is written to in an OCI layout
 * (DIR/blobs) until its digest checked out, and the sweep of those a
 * killed writer left behind.
 *
 * Where the filesystem allows it the file is created without a name
 * (O_TMPFILE) and linked into place only when complete: there is never
 * a name for a sweeper to remove, and a killed writer leaves nothing.
 * Elsewhere it is DIR/blobs/.tmp-blob-PID-XXXXXX, locked (flock) by its
 * writer, and coco_tmpblob_sweep removes one whose writer is gone.
 * The environment variable COCOIMG_TEST_NO_TMPFILE (tests only) forces
 * the named form.
 */
#ifndef COCO_OCI_TMPBLOB_H
#define COCO_OCI_TMPBLOB_H

#include "../base.h"

typedef struct coco_tmpblob coco_tmpblob;

/* Create a temporary blob in DIR/blobs (which must exist). */
int coco_tmpblob_open(cocoimg_ctx *ctx, const char *dir, coco_tmpblob **out);
/* The descriptor to write to (owned by the blob). */
int coco_tmpblob_fd(const coco_tmpblob *t);
/* A name for messages: its path, or "DIR/blobs (unnamed temporary file)". */
const char *coco_tmpblob_what(const coco_tmpblob *t);
/* Give the complete file the name final (replacing a file there), mode
 * 0644, and close it.  The caller made final's directory. */
int coco_tmpblob_commit(coco_tmpblob *t, const char *final, const char *digest);
/* Close and remove it (nothing is left); then coco_tmpblob_free. */
void coco_tmpblob_discard(coco_tmpblob *t);
void coco_tmpblob_free(coco_tmpblob *t);

/* Remove the named temporary blobs abandoned in DIR/blobs. */
void coco_tmpblob_sweep(cocoimg_ctx *ctx, const char *dir);

#endif /* COCO_OCI_TMPBLOB_H */
