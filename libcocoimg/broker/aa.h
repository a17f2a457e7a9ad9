/*
 * libcocoimg broker/: the attestation agent as an evidence source (aa.c):
 * GetTeeType and GetEvidence over ttrpc on the AA's unix socket, as
 * guest-components defines them (attestation-agent/protos/
 * attestation-agent.proto):
 *   attestation_agent.AttestationAgentService/GetTeeType
 *       GetTeeTypeRequest {} -> GetTeeTypeResponse {string tee = 1}
 *   attestation_agent.AttestationAgentService/GetEvidence
 *       GetEvidenceRequest {bytes RuntimeData = 1}
 *    -> GetEvidenceResponse {bytes Evidence = 1}  (the TEE's evidence JSON)
 * Not installed.  Depends on the base layer and broker/ttrpc.c.
 */
#ifndef COCO_BROKER_AA_H
#define COCO_BROKER_AA_H

#include "attester.h"

#define COCO_AA_SERVICE "attestation_agent.AttestationAgentService"

/* An attester asking the AA at addr ("unix:///path" or a plain path);
 * each call times out after 60 seconds.  COCOIMG_EINVAL for a bad
 * address, COCOIMG_ENOMEM. */
int coco_attester_aa(cocoimg_ctx *ctx, const char *addr, coco_attester **out);

#endif /* COCO_BROKER_AA_H */
