/*
 * trust/fulcio_request.c: the signing side of Fulcio v2 (bytes only; the
 * operations layer posts).  The subject an identity token names, the
 * CreateSigningCertificateRequest of `POST /api/v2/signingCert`, and the
 * certificate chain of its answer.  Not installed.
 */
#ifndef COCO_TRUST_FULCIO_REQUEST_H
#define COCO_TRUST_FULCIO_REQUEST_H

#include "../base.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

/*
 * The subject the proof of possession signs, read from the token's claims
 * without verifying it (Fulcio does): its "email" when present (which the
 * issuer must mark "email_verified": true), else its "sub" (sigstore's
 * oauthflow rule, as cosign signs).  *subject malloc'd.  0, or
 * COCOIMG_EINVAL naming what is wrong (the token itself never appears).
 */
int coco_oidc_token_subject(cocoimg_ctx *ctx, const char *token, size_t len, char **subject);

/*
 * The request JSON: {"credentials":{"oidcIdentityToken":TOKEN},
 * "publicKeyRequest":{"publicKey":{"algorithm":"ECDSA","content":PEM},
 * "proofOfPossession":B64(signature over subject)}}, signed with key (an
 * EC key: ECDSA over SHA-256).  out holds the token: wipe it.  0, ENOMEM,
 * EINTERNAL.
 */
int coco_fulcio_request_build(cocoimg_ctx *ctx, EVP_PKEY *key, const char *token,
                              const char *subject, coco_buf *out);

/*
 * The answer: signedCertificateEmbeddedSct.chain.certificates (PEM
 * strings, the leaf first, then its issuers).  The leaf must certify key
 * (the request's key) and each certificate must be signed by the next.
 * An answer with a detached SCT is refused (a bundle has no place for
 * it; sigstore-go reads only embedded SCTs).  *leaf and *chain (the
 * certificates after the leaf) are the caller's.  0, COCOIMG_EBADIMAGE
 * naming what is wrong, ENOMEM.
 */
int coco_fulcio_answer_parse(cocoimg_ctx *ctx, const void *json, size_t len, EVP_PKEY *key,
                             X509 **leaf, STACK_OF(X509) **chain);

#endif
