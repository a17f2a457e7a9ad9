/*
 * Making key pairs the way `cosign generate-key-pair` does (cosign
 * pkg/cosign/keys.go, go-securesystemslib encrypted/encrypted.go):
 *
 *   - an ECDSA P-256 key (cosign's default algorithm);
 *   - its PKCS#8 DER encrypted with go-securesystemslib's "Standard"
 *     strength: scrypt N=65536 r=8 p=1 over a random 32-byte salt gives a
 *     32-byte key for nacl/secretbox (XSalsa20-Poly1305) with a random
 *     24-byte nonce;
 *   - the JSON {"kdf":{"name":"scrypt","params":{"N":..,"r":..,"p":..},
 *     "salt":B64},"cipher":{"name":"nacl/secretbox","nonce":B64},
 *     "ciphertext":B64} (Go's member order, compact) as the body of a PEM
 *     block "ENCRYPTED SIGSTORE PRIVATE KEY" (the label cosign writes
 *     today; cosign_key.c also reads the older "ENCRYPTED COSIGN PRIVATE
 *     KEY");
 *   - the public key as a PKIX "PUBLIC KEY" PEM block.
 *
 * Bytes only: writing the files is the caller's job.
 */
#include "trust.h"
#include "../base.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#if HAVE_SODIUM
#include <sodium.h>
#endif

#define KEYGEN_SALT_LEN 32
#define KEYGEN_SCRYPT_N 65536
#define KEYGEN_SCRYPT_R 8
#define KEYGEN_SCRYPT_P 1

/* PEM armour as Go's encoding/pem writes it: 64 columns, no headers. */
static char *pem_armour(const char *label, const unsigned char *der, size_t len)
{
	char *b64 = coco_b64_encode(der, len);
	if (!b64)
		return NULL;
	coco_buf b = COCO_BUF_INIT;
	size_t n = strlen(b64);
	int rc = coco_buf_appendf(&b, "-----BEGIN %s-----\n", label);
	for (size_t i = 0; !rc && i < n; i += 64) {
		rc = coco_buf_append(&b, b64 + i, n - i < 64 ? n - i : 64);
		rc = rc ? rc : coco_buf_putc(&b, '\n');
	}
	rc = rc ? rc : coco_buf_appendf(&b, "-----END %s-----\n", label);
	free(b64);
	if (rc) {
		coco_buf_free(&b);
		return NULL;
	}
	return coco_buf_cstr(&b);
}

#if HAVE_SODIUM
/* The encrypted container's JSON for these parts (NULL when out of memory). */
static char *encrypted_json(const unsigned char *salt, const unsigned char *nonce,
                            const unsigned char *ct, size_t ct_len)
{
	char *s = coco_b64_encode(salt, KEYGEN_SALT_LEN);
	char *n = coco_b64_encode(nonce, crypto_secretbox_NONCEBYTES);
	char *c = coco_b64_encode(ct, ct_len);
	char *json = NULL;
	if (s && n && c)
		json = coco_asprintf("{\"kdf\":{\"name\":\"scrypt\",\"params\":{\"N\":%d,\"r\":%d,"
		                     "\"p\":%d},\"salt\":\"%s\"},\"cipher\":{\"name\":"
		                     "\"nacl/secretbox\",\"nonce\":\"%s\"},\"ciphertext\":\"%s\"}",
		                     KEYGEN_SCRYPT_N, KEYGEN_SCRYPT_R, KEYGEN_SCRYPT_P, s, n, c);
	COCO_FREE_FIELDS(s, n, c);
	return json;
}

int coco_cosign_key_encrypt(cocoimg_ctx *ctx, const unsigned char *der, size_t der_len,
                            const char *passphrase, char **pem)
{
	*pem = NULL;
	unsigned char salt[KEYGEN_SALT_LEN], nonce[crypto_secretbox_NONCEBYTES];
	unsigned char key[crypto_secretbox_KEYBYTES];
	size_t ct_len = der_len + crypto_secretbox_MACBYTES;
	unsigned char *ct = NULL;
	char *json = NULL;
	int rc = 0;
	if (sodium_init() < 0)
		return coco_seterr(ctx, COCOIMG_EINTERNAL, "libsodium initialisation failed");
	if (RAND_bytes(salt, sizeof(salt)) != 1 || RAND_bytes(nonce, sizeof(nonce)) != 1)
		return coco_seterr(ctx, COCOIMG_EINTERNAL, "no random bytes for the key's salt and nonce");
	const char *pw = passphrase ? passphrase : "";
	if (crypto_pwhash_scryptsalsa208sha256_ll((const uint8_t *)pw, strlen(pw), salt, sizeof(salt),
	                                          KEYGEN_SCRYPT_N, KEYGEN_SCRYPT_R, KEYGEN_SCRYPT_P,
	                                          key, sizeof(key)) != 0) {
		rc = coco_seterr(ctx, COCOIMG_ENOMEM, "scrypt key derivation failed");
		goto out;
	}
	ct = malloc(ct_len);
	if (!ct) {
		rc = coco_oom(ctx);
		goto out;
	}
	crypto_secretbox_easy(ct, der, der_len, nonce, key);
	json = encrypted_json(salt, nonce, ct, ct_len);
	*pem = json ? pem_armour("ENCRYPTED SIGSTORE PRIVATE KEY", (const unsigned char *)json,
	                         strlen(json))
	            : NULL;
	if (!*pem)
		rc = coco_oom(ctx);
out:
	coco_wipe(key, sizeof(key));
	free(ct);
	free(json);
	return rc;
}
#else
int coco_cosign_key_encrypt(cocoimg_ctx *ctx, const unsigned char *der, size_t der_len,
                            const char *passphrase, char **pem)
{
	(void)der;
	(void)der_len;
	(void)passphrase;
	*pem = NULL;
	return coco_seterr(ctx, COCOIMG_EUNSUPPORTED,
	                   "cosign encrypted keys need libsodium, which this build lacks");
}
#endif

/* PKCS#8 DER of a private key (wipe it after use). */
static int pkcs8_der(cocoimg_ctx *ctx, EVP_PKEY *k, unsigned char **der, size_t *len)
{
	*der = NULL;
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(k);
	int n = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, der) : -1;
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (n <= 0)
		return coco_seterr(ctx, COCOIMG_EINTERNAL, "cannot encode the private key as PKCS#8");
	*len = (size_t)n;
	return 0;
}

int coco_cosign_pubkey_pem(cocoimg_ctx *ctx, EVP_PKEY *k, char **pem)
{
	*pem = NULL;
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(k, &der);
	if (n <= 0)
		return coco_seterr(ctx, COCOIMG_EINTERNAL, "cannot encode the public key");
	*pem = pem_armour("PUBLIC KEY", der, (size_t)n);
	OPENSSL_free(der);
	return *pem ? 0 : coco_oom(ctx);
}

int coco_cosign_keypair_generate(cocoimg_ctx *ctx, const char *passphrase, char **priv_pem,
                                 char **pub_pem)
{
	*priv_pem = *pub_pem = NULL;
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!k)
		return coco_seterr(ctx, COCOIMG_EINTERNAL, "cannot generate an ECDSA P-256 key");
	unsigned char *der = NULL;
	size_t len = 0;
	int rc = pkcs8_der(ctx, k, &der, &len);
	if (!rc)
		rc = coco_cosign_key_encrypt(ctx, der, len, passphrase, priv_pem);
	if (!rc)
		rc = coco_cosign_pubkey_pem(ctx, k, pub_pem);
	if (der)
		OPENSSL_clear_free(der, len);
	EVP_PKEY_free(k);
	if (rc) {
		free(*priv_pem);
		*priv_pem = NULL;
	}
	return rc;
}
