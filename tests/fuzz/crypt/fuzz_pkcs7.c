/* Fuzz target: the hand-written CMS EnvelopedData reader (crypt/pkcs7.c):
 * parse, decrypt attempt with an RSA key, inspect, recipient removal. */
#include "base.h"
#include "crypt/crypt.h"

#include <openssl/evp.h>
#include <string.h>

static cocoimg_keyring *kr;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!kr) {
		cocoimg_keyring_new(&kr);
		coco_key k;
		memset(&k, 0, sizeof(k));
		k.kind = COCO_KEY_PRIVATE;
		k.pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
		k.label = coco_strdup("fuzz");
		coco_keyring_push(NULL, kr, &k);
	}
	coco_buf out = COCO_BUF_INIT;
	coco_pkcs7_decrypt_one(data, size, kr, &out);
	coco_buf_free(&out);
	size_t n = 0;
	coco_pkcs7_describe(data, size, &n);
	cocoimg_ctx *ctx = NULL;
	if (cocoimg_ctx_new(&ctx) == 0) {
		bool empty;
		size_t removed;
		coco_pkcs7_remove(ctx, data, size, NULL, 0, &out, &empty, &removed);
		coco_buf_free(&out);
		cocoimg_ctx_free(ctx);
	}
	return 0;
}
