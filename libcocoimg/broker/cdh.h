/*
 * libcocoimg broker/: a confidential-data-hub client (cdh.c) over ttrpc
 * on a unix socket (usually unix:///run/confidential-containers/cdh.sock).
 *
 * Services and messages as guest-components defines them
 * (confidential-data-hub/hub/protos/api.proto and keyprovider.proto):
 *   api.GetResourceService/GetResource
 *       GetResourceRequest {string ResourcePath = 1}  (a kbs:/// URI)
 *    -> GetResourceResponse {bytes Resource = 1}
 *   keyprovider.KeyProviderService/UnWrapKey
 *       KeyProviderKeyWrapProtocolInput {bytes ... = 1}  (ocicrypt
 *       keyprovider JSON: op "keyunwrap", annotation = the packet)
 *    -> KeyProviderKeyWrapProtocolOutput {bytes ... = 1}  (keyprovider
 *       JSON answer: keyunwrapresults.optsdata)
 * CDH's UnWrapKey accepts only kbs:// kids, so /R/T/G and R/T/G kids are
 * rewritten to kbs:///R/T/G before a packet is sent.
 *
 * Not installed.  Depends on the base layer and broker/ttrpc.c,
 * broker/resource_uri.c, broker/keyprovider.c (request and answer JSON).
 * Resources and keys are wiped by the callers; nothing is logged.
 */
#ifndef COCO_BROKER_CDH_H
#define COCO_BROKER_CDH_H

#include "../base.h"

#define COCO_CDH_RESOURCE_SERVICE "api.GetResourceService"
#define COCO_CDH_RESOURCE_METHOD "GetResource"
#define COCO_CDH_KEYPROVIDER_SERVICE "keyprovider.KeyProviderService"
#define COCO_CDH_UNWRAP_METHOD "UnWrapKey"

typedef struct coco_cdh coco_cdh;

/* A client of the CDH at addr ("unix:///path" or a plain path).  Nothing
 * is sent yet.  COCOIMG_EINVAL for a bad address, COCOIMG_ENOMEM. */
int coco_cdh_new(cocoimg_ctx *ctx, const char *addr, coco_cdh **out);

/* Limit each call to seconds (default 60; 0 = none). */
void coco_cdh_set_timeout(coco_cdh *cdh, long seconds);

/*
 * Fetch a resource (any form coco_ruri_parse takes with COCO_RURI_KID),
 * asked for as kbs:///R/T/G; appended to out (caller wipes).  Errors
 * (recorded, naming the socket and the URI): COCOIMG_ENOTFOUND (CDH
 * answered NOT_FOUND), COCOIMG_ENET (unreachable, any other failure
 * status: CDH reports a missing resource as an internal error),
 * COCOIMG_EBADIMAGE (malformed answer), COCOIMG_EINVAL (bad URI).
 */
int coco_cdh_get_resource(coco_cdh *cdh, cocoimg_ctx *ctx, const char *uri, coco_buf *out);

/*
 * Open a CoCo annotation packet (the JSON of the
 * org.opencontainers.image.enc.keys.provider.attestation-agent element,
 * decoded): its kid is rewritten to kbs:///R/T/G, CDH unwraps it, and
 * the private options (the layer key's JSON) are appended to out.
 * Errors: as coco_cdh_get_resource; COCOIMG_EBADIMAGE for a packet that
 * is not a JSON object with a string kid.
 */
int coco_cdh_unwrap_key(coco_cdh *cdh, cocoimg_ctx *ctx, const unsigned char *packet, size_t len,
                        coco_buf *out);

/* Rewrite the kid of a packet to its normal form (exposed for tests):
 * the packet JSON with kid kbs:///R/T/G appended to out. */
int coco_cdh_packet_normalize(cocoimg_ctx *ctx, const unsigned char *packet, size_t len,
                              coco_buf *out);

/* The socket path (for messages). */
const char *coco_cdh_path(const coco_cdh *cdh);

/* NULL-safe. */
void coco_cdh_free(coco_cdh *cdh);

#endif /* COCO_BROKER_CDH_H */
