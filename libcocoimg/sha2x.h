/*
 * HMAC-SHA256 and SHA-256 of the same bytes in one pass (sha2x.c).
 *
 * The ocicrypt layer cipher's HMAC (keyed with the layer key) and the
 * digest of the encrypted blob are two SHA-256 computations over the same
 * ciphertext.  The HMAC's inner hash starts with exactly one block (the
 * key xor ipad), so both hash the ciphertext in the same 64-byte blocks:
 * the message schedule of each block is computed once, and the two
 * round chains, which on their own wait on the latency of the SHA
 * instructions, are interleaved.  That is faster than two OpenSSL passes
 * only with the x86 SHA extensions (coco_sha2x_available); elsewhere the
 * same functions give the same results with portable C, and callers use
 * OpenSSL instead.
 * Every module may include it.  Not installed.
 */
#ifndef COCOIMG_SHA2X_H
#define COCOIMG_SHA2X_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct coco_sha2x {
	uint32_t h[2][8];          /* [0]: HMAC inner hash, [1]: plain digest */
	unsigned char opad[64];    /* key xor opad, for the outer hash (secret) */
	unsigned char buf[64];     /* a partial block */
	size_t buflen;
	uint64_t total;            /* message bytes so far */
} coco_sha2x;

/* Does this CPU have what coco_sha2x needs (checked once)? */
bool coco_sha2x_available(void);
/* Start HMAC-SHA256 keyed with key (a key over 64 bytes is hashed first,
 * as RFC 2104 says) and SHA-256; 0, or -1 when hashing a long key fails. */
int coco_sha2x_init(coco_sha2x *x, const unsigned char *key, size_t keylen);
void coco_sha2x_update(coco_sha2x *x, const unsigned char *b, size_t n);
/* The HMAC and the digest; 0, or -1 when the outer hash fails.  x is
 * wiped either way. */
int coco_sha2x_final(coco_sha2x *x, unsigned char hmac[32], unsigned char digest[32]);
/* Tests: use the portable C even where the SHA extensions are there. */
void coco_sha2x_test_portable(bool on);

#endif
