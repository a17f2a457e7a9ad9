/* Fuzz certificate extension handling: a DER certificate's SANs and
 * Fulcio issuer extensions, and the embedded SCT list (against an empty
 * trusted root, with the certificate as its own issuer). */
#include "base.h"
#include "trust/sigstore.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cocoimg_ctx *ctx;
	if (cocoimg_ctx_new(&ctx))
		return 0;
	X509 *x = coco_x509_from_der(data, size);
	coco_trustroot *root = NULL;
	if (x && coco_trustroot_new(ctx, &root) == 0) {
		coco_fulcio_identity id;
		if (coco_fulcio_identity_get(ctx, x, &id) == 0) {
			coco_sigstore_policy pol = { .identity_regexp = "^https://", .issuer = "x" };
			coco_fulcio_match(ctx, &id, &pol, NULL);
			coco_fulcio_identity_clear(&id);
		}
		if (coco_sct_verify(ctx, root, x, x) == 0)
			abort();
		coco_sigcheck f;
		if (coco_fulcio_verify(ctx, root, x, NULL, 1700000000, true, NULL, &f) == 0)
			abort();
	}
	coco_trustroot_free(root);
	X509_free(x);
	cocoimg_ctx_free(ctx);
	return 0;
}
