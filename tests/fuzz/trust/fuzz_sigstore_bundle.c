/* Fuzz the Sigstore bundle parser and the verifier behind it: key mode
 * without a log (signature checks) and keyless against an empty trusted
 * root (every log / CA lookup fails cleanly).  Nothing may verify. */
#include "base.h"
#include "trust/sigstore.h"

#include <openssl/evp.h>
#include <stdlib.h>

static EVP_PKEY *key(void)
{
	static EVP_PKEY *k;
	if (!k)
		k = EVP_EC_gen("P-256");
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cocoimg_ctx *ctx;
	if (cocoimg_ctx_new(&ctx))
		return 0;
	coco_bundle b;
	coco_bundle_parse(ctx, data, size, &b);
	coco_bundle_clear(&b);

	coco_sigstore_artifact art = { .data = "hello", .len = 5 };
	coco_sigstore_policy kp = { .key = key(), .allow_no_tlog = true };
	coco_sigstore_result r;
	if (kp.key && coco_sigstore_verify_bundle(ctx, data, size, &art, &kp, &r) == 0)
		abort();
	coco_sigstore_result_clear(&r);

	coco_trustroot *root = NULL;
	if (coco_trustroot_new(ctx, &root) == 0) {
		coco_sigstore_policy ip = { .root = root, .identity = "a@b", .issuer_regexp = "." };
		coco_sigstore_artifact dg = { .digest = "sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf" };
		if (coco_sigstore_verify_bundle(ctx, data, size, &dg, &ip, &r) == 0)
			abort();
		coco_sigstore_result_clear(&r);
		coco_trustroot_free(root);
	}
	cocoimg_ctx_free(ctx);
	return 0;
}
