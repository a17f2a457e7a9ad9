/* Thin strict helpers over jansson. */
#include "base.h"
#include "json.h"

#include <math.h>
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

/* ---- Go-compatible JSON output ---- */

/*
 * Go's encoding/json: compact; "<", ">", "&", U+2028 and U+2029 escaped as
 * \u00XX / \u20XX; control characters other than \n \r \t as \u00XX (Go
 * before 1.22, which skopeo 1.9.3 is built with, has no \b \f short forms);
 * everything else raw UTF-8.  Object keys come out in insertion order: the
 * caller builds struct-like objects in Go field order and map-like objects
 * (annotations, labels) sorted.
 */
int coco_json_go_string(coco_buf *b, const char *s, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	int rc = coco_buf_putc(b, '"');
	for (size_t i = 0; i < n && !rc; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			rc = coco_buf_append(b, e, 2);
		} else if (c == '\n') {
			rc = coco_buf_append(b, "\\n", 2);
		} else if (c == '\r') {
			rc = coco_buf_append(b, "\\r", 2);
		} else if (c == '\t') {
			rc = coco_buf_append(b, "\\t", 2);
		} else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
			char e[6] = { '\\', 'u', '0', '0', hx[c >> 4], hx[c & 15] };
			rc = coco_buf_append(b, e, 6);
		} else if (c == 0xe2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
		           ((unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9)) {
			rc = coco_buf_append(b, (unsigned char)s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
			i += 2;
		} else {
			rc = coco_buf_putc(b, (char)c);
		}
	}
	return rc ? rc : coco_buf_putc(b, '"');
}

static int go_real(coco_buf *b, double v)
{
	if (!isfinite(v))
		return COCOIMG_EINVAL;
	/* shortest representation that round-trips, like strconv 'g' -1 */
	char tmp[64];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	double a = fabs(v);
	if (a != 0 && (a < 1e-6 || a >= 1e21)) {
		/* Go: exponent form with at least two exponent digits, "e-07" */
		char *e = strchr(tmp, 'e');
		if (e) {
			char mant[40];
			snprintf(mant, sizeof(mant), "%.*s", (int)(e - tmp), tmp);
			int ex = atoi(e + 1);
			return coco_buf_appendf(b, "%se%c%02d", mant, ex < 0 ? '-' : '+', ex < 0 ? -ex : ex);
		}
		return coco_buf_appendf(b, "%s", tmp);
	}
	/* plain decimal form */
	char *e = strchr(tmp, 'e');
	if (!e)
		return coco_buf_appendf(b, "%s", tmp);
	/* expand an exponent %g chose but Go would not use */
	int digits = 0;
	for (const char *p = tmp; p < e; p++)
		if (*p >= '0' && *p <= '9')
			digits++;
	int ex = atoi(e + 1);
	int decimals = digits - 1 - ex;
	if (decimals < 0)
		decimals = 0;
	return coco_buf_appendf(b, "%.*f", decimals, v);
}

static int go_dump(coco_buf *b, json_t *j, int depth)
{
	if (depth > 200)
		return COCOIMG_EINVAL;
	int rc = 0;
	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		const char *k;
		json_t *v;
		bool first = true;
		rc = coco_buf_putc(b, '{');
		json_object_foreach(j, k, v) {
			if (rc)
				break;
			if (!first)
				rc = coco_buf_putc(b, ',');
			first = false;
			if (!rc)
				rc = coco_json_go_string(b, k, strlen(k));
			if (!rc)
				rc = coco_buf_putc(b, ':');
			if (!rc)
				rc = go_dump(b, v, depth + 1);
		}
		return rc ? rc : coco_buf_putc(b, '}');
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *v;
		rc = coco_buf_putc(b, '[');
		json_array_foreach(j, i, v) {
			if (!rc && i)
				rc = coco_buf_putc(b, ',');
			if (!rc)
				rc = go_dump(b, v, depth + 1);
		}
		return rc ? rc : coco_buf_putc(b, ']');
	}
	case JSON_STRING:
		return coco_json_go_string(b, json_string_value(j), json_string_length(j));
	case JSON_INTEGER:
		return coco_buf_appendf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
	case JSON_REAL:
		return go_real(b, json_real_value(j));
	case JSON_TRUE:
		return coco_buf_append(b, "true", 4);
	case JSON_FALSE:
		return coco_buf_append(b, "false", 5);
	case JSON_NULL:
		return coco_buf_append(b, "null", 4);
	}
	return COCOIMG_EINVAL;
}

char *coco_json_dump_go(json_t *j, size_t *len)
{
	coco_buf b = COCO_BUF_INIT;
	if (go_dump(&b, j, 0) || !coco_buf_cstr(&b)) {
		coco_buf_free(&b);
		return NULL;
	}
	if (len)
		*len = b.len;
	return (char *)b.data;
}
