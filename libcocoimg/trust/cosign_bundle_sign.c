/*
 * What cosign v3 writes when it signs an image with a key (`cosign sign
 * --key K IMAGE`, whose --new-bundle-format is on by default), found in
 * cosign's sources: cmd/cosign/cli/sign/sign.go signDigestBundle,
 * cmd/cosign/cli/signcommon NewAttestationBundle, pkg/cosign/bundle
 * SignData, sigstore-go pkg/sign Bundle and DSSEData, pkg/oci/remote
 * WriteAttestationNewBundleFormat and WriteReferrer:
 *
 *  1. An in-toto Statement v1 (protojson of intoto.Statement): "_type"
 *     https://in-toto.io/Statement/v1, one subject whose "digest" maps
 *     "sha256" to the hex of the signed manifest's digest (no name; an
 *     empty "annotations" object, cosign passes structpb.NewStruct of its
 *     -a annotations), predicateType https://sigstore.dev/cosign/sign/v1,
 *     and an empty predicate.
 *  2. A DSSE envelope of that statement, payloadType
 *     application/vnd.in-toto+json, one signature over the DSSE
 *     pre-authentication encoding "DSSEv1 <len> <type> <len> <payload>":
 *     ECDSA with the curve's hash (SHA-256 for P-256, cosign's default
 *     key; SHA-384 / SHA-512 for P-384 / P-521), RSA PKCS#1 v1.5 with
 *     SHA-256, pure Ed25519; no keyid.
 *  3. A Sigstore bundle v0.3 (media type
 *     application/vnd.dev.sigstore.bundle.v0.3+json) holding the envelope,
 *     with verificationMaterial.publicKey.hint = standard base64 of
 *     SHA-256(SPKI DER of the public key) (cosign's SignerVerifierKeypair).
 *     Without a log (no --rekor-url) coco-img asks no transparency log and
 *     no timestamp authority, like `cosign sign --tlog-upload=false`: the
 *     bundle has neither tlog entries nor timestamps, so cosign verifies it
 *     only with --insecure-ignore-tlog (sigstore-go: no observer
 *     timestamps needed).  With one, the envelope is logged as a dsse
 *     0.0.1 entry (image_sign_tlog.c) and the bundle carries that entry
 *     (coco_cosign_bundle_v3_json).
 *  4. An OCI image manifest (go-containerregistry's v1.Manifest field
 *     order plus a top-level artifactType): config = the empty descriptor
 *     (application/vnd.oci.empty.v1+json, the 2 bytes "{}", carrying the
 *     bundle media type as its own artifactType too), one layer = the
 *     bundle with the bundle media type, annotations
 *     dev.sigstore.bundle.content=dsse-envelope,
 *     dev.sigstore.bundle.predicateType=<predicate type> and
 *     org.opencontainers.image.created=<RFC 3339 UTC, seconds>, subject =
 *     the signed manifest's descriptor (media type, size, digest), and
 *     artifactType = the bundle media type.  It is pushed by digest; the
 *     subject makes it a referrer (image-rs and containers/image find it
 *     through the OCI 1.1 referrers API or, on registries without one, the
 *     referrers tag schema, which image_sign_bundle.c updates).
 *
 * Bytes only: pushing is image_sign_bundle.c's job.
 */
#include "trust.h"
#include "sigstore.h"
#include "../base.h"
#include "../digest.h"
#include "../json.h"
#include "../oci/oci.h"

#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#define INTOTO_STATEMENT_V1 "https://in-toto.io/Statement/v1"
#define INTOTO_PAYLOAD_TYPE "application/vnd.in-toto+json"

/* The in-toto statement cosign signs for a manifest digest "sha256:HEX". */
static char *statement_build(const char *digest)
{
	const char *hex = strchr(digest, ':');
	if (!hex || strncmp(digest, "sha256:", 7))
		return NULL;
	return coco_asprintf("{\"_type\":\"%s\",\"subject\":[{\"digest\":{\"sha256\":\"%s\"},"
	                     "\"annotations\":{}}],\"predicateType\":\"%s\",\"predicate\":{}}",
	                     INTOTO_STATEMENT_V1, hex + 1, COCO_COSIGN_SIGN_PREDICATE);
}

/* DSSE's pre-authentication encoding of payload. */
static int dsse_pae(const char *type, const char *payload, size_t len, coco_buf *out)
{
	int rc = coco_buf_appendf(out, "DSSEv1 %zu %s %zu ", strlen(type), type, len);
	return rc ? rc : coco_buf_append(out, payload, len);
}

/* Sign data with the key's default algorithm (see the header comment). */
static int sign_data(cocoimg_ctx *ctx, EVP_PKEY *key, const void *data, size_t len,
                     unsigned char **sig, size_t *sig_len)
{
	*sig = NULL;
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	int ok = mc && EVP_DigestSignInit(mc, &pc, coco_sigstore_key_md(key), NULL, key) == 1;
	if (ok && EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA)
		ok = EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1;
	ok = ok && EVP_DigestSign(mc, NULL, sig_len, data, len) == 1;
	ok = ok && (*sig = OPENSSL_malloc(*sig_len ? *sig_len : 1)) != NULL;
	ok = ok && EVP_DigestSign(mc, *sig, sig_len, data, len) == 1;
	EVP_MD_CTX_free(mc);
	ERR_clear_error();
	if (!ok) {
		OPENSSL_free(*sig);
		*sig = NULL;
		return coco_seterr(ctx, COCOIMG_EINTERNAL, "signing the DSSE envelope failed (OpenSSL)");
	}
	return 0;
}

/* verificationMaterial.publicKey.hint: base64(SHA-256(SPKI DER)). */
static char *key_hint(EVP_PKEY *key)
{
	coco_buf der = COCO_BUF_INIT;
	unsigned char h[32];
	char *hint = NULL;
	if (!coco_spki_der(key, &der) && EVP_Digest(der.data, der.len, h, NULL, EVP_sha256(), NULL))
		hint = coco_b64_encode(h, sizeof(h));
	coco_buf_free(&der);
	return hint;
}

void coco_cosign_dsse_clear(coco_cosign_dsse *d)
{
	OPENSSL_free(d->sig);
	COCO_FREE_FIELDS(d->statement, d->envelope);
	memset(d, 0, sizeof(*d));
}

/* The envelope as sigstore-go marshals it (payload, payloadType,
 * signatures [{sig}], no keyid): the bundle's dsseEnvelope and the
 * envelope a dsse log entry proposes. */
static char *envelope_json(const char *stmt, const unsigned char *sig, size_t sig_len)
{
	char *payload_b64 = coco_b64_encode((const unsigned char *)stmt, strlen(stmt));
	char *sig_b64 = coco_b64_encode(sig, sig_len);
	char *env = payload_b64 && sig_b64
	                    ? coco_asprintf("{\"payload\":\"%s\",\"payloadType\":\"%s\","
	                                    "\"signatures\":[{\"sig\":\"%s\"}]}",
	                                    payload_b64, INTOTO_PAYLOAD_TYPE, sig_b64)
	                    : NULL;
	COCO_FREE_FIELDS(payload_b64, sig_b64);
	return env;
}

int coco_cosign_dsse_sign(cocoimg_ctx *ctx, EVP_PKEY *key, const char *digest,
                          coco_cosign_dsse *out)
{
	memset(out, 0, sizeof(*out));
	if (!(out->statement = statement_build(digest)))
		return coco_seterr(ctx, COCOIMG_EINVAL, "cannot sign manifest digest %.100s", digest);
	coco_buf pae = COCO_BUF_INIT;
	int rc = dsse_pae(INTOTO_PAYLOAD_TYPE, out->statement, strlen(out->statement), &pae);
	if (rc)
		rc = coco_oom(ctx);
	if (!rc)
		rc = sign_data(ctx, key, pae.data, pae.len, &out->sig, &out->sig_len);
	if (!rc && !(out->envelope = envelope_json(out->statement, out->sig, out->sig_len)))
		rc = coco_oom(ctx);
	coco_buf_free(&pae);
	if (rc)
		coco_cosign_dsse_clear(out);
	return rc;
}

/* verificationMaterial's signer: the key's hint, or the certificate. */
static char *signer_material(EVP_PKEY *key, X509 *cert)
{
	if (!cert) {
		char *hint = key_hint(key);
		char *m = hint ? coco_asprintf("\"publicKey\":{\"hint\":\"%s\"}", hint) : NULL;
		free(hint);
		return m;
	}
	unsigned char *der = NULL;
	int n = i2d_X509(cert, &der);
	char *b64 = n > 0 ? coco_b64_encode(der, (size_t)n) : NULL;
	char *m = b64 ? coco_asprintf("\"certificate\":{\"rawBytes\":\"%s\"}", b64) : NULL;
	OPENSSL_free(der);
	free(b64);
	return m;
}

int coco_cosign_bundle_v3_json(cocoimg_ctx *ctx, const coco_cosign_dsse *d, EVP_PKEY *key,
                               X509 *cert, json_t *tlog_entry, coco_buf *out)
{
	char *signer = signer_material(key, cert);
	char *tlog = tlog_entry ? coco_json_dump(tlog_entry) : NULL;
	int rc = !signer || (tlog_entry && !tlog);
	rc = rc ? rc : coco_buf_appendf(out, "{\"mediaType\":\"%s\",\"verificationMaterial\":{%s",
	                                COCO_SIGSTORE_BUNDLE_V03_MT, signer);
	if (!rc && tlog)
		rc = coco_buf_appendf(out, ",\"tlogEntries\":[%s]", tlog);
	rc = rc ? rc : coco_buf_appendf(out, "},\"dsseEnvelope\":%s}", d->envelope);
	COCO_FREE_FIELDS(signer, tlog);
	return rc ? coco_oom(ctx) : 0;
}

int coco_cosign_bundle_v3_build(cocoimg_ctx *ctx, EVP_PKEY *key, const char *digest,
                                coco_buf *out)
{
	coco_cosign_dsse d;
	int rc = coco_cosign_dsse_sign(ctx, key, digest, &d);
	if (!rc)
		rc = coco_cosign_bundle_v3_json(ctx, &d, key, NULL, NULL, out);
	coco_cosign_dsse_clear(&d);
	return rc;
}

int coco_cosign_bundle_manifest_build(cocoimg_ctx *ctx, const char *bundle_digest,
                                      int64_t bundle_size, const char *subject_mt,
                                      const char *subject_digest, int64_t subject_size,
                                      const char *created, coco_buf *out)
{
	const char *bmt = COCO_SIGSTORE_BUNDLE_V03_MT;
	int rc = coco_buf_appendf(out, "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{"
	                               "\"mediaType\":\"%s\",\"size\":2,\"digest\":\"%s\","
	                               "\"artifactType\":\"%s\"},\"layers\":[{\"mediaType\":\"%s\","
	                               "\"size\":%lld,\"digest\":\"%s\"}],\"annotations\":{",
	                          COCO_MT_OCI_MANIFEST, COCO_MT_OCI_EMPTY, COCO_OCI_EMPTY_DIGEST, bmt,
	                          bmt, (long long)bundle_size, bundle_digest);
	/* Go's encoding/json writes map keys sorted */
	rc = rc ? rc : coco_buf_appendf(out, "\"dev.sigstore.bundle.content\":\"dsse-envelope\","
	                                     "\"dev.sigstore.bundle.predicateType\":\"%s\","
	                                     "\"org.opencontainers.image.created\":",
	                                COCO_COSIGN_SIGN_PREDICATE);
	rc = rc ? rc : coco_json_go_string(out, created, strlen(created));
	rc = rc ? rc : coco_buf_appendf(out, "},\"subject\":{\"mediaType\":");
	rc = rc ? rc : coco_json_go_string(out, subject_mt, strlen(subject_mt));
	rc = rc ? rc : coco_buf_appendf(out, ",\"size\":%lld,\"digest\":\"%s\"},\"artifactType\":"
	                                     "\"%s\"}",
	                                (long long)subject_size, subject_digest, bmt);
	return rc ? coco_oom(ctx) : 0;
}
