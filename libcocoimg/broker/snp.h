/*
 * SEV-SNP evidence for the KBS protocol (tee "snp"): the attestation
 * report configfs-tsm's sev_guest provider writes to outblob, and the
 * certificate table of its auxblob, shaped as Trustee's SNP verifier
 * deserializes them.  Part of broker/.
 */
#ifndef COCO_BROKER_SNP_H
#define COCO_BROKER_SNP_H

#include "../base.h"

/* Size of an SEV-SNP ATTESTATION_REPORT (AMD SEV-SNP ABI, table 22). */
#define COCO_SNP_REPORT_LEN 1184

/*
 * Append {"attestation_report": {...}, "cert_chain": [...]|null} for the
 * report (COCO_SNP_REPORT_LEN bytes) and the GHCB certificate table aux
 * (NULL or empty: no table, "cert_chain": null) to out.  The report is
 * written field by field as the Rust sev crate (6.x) serializes its
 * AttestationReport, which is what guest-components' SNP attester sends
 * and Trustee's verifier reads back.  COCOIMG_EUNSUPPORTED for a report
 * the crate would not parse either (version below 2, a version 2 report
 * with a masked chip id, an unknown processor), COCOIMG_EIO for a report
 * of the wrong size or a certificate table that does not hold together;
 * out is left as it was on failure.
 */
int coco_snp_evidence(cocoimg_ctx *ctx, const unsigned char *report, size_t len,
                      const unsigned char *aux, size_t auxlen, coco_buf *out);

#endif
