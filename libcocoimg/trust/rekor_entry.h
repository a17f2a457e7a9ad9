/*
 * trust/rekor_entry.c: the signing side of Rekor v1 (bytes only; the
 * operations layer posts and fetches).  What a client proposes to
 * `POST /api/v1/log/entries`, the LogEntry the log answers with, and that
 * entry rewritten as a Sigstore bundle's transparency-log entry or as
 * cosign's legacy `dev.sigstore.cosign/bundle` annotation.  Not installed.
 */
#ifndef COCO_TRUST_REKOR_ENTRY_H
#define COCO_TRUST_REKOR_ENTRY_H

#include "sigstore.h"
#include "../base.h"

#include <jansson.h>

/*
 * The proposed entries (Rekor's openapi "ProposedEntry", apiVersion
 * 0.0.1).  signer_pem: the signer's PEM ("PUBLIC KEY" or "CERTIFICATE").
 *  hashedrekord: spec.data.hash {algorithm sha256, value hex of digest},
 *                spec.signature {content b64 sig, publicKey.content b64 PEM}
 *  dsse:         spec.proposedContent {envelope: the envelope JSON as a
 *                string, verifiers: [b64 PEM]}
 * out receives the JSON.  0 or ENOMEM.
 */
int coco_rekor_propose_hashedrekord(cocoimg_ctx *ctx, const unsigned char digest[32],
                                    const unsigned char *sig, size_t sig_len,
                                    const char *signer_pem, coco_buf *out);
int coco_rekor_propose_dsse(cocoimg_ctx *ctx, const char *envelope, const char *signer_pem,
                            coco_buf *out);

/* One LogEntry of Rekor v1's answer. */
typedef struct coco_rekor_logentry {
	char *uuid;                     /* the answer's key (entry UUID) */
	coco_buf body;                  /* canonicalized body (decoded) */
	char *kind, *version;           /* the body's kind and apiVersion */
	int64_t integrated_time;
	unsigned char log_id[32];       /* SHA-256 of the log key's SPKI */
	int64_t log_index;
	coco_buf set;                   /* verification.signedEntryTimestamp */
	int64_t proof_index;            /* inclusionProof.logIndex (in its tree) */
	int64_t tree_size;
	unsigned char root_hash[32];
	unsigned char (*hashes)[32];
	size_t n_hashes;
	char *checkpoint;               /* the signed note */
} coco_rekor_logentry;

/*
 * Parse the answer to a POST (a JSON object with exactly one member, UUID
 * -> LogEntry): body (base64 of a JSON object with kind and apiVersion),
 * integratedTime, logID (64 hex), logIndex, verification
 * {signedEntryTimestamp, inclusionProof {logIndex, treeSize, rootHash,
 * hashes, checkpoint}}, all required.  0, COCOIMG_EBADIMAGE naming what
 * is wrong, or ENOMEM.  Clear *out also after a failure.
 */
int coco_rekor_logentry_parse(cocoimg_ctx *ctx, const void *json, size_t len,
                              coco_rekor_logentry *out);
void coco_rekor_logentry_clear(coco_rekor_logentry *e);

/*
 * What a signer can check without the log's key: the entry's body logs
 * this signature (coco_rekor_body_verify), its inclusion proof leads from
 * the body's leaf hash to rootHash, and the checkpoint (parsed, not
 * verified) is of that tree size and root.  0 or COCOIMG_EPOLICY.
 */
int coco_rekor_logentry_check(cocoimg_ctx *ctx, const coco_rekor_logentry *e,
                              const coco_sig_content *c);

/*
 * The entry as a bundle's TransparencyLogEntry (protobuf-specs JSON:
 * int64 as strings, bytes as base64, fields in proto order: logIndex,
 * logId.keyId, kindVersion, integratedTime, inclusionPromise,
 * inclusionProof, canonicalizedBody).  NULL when out of memory.
 */
json_t *coco_rekor_logentry_tlog_json(const coco_rekor_logentry *e);

/*
 * cosign's legacy annotation dev.sigstore.cosign/bundle:
 * {"SignedEntryTimestamp":B64,"Payload":{"body":B64,"integratedTime":N,
 * "logIndex":N,"logID":HEX}} (cosign's bundle.RekorBundle, Go field
 * order).  NULL when out of memory.
 */
char *coco_rekor_logentry_cosign_bundle(const coco_rekor_logentry *e);

#endif
