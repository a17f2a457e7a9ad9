/*
 * JSON Web Keys (jwk.c): RSA and EC keys to and from their JWK form and
 * RFC 7638 thumbprints.  Base level: used by crypt/ (JWE recipients and
 * key files) and broker/ (the KBS client's TEE key).  Not installed.
 */
#ifndef COCO_JWK_H
#define COCO_JWK_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>

/* Build an EVP_PKEY from a parsed JWK (RSA or EC; private when it has "d"
 * and want_private).  NULL on any error. */
EVP_PKEY *coco_jwk_to_pkey(json_t *jwk, bool want_private);
/* RFC 7638 thumbprint (base64url SHA-256) of a public key; NULL if the
 * key type is not RSA or EC. */
char *coco_pkey_thumbprint(EVP_PKEY *pk);
/* The public JWK of an RSA or EC key ({kty, n, e} or {kty, crv, x, y},
 * coordinates padded to the field size); NULL for other keys or out of
 * memory. */
json_t *coco_pkey_public_jwk(EVP_PKEY *pk);
/* JWK curve name ("P-256", "P-384", "P-521") and field size of an EC key;
 * COCOIMG_EUNSUPPORTED for other keys. */
int coco_ec_info(EVP_PKEY *pk, const char **crv, size_t *flen);

#endif
