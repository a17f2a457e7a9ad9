/*
 * libcocoimg broker/: the ocicrypt keyprovider client (keyprovider.c):
 * configuration, request and answer, cmd and gRPC invocation.  Shared with
 * the operations layer (image_crypt.c), unit tests and fuzz targets.  Not
 * installed.  Depends on the base layer only.
 */
#ifndef COCO_BROKER_KEYPROVIDER_H
#define COCO_BROKER_KEYPROVIDER_H

#include "../base.h"
#include "../json.h"

/* Largest keyprovider answer we read (stdout of a cmd provider, gRPC
 * message); the wrapped blobs are a few hundred bytes. */
#define COCO_KP_MAX_RESPONSE (1024 * 1024)

/* ---- keyprovider.c ----------------------------------------------------- */

/* How one configured provider is invoked. */
typedef struct coco_kp_provider {
	char *name;
	char *cmd_path;            /* cmd form (NULL if grpc) */
	char **cmd_args;           /* NULL-terminated, may be NULL */
	char *grpc;                /* grpc form: "host:port", "http://...", "unix:///path" */
} coco_kp_provider;

void coco_kp_provider_clear(coco_kp_provider *p);

/*
 * Look NAME up in the keyprovider config (ctx "keyprovider-config", else
 * $OCICRYPT_KEYPROVIDER_CONFIG).  COCOIMG_EINVAL if there is no config or
 * no such provider; COCOIMG_ECONFIG naming the file if it cannot be read
 * or is malformed; COCOIMG_EUNSUPPORTED for invocation forms other than
 * cmd and grpc.
 */
int coco_kp_lookup(cocoimg_ctx *ctx, const char *name, coco_kp_provider *out);

/*
 * Build the keyprovider request JSON for provider `name` with the given
 * parameters (raw bytes of each OPTS string; base64-encoded into the
 * request).  wrap: `data` is the private options (optsdata); unwrap:
 * `data` is one decoded annotation element.  Caller wipes and frees the
 * buffer (it may hold secrets).
 */
int coco_kp_build_request(const char *name, const char *const *params, size_t n_params,
                          bool wrap, const unsigned char *data, size_t len, coco_buf *out);

/*
 * Parse a keyprovider answer: wrap -> keywrapresults.annotation,
 * unwrap -> keyunwrapresults.optsdata.  Byte fields are accepted as base64
 * strings (Go servers) and as JSON arrays of byte values (Rust servers).
 * Errors (COCOIMG_EBADIMAGE) name the provider, never echo the content.
 */
int coco_kp_parse_response(cocoimg_ctx *ctx, const char *name, bool wrap,
                           const unsigned char *data, size_t len, coco_buf *out);

/* gRPC message framing of the keyprovider messages: 5-byte prefix +
 * protobuf {bytes field 1}.  Encode appends to out. */
int coco_grpc_frame_encode(const unsigned char *json, size_t len, coco_buf *out);
/* Decode one framed response message; *json points into data.
 * COCOIMG_EBADIMAGE (no message) if malformed. */
int coco_grpc_frame_decode(const unsigned char *data, size_t len, const unsigned char **json,
                           size_t *json_len);

/*
 * Run one request through provider p (cmd or grpc) and return its raw
 * answer.  Errors are recorded on ctx naming the provider (exit status,
 * timeout, connection failure, gRPC status).  Timeout: ctx
 * "keyprovider-timeout" seconds (default 60, 0 = none).
 */
int coco_kp_call(cocoimg_ctx *ctx, const coco_kp_provider *p, bool wrap,
                 const unsigned char *req, size_t req_len, coco_buf *resp);
/*
 * The three calls the operations layer installs in a keyring (see
 * coco_provider_ops in crypt/crypt.h; payload unused):
 * open looks NAME up (coco_kp_lookup) into *handle; invoke builds the
 * request, runs it through the provider and parses the answer, appending
 * the result (wrap: the annotation bytes, unwrap: the private options) to
 * out, which is left as it was on failure; close frees the handle.
 */
int coco_kp_open(cocoimg_ctx *ctx, void *payload, const char *name, void **handle);
int coco_kp_invoke(cocoimg_ctx *ctx, void *handle, bool wrap, const char *const *params,
                   size_t n_params, const unsigned char *data, size_t len, coco_buf *out);
void coco_kp_close(void *handle);

#endif /* COCO_BROKER_KEYPROVIDER_H */
