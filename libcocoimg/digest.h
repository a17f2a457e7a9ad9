/*
 * Streaming sha256/sha512 over OpenSSL EVP and OCI digest strings
 * (digest.c).  Every module may include it.  Not installed.
 */
#ifndef COCO_DIGEST_H
#define COCO_DIGEST_H

#include <stddef.h>

typedef enum coco_digest_alg {
	COCO_SHA256 = 0,
	COCO_SHA512 = 1
} coco_digest_alg;

/* "sha512:" + 128 hex + NUL */
#define COCO_DIGEST_STRLEN 136

typedef struct coco_digest {
	void *md;                  /* EVP_MD_CTX* */
	coco_digest_alg alg;
} coco_digest;

int coco_digest_init(coco_digest *d, coco_digest_alg alg);
int coco_digest_update(coco_digest *d, const void *data, size_t len);
/* Writes "sha256:<hex>"; the context may be reused after init again. */
int coco_digest_final(coco_digest *d, char out[COCO_DIGEST_STRLEN]);
void coco_digest_free(coco_digest *d);
/* One-shot. */
int coco_digest_bytes(coco_digest_alg alg, const void *data, size_t len,
                      char out[COCO_DIGEST_STRLEN]);
/*
 * Validate an OCI digest string "alg:hex": alg sha256 (64 hex) or sha512
 * (128 hex), lower-case hex only.  Returns 0 and sets *alg, or EINVAL
 * (no message set: callers say what was wrong in context).
 */
int coco_digest_validate(const char *s, coco_digest_alg *alg);
/* One-shot digest of data with the algorithm of the digest string `like`
 * (sha256 when like is NULL or not a valid digest). */
int coco_digest_like(const char *like, const void *data, size_t len,
                     char out[COCO_DIGEST_STRLEN]);
/* The OpenSSL digest (const EVP_MD *) named "sha256", "sha384" or
 * "sha512"; NULL for any other name. */
const struct evp_md_st *coco_evp_md_by_name(const char *name);

#endif
