/*
 * Making cosign signatures: the payload, the signature annotation, and the
 * attachment manifest + config laid out exactly as cosign writes them
 * (cosign builds them with go-containerregistry: mutate.Append on an empty
 * OCI image, Go struct field order, compact JSON).
 *
 * Pure functions: reading and writing the attachment is image_sign.c's job.
 */
#include "trust.h"
#include "../base.h"
#include "../digest.h"
#include "../json.h"
#include "../oci/oci.h"
#include "../ref.h"

#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

/* go-containerregistry's zero v1.Time */
#define GGCR_ZERO_TIME "0001-01-01T00:00:00Z"

/* Go-compatible JSON string (see coco_json_go_string). */
static int go_json_string(coco_buf *b, const char *s)
{
	return coco_json_go_string(b, s, strlen(s));
}

/*
 * sigstore's payload.Cosign marshalled by cosign sign without -a
 * annotations: keys in this order, "optional":null.
 */
char *coco_cosign_payload_build(const char *identity, const char *digest)
{
	coco_buf b = COCO_BUF_INIT;
	int rc = coco_buf_appendf(&b, "{\"critical\":{\"identity\":{\"docker-reference\":");
	rc = rc ? rc : go_json_string(&b, identity);
	rc = rc ? rc : coco_buf_appendf(&b, "},\"image\":{\"docker-manifest-digest\":");
	rc = rc ? rc : go_json_string(&b, digest);
	rc = rc ? rc : coco_buf_appendf(&b, "},\"type\":\"cosign container image signature\"},"
	                                    "\"optional\":null}");
	if (rc) {
		coco_buf_free(&b);
		return NULL;
	}
	return coco_buf_cstr(&b);
}

/*
 * cosign signs for ref.Context().Name() (go-containerregistry): the
 * repository without tag or digest, with Docker Hub spelled
 * index.docker.io (and library/ already added by our normalisation).
 */
char *coco_cosign_identity_for(const coco_dref *r)
{
	if (!r || !r->domain || !r->path)
		return NULL;
	if (!strcmp(r->domain, "docker.io"))
		return coco_asprintf("index.docker.io/%s", r->path);
	return coco_asprintf("%s/%s", r->domain, r->path);
}

int coco_cosign_sign_payload(cocoimg_ctx *ctx, EVP_PKEY *key, const void *payload, size_t len,
                             char **sig_b64)
{
	*sig_b64 = NULL;
	int id = EVP_PKEY_get_base_id(key);
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	int rc = COCOIMG_EINTERNAL;
	if (!mc)
		return coco_oom(ctx);
	/* SHA-256 for ECDSA (ASN.1 DER output) and RSA PKCS#1 v1.5, as
	 * cosign with its default hash and containers/image expect; pure
	 * Ed25519. */
	if (EVP_DigestSignInit(mc, &pc, id == EVP_PKEY_ED25519 ? NULL : EVP_sha256(), NULL, key) != 1)
		goto fail;
	if (id == EVP_PKEY_RSA && EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) != 1)
		goto fail;
	if (EVP_DigestSign(mc, NULL, &sig_len, payload, len) != 1)
		goto fail;
	sig = OPENSSL_malloc(sig_len ? sig_len : 1);
	if (!sig || EVP_DigestSign(mc, sig, &sig_len, payload, len) != 1)
		goto fail;
	*sig_b64 = coco_b64_encode(sig, sig_len);
	rc = *sig_b64 ? 0 : coco_oom(ctx);
	goto out;
fail:
	rc = coco_seterr(ctx, COCOIMG_EINTERNAL, "signing the payload failed (OpenSSL)");
out:
	OPENSSL_free(sig);
	EVP_MD_CTX_free(mc);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Attachment manifest and config                                      */
/* ------------------------------------------------------------------ */

static int set_new(json_t *o, const char *k, json_t *v)
{
	return v ? json_object_set_new(o, k, v) : -1;
}

/* o[k] = v when v is a string, else a new string dflt. */
static int set_str_or(json_t *o, const char *k, json_t *v, const char *dflt)
{
	if (json_is_string(v))
		return json_object_set(o, k, v);
	return set_new(o, k, json_string(dflt));
}

/* Copy old[k] to o when it is a non-empty string (Go omitempty). */
static int copy_nonempty_str(json_t *o, json_t *old, const char *k)
{
	json_t *v = old ? json_object_get(old, k) : NULL;
	if (json_is_string(v) && json_string_length(v))
		return json_object_set(o, k, v);
	return 0;
}

/*
 * The config after go-containerregistry's mutate.Append: v1.ConfigFile
 * members in struct order (architecture, author, container, created,
 * docker_version, history, os, rootfs, config, os.version, variant,
 * os.features), one more diff_id and one more (zero) history entry.
 */
static json_t *build_config(json_t *old, const char *payload_digest)
{
	json_t *c = json_object();
	if (!c)
		return NULL;
	int bad = 0;
	json_t *v = json_object_get(old, "architecture");
	bad |= set_str_or(c, "architecture", v, "");
	bad |= copy_nonempty_str(c, old, "author");
	bad |= copy_nonempty_str(c, old, "container");
	v = json_object_get(old, "created");
	bad |= set_str_or(c, "created", v, GGCR_ZERO_TIME);
	bad |= copy_nonempty_str(c, old, "docker_version");
	json_t *hist = json_array();
	v = json_object_get(old, "history");
	if (hist && json_is_array(v))
		bad |= json_array_extend(hist, v);
	json_t *h = json_object();
	bad |= !h || set_new(h, "created", json_string(GGCR_ZERO_TIME)) ||
	       json_array_append_new(hist, h);
	bad |= set_new(c, "history", hist);
	v = json_object_get(old, "os");
	bad |= set_str_or(c, "os", v, "");
	json_t *rootfs = json_object();
	json_t *oldfs = json_object_get(old, "rootfs");
	v = json_object_get(oldfs, "type");
	bad |= !rootfs || set_str_or(rootfs, "type", v, "layers");
	json_t *ids = json_array();
	v = json_object_get(oldfs, "diff_ids");
	if (ids && json_is_array(v))
		bad |= json_array_extend(ids, v);
	bad |= !ids || json_array_append_new(ids, json_string(payload_digest));
	bad |= set_new(rootfs, "diff_ids", ids);
	bad |= set_new(c, "rootfs", rootfs);
	v = json_object_get(old, "config");
	bad |= json_is_object(v) ? json_object_set(c, "config", v)
	                         : set_new(c, "config", json_object());
	bad |= copy_nonempty_str(c, old, "os.version");
	bad |= copy_nonempty_str(c, old, "variant");
	v = json_object_get(old, "os.features");
	if (json_is_array(v) && json_array_size(v))
		bad |= json_object_set(c, "os.features", v);
	if (bad) {
		json_decref(c);
		return NULL;
	}
	return c;
}

/* A v1.Descriptor in go-containerregistry's field order. */
static json_t *descriptor(const char *mt, int64_t size, const char *digest, json_t *annotations)
{
	json_t *d = json_object();
	if (!d || set_new(d, "mediaType", json_string(mt)) ||
	    set_new(d, "size", json_integer(size)) || set_new(d, "digest", json_string(digest)) ||
	    (annotations && json_object_set(d, "annotations", annotations))) {
		json_decref(d);
		return NULL;
	}
	return d;
}

/* The attachment manifest: the old one's layers plus one for the payload
 * (its signature as annotation); manifest annotations and subject kept
 * (they survive an append).  NULL when out of memory. */
static json_t *attachment_manifest(json_t *om, const char *cfg_s, const char *cfg_digest,
                                   const char *payload_digest, size_t payload_size,
                                   json_t *ann)
{
	json_t *m = json_object(), *layers = json_array();
	json_t *cmt = json_object_get(json_object_get(om, "config"), "mediaType");
	json_t *ol = json_object_get(om, "layers");
	json_t *oa = json_object_get(om, "annotations"), *os = json_object_get(om, "subject");
	bool bad = !m || !layers ||
	           set_new(m, "schemaVersion", json_integer(2)) ||
	           set_str_or(m, "mediaType", json_object_get(om, "mediaType"), COCO_MT_OCI_MANIFEST) ||
	           set_new(m, "config",
	                   descriptor(json_is_string(cmt) ? json_string_value(cmt) : COCO_MT_OCI_CONFIG,
	                              (int64_t)strlen(cfg_s), cfg_digest, NULL)) ||
	           (json_is_array(ol) && json_array_extend(layers, ol)) ||
	           json_array_append_new(layers, descriptor(COCO_COSIGN_SIMPLESIGNING_MT,
	                                                    (int64_t)payload_size, payload_digest,
	                                                    ann)) ||
	           json_object_set(m, "layers", layers) ||
	           (json_is_object(oa) && json_object_size(oa) &&
	            json_object_set(m, "annotations", oa)) ||
	           (json_is_object(os) && json_object_set(m, "subject", os));
	json_decref(layers);
	if (bad) {
		json_decref(m);
		return NULL;
	}
	return m;
}

int coco_cosign_attachment_build(cocoimg_ctx *ctx, const void *old_manifest, size_t old_manifest_len,
                                 const void *old_config, size_t old_config_len,
                                 const char *payload_digest, size_t payload_size,
                                 const char *sig_b64, coco_buf *manifest, coco_buf *config)
{
	json_t *ann = json_pack("{s:s}", COCO_COSIGN_ANN_SIGNATURE, sig_b64);
	if (!ann)
		return coco_oom(ctx);
	int rc = coco_cosign_attachment_build_ann(ctx, old_manifest, old_manifest_len, old_config,
	                                          old_config_len, payload_digest, payload_size, ann,
	                                          manifest, config);
	json_decref(ann);
	return rc;
}

int coco_cosign_attachment_build_ann(cocoimg_ctx *ctx, const void *old_manifest,
                                     size_t old_manifest_len, const void *old_config,
                                     size_t old_config_len, const char *payload_digest,
                                     size_t payload_size, json_t *annotations,
                                     coco_buf *manifest, coco_buf *config)
{
	json_t *om = NULL, *oc = NULL, *cfg = NULL, *m = NULL;
	char *cfg_s = NULL, *m_s = NULL;
	char cfg_digest[COCO_DIGEST_STRLEN];
	int rc = 0;
	if (old_manifest)
		rc = coco_json_parse(ctx, old_manifest, old_manifest_len, "existing signature manifest",
		                     COCOIMG_EBADIMAGE, &om);
	if (!rc && old_config)
		rc = coco_json_parse(ctx, old_config, old_config_len, "existing signature config",
		                     COCOIMG_EBADIMAGE, &oc);
	if (rc)
		goto out;
	cfg = build_config(oc, payload_digest);
	cfg_s = cfg ? coco_json_dump(cfg) : NULL;
	if (!cfg_s || coco_digest_bytes(COCO_SHA256, cfg_s, strlen(cfg_s), cfg_digest) ||
	    !(m = attachment_manifest(om, cfg_s, cfg_digest, payload_digest, payload_size,
	                              annotations)) ||
	    !(m_s = coco_json_dump(m))) {
		rc = coco_oom(ctx);
		goto out;
	}
	manifest->len = config->len = 0;
	if (coco_buf_append(manifest, m_s, strlen(m_s)) || coco_buf_append(config, cfg_s, strlen(cfg_s)))
		rc = coco_oom(ctx);
out:
	free(cfg_s);
	free(m_s);
	json_decref(m);
	json_decref(cfg);
	json_decref(om);
	json_decref(oc);
	return rc;
}
