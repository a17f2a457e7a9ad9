/*
 * Keyless signing (`coco-img sign --fulcio-url URL --identity-token T`),
 * as cosign and sigstore-go do it: a fresh ECDSA P-256 key that lives
 * only in memory, a Fulcio v2 certificate for it (POST
 * URL/api/v2/signingCert with the identity token and a proof of
 * possession: the key's signature over the token's subject), then the
 * usual signature with that key, logged in Rekor (required: the log's
 * integrated time is what proves the short-lived certificate was valid
 * when it signed).  The key is freed (OpenSSL clears EC private scalars
 * on free) when signing ends and is never written anywhere; the token is
 * a secret (wiped, never logged).
 */
#include "base.h"
#include "image_sign.h"
#include "registry/registry.h"
#include "trust/fulcio_request.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define FULCIO_ANSWER_MAX (256 * 1024)

/* Fulcio v2 answers a new certificate with 200 (or 201). */
static const coco_sign_service fulcio = {
	"certificate authority", "/api/v2/signingCert", FULCIO_ANSWER_MAX, 200, 201, true,
};

int coco_sign_keyless_cert(cocoimg_ctx *ctx, const char *fulcio_url, const char *token,
                           coco_signer *sg)
{
	char *subject = NULL;
	coco_buf req = COCO_BUF_INIT, ans = COCO_BUF_INIT;
	int rc = coco_oidc_token_subject(ctx, token, strlen(token), &subject);
	if (!rc && !(sg->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")))
		rc = coco_seterr(ctx, COCOIMG_EINTERNAL, "cannot generate a signing key (OpenSSL)");
	if (!rc)
		rc = coco_fulcio_request_build(ctx, sg->key, token, subject, &req);
	if (!rc)
		rc = coco_sign_service_post(ctx, &fulcio, fulcio_url, &req, &ans);
	if (!rc)
		rc = coco_fulcio_answer_parse(ctx, ans.data, ans.len, sg->key, &sg->cert, &sg->chain);
	if (rc)
		coco_preferr(ctx, rc, "keyless signing");
	else
		coco_info(ctx, "certificate authority %s: certificate for %s", fulcio_url, subject);
	coco_buf_wipe_free(&req);
	coco_buf_free(&ans);
	free(subject);
	return rc;
}
