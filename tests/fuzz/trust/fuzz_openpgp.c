/* Fuzz the OpenPGP reader: the input is used both as a keyring and as a
 * signed message checked against the fixture key and against itself. */
#include "base.h"
#include "trust/policy.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cocoimg_ctx *ctx = NULL;
	if (cocoimg_ctx_new(&ctx))
		return 0;
	coco_pgp_keyring *kr = coco_pgp_keyring_new();
	if (kr) {
		coco_pgp_keyring_add(ctx, kr, data, size, "fuzz");
		coco_buf content = COCO_BUF_INIT;
		char signer[41];
		if (coco_pgp_verify_message(ctx, kr, data, size, 0, &content, signer) == 0)
			coco_buf_free(&content);
		/* a message split in two: first half keys, second half message */
		coco_pgp_keyring *k2 = coco_pgp_keyring_new();
		if (k2) {
			coco_pgp_keyring_add(ctx, k2, data, size / 2, "fuzz");
			if (coco_pgp_verify_message(ctx, k2, data + size / 2, size - size / 2, 0,
			                            &content, signer) == 0)
				coco_buf_free(&content);
			coco_pgp_keyring_free(k2);
		}
		coco_pgp_keyring_free(kr);
	}
	cocoimg_ctx_free(ctx);
	return 0;
}
