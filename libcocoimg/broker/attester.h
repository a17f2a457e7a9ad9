/*
 * libcocoimg broker/: evidence sources for the KBS attestation protocol
 * (attester.c).  An attester answers two questions: which TEE it is (the
 * "tee" of the protocol's Request, asked before the challenge) and, for
 * given report data, the TEE's evidence (the JSON value the KBS passes on
 * to its verifier as "primary_evidence").
 *
 * Backends: configfs-tsm (Linux TSM reports: TDX, SEV-SNP and CCA evidence), a
 * runtime's callback (backs cocoimg_ctx_set_evidence_cb), the protocol's
 * sample TEE (tests and development only: logs a warning), and any other
 * source through coco_attester_new() (e.g. the attestation agent's
 * GetEvidence over ttrpc).  Not installed.  Depends on the base layer only.
 *
 * Evidence, report data and the callback's outputs are wiped before they
 * are freed and never appear in messages or logs.
 */
#ifndef COCO_BROKER_ATTESTER_H
#define COCO_BROKER_ATTESTER_H

#include "../base.h"
#include "ccel.h"

/* Largest evidence we accept from any backend (a TDX quote with its
 * certification data is a few KiB; CCA tokens are smaller). */
#define COCO_EVIDENCE_MAX (1024 * 1024)
/* Room for a TEE name of the protocol ("az-snp-vtpm", "sample", ...)
 * and its NUL. */
#define COCO_TEE_MAX 32
/* The configfs-tsm report directory of Linux. */
#define COCO_TSM_ROOT "/sys/kernel/config/tsm/report"

/*
 * One evidence source.  Every call records its errors on ctx, naming the
 * backend (never the evidence or report data).
 *  tee:      write the TEE name (kbs_types' lower-case Tee, e.g. "tdx",
 *            "snp", "cca", "sample") into tee.
 *  evidence: append the evidence for report_data (len bytes, at most 64)
 *            to out, as JSON text; write the TEE name into tee.
 *  free:     release state (may be NULL).
 */
typedef struct coco_attester_ops {
	const char *name;          /* for messages: "tsm", "sample", "callback", "aa" */
	int (*tee)(cocoimg_ctx *ctx, void *state, char tee[COCO_TEE_MAX]);
	int (*evidence)(cocoimg_ctx *ctx, void *state, const unsigned char *report_data,
	                size_t len, coco_buf *out, char tee[COCO_TEE_MAX]);
	void (*free)(void *state);
} coco_attester_ops;

typedef struct coco_attester coco_attester;

/* A new attester over ops and state (state is released with ops->free,
 * also when this fails).  COCOIMG_ENOMEM or 0. */
int coco_attester_new(cocoimg_ctx *ctx, const coco_attester_ops *ops, void *state,
                      coco_attester **out);

/*
 * configfs-tsm: root is the report directory (NULL: COCO_TSM_ROOT).  Each
 * evidence request makes one report entry under root (mkdir), writes the
 * report data padded to 64 bytes to inblob, reads outblob, provider and
 * generation, and removes the entry (rmdir).  Providers: tdx_guest (TDX
 * evidence {"cc_eventlog": base64|null, "quote": base64}, the event logs
 * found at logs as ccel.h says; logs NULL: the defaults), sev_guest
 * (snp.h) and arm_cca_guest (CCA evidence {"token": [bytes]}), the shapes
 * Trustee's verifiers read.  COCOIMG_ENOTFOUND (naming root) when root
 * does not exist.
 */
int coco_attester_tsm(cocoimg_ctx *ctx, const char *root, const coco_eventlog_paths *logs,
                      coco_attester **out);

/*
 * The file protocol of one configfs-tsm report entry, on an entry
 * directory that exists (made by the caller): write inblob, read
 * outblob, provider and generation (which must be 1, else another writer
 * raced us), shape the evidence (TDX: with the event logs at logs, NULL
 * for the defaults).  Exposed for tests, which lay out a fake entry whose
 * outblob they write themselves.
 */
int coco_tsm_report(cocoimg_ctx *ctx, const char *entry, const coco_eventlog_paths *logs,
                    const unsigned char *report_data, size_t len, coco_buf *out,
                    char tee[COCO_TEE_MAX]);

/* The protocol's sample TEE: evidence {"svn": "1", "report_data":
 * base64(report data)} as Trustee's sample verifier reads it.  Creating
 * one logs a warning: the evidence proves nothing. */
int coco_attester_sample(cocoimg_ctx *ctx, coco_attester **out);

/*
 * A runtime's evidence function.  Called with report_data NULL and len 0
 * to learn only the TEE name (before the challenge), else with the report
 * data to bind.  Returns 0 and sets *tee (malloc'd NUL-terminated TEE
 * name) and, when report_data is not NULL, *evidence / *evidence_len
 * (malloc'd JSON text; the library wipes and frees both); any other value
 * is a refusal, whose reason the function may write into why[why_cap]
 * (NUL-terminated; it starts empty).
 */
typedef int (*coco_evidence_fn)(void *payload, const unsigned char *report_data, size_t len,
                                unsigned char **evidence, size_t *evidence_len, char **tee,
                                char *why, size_t why_cap);

/* An attester over a runtime's evidence function (payload passed back). */
int coco_attester_callback(cocoimg_ctx *ctx, coco_evidence_fn fn, void *payload,
                           coco_attester **out);

/* The backend's name ("tsm", "sample", "callback", ...). */
const char *coco_attester_name(const coco_attester *a);

/* Ask the attester for its TEE name (cached after the first answer). */
int coco_attester_tee(coco_attester *a, cocoimg_ctx *ctx, char tee[COCO_TEE_MAX]);

/*
 * Evidence for report_data (at most 64 bytes): appended to out (JSON
 * text, at most COCO_EVIDENCE_MAX bytes, validated as JSON), TEE name in
 * tee.  out is wiped and emptied on failure.
 */
int coco_attester_evidence(coco_attester *a, cocoimg_ctx *ctx, const unsigned char *report_data,
                           size_t len, coco_buf *out, char tee[COCO_TEE_MAX]);

/* NULL-safe. */
void coco_attester_free(coco_attester *a);

/* True when name is a plausible TEE name: 1..COCO_TEE_MAX-1 characters of
 * [a-z0-9-_]. */
bool coco_tee_name_ok(const char *name);

#endif /* COCO_BROKER_ATTESTER_H */
