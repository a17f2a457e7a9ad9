/*
 * cocoimg_unpack(): the pipeline that pulls, verifies, decrypts and applies
 * an image's layers into a staging rootfs, then commits it.
 *
 * Per layer, two threads joined by a ring of buffers:
 *
 *   producer:  source (registry / layout / spool file) -> meter (network
 *              time, progress) -> verify (size + digest) -> decrypt + HMAC
 *              (encrypted layers) -> ring
 *   consumer:  ring -> decompress -> diff_id -> tar reader -> writer
 *              (the calling thread, unpack/apply.c)
 *
 * The ring only reports end-of-stream after the verify and decrypt stages
 * finished successfully, so the consumer having read to the end means the
 * blob digest and the HMAC checked out; the consumer then checks the
 * diff_id.  While layer i is applied, up to parallel-1 later layers of a
 * registry image download into unnamed temporary files (O_TMPFILE in the
 * ctx "tmpdir"; all together within max-spool-size), exactly as received — still compressed and encrypted —
 * and digest checked; when their turn comes they are replayed through the
 * same producer chain (digest checked again, then decrypted).
 * docs/pipeline.md has the whole thread layout and the error rule.
 */
#include "api.h"
#include "base.h"
#include "caps.h"
#include "crypt/crypt.h"
#include "digest.h"
#include "image_open.h"
#include "image_trust.h"
#include "json.h"
#include "crypt/crypt.h"
#include "image_broker.h"
#include "image_plain.h"
#include "report.h"
#include "oci/oci.h"
#include "oci/resolve.h"
#include "pipeline.h"
#include "pump.h"
#include "ref.h"
#include "stream.h"
#include "transport.h"
#include "unpack/unpack.h"
#include "rootfs_lock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RING_NBUFS 4
#define RING_BUFSZ (256 * 1024)
/* decompressed tar between the decompression thread and the applier */
#define DRING_NBUFS 4
#define DRING_BUFSZ (1024 * 1024)
#define PROGRESS_STEP (4u << 20)
/* A layer blob up to this size is fetched whole into memory and applied
 * on the caller's thread: for it, starting the fetch, decrypt, decompress
 * and hash threads and handing rings between them costs more than the
 * work (a busybox base layer is under 1 MiB).  Small layers are
 * downloaded ahead into memory instead of spool files, at most
 * MEM_SPOOL_CAP bytes of them at a time. */
#define SMALL_LAYER (1u << 20)
#define MEM_SPOOL_CAP (4u << 20)

/* ------------------------------------------------------------------ */
/* State                                                               */
/* ------------------------------------------------------------------ */

enum { J_IDLE = 0, J_SPOOLING, J_SPOOLED, J_FAILED };

typedef struct ustats {
	uint64_t network, digest, decrypt, decompress, write, blob_bytes, tar_bytes, entries;
} ustats;

typedef struct job {
	struct run *run;
	size_t idx;
	const coco_desc *d;
	const coco_layer_opts *key;  /* encrypted: the options opened before any fetch */
	char what[COCO_DIGEST_STRLEN + 16];
	int state;
	int fd;
	int rc;
	uint64_t spool_bytes;      /* its share of the spool, reserved (guarded by mu) */
	bool in_mem;               /* spooled into mem, not a file (guarded by mu) */
	coco_buf mem;              /* a small layer's blob, as stored */
	coco_thread th;            /* the download into the spool file */
} job;

typedef struct run {
	cocoimg_ctx *ctx;
	coco_src *src;
	cocoimg_keyring *kr;
	unsigned flags;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int abort;                 /* read with __atomic */
	job *jobs;
	size_t n;
	size_t next_spool;
	unsigned spooling;
	unsigned parallel;
	const char *tmpdir;
	uint64_t spool_cap;        /* max-spool-size */
	uint64_t spool_used;       /* bytes reserved by spooled layers (mu) */
	uint64_t mem_used;         /* of which held in memory (mu) */
	ustats st;                 /* guarded by mu */
} run;

static bool aborted(run *r) { return __atomic_load_n(&r->abort, __ATOMIC_ACQUIRE) != 0; }

static bool is_small(const job *j) { return j->d->size > 0 && j->d->size <= SMALL_LAYER; }

/* The meter at the head of a layer's chain: network time, progress every
 * PROGRESS_STEP bytes (phase download into a spool file, apply into the
 * rootfs), and a stop when the run is aborted. */
static coco_meter_opts layer_meter(run *r, const job *j, int phase)
{
	coco_meter_opts o = { .what = "layer", .digest = j->d->digest, .total = j->d->size,
	                      .step = PROGRESS_STEP, .cancel = &r->abort, .phase = phase,
	                      .layer = (unsigned)j->idx + 1, .layers = (unsigned)r->n };
	return o;
}

/* ---- spooling later layers ---- */

static int open_spool(run *r)
{
	int fd = open(r->tmpdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	char *p = coco_asprintf("%s/coco-unpack-XXXXXX", r->tmpdir);
	if (!p)
		return -1;
	fd = mkostemp(p, O_CLOEXEC);
	if (fd >= 0)
		unlink(p);
	free(p);
	return fd;
}

/* Give back a layer's share of the spool.  Called with r->mu held. */
static void spool_release(run *r, job *j)
{
	r->spool_used -= j->spool_bytes;
	if (j->in_mem)
		r->mem_used -= j->spool_bytes;
	j->spool_bytes = 0;
	j->in_mem = false;
}

/*
 * May layer j be downloaded ahead now (max-spool-size bounds the bytes
 * of every layer in the spool together)?  1 yes (its share is reserved),
 * 0 never: it alone is over the cap, it is streamed in its turn, -1 not
 * yet: wait until earlier layers left the spool.  Called with r->mu held.
 */
static int spool_admit(run *r, job *j)
{
	uint64_t size = j->d->size > 0 ? (uint64_t)j->d->size : 0;
	if (size > r->spool_cap) {
		coco_debug(r->ctx, "%s: %llu bytes, more than the spool may hold (max-spool-size "
		           "%llu): downloaded in its turn", j->what, (unsigned long long)size,
		           (unsigned long long)r->spool_cap);
		return 0;
	}
	if (r->spool_used + size > r->spool_cap)
		return -1;
	r->spool_used += size;
	j->spool_bytes = size;
	return 1;
}

/*
 * A download ahead of its turn failed (a full or failing spool directory,
 * or the network): drop the spool file and fetch the layer again in its
 * turn, streamed, which reports a real error properly.  No more spooling
 * after that.  Called with r->mu held.
 */
static void spool_fallback(run *r, job *j)
{
	coco_warn(r->ctx, "%s: could not be fetched ahead into the spool directory %s (%s)%s; "
	          "it is downloaded in its turn", j->what, r->tmpdir, cocoimg_ctx_last_error(r->ctx),
	          strstr(cocoimg_ctx_last_error(r->ctx), strerror(ENOSPC))
	                  ? ": the spool directory is full (set TMPDIR, --tmpdir or the tmpdir key)"
	                  : "");
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
	coco_buf_free(&j->mem);
	j->state = J_IDLE;
	spool_release(r, j);
	r->parallel = 1;
}

/* Download a layer into its spool file (or memory): source -> meter ->
 * verify -> file; the time in the network and the digest into *net, *dg. */
static int download(run *r, job *j, uint64_t *net, uint64_t *dg)
{
	cocoimg_ctx *ctx = r->ctx;
	coco_pipe pl;
	coco_stage *s;
	coco_meter_opts mo = layer_meter(r, j, COCOIMG_PHASE_DOWNLOAD);
	coco_pipe_init(&pl, ctx, NULL);
	if (j->in_mem) {
		coco_pipe_push(&pl, coco_buf_stage_new(ctx, &j->mem, (size_t)j->d->size,
		                                       COCOIMG_EBADIMAGE, &s), &s);
		/* reserved to the descriptor's size, which the blob fills */
		coco_prefault(j->mem.data, j->mem.cap);
	} else
		coco_pipe_push(&pl, coco_fd_stage_new(ctx, j->fd, j->what, &s), &s);
	coco_pipe_push(&pl, coco_verify_stage_new(ctx, j->d->digest, j->d->size, j->what,
	                                          coco_pipe_head(&pl), &s), &s);
	coco_pipe_push(&pl, coco_meter_stage_new(ctx, &mo, coco_pipe_head(&pl), &s), &s);
	if (!coco_pipe_built(&pl)) {
		coco_stage *m = coco_pipe_head(&pl);
		coco_pipe_note(&pl, 0, r->src->ops->get_blob(r->src, j->d, m));
		*net = m->nsec;
		*dg = m->next->nsec;
	}
	return coco_pipe_end(&pl);
}

/* Download one later layer ahead of its turn, on a thread of its own. */
static int spool_main(void *arg)
{
	job *j = arg;
	run *r = j->run;
	uint64_t net = 0, dg = 0;
	int rc = download(r, j, &net, &dg);
	pthread_mutex_lock(&r->mu);
	r->st.network += net;
	r->st.digest += dg;
	j->rc = rc;
	j->state = rc ? J_FAILED : J_SPOOLED;
	if (rc && !aborted(r))
		spool_fallback(r, j);
	r->spooling--;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return rc;
}

/* Where a spooled layer goes: memory for a small one while there is
 * room, else a spool file.  false: no spool file can be made (spooling
 * stops).  Called with r->mu held. */
static bool spool_place(run *r, job *j)
{
	if (is_small(j) && r->mem_used + j->spool_bytes <= MEM_SPOOL_CAP) {
		j->in_mem = true;
		r->mem_used += j->spool_bytes;
	} else {
		j->fd = open_spool(r);
	}
	if (j->in_mem || j->fd >= 0) {
		coco_debug(r->ctx, "%s: spooled ahead in %s (%llu of %llu bytes of max-spool-size in use)",
		           j->what, j->in_mem ? "memory" : r->tmpdir, (unsigned long long)r->spool_used,
		           (unsigned long long)r->spool_cap);
		return true;
	}
	spool_release(r, j);
	coco_warn(r->ctx, "cannot create a spool file in %s: %s (downloading in turn)", r->tmpdir,
	          strerror(errno));
	r->parallel = 1;
	return false;
}

/* Before any layer is applied, layer `first` is fetched ahead only when
 * it is small and within max-spool-size; else it simply comes in its
 * turn, which is next anyway (nothing to say about the spool). */
static bool first_ahead(const run *r, const job *j)
{
	return is_small(j) && (uint64_t)j->d->size <= r->spool_cap;
}

/*
 * Keep up to parallel-1 downloads of layers from `first` on running, as
 * long as the threads budget has room for their threads.
 * idle: no layer is being applied yet (the config is being fetched), so
 * layer `first` is only fetched ahead when it is small; a larger one is
 * streamed in its turn.
 */
static void start_spools(run *r, size_t first, bool idle)
{
	if (r->parallel <= 1)
		return;
	pthread_mutex_lock(&r->mu);
	if (r->next_spool < first)
		r->next_spool = first;
	while (!aborted(r) && r->spooling < r->parallel - 1 && r->next_spool < r->n &&
	       coco_thread_room(r->ctx) > 0) {
		job *j = &r->jobs[r->next_spool];
		int admit = idle && j->idx == first && !first_ahead(r, j) ? 0 : spool_admit(r, j);
		if (admit < 0)
			break;
		if (admit == 0) {
			r->next_spool++;
			continue;
		}
		if (!spool_place(r, j))
			break;
		j->state = J_SPOOLING;
		if (!coco_thread_try(&j->th, r->ctx, "spool", spool_main, j)) {
			if (j->fd >= 0)
				close(j->fd);
			j->fd = -1;
			j->state = J_IDLE;
			spool_release(r, j);
			break;
		}
		r->spooling++;
		r->next_spool++;
	}
	pthread_mutex_unlock(&r->mu);
}

static void stop_spools(run *r)
{
	__atomic_store_n(&r->abort, 1, __ATOMIC_RELEASE);
	for (size_t i = 0; i < r->n; i++) {
		job *j = &r->jobs[i];
		coco_thread_join(&j->th);
		if (j->fd >= 0)
			close(j->fd);
		j->fd = -1;
		coco_buf_free(&j->mem);
	}
}

/* ---- one layer: a pipeline in three sections ---- */

/* Sections of a layer's pipeline, numbered from the source: on failure
 * the lowest one's error is the layer's error (pipeline.h). */
enum { SEC_FETCH = 0, SEC_DECOMPRESS = 1, SEC_APPLY = 2 };

typedef struct layer_pipe {
	run *run;
	job *job;
	coco_pipe pl;
	coco_ring *ring;           /* fetch -> decompress (or apply) */
	coco_ring *tar;            /* decompress -> apply; NULL: apply decompresses */
	coco_stage *dec;           /* decrypt stage, for stats */
	coco_stage *verify;
	char *plain_mt;
	coco_compression comp;
	uint64_t decomp_ns;
	coco_pump *pump;           /* no thread to spare: the chain ends here */
} layer_pipe;

/* Section 0: source -> meter -> verify -> [async -> decrypt] -> ring. */
static int fetch_main(void *arg)
{
	layer_pipe *lp = arg;
	run *r = lp->run;
	job *j = lp->job;
	coco_stage *head = coco_pipe_head(&lp->pl);
	int rc;
	if (j->state != J_SPOOLED)
		rc = r->src->ops->get_blob(r->src, j->d, head);
	else if (lseek(j->fd, 0, SEEK_SET) < 0)
		rc = coco_seterr(r->ctx, COCOIMG_EIO, "%s: cannot rewind spool file: %s", j->what,
		                 strerror(errno));
	else
		rc = coco_stage_pump_fd(head, j->fd, j->what);
	if (rc)
		coco_ring_abort(lp->ring, rc);
	return rc;
}

typedef struct ring_src {
	coco_ring *ring;
	bool borrowed;
} ring_src;

static ssize_t ring_pull(void *arg, const unsigned char **data)
{
	ring_src *rs = arg;
	if (rs->borrowed) {
		coco_ring_release(rs->ring);
		rs->borrowed = false;
	}
	ssize_t n = coco_ring_borrow(rs->ring, data);
	if (n > 0)
		rs->borrowed = true;
	return n;
}

/* Read a ring to its end (or abort), so its producer can finish. */
static void ring_drain(ring_src *rs)
{
	const unsigned char *d;
	while (ring_pull(rs, &d) > 0)
		;
	if (rs->borrowed)
		coco_ring_release(rs->ring);
	rs->borrowed = false;
}

/* Inflate from the pull source into the tar ring until the end. */
static int inflate_into(layer_pipe *lp, coco_decomp *dc)
{
	for (;;) {
		unsigned char *w;
		ssize_t room = coco_ring_wbuf(lp->tar, &w);
		if (room < 0)
			return (int)room;
		ssize_t n = coco_decomp_read(dc, w, (size_t)room);
		if (n <= 0)
			return n < 0 ? (int)n : coco_stage_finish(coco_ring_stage(lp->tar));
		int rc = coco_ring_commit(lp->tar, (size_t)n);
		if (rc)
			return rc;
	}
}

/*
 * Section 1 (compressed layers): pulls the verified, decrypted blob from
 * the fetch ring and inflates straight into the tar ring that the applier
 * reads, so inflate, the tar writer and the diff_id hasher each get a
 * thread.  End of stream is only passed on after the decompressor saw
 * the end of its input, i.e. after the fetch section's digest and HMAC
 * checks passed.  On any failure (its own, or the applier aborting the
 * tar ring) it drains its input, so the fetch section can finish its
 * checks (their errors explain a broken stream best), then aborts the
 * tar ring.
 */
static int decompress_main(void *arg)
{
	layer_pipe *lp = arg;
	ring_src rs = { lp->ring, false };
	coco_decomp *dc = NULL;
	int rc = coco_decomp_new(lp->run->ctx, lp->comp, ring_pull, &rs, lp->job->what, &dc);
	if (!rc)
		rc = inflate_into(lp, dc);
	if (rc) {
		ring_drain(&rs);
		coco_ring_abort(lp->tar, rc);
	}
	if (rs.borrowed)
		coco_ring_release(lp->ring);
	lp->decomp_ns = dc ? coco_decomp_nsec(dc) : 0;
	coco_decomp_free(dc);
	return rc;
}

/* The decrypting stage of an encrypted layer: with the options opened by
 * the preflight when there are some, else unwrapped now. */
static int decrypt_stage(run *r, cocoimg_ctx *ctx, job *j, coco_stage *next, coco_stage **dec,
                         char **plain_mt)
{
	if (!j->key || !j->key->have_symkey)
		return coco_crypt_decrypt_stage_new(ctx, r->kr, j->d, next, dec, plain_mt);
	*plain_mt = coco_strndup(j->d->media_type, strlen(j->d->media_type) - strlen("+encrypted"));
	if (!*plain_mt)
		return coco_oom(ctx);
	return coco_layer_decrypt_stage_new(ctx, j->key, j->what, next, dec);
}

/* The fetch section's stages, from the ring back to the source. */
static int build_fetch(layer_pipe *lp)
{
	run *r = lp->run;
	job *j = lp->job;
	cocoimg_ctx *ctx = r->ctx;
	coco_stage *s;
	int rc = lp->pump ? coco_pump_sink_new(lp->pump, &s)
	                  : coco_pipe_ring(&lp->pl, RING_NBUFS, RING_BUFSZ, &lp->ring);
	if (rc)
		return rc;
	if (!lp->pump)
		s = coco_ring_stage(lp->ring);
	coco_pipe_push(&lp->pl, 0, &s);
	const char *mt = j->d->media_type;
	if (coco_mt_is_encrypted(mt)) {
		if (!r->kr)
			return coco_seterr(ctx, COCOIMG_ENOKEY,
			                   "%s is encrypted and no decryption key was given", j->what);
		rc = decrypt_stage(r, ctx, j, coco_pipe_head(&lp->pl), &s, &lp->plain_mt);
		if (coco_pipe_push(&lp->pl, rc, &s))
			return rc;
		lp->dec = s;
		mt = lp->plain_mt;
	}
	lp->comp = coco_mt_compression(mt);
	if (lp->comp == COCO_COMP_UNKNOWN)
		return coco_seterr(ctx, COCOIMG_EUNSUPPORTED, "%s: unsupported media type %s", j->what,
		                   mt);
	/* encrypted: fetch + blob digest | HMAC + AES on another thread (or
	 * all on one, if that thread cannot start or the threads budget keeps
	 * its last place for the fetch thread) */
	if (lp->dec && !lp->pump && coco_thread_room(ctx) >= 2 &&
	    coco_async_stage_new(ctx, 0, RING_BUFSZ, coco_pipe_head(&lp->pl), &s) == 0)
		coco_pipe_push(&lp->pl, 0, &s);
	rc = coco_verify_stage_new(ctx, j->d->digest, j->d->size, j->what, coco_pipe_head(&lp->pl),
	                           &s);
	if (coco_pipe_push(&lp->pl, rc, &s))
		return rc;
	lp->verify = s;
	/* the cipher hashes the ciphertext in its HMAC's pass (sha2x.h) */
	if (lp->dec)
		coco_layer_stage_feed_verify(lp->dec, s);
	coco_meter_opts mo = layer_meter(r, j, COCOIMG_PHASE_APPLY);
	return coco_pipe_push(&lp->pl, coco_meter_stage_new(ctx, &mo, coco_pipe_head(&lp->pl), &s),
	                      &s);
}

/* Start the threads: decompression (when it can have one, leaving the
 * fetch thread its place in the threads budget) and fetch. */
static int start_sections(layer_pipe *lp)
{
	if (lp->comp != COCO_COMP_NONE && coco_thread_room(lp->run->ctx) >= 2 &&
	    !coco_pipe_ring(&lp->pl, DRING_NBUFS, DRING_BUFSZ, &lp->tar) &&
	    !coco_pipe_try_spawn(&lp->pl, SEC_DECOMPRESS, "decompress", decompress_main, lp))
		lp->tar = NULL;
	int rc = coco_pipe_spawn(&lp->pl, SEC_FETCH, "fetch", fetch_main, lp);
	if (rc)
		coco_pipe_abort(&lp->pl, rc);
	return rc;
}

/* Section 2, on the caller's thread: the tar into the rootfs. */
static int apply_section(layer_pipe *lp, coco_applier *ap, const char *diff_id,
                         char diff_id_out[COCO_DIGEST_STRLEN], coco_apply_stats *ast)
{
	ring_src rs = { lp->tar ? lp->tar : lp->ring, false };
	int rc = coco_applier_apply(ap, lp->tar ? COCO_COMP_NONE : lp->comp, ring_pull, &rs,
	                            lp->job->what, diff_id, diff_id_out, ast);
	if (rs.borrowed)
		coco_ring_release(rs.ring);
	rs.borrowed = false;
	if (rc && lp->tar) {
		/* the decompression section drains the fetch ring */
		coco_ring_abort(lp->tar, COCOIMG_ECANCELLED);
	} else if (rc) {
		/* let the fetch section finish its checks: a digest or HMAC
		 * failure explains a broken stream better than the tar error */
		ring_drain(&rs);
	}
	return coco_pipe_note(&lp->pl, SEC_APPLY, rc);
}

static void add_layer_stats(layer_pipe *lp, const coco_apply_stats *ast)
{
	run *r = lp->run;
	coco_stage *m = coco_pipe_head(&lp->pl);
	pthread_mutex_lock(&r->mu);
	r->st.network += lp->pump ? 0 : m->nsec; /* pumped: counted as it came in */
	r->st.digest += lp->verify->nsec + ast->digest_ns;
	r->st.decrypt += lp->dec ? lp->dec->nsec : 0;
	r->st.decompress += ast->decompress_ns + lp->decomp_ns;
	r->st.write += ast->write_ns;
	r->st.blob_bytes += coco_meter_bytes(m);
	r->st.tar_bytes += ast->tar_bytes;
	r->st.entries += ast->entries;
	pthread_mutex_unlock(&r->mu);
}

/* Wait for a download of this layer that is under way; its result. */
static int wait_spool(run *r, job *j)
{
	pthread_mutex_lock(&r->mu);
	while (j->state == J_SPOOLING)
		pthread_cond_wait(&r->cv, &r->mu);
	pthread_mutex_unlock(&r->mu);
	return j->state == J_FAILED ? j->rc : 0;
}

/* ---- a small layer: whole in memory, on the caller's thread ---- */

/* A sink that only counts (the blob stays where it is). */
static int discard_write(coco_stage *s, const unsigned char *b, size_t n)
{
	(void)s;
	(void)b;
	(void)n;
	return 0;
}

static const coco_stage_type discard_type = {
	.name = "discard",
	.size = sizeof(coco_stage),
	.write = discard_write,
	.finish = coco_stage_nop_finish,
};

typedef struct mem_src {
	const unsigned char *p;
	size_t len, off;
} mem_src;

static ssize_t mem_pull(void *arg, const unsigned char **data)
{
	mem_src *m = arg;
	size_t n = m->len - m->off;
	if (n > DRING_BUFSZ)
		n = DRING_BUFSZ;
	*data = m->p + m->off;
	m->off += n;
	return (ssize_t)n;
}

/* What a small layer's chains measured, for the statistics. */
typedef struct small_stats {
	uint64_t network, digest, decrypt, blob_bytes;
} small_stats;

/* Fetch a small layer that was not downloaded ahead into j->mem:
 * source -> meter (apply phase) -> verify -> memory. */
static int small_fetch(run *r, job *j, small_stats *ss)
{
	cocoimg_ctx *ctx = r->ctx;
	coco_pipe pl;
	coco_stage *s;
	coco_meter_opts mo = layer_meter(r, j, COCOIMG_PHASE_APPLY);
	coco_pipe_init(&pl, ctx, NULL);
	coco_pipe_push(&pl, coco_buf_stage_new(ctx, &j->mem, (size_t)j->d->size, COCOIMG_EBADIMAGE,
	                                       &s), &s);
	coco_prefault(j->mem.data, j->mem.cap);
	coco_pipe_push(&pl, coco_verify_stage_new(ctx, j->d->digest, j->d->size, j->what,
	                                          coco_pipe_head(&pl), &s), &s);
	coco_pipe_push(&pl, coco_meter_stage_new(ctx, &mo, coco_pipe_head(&pl), &s), &s);
	if (!coco_pipe_built(&pl)) {
		coco_stage *m = coco_pipe_head(&pl);
		coco_pipe_note(&pl, 0, r->src->ops->get_blob(r->src, j->d, m));
		ss->network += m->nsec;
		ss->digest += m->next->nsec;
		ss->blob_bytes += coco_meter_bytes(m);
	}
	return coco_pipe_end(&pl);
}

/* An encrypted small layer's blob in j->mem decrypted in place (its HMAC
 * checked; wiped when that fails): no second buffer and no copy, which a
 * pod's small image pays for in page faults.  Only where j->mem is not
 * read again as ciphertext (not when staging ahead, which falls back to
 * the layer's own turn). */
static int small_decrypt_in_place(run *r, cocoimg_ctx *ctx, job *j, char **plain_mt,
                                  small_stats *ss)
{
	coco_stage *dec = NULL;
	int rc = r->kr ? decrypt_stage(r, ctx, j, NULL, &dec, plain_mt)
	               : coco_seterr(ctx, COCOIMG_ENOKEY, "%s is encrypted and no decryption key "
	                             "was given", j->what);
	if (!rc)
		rc = coco_layer_stage_decrypt_in_place(dec, j->mem.data, j->mem.len);
	ss->decrypt += dec ? dec->nsec : 0;
	coco_stage_chain_free(dec);
	return rc;
}

/*
 * The blob in j->mem (digest checked when it arrived) through what is
 * left: the apply phase's meter when it was downloaded ahead, and (with
 * decrypt) the decryption (HMAC checked at its end) of an encrypted one:
 * into *plain, or with plain NULL in place in j->mem (then the caller
 * wipes j->mem).  Errors are recorded on ctx.
 */
static int small_open(run *r, cocoimg_ctx *ctx, job *j, bool metered, bool decrypt,
                      coco_buf *plain, char **plain_mt, small_stats *ss)
{
	bool enc = decrypt && coco_mt_is_encrypted(j->d->media_type);
	if (enc && !plain) {
		/* in place: the blob becomes the plaintext */
		int rc = small_decrypt_in_place(r, ctx, j, plain_mt, ss);
		if (rc)
			return rc;
		enc = false;
	}
	if (!metered && !enc)
		return 0;
	coco_pipe pl;
	coco_stage *s, *dec = NULL;
	coco_pipe_init(&pl, ctx, NULL);
	if (enc) {
		coco_pipe_push(&pl, coco_buf_stage_new(ctx, plain, j->mem.len, COCOIMG_EBADIMAGE, &s),
		               &s);
		int rc = r->kr ? decrypt_stage(r, ctx, j, coco_pipe_head(&pl), &s, plain_mt)
		               : coco_seterr(ctx, COCOIMG_ENOKEY, "%s is encrypted and no decryption "
		                             "key was given", j->what);
		if (!coco_pipe_push(&pl, rc, &s))
			dec = s;
	} else {
		s = coco_stage_new(ctx, &discard_type, NULL);
		coco_pipe_push(&pl, s ? 0 : coco_oom(ctx), &s);
	}
	if (metered) {
		coco_meter_opts mo = layer_meter(r, j, COCOIMG_PHASE_APPLY);
		coco_pipe_push(&pl, coco_meter_stage_new(ctx, &mo, coco_pipe_head(&pl), &s), &s);
	}
	if (!coco_pipe_built(&pl))
		coco_pipe_note(&pl, 0, coco_stage_pump_mem(coco_pipe_head(&pl), j->mem.data, j->mem.len));
	ss->decrypt += dec ? dec->nsec : 0;
	return coco_pipe_end(&pl);
}

/* A small layer is through: its statistics, and its blob leaves memory. */
static void small_done(run *r, job *j, const small_stats *ss, const coco_apply_stats *ast)
{
	coco_buf_free(&j->mem);
	pthread_mutex_lock(&r->mu);
	r->st.network += ss->network;
	r->st.digest += ss->digest + ast->digest_ns;
	r->st.decrypt += ss->decrypt;
	r->st.decompress += ast->decompress_ns;
	r->st.write += ast->write_ns;
	r->st.blob_bytes += ss->blob_bytes ? ss->blob_bytes : (uint64_t)j->d->size;
	r->st.tar_bytes += ast->tar_bytes;
	r->st.entries += ast->entries;
	spool_release(r, j);
	pthread_mutex_unlock(&r->mu);
}

/* A small layer: fetched whole (or taken from its in-memory spool),
 * checked, decrypted, then applied on this thread with no thread
 * started. */
static int do_small_layer(run *r, job *j, coco_applier *ap, const char *diff_id,
                          char diff_id_out[COCO_DIGEST_STRLEN])
{
	small_stats ss = { 0 };
	char *plain_mt = NULL;
	bool spooled = j->state == J_SPOOLED;
	int rc = spooled ? 0 : small_fetch(r, j, &ss);
	/* decrypted in place: nothing reads the ciphertext after this */
	if (!rc)
		rc = small_open(r, r->ctx, j, spooled, true, NULL, &plain_mt, &ss);
	coco_compression comp = coco_mt_compression(plain_mt ? plain_mt : j->d->media_type);
	if (!rc && comp == COCO_COMP_UNKNOWN)
		rc = coco_seterr(r->ctx, COCOIMG_EUNSUPPORTED, "%s: unsupported media type %s", j->what,
		                 plain_mt ? plain_mt : j->d->media_type);
	coco_apply_stats ast;
	memset(&ast, 0, sizeof(ast));
	if (!rc) {
		mem_src ms = { j->mem.data, j->mem.len, 0 };
		coco_applier_one_thread(ap, true);
		rc = coco_applier_apply(ap, comp, mem_pull, &ms, j->what, diff_id, diff_id_out, &ast);
		coco_applier_one_thread(ap, false);
	}
	/* a decrypted layer's plaintext */
	if (plain_mt)
		coco_buf_wipe_free(&j->mem);
	free(plain_mt);
	small_done(r, j, &ss, &ast);
	return rc;
}

/* A layer in three sections on up to three threads (the caller's one
 * applies). */
static int layer_threaded(run *r, job *j, coco_applier *ap, const char *diff_id,
                          char diff_id_out[COCO_DIGEST_STRLEN])
{
	layer_pipe lp = { .run = r, .job = j };
	coco_pipe_init(&lp.pl, r->ctx, NULL);
	int rc = build_fetch(&lp);
	if (!rc)
		rc = start_sections(&lp);
	if (!rc) {
		coco_apply_stats ast;
		memset(&ast, 0, sizeof(ast));
		apply_section(&lp, ap, diff_id, diff_id_out, &ast);
		coco_pipe_wait(&lp.pl);
		add_layer_stats(&lp, &ast);
	}
	int prc = coco_pipe_end(&lp.pl);
	free(lp.plain_mt);
	return rc ? rc : prc;
}

/* ---- a larger layer with no thread to spare (threads=1) ---- */

/* Download layer j in its turn into a file in tmpdir (not counted in
 * max-spool-size: it is not ahead of its turn). */
static int fetch_whole(run *r, job *j)
{
	j->fd = open_spool(r);
	if (j->fd < 0)
		return coco_seterr(r->ctx, COCOIMG_EIO, "%s: cannot create a file in %s to download it "
		                   "into before it is applied (threads=1): %s", j->what, r->tmpdir,
		                   strerror(errno));
	uint64_t net = 0, dg = 0;
	int rc = download(r, j, &net, &dg);
	pthread_mutex_lock(&r->mu);
	r->st.network += net;
	r->st.digest += dg;
	pthread_mutex_unlock(&r->mu);
	if (!rc && lseek(j->fd, 0, SEEK_SET) < 0)
		rc = coco_seterr(r->ctx, COCOIMG_EIO, "%s: cannot rewind its download: %s", j->what,
		                 strerror(errno));
	return rc;
}

/*
 * The layer downloaded whole first (unless it was spooled ahead), then
 * pulled by the applier through the same checks and decryption as the
 * fetch section, on this thread.  When the applier fails first, the rest
 * is still read through the checks: a digest or HMAC failure explains a
 * broken stream better than the tar error (as with the sections).
 */
static int layer_one_thread(run *r, job *j, coco_applier *ap, const char *diff_id,
                            char diff_id_out[COCO_DIGEST_STRLEN])
{
	int rc = j->state == J_SPOOLED ? 0 : fetch_whole(r, j);
	if (!rc && j->state == J_SPOOLED && lseek(j->fd, 0, SEEK_SET) < 0)
		rc = coco_seterr(r->ctx, COCOIMG_EIO, "%s: cannot rewind spool file: %s", j->what,
		                 strerror(errno));
	if (rc)
		return rc;
	coco_pump pump;
	coco_pump_init(&pump, r->ctx, j->fd, j->what);
	layer_pipe lp = { .run = r, .job = j, .pump = &pump };
	coco_pipe_init(&lp.pl, r->ctx, NULL);
	rc = build_fetch(&lp);
	if (!rc) {
		coco_apply_stats ast;
		memset(&ast, 0, sizeof(ast));
		pump.head = coco_pipe_head(&lp.pl);
		rc = coco_applier_apply(ap, lp.comp, coco_pump_pull, &pump, j->what, diff_id,
		                        diff_id_out, &ast);
		const unsigned char *rest;
		while (rc && coco_pump_pull(&pump, &rest) > 0)
			;
		if (rc && pump.rc)
			rc = pump.rc;
		add_layer_stats(&lp, &ast);
	}
	int prc = coco_pipe_end(&lp.pl);
	coco_pump_clear(&pump);
	free(lp.plain_mt);
	return rc ? rc : prc;
}

/* Apply layer j.  diff_id_out receives the computed diff_id. */
static int do_layer(run *r, job *j, coco_applier *ap, const char *diff_id,
                    char diff_id_out[COCO_DIGEST_STRLEN])
{
	int rc = wait_spool(r, j);
	if (rc)
		return rc;
	if (is_small(j) && (j->state != J_SPOOLED || j->in_mem))
		return do_small_layer(r, j, ap, diff_id, diff_id_out);
	if (coco_thread_room(r->ctx) < 1)
		rc = layer_one_thread(r, j, ap, diff_id, diff_id_out);
	else
		rc = layer_threaded(r, j, ap, diff_id, diff_id_out);
	if (j->fd >= 0) {
		close(j->fd);
		j->fd = -1;
	}
	pthread_mutex_lock(&r->mu);
	spool_release(r, j);
	pthread_mutex_unlock(&r->mu);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Image-level helpers                                                 */
/* ------------------------------------------------------------------ */

typedef struct image {
	coco_src *src;
	coco_resolved res;
	bool resolved;
	coco_buf cfg_raw;
	json_t *cfg;
	json_t *diff_ids;          /* borrowed from cfg */
	json_t *policy_report;
} image;

static void image_clear(image *im)
{
	if (im->resolved)
		coco_resolved_clear(&im->res);
	if (im->src)
		coco_src_close(im->src);
	coco_buf_free(&im->cfg_raw);
	json_decref(im->cfg);
	json_decref(im->policy_report);
	memset(im, 0, sizeof(*im));
}

static int image_open(cocoimg_ctx *ctx, const char *ref, const char *platform, image *im)
{
	memset(im, 0, sizeof(*im));
	int rc = coco_src_open(ctx, ref, "src", &im->src);
	if (rc)
		return rc;
	coco_platform plat, *pp = NULL;
	if (platform) {
		rc = coco_platform_parse(ctx, platform, &plat);
		if (rc)
			return rc;
		pp = &plat;
	}
	rc = coco_resolve(im->src, pp, &im->res);
	if (pp)
		coco_platform_clear(pp);
	if (rc)
		return rc;
	im->resolved = true;
	return 0;
}

static int image_config(cocoimg_ctx *ctx, image *im)
{
	const coco_manifest *man = im->res.image;
	int rc = coco_fetch_small_blob(im->src, &man->config, COCO_LIM_CONFIG_SIZE, &im->cfg_raw);
	if (rc)
		return rc;
	char what[COCO_DIGEST_STRLEN + 16];
	snprintf(what, sizeof(what), "config %s", man->config.digest);
	rc = coco_json_parse(ctx, im->cfg_raw.data, im->cfg_raw.len, what, COCOIMG_EBADIMAGE, &im->cfg);
	if (rc)
		return rc;
	json_t *rfs = json_object_get(im->cfg, "rootfs");
	const char *type = rfs ? json_string_value(json_object_get(rfs, "type")) : NULL;
	if (!type || strcmp(type, "layers"))
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: rootfs.type is not \"layers\"", what);
	im->diff_ids = json_object_get(rfs, "diff_ids");
	if (!json_is_array(im->diff_ids) || json_array_size(im->diff_ids) != man->n_layers)
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: %zu diff_ids for %zu layers", what,
		                   json_is_array(im->diff_ids) ? json_array_size(im->diff_ids) : 0,
		                   man->n_layers);
	for (size_t i = 0; i < man->n_layers; i++) {
		const char *s = json_string_value(json_array_get(im->diff_ids, i));
		coco_digest_alg alg;
		if (!s || coco_digest_validate(s, &alg))
			return coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: malformed diff_id %zu", what, i);
	}
	return 0;
}

static const char *diff_id_at(const image *im, size_t i)
{
	return json_string_value(json_array_get(im->diff_ids, i));
}

static int image_policy(cocoimg_ctx *ctx, image *im, const cocoimg_unpack_options *o)
{
	if (!o->policy && !o->verify)
		return 0;
	return coco_trust_evaluate(ctx, im->src, &im->res, o->policy, &im->policy_report);
}

/* Before any layer blob is fetched, open the key of every encrypted
 * layer: a missing key or resource stops the job before a download.
 * (*keys)[i] holds layer i's options (wipe with keys_free). */
static int preflight_keys(cocoimg_ctx *ctx, const coco_manifest *man, cocoimg_keyring *kr,
                          coco_layer_opts **keys)
{
	*keys = calloc(man->n_layers ? man->n_layers : 1, sizeof(**keys));
	if (!*keys)
		return coco_oom(ctx);
	for (size_t i = 0; i < man->n_layers; i++) {
		const coco_desc *d = &man->layers[i];
		if (!coco_mt_is_encrypted(d->media_type))
			continue;
		if (!kr)
			return coco_seterr(ctx, COCOIMG_ENOKEY, "layer %s is encrypted and no decryption "
			                   "key was given", d->digest);
		char what[COCO_DIGEST_STRLEN + 16];
		snprintf(what, sizeof(what), "layer %s", d->digest);
		int rc = coco_crypt_unwrap_layer(ctx, kr, d, what, &(*keys)[i], NULL);
		if (rc)
			return rc;
	}
	return 0;
}

static void keys_free(coco_layer_opts *keys, size_t n)
{
	COCO_FREE_ARRAY(keys, n, coco_layer_opts_clear);
}

static void run_init(run *r, cocoimg_ctx *ctx, image *im, const cocoimg_unpack_options *o)
{
	memset(r, 0, sizeof(*r));
	r->ctx = ctx;
	r->src = im->src;
	r->kr = o->keyring;
	r->flags = o->flags;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	long par = o->parallel ? (long)o->parallel : coco_opt_long(ctx, NULL, "parallel", 3);
	if (par < 1)
		par = 1;
	if (par > 32)
		par = 32;
	/* local layouts: reading ahead into temp files gains nothing */
	if (!im->src->ref || im->src->ref->transport != COCO_TR_DOCKER)
		par = 1;
	r->parallel = (unsigned)par;
	r->spool_cap = coco_limit(ctx, COCO_LIM_SPOOL_SIZE);
	r->tmpdir = coco_opt(ctx, NULL, "tmpdir");
	if (!r->tmpdir)
		r->tmpdir = getenv("TMPDIR");
	if (!r->tmpdir || !*r->tmpdir)
		r->tmpdir = "/var/tmp";
	r->n = im->res.image->n_layers;
	r->jobs = calloc(r->n ? r->n : 1, sizeof(*r->jobs));
	for (size_t i = 0; r->jobs && i < r->n; i++) {
		job *j = &r->jobs[i];
		j->run = r;
		j->idx = i;
		j->d = &im->res.image->layers[i];
		j->fd = -1;
		snprintf(j->what, sizeof(j->what), "layer %s", j->d->digest ? j->d->digest : "?");
	}
}

static void run_clear(run *r)
{
	if (r->jobs)
		stop_spools(r);
	free(r->jobs);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
}

/* The options of an unpack call: o, or the defaults in *dflt; NULL (the
 * error recorded) when o has a version this library does not know. */
static const cocoimg_unpack_options *unpack_opts(cocoimg_ctx *ctx, const cocoimg_unpack_options *o,
                                                 cocoimg_unpack_options *dflt)
{
	if (!o) {
		memset(dflt, 0, sizeof(*dflt));
		dflt->version = COCOIMG_UNPACK_OPTIONS_VERSION;
		return dflt;
	}
	if (coco_api_check_version(ctx, "cocoimg_unpack_options", o->version,
	                           COCOIMG_UNPACK_OPTIONS_VERSION))
		return NULL;
	return o;
}

static unsigned apply_flags(unsigned f)
{
	return (f & COCOIMG_UNPACK_ROOTLESS) ? COCO_APPLY_ROOTLESS : 0;
}

/* ------------------------------------------------------------------ */
/* rootfs checks, staging and commit                                   */
/* ------------------------------------------------------------------ */

static int check_rootfs(cocoimg_ctx *ctx, const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return coco_seterr(ctx, COCOIMG_EIO, "rootfs %s: %s", path, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return coco_seterr(ctx, COCOIMG_EEXIST, "rootfs %s exists and is not a directory", path);
	DIR *d = opendir(path);
	if (!d)
		return coco_seterr(ctx, COCOIMG_EIO, "rootfs %s: %s", path, strerror(errno));
	struct dirent *de;
	bool empty = true;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			empty = false;
			break;
		}
	closedir(d);
	if (!empty)
		return coco_seterr(ctx, COCOIMG_EEXIST, "rootfs %s is not empty", path);
	return 0;
}

static char *make_staging(cocoimg_ctx *ctx, const char *rootfs)
{
	char *a = coco_strdup(rootfs), *b = coco_strdup(rootfs);
	char *res = NULL;
	if (!a || !b)
		goto out;
	size_t l = strlen(a);
	while (l > 1 && a[l - 1] == '/')
		a[--l] = 0;
	while (l > 1 && b[l - 1] == '/')
		b[--l] = 0;
	const char *dir = dirname(a);
	const char *base = basename(b);
	if (coco_mkdir_p(ctx, dir, 0755))
		goto out;
	res = coco_asprintf("%s/.%s.coco-unpack-XXXXXX", dir, base);
	if (res && !mkdtemp(res)) {
		coco_seterr(ctx, COCOIMG_EIO, "cannot create a staging directory beside %s: %s", rootfs,
		            strerror(errno));
		free(res);
		res = NULL;
	}
out:
	if (!res && cocoimg_ctx_last_error_code(ctx) == 0)
		coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory");
	free(a);
	free(b);
	return res;
}

/* ------------------------------------------------------------------ */
/* Report                                                              */
/* ------------------------------------------------------------------ */

static json_t *layer_report(const coco_desc *d, const char *diff_id)
{
	json_t *l = coco_report_layer(d->digest, d->media_type, d->size);
	json_object_set_new(l, "diff_id", json_string(diff_id));
	return l;
}

static json_t *stats_report(const ustats *s, uint64_t total)
{
	json_t *j = json_object();
	json_object_set_new(j, "network_ns", json_integer((json_int_t)s->network));
	json_object_set_new(j, "digest_ns", json_integer((json_int_t)s->digest));
	json_object_set_new(j, "decrypt_ns", json_integer((json_int_t)s->decrypt));
	json_object_set_new(j, "decompress_ns", json_integer((json_int_t)s->decompress));
	json_object_set_new(j, "write_ns", json_integer((json_int_t)s->write));
	json_object_set_new(j, "total_ns", json_integer((json_int_t)total));
	json_object_set_new(j, "blob_bytes", json_integer((json_int_t)s->blob_bytes));
	json_object_set_new(j, "tar_bytes", json_integer((json_int_t)s->tar_bytes));
	json_object_set_new(j, "entries", json_integer((json_int_t)s->entries));
	return j;
}

/* What unpack_open_keys opens for the layers: the keyring in use (owned
 * when the operation made it) and every encrypted layer's opened key. */
typedef struct {
	cocoimg_keyring *kr, *kr_owned;
	coco_layer_opts *keys;
} unpack_keys;

static void unpack_keys_clear(unpack_keys *k, const image *im)
{
	if (k->keys)
		keys_free(k->keys, im->res.image ? im->res.image->n_layers : 0);
	cocoimg_keyring_free(k->kr_owned);
	memset(k, 0, sizeof(*k));
}

/* Open the image, evaluate the policy (before any layer is fetched) and
 * check require-encrypted. */
static int unpack_open(cocoimg_ctx *ctx, const char *ref, const cocoimg_unpack_options *o,
                       image *im)
{
	int rc = image_open(ctx, ref, o->platform, im);
	if (!rc)
		rc = image_policy(ctx, im, o);
	if (!rc)
		rc = coco_op_require_encrypted(ctx, im->res.image, ref);
	return rc;
}

/* Open every encrypted layer's key, so a missing key stops the job before
 * a layer is applied.  This runs while the first layers download: a key
 * from the trust broker costs round trips (attestation, KBS), an RSA
 * unwrap costs milliseconds, and neither needs the layer bytes. */
static int unpack_open_keys(cocoimg_ctx *ctx, const cocoimg_unpack_options *o,
                            const image *im, unpack_keys *k)
{
	int rc = coco_op_keyring(ctx, o->keyring, &k->kr, &k->kr_owned);
	if (!rc)
		rc = preflight_keys(ctx, im->res.image, k->kr, &k->keys);
	return rc;
}

/* ---- the next layer, staged while a large one streams ---- */

/* The most the record of a staged layer may hold (unpack/stage.c). */
#define AHEAD_RECORD_CAP (2u << 20)

static void drop_staging(cocoimg_ctx *ctx, char *staging);

/*
 * While a large layer streams into the rootfs (its threads leave part of
 * a core idle), the next layer, when it is small and already in memory,
 * is decrypted, checked (HMAC, diff_id) and written on a thread of its
 * own into a private directory beside the staging rootfs
 * (coco_applier_stage_into); in its turn it is replayed in order into
 * the rootfs (coco_applier_replay).  That thread records its errors on a
 * context of its own: whatever goes wrong there (or does not fit the
 * record's budget), the layer is simply applied from memory in its
 * turn, which reports the error where and as it always did.
 */
typedef struct ahead {
	run *r;
	job *j;
	const char *diff_id;
	cocoimg_ctx *quiet;
	char *dir;
	coco_applier *ap;
	coco_staged sg;
	small_stats ss;
	coco_apply_stats ast;
	char got[COCO_DIGEST_STRLEN];
	int stop;                  /* read with __atomic */
	coco_thread th;
	bool started;
} ahead;

/* The staging thread: the blob (downloaded ahead into memory) decrypted,
 * then applied in staging mode. */
static int ahead_main(void *arg)
{
	ahead *ah = arg;
	run *r = ah->r;
	job *j = ah->j;
	if (wait_spool(r, j) || j->state != J_SPOOLED || !j->in_mem)
		return COCOIMG_ECANCELLED;
	coco_buf plain = { 0 };
	char *plain_mt = NULL;
	int rc = small_open(r, ah->quiet, j, false, true, &plain, &plain_mt, &ah->ss);
	coco_compression comp = coco_mt_compression(plain_mt ? plain_mt : j->d->media_type);
	if (!rc && comp == COCO_COMP_UNKNOWN)
		rc = COCOIMG_EUNSUPPORTED;
	if (!rc) {
		const coco_buf *b = plain_mt ? &plain : &j->mem;
		mem_src ms = { b->data, b->len, 0 };
		rc = coco_applier_apply(ah->ap, comp, mem_pull, &ms, j->what, ah->diff_id, ah->got,
		                        &ah->ast);
	}
	coco_buf_wipe_free(&plain);
	free(plain_mt);
	return rc;
}

/* Is layer idx worth staging while the current one streams: small,
 * downloaded (or downloading) ahead into memory, its key already open? */
static bool ahead_wanted(run *r, size_t idx)
{
	/* under a "threads" cap the large layer's own threads come first */
	if (idx >= r->n || r->parallel <= 1 || coco_cpus_usable() < 2 ||
	    coco_thread_room(r->ctx) != INT_MAX)
		return false;
	job *j = &r->jobs[idx];
	if (!is_small(j))
		return false;
	if (coco_mt_is_encrypted(j->d->media_type) && (!r->kr || !j->key || !j->key->have_symkey))
		return false;
	pthread_mutex_lock(&r->mu);
	bool ok = (j->state == J_SPOOLING || j->state == J_SPOOLED) && j->in_mem;
	pthread_mutex_unlock(&r->mu);
	return ok;
}

/* Stop (when still running) and forget a staged layer. */
static void ahead_end(run *r, ahead *ah)
{
	__atomic_store_n(&ah->stop, 1, __ATOMIC_RELEASE);
	coco_thread_join(&ah->th);
	coco_applier_free(ah->ap);
	drop_staging(r->ctx, ah->dir);
	coco_staged_clear(&ah->sg);
	cocoimg_ctx_free(ah->quiet);
	memset(ah, 0, sizeof(*ah));
}

/* Start staging layer idx (nothing when it is not wanted or anything on
 * the way fails: it then comes in its turn). */
static void ahead_start(run *r, ahead *ah, const coco_applier *like, size_t idx,
                        const char *rootfs, const char *diff_id, unsigned aflags)
{
	memset(ah, 0, sizeof(*ah));
	if (!ahead_wanted(r, idx) || cocoimg_ctx_new(&ah->quiet))
		return;
	ah->r = r;
	ah->j = &r->jobs[idx];
	ah->diff_id = diff_id;
	coco_staged_init(&ah->sg, AHEAD_RECORD_CAP);
	ah->dir = make_staging(ah->quiet, rootfs);
	if (ah->dir && !coco_applier_new(ah->quiet, ah->dir, aflags, &ah->ap) &&
	    coco_stage_dir_usable(coco_applier_dirfd(ah->ap))) {
		coco_applier_stage_into(ah->ap, like, &ah->sg, &ah->stop);
		ah->started = coco_thread_try(&ah->th, r->ctx, "stage", ahead_main, ah);
	}
	if (ah->started)
		coco_debug(r->ctx, "%s: applied ahead into %s while the layer before it streams",
		           ah->j->what, ah->dir);
	else
		ahead_end(r, ah);
}

/* The staged layer's turn: replayed into the rootfs when staging went
 * through, else applied as usual. */
static int ahead_apply(run *r, ahead *ah, coco_applier *ap, char got[COCO_DIGEST_STRLEN])
{
	job *j = ah->j;
	if (coco_thread_join(&ah->th)) {
		coco_debug(r->ctx, "%s: staging ahead did not complete (%s): applied in its turn",
		           j->what, cocoimg_ctx_last_error(ah->quiet));
		return do_layer(r, j, ap, ah->diff_id, got);
	}
	/* the apply phase's progress report and cancellation check */
	small_stats ss = ah->ss;
	int rc = small_open(r, r->ctx, j, true, false, NULL, NULL, &ss);
	if (rc)
		return rc;
	coco_apply_stats ast = ah->ast;
	rc = coco_applier_replay(ap, &ah->sg, coco_applier_dirfd(ah->ap), j->what, &ast);
	if (rc == COCO_REPLAY_DECLINED)
		return do_layer(r, j, ap, ah->diff_id, got);
	if (!rc)
		memcpy(got, ah->got, COCO_DIGEST_STRLEN);
	small_done(r, j, &ss, &ast);
	return rc;
}

/* Every layer in order into the applier's tree, later ones spooling, the
 * next small one staged while a large one streams. */
static int unpack_layers(run *r, const image *im, coco_applier *ap, json_t *layers,
                         const char *rootfs, unsigned aflags)
{
	const coco_manifest *man = im->res.image;
	ahead ah;
	memset(&ah, 0, sizeof(ah));
	int rc = 0;
	for (size_t i = 0; i < man->n_layers && !rc; i++) {
		start_spools(r, i + 1, false);
		if (!is_small(&r->jobs[i]))
			ahead_start(r, &ah, ap, i + 1, rootfs, diff_id_at(im, i + 1), aflags);
		char got[COCO_DIGEST_STRLEN];
		rc = do_layer(r, &r->jobs[i], ap, diff_id_at(im, i), got);
		if (!rc)
			json_array_append_new(layers, layer_report(&man->layers[i], got));
		if (!rc && ah.started) {
			rc = ahead_apply(r, &ah, ap, got);
			if (!rc)
				json_array_append_new(layers, layer_report(&man->layers[++i], got));
		}
		ahead_end(r, &ah);
	}
	if (!rc)
		stop_spools(r);
	return rc;
}

/* The finished staging tree becomes ROOTFS. */
static int commit_staging(cocoimg_ctx *ctx, const char *staging, const char *rootfs,
                          bool root_set)
{
	if (!root_set && chmod(staging, 0755) < 0)
		return coco_seterr(ctx, COCOIMG_EIO, "cannot chmod %s: %s", staging, strerror(errno));
	if (rename(staging, rootfs) == 0)
		return 0;
	int e = errno;
	return coco_seterr(ctx, e == ENOTEMPTY || e == EEXIST || e == ENOTDIR ? COCOIMG_EEXIST
	                                                                     : COCOIMG_EIO,
	                   "cannot move the unpacked image to %s: %s", rootfs, strerror(e));
}

/* Remove an abandoned staging tree (NULL: nothing), keeping the error
 * message the operation failed with. */
static void drop_staging(cocoimg_ctx *ctx, char *staging)
{
	if (!staging)
		return;
	cocoimg_ctx *c2 = NULL;
	if (cocoimg_ctx_new(&c2) == 0 && coco_rm_rf(c2, staging))
		coco_warn(ctx, "could not remove staging directory %s", staging);
	cocoimg_ctx_free(c2);
	free(staging);
}

/* What the report of any outcome holds: the image as resolved (when it
 * was) and the policy verdict (when evaluated). */
static json_t *report_base(const char *ref, const char *rootfs, const image *im)
{
	json_t *j = json_object();
	json_object_set_new(j, "image", json_string(ref));
	json_object_set_new(j, "rootfs", json_string(rootfs));
	if (im->resolved) {
		const coco_desc *c = &im->res.image->config;
		coco_report_doc(j, "manifest", im->res.digest, im->res.media_type, (int64_t)im->res.raw.len);
		if (im->res.top != im->res.image)
			coco_report_doc(j, "index", im->res.top_digest, im->res.top_media_type, -1);
		coco_report_doc(j, "config", c->digest, c->media_type, c->size);
	}
	if (im->policy_report)
		json_object_set(j, "policy", im->policy_report);
	return j;
}

/* The report of a failed unpack: report_base plus
 * "error": {"code": exit status, "kind", "message"} (docs/json.md); NULL
 * when out of memory. */
static char *failure_report(cocoimg_ctx *ctx, const char *ref, const char *rootfs, const image *im,
                            int rc)
{
	json_t *j = report_base(ref, rootfs, im);
	json_t *msg = json_string(cocoimg_ctx_last_error(ctx));
	json_t *e = json_object();
	json_object_set_new(e, "code", json_integer(cocoimg_error_exit_code(rc)));
	json_object_set_new(e, "kind", json_string(cocoimg_error_kind(rc)));
	json_object_set_new(e, "message", msg ? msg : json_string(cocoimg_strerror(rc)));
	json_object_set_new(j, "error", e);
	char *out = coco_json_dump(j);
	json_decref(j);
	return out;
}

static char *unpack_report(const char *ref, const char *rootfs, const image *im, json_t *layers,
                           const ustats *st, uint64_t total_ns, bool stats)
{
	json_t *j = report_base(ref, rootfs, im);
	json_object_set(j, "layers", layers);
	if (stats)
		json_object_set_new(j, "stats", stats_report(st, total_ns));
	char *out = coco_json_dump(j);
	json_decref(j);
	return out;
}

/* Staging beside ROOTFS, the layers into it, then the rename. */
static int unpack_into(cocoimg_ctx *ctx, image *im, const cocoimg_unpack_options *o,
                       const char *rootfs, run *r, json_t *layers)
{
	char *staging = make_staging(ctx, rootfs);
	if (!staging)
		return cocoimg_ctx_last_error_code(ctx);
	coco_applier *ap = NULL;
	int rc = coco_applier_new(ctx, staging, apply_flags(o->flags), &ap);
	if (!rc)
		rc = unpack_layers(r, im, ap, layers, rootfs, apply_flags(o->flags));
	if (!rc) {
		coco_applier_finish(ap);
		bool root_set = coco_applier_root_set(ap);
		coco_applier_free(ap);
		ap = NULL;
		rc = commit_staging(ctx, staging, rootfs, root_set);
	}
	coco_applier_free(ap);
	if (!rc) {
		free(staging);
		staging = NULL;
	}
	/* spool threads may still write into staging's neighbourhood: stop them first */
	stop_spools(r);
	drop_staging(ctx, staging);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Public API                                                          */
/* ------------------------------------------------------------------ */

COCOIMG_API int cocoimg_unpack(cocoimg_ctx *ctx, const char *ref, const char *rootfs,
                               const cocoimg_unpack_options *opts, char **report)
{
	COCO_API_ENTER(ctx);
	if (report)
		*report = NULL;
	if (!ref || !rootfs || !*rootfs)
		return coco_seterr(ctx, COCOIMG_EINVAL, "unpack: an image and a rootfs path are required");
	cocoimg_unpack_options dflt;
	const cocoimg_unpack_options *o = unpack_opts(ctx, opts, &dflt);
	if (!o)
		return COCOIMG_EINVAL;
	uint64_t t0 = coco_now_ns();
	image im;
	memset(&im, 0, sizeof(im));
	/* one unpack per rootfs, decided before anything is downloaded */
	coco_rootfs_lock lock;
	int rc = coco_rootfs_lock_take(ctx, rootfs, &lock);
	if (rc) {
		if (report)
			*report = failure_report(ctx, ref, rootfs, &im, rc);
		return rc;
	}
	coco_rootfs_clean_stale(ctx, rootfs);
	rc = check_rootfs(ctx, rootfs);
	if (rc) {
		if (report)
			*report = failure_report(ctx, ref, rootfs, &im, rc);
		coco_rootfs_lock_release(&lock);
		return rc;
	}

	run r;
	bool have_run = false;
	unpack_keys k = { 0 };
	json_t *layers = json_array();
	rc = unpack_open(ctx, ref, o, &im);
	if (!rc) {
		run_init(&r, ctx, &im, o);
		have_run = true;
		rc = r.jobs ? 0 : coco_oom(ctx);
	}
	if (!rc) {
		/* the first layers (a small first one too) download while the
		 * keys are opened and the config is fetched; a missing key
		 * stops those downloads (run_clear) */
		start_spools(&r, 0, true);
		rc = unpack_open_keys(ctx, o, &im, &k);
	}
	if (!rc) {
		r.kr = k.kr;
		for (size_t i = 0; i < im.res.image->n_layers; i++)
			r.jobs[i].key = &k.keys[i];
		rc = image_config(ctx, &im);
	}
	if (!rc)
		rc = unpack_into(ctx, &im, o, rootfs, &r, layers);
	if (!rc && report)
		*report = unpack_report(ref, rootfs, &im, layers, &r.st, coco_now_ns() - t0,
		                        o->collect_stats);
	else if (report)
		*report = failure_report(ctx, ref, rootfs, &im, rc);
	if (have_run)
		run_clear(&r);
	json_decref(layers);
	unpack_keys_clear(&k, &im);
	image_clear(&im);
	coco_rootfs_lock_release(&lock);
	return rc;
}

/* cocoimg_image_resolve / cocoimg_image_fetch_config: open ref (and, for
 * config, fetch the image config), then copy out the digest and the raw
 * bytes of the manifest or the config (each when asked for). */
static int image_query(cocoimg_ctx *ctx, const char *ref, const char *platform, bool config,
                       char **digest, char **doc)
{
	if (!ref)
		return coco_seterr(ctx, COCOIMG_EINVAL, "an image reference is required");
	image im;
	int rc = image_open(ctx, ref, platform, &im);
	if (!rc && config)
		rc = image_config(ctx, &im);
	if (!rc) {
		const char *dg = config ? im.res.image->config.digest : im.res.digest;
		const coco_buf *raw = config ? &im.cfg_raw : &im.res.raw;
		if ((digest && !(*digest = coco_strdup(dg))) ||
		    (doc && !(*doc = coco_strndup((const char *)raw->data, raw->len))))
			rc = coco_oom(ctx);
	}
	image_clear(&im);
	return rc;
}

COCOIMG_API int cocoimg_image_resolve(cocoimg_ctx *ctx, const char *ref, const char *platform,
                                      char **manifest_digest, char **manifest)
{
	COCO_API_ENTER(ctx);
	return image_query(ctx, ref, platform, false, manifest_digest, manifest);
}

COCOIMG_API int cocoimg_image_fetch_config(cocoimg_ctx *ctx, const char *ref, const char *platform,
                                           char **config_digest, char **config)
{
	COCO_API_ENTER(ctx);
	return image_query(ctx, ref, platform, true, config_digest, config);
}

COCOIMG_API int cocoimg_unpack_layer(cocoimg_ctx *ctx, const char *ref, size_t index,
                                     const char *rootfs, const cocoimg_unpack_options *opts,
                                     char **diff_id)
{
	COCO_API_ENTER(ctx);
	if (!ref || !rootfs)
		return coco_seterr(ctx, COCOIMG_EINVAL, "an image and a rootfs are required");
	cocoimg_unpack_options dflt;
	const cocoimg_unpack_options *o = unpack_opts(ctx, opts, &dflt);
	if (!o)
		return COCOIMG_EINVAL;
	image im;
	run r;
	bool have_run = false;
	coco_applier *ap = NULL;
	cocoimg_keyring *kr_owned = NULL;
	int rc = image_open(ctx, ref, o->platform, &im);
	if (!rc)
		rc = image_policy(ctx, &im, o);
	if (!rc)
		rc = image_config(ctx, &im);
	if (rc)
		goto out;
	if (index >= im.res.image->n_layers) {
		rc = coco_seterr(ctx, COCOIMG_EINVAL, "image has %zu layers, no layer %zu",
		                 im.res.image->n_layers, index);
		goto out;
	}
	rc = coco_applier_new(ctx, rootfs, apply_flags(o->flags), &ap);
	if (rc)
		goto out;
	cocoimg_unpack_options one = *o;
	one.parallel = 1;
	rc = coco_op_keyring(ctx, o->keyring, &one.keyring, &kr_owned);
	if (rc)
		goto out;
	run_init(&r, ctx, &im, &one);
	have_run = true;
	if (!r.jobs) {
		rc = coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory");
		goto out;
	}
	char got[COCO_DIGEST_STRLEN];
	rc = do_layer(&r, &r.jobs[index], ap, diff_id_at(&im, index), got);
	coco_applier_finish(ap);
	if (!rc && diff_id && !(*diff_id = coco_strdup(got)))
		rc = coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory");
out:
	coco_applier_free(ap);
	if (have_run)
		run_clear(&r);
	cocoimg_keyring_free(kr_owned);
	image_clear(&im);
	return rc;
}

typedef struct cb_src {
	cocoimg_read_cb read;
	void *payload;
	unsigned char *buf;
	cocoimg_ctx *ctx;
} cb_src;

static ssize_t cb_pull(void *arg, const unsigned char **data)
{
	cb_src *c = arg;
	int64_t n = c->read(c->buf, COCO_BUFSZ, c->payload);
	if (n < 0 || n > COCO_BUFSZ)
		return coco_seterr(c->ctx, COCOIMG_ECANCELLED, "layer stream: the read callback failed");
	*data = c->buf;
	return (ssize_t)n;
}

COCOIMG_API int cocoimg_unpack_layer_stream(cocoimg_ctx *ctx, const char *rootfs,
                                            const char *media_type, cocoimg_read_cb read,
                                            void *payload, const char *expected_diff_id,
                                            unsigned flags, char **diff_id)
{
	COCO_API_ENTER(ctx);
	if (!rootfs || !media_type || !read)
		return coco_seterr(ctx, COCOIMG_EINVAL, "layer stream: rootfs, media type and reader are required");
	if (coco_mt_is_encrypted(media_type))
		return coco_seterr(ctx, COCOIMG_EINVAL,
		                   "layer stream: encrypted media type %s (decrypt first, or use cocoimg_unpack_layer)",
		                   media_type);
	coco_compression comp = coco_mt_compression(media_type);
	if (comp == COCO_COMP_UNKNOWN)
		return coco_seterr(ctx, COCOIMG_EINVAL, "layer stream: unsupported media type %s", media_type);
	cb_src c = { read, payload, malloc(COCO_BUFSZ), ctx };
	if (!c.buf)
		return coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory");
	coco_applier *ap;
	int rc = coco_applier_new(ctx, rootfs, apply_flags(flags), &ap);
	if (!rc) {
		char got[COCO_DIGEST_STRLEN];
		rc = coco_applier_apply(ap, comp, cb_pull, &c, "layer", expected_diff_id, got, NULL);
		coco_applier_finish(ap);
		if (!rc && diff_id && !(*diff_id = coco_strdup(got)))
			rc = coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory");
		coco_applier_free(ap);
	}
	free(c.buf);
	return rc;
}
