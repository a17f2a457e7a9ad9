/*
 * cocoimg_sign(): cosign-compatible signatures.  Resolves the manifest the
 * reference names, builds cosign's payload, signs it, and appends one layer
 * to the sigstore attachment "sha256-<hex>.sig" in the same repository or
 * layout (trust/cosign_sign.c lays the attachment out as cosign does).
 */
#include "api.h"
#include "base.h"
#include "digest.h"
#include "image_open.h"
#include "image_sign.h"
#include "json.h"
#include "oci/layout.h"
#include "oci/oci.h"
#include "oci/resolve.h"
#include "ref.h"
#include "report.h"
#include "registry/registry.h"
#include "stream.h"
#include "transport.h"
#include "trust/trust.h"

#include <errno.h>
#include <openssl/pem.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Existing attachment, if any. */
typedef struct {
	coco_buf manifest;
	coco_buf config;
	coco_manifest *m;
	bool present;
} attachment;

static void attachment_clear(attachment *a)
{
	coco_buf_free(&a->manifest);
	coco_buf_free(&a->config);
	coco_manifest_free(a->m);
	memset(a, 0, sizeof(*a));
}

static int read_attachment(cocoimg_ctx *ctx, const coco_ref *aref, const char *tag, attachment *a)
{
	memset(a, 0, sizeof(*a));
	coco_ref *r = NULL;
	coco_src *s = NULL;
	char *mt = NULL;
	int rc = coco_ref_sibling(ctx, aref, tag, &r);
	if (rc)
		return rc;
	rc = coco_src_open_ref(ctx, r, "dest", &s);
	if (!rc)
		rc = s->ops->get_manifest(s, NULL, &a->manifest, &mt);
	if (rc == COCOIMG_ENOTFOUND) {
		coco_clearerr(ctx);
		rc = 0;
		goto out;
	}
	if (rc) {
		coco_preferr(ctx, rc, "reading the existing signatures %s", tag);
		goto out;
	}
	if (!mt || strcmp(mt, COCO_MT_OCI_MANIFEST)) {
		rc = coco_seterr(ctx, COCOIMG_EBADIMAGE,
		                 "existing signatures %s: not an OCI image manifest (%.100s)", tag,
		                 mt ? mt : "no media type");
		goto out;
	}
	rc = coco_manifest_parse(ctx, a->manifest.data, a->manifest.len, mt, &a->m);
	if (!rc && a->m->kind != COCO_KIND_IMAGE)
		rc = coco_seterr(ctx, COCOIMG_EBADIMAGE, "not an image manifest");
	if (!rc && a->m->n_layers >= COCO_COSIGN_MAX_LAYERS)
		rc = coco_seterr(ctx, COCOIMG_EBADIMAGE, "already %zu signatures", a->m->n_layers);
	if (!rc)
		rc = coco_fetch_small_blob(s, &a->m->config, COCO_LIM_CONFIG_SIZE, &a->config);
	if (rc) {
		coco_preferr(ctx, rc, "existing signatures %s", tag);
		goto out;
	}
	a->present = true;
out:
	free(mt);
	if (s)
		coco_src_close(s);
	if (rc)
		attachment_clear(a);
	return rc;
}

/* cosign's duplicate detection: the same payload already signed by this
 * key (ECDSA signatures differ each time, so compare by verifying). */
static bool already_signed(const attachment *a, EVP_PKEY *key, const char *payload_digest,
                           const char *payload, size_t len)
{
	if (!a->present)
		return false;
	for (size_t i = 0; i < a->m->n_layers; i++) {
		const coco_desc *d = &a->m->layers[i];
		if (!d->media_type || strcmp(d->media_type, COCO_COSIGN_SIMPLESIGNING_MT) ||
		    !d->digest || strcmp(d->digest, payload_digest))
			continue;
		json_t *v = d->annotations ? json_object_get(d->annotations, COCO_COSIGN_ANN_SIGNATURE)
		                           : NULL;
		if (!json_is_string(v))
			continue;
		coco_buf raw = COCO_BUF_INIT;
		bool ok = !coco_b64_decode(json_string_value(v), json_string_length(v), &raw) &&
		          coco_cosign_verify_raw(key, raw.data, raw.len, payload, len) == 1;
		coco_buf_free(&raw);
		if (ok)
			return true;
	}
	return false;
}

int coco_sign_put_bytes(coco_dest *d, const void *data, size_t len, const char *digest)
{
	int have = d->ops->has_blob(d, digest, (int64_t)len);
	if (have < 0)
		return have;
	if (have == 1)
		return 0;
	coco_stage *sink = NULL;
	int rc = d->ops->put_blob(d, digest, (int64_t)len, &sink);
	if (!rc)
		rc = coco_stage_pump_mem(sink, data, len);
	coco_stage_chain_free(sink);
	return rc;
}

int coco_sign_open_dest(cocoimg_ctx *ctx, const coco_ref *image_ref, const char *tag,
                        coco_dest **d)
{
	coco_ref *r = NULL;
	int rc = coco_ref_sibling(ctx, image_ref, tag, &r);
	if (rc)
		return rc;
	if (r->transport == COCO_TR_DOCKER)
		return coco_registry_dest_open(ctx, r, d);
	return coco_oci_dest_open(ctx, r, d);
}

char *coco_sign_sibling_name(cocoimg_ctx *ctx, const coco_ref *image_ref, const char *tag)
{
	coco_ref *r = NULL;
	if (coco_ref_sibling(ctx, image_ref, tag, &r))
		return NULL;
	char *s = coco_ref_string(r);
	coco_ref_free(r);
	return s;
}

int coco_sign_report_add(cocoimg_ctx *ctx, json_t *sigs, json_t *entry)
{
	/* json_array_append_new frees the entry when it fails */
	if (!entry || json_array_append_new(sigs, entry))
		return coco_oom(ctx);
	return 0;
}

int coco_sign_service_post(cocoimg_ctx *ctx, const coco_sign_service *svc, const char *base_url,
                           const coco_buf *body, coco_buf *ans)
{
	size_t n = strlen(base_url);
	while (n && base_url[n - 1] == '/')
		n--;
	char *url = coco_asprintf("%.*s%s", (int)n, base_url, svc->path);
	if (!url)
		return coco_oom(ctx);
	long status = 0;
	coco_debug(ctx, "%s: POST %s (%zu bytes)", svc->what, url, body->len);
	int rc = coco_http_post(ctx, url, "application/json", body->data, body->len,
	                        svc->answer_max, ans, &status);
	if (!rc && status != svc->ok && (!svc->ok_too || status != svc->ok_too)) {
		bool refused = svc->auth_errors && (status == 401 || status == 403);
		coco_buf_putc(ans, '\0');
		rc = coco_seterr(ctx, refused ? COCOIMG_EAUTH : COCOIMG_ENET, "%s %s: HTTP %ld: %.200s",
		                 svc->what, url, status, ans->data ? (const char *)ans->data : "");
	}
	free(url);
	return rc;
}

/* PEM of certificates, concatenated (malloc'd). */
static char *certs_pem(X509 *one, STACK_OF(X509) *many)
{
	BIO *b = BIO_new(BIO_s_mem());
	bool ok = b && (!one || PEM_write_bio_X509(b, one));
	for (int i = 0; ok && many && i < sk_X509_num(many); i++)
		ok = PEM_write_bio_X509(b, sk_X509_value(many, i));
	char *p = NULL;
	long n = ok ? BIO_get_mem_data(b, &p) : 0;
	char *s = n > 0 ? coco_asprintf("%.*s", (int)n, p) : NULL;
	BIO_free(b);
	return s;
}

/* cosign's keyless annotations: the leaf and the chain above it (PEM). */
static int cert_annotations(json_t *ann, const coco_signer *sg)
{
	char *leaf = certs_pem(sg->cert, NULL), *chain = certs_pem(NULL, sg->chain);
	int rc = !leaf || !chain ||
	         json_object_set_new(ann, COCO_COSIGN_ANN_CERTIFICATE, json_string(leaf)) ||
	         json_object_set_new(ann, COCO_COSIGN_ANN_CHAIN, json_string(chain));
	COCO_FREE_FIELDS(leaf, chain);
	return rc ? COCOIMG_ENOMEM : 0;
}

/* The logged entry as cosign's bundle annotation. */
static int log_signature(cocoimg_ctx *ctx, const coco_signer *sg, const char *payload,
                         size_t plen, const char *sig, char **bundle)
{
	coco_buf raw = COCO_BUF_INIT;
	int rc = coco_b64_decode(sig, strlen(sig), &raw) ? coco_oom(ctx) : 0;
	if (!rc)
		rc = coco_sign_tlog_hashedrekord(ctx, sg->rekor_url, payload, plen, raw.data, raw.len,
		                                 sg->key, sg->cert, bundle);
	coco_buf_free(&raw);
	return rc;
}

/* The new layer's annotations, in the order Go writes the map (sorted):
 * the signature, with a log cosign's bundle annotation (the entry's SET),
 * keyless the certificate and its chain. */
static int layer_annotations(cocoimg_ctx *ctx, const coco_signer *sg, const char *payload,
                             size_t plen, const char *sig, json_t **ann)
{
	*ann = json_pack("{s:s}", COCO_COSIGN_ANN_SIGNATURE, sig);
	if (!*ann)
		return coco_oom(ctx);
	char *bundle = NULL;
	int rc = sg->rekor_url ? log_signature(ctx, sg, payload, plen, sig, &bundle) : 0;
	if (!rc && bundle && json_object_set_new(*ann, COCO_COSIGN_ANN_BUNDLE, json_string(bundle)))
		rc = coco_oom(ctx);
	if (!rc && sg->cert && cert_annotations(*ann, sg))
		rc = coco_oom(ctx);
	free(bundle);
	return rc;
}

/* The report entry of a legacy signature (docs/json.md's words: the digest
 * it covers is "signed_digest", its format "sigstore" as verify names it). */
static int report_legacy(cocoimg_ctx *ctx, const coco_ref *ref, const char *tag,
                         const char *digest, const char *identity, const char *md, bool added,
                         json_t *sigs)
{
	char *aref_s = coco_sign_sibling_name(ctx, ref, tag);
	json_t *e = json_pack("{s:s,s:s,s:s,s:s?,s:s,s:b}", "signed_digest", digest, "format",
	                      "sigstore", "identity", identity, "attachment", aref_s,
	                      "attachment_digest", md, "added", added);
	free(aref_s);
	return coco_sign_report_add(ctx, sigs, e);
}

/* Sign one manifest digest; appends a report entry to `sigs`. */
static int sign_digest(cocoimg_ctx *ctx, const coco_ref *ref, const coco_signer *sg,
                       const char *identity, const char *digest, json_t *sigs)
{
	char *payload = coco_cosign_payload_build(identity, digest);
	char *tag = coco_cosign_attachment_tag(digest);
	char *sig = NULL;
	coco_dest *dest = NULL;
	coco_buf m = COCO_BUF_INIT, c = COCO_BUF_INIT;
	attachment a = { 0 };
	json_t *ann = NULL;
	int rc = 0;
	bool added = false;
	char pd[COCO_DIGEST_STRLEN], md[COCO_DIGEST_STRLEN] = "", cd[COCO_DIGEST_STRLEN];
	if (!payload || !tag) {
		rc = coco_seterr(ctx, payload ? COCOIMG_EBADIMAGE : COCOIMG_ENOMEM,
		                 "cannot sign manifest digest %s", digest);
		goto out;
	}
	size_t plen = strlen(payload);
	coco_digest_bytes(COCO_SHA256, payload, plen, pd);
	if ((rc = read_attachment(ctx, ref, tag, &a)))
		goto out;
	if (already_signed(&a, sg->key, pd, payload, plen)) {
		coco_info(ctx, "%s is already signed by this key for %s", digest, identity);
		if (a.present)
			coco_digest_bytes(COCO_SHA256, a.manifest.data, a.manifest.len, md);
		goto report;
	}
	if ((rc = coco_cosign_sign_payload(ctx, sg->key, payload, plen, &sig)) ||
	    (rc = layer_annotations(ctx, sg, payload, plen, sig, &ann)))
		goto out;
	rc = coco_cosign_attachment_build_ann(ctx, a.present ? a.manifest.data : NULL,
	                                      a.manifest.len, a.present ? a.config.data : NULL,
	                                      a.config.len, pd, plen, ann, &m, &c);
	if (rc)
		goto out;
	coco_digest_bytes(COCO_SHA256, c.data, c.len, cd);
	coco_digest_bytes(COCO_SHA256, m.data, m.len, md);
	if ((rc = coco_sign_open_dest(ctx, ref, tag, &dest)))
		goto out;
	if ((rc = coco_sign_put_bytes(dest, payload, plen, pd)) || (rc = coco_sign_put_bytes(dest, c.data, c.len, cd)) ||
	    (rc = dest->ops->put_manifest(dest, m.data, m.len, COCO_MT_OCI_MANIFEST, true)) ||
	    (rc = dest->ops->commit(dest))) {
		coco_preferr(ctx, rc, "writing signature %s", tag);
		goto out;
	}
	added = true;
report:
	rc = report_legacy(ctx, ref, tag, digest, identity, md, added, sigs);
out:
	json_decref(ann);
	attachment_clear(&a);
	if (dest)
		coco_dest_close(dest);
	coco_buf_free(&m);
	coco_buf_free(&c);
	free(sig);
	free(tag);
	free(payload);
	return rc;
}

/* Read a key file into an exactly sized buffer (no stray copies). */
static int read_key_file(cocoimg_ctx *ctx, const char *path, unsigned char **out, size_t *len)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return coco_seterr(ctx, COCOIMG_EINVAL, "cannot open key %s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > 1024 * 1024) {
		close(fd);
		return coco_seterr(ctx, COCOIMG_EINVAL, "key %s: not a regular file of at most 1 MiB",
		                   path);
	}
	size_t cap = (size_t)st.st_size, n = 0;
	unsigned char *b = malloc(cap + 1);
	if (!b) {
		close(fd);
		return coco_oom(ctx);
	}
	while (n < cap) {
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*out = b;
	*len = n;
	return 0;
}

static int load_key(cocoimg_ctx *ctx, const cocoimg_sign_options *o, EVP_PKEY **key)
{
	char *pass = NULL;
	int rc = 0;
	if (o->passphrase) {
		pass = coco_strdup(o->passphrase);
		if (!pass)
			return coco_oom(ctx);
	} else if (o->passphrase_file && (rc = coco_passphrase_read_file(ctx, o->passphrase_file, &pass))) {
		return rc;
	}
	unsigned char *pem = NULL;
	size_t len = 0;
	const char *what = o->key_path ? o->key_path : "signing key";
	if (o->key_path)
		rc = read_key_file(ctx, o->key_path, &pem, &len);
	if (!rc)
		rc = coco_cosign_privkey_load(ctx, o->key_path ? pem : o->key_pem,
		                              o->key_path ? len : o->key_pem_len, pass, what, key);
	if (pem)
		coco_free_secret(pem, len + 1);
	if (pass)
		coco_free_secret(pass, strlen(pass) + 1);
	return rc;
}

/* The signing key: the caller's, or keyless a fresh one and its
 * certificate. */
static int load_signer(cocoimg_ctx *ctx, const cocoimg_sign_options *o, coco_signer *sg)
{
	if (o->fulcio_url)
		return coco_sign_keyless_cert(ctx, o->fulcio_url, o->identity_token, sg);
	return load_key(ctx, o, &sg->key);
}

/* The identity to sign for: --sign-identity verbatim (as cosign
 * --sign-container-identity writes it, after checking it parses), else the
 * docker reference's repository. */
static int sign_identity(cocoimg_ctx *ctx, const coco_ref *ref, const char *given, char **identity)
{
	if (given) {
		coco_dref chk;
		int rc = coco_dref_parse(ctx, given, &chk);
		if (rc) {
			coco_preferr(ctx, COCOIMG_EINVAL, "sign: --sign-identity");
			return rc;
		}
		coco_dref_clear(&chk);
		*identity = coco_strdup(given);
	} else if (ref->transport == COCO_TR_DOCKER) {
		*identity = coco_cosign_identity_for(&ref->docker);
	} else {
		return coco_seterr(ctx, COCOIMG_EINVAL,
		                   "sign: an oci: layout has no repository name to sign for; give the "
		                   "identity with --sign-identity REF");
	}
	return *identity ? 0 : coco_oom(ctx);
}

/* The manifest the reference names (for an index: the index), its digest
 * (top, checked against a digest reference) and its parsed form. */
static int read_top_manifest(cocoimg_ctx *ctx, coco_src *src, const coco_ref *ref, coco_buf *raw,
                             char **mt, char top[COCO_DIGEST_STRLEN], coco_manifest **m)
{
	int rc = src->ops->get_manifest(src, NULL, raw, mt);
	if (rc)
		return rc;
	coco_digest_bytes(COCO_SHA256, raw->data, raw->len, top);
	if (ref->transport == COCO_TR_DOCKER && ref->docker.digest && strcmp(ref->docker.digest, top))
		return coco_seterr(ctx, COCOIMG_EDIGEST, "manifest %s: content has digest %s",
		                   ref->docker.digest, top);
	if ((rc = coco_manifest_parse(ctx, raw->data, raw->len, *mt, m)))
		coco_preferr(ctx, rc, "manifest %s", top);
	return rc;
}

/* What one signature needs: the key, the options, the legacy identity. */
typedef struct {
	const coco_ref *ref;
	const coco_signer *signer;
	const char *identity;      /* legacy signatures only */
	int format;                /* cocoimg_sign_format */
	json_t *sigs;
} sign_job;

/* Sign one manifest (its descriptor: digest, media type, size). */
static int sign_one(cocoimg_ctx *ctx, const sign_job *j, const char *digest, const char *mt,
                    int64_t size)
{
	if (j->format == COCOIMG_SIGN_BUNDLE_V3)
		return coco_sign_bundle_v3(ctx, j->ref, j->signer, digest, mt, size, j->sigs);
	return sign_digest(ctx, j->ref, j->signer, j->identity, digest, j->sigs);
}

/* Sign every distinct manifest an index lists. */
static int sign_index_entries(cocoimg_ctx *ctx, const sign_job *j, const coco_manifest *m)
{
	for (size_t i = 0; i < m->n_manifests; i++) {
		const coco_desc *e = &m->manifests[i];
		bool dup = false;
		for (size_t k = 0; k < i; k++)
			dup |= !strcmp(m->manifests[k].digest, e->digest);
		int rc = dup ? 0 : sign_one(ctx, j, e->digest, e->media_type, e->size);
		if (rc)
			return rc;
	}
	return 0;
}

/* The caller's options in the newest version's layout (an older caller's
 * struct ends before the fields of later versions: they keep defaults). */
static void sign_options_copy(const cocoimg_sign_options *in, cocoimg_sign_options *out)
{
	static const cocoimg_sign_options dflt = COCOIMG_SIGN_OPTIONS_INIT;
	*out = dflt;
	memcpy(out, in, coco_sign_options_size(in->version));
}

/* The report document: image, the manifest or index digest and media
 * type, one entry a signature (docs/json.md). */
static int sign_report(cocoimg_ctx *ctx, const coco_ref *ref, const char *top, const char *mt,
                       json_t *sigs, char **report)
{
	char *img = coco_ref_string(ref);
	json_t *rep = json_pack("{s:s?}", "image", img);
	free(img);
	if (rep) {
		coco_report_doc(rep, coco_mt_is_index(mt) ? "index" : "manifest", top, mt, -1);
		json_object_set(rep, "signatures", sigs);
	}
	*report = rep ? coco_json_dump(rep) : NULL;
	json_decref(rep);
	return *report ? 0 : coco_oom(ctx);
}

static bool http_url(const char *u)
{
	return !strncmp(u, "https://", 8) || !strncmp(u, "http://", 7);
}

/* Keyless: no key, a token, a log, http(s) URLs. */
static int keyless_options_check(cocoimg_ctx *ctx, const cocoimg_sign_options *opts)
{
	if (opts->key_path || opts->key_pem)
		return coco_seterr(ctx, COCOIMG_EINVAL, "sign: a key and keyless signing (a "
		                   "certificate authority URL) exclude each other");
	if (!opts->identity_token || !*opts->identity_token)
		return coco_seterr(ctx, COCOIMG_EINVAL, "sign: keyless signing needs an OIDC "
		                   "identity token");
	if (!opts->rekor_url)
		return coco_seterr(ctx, COCOIMG_EINVAL, "sign: keyless signing needs a transparency "
		                   "log (its entry proves the short-lived certificate was valid "
		                   "at signing time)");
	if (!http_url(opts->fulcio_url))
		return coco_seterr(ctx, COCOIMG_EINVAL, "sign: the certificate authority URL must be "
		                   "http:// or https://, not \"%.100s\"", opts->fulcio_url);
	return 0;
}

/* Checks of the options that need no I/O. */
static int sign_options_check(cocoimg_ctx *ctx, const cocoimg_sign_options *opts)
{
	if (coco_api_check_version(ctx, "cocoimg_sign_options", opts->version,
	                           COCOIMG_SIGN_OPTIONS_VERSION))
		return COCOIMG_EINVAL;
	if (opts->version >= 4 && opts->fulcio_url)
		return keyless_options_check(ctx, opts);
	if (!!opts->key_path == !!opts->key_pem)
		return coco_seterr(ctx, COCOIMG_EINVAL, "sign: exactly one of a key file or key data is needed");
	if (opts->version >= 2 && opts->bundle_format != COCOIMG_SIGN_LEGACY &&
	    opts->bundle_format != COCOIMG_SIGN_BUNDLE_V3)
		return coco_seterr(ctx, COCOIMG_EINVAL, "sign: unknown bundle format %d",
		                   opts->bundle_format);
	if (opts->version >= 3 && opts->rekor_url && strncmp(opts->rekor_url, "https://", 8) &&
	    strncmp(opts->rekor_url, "http://", 7))
		return coco_seterr(ctx, COCOIMG_EINVAL, "sign: the transparency log URL must be "
		                   "http:// or https://, not \"%.100s\"", opts->rekor_url);
	return 0;
}

COCOIMG_API int cocoimg_sign(cocoimg_ctx *ctx, const char *image, const cocoimg_sign_options *opts,
                             char **report)
{
	COCO_API_ENTER(ctx);
	if (report)
		*report = NULL;
	if (!image || !opts)
		return coco_seterr(ctx, COCOIMG_EINVAL, "sign: an image and options are needed");
	int rc = sign_options_check(ctx, opts);
	if (rc)
		return rc;
	cocoimg_sign_options o;
	sign_options_copy(opts, &o);
	coco_ref *ref = NULL;
	coco_src *src = NULL;
	coco_signer signer = { .rekor_url = o.rekor_url };
	char *identity = NULL;
	coco_buf raw = COCO_BUF_INIT;
	char *mt = NULL;
	coco_manifest *m = NULL;
	json_t *sigs = NULL;
	if ((rc = coco_ref_parse(ctx, image, &ref)))
		return rc;
	if (ref->transport == COCO_TR_OCI_ARCHIVE) {
		rc = coco_seterr(ctx, COCOIMG_EUNSUPPORTED,
		                 "sign: oci-archive: images cannot be signed in place; sign the registry "
		                 "or oci: layout copy");
		goto out;
	}
	char top[COCO_DIGEST_STRLEN];
	bool legacy = o.bundle_format == COCOIMG_SIGN_LEGACY;
	if ((legacy && (rc = sign_identity(ctx, ref, o.sign_identity, &identity))) ||
	    (rc = load_signer(ctx, &o, &signer)) ||
	    (rc = coco_src_open(ctx, image, "src", &src)) ||
	    (rc = read_top_manifest(ctx, src, ref, &raw, &mt, top, &m)))
		goto out;
	if (!(sigs = json_array())) {
		rc = coco_oom(ctx);
		goto out;
	}
	sign_job j = { ref, &signer, identity, o.bundle_format, sigs };
	if ((rc = sign_one(ctx, &j, top, mt, (int64_t)raw.len)))
		goto out;
	if (m->kind == COCO_KIND_INDEX && o.recursive && (rc = sign_index_entries(ctx, &j, m)))
		goto out;
	if (report)
		rc = sign_report(ctx, ref, top, mt, sigs, report);
out:
	json_decref(sigs);
	coco_manifest_free(m);
	free(mt);
	coco_buf_free(&raw);
	if (src)
		coco_src_close(src);
	EVP_PKEY_free(signer.key);     /* keyless: the ephemeral key ends here */
	X509_free(signer.cert);
	sk_X509_pop_free(signer.chain, X509_free);
	free(identity);
	coco_ref_free(ref);
	return rc;
}
