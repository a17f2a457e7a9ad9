/* Fuzz the cosign payload parser, containers/image's stored sigstore
 * signature form and the Rekor bundle annotation parser. */
#include "base.h"
#include "trust/trust.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cocoimg_ctx *ctx;
	if (cocoimg_ctx_new(&ctx))
		return 0;
	char *d = NULL, *r = NULL;
	if (coco_cosign_payload_parse(ctx, data, size, &d, &r) == 0) {
		if (!d || !r || !strchr(d, ':'))
			abort();
	}
	free(d);
	free(r);

	coco_sigstore_sig s;
	char *mime = NULL;
	if (coco_sigstore_sig_from_blob(ctx, data, size, &s, &mime) == 0) {
		/* and through the verifier with no keys (must reject cleanly) */
		coco_cosign_trust t = { 0 };
		if (coco_cosign_verify_ex(ctx, &s, &t, &d, &r, NULL) == 0)
			abort();
		free(mime);
		coco_buf_free(&s.payload);
		free(s.signature_b64);
		free(s.cert_pem);
		free(s.chain_pem);
		free(s.bundle_json);
	}

	char *str = malloc(size + 1);
	if (str) {
		memcpy(str, data, size);
		str[size] = 0;
		coco_rekor_bundle b;
		if (coco_rekor_bundle_parse(ctx, str, &b) == 0)
			coco_rekor_bundle_clear(&b);
		free(str);
	}
	cocoimg_ctx_free(ctx);
	return 0;
}
