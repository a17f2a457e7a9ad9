/*
 * Layer transformation during a copy: encrypt, decrypt, add or remove
 * recipients (ocicrypt.md sections 1-3).  This file decides and computes;
 * it moves no bytes: the operation (image_crypt.c) opens the source blob
 * and the destination sink and runs the stage chain built here between
 * them (coco_crypt_chain_new).
 *
 * Encrypt: the source blob exactly as stored (normally the compressed
 * tar) is encrypted, so decrypting gives back the original blob and its
 * digest.  The layer key is wrapped for every recipient before any data
 * moves, so an unusable recipient fails fast.  An already encrypted layer
 * is never encrypted twice: when a decryption key opens it, the new
 * recipients are added to its annotations and the blob is copied as is.
 *
 * Decrypt: every "+encrypted" layer; the plaintext media type is the
 * encrypted one without the suffix; every org.opencontainers.image.enc.*
 * annotation is dropped.  The HMAC is checked when the stream ends, before
 * the destination blob is committed.
 */
#include "crypt.h"
#include "../base.h"
#include "../json.h"
#include "../oci/oci.h"
#include "../stream.h"

#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#define SUFFIX "+encrypted"

const coco_keywrapper *const *coco_keywrappers(void)
{
	static const coco_keywrapper *const list[] = {
		&coco_kw_jwe, &coco_kw_pkcs7, &coco_kw_coco, &coco_kw_provider, NULL,
	};
	return list;
}

static bool wrapper_owns(const coco_keywrapper *w, const char *name)
{
	if (w->prefix)
		return !strncmp(name, w->annotation, strlen(w->annotation));
	return !strcmp(name, w->annotation);
}

/* Sorted names of the keys.* annotations of a descriptor. */
static int key_annotations(json_t *ann, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	const char *k;
	json_t *v;
	json_object_foreach(ann, k, v) {
		if (strncmp(k, COCO_ANN_KEYS_PREFIX, strlen(COCO_ANN_KEYS_PREFIX)) || !json_is_string(v))
			continue;
		char **a = realloc(*out, (*n + 1) * sizeof(char *));
		if (!a)
			return COCOIMG_ENOMEM;  /* no ctx here: callers record it */
		*out = a;
		a[(*n)++] = (char *)k;
	}
	for (size_t i = 1; i < *n; i++)
		for (size_t j = i; j > 0 && strcmp((*out)[j - 1], (*out)[j]) > 0; j--) {
			char *t = (*out)[j];
			(*out)[j] = (*out)[j - 1];
			(*out)[j - 1] = t;
		}
	return 0;
}

/* Parse unwrapped private options pt into *o, keeping o's public part
 * (hmac, a public nonce).  0, or an error recorded on ctx. */
static int adopt_options(cocoimg_ctx *ctx, const coco_buf *pt, const char *what,
                         coco_layer_opts *o)
{
	coco_layer_opts t = *o;
	t.digest = NULL;
	int r = coco_privopts_parse(ctx, pt->data, pt->len, what, &t);
	if (!r && (!t.have_nonce || !t.have_symkey))
		r = coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: the layer options have no nonce", what);
	if (r) {
		coco_layer_opts_clear(&t);
		return r;
	}
	free(o->digest);
	*o = t;
	return 0;
}

/* Let wrapper w try annotation `name`.  0: *o (and privopts) filled;
 * COCOIMG_ENOKEY: go on with the next one (what failed is in tried);
 * COCOIMG_ENOMEM / COCOIMG_ECANCELLED: stop. */
static int try_wrapper(cocoimg_ctx *ctx, cocoimg_keyring *kr, const coco_keywrapper *w,
                       const char *name, const char *value, const char *what, coco_layer_opts *o,
                       coco_buf *privopts, coco_buf *tried)
{
	coco_buf pt = COCO_BUF_INIT;
	int rc = COCOIMG_ENOKEY;
	int r = kr ? w->unwrap(ctx, kr, name, value, &pt, tried) : COCOIMG_ENOKEY;
	if (!r) {
		r = adopt_options(ctx, &pt, what, o);
		if (!r)
			rc = privopts && coco_buf_append(privopts, pt.data, pt.len) ? COCOIMG_ENOMEM : 0;
		else if (r != COCOIMG_ENOMEM)
			coco_tried_note(tried, "%s (%s)", w->scheme, cocoimg_ctx_last_error(ctx));
	} else if (r == COCOIMG_ENOMEM || r == COCOIMG_ECANCELLED) {
		rc = r;
	} else if (r != COCOIMG_ENOKEY) {
		coco_tried_note(tried, "%s (%s)", w->scheme, cocoimg_ctx_last_error(ctx));
	}
	coco_buf_wipe_free(&pt);
	return rc;
}

/* Every wrapper that owns annotation `name`, in order, until one opens it. */
static int try_annotation(cocoimg_ctx *ctx, cocoimg_keyring *kr, json_t *ann, const char *name,
                          const char *what, coco_layer_opts *o, coco_buf *privopts,
                          coco_buf *tried)
{
	const char *value = json_string_value(json_object_get(ann, name));
	const coco_keywrapper *const *ws = coco_keywrappers();
	bool owned = false;
	int rc = COCOIMG_ENOKEY;
	for (size_t w = 0; ws[w] && rc == COCOIMG_ENOKEY; w++) {
		if (!wrapper_owns(ws[w], name))
			continue;
		owned = true;
		rc = try_wrapper(ctx, kr, ws[w], name, value, what, o, privopts, tried);
	}
	if (!owned)
		coco_tried_note(tried, "%s (scheme not supported)", name + strlen(COCO_ANN_KEYS_PREFIX));
	return rc;
}

int coco_crypt_unwrap_layer(cocoimg_ctx *ctx, cocoimg_keyring *kr, const coco_desc *d,
                            const char *what, coco_layer_opts *o, coco_buf *privopts)
{
	json_t *ann = d->annotations;
	json_t *pv = json_object_get(ann, COCO_ANN_PUBOPTS);
	int rc = coco_pubopts_parse(ctx, json_is_string(pv) ? json_string_value(pv) : NULL, what, o);
	if (rc)
		return rc;
	char **names;
	size_t n;
	if (key_annotations(ann, &names, &n))
		return coco_oom(ctx);
	if (!n) {
		free(names);
		return coco_seterr(ctx, COCOIMG_EBADIMAGE,
		                   "%s: encrypted layer carries no wrapped keys (%s* annotations)", what,
		                   COCO_ANN_KEYS_PREFIX);
	}
	coco_buf tried = COCO_BUF_INIT;
	rc = COCOIMG_ENOKEY;
	for (size_t i = 0; i < n && rc == COCOIMG_ENOKEY; i++)
		rc = try_annotation(ctx, kr, ann, names[i], what, o, privopts, &tried);
	free(names);
	if (rc == COCOIMG_ENOKEY) {
		bool empty = (!kr || !kr->n_keys) && !tried.len;
		coco_seterr(ctx, COCOIMG_ENOKEY, "%s: no key opens the encrypted layer; %s%s", what,
		            empty ? "no decryption key was given" : "tried: ",
		            empty ? "" : (tried.len ? coco_buf_cstr(&tried) : "nothing applicable"));
	} else if (rc == COCOIMG_ENOMEM) {
		coco_oom(ctx);
	}
	coco_buf_free(&tried);
	return rc;
}

/* ---- which layers, and what happens to them ---- */

static bool layer_selected(const cocoimg_copy_options *opts, size_t idx, size_t n)
{
	if (!opts->n_encrypt_layers)
		return true;
	for (size_t i = 0; i < opts->n_encrypt_layers; i++) {
		long v = opts->encrypt_layers[i];
		if (v < 0)
			v += (long)n;
		if (v == (long)idx)
			return true;
	}
	return false;
}

static int check_indices(cocoimg_ctx *ctx, const cocoimg_copy_options *opts, size_t n)
{
	for (size_t i = 0; i < opts->n_encrypt_layers; i++) {
		long v = opts->encrypt_layers[i];
		if (v >= (long)n || v < -(long)n)
			return coco_seterr(ctx, COCOIMG_EINVAL,
			                   "--encrypt-layer %ld: the image has %zu layer%s (valid: 0..%ld "
			                   "or -%zu..-1)", v, n, n == 1 ? "" : "s", (long)n - 1, n);
	}
	return 0;
}

/* Can this plaintext layer type be encrypted (containers/image and
 * imgcrypt rules)? */
static bool encryptable(const char *mt)
{
	static const char *const bases[] = {
		"application/vnd.oci.image.layer.v1.tar",
		"application/vnd.oci.image.layer.nondistributable.v1.tar",
		"application/vnd.docker.image.rootfs.diff.tar.gzip",
		"application/vnd.docker.image.rootfs.diff.tar",
	};
	if (!mt || strstr(mt, SUFFIX))
		return false;
	size_t bl = strcspn(mt, "+");
	for (size_t i = 0; i < COCO_ARRAY_SIZE(bases); i++)
		if (strlen(bases[i]) == bl && !strncmp(mt, bases[i], bl))
			return true;
	return false;
}

int coco_crypt_plan_layer(cocoimg_ctx *ctx, const cocoimg_copy_options *opts,
                          const coco_desc *in, size_t idx, size_t n,
                          coco_crypt_action *action, bool *selected)
{
	bool enc = in->media_type && coco_mt_is_encrypted(in->media_type);
	*action = COCO_CRYPT_COPY;
	*selected = false;
	if (opts->crypt_mode == COCOIMG_CRYPT_DECRYPT) {
		if (enc)
			*action = COCO_CRYPT_DECRYPT;
	} else if (opts->crypt_mode == COCOIMG_CRYPT_ENCRYPT) {
		int rc = check_indices(ctx, opts, n);
		if (rc)
			return rc;
		*selected = layer_selected(opts, idx, n);
		if (enc)
			*action = COCO_CRYPT_REWRAP;
		else if (*selected)
			*action = COCO_CRYPT_ENCRYPT;
	}
	return 0;
}

/* New descriptor: copy of in with media type, digest, size and
 * annotations replaced (ann NULL or empty = no annotations member). */
static int make_desc(const coco_desc *in, const char *mt, const char *digest, uint64_t size,
                     json_t *ann, json_t **out)
{
	json_t *d = json_deep_copy(in->json);
	if (!d)
		return COCOIMG_ENOMEM;  /* no ctx here: callers record it */
	int rc = json_object_set_new(d, "mediaType", json_string(mt));
	if (digest)
		rc |= json_object_set_new(d, "digest", json_string(digest));
	rc |= json_object_set_new(d, "size", json_integer((json_int_t)size));
	if (ann && json_object_size(ann)) {
		json_t *s = coco_json_sorted(ann);
		rc |= s ? json_object_set_new(d, "annotations", s) : -1;
	} else {
		json_object_del(d, "annotations");
	}
	if (rc) {
		json_decref(d);
		return COCOIMG_ENOMEM;
	}
	*out = d;
	return 0;
}

/* Wrap privopts for every recipient of kr into ann (appending to existing
 * values with ","); *added lists the annotation names written. */
static int wrap_all(cocoimg_ctx *ctx, cocoimg_keyring *kr, const unsigned char *po, size_t polen,
                    json_t *ann, json_t *schemes)
{
	const coco_keywrapper *const *ws = coco_keywrappers();
	for (size_t w = 0; ws[w]; w++) {
		char **names = ws[w]->annotations(kr);
		for (size_t i = 0; names && names[i]; i++) {
			char *value = NULL;
			int rc = ws[w]->wrap(ctx, kr, names[i], po, polen, &value);
			if (!rc && value) {
				json_t *old = json_object_get(ann, names[i]);
				char *nv = json_is_string(old) && json_string_length(old) ?
				                   coco_asprintf("%s,%s", json_string_value(old), value) :
				                   coco_strdup(value);
				rc = nv && !json_object_set_new(ann, names[i], json_string(nv)) ?
				             0 : COCOIMG_ENOMEM;
				free(nv);
				json_array_append_new(schemes,
				                      json_string(names[i] + strlen(COCO_ANN_KEYS_PREFIX)));
			}
			free(value);
			if (rc) {
				for (size_t j = 0; names[j]; j++)
					free(names[j]);
				free(names);
				return rc;
			}
		}
		for (size_t j = 0; names && names[j]; j++)
			free(names[j]);
		free(names);
	}
	return 0;
}

static json_t *recipient_labels(const cocoimg_keyring *kr)
{
	json_t *a = json_array();
	for (size_t i = 0; a && kr && i < kr->n_keys; i++)
		if (kr->keys[i].recipient && kr->keys[i].label)
			json_array_append_new(a, json_string(kr->keys[i].label));
	return a;
}

static bool has_coco_recipient(const cocoimg_keyring *kr)
{
	for (size_t i = 0; kr && i < kr->n_keys; i++) {
		const coco_key *k = &kr->keys[i];
		if (k->recipient && (k->kind == COCO_KEY_COCO_KEK ||
		                     (k->kind == COCO_KEY_PROVIDER && k->provider &&
		                      !strcmp(k->provider, "attestation-agent"))))
			return true;
	}
	return false;
}

/* A copy of a layer's annotations without any org.opencontainers.image.enc.*
 * entry (an empty object when it has none); NULL when out of memory. */
static json_t *plain_annotations(const coco_desc *in)
{
	json_t *ann = json_object_get(in->json, "annotations");
	ann = json_is_object(ann) ? json_deep_copy(ann) : json_object();
	const char *k;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(ann, tmp, k, v) {
		if (!strncmp(k, COCO_ANN_ENC_PREFIX, strlen(COCO_ANN_ENC_PREFIX)))
			json_object_del(ann, k);
	}
	return ann;
}

/* ---- encrypting and decrypting one layer ---- */

struct coco_crypt_layer {
	bool encrypt;
	const coco_desc *in;       /* borrowed */
	const char *what;          /* borrowed */
	cocoimg_keyring *kr;       /* borrowed */
	coco_layer_opts o;         /* the layer key and nonce (wiped) */
	json_t *ann;               /* encrypt: annotations of the new descriptor */
	json_t *schemes;           /* encrypt: key annotations written */
	coco_stage *cipher;        /* borrowed from the chain once built */
};

void coco_crypt_layer_free(coco_crypt_layer *l)
{
	if (!l)
		return;
	coco_layer_opts_clear(&l->o);
	json_decref(l->ann);
	json_decref(l->schemes);
	free(l);
}

static int layer_new(cocoimg_ctx *ctx, bool encrypt, cocoimg_keyring *kr, const coco_desc *in,
                     const char *what, coco_crypt_layer **out)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return coco_oom(ctx);
	(*out)->encrypt = encrypt;
	(*out)->in = in;
	(*out)->what = what;
	(*out)->kr = kr;
	return 0;
}

/* Can kr encrypt `in`?  Errors name the layer; a zstd layer for a CoCo
 * recipient is only warned about. */
static int check_encryptable(cocoimg_ctx *ctx, cocoimg_keyring *kr, const coco_desc *in,
                             const char *what)
{
	if (!coco_keyring_has_recipients(kr))
		return coco_seterr(ctx, COCOIMG_EINVAL, "%s: no recipients to encrypt for", what);
	if (!encryptable(in->media_type))
		return coco_seterr(ctx, COCOIMG_EUNSUPPORTED, "%s: media type %s cannot be encrypted",
		                   what, in->media_type ? in->media_type : "(none)");
	if (coco_mt_compression(in->media_type) == COCO_COMP_ZSTD && has_coco_recipient(kr))
		coco_warn(ctx, "%s is tar+zstd: confidential-containers guests (image-rs) cannot "
		          "decrypt tar+zstd+encrypted layers today; consider gzip", what);
	return 0;
}

int coco_crypt_encrypt_begin(cocoimg_ctx *ctx, cocoimg_keyring *kr, const coco_desc *in,
                             const char *what, coco_crypt_layer **out)
{
	*out = NULL;
	int rc = check_encryptable(ctx, kr, in, what);
	coco_crypt_layer *l = NULL;
	if (!rc)
		rc = layer_new(ctx, true, kr, in, what, &l);
	if (rc)
		return rc;
	coco_buf po = COCO_BUF_INIT;
	/* a stale encryption annotation on a plaintext layer must not survive */
	l->ann = plain_annotations(in);
	l->schemes = json_array();
	rc = coco_layer_opts_generate(ctx, &l->o, in->digest);
	if (!rc && (!l->ann || !l->schemes))
		rc = coco_oom(ctx);
	if (!rc)
		rc = coco_privopts_encode(&l->o, &po) ? coco_oom(ctx) : 0;
	if (!rc)
		rc = wrap_all(ctx, kr, po.data, po.len, l->ann, l->schemes);
	coco_buf_wipe_free(&po);
	if (!rc && !json_array_size(l->schemes))
		rc = coco_seterr(ctx, COCOIMG_EINVAL, "%s: no recipient produced a wrapped key", what);
	if (rc)
		coco_crypt_layer_free(l);
	else
		*out = l;
	return rc;
}

int coco_crypt_decrypt_begin(cocoimg_ctx *ctx, cocoimg_keyring *kr, const coco_desc *in,
                             const char *what, coco_crypt_layer **out)
{
	*out = NULL;
	coco_crypt_layer *l;
	int rc = layer_new(ctx, false, kr, in, what, &l);
	if (rc)
		return rc;
	rc = coco_crypt_unwrap_layer(ctx, kr, in, what, &l->o, NULL);
	if (rc)
		coco_crypt_layer_free(l);
	else
		*out = l;
	return rc;
}

/*
 * source -> meter -> verify (source digest) -> async -> cipher (AES-CTR +
 * HMAC) -> async -> sink (output digest + write).  The two async split
 * points put the three sha256-class passes (source digest, HMAC, output
 * digest) on three threads, so two cores share them (a layer of at most
 * COCO_SMALL_STREAM bytes stays on one thread).
 */
int coco_crypt_chain_build(coco_crypt_layer *l, coco_pipe *pl)
{
	cocoimg_ctx *ctx = pl->ctx;
	coco_stage *s;
	coco_pipe_push(pl, coco_async_stage_for(ctx, l->in->size, coco_pipe_head(pl), &s), &s);
	int rc = l->encrypt ? coco_layer_encrypt_stage_new(ctx, &l->o, coco_pipe_head(pl), &s)
	                    : coco_layer_decrypt_stage_new(ctx, &l->o, l->what, coco_pipe_head(pl), &s);
	if (!coco_pipe_push(pl, rc, &s))
		l->cipher = s;
	coco_pipe_push(pl, coco_async_stage_for(ctx, l->in->size, coco_pipe_head(pl), &s), &s);
	int vrc = coco_verify_stage_new(ctx, l->in->digest, l->in->size, l->what, coco_pipe_head(pl),
	                                &s);
	/* decrypting: the cipher hashes the source blob in its HMAC's pass */
	if (!coco_pipe_push(pl, vrc, &s) && !l->encrypt && l->cipher)
		coco_layer_stage_feed_verify(l->cipher, s);
	coco_pipe_push(pl, coco_meter_stage_new(ctx, NULL, coco_pipe_head(pl), &s), &s);
	return coco_pipe_built(pl);
}

bool coco_crypt_layer_has_out_digest(const coco_crypt_layer *l)
{
	return l->cipher && coco_layer_stage_has_out_digest(l->cipher);
}

int coco_crypt_layer_out_digest(void *arg, char digest[COCO_DIGEST_STRLEN], uint64_t *count)
{
	coco_crypt_layer *l = arg;
	return l->cipher ? coco_layer_stage_out_digest(l->cipher, digest, count) : COCOIMG_EINTERNAL;
}

/* Encrypted layer written: public options (with the HMAC the cipher
 * computed) into the annotations, the new descriptor, the report. */
static int encrypt_done(cocoimg_ctx *ctx, coco_crypt_layer *l, const char *digest, uint64_t size,
                        json_t **out_desc, json_t *report)
{
	unsigned char hmac[32];
	coco_layer_stage_hmac(l->cipher, hmac);
	char *pub = coco_pubopts_encode(hmac);
	char *pub64 = pub ? coco_b64_encode((unsigned char *)pub, strlen(pub)) : NULL;
	int rc = 0;
	if (!pub64 || json_object_set_new(l->ann, COCO_ANN_PUBOPTS, json_string(pub64)))
		rc = coco_oom(ctx);
	free(pub);
	free(pub64);
	if (!rc) {
		char *mt = coco_asprintf("%s" SUFFIX, l->in->media_type);
		rc = mt ? make_desc(l->in, mt, digest, size, l->ann, out_desc) : COCOIMG_ENOMEM;
		free(mt);
		if (rc)
			return coco_oom(ctx);
	}
	if (!rc && report) {
		json_object_set_new(report, "action", json_string("encrypt"));
		json_object_set_new(report, "schemes", json_incref(l->schemes));
		json_object_set_new(report, "recipients", recipient_labels(l->kr));
	}
	return rc;
}

/* Decrypted layer written: the plaintext descriptor without any
 * encryption annotation, the report. */
static int decrypt_done(cocoimg_ctx *ctx, coco_crypt_layer *l, const char *digest, uint64_t size,
                        json_t **out_desc, json_t *report)
{
	const coco_desc *in = l->in;
	if (l->o.digest && *l->o.digest && strcmp(l->o.digest, digest))
		coco_debug(ctx, "%s: decrypted blob %s differs from the digest recorded at "
		           "encryption (%s); the encrypter may have recompressed", l->what, digest,
		           l->o.digest);
	char *mt = coco_strndup(in->media_type, strlen(in->media_type) - strlen(SUFFIX));
	json_t *ann = NULL;
	if (json_is_object(in->annotations)) {
		ann = plain_annotations(in);
		if (!ann) {
			free(mt);
			return coco_oom(ctx);
		}
	}
	int rc = mt ? make_desc(in, mt, digest, size, ann, out_desc) : COCOIMG_ENOMEM;
	free(mt);
	json_decref(ann);
	if (rc)
		return coco_oom(ctx);
	if (report)
		json_object_set_new(report, "action", json_string("decrypt"));
	return 0;
}

int coco_crypt_layer_done(cocoimg_ctx *ctx, coco_crypt_layer *l, const char *digest,
                          uint64_t size, json_t **out_desc, json_t *report)
{
	*out_desc = NULL;
	return l->encrypt ? encrypt_done(ctx, l, digest, size, out_desc, report)
	                  : decrypt_done(ctx, l, digest, size, out_desc, report);
}

/* ---- recipient removal ---- */

typedef struct removal {
	char **kids;               /* JWE kids */
	size_t n_kids;
	X509 **certs;
	size_t n_certs;
	char **coco_kids;
	size_t n_coco;
	char **providers;          /* annotation names to drop */
	size_t n_providers;
} removal;

static void removal_free(removal *r)
{
	for (size_t i = 0; i < r->n_kids; i++)
		free(r->kids[i]);
	for (size_t i = 0; i < r->n_certs; i++)
		X509_free(r->certs[i]);
	for (size_t i = 0; i < r->n_coco; i++)
		free(r->coco_kids[i]);
	for (size_t i = 0; i < r->n_providers; i++)
		free(r->providers[i]);
	free(r->kids);
	free(r->certs);
	free(r->coco_kids);
	free(r->providers);
	memset(r, 0, sizeof(*r));
}

static int push_str(char ***a, size_t *n, char *s)
{
	if (!s)
		return COCOIMG_ENOMEM;
	char **x = realloc(*a, (*n + 1) * sizeof(char *));
	if (!x) {
		free(s);
		return COCOIMG_ENOMEM;
	}
	*a = x;
	x[(*n)++] = s;
	return 0;
}

/* Add one --remove-recipient spec to r. */
static int removal_add(cocoimg_ctx *ctx, const char *s, removal *r)
{
	int rc = 0;
	coco_key k;
	memset(&k, 0, sizeof(k));
	if (!strncmp(s, "jwe:", 4)) {
		rc = coco_load_public_key(ctx, s + 4, &k);
		if (!rc) {
			char *tp = coco_pkey_thumbprint(k.pkey);
			rc = tp ? push_str(&r->kids, &r->n_kids, tp) : COCOIMG_ENOMEM;
			if (!rc && k.jwk_kid)
				rc = push_str(&r->kids, &r->n_kids, coco_strdup(k.jwk_kid));
		}
	} else if (!strncmp(s, "pkcs7:", 6)) {
		rc = coco_load_cert(ctx, s + 6, &k);
		X509 **x = rc ? NULL : realloc(r->certs, (r->n_certs + 1) * sizeof(*x));
		if (!rc && !x) {
			rc = COCOIMG_ENOMEM;
		} else if (!rc) {
			r->certs = x;
			x[r->n_certs++] = k.cert;
			k.cert = NULL;
		}
	} else if (!strncmp(s, "coco:", 5)) {
		/* coco:KID or coco:KID:KEKFILE */
		rc = push_str(&r->coco_kids, &r->n_coco, coco_strdup(s + 5));
		const char *c = strrchr(s + 5, ':');
		if (!rc && c)
			rc = push_str(&r->coco_kids, &r->n_coco, coco_strndup(s + 5, (size_t)(c - (s + 5))));
	} else if (!strncmp(s, "provider:", 9)) {
		size_t nl = strcspn(s + 9, ":");
		rc = nl ? push_str(&r->providers, &r->n_providers,
		                   coco_asprintf(COCO_ANN_KEYS_PREFIX "provider.%.*s", (int)nl, s + 9))
		        : coco_seterr(ctx, COCOIMG_EINVAL, "--remove-recipient %s: no provider name", s);
	} else {
		rc = coco_seterr(ctx, COCOIMG_EINVAL,
		                 "--remove-recipient \"%.200s\": expected jwe:PUBKEY, pkcs7:CERT, "
		                 "provider:NAME or coco:KID", s);
	}
	coco_key_clear(&k);
	return rc;
}

static int removal_parse(cocoimg_ctx *ctx, const cocoimg_copy_options *opts, removal *r)
{
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < opts->n_remove_recipients; i++) {
		int rc = removal_add(ctx, opts->remove_recipients[i], r);
		if (rc) {
			removal_free(r);
			return rc;
		}
	}
	return 0;
}

static const char *packet_kid(const unsigned char *d, size_t n, json_t **hold)
{
	json_error_t e;
	*hold = json_loadb((const char *)d, n, 0, &e);
	json_t *k = json_object_get(*hold, "kid");
	return json_is_string(k) ? json_string_value(k) : NULL;
}

/* Which recipients a keys.* annotation holds, for removal. */
typedef enum { KEYS_JWE, KEYS_PKCS7, KEYS_COCO, KEYS_OTHER } keys_kind;

static keys_kind keys_kind_of(const char *name)
{
	if (!strcmp(name, COCO_ANN_KEYS_PREFIX "jwe"))
		return KEYS_JWE;
	if (!strcmp(name, COCO_ANN_KEYS_PREFIX "pkcs7"))
		return KEYS_PKCS7;
	if (!strcmp(name, COCO_ANN_KEYS_PREFIX "provider.attestation-agent"))
		return KEYS_COCO;
	return KEYS_OTHER;
}

/* One decoded element without the removed recipients: *kept (unless
 * *empty: nothing left of it), *n removed. */
static int filter_element(cocoimg_ctx *ctx, const removal *r, keys_kind kind,
                          const coco_buf *raw, coco_buf *kept, bool *empty, size_t *n)
{
	if (kind == KEYS_JWE)
		return coco_jwe_remove(ctx, raw->data, raw->len, (const char *const *)r->kids,
		                       r->n_kids, kept, empty, n);
	if (kind == KEYS_PKCS7)
		return coco_pkcs7_remove(ctx, raw->data, raw->len, r->certs, r->n_certs, kept, empty,
		                         n);
	json_t *hold = NULL;
	const char *kid = packet_kid(raw->data, raw->len, &hold);
	for (size_t i = 0; kid && i < r->n_coco && !*empty; i++)
		*empty = !strcmp(kid, r->coco_kids[i]);
	json_decref(hold);
	*n = *empty;
	if (!*empty && coco_buf_append(kept, raw->data, raw->len))
		return COCOIMG_ENOMEM;
	return 0;
}

/* Does r name anything to remove from annotation `name`? */
static bool removal_touches(const removal *r, keys_kind kind)
{
	return (kind == KEYS_JWE && r->n_kids) || (kind == KEYS_PKCS7 && r->n_certs) ||
	       (kind == KEYS_COCO && r->n_coco);
}

/* Append one base64 element to a comma-separated value. */
static int append_element(coco_buf *nv, const coco_buf *el)
{
	char *b = coco_b64_encode(el->data, el->len);
	int rc = 0;
	if (!b || (nv->len && coco_buf_putc(nv, ',')) || coco_buf_append(nv, b, strlen(b)))
		rc = COCOIMG_ENOMEM;
	free(b);
	return rc;
}

/* Rebuild one keys.* value without the removed recipients (*out NULL:
 * nothing is left). */
static int remove_from(cocoimg_ctx *ctx, const removal *r, const char *name, const char *value,
                       char **out, size_t *removed)
{
	*out = NULL;
	for (size_t i = 0; i < r->n_providers; i++) {
		if (!strcmp(name, r->providers[i])) {
			(*removed)++;
			return 0;
		}
	}
	keys_kind kind = keys_kind_of(name);
	if (!removal_touches(r, kind)) {
		*out = coco_strdup(value);
		return *out ? 0 : COCOIMG_ENOMEM;
	}
	coco_buf nv = COCO_BUF_INIT;
	int rc = 0;
	for (const char *e = value; e && !rc;) {
		const char *comma = strchr(e, ',');
		size_t el = comma ? (size_t)(comma - e) : strlen(e);
		coco_buf raw = COCO_BUF_INIT, kept = COCO_BUF_INIT;
		bool empty = false;
		size_t n = 0;
		if (coco_b64_decode(e, el, &raw))
			rc = coco_seterr(ctx, COCOIMG_EBADIMAGE, "annotation %s: element is not base64",
			                 name);
		else
			rc = filter_element(ctx, r, kind, &raw, &kept, &empty, &n);
		*removed += n;
		if (!rc && !empty)
			rc = append_element(&nv, &kept);
		coco_buf_free(&raw);
		coco_buf_free(&kept);
		e = comma ? comma + 1 : NULL;
	}
	if (!rc && nv.len) {
		*out = coco_buf_cstr(&nv);
		if (!*out)
			rc = COCOIMG_ENOMEM;
	} else {
		coco_buf_free(&nv);
	}
	return rc;
}

/* ---- already encrypted layers during encrypt ---- */

/* Drop the --remove-recipient recipients from ann (a copy of in's
 * annotations); *removed counts them. */
static int remove_recipients(cocoimg_ctx *ctx, const cocoimg_copy_options *opts,
                             const coco_desc *in, const char *what, json_t *ann, size_t *removed)
{
	removal rm;
	int rc = removal_parse(ctx, opts, &rm);
	if (rc)
		return rc;
	char **names;
	size_t n;
	rc = key_annotations(in->annotations, &names, &n);
	for (size_t i = 0; !rc && i < n; i++) {
		char *nv = NULL;
		rc = remove_from(ctx, &rm, names[i],
		                 json_string_value(json_object_get(in->annotations, names[i])), &nv,
		                 removed);
		if (!rc && nv)
			rc = json_object_set_new(ann, names[i], json_string(nv)) ? COCOIMG_ENOMEM : 0;
		else if (!rc)
			json_object_del(ann, names[i]);
		free(nv);
	}
	free(names);
	removal_free(&rm);
	if (!rc && !*removed)
		coco_warn(ctx, "%s: none of the recipients to remove was found (JWE recipients written "
		          "by other tools carry no key id and cannot be matched to a public key)", what);
	return rc;
}

/* Wrap the layer's existing key for the new recipients too (when a
 * decryption key opens it); *added when something was written. */
static int add_recipients(cocoimg_ctx *ctx, const cocoimg_copy_options *opts,
                          const coco_desc *in, const char *what, json_t *ann, json_t *schemes,
                          bool *added)
{
	coco_layer_opts o;
	coco_buf po = COCO_BUF_INIT;
	memset(&o, 0, sizeof(o));
	int rc = coco_crypt_unwrap_layer(ctx, opts->keys, in, what, &o, &po);
	if (rc == COCOIMG_ENOKEY) {
		coco_preferr(ctx, rc, "cannot add recipients to already encrypted %s", what);
	} else if (!rc) {
		rc = wrap_all(ctx, opts->keys, po.data, po.len, ann, schemes);
		*added = !rc;
	}
	coco_buf_wipe_free(&po);
	coco_layer_opts_clear(&o);
	return rc;
}

int coco_crypt_check_rewraps(cocoimg_ctx *ctx, const cocoimg_copy_options *opts,
                             const coco_desc *layers, size_t n)
{
	if (opts->crypt_mode != COCOIMG_CRYPT_ENCRYPT || !coco_keyring_has_recipients(opts->keys))
		return 0;
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		coco_crypt_action act;
		bool selected;
		rc = coco_crypt_plan_layer(ctx, opts, &layers[i], i, n, &act, &selected);
		if (rc || act != COCO_CRYPT_REWRAP || !selected)
			continue;
		char *what = coco_asprintf("layer %s", layers[i].digest);
		coco_layer_opts o;
		memset(&o, 0, sizeof(o));
		rc = what ? coco_crypt_unwrap_layer(ctx, opts->keys, &layers[i], what, &o, NULL)
		          : coco_oom(ctx);
		if (rc == COCOIMG_ENOKEY)
			coco_preferr(ctx, rc, "cannot add recipients to already encrypted %s", what);
		coco_layer_opts_clear(&o);
		free(what);
	}
	return rc;
}

/* Is any keys.* annotation left in ann? */
static int check_recipients_left(cocoimg_ctx *ctx, json_t *ann, const char *what)
{
	char **names;
	size_t n;
	int rc = key_annotations(ann, &names, &n);
	free(names);
	if (!rc && !n)
		rc = coco_seterr(ctx, COCOIMG_EINVAL,
		                 "%s: removing the recipients would leave no recipient at all", what);
	return rc;
}

int coco_crypt_rewrap(cocoimg_ctx *ctx, const cocoimg_copy_options *opts, const coco_desc *in,
                      bool selected, const char *what, json_t **out_desc, json_t *report)
{
	*out_desc = NULL;
	json_t *ann = json_deep_copy(in->annotations);
	json_t *schemes = json_array();
	size_t removed = 0;
	bool added = false;
	int rc = (ann && schemes) ? 0 : COCOIMG_ENOMEM;
	if (!rc && opts->n_remove_recipients)
		rc = remove_recipients(ctx, opts, in, what, ann, &removed);
	if (!rc && selected && coco_keyring_has_recipients(opts->keys))
		rc = add_recipients(ctx, opts, in, what, ann, schemes, &added);
	if (!rc)
		rc = check_recipients_left(ctx, ann, what);
	if (!rc)
		rc = make_desc(in, in->media_type, in->digest, (uint64_t)in->size, ann, out_desc);
	if (!rc && report) {
		json_object_set_new(report, "action", json_string("rewrap"));
		if (added) {
			json_object_set_new(report, "recipients_added", recipient_labels(opts->keys));
			json_object_set_new(report, "schemes", json_incref(schemes));
		}
		if (opts->n_remove_recipients)
			json_object_set_new(report, "recipients_removed", json_integer((json_int_t)removed));
	}
	json_decref(ann);
	json_decref(schemes);
	return rc == COCOIMG_ENOMEM ? coco_oom(ctx) : rc;
}
