/* Fuzz target: the JWE reader (crypt/jwe.c): compact, flattened and
 * general serializations, every recipient tried with an RSA and an EC
 * key, plus inspect and recipient removal on the same input. */
#include "base.h"
#include "crypt/crypt.h"
#include "json.h"

#include <openssl/evp.h>

static EVP_PKEY *rsa, *ec;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!rsa) {
		rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
		ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	}
	coco_buf out = COCO_BUF_INIT;
	coco_jwe_decrypt_one(data, size, rsa, &out);
	coco_buf_free(&out);
	coco_jwe_decrypt_one(data, size, ec, &out);
	coco_buf_free(&out);
	size_t n = 0;
	json_t *kids = json_array();
	coco_jwe_describe(data, size, &n, kids);
	json_decref(kids);
	cocoimg_ctx *ctx = NULL;
	if (cocoimg_ctx_new(&ctx) == 0) {
		const char *k[] = { "kid-a", "" };
		bool empty;
		size_t removed;
		coco_jwe_remove(ctx, data, size, k, 2, &out, &empty, &removed);
		coco_buf_free(&out);
		cocoimg_ctx_free(ctx);
	}
	return 0;
}
