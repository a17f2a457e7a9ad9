/*
 * HMAC-SHA256 and SHA-256 of the same bytes (sha2x.h): with the x86 SHA
 * extensions, else in portable C.  SHA-256 is FIPS 180-4; HMAC is RFC 2104.  The SHA
 * instructions keep the working variables as two vectors, "ABEF" and
 * "CDGH"; sha256rnds2 does two rounds, sha256msg1/msg2 the message
 * schedule four words at a time.  Here one schedule feeds two round
 * chains, one per hash.
 */
#include "sha2x.h"
#include "base.h"

#include <openssl/evp.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SHA2X_X86 1
#include <cpuid.h>
#include <immintrin.h>
#endif

static const uint32_t sha256_iv[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

static const uint32_t sha256_k[64] __attribute__((aligned(16))) = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static bool force_portable;

void coco_sha2x_test_portable(bool on) { force_portable = on; }

static uint32_t ror32(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

/* One block, FIPS 180-4 section 6.2.2, in plain C. */
static void block_c(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64], v[8];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	memcpy(v, h, sizeof(v));
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = v[7] + (ror32(v[4], 6) ^ ror32(v[4], 11) ^ ror32(v[4], 25)) +
		              ((v[4] & v[5]) ^ (~v[4] & v[6])) + sha256_k[i] + w[i];
		uint32_t t2 = (ror32(v[0], 2) ^ ror32(v[0], 13) ^ ror32(v[0], 22)) +
		              ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
		memmove(v + 1, v, 7 * sizeof(uint32_t));
		v[4] += t1;
		v[0] = t1 + t2;
	}
	for (int i = 0; i < 8; i++)
		h[i] += v[i];
}

#ifdef SHA2X_X86


#define SHA_TARGET __attribute__((target("sha,sse4.1,ssse3")))

/* h[0..7] (A..H) to the instructions' ABEF / CDGH vectors and back. */
SHA_TARGET static void state_load(const uint32_t h[8], __m128i *abef, __m128i *cdgh)
{
	__m128i dcba = _mm_loadu_si128((const __m128i *)&h[0]);
	__m128i hgfe = _mm_loadu_si128((const __m128i *)&h[4]);
	__m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
	__m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
	*abef = _mm_alignr_epi8(cdab, efgh, 8);
	*cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);
}

SHA_TARGET static void state_store(uint32_t h[8], __m128i abef, __m128i cdgh)
{
	__m128i feba = _mm_shuffle_epi32(abef, 0x1B);
	__m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
	_mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(feba, dchg, 0xF0));
	_mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(dchg, feba, 8));
}

/* The 16 message words of a block, big-endian, as four vectors. */
SHA_TARGET static void block_load(const unsigned char *p, __m128i m[4])
{
	const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
	for (int i = 0; i < 4; i++)
		m[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), swap);
}

/* Words 4g..4g+3 of the schedule (g >= 4) into m[g & 3]. */
SHA_TARGET static inline void schedule(__m128i m[4], int g)
{
	__m128i w7 = _mm_alignr_epi8(m[(g - 1) & 3], m[(g - 2) & 3], 4);
	__m128i t = _mm_sha256msg1_epu32(m[g & 3], m[(g - 3) & 3]);
	m[g & 3] = _mm_sha256msg2_epu32(_mm_add_epi32(t, w7), m[(g - 1) & 3]);
}

/* nblocks blocks into one state. */
SHA_TARGET static void blocks1_ni(uint32_t h[8], const unsigned char *p, size_t nblocks)
{
	__m128i abef, cdgh;
	state_load(h, &abef, &cdgh);
	for (; nblocks; nblocks--, p += 64) {
		__m128i m[4], abef0 = abef, cdgh0 = cdgh;
		block_load(p, m);
#pragma GCC unroll 16
		for (int g = 0; g < 16; g++) {
			if (g >= 4)
				schedule(m, g);
			__m128i w = _mm_add_epi32(m[g & 3],
			                          _mm_load_si128((const __m128i *)&sha256_k[4 * g]));
			cdgh = _mm_sha256rnds2_epu32(cdgh, abef, w);
			abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(w, 0x0E));
		}
		abef = _mm_add_epi32(abef, abef0);
		cdgh = _mm_add_epi32(cdgh, cdgh0);
	}
	state_store(h, abef, cdgh);
}

/* nblocks blocks into both states: one schedule, two round chains. */
SHA_TARGET static void blocks2_ni(uint32_t h[2][8], const unsigned char *p, size_t nblocks)
{
	__m128i a0, c0, a1, c1;
	state_load(h[0], &a0, &c0);
	state_load(h[1], &a1, &c1);
	for (; nblocks; nblocks--, p += 64) {
		__m128i m[4], sa0 = a0, sc0 = c0, sa1 = a1, sc1 = c1;
		block_load(p, m);
#pragma GCC unroll 16
		for (int g = 0; g < 16; g++) {
			if (g >= 4)
				schedule(m, g);
			__m128i w = _mm_add_epi32(m[g & 3],
			                          _mm_load_si128((const __m128i *)&sha256_k[4 * g]));
			__m128i wh = _mm_shuffle_epi32(w, 0x0E);
			c0 = _mm_sha256rnds2_epu32(c0, a0, w);
			c1 = _mm_sha256rnds2_epu32(c1, a1, w);
			a0 = _mm_sha256rnds2_epu32(a0, c0, wh);
			a1 = _mm_sha256rnds2_epu32(a1, c1, wh);
		}
		a0 = _mm_add_epi32(a0, sa0);
		c0 = _mm_add_epi32(c0, sc0);
		a1 = _mm_add_epi32(a1, sa1);
		c1 = _mm_add_epi32(c1, sc1);
	}
	state_store(h[0], a0, c0);
	state_store(h[1], a1, c1);
}

bool coco_sha2x_available(void)
{
	static int cached = -1;
	int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
	if (v < 0) {
		unsigned a, b, c, d;
		bool ok = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSSE3) && (c & bit_SSE4_1);
		ok = ok && __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_SHA);
		v = ok;
		__atomic_store_n(&cached, v, __ATOMIC_RELAXED);
	}
	return v;
}

#else

bool coco_sha2x_available(void) { return false; }

#endif
/* nblocks blocks into one state / into both states. */
static void blocks1(uint32_t h[8], const unsigned char *p, size_t nblocks)
{
#ifdef SHA2X_X86
	if (!force_portable && coco_sha2x_available()) {
		blocks1_ni(h, p, nblocks);
		return;
	}
#endif
	for (; nblocks; nblocks--, p += 64)
		block_c(h, p);
}

static void blocks2(uint32_t h[2][8], const unsigned char *p, size_t nblocks)
{
#ifdef SHA2X_X86
	if (!force_portable && coco_sha2x_available()) {
		blocks2_ni(h, p, nblocks);
		return;
	}
#endif
	for (; nblocks; nblocks--, p += 64) {
		block_c(h[0], p);
		block_c(h[1], p);
	}
}

int coco_sha2x_init(coco_sha2x *x, const unsigned char *key, size_t keylen)
{
	unsigned char ipad[64];
	memset(x, 0, sizeof(*x));
	memset(ipad, 0, sizeof(ipad));
	/* RFC 2104: a key longer than the block is replaced by its hash */
	unsigned int hl = 0;
	if (keylen <= 64)
		memcpy(ipad, key, keylen);
	else if (!EVP_Digest(key, keylen, ipad, &hl, EVP_sha256(), NULL))
		return -1;
	for (size_t i = 0; i < 64; i++) {
		x->opad[i] = ipad[i] ^ 0x5c;
		ipad[i] ^= 0x36;
	}
	memcpy(x->h[0], sha256_iv, sizeof(sha256_iv));
	memcpy(x->h[1], sha256_iv, sizeof(sha256_iv));
	blocks1(x->h[0], ipad, 1);
	coco_wipe(ipad, sizeof(ipad));
	return 0;
}

void coco_sha2x_update(coco_sha2x *x, const unsigned char *b, size_t n)
{
	x->total += n;
	if (x->buflen) {
		size_t k = 64 - x->buflen < n ? 64 - x->buflen : n;
		memcpy(x->buf + x->buflen, b, k);
		x->buflen += k;
		b += k;
		n -= k;
		if (x->buflen < 64)
			return;
		blocks2(x->h, x->buf, 1);
		x->buflen = 0;
	}
	if (n >= 64)
		blocks2(x->h, b, n / 64);
	b += n - n % 64;
	memcpy(x->buf, b, n % 64);
	x->buflen = n % 64;
}

/* Pad the partial block for a message of `bytes` bytes into h; out gets
 * the digest. */
static void finish_one(uint32_t h[8], const unsigned char *tail, size_t tlen, uint64_t bytes,
                       unsigned char out[32])
{
	unsigned char pad[128];
	memset(pad, 0, sizeof(pad));
	memcpy(pad, tail, tlen);
	pad[tlen] = 0x80;
	size_t blocks = tlen + 9 > 64 ? 2 : 1;
	uint64_t bits = bytes * 8;
	for (int i = 0; i < 8; i++)
		pad[blocks * 64 - 1 - i] = (unsigned char)(bits >> (8 * i));
	blocks1(h, pad, blocks);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (unsigned char)(h[i] >> 24);
		out[4 * i + 1] = (unsigned char)(h[i] >> 16);
		out[4 * i + 2] = (unsigned char)(h[i] >> 8);
		out[4 * i + 3] = (unsigned char)h[i];
	}
	coco_wipe(pad, sizeof(pad));
}

int coco_sha2x_final(coco_sha2x *x, unsigned char hmac[32], unsigned char digest[32])
{
	unsigned char outer[96];
	finish_one(x->h[0], x->buf, x->buflen, 64 + x->total, outer + 64);
	finish_one(x->h[1], x->buf, x->buflen, x->total, digest);
	memcpy(outer, x->opad, 64);
	unsigned int len = 0;
	int ok = EVP_Digest(outer, sizeof(outer), hmac, &len, EVP_sha256(), NULL) && len == 32;
	coco_wipe(outer, sizeof(outer));
	coco_wipe(x, sizeof(*x));
	return ok ? 0 : -1;
}
