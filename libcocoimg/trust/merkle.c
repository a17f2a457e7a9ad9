/*
 * RFC 6962 / RFC 9162 Merkle tree inclusion proofs (the transparency log
 * entries of a Sigstore bundle).  Leaf hash = SHA-256(0x00 || leaf), node
 * hash = SHA-256(0x01 || left || right); the audit path is checked with
 * RFC 9162 section 2.1.3.2's algorithm.
 */
#include "sigstore.h"
#include "../base.h"

#include <openssl/sha.h>
#include <string.h>

void coco_merkle_leaf_hash(const void *data, size_t len, unsigned char out[32])
{
	unsigned char zero = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(c, &zero, 1) != 1 || EVP_DigestUpdate(c, data, len) != 1 ||
	    EVP_DigestFinal_ex(c, out, NULL) != 1)
		memset(out, 0, 32); /* never matches a real root */
	EVP_MD_CTX_free(c);
}

static void node_hash(const unsigned char *l, const unsigned char *r, unsigned char out[32])
{
	unsigned char in[65];
	in[0] = 1;
	memcpy(in + 1, l, 32);
	memcpy(in + 33, r, 32);
	SHA256(in, sizeof(in), out);
}

int coco_merkle_verify_inclusion(cocoimg_ctx *ctx, uint64_t index, uint64_t tree_size,
                                 const unsigned char leaf_hash[32],
                                 const unsigned char (*hashes)[32], size_t n,
                                 const unsigned char root[32])
{
	if (index >= tree_size)
		return coco_seterr(ctx, COCOIMG_EPOLICY,
		                   "inclusion proof: index %llu outside a tree of %llu leaves",
		                   (unsigned long long)index, (unsigned long long)tree_size);
	uint64_t fn = index, sn = tree_size - 1;
	unsigned char r[32];
	memcpy(r, leaf_hash, 32);
	for (size_t i = 0; i < n; i++) {
		if (sn == 0)
			return coco_seterr(ctx, COCOIMG_EPOLICY, "inclusion proof: too many hashes");
		if ((fn & 1) || fn == sn) {
			node_hash(hashes[i], r, r);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			node_hash(r, hashes[i], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return coco_seterr(ctx, COCOIMG_EPOLICY, "inclusion proof: too few hashes");
	if (memcmp(r, root, 32))
		return coco_seterr(ctx, COCOIMG_EPOLICY,
		                   "inclusion proof: the computed root hash differs from the proof's");
	return 0;
}
