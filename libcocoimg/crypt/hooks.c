/*
 * The crypt module's hooks for unpack (a decrypting stage) and inspect (a
 * description of an encrypted layer).  They live in crypt/ rather than in
 * image_crypt.c so that, in the internal static archive, they come before
 * image*.c's weak fallbacks.
 */
#include "crypt.h"
#include "../base.h"
#include "../json.h"
#include "../oci/oci.h"
#include "../stream.h"

#include <stdlib.h>
#include <string.h>

int coco_crypt_decrypt_stage_new(cocoimg_ctx *ctx, cocoimg_keyring *kr, const coco_desc *d,
                                 coco_stage *next, coco_stage **out, char **plain_media_type)
{
	*out = NULL;
	if (plain_media_type)
		*plain_media_type = NULL;
	char *what = coco_asprintf("layer %s", d->digest ? d->digest : "(no digest)");
	if (!what)
		return coco_oom(ctx);
	int rc = 0;
	if (!d->media_type || !coco_mt_is_encrypted(d->media_type))
		rc = coco_seterr(ctx, COCOIMG_EINVAL, "%s is not encrypted", what);
	coco_layer_opts o;
	memset(&o, 0, sizeof(o));
	if (!rc)
		rc = coco_crypt_unwrap_layer(ctx, kr, d, what, &o, NULL);
	if (!rc)
		rc = coco_layer_decrypt_stage_new(ctx, &o, what, next, out);
	if (!rc && plain_media_type) {
		*plain_media_type = coco_strndup(d->media_type,
		                                 strlen(d->media_type) - strlen("+encrypted"));
		if (!*plain_media_type) {
			(*out)->next = NULL;
			coco_stage_chain_free(*out);
			*out = NULL;
			rc = coco_oom(ctx);
		}
	}
	coco_layer_opts_clear(&o);
	free(what);
	return rc;
}

/* Kids of the CoCo packets in one annotation value. */
static void packet_kids(const char *value, json_t *kids, size_t *count)
{
	for (const char *e = value; e;) {
		const char *comma = strchr(e, ',');
		size_t el = comma ? (size_t)(comma - e) : strlen(e);
		coco_buf raw = COCO_BUF_INIT;
		(*count)++;
		if (!coco_b64_decode(e, el, &raw)) {
			json_error_t je;
			json_t *p = json_loadb((const char *)raw.data, raw.len, 0, &je);
			json_t *kid = json_object_get(p, "kid");
			if (json_is_string(kid))
				json_array_append_new(kids, json_string(json_string_value(kid)));
			json_decref(p);
		}
		coco_buf_free(&raw);
		e = comma ? comma + 1 : NULL;
	}
}

/* The "cipher" of the public options annotation, or JSON null. */
static json_t *pubopts_cipher(json_t *ann)
{
	json_t *pv = json_object_get(ann, COCO_ANN_PUBOPTS);
	json_t *cipher = json_null();
	if (!json_is_string(pv))
		return cipher;
	coco_buf raw = COCO_BUF_INIT;
	if (!coco_b64_decode(json_string_value(pv), json_string_length(pv), &raw)) {
		json_error_t je;
		json_t *p = json_loadb((const char *)raw.data, raw.len, 0, &je);
		json_t *c = json_object_get(p, "cipher");
		if (json_is_string(c))
			cipher = json_string(json_string_value(c));
		json_decref(p);
	}
	coco_buf_free(&raw);
	return cipher;
}

/* Recipients in one jwe/pkcs7 annotation value (an undecodable element
 * counts as one); JWE kids into jwe_kids. */
static size_t count_recipients(const char *scheme, const char *val, json_t *jwe_kids)
{
	size_t total = 0;
	for (const char *e = val; e;) {
		const char *comma = strchr(e, ',');
		size_t el = comma ? (size_t)(comma - e) : strlen(e);
		coco_buf raw = COCO_BUF_INIT;
		size_t n = 1;
		if (!coco_b64_decode(e, el, &raw)) {
			if (!strcmp(scheme, "jwe"))
				coco_jwe_describe(raw.data, raw.len, &n, jwe_kids);
			else if (!strcmp(scheme, "pkcs7"))
				coco_pkcs7_describe(raw.data, raw.len, &n);
		}
		total += n;
		coco_buf_free(&raw);
		e = comma ? comma + 1 : NULL;
	}
	return total;
}

/* Set key to arr when it is not empty (else drop arr). */
static void set_nonempty(json_t *o, const char *key, json_t *arr)
{
	if (json_array_size(arr))
		json_object_set_new(o, key, arr);
	else
		json_decref(arr);
}

json_t *coco_crypt_describe_layer(cocoimg_ctx *ctx, const coco_desc *d)
{
	(void)ctx;
	json_t *o = json_object(), *schemes = json_array(), *jwe_kids = json_array(),
	       *coco_kids = json_array();
	if (!o || !schemes || !jwe_kids || !coco_kids) {
		json_decref(o);
		json_decref(schemes);
		json_decref(jwe_kids);
		json_decref(coco_kids);
		return NULL;
	}
	json_t *ann = d->annotations;
	json_object_set_new(o, "cipher", pubopts_cipher(ann));
	if (d->media_type && coco_mt_is_encrypted(d->media_type))
		json_object_set_new(o, "plain_media_type",
		                    json_stringn(d->media_type,
		                                 strlen(d->media_type) - strlen("+encrypted")));
	size_t total = 0;
	const char *k;
	json_t *v;
	json_object_foreach(ann, k, v) {
		if (strncmp(k, COCO_ANN_KEYS_PREFIX, strlen(COCO_ANN_KEYS_PREFIX)) || !json_is_string(v))
			continue;
		const char *scheme = k + strlen(COCO_ANN_KEYS_PREFIX);
		json_array_append_new(schemes, json_string(scheme));
		if (!strncmp(scheme, "provider.", 9))
			packet_kids(json_string_value(v), coco_kids, &total);
		else
			total += count_recipients(scheme, json_string_value(v), jwe_kids);
	}
	json_object_set_new(o, "schemes", schemes);
	json_object_set_new(o, "recipients", json_integer((json_int_t)total));
	set_nonempty(o, "jwe_kids", jwe_kids);
	set_nonempty(o, "coco_kids", coco_kids);
	return o;
}
