/*
 * libcocoimg crypt/: internals of the ocicrypt keyprovider client
 * (keyprovider.c) and of the confidential-containers annotation packet
 * (coco.c), shared between those two files, their unit tests and fuzz
 * targets.  Not installed.
 */
#ifndef COCO_KEYPROVIDER_H
#define COCO_KEYPROVIDER_H

#include "crypt.h"

#define COCO_KP_ANNOTATION_PREFIX "org.opencontainers.image.enc.keys.provider."
#define COCO_AA_PROVIDER "attestation-agent"
#define COCO_AA_ANNOTATION COCO_KP_ANNOTATION_PREFIX COCO_AA_PROVIDER

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

/* Decode a JSON "[]byte" value: base64 string or array of 0..255.
 * 0, or COCOIMG_EINVAL for anything else (no message).  null -> empty. */
int coco_json_bytes(json_t *v, coco_buf *out);

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

/* True if kr holds a provider:attestation-agent decryption key: the
 * provider wrapper then also handles local CoCo keys for that annotation
 * (local first), and coco_kw_coco stands aside. */
bool coco_kw_provider_handles_aa(const cocoimg_keyring *kr);

/* ---- coco.c ---------------------------------------------------------- */

typedef struct coco_packet {
	char *version;             /* NULL when absent ("0.1.0" implied) */
	char *kid;
	char *provider;            /* NULL when absent ("kbs" implied) */
	char *wrap_type;           /* as written; NULL if absent */
	coco_buf wrapped;
	coco_buf iv;
	bool has_iv;
} coco_packet;

/*
 * Parse a decoded annotation packet (current four-field form, CDH's
 * versioned form, and the historical forms of ocicrypt.md 7.6).
 * COCOIMG_EBADIMAGE with a message when it is not a packet.
 */
int coco_packet_parse(cocoimg_ctx *ctx, const unsigned char *data, size_t len,
                      coco_packet *out);
void coco_packet_clear(coco_packet *p);

/* Resource path "repo/type/tag" of a KBS kid (kbs://HOST/r/t/tag,
 * kbs+PLUGIN://..., historical SCHEME://HOST/r/t/tag, /r/t/tag).
 * Returns NULL if it has no such path.  strict: only kbs / kbs+PLUGIN
 * URIs with exactly three segments (what a guest accepts). */
char *coco_kid_resource_path(const char *kid, bool strict);

/* True if kr holds anything that opens packets locally (coco-keys files,
 * coco: KEKs, or a resolver callback). */
bool coco_keyring_has_local_coco(const cocoimg_keyring *kr);

/*
 * Open the comma-separated annotation value with the keyring's local
 * CoCo keys and resolver.  0 with *opts; COCOIMG_ENOKEY appending what
 * was tried; COCOIMG_EBADIMAGE for an element that is not base64.
 */
int coco_packet_unwrap_local(cocoimg_ctx *ctx, cocoimg_keyring *kr, const char *value,
                             coco_buf *opts, coco_buf *tried);

/* Append "; " (if needed) and a formatted note to a "tried" buffer. */
void coco_tried_add(coco_buf *tried, const char *fmt, ...) COCO_PRINTF(2, 3);

#endif
