/*
 * Layer transformation during a copy: encrypt, decrypt, add or remove
 * recipients (ocicrypt.md sections 1-3).
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
			return COCOIMG_ENOMEM;
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
		return coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory");
	if (!n) {
		free(names);
		return coco_seterr(ctx, COCOIMG_EBADIMAGE,
		                   "%s: encrypted layer carries no wrapped keys (%s* annotations)", what,
		                   COCO_ANN_KEYS_PREFIX);
	}
	coco_buf tried = COCO_BUF_INIT;
	const coco_keywrapper *const *ws = coco_keywrappers();
	rc = COCOIMG_ENOKEY;
	for (size_t i = 0; i < n && rc == COCOIMG_ENOKEY; i++) {
		const char *value = json_string_value(json_object_get(ann, names[i]));
		bool owned = false;
		for (size_t w = 0; ws[w] && rc == COCOIMG_ENOKEY; w++) {
			if (!wrapper_owns(ws[w], names[i]))
				continue;
			owned = true;
			coco_buf pt = COCO_BUF_INIT;
			int r = kr ? ws[w]->unwrap(ctx, kr, names[i], value, &pt, &tried) : COCOIMG_ENOKEY;
			if (!r) {
				coco_layer_opts t = *o;
				t.digest = NULL;
				r = coco_privopts_parse(ctx, pt.data, pt.len, what, &t);
				if (!r && (!t.have_nonce || !t.have_symkey))
					r = coco_seterr(ctx, COCOIMG_EBADIMAGE,
					                "%s: the layer options have no nonce", what);
				if (!r) {
					free(o->digest);
					*o = t;
					if (privopts && coco_buf_append(privopts, pt.data, pt.len))
						r = COCOIMG_ENOMEM;
					rc = r ? r : 0;
				} else {
					coco_layer_opts_clear(&t);
				}
				if (r && r != COCOIMG_ENOMEM)
					coco_tried_note(&tried, "%s (%s)", ws[w]->scheme,
					                cocoimg_ctx_last_error(ctx));
			} else if (r == COCOIMG_ENOMEM || r == COCOIMG_ECANCELLED) {
				rc = r;
			} else if (r != COCOIMG_ENOKEY) {
				coco_tried_note(&tried, "%s (%s)", ws[w]->scheme, cocoimg_ctx_last_error(ctx));
			}
			coco_buf_wipe_free(&pt);
		}
		if (!owned)
			coco_tried_note(&tried, "%s (scheme not supported)",
			                names[i] + strlen(COCO_ANN_KEYS_PREFIX));
	}
	free(names);
	if (rc == COCOIMG_ENOKEY) {
		bool empty = !kr || !kr->n_keys;
		coco_seterr(ctx, COCOIMG_ENOKEY, "%s: no key opens the encrypted layer; %s%s", what,
		            empty ? "no decryption key was given" : "tried: ",
		            empty ? "" : (tried.len ? coco_buf_cstr(&tried) : "nothing applicable"));
	} else if (rc == COCOIMG_ENOMEM) {
		coco_seterr(ctx, rc, "out of memory");
	}
	coco_buf_free(&tried);
	return rc;
}

/* ---- helpers ---- */

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

/* Annotations as Go writes a map: sorted by key. */
static json_t *sorted_object(json_t *o)
{
	const char **keys = NULL;
	size_t n = 0;
	const char *k;
	json_t *v, *out = json_object();
	if (!out)
		return NULL;
	json_object_foreach(o, k, v) {
		const char **a = realloc(keys, (n + 1) * sizeof(*a));
		if (!a) {
			free(keys);
			json_decref(out);
			return NULL;
		}
		keys = a;
		keys[n++] = k;
	}
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
			const char *t = keys[j];
			keys[j] = keys[j - 1];
			keys[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++)
		json_object_set(out, keys[i], json_object_get(o, keys[i]));
	free(keys);
	return out;
}

/* New descriptor: copy of in with media type, digest, size and
 * annotations replaced (ann NULL or empty = no annotations member). */
static int make_desc(const coco_desc *in, const char *mt, const char *digest, uint64_t size,
                     json_t *ann, json_t **out)
{
	json_t *d = json_deep_copy(in->json);
	if (!d)
		return COCOIMG_ENOMEM;
	int rc = json_object_set_new(d, "mediaType", json_string(mt));
	if (digest)
		rc |= json_object_set_new(d, "digest", json_string(digest));
	rc |= json_object_set_new(d, "size", json_integer((json_int_t)size));
	if (ann && json_object_size(ann)) {
		json_t *s = sorted_object(ann);
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

static char *layer_what(const coco_desc *in)
{
	return coco_asprintf("layer %s", in->digest ? in->digest : "(no digest)");
}

/* Copy the blob unchanged (the destination sink verifies it). */
static int copy_blob(cocoimg_ctx *ctx, coco_src *src, coco_dest *dst, const coco_desc *in)
{
	int has = dst->ops->has_blob ? dst->ops->has_blob(dst, in->digest, in->size) : 0;
	if (has < 0)
		return has;
	if (has == 1)
		return 0;
	coco_stage *sink = NULL;
	int rc = dst->ops->put_blob(dst, in->digest, in->size, &sink);
	if (!rc)
		rc = src->ops->get_blob(src, in, sink);
	coco_stage_chain_free(sink);
	(void)ctx;
	return rc;
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

/* ---- the data path of encrypt / decrypt ---- */

/*
 * source -> meter -> verify (source digest) -> async -> cipher (AES-CTR +
 * HMAC) -> async -> sink (output digest + write).  The two async split
 * points put the three sha256-class passes (source digest, HMAC, output
 * digest) on three threads, so two cores share them.  `cipher` is built
 * by the caller on top of *mid (the second split point); on success *head
 * is the chain to feed and to free.  On failure everything built so far
 * (sink and cipher included) is freed.
 */
static int split_chain(cocoimg_ctx *ctx, const coco_desc *in, const char *what,
                       coco_stage *cipher, coco_stage **head)
{
	coco_stage *a1 = NULL, *v = NULL, *m = NULL;
	int rc = coco_async_stage_new(ctx, 0, 0, cipher, &a1);
	if (rc) {
		coco_stage_chain_free(cipher);
		return rc;
	}
	rc = coco_verify_stage_new(ctx, in->digest, in->size, what, a1, &v);
	if (rc) {
		coco_stage_chain_free(a1);
		return rc;
	}
	rc = coco_meter_stage_new(ctx, v, &m);
	if (rc) {
		coco_stage_chain_free(v);
		return rc;
	}
	*head = m;
	return 0;
}

/* Per-stage nanoseconds of a finished chain into report "stats" (the
 * stage names; summed by image.c into the copy report). */
static void chain_stats(coco_stage *head, json_t *report)
{
	static const char *const names[] = { "network", "digest", "decrypt", "encrypt", "write" };
	uint64_t ns[COCO_ARRAY_SIZE(names)] = { 0 };
	for (coco_stage *s = head; s; s = s->next)
		for (size_t k = 0; k < COCO_ARRAY_SIZE(names); k++)
			if (s->name && !strcmp(s->name, names[k]))
				ns[k] += s->nsec;
	json_t *st = json_object();
	for (size_t k = 0; st && k < COCO_ARRAY_SIZE(names); k++)
		if (ns[k])
			json_object_set_new(st, names[k], json_integer((json_int_t)ns[k]));
	if (st)
		json_object_set_new(report, "stats", st);
}

/* ---- encrypt ---- */

static int encrypt_layer(cocoimg_ctx *ctx, const cocoimg_copy_options *opts, coco_src *src,
                         coco_dest *dst, const coco_desc *in, const char *what, json_t **out_desc,
                         json_t *report)
{
	cocoimg_keyring *kr = opts->keys;
	if (!coco_keyring_has_recipients(kr))
		return coco_seterr(ctx, COCOIMG_EINVAL, "%s: no recipients to encrypt for", what);
	if (!encryptable(in->media_type))
		return coco_seterr(ctx, COCOIMG_EUNSUPPORTED, "%s: media type %s cannot be encrypted",
		                   what, in->media_type ? in->media_type : "(none)");
	if (coco_mt_compression(in->media_type) == COCO_COMP_ZSTD && has_coco_recipient(kr))
		coco_warn(ctx, "%s is tar+zstd: confidential-containers guests (image-rs) cannot "
		          "decrypt tar+zstd+encrypted layers today; consider gzip", what);
	coco_layer_opts o;
	coco_buf po = COCO_BUF_INIT;
	json_t *ann = json_object_get(in->json, "annotations");
	json_t *schemes = json_array();
	ann = json_is_object(ann) ? json_deep_copy(ann) : json_object();
	int rc = coco_layer_opts_generate(ctx, &o, in->digest);
	if (!rc && (!ann || !schemes))
		rc = COCOIMG_ENOMEM;
	/* a stale encryption annotation on a plaintext layer must not survive */
	if (!rc) {
		const char *k;
		json_t *v;
		void *tmp;
		json_object_foreach_safe(ann, tmp, k, v) {
			if (!strncmp(k, COCO_ANN_ENC_PREFIX, strlen(COCO_ANN_ENC_PREFIX)))
				json_object_del(ann, k);
		}
	}
	if (!rc)
		rc = coco_privopts_encode(&o, &po) ? COCOIMG_ENOMEM : 0;
	if (!rc)
		rc = wrap_all(ctx, kr, po.data, po.len, ann, schemes);
	coco_buf_wipe_free(&po);
	if (!rc && !json_array_size(schemes))
		rc = coco_seterr(ctx, COCOIMG_EINVAL, "%s: no recipient produced a wrapped key", what);

	coco_stage *verify = NULL, *enc = NULL, *sink = NULL, *a2 = NULL;
	if (!rc)
		rc = dst->ops->put_blob(dst, NULL, -1, &sink);
	if (!rc) {
		rc = coco_async_stage_new(ctx, 0, 0, sink, &a2);
		if (rc)
			coco_stage_chain_free(sink);
	}
	if (!rc) {
		rc = coco_layer_encrypt_stage_new(ctx, &o, a2, &enc);
		if (rc)
			coco_stage_chain_free(a2);
	}
	if (!rc)
		rc = split_chain(ctx, in, what, enc, &verify);
	if (!rc)
		rc = src->ops->get_blob(src, in, verify);
	char digest[COCO_DIGEST_STRLEN];
	uint64_t size = 0;
	if (!rc) {
		unsigned char hmac[32];
		coco_layer_stage_hmac(enc, hmac);
		coco_dest_blob_done(sink, digest, &size);
		char *pub = coco_pubopts_encode(hmac);
		char *pub64 = pub ? coco_b64_encode((unsigned char *)pub, strlen(pub)) : NULL;
		if (!pub64 || json_object_set_new(ann, COCO_ANN_PUBOPTS, json_string(pub64)))
			rc = COCOIMG_ENOMEM;
		free(pub);
		free(pub64);
		if (!digest[0])
			rc = coco_seterr(ctx, COCOIMG_EINTERNAL, "%s: destination did not report the blob",
			                 what);
	}
	if (!rc) {
		char *mt = coco_asprintf("%s" SUFFIX, in->media_type);
		rc = mt ? make_desc(in, mt, digest, size, ann, out_desc) : COCOIMG_ENOMEM;
		free(mt);
	}
	if (!rc && report) {
		json_object_set_new(report, "encrypted", json_true());
		json_object_set_new(report, "encrypted_digest", json_string(digest));
		json_object_set_new(report, "schemes", json_incref(schemes));
		json_object_set_new(report, "recipients", recipient_labels(kr));
		if (opts->collect_stats) {
			json_object_set_new(report, "encrypt_ns", json_integer((json_int_t)enc->nsec));
			chain_stats(verify, report);
		}
	}
	coco_stage_chain_free(verify ? verify : NULL);
	coco_layer_opts_clear(&o);
	json_decref(ann);
	json_decref(schemes);
	if (rc == COCOIMG_ENOMEM)
		coco_seterr(ctx, rc, "%s: out of memory", what);
	return rc;
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

static int removal_parse(cocoimg_ctx *ctx, const cocoimg_copy_options *opts, removal *r)
{
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < opts->n_remove_recipients; i++) {
		const char *s = opts->remove_recipients[i];
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
			if (!rc) {
				X509 **x = realloc(r->certs, (r->n_certs + 1) * sizeof(*x));
				if (!x) {
					rc = COCOIMG_ENOMEM;
				} else {
					r->certs = x;
					x[r->n_certs++] = k.cert;
					k.cert = NULL;
				}
			}
		} else if (!strncmp(s, "coco:", 5)) {
			/* coco:KID or coco:KID:KEKFILE */
			rc = push_str(&r->coco_kids, &r->n_coco, coco_strdup(s + 5));
			const char *c = strrchr(s + 5, ':');
			if (!rc && c)
				rc = push_str(&r->coco_kids, &r->n_coco,
				              coco_strndup(s + 5, (size_t)(c - (s + 5))));
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

/* Rebuild one keys.* value without the removed recipients. */
static int remove_from(cocoimg_ctx *ctx, const removal *r, const char *name, const char *value,
                       char **out, size_t *removed)
{
	coco_buf nv = COCO_BUF_INIT;
	bool jwe = !strcmp(name, COCO_ANN_KEYS_PREFIX "jwe");
	bool pkcs7 = !strcmp(name, COCO_ANN_KEYS_PREFIX "pkcs7");
	bool aa = !strcmp(name, COCO_ANN_KEYS_PREFIX "provider.attestation-agent");
	*out = NULL;
	for (size_t i = 0; i < r->n_providers; i++) {
		if (!strcmp(name, r->providers[i])) {
			(*removed)++;
			return 0;
		}
	}
	if (!(jwe && r->n_kids) && !(pkcs7 && r->n_certs) && !(aa && r->n_coco)) {
		*out = coco_strdup(value);
		return *out ? 0 : COCOIMG_ENOMEM;
	}
	int rc = 0;
	for (const char *e = value; e && !rc;) {
		const char *comma = strchr(e, ',');
		size_t el = comma ? (size_t)(comma - e) : strlen(e);
		coco_buf raw = COCO_BUF_INIT, kept = COCO_BUF_INIT;
		bool empty = false;
		size_t n = 0;
		if (coco_b64_decode(e, el, &raw)) {
			rc = coco_seterr(ctx, COCOIMG_EBADIMAGE, "annotation %s: element is not base64",
			                 name);
		} else if (jwe) {
			rc = coco_jwe_remove(ctx, raw.data, raw.len, (const char *const *)r->kids, r->n_kids,
			                     &kept, &empty, &n);
		} else if (pkcs7) {
			rc = coco_pkcs7_remove(ctx, raw.data, raw.len, r->certs, r->n_certs, &kept, &empty,
			                       &n);
		} else {
			json_t *hold = NULL;
			const char *kid = packet_kid(raw.data, raw.len, &hold);
			for (size_t i = 0; kid && i < r->n_coco && !empty; i++)
				empty = !strcmp(kid, r->coco_kids[i]);
			json_decref(hold);
			n = empty;
			if (!empty && coco_buf_append(&kept, raw.data, raw.len))
				rc = COCOIMG_ENOMEM;
		}
		*removed += n;
		if (!rc && !empty) {
			char *b = coco_b64_encode(kept.data, kept.len);
			if (!b || (nv.len && coco_buf_putc(&nv, ',')) || coco_buf_append(&nv, b, strlen(b)))
				rc = COCOIMG_ENOMEM;
			free(b);
		}
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

static int rewrap_layer(cocoimg_ctx *ctx, const cocoimg_copy_options *opts, coco_src *src,
                        coco_dest *dst, const coco_desc *in, bool selected, const char *what,
                        json_t **out_desc, json_t *report)
{
	json_t *ann = json_deep_copy(in->annotations);
	json_t *schemes = json_array();
	removal rm;
	size_t removed = 0;
	int rc = (ann && schemes) ? 0 : COCOIMG_ENOMEM;
	if (!rc)
		rc = removal_parse(ctx, opts, &rm);
	else
		memset(&rm, 0, sizeof(rm));
	if (!rc && opts->n_remove_recipients) {
		char **names;
		size_t n;
		rc = key_annotations(in->annotations, &names, &n);
		for (size_t i = 0; !rc && i < n; i++) {
			char *nv = NULL;
			rc = remove_from(ctx, &rm, names[i],
			                 json_string_value(json_object_get(in->annotations, names[i])), &nv,
			                 &removed);
			if (!rc && nv)
				rc = json_object_set_new(ann, names[i], json_string(nv)) ? COCOIMG_ENOMEM : 0;
			else if (!rc)
				json_object_del(ann, names[i]);
			free(nv);
		}
		free(names);
	}
	if (!rc && opts->n_remove_recipients && !removed)
		coco_warn(ctx, "%s: none of the recipients to remove was found (JWE recipients written "
		          "by other tools carry no key id and cannot be matched to a public key)", what);
	bool added = false;
	if (!rc && selected && coco_keyring_has_recipients(opts->keys)) {
		coco_layer_opts o;
		coco_buf po = COCO_BUF_INIT;
		memset(&o, 0, sizeof(o));
		rc = coco_crypt_unwrap_layer(ctx, opts->keys, in, what, &o, &po);
		if (rc == COCOIMG_ENOKEY && !opts->n_encrypt_layers) {
			coco_warn(ctx, "%s is already encrypted and none of the decryption keys opens it: "
			          "left as is, without the new recipients (%s)", what,
			          cocoimg_ctx_last_error(ctx));
			rc = 0;
		} else if (rc == COCOIMG_ENOKEY) {
			coco_preferr(ctx, rc, "cannot add recipients to already encrypted %s", what);
		} else if (!rc) {
			rc = wrap_all(ctx, opts->keys, po.data, po.len, ann, schemes);
			added = !rc;
		}
		coco_buf_wipe_free(&po);
		coco_layer_opts_clear(&o);
	}
	if (!rc) {
		char **names;
		size_t n;
		rc = key_annotations(ann, &names, &n);
		free(names);
		if (!rc && !n)
			rc = coco_seterr(ctx, COCOIMG_EINVAL,
			                 "%s: removing the recipients would leave no recipient at all", what);
	}
	if (!rc)
		rc = copy_blob(ctx, src, dst, in);
	if (!rc)
		rc = make_desc(in, in->media_type, in->digest, (uint64_t)in->size, ann, out_desc);
	if (!rc && report) {
		json_object_set_new(report, "already_encrypted", json_true());
		json_object_set_new(report, "encrypted", json_false());
		if (added) {
			json_object_set_new(report, "recipients_added", recipient_labels(opts->keys));
			json_object_set_new(report, "schemes", json_incref(schemes));
		}
		if (opts->n_remove_recipients)
			json_object_set_new(report, "recipients_removed",
			                    json_integer((json_int_t)removed));
	}
	removal_free(&rm);
	json_decref(ann);
	json_decref(schemes);
	return rc;
}

/* ---- decrypt ---- */

static int decrypt_layer(cocoimg_ctx *ctx, const cocoimg_copy_options *opts, coco_src *src,
                         coco_dest *dst, const coco_desc *in, const char *what, json_t **out_desc,
                         json_t *report)
{
	coco_layer_opts o;
	memset(&o, 0, sizeof(o));
	int rc = coco_crypt_unwrap_layer(ctx, opts->keys, in, what, &o, NULL);
	coco_stage *verify = NULL, *dec = NULL, *sink = NULL, *a2 = NULL;
	if (!rc)
		rc = dst->ops->put_blob(dst, NULL, -1, &sink);
	if (!rc) {
		rc = coco_async_stage_new(ctx, 0, 0, sink, &a2);
		if (rc)
			coco_stage_chain_free(sink);
	}
	if (!rc) {
		rc = coco_layer_decrypt_stage_new(ctx, &o, what, a2, &dec);
		if (rc)
			coco_stage_chain_free(a2);
	}
	if (!rc)
		rc = split_chain(ctx, in, what, dec, &verify);
	if (!rc)
		rc = src->ops->get_blob(src, in, verify);
	char digest[COCO_DIGEST_STRLEN];
	uint64_t size = 0;
	if (!rc) {
		coco_dest_blob_done(sink, digest, &size);
		if (!digest[0])
			rc = coco_seterr(ctx, COCOIMG_EINTERNAL, "%s: destination did not report the blob",
			                 what);
		else if (o.digest && *o.digest && strcmp(o.digest, digest))
			coco_debug(ctx, "%s: decrypted blob %s differs from the digest recorded at "
			           "encryption (%s); the encrypter may have recompressed", what, digest,
			           o.digest);
	}
	if (!rc) {
		size_t l = strlen(in->media_type) - strlen(SUFFIX);
		char *mt = coco_strndup(in->media_type, l);
		json_t *ann = json_is_object(in->annotations) ? json_deep_copy(in->annotations) : NULL;
		if (ann) {
			const char *k;
			json_t *v;
			void *tmp;
			json_object_foreach_safe(ann, tmp, k, v) {
				if (!strncmp(k, COCO_ANN_ENC_PREFIX, strlen(COCO_ANN_ENC_PREFIX)))
					json_object_del(ann, k);
			}
		}
		rc = mt ? make_desc(in, mt, digest, size, ann, out_desc) : COCOIMG_ENOMEM;
		free(mt);
		json_decref(ann);
	}
	if (!rc && report) {
		json_object_set_new(report, "decrypted", json_true());
		json_object_set_new(report, "decrypted_digest", json_string(digest));
		if (opts->collect_stats && dec) {
			json_object_set_new(report, "decrypt_ns", json_integer((json_int_t)dec->nsec));
			chain_stats(verify, report);
		}
	}
	coco_stage_chain_free(verify);
	coco_layer_opts_clear(&o);
	return rc;
}

int coco_crypt_transform_layer(cocoimg_ctx *ctx, const cocoimg_copy_options *opts, coco_src *src,
                               coco_dest *dst, const coco_desc *in, size_t idx, size_t n,
                               json_t **out_desc, json_t *report)
{
	*out_desc = NULL;
	char *what = layer_what(in);
	if (!what)
		return coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory");
	bool enc = in->media_type && coco_mt_is_encrypted(in->media_type);
	int rc;
	switch (opts->crypt_mode) {
	case COCOIMG_CRYPT_DECRYPT:
		rc = enc ? decrypt_layer(ctx, opts, src, dst, in, what, out_desc, report) : 1;
		if (!enc && report)
			json_object_set_new(report, "decrypted", json_false());
		break;
	case COCOIMG_CRYPT_ENCRYPT:
		rc = check_indices(ctx, opts, n);
		if (rc)
			break;
		if (enc)
			rc = rewrap_layer(ctx, opts, src, dst, in, layer_selected(opts, idx, n), what,
			                  out_desc, report);
		else if (layer_selected(opts, idx, n))
			rc = encrypt_layer(ctx, opts, src, dst, in, what, out_desc, report);
		else
			rc = 1;
		if (rc == 1 && report)
			json_object_set_new(report, "encrypted", json_false());
		break;
	default:
		rc = 1;
	}
	if (rc == 1) {
		rc = copy_blob(ctx, src, dst, in);
		if (!rc) {
			*out_desc = json_deep_copy(in->json);
			if (!*out_desc)
				rc = coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory");
		}
	}
	free(what);
	return rc;
}
