/*
 * Signing images (operations layer): image_sign.c writes cosign's legacy
 * `sha256-<hex>.sig` attachments, image_sign_bundle.c cosign v3's Sigstore
 * bundles as OCI 1.1 referrers.  Shared helpers of the two.  Not installed.
 */
#ifndef COCO_IMAGE_SIGN_H
#define COCO_IMAGE_SIGN_H

#include "base.h"
#include "ref.h"
#include "transport.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "trust/trust.h"

/* Who signs and where the signature is logged. */
typedef struct coco_signer {
	EVP_PKEY *key;             /* the signing key (ephemeral when keyless) */
	X509 *cert;                /* keyless: the key's Fulcio certificate, else NULL */
	STACK_OF(X509) *chain;     /* keyless: the certificates above it */
	const char *rekor_url;     /* NULL: no transparency log entry */
} coco_signer;

/* Store bytes as a blob of d unless it is there already. */
int coco_sign_put_bytes(coco_dest *d, const void *data, size_t len, const char *digest);
/* A destination for the sibling `tag` of the image's repository / layout. */
int coco_sign_open_dest(cocoimg_ctx *ctx, const coco_ref *image_ref, const char *tag,
                        coco_dest **d);
/* The sibling `tag` of the image's reference as the report names it
 * (malloc'd), or NULL when it cannot be made. */
char *coco_sign_sibling_name(cocoimg_ctx *ctx, const coco_ref *image_ref, const char *tag);
/* A signing service's JSON endpoint (the Fulcio CA, the Rekor log). */
typedef struct coco_sign_service {
	const char *what;          /* its name in messages */
	const char *path;          /* the endpoint, below the service's URL */
	size_t answer_max;         /* the largest answer taken */
	long ok, ok_too;           /* the answer statuses taken (ok_too 0: ok only) */
	bool auth_errors;          /* 401 and 403 are COCOIMG_EAUTH, not COCOIMG_ENET */
} coco_sign_service;
/* POST body to the service at base_url (trailing slashes ignored) and
 * take the answer's body.  Another status is an error naming the service
 * and the URL and quoting up to 200 bytes of the answer. */
int coco_sign_service_post(cocoimg_ctx *ctx, const coco_sign_service *svc, const char *base_url,
                           const coco_buf *body, coco_buf *ans);
/* Append a report entry (json_pack's result: NULL means out of memory) to
 * sigs, which takes it. */
int coco_sign_report_add(cocoimg_ctx *ctx, json_t *sigs, json_t *entry);

/*
 * Sign manifest `digest` (its media type and size: the subject's
 * descriptor) as cosign v3 does: push the bundle and its referrer manifest
 * to the image's repository or layout and, where the destination keeps no
 * referrers list itself, add the referrer to the referrers tag schema's
 * index (created or updated, existing entries kept).  Appends a report
 * entry to sigs.
 */
int coco_sign_bundle_v3(cocoimg_ctx *ctx, const coco_ref *ref, const coco_signer *signer,
                        const char *digest, const char *subject_mt, int64_t subject_size,
                        json_t *sigs);

/*
 * image_sign_tlog.c: log a signature in the Rekor v1 at rekor_url and
 * check the answer (it logs this signature; its inclusion proof holds).
 * The signer is cert when not NULL, else key.  A DSSE envelope (a dsse
 * entry) gives the bundle's tlog entry (protobuf JSON, *tlog); a message
 * signature over payload (a hashedrekord entry) gives cosign's legacy
 * dev.sigstore.cosign/bundle annotation (*cosign_bundle).  0, or ENET /
 * EBADIMAGE naming the log (exit 1).
 */
/*
 * image_sign_keyless.c: a fresh P-256 key in sg->key and its certificate
 * from the Fulcio v2 at fulcio_url for the identity token (sg->cert,
 * sg->chain; the caller frees all three).  0, COCOIMG_EINVAL for a token
 * that names no subject, EAUTH when the CA refuses the token (401/403),
 * ENET / EBADIMAGE for other failures of the CA.
 */
int coco_sign_keyless_cert(cocoimg_ctx *ctx, const char *fulcio_url, const char *token,
                           coco_signer *sg);

int coco_sign_tlog_dsse(cocoimg_ctx *ctx, const char *rekor_url, const coco_cosign_dsse *d,
                        EVP_PKEY *key, X509 *cert, json_t **tlog);
int coco_sign_tlog_hashedrekord(cocoimg_ctx *ctx, const char *rekor_url, const void *payload,
                                size_t len, const unsigned char *sig, size_t sig_len,
                                EVP_PKEY *key, X509 *cert, char **cosign_bundle);

#endif
