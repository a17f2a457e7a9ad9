/* Fuzz the signed-note checkpoint parser and verifier (a fixed Ed25519
 * log key whose id starts with the bytes the seeds use). */
#include "base.h"
#include "trust/sigstore.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static EVP_PKEY *k;
	if (!k)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	cocoimg_ctx *ctx;
	if (!k || cocoimg_ctx_new(&ctx))
		return 0;
	coco_checkpoint cp;
	if (coco_checkpoint_parse(ctx, (const char *)data, size, &cp) == 0) {
		if (!cp.origin || !*cp.origin)
			abort();
		coco_checkpoint_clear(&cp);
	}
	coco_tlog_key log = { .key = k, .log_id_len = 32, .valid = { 0, INT64_MAX } };
	memcpy(log.log_id, "\xf3\x0d\x5a\x99", 4);
	if (coco_checkpoint_verify(ctx, &log, (const char *)data, size, &cp) == 0)
		abort(); /* nobody else has this fresh key */
	cocoimg_ctx_free(ctx);
	return 0;
}
