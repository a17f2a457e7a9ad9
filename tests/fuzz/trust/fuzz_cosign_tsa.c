/* Fuzz the RFC 3161 timestamp annotation of legacy cosign signatures
 * (dev.sigstore.cosign/rfc3161timestamp, trust/cosign_tsa.c): the JSON
 * object, its base64 member, and the DER token it holds (parsed by
 * tsa.c, verified against a root without timestamp authorities, so only
 * the parsing runs to the end). */
#include "base.h"
#include "trust/sigstore.h"
#include "trust/trust.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cocoimg_ctx *ctx;
	if (cocoimg_ctx_new(&ctx))
		return 0;
	coco_trustroot *root = NULL;
	char *s = malloc(size + 1);
	if (!s || coco_trustroot_new(ctx, &root))
		abort();
	memcpy(s, data, size);
	s[size] = 0;
	coco_buf der = COCO_BUF_INIT;
	if (coco_cosign_rfc3161_parse(ctx, s, size, &der) == 0) {
		int64_t at;
		static const unsigned char sig[] = "signature";
		if (!der.len || coco_tsa_verify(ctx, root, der.data, der.len, sig, sizeof(sig) - 1,
		                                &at) == 0)
			abort();
	}
	int64_t at;
	if (coco_cosign_rfc3161_verify(ctx, root, s, (const unsigned char *)"x", 1, &at) == 0)
		abort();
	coco_buf_free(&der);
	coco_trustroot_free(root);
	free(s);
	cocoimg_ctx_free(ctx);
	return 0;
}
