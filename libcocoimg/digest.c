/* Streaming digests over OpenSSL EVP. */
#include "base.h"
#include "digest.h"

#include <openssl/evp.h>
#include <string.h>

static const EVP_MD *md_for(coco_digest_alg alg)
{
	return alg == COCO_SHA512 ? EVP_sha512() : EVP_sha256();
}

int coco_digest_init(coco_digest *d, coco_digest_alg alg)
{
	if (!d->md) {
		d->md = EVP_MD_CTX_new();
		if (!d->md)
			return COCOIMG_ENOMEM;
	}
	d->alg = alg;
	if (EVP_DigestInit_ex(d->md, md_for(alg), NULL) != 1)
		return COCOIMG_EINTERNAL;
	return 0;
}

int coco_digest_update(coco_digest *d, const void *data, size_t len)
{
	if (len && EVP_DigestUpdate(d->md, data, len) != 1)
		return COCOIMG_EINTERNAL;
	return 0;
}

int coco_digest_final(coco_digest *d, char out[COCO_DIGEST_STRLEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (EVP_DigestFinal_ex(d->md, md, &n) != 1)
		return COCOIMG_EINTERNAL;
	const char *name = d->alg == COCO_SHA512 ? "sha512:" : "sha256:";
	size_t l = strlen(name);
	memcpy(out, name, l);
	coco_hex_encode(md, n, out + l);
	return 0;
}

void coco_digest_free(coco_digest *d)
{
	if (d && d->md) {
		EVP_MD_CTX_free(d->md);
		d->md = NULL;
	}
}

int coco_digest_bytes(coco_digest_alg alg, const void *data, size_t len,
                      char out[COCO_DIGEST_STRLEN])
{
	coco_digest d = { 0 };
	int rc = coco_digest_init(&d, alg);
	if (!rc)
		rc = coco_digest_update(&d, data, len);
	if (!rc)
		rc = coco_digest_final(&d, out);
	coco_digest_free(&d);
	return rc;
}

int coco_digest_validate(const char *s, coco_digest_alg *alg)
{
	if (!s)
		return COCOIMG_EINVAL;
	size_t hexlen;
	coco_digest_alg a;
	if (!strncmp(s, "sha256:", 7)) {
		a = COCO_SHA256;
		hexlen = 64;
		s += 7;
	} else if (!strncmp(s, "sha512:", 7)) {
		a = COCO_SHA512;
		hexlen = 128;
		s += 7;
	} else {
		return COCOIMG_EINVAL;
	}
	size_t n = 0;
	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return COCOIMG_EINVAL;
	if (n != hexlen)
		return COCOIMG_EINVAL;
	if (alg)
		*alg = a;
	return 0;
}

int coco_digest_like(const char *like, const void *data, size_t len, char out[COCO_DIGEST_STRLEN])
{
	coco_digest_alg alg = COCO_SHA256;
	if (like && coco_digest_validate(like, &alg))
		alg = COCO_SHA256;
	return coco_digest_bytes(alg, data, len, out);
}

const EVP_MD *coco_evp_md_by_name(const char *name)
{
	if (!strcmp(name, "sha256"))
		return EVP_sha256();
	if (!strcmp(name, "sha384"))
		return EVP_sha384();
	if (!strcmp(name, "sha512"))
		return EVP_sha512();
	return NULL;
}
