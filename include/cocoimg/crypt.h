/* libcocoimg: layer encryption keys and recipients.  Part of <cocoimg.h>. */
#include <cocoimg.h>

#ifndef COCOIMG_CRYPT_H
#define COCOIMG_CRYPT_H

#ifdef __cplusplus
extern "C" {
#endif

/* A keyring holds encryption recipients and decryption keys.  Key
 * material is wiped from memory when the keyring is freed. */

/** Create an empty keyring. */
COCOIMG_API int cocoimg_keyring_new(cocoimg_keyring **out);

/** Free a keyring, wiping key material. NULL is a no-op. */
COCOIMG_API void cocoimg_keyring_free(cocoimg_keyring *kr);

/**
 * Add an encryption recipient.  spec is one of
 *   jwe:PUBKEY          PEM or DER SubjectPublicKeyInfo, or a JWK (RSA or
 *                       EC P-256/P-384/P-521); RSA keys get RSA-OAEP, EC
 *                       keys ECDH-ES+A256KW, content encryption A256GCM
 *   pkcs7:CERT          X.509 certificate (PEM or DER) with an RSA key
 *   provider:NAME[:OPTS] a keyprovider from the ocicrypt keyprovider config
 *   coco:KID:KEKFILE    a confidential-containers KBS key id and a file
 *                       with the 32-byte key-encryption key
 * The file is read now.  Errors: COCOIMG_EINVAL for a malformed spec or a
 * missing file, COCOIMG_ECONFIG for a file that is not the expected key
 * (the message names the file, never its contents).
 */
COCOIMG_API int cocoimg_keyring_add_recipient(cocoimg_ctx *ctx, cocoimg_keyring *kr,
                                              const char *spec);

/**
 * Add a decryption key.  spec is one of
 *   FILE[:PASSWORD]     a private key: PEM or DER, PKCS#1, PKCS#8
 *                       (optionally encrypted), SEC1, legacy encrypted PEM,
 *                       or a JWK; or an X.509 certificate (pkcs7
 *                       decryption needs the private key and its
 *                       certificate, given as two keys or in one PEM file).
 *                       PASSWORD is pass=TEXT, file=PATH (first line),
 *                       fd=N, or TEXT.  The spec is split at a colon only
 *                       when the whole spec is not an existing file.
 *   provider:NAME[:OPTS] a keyprovider from the ocicrypt keyprovider config
 *   coco-keys:FILE      a JSON object mapping KBS resource paths
 *                       ("default/key/app1") to base64 key-encryption keys
 * Errors as for cocoimg_keyring_add_recipient(); a wrong or missing
 * password is COCOIMG_EINVAL.
 */
COCOIMG_API int cocoimg_keyring_add_decryption_key(cocoimg_ctx *ctx, cocoimg_keyring *kr,
                                                   const char *spec);

/* (The key resolver callback for CoCo key ids is declared below.) */

/* ---- key resolution (confidential containers) ------------------------ */

/**
 * Key resolver: maps the key id of a confidential-containers annotation
 * packet (a KBS resource URI such as "kbs:///default/key/app1"; the
 * resource path is the part after the host) to the key-encryption key.
 * A runtime plugs its own KBS / attestation client in here.
 *
 * On entry *key_len is the capacity of key (64 bytes); on success the
 * callback writes the key (32 bytes for the A256GCM/A256CTR packets in
 * use), sets *key_len and returns 0.  It returns COCOIMG_ENOKEY when it
 * has no key for this id: the layer then stays closed unless another key
 * opens it (else the operation fails with COCOIMG_ENOKEY).  Any other
 * non-zero value stops the operation with COCOIMG_ECANCELLED, as for
 * every callback (see "Callbacks" in cocoimg.h).  The library wipes the
 * buffer after use.  The callback runs on the thread of the operation,
 * may be called once per encrypted layer and must not call back into the
 * same context.
 */
typedef int (*cocoimg_key_resolver_cb)(const char *kid, unsigned char *key, size_t *key_len,
                                       void *payload);

/**
 * Install (or, with cb NULL, remove) the key resolver of a keyring.  It is
 * consulted for CoCo packets after the keyring's own coco-keys files and
 * coco: keys, and before a provider:attestation-agent keyprovider.
 * payload is passed through untouched.  Returns 0, or COCOIMG_EINVAL for
 * a NULL keyring.
 */
COCOIMG_API int cocoimg_keyring_set_resolver(cocoimg_keyring *kr, cocoimg_key_resolver_cb cb,
                                             void *payload);

/** The reply a key resolver of version 2 fills in.  Opaque.  (Since 0.4.) */
typedef struct cocoimg_key_reply cocoimg_key_reply;

/**
 * Give the key for the kid asked (copied; the library wipes its copy
 * after use).  Returns 0, or COCOIMG_EINVAL for a NULL reply or key, or a
 * length of 0 or over 64 bytes.  (Since 0.4.)
 */
COCOIMG_API int cocoimg_key_reply_set_key(cocoimg_key_reply *reply, const void *key, size_t len);

/**
 * Say why there is no key, or why the operation must stop (copied, at
 * most 255 bytes kept; control characters are replaced).  The library
 * puts it in its error message in place of a bare "no key": never put
 * secrets here.  (Since 0.4.)
 */
COCOIMG_API void cocoimg_key_reply_set_message(cocoimg_key_reply *reply, const char *message);

/**
 * Key resolver, version 2: as cocoimg_key_resolver_cb, with the key and a
 * reason given through reply.  Return 0 after cocoimg_key_reply_set_key()
 * (0 without a key counts as "no key"); COCOIMG_ENOKEY when there is no
 * key for this id, with the reason set on reply if there is one (the
 * layer's "no usable key" message then says "key resolver: no key:
 * REASON"); any other non-zero value stops the operation with
 * COCOIMG_ECANCELLED, and the reason, when set, is the message ("key
 * resolver stopped the operation at kid KID: REASON").  Threads and
 * calls as for version 1.  (Since 0.4.)
 */
typedef int (*cocoimg_key_resolver2_cb)(const char *kid, cocoimg_key_reply *reply,
                                        void *payload);

/**
 * Install (or, with cb NULL, remove) a key resolver of version 2.  A
 * keyring has one resolver: this replaces one set with
 * cocoimg_keyring_set_resolver(), and the reverse.  Returns 0, or
 * COCOIMG_EINVAL for a NULL keyring.  (Since 0.4.)
 */
COCOIMG_API int cocoimg_keyring_set_resolver2(cocoimg_keyring *kr, cocoimg_key_resolver2_cb cb,
                                              void *payload);

#ifdef __cplusplus
}
#endif
#endif
