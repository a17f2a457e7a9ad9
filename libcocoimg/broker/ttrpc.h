/*
 * libcocoimg broker/: a minimal ttrpc client (ttrpc.c) for the guest
 * services of confidential containers (confidential-data-hub, the
 * attestation agent), which serve ttrpc on unix sockets.
 *
 * Wire format (containerd/ttrpc PROTOCOL.md and request.proto): each frame
 * is a 10-byte header -- data length (uint32 big-endian, at most 4 MiB),
 * stream id (uint32 big-endian, odd for client streams), message type
 * (1 request, 2 response), flags (0 for unary) -- followed by a protobuf
 * message: Request {service=1, method=2, payload=3, timeout_nano=4,
 * metadata=5} or Response {status=1 (google.rpc.Status {code=1,
 * message=2}), payload=2}.  Only unary calls are made: one request, one
 * response, one connection per call.
 *
 * The protobuf pieces are in pb.h.  Not installed.  Depends on the base
 * layer only.
 */
#ifndef COCO_BROKER_TTRPC_H
#define COCO_BROKER_TTRPC_H

#include "../base.h"
#include "pb.h"

#define COCO_TTRPC_HEADER 10
/* ttrpc's largest message data. */
#define COCO_TTRPC_MAX (4u << 20)
#define COCO_TTRPC_REQUEST 1
#define COCO_TTRPC_RESPONSE 2

/* ---- ttrpc messages ----------------------------------------------------- */

/* Parse a frame header: 0, or COCOIMG_EBADIMAGE when the length exceeds
 * COCO_TTRPC_MAX (or its reserved first byte is set). */
int coco_ttrpc_header_parse(const unsigned char h[COCO_TTRPC_HEADER], uint32_t *len,
                            uint32_t *stream, uint8_t *type, uint8_t *flags);

/* Append one request frame (header and Request) for stream to out.
 * timeout_ns 0 leaves timeout_nano out.  COCOIMG_EINVAL when the message
 * would exceed COCO_TTRPC_MAX, COCOIMG_ENOMEM. */
int coco_ttrpc_request_encode(uint32_t stream, const char *service, const char *method,
                              const unsigned char *payload, size_t len, uint64_t timeout_ns,
                              coco_buf *out);

/* A decoded Response (pointers into the message). */
typedef struct coco_ttrpc_response {
	int64_t code;              /* google.rpc.Status code (0: OK) */
	const unsigned char *msg;  /* status message (not NUL-terminated) */
	size_t msg_len;
	const unsigned char *payload;
	size_t payload_len;
} coco_ttrpc_response;

/* Decode a Response message.  0 or COCOIMG_EBADIMAGE (no message). */
int coco_ttrpc_response_decode(const unsigned char *data, size_t len, coco_ttrpc_response *out);

/*
 * One unary call: connect to the unix socket path, send service/method
 * with payload on stream 1, read the response frame (it must be a
 * response on stream 1 with empty flags), and append its payload to out.
 * timeout_ms bounds the whole call (0: none).  Errors recorded on ctx
 * naming the socket and "service/method" (peer status messages quoted,
 * sanitised and shortened):
 *   COCOIMG_ENET       cannot connect, I/O failure, timeout, peer closed
 *   COCOIMG_EBADIMAGE  malformed frame or response
 *   COCOIMG_ENOTFOUND  status NOT_FOUND (5)
 *   COCOIMG_EAUTH      status PERMISSION_DENIED (7) or UNAUTHENTICATED (16)
 *   COCOIMG_EUNSUPPORTED status UNIMPLEMENTED (12)
 *   COCOIMG_ENET       any other status
 */
int coco_ttrpc_call(cocoimg_ctx *ctx, const char *path, const char *service, const char *method,
                    const unsigned char *payload, size_t len, long timeout_ms, coco_buf *out);

/* The socket path of addr: "unix:///path" or a plain path (abstract
 * "unix://@name" is refused).  malloc'd, or NULL with COCOIMG_EINVAL on
 * ctx naming addr (or COCOIMG_ENOMEM). */
char *coco_ttrpc_socket_path(cocoimg_ctx *ctx, const char *addr);

#endif /* COCO_BROKER_TTRPC_H */
