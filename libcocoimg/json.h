/*
 * JSON helpers over jansson (json.c): strict parsing and getters,
 * configuration files, key sorting, and output byte-identical to Go's
 * encoding/json.  Every module may include it.  Not installed.
 */
#ifndef COCO_JSON_H
#define COCO_JSON_H

#include "base.h"

#include <jansson.h>

/* Parse JSON bytes strictly (no trailing data, object at top unless
 * allow_any).  Error recorded on ctx with `what` naming the document. */
int coco_json_parse(cocoimg_ctx *ctx, const void *data, size_t len, const char *what,
                    int err_code, json_t **out);
/*
 * Load a configuration file: read at most max bytes of path and parse them
 * strictly (duplicate keys refused; any JSON value).  Errors are
 * COCOIMG_ECONFIG: "WHAT: <why it cannot be read>" or "WHAT PATH: invalid
 * JSON at line L column C", followed by jansson's text only when
 * quote_text (it may quote the file: never for files holding secrets).
 * The bytes read are wiped.  *out: a new reference.
 */
int coco_json_load_file(cocoimg_ctx *ctx, const char *path, size_t max, const char *what,
                        bool quote_text, json_t **out);
/* Strict getters: return 0 and set *out, or err_code with a message naming
 * `what` and the key.  "opt" variants return 0 and leave *out NULL/0 when
 * absent but fail on a wrong type. */
int coco_json_str(cocoimg_ctx *ctx, json_t *obj, const char *key, const char *what,
                  int err_code, const char **out);
int coco_json_opt_str(cocoimg_ctx *ctx, json_t *obj, const char *key, const char *what,
                      int err_code, const char **out);
int coco_json_int(cocoimg_ctx *ctx, json_t *obj, const char *key, const char *what,
                  int err_code, int64_t *out);
/* Serialize compactly with keys in insertion order (like Go's json for
 * struct fields we build ourselves).  Caller frees. */
char *coco_json_dump(json_t *j);
/* Decode a JSON "[]byte" value: base64 string (Go) or array of 0..255
 * (Rust).  0, or COCOIMG_EINVAL for anything else (no message), or
 * COCOIMG_ENOMEM.  Absent or null -> nothing appended. */
int coco_json_bytes(json_t *v, coco_buf *out);
/* A copy of object obj with its members sorted by key (bytewise, as Go
 * writes a map); values are shared (new references).  NULL when out of
 * memory. */
json_t *coco_json_sorted(json_t *obj);

/*
 * Serialize like Go's encoding/json (what skopeo/containers-image write):
 * compact, "<>&" and U+2028/9 escaped, keys in insertion order.  Build
 * struct-like objects in Go field order and sort map-like ones (labels,
 * annotations) to get identical bytes.  Caller frees; NULL on failure.
 */
char *coco_json_dump_go(json_t *j, size_t *len);
/* Append s (n bytes) as a JSON string exactly as Go's encoding/json writes
 * it (<, >, &, U+2028/9 and control characters escaped).  ENOMEM. */
int coco_json_go_string(coco_buf *b, const char *s, size_t n);

#endif
