/*
 * Image transports, the interface: a source (coco_src) gives manifests and
 * streams blobs into a stage chain; a destination (coco_dest) stores blobs
 * through sink stages and manifests, then commits.  The back ends
 * implement it (oci/layout.c, oci/archive.c, registry/pull.c,
 * registry/push.c); operations (image*.c) use it.  Base level: depends on
 * stages, references and errors only.  Not installed.
 */
#ifndef COCO_TRANSPORT_H
#define COCO_TRANSPORT_H

#include "base.h"
#include "digest.h"
#include "ref.h"
#include "stream.h"

/* A content descriptor (oci/): transports only pass it along. */
typedef struct coco_desc coco_desc;
/* A referrers list (oci/referrers.h). */
typedef struct coco_referrers coco_referrers;

typedef struct coco_src coco_src;
typedef struct coco_dest coco_dest;

struct coco_src_ops {
	/*
	 * Fetch a manifest.  digest NULL means "the one the reference names"
	 * (tag, digest, or the layout's only/tagged entry).  Returns the raw
	 * bytes exactly as stored (the caller digests them) and the media
	 * type.  For a digest request the source verifies the bytes match.
	 */
	int (*get_manifest)(coco_src *s, const char *digest, coco_buf *out,
	                    char **media_type);
	/*
	 * Stream a blob into sink (and finish it).  The source does not
	 * verify: callers put a verify stage first in the chain.  A source
	 * that can resume (registry Range) hands each byte to sink once.
	 */
	int (*get_blob)(coco_src *s, const coco_desc *d, coco_stage *sink);
	/*
	 * Optional (NULL: the source keeps no referrers, nothing is found):
	 * append to out the referrers of manifest `digest` (OCI 1.1: the
	 * manifests whose subject is digest), only those of artifact_type
	 * when it is not NULL.  A source without any is not an error.  The
	 * list is unverified: fetch each manifest with get_manifest(digest).
	 */
	int (*list_referrers)(coco_src *s, const char *digest, const char *artifact_type,
	                      coco_referrers *out);
	/* Release what impl holds (not impl itself: coco_src_close frees
	 * it); also called on a source whose open failed part way. */
	void (*close)(coco_src *s);
};

struct coco_src {
	const struct coco_src_ops *ops;
	cocoimg_ctx *ctx;
	coco_ref *ref;             /* owned */
	const char *side;          /* "src" or "dest" config side */
	void *impl;
};

/* For back ends: a new source of ops on ref (owned from here on, freed on
 * failure too) with impl a zeroed allocation of impl_size bytes.  Closing
 * it runs ops->close (which releases what impl holds), then frees ref and
 * impl.  0, or COCOIMG_ENOMEM recorded on ctx. */
int coco_src_new(cocoimg_ctx *ctx, const struct coco_src_ops *ops, coco_ref *ref,
                 const char *side, size_t impl_size, coco_src **out);
void coco_src_close(coco_src *s);

struct coco_dest_ops {
	/* 1 if the blob is already present, 0 if not, <0 error. */
	int (*has_blob)(coco_dest *d, const char *digest, int64_t size);
	/*
	 * Start writing a blob.  expected_digest/size may be NULL/-1 when not
	 * known in advance (encryption).  Returns a sink stage; after its
	 * finish() succeeded, coco_dest_blob_done() gives digest and size and
	 * the blob is stored under its digest.  Destroying the sink without a
	 * successful finish discards it.
	 */
	int (*put_blob)(coco_dest *d, const char *expected_digest, int64_t size,
	                coco_stage **sink);
	/* Copy a blob that the source has in the same registry (cross-repo
	 * mount). Optional; NULL or COCOIMG_EUNSUPPORTED = not possible. */
	int (*mount_blob)(coco_dest *d, coco_src *from, const char *digest);
	/*
	 * Store a manifest.  top=true for the manifest the destination
	 * reference names (tagged with the ref's tag); false for instances of
	 * an index (stored by digest only).
	 */
	int (*put_manifest)(coco_dest *d, const void *data, size_t len,
	                    const char *media_type, bool top);
	/*
	 * Optional (NULL: 0): after put_manifest of a manifest whose subject
	 * is subject_digest, 1 when the destination keeps that subject's
	 * referrers list itself (a registry with the OCI 1.1 referrers API
	 * answered the push with OCI-Subject), 0 when the writer must keep
	 * the referrers tag schema's index up to date.
	 */
	int (*subject_tracked)(coco_dest *d, const char *subject_digest);
	/* Make everything visible (layout index.json, archive file).  On
	 * failure or without commit, close() leaves nothing behind. */
	int (*commit)(coco_dest *d);
	/* As coco_src_ops.close. */
	void (*close)(coco_dest *d);
};

struct coco_dest {
	const struct coco_dest_ops *ops;
	cocoimg_ctx *ctx;
	coco_ref *ref;             /* owned */
	const char *side;
	void *impl;
};

/* For back ends: the same for a destination (side "dest"). */
int coco_dest_new(cocoimg_ctx *ctx, const struct coco_dest_ops *ops, coco_ref *ref,
                  size_t impl_size, coco_dest **out);
void coco_dest_close(coco_dest *d);
/* After a put_blob sink finished: the digest and size of what was stored. */
void coco_dest_blob_done(coco_stage *sink, char digest[COCO_DIGEST_STRLEN],
                         uint64_t *size);
/* Before any byte is written: the sink's digest comes from fn (see
 * coco_verify_stage_digest_from). */
void coco_dest_blob_digest_from(coco_stage *sink, coco_digest_source fn, void *arg);

/*
 * How every put_blob sink is made (so coco_dest_blob_done() works on any
 * destination): coco_blob_sink_new() returns a head stage whose `next` is
 * a verify stage (counts, digests, checks expected_digest/size when given)
 * which feeds `inner`, the back end's writer (temp file, upload body...).
 * The sink's finish() finishes verify+inner, then calls
 * ops->commit(arg, digest, size) to store the blob under its digest
 * (rename, PUT ?digest=).  If finish fails or the sink is destroyed before
 * a successful commit, ops->discard(arg) runs (unlink the temp file, cancel
 * the upload); ops->release(arg) (may be NULL) always runs at destroy.
 * Callers free the whole chain with coco_stage_chain_free(sink) (or the
 * head of a chain that ends in it).  commit may be called from any
 * thread; put_blob implementations must be thread-safe.
 */
typedef struct coco_blob_sink_ops {
	int (*commit)(void *arg, const char *digest, uint64_t size);
	void (*discard)(void *arg);
	void (*release)(void *arg);
} coco_blob_sink_ops;
int coco_blob_sink_new(cocoimg_ctx *ctx, const char *expected_digest, int64_t expected_size,
                       const char *what, coco_stage *inner, const coco_blob_sink_ops *ops,
                       void *arg, coco_stage **out);


#endif
