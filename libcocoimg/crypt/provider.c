/*
 * The "provider" key wrapper: layer keys wrapped by an ocicrypt
 * keyprovider, in annotation org.opencontainers.image.enc.keys.provider.NAME
 * (ocicrypt.md section 6).
 *
 * This file only decides which provider is asked what; the asking (config
 * lookup, running the cmd, the gRPC call) is done through the
 * coco_provider_ops the operations layer installed in the keyring
 * (broker/keyprovider.c behind image_crypt.c).
 *
 * As in containers/ocicrypt, with two deliberate differences:
 *  - a provider is asked to unwrap only when the keyring holds a
 *    provider:NAME decryption key (Go calls every configured provider
 *    whose annotation is present);
 *  - the annotation name must match the provider name (Go behaviour;
 *    ocicrypt-rs takes any keys.provider.* annotation).
 */
#include "coco.h"
#include "crypt.h"
#include "../base.h"

#include <stdlib.h>
#include <string.h>

/* The keyring's way to a provider, or an error naming it. */
static int provider_open(cocoimg_ctx *ctx, const cocoimg_keyring *kr, const char *name,
                         void **handle)
{
	*handle = NULL;
	if (!kr->provider_ops)
		return coco_seterr(ctx, COCOIMG_EUNSUPPORTED, "keyprovider \"%s\": this keyring "
		                   "cannot reach keyproviders", name);
	return kr->provider_ops->open(ctx, kr->provider_payload, name, handle);
}

static void provider_close(const cocoimg_keyring *kr, void *handle)
{
	if (kr->provider_ops)
		kr->provider_ops->close(handle);
}

int coco_keyring_add_provider(cocoimg_ctx *ctx, cocoimg_keyring *kr, const char *spec,
                              bool recipient)
{
	if (!spec || !*spec || *spec == ':')
		return coco_seterr(ctx, COCOIMG_EINVAL, "provider key: expected provider:NAME[:OPTIONS]");
	/* ocicrypt splits at the first ':'; OPTIONS keep their colons. */
	const char *colon = strchr(spec, ':');
	coco_key k;
	memset(&k, 0, sizeof(k));
	k.kind = COCO_KEY_PROVIDER;
	k.recipient = recipient;
	k.provider = colon ? coco_strndup(spec, (size_t)(colon - spec)) : coco_strdup(spec);
	if (!k.provider)
		return coco_oom(ctx);
	void *h;
	int rc = provider_open(ctx, kr, k.provider, &h);
	if (rc) {
		free(k.provider);
		return rc;
	}
	provider_close(kr, h);
	k.provider_opts = colon ? coco_strdup(colon + 1) : NULL;
	/* The label leaves the options out: they are user data that may be
	 * sensitive (paths, tokens). */
	k.label = coco_asprintf("provider:%s", k.provider);
	if (colon && !k.provider_opts) {
		coco_key_clear(&k);
		return coco_oom(ctx);
	}
	return coco_keyring_push(ctx, kr, &k);
}

/* ------------------------------------------------------------------ */
/* The key wrapper                                                     */
/* ------------------------------------------------------------------ */

/* Parameters (OPTS strings) of the keys for provider `name`. */
static const char **collect_params(cocoimg_keyring *kr, const char *name, bool recipient,
                                   size_t *n)
{
	*n = 0;
	const char **v = calloc(kr->n_keys + 1, sizeof(char *));
	if (!v)
		return NULL;
	for (size_t i = 0; i < kr->n_keys; i++) {
		coco_key *k = &kr->keys[i];
		if (k->kind == COCO_KEY_PROVIDER && k->recipient == recipient && k->provider &&
		    !strcmp(k->provider, name))
			v[(*n)++] = k->provider_opts; /* NULL -> "Enabled" */
	}
	return v;
}

static char **kw_provider_annotations(cocoimg_keyring *kr)
{
	size_t n = 0;
	char **names = calloc(kr->n_keys + 1, sizeof(char *));
	if (!names)
		return NULL;
	for (size_t i = 0; i < kr->n_keys; i++) {
		coco_key *k = &kr->keys[i];
		if (k->kind != COCO_KEY_PROVIDER || !k->recipient || !k->provider)
			continue;
		char *a = coco_asprintf(COCO_KP_ANNOTATION_PREFIX "%s", k->provider);
		if (!a)
			goto fail;
		bool dup = false;
		for (size_t j = 0; j < n; j++)
			dup |= !strcmp(names[j], a);
		if (dup)
			free(a);
		else
			names[n++] = a;
	}
	if (!n) {
		free(names);
		return NULL;
	}
	return names;
fail:
	for (size_t j = 0; j < n; j++)
		free(names[j]);
	free(names);
	return NULL;
}

static int kw_provider_wrap(cocoimg_ctx *ctx, cocoimg_keyring *kr, const char *annotation_name,
                            const unsigned char *opts, size_t len, char **value)
{
	*value = NULL;
	size_t pl = strlen(COCO_KP_ANNOTATION_PREFIX);
	if (strncmp(annotation_name, COCO_KP_ANNOTATION_PREFIX, pl) || !annotation_name[pl])
		return 0;
	const char *name = annotation_name + pl;
	size_t n;
	const char **params = collect_params(kr, name, true, &n);
	if (!params)
		return coco_oom(ctx);
	if (!n) {
		free(params);
		return 0;
	}
	void *h = NULL;
	coco_buf wrapped = COCO_BUF_INIT;
	int rc = provider_open(ctx, kr, name, &h);
	if (rc)
		goto out;
	rc = kr->provider_ops->invoke(ctx, h, true, params, n, opts, len, &wrapped);
	if (rc) {
		coco_preferr(ctx, rc, "wrapping the layer key with keyprovider \"%s\"", name);
		goto out;
	}
	*value = coco_b64_encode(wrapped.data, wrapped.len);
	if (!*value)
		rc = coco_oom(ctx);
out:
	provider_close(kr, h);
	coco_buf_wipe_free(&wrapped);
	free(params);
	return rc;
}

/* Does kr hold a decryption key for provider `name`? */
static bool has_provider_key(const cocoimg_keyring *kr, const char *name)
{
	for (size_t i = 0; i < kr->n_keys; i++) {
		const coco_key *k = &kr->keys[i];
		if (k->kind == COCO_KEY_PROVIDER && !k->recipient && k->provider &&
		    !strcmp(k->provider, name))
			return true;
	}
	return false;
}

bool coco_kw_provider_handles_aa(const cocoimg_keyring *kr)
{
	return has_provider_key(kr, COCO_AA_PROVIDER);
}

/*
 * Ask provider `name` (opened as h) to unwrap the elements of one
 * annotation value in turn.  0 with the private options in opts;
 * COCOIMG_ENOKEY with the last failure in reason; COCOIMG_EBADIMAGE for
 * an element that is not base64; COCOIMG_ENOMEM.
 */
static int unwrap_elements(cocoimg_ctx *ctx, const cocoimg_keyring *kr, void *h,
                           const char *annotation_name, const char *const *params, size_t n,
                           const char *value, coco_buf *opts, char *reason, size_t reasonsz)
{
	for (const char *e = value; e && *e;) {
		const char *comma = strchr(e, ',');
		size_t el = comma ? (size_t)(comma - e) : strlen(e);
		coco_buf blob = COCO_BUF_INIT;
		if (el == 0 || coco_b64_decode(e, el, &blob))
			return coco_seterr(ctx, COCOIMG_EBADIMAGE, "annotation %s: element is not base64",
			                   annotation_name);
		int r = kr->provider_ops->invoke(ctx, h, false, params, n, blob.data, blob.len, opts);
		coco_buf_free(&blob);
		if (!r || r == COCOIMG_ENOMEM || r == COCOIMG_ECANCELLED)
			return r;
		snprintf(reason, reasonsz, "%s", cocoimg_ctx_last_error(ctx));
		e = comma ? comma + 1 : NULL;
	}
	return COCOIMG_ENOKEY;
}

/* Unwrap with provider `name` (the keyring holds a decryption key for it). */
static int provider_unwrap(cocoimg_ctx *ctx, cocoimg_keyring *kr, const char *annotation_name,
                           const char *name, const char *value, coco_buf *opts, coco_buf *tried)
{
	size_t n;
	const char **params = collect_params(kr, name, false, &n);
	if (!params)
		return coco_oom(ctx);
	void *h;
	int rc = provider_open(ctx, kr, name, &h);
	if (rc) {
		coco_tried_note(tried, "%s", cocoimg_ctx_last_error(ctx));
		free(params);
		return coco_seterr(ctx, COCOIMG_ENOKEY, "keyprovider \"%s\" unusable", name);
	}
	char reason[512] = "";
	rc = unwrap_elements(ctx, kr, h, annotation_name, params, n, value, opts, reason,
	                     sizeof(reason));
	provider_close(kr, h);
	free(params);
	if (rc == COCOIMG_ENOKEY) {
		if (*reason)
			coco_tried_note(tried, "%s", reason);
		else
			coco_tried_note(tried, "keyprovider \"%s\" (no wrapped key)", name);
		coco_seterr(ctx, COCOIMG_ENOKEY, "keyprovider \"%s\" could not unwrap the layer key%s%s",
		            name, *reason ? ": " : "", reason);
	}
	return rc;
}

static int kw_provider_unwrap(cocoimg_ctx *ctx, cocoimg_keyring *kr, const char *annotation_name,
                              const char *value, coco_buf *opts, coco_buf *tried)
{
	size_t pl = strlen(COCO_KP_ANNOTATION_PREFIX);
	if (strncmp(annotation_name, COCO_KP_ANNOTATION_PREFIX, pl) || !annotation_name[pl])
		return COCOIMG_ENOKEY;
	const char *name = annotation_name + pl;
	bool have = has_provider_key(kr, name);
	/*
	 * CoCo packets: when the keyring can open them locally (coco-keys,
	 * coco: KEK, resolver callback) that is tried first, then the
	 * provider.  coco_kw_coco leaves the annotation to us in that case,
	 * so each attempt is made once whichever wrapper runs first.
	 */
	if (have && !strcmp(name, COCO_AA_PROVIDER) && coco_keyring_has_local_coco(kr)) {
		int rc = coco_packet_unwrap_local(ctx, kr, value, opts, tried);
		if (rc != COCOIMG_ENOKEY)
			return rc;
	}
	if (!have)
		return COCOIMG_ENOKEY;
	return provider_unwrap(ctx, kr, annotation_name, name, value, opts, tried);
}

const coco_keywrapper coco_kw_provider = {
	.scheme = "provider",
	.annotation = COCO_KP_ANNOTATION_PREFIX,
	.prefix = true,
	.wrap = kw_provider_wrap,
	.annotations = kw_provider_annotations,
	.unwrap = kw_provider_unwrap,
};
