/* Fuzz cosign's encrypted private key JSON, the PEM check for keys that
 * need a passphrase, and the PEM public key loader. */
#include "base.h"
#include "trust/trust.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cocoimg_ctx *ctx;
	if (cocoimg_ctx_new(&ctx))
		return 0;
	coco_cosign_encrypted e;
	if (coco_cosign_encrypted_parse(ctx, data, size, "fuzz", &e) == 0) {
		if (e.nonce.len != 24 || e.ciphertext.len < 16)
			__builtin_trap();
		coco_cosign_encrypted_clear(&e);
	}
	int enc = coco_cosign_privkey_encrypted(data, size);
	if (enc != 0 && enc != 1)
		__builtin_trap();
	EVP_PKEY **keys = NULL;
	size_t n = 0;
	if (coco_pubkeys_load_pem(ctx, data, size, &keys, &n) == 0)
		coco_pubkeys_free(keys, n);
	cocoimg_ctx_free(ctx);
	return 0;
}
