/*
 * The pipeline object: one stage chain, the rings and threads that run
 * it in sections, and the verdict (which error the operation reports).
 * docs/pipeline.md describes the thread layout of each operation.
 *
 * Build: coco_pipe_init() takes the sink; stages are then added in front
 * of it, towards the source, each constructed with coco_pipe_head() as
 * its next stage and handed over with coco_pipe_push().  The first failed
 * constructor is remembered (coco_pipe_built() returns it) and stages
 * pushed after it are freed at once, so a builder can push several
 * stages and check once.
 *
 * Run: section 0 is the source (it writes into the head); sections after
 * it read from rings the pipeline owns (coco_pipe_ring()).  A section runs
 * on a thread of its own (coco_pipe_spawn(): its return value is its
 * result) or on the caller's (coco_pipe_note() records its result).
 *
 * Verdict: the result of the section nearest the source (lowest index)
 * that failed with a real error wins; COCOIMG_ECANCELLED is reported only
 * when no section failed otherwise, because a cancellation is what the
 * other sections see after one of them failed.  The message of the
 * winning section is the one left on the context.  The same rule, with
 * the layer index in place of the section, picks the error of a copy
 * whose layers run in parallel (coco_verdict on its own).
 *
 * Teardown: coco_pipe_end() joins the threads, last section first, then
 * frees the rings and the chain, and returns the verdict.  Every thread
 * must be able to finish by then: its input ended or was aborted
 * (coco_pipe_abort() aborts every ring).
 */
#ifndef COCOIMG_PIPELINE_H
#define COCOIMG_PIPELINE_H

#include "base.h"
#include "stream.h"
#include "thread.h"

/* ---- verdict: the first real error by index ---- */

typedef struct coco_verdict {
	pthread_mutex_t mu;
	size_t at;                 /* index of the kept error */
	int rc;                    /* 0: none yet */
	char msg[1024];            /* the context's message when it was noted */
} coco_verdict;

void coco_verdict_init(coco_verdict *v);
/* Offer rc (0 is ignored) of the part with this index; the message on
 * ctx is taken along if rc is kept.  Thread-safe.  Returns rc. */
int coco_verdict_note(coco_verdict *v, cocoimg_ctx *ctx, size_t index, int rc);
/* The kept code (0: none); its message is put back on ctx.  Frees v. */
int coco_verdict_end(coco_verdict *v, cocoimg_ctx *ctx);

/* ---- the pipeline ---- */

#define COCO_PIPE_SECTIONS 4
#define COCO_PIPE_RINGS 3

typedef struct coco_pipe {
	cocoimg_ctx *ctx;
	coco_stage *head;          /* where the source writes; owned */
	int build_rc;
	coco_verdict verdict;
	coco_thread threads[COCO_PIPE_SECTIONS];
	coco_ring *rings[COCO_PIPE_RINGS];
	size_t n_rings;
} coco_pipe;

/* sink: the end of the chain (may be NULL: a ring stage is added later
 * with coco_pipe_push_ring, or nothing is streamed). */
void coco_pipe_init(coco_pipe *p, cocoimg_ctx *ctx, coco_stage *sink);
static inline coco_stage *coco_pipe_head(const coco_pipe *p) { return p->head; }
/* rc: the constructor's result; *s: the stage it made (next = the head). */
int coco_pipe_push(coco_pipe *p, int rc, coco_stage **s);
static inline int coco_pipe_built(const coco_pipe *p) { return p->build_rc; }
/* A ring owned by the pipeline (freed by coco_pipe_end). */
int coco_pipe_ring(coco_pipe *p, size_t nbufs, size_t bufsz, coco_ring **out);
/* Run section `section` on a thread; 0, or the error starting it (which
 * is also noted as that section's result). */
int coco_pipe_spawn(coco_pipe *p, unsigned section, const char *name, coco_thread_fn fn,
                    void *arg);
/* The same for a thread the operation can do without (it then runs the
 * section itself): false if it did not start, nothing recorded. */
bool coco_pipe_try_spawn(coco_pipe *p, unsigned section, const char *name, coco_thread_fn fn,
                         void *arg);
static inline bool coco_pipe_running(const coco_pipe *p, unsigned section)
{
	return p->threads[section].started;
}
/* Join one section's thread and note its result; returns it. */
int coco_pipe_join(coco_pipe *p, unsigned section);
/* Record the result of a section run by the caller; returns rc. */
int coco_pipe_note(coco_pipe *p, unsigned section, int rc);
/* Abort every ring (the threads blocked on them return the code). */
void coco_pipe_abort(coco_pipe *p, int code);
/* Join every thread, last section first (their stages' counters can be
 * read afterwards). */
void coco_pipe_wait(coco_pipe *p);
/* Join, free, and return the verdict (the build error if building failed). */
int coco_pipe_end(coco_pipe *p);

#endif
