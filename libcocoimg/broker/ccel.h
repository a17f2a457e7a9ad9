/*
 * The confidential-computing event log of TDX evidence (ccel.c): the
 * "cc_eventlog" member of {"cc_eventlog", "quote"}, as guest-components'
 * attester sends it (commit 8246e5e0977f6322f0a1b0f77e0739cf1c3e1f74,
 * attestation-agent/attester/src/utils.rs read_eventlog) and Trustee's
 * verifier replays it against the quote's RTMRs (commit 78962cd4,
 * deps/eventlog, deps/verifier/src/tdx):
 *
 *   - the firmware's log (the ACPI CCEL table's data, a TCG crypto-agile
 *     log: one TCG_PCR_EVENT holding the Spec ID event, then
 *     TCG_PCR_EVENT2 records) cut where the recorded events end, i.e.
 *     before the first record that starts with eight 0xFF or eight 0x00
 *     bytes (the unused area: OVMF fills it with 0xFF, td-shim with 0);
 *   - then the attestation agent's own log (AAEL: TCG_PCR_EVENT2 records
 *     of runtime measurements) when there is one, as written; without a
 *     firmware log it is preceded by a Spec ID event naming SHA-384 and
 *     SM3, the header guest-components uses;
 *   - then eight 0xFF bytes (the end marker);
 *   - base64 (standard alphabet, padded); JSON null when neither log
 *     exists.
 *
 * Part of broker/; depends on the base layer only.
 */
#ifndef COCO_BROKER_CCEL_H
#define COCO_BROKER_CCEL_H

#include "../base.h"

/* Where Linux shows the CCEL table's data, and where the attestation
 * agent keeps its log (guest-components reads AAEL_PATH first). */
#define COCO_CCEL_PATH "/sys/firmware/acpi/tables/data/CCEL"
#define COCO_AAEL_PATH "/run/attestation-agent/eventlog"
/* Largest log file read (the CCEL area is 64 KiB with OVMF, 1 MiB with
 * td-shim; what is recorded is far smaller). */
#define COCO_CCEL_FILE_MAX (16 * 1024 * 1024)

/* Where TDX evidence finds the logs: NULL members (or a NULL pointer)
 * mean the defaults (COCO_CCEL_PATH; AAEL_PATH from the environment, else
 * COCO_AAEL_PATH).  Tests point both into a scratch directory. */
typedef struct coco_eventlog_paths {
	const char *ccel;
	const char *aael;
} coco_eventlog_paths;

/*
 * The length of the recorded part of a firmware event log: the
 * TCG_PCR_EVENT header (which must be the EV_NO_ACTION Spec ID event; its
 * digest table gives each algorithm's digest size) and every complete
 * TCG_PCR_EVENT2 record before the end marker (a record starting with
 * eight 0xFF or eight 0x00 bytes) or the end of the data.  COCOIMG_EIO
 * (recorded on ctx, which may be NULL) when the header or a record does
 * not hold together: cut short, an algorithm the Spec ID event does not
 * list, sizes beyond the data.
 */
int coco_ccel_trim(cocoimg_ctx *ctx, const unsigned char *log, size_t len, size_t *end);

/*
 * Append the cc_eventlog value (a JSON string, or null when neither log
 * exists) for the logs at paths to out.  A firmware log that does not
 * hold together is an error (COCOIMG_EIO naming its path), as it is for
 * guest-components; so is a log that cannot be read.
 */
int coco_cc_eventlog_json(cocoimg_ctx *ctx, const coco_eventlog_paths *paths, coco_buf *out);

#endif
