/*
 * The offline_fs_kbc resources file: resource path -> base64 content (see
 * resources.h).  Contents are decoded once at load and wiped on free; the
 * JSON text and jansson's copies of the base64 strings are wiped too,
 * since they hold the same secrets.
 */
#include "resources.h"
#include "../json.h"

#include <stdlib.h>
#include <string.h>

typedef struct res_entry {
	char *path;
	coco_buf data;
} res_entry;

struct coco_resfile {
	char *name;
	res_entry *v;
	size_t n;
};

void coco_resfile_free(coco_resfile *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].path);
		coco_buf_wipe_free(&f->v[i].data);
	}
	free(f->v);
	free(f->name);
	free(f);
}

const char *coco_resfile_name(const coco_resfile *f)
{
	return f ? f->name : NULL;
}

/* Overwrite jansson's copies of the string values before the document is
 * released (they are base64 of the secrets). */
static void wipe_strings(json_t *doc)
{
	const char *k;
	json_t *v;
	json_object_foreach(doc, k, v)
		if (json_is_string(v))
			coco_wipe((char *)json_string_value(v), json_string_length(v));
}

static int add_entry(cocoimg_ctx *ctx, coco_resfile *f, const char *path, json_t *v)
{
	if (!json_is_string(v))
		return coco_seterr(ctx, COCOIMG_ECONFIG, "resources file %s: the value of \"%.200s\" is "
		                   "not a string (expected base64 content)", f->name, path);
	res_entry *e = &f->v[f->n];
	memset(e, 0, sizeof(*e));
	int rc = coco_b64_decode(json_string_value(v), json_string_length(v), &e->data);
	if (rc) {
		if (rc == COCOIMG_ENOMEM)
			return coco_oom(ctx);
		return coco_seterr(ctx, COCOIMG_ECONFIG, "resources file %s: the value of \"%.200s\" is "
		                   "not base64", f->name, path);
	}
	if (!(e->path = coco_strdup(path))) {
		coco_buf_wipe_free(&e->data);
		return coco_oom(ctx);
	}
	f->n++;
	return 0;
}

static int fill(cocoimg_ctx *ctx, coco_resfile *f, json_t *doc)
{
	if (!json_is_object(doc))
		return coco_seterr(ctx, COCOIMG_ECONFIG, "resources file %s: expected a JSON object "
		                   "mapping REPO/TYPE/TAG to base64 content", f->name);
	if (!(f->v = calloc(json_object_size(doc) + 1, sizeof(*f->v))))
		return coco_oom(ctx);
	const char *k;
	json_t *v;
	json_object_foreach(doc, k, v) {
		int rc = add_entry(ctx, f, k, v);
		if (rc)
			return rc;
	}
	return 0;
}

static int build(cocoimg_ctx *ctx, json_t *doc, const char *name, coco_resfile **out)
{
	coco_resfile *f = calloc(1, sizeof(*f));
	int rc = f && (f->name = coco_strdup(name)) ? fill(ctx, f, doc) : coco_oom(ctx);
	wipe_strings(doc);
	json_decref(doc);
	if (rc) {
		coco_resfile_free(f);
		return rc;
	}
	*out = f;
	return 0;
}

int coco_resfile_parse(cocoimg_ctx *ctx, const unsigned char *data, size_t len, const char *name,
                       coco_resfile **out)
{
	*out = NULL;
	json_error_t je;
	json_t *doc = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &je);
	if (!doc)   /* jansson's text may quote the content: position only */
		return coco_seterr(ctx, COCOIMG_ECONFIG, "resources file %s: invalid JSON at line %d "
		                   "column %d", name, je.line, je.column);
	return build(ctx, doc, name, out);
}

int coco_resfile_load(cocoimg_ctx *ctx, const char *path, coco_resfile **out)
{
	*out = NULL;
	json_t *doc;
	int rc = coco_json_load_file(ctx, path, COCO_RESFILE_MAX, "resources file", false, &doc);
	if (rc)
		return rc;
	return build(ctx, doc, path, out);
}

int coco_resfile_get(const coco_resfile *f, const char *path, coco_buf *out)
{
	for (size_t i = 0; f && i < f->n; i++)
		if (!strcmp(f->v[i].path, path))
			return coco_buf_append(out, f->v[i].data.data, f->v[i].data.len);
	return COCOIMG_ENOTFOUND;
}
