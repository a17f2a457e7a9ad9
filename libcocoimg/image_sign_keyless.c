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

/* POST the request; the 200 (or 201) answer's body. */
static int post_request(cocoimg_ctx *ctx, const char *fulcio_url, const coco_buf *req,
                        coco_buf *ans)
{
	size_t n = strlen(fulcio_url);
	while (n && fulcio_url[n - 1] == '/')
		n--;
	char *url = coco_asprintf("%.*s/api/v2/signingCert", (int)n, fulcio_url);
	if (!url)
		return coco_oom(ctx);
	long status = 0;
	coco_debug(ctx, "certificate authority: POST %s", url);
	int rc = coco_http_post(ctx, url, "application/json", req->data, req->len,
	                        FULCIO_ANSWER_MAX, ans, &status);
	if (!rc && status != 200 && status != 201) {
		coco_buf_putc(ans, '\0');
		rc = coco_seterr(ctx, status == 401 || status == 403 ? COCOIMG_EAUTH : COCOIMG_ENET,
		                 "certificate authority %s: HTTP %ld: %.200s", url, status,
		                 ans->data ? (const char *)ans->data : "");
	}
	free(url);
	return rc;
}

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
		rc = post_request(ctx, fulcio_url, &req, &ans);
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
