/* Thin strict helpers over jansson. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

int coco_json_parse(cocoimg_ctx *ctx, const void *data, size_t len, const char *what,
                    int err_code, json_t **out)
{
	json_error_t je;
	/* JSON_REJECT_DUPLICATES: duplicate keys are an error, as Go's strict
	 * decoders used by containers/image treat them for policy files;
	 * manifests with duplicate keys are ambiguous and refused too. */
	json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
	if (!j)
		return coco_seterr(ctx, err_code, "%s: invalid JSON at line %d column %d: %s", what,
		                   je.line, je.column, je.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return coco_seterr(ctx, err_code, "%s: expected a JSON object", what);
	}
	*out = j;
	return 0;
}

int coco_json_load_file(cocoimg_ctx *ctx, const char *path, size_t max, const char *what,
                        bool quote_text, json_t **out)
{
	*out = NULL;
	coco_buf raw = COCO_BUF_INIT;
	int rc = coco_read_file(ctx, path, max, &raw, COCOIMG_ECONFIG);
	if (rc) {
		coco_buf_wipe_free(&raw);
		return coco_preferr(ctx, COCOIMG_ECONFIG, "%s", what);
	}
	json_error_t je;
	*out = json_loadb((const char *)raw.data, raw.len, JSON_REJECT_DUPLICATES, &je);
	coco_buf_wipe_free(&raw);
	if (*out)
		return 0;
	return coco_seterr(ctx, COCOIMG_ECONFIG, "%s %s: invalid JSON at line %d column %d%s%s", what,
	                   path, je.line, je.column, quote_text ? ": " : "", quote_text ? je.text : "");
}

int coco_json_opt_str(cocoimg_ctx *ctx, json_t *obj, const char *key, const char *what,
                      int err_code, const char **out)
{
	*out = NULL;
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return coco_seterr(ctx, err_code, "%s: field \"%s\" must be a string", what, key);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return coco_seterr(ctx, err_code, "%s: field \"%s\" contains a NUL byte", what, key);
	*out = json_string_value(v);
	return 0;
}

int coco_json_str(cocoimg_ctx *ctx, json_t *obj, const char *key, const char *what,
                  int err_code, const char **out)
{
	int rc = coco_json_opt_str(ctx, obj, key, what, err_code, out);
	if (rc)
		return rc;
	if (!*out)
		return coco_seterr(ctx, err_code, "%s: missing field \"%s\"", what, key);
	return 0;
}

int coco_json_int(cocoimg_ctx *ctx, json_t *obj, const char *key, const char *what,
                  int err_code, int64_t *out)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return coco_seterr(ctx, err_code, "%s: missing field \"%s\"", what, key);
	if (!json_is_integer(v))
		return coco_seterr(ctx, err_code, "%s: field \"%s\" must be an integer", what, key);
	*out = (int64_t)json_integer_value(v);
	return 0;
}

char *coco_json_dump(json_t *j)
{
	return json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
}

/* Go's encoding/json for []byte is standard base64 with padding; the Rust
 * serde form of the same fields is an array of byte values. */
/* Go's []byte from a string: standard base64 with padding. */
static int bytes_from_base64(json_t *v, coco_buf *out)
{
	size_t n = json_string_length(v);
	const char *s = json_string_value(v);
	if (n % 4)
		return COCOIMG_EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '/' || c == '='))
			return COCOIMG_EINVAL;
	}
	return coco_b64_decode(s, n, out) ? COCOIMG_EINVAL : 0;
}

/* Bytes as an array of integers 0..255. */
static int bytes_from_array(json_t *v, coco_buf *out)
{
	size_t n = json_array_size(v);
	if (coco_buf_reserve(out, n + 1))
		return COCOIMG_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(v, i);
		json_int_t b = json_is_integer(e) ? json_integer_value(e) : -1;
		if (b < 0 || b > 255)
			return COCOIMG_EINVAL;
		out->data[out->len++] = (unsigned char)b;
	}
	return 0;
}

int coco_json_bytes(json_t *v, coco_buf *out)
{
	if (!v || json_is_null(v))
		return 0;
	if (json_is_string(v))
		return bytes_from_base64(v, out);
	if (json_is_array(v))
		return bytes_from_array(v, out);
	return COCOIMG_EINVAL;
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *coco_json_sorted(json_t *obj)
{
	size_t n = json_object_size(obj), i = 0;
	const char **keys = malloc((n ? n : 1) * sizeof(*keys));
	json_t *out = json_object();
	if (!keys || !out) {
		free(keys);
		json_decref(out);
		return NULL;
	}
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v) keys[i++] = k;
	qsort(keys, n, sizeof(*keys), cmp_keys);
	for (i = 0; i < n; i++) {
		if (json_object_set(out, keys[i], json_object_get(obj, keys[i]))) {
			json_decref(out);
			out = NULL;
			break;
		}
	}
	free(keys);
	return out;
}
