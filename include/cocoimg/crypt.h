/* libcocoimg: layer encryption keys and recipients.  Include <cocoimg.h>. */
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

#ifdef __cplusplus
}
#endif
#endif
