/*
 * Docker schema2 to OCI conversion as containers/image does it when a
 * destination stores OCI types only: image configs re-encoded through the
 * image-spec structs, descriptors in Go field order.
 */
#include "oci.h"
#include "../base.h"
#include "../json.h"

#include <stdio.h>
#include <string.h>

/* A descriptor object in Go field order (image-spec Descriptor). */
json_t *coco_oci_convert_desc(json_t *in, const char *media_type)
{
	static const char *const order[] = { "mediaType", "digest", "size", "urls", "annotations",
		"data", "platform", "artifactType" };
	json_t *o = json_object();
	for (size_t i = 0; o && i < COCO_ARRAY_SIZE(order); i++) {
		json_t *v = json_object_get(in, order[i]);
		if (i == 0 && media_type)
			json_object_set_new(o, order[i], json_string(media_type));
		else if (v && !json_is_null(v))
			json_object_set(o, order[i], v);
	}
	return o;
}

/* A map[string]struct{} as Go writes it: keys sorted, every value {}. */
static json_t *sorted_set(json_t *m)
{
	json_t *o = coco_json_sorted(m);
	const char *k;
	json_t *v;
	json_object_foreach(m, k, v) {
		if (o && json_object_set_new(o, k, json_object())) {
			json_decref(o);
			o = NULL;
		}
	}
	return o;
}

/* Go's RFC3339Nano re-formatting of a timestamp: zero offset as "Z",
 * trailing zeros of the fraction dropped. */
static json_t *go_time(const char *s)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", s);
	size_t n = strlen(buf);
	if (n > 6 && (!strcmp(buf + n - 6, "+00:00") || !strcmp(buf + n - 6, "-00:00"))) {
		strcpy(buf + n - 6, "Z");
		n = strlen(buf);
	}
	char *dot = strchr(buf, '.');
	if (dot) {
		char *end = dot + 1;
		while (*end >= '0' && *end <= '9')
			end++;
		char *last = end;
		while (last > dot + 1 && last[-1] == '0')
			last--;
		if (last == dot + 1)
			last = dot;
		memmove(last, end, strlen(end) + 1);
	}
	return json_string(buf);
}

typedef struct {
	const char *key;
	char kind;                 /* s string, a string array, m map of {}, M string map, b bool */
} cfg_field;

static int conv_fields(cocoimg_ctx *ctx, json_t *in, json_t *out, const cfg_field *f, size_t n,
                       const char *what)
{
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_object_get(in, f[i].key);
		if (!v || json_is_null(v))
			continue;
		bool ok = true;
		json_t *nv = NULL;
		switch (f[i].kind) {
		case 's':
			ok = json_is_string(v);
			if (ok && json_string_length(v))
				nv = json_incref(v);
			break;
		case 'a': {
			ok = json_is_array(v);
			size_t k;
			json_t *e;
			json_array_foreach(v, k, e) ok = ok && json_is_string(e);
			if (ok && json_array_size(v))
				nv = json_incref(v);
			break;
		}
		case 'm':
		case 'M': {
			ok = json_is_object(v);
			const char *k;
			json_t *e;
			json_object_foreach(v, k, e) ok = ok && (f[i].kind == 'm' ? json_is_object(e) : json_is_string(e));
			if (ok && json_object_size(v))
				nv = f[i].kind == 'm' ? sorted_set(v) : coco_json_sorted(v);
			break;
		}
		case 'b':
			ok = json_is_boolean(v);
			if (ok && json_is_true(v))
				nv = json_true();
			break;
		}
		if (!ok)
			return coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: field \"%s\" has the wrong type", what,
			                   f[i].key);
		if (nv)
			json_object_set_new(out, f[i].key, nv);
	}
	return 0;
}

/* The object field key of in, and a new object o[key] for its
 * conversion: *sub NULL when the field is absent or null; an error
 * recorded when it is something else than an object. */
static int sub_object(cocoimg_ctx *ctx, json_t *in, json_t *o, const char *key, const char *what,
                      json_t **sub, json_t **sub_out)
{
	*sub = json_object_get(in, key);
	*sub_out = json_object();
	json_object_set_new(o, key, *sub_out);
	if (json_is_null(*sub))
		*sub = NULL;
	if (*sub && !json_is_object(*sub))
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: field \"%s\" must be an object", what,
		                   key);
	return 0;
}

/*
 * Docker image config -> OCI image config as containers/image does it:
 * decode into the image-spec Image struct and encode again, dropping the
 * Docker-only fields (container_config, docker_version, ...).
 */
int coco_oci_convert_config(cocoimg_ctx *ctx, const coco_buf *raw, char **out, size_t *outlen)
{
	json_t *in;
	int rc = coco_json_parse(ctx, raw->data, raw->len, "image config", COCOIMG_EBADIMAGE, &in);
	if (rc)
		return rc;
	json_t *o = json_object();
	const char *what = "image config";
	const char *created = NULL;
	if ((rc = coco_json_opt_str(ctx, in, "created", what, COCOIMG_EBADIMAGE, &created)))
		goto done;
	if (created)
		json_object_set_new(o, "created", go_time(created));
	static const cfg_field top1[] = { { "author", 's' } };
	if ((rc = conv_fields(ctx, in, o, top1, 1, what)))
		goto done;
	const char *arch, *os;
	if ((rc = coco_json_opt_str(ctx, in, "architecture", what, COCOIMG_EBADIMAGE, &arch)) ||
	    (rc = coco_json_opt_str(ctx, in, "os", what, COCOIMG_EBADIMAGE, &os)))
		goto done;
	json_object_set_new(o, "architecture", json_string(arch ? arch : ""));
	static const cfg_field var[] = { { "variant", 's' } };
	if ((rc = conv_fields(ctx, in, o, var, 1, what)))
		goto done;
	json_object_set_new(o, "os", json_string(os ? os : ""));
	static const cfg_field osx[] = { { "os.version", 's' }, { "os.features", 'a' } };
	if ((rc = conv_fields(ctx, in, o, osx, 2, what)))
		goto done;
	json_t *cin, *cout;
	if ((rc = sub_object(ctx, in, o, "config", what, &cin, &cout)))
		goto done;
	if (cin) {
		static const cfg_field cf[] = {
			{ "User", 's' }, { "ExposedPorts", 'm' }, { "Env", 'a' }, { "Entrypoint", 'a' },
			{ "Cmd", 'a' }, { "Volumes", 'm' }, { "WorkingDir", 's' }, { "Labels", 'M' },
			{ "StopSignal", 's' }, { "ArgsEscaped", 'b' },
		};
		if ((rc = conv_fields(ctx, cin, cout, cf, COCO_ARRAY_SIZE(cf), "image config config")))
			goto done;
	}
	json_t *rin, *rout;
	if ((rc = sub_object(ctx, in, o, "rootfs", what, &rin, &rout)))
		goto done;
	if (rin) {
		const char *type;
		if ((rc = coco_json_opt_str(ctx, rin, "type", what, COCOIMG_EBADIMAGE, &type)))
			goto done;
		json_object_set_new(rout, "type", json_string(type ? type : ""));
		json_t *ids = json_object_get(rin, "diff_ids");
		size_t k;
		json_t *e;
		bool ok = !ids || json_is_null(ids) || json_is_array(ids);
		if (ok && json_is_array(ids))
			json_array_foreach(ids, k, e) ok = ok && json_is_string(e);
		if (!ok) {
			rc = coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: rootfs.diff_ids must be an array of strings", what);
			goto done;
		}
		json_object_set_new(rout, "diff_ids", ids && json_is_array(ids) ? json_incref(ids) : json_null());
	} else {
		json_object_set_new(rout, "type", json_string(""));
		json_object_set_new(rout, "diff_ids", json_null());
	}
	json_t *hin = json_object_get(in, "history");
	if (hin && !json_is_null(hin)) {
		if (!json_is_array(hin)) {
			rc = coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: field \"history\" must be an array", what);
			goto done;
		}
		if (json_array_size(hin)) {
			json_t *hout = json_array();
			json_object_set_new(o, "history", hout);
			size_t k;
			json_t *e;
			json_array_foreach(hin, k, e) {
				if (!json_is_object(e)) {
					rc = coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: history[%zu] must be an object", what, k);
					goto done;
				}
				json_t *h = json_object();
				json_array_append_new(hout, h);
				const char *hc;
				if ((rc = coco_json_opt_str(ctx, e, "created", what, COCOIMG_EBADIMAGE, &hc)))
					goto done;
				if (hc)
					json_object_set_new(h, "created", go_time(hc));
				static const cfg_field hf[] = { { "created_by", 's' }, { "author", 's' },
					{ "comment", 's' }, { "empty_layer", 'b' } };
				if ((rc = conv_fields(ctx, e, h, hf, COCO_ARRAY_SIZE(hf), "image config history")))
					goto done;
			}
		}
	}
	*out = coco_json_dump_go(o, outlen);
	if (!*out)
		rc = coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory");
done:
	json_decref(o);
	json_decref(in);
	return rc;
}
