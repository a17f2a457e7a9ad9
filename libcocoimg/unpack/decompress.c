/*
 * Pull-style decompression of layer blobs: gzip (ISA-L igzip when built
 * with HAVE_ISAL, zlib otherwise), zstd (ZSTD_decompressStream) or none.
 *
 * The decoder is chosen from the media type, never sniffed.  gzip layers
 * may hold several members (image-rs and Go accept that) and may be
 * followed by NUL padding; anything else after the last member starts a
 * new member or is an error.  zstd handles several frames and skippable
 * frames itself.  Input is always read to its end so that the verify and
 * HMAC checks of the producer side have seen every byte.
 */
#include "unpack.h"
#include "../base.h"
#include "../oci/oci.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#if HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

struct coco_decomp {
	cocoimg_ctx *ctx;
	coco_compression comp;
	coco_pull_fn pull;
	void *payload;
	char *what;
	const unsigned char *in;   /* borrowed input chunk */
	size_t in_len;
	bool in_eof;
	bool member_done;          /* gzip: between members */
	bool started;              /* gzip: at least one member began */
	bool done;
	uint64_t nsec;
	uint64_t in_total;
#if HAVE_ISAL
	struct inflate_state *isal;
#else
	z_stream zs;
	bool zs_init;
#endif
	ZSTD_DStream *zstd;
	size_t zstd_last;          /* last ZSTD_decompressStream result */
};

static int bad(coco_decomp *d, const char *detail)
{
	return coco_seterr(d->ctx, COCOIMG_EBADIMAGE, "%s: %s", d->what, detail);
}

/* Step past n bytes of the borrowed input chunk.  At end of input the
 * chunk pointer is NULL, and even adding 0 to a null pointer is undefined,
 * so nothing is done when no byte was used. */
static void consume(coco_decomp *d, size_t n)
{
	if (!n)
		return;
	d->in += n;
	d->in_len -= n;
}

/* Make sure some input is available; returns 1 if there is, 0 at EOF,
 * negative on a pull error. */
static int fill(coco_decomp *d)
{
	while (!d->in_len && !d->in_eof) {
		ssize_t n = d->pull(d->payload, &d->in);
		if (n < 0)
			return (int)n;
		if (n == 0) {
			d->in_eof = true;
			d->in = NULL;
		} else {
			d->in_len = (size_t)n;
			d->in_total += (uint64_t)n;
		}
	}
	return d->in_len ? 1 : 0;
}

int coco_decomp_new(cocoimg_ctx *ctx, coco_compression comp, coco_pull_fn pull, void *payload,
                    const char *what, coco_decomp **out)
{
	if (comp != COCO_COMP_NONE && comp != COCO_COMP_GZIP && comp != COCO_COMP_ZSTD)
		return coco_seterr(ctx, COCOIMG_EUNSUPPORTED, "%s: unsupported compression",
		                   what ? what : "layer");
	coco_decomp *d = calloc(1, sizeof(*d));
	if (!d)
		return COCOIMG_ENOMEM;
	d->ctx = ctx;
	d->comp = comp;
	d->pull = pull;
	d->payload = payload;
	d->what = coco_strdup(what ? what : "layer");
	if (!d->what)
		goto nomem;
	if (comp == COCO_COMP_GZIP) {
#if HAVE_ISAL
		d->isal = malloc(sizeof(*d->isal));
		if (!d->isal)
			goto nomem;
		isal_inflate_init(d->isal);
		d->isal->crc_flag = ISAL_GZIP;
#else
		if (inflateInit2(&d->zs, 16 + MAX_WBITS) != Z_OK)
			goto nomem;
		d->zs_init = true;
#endif
	} else if (comp == COCO_COMP_ZSTD) {
		d->zstd = ZSTD_createDStream();
		if (!d->zstd)
			goto nomem;
		ZSTD_initDStream(d->zstd);
	}
	*out = d;
	return 0;
nomem:
	coco_decomp_free(d);
	return coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory");
}

void coco_decomp_free(coco_decomp *d)
{
	if (!d)
		return;
#if HAVE_ISAL
	free(d->isal);
#else
	if (d->zs_init)
		inflateEnd(&d->zs);
#endif
	if (d->zstd)
		ZSTD_freeDStream(d->zstd);
	free(d->what);
	free(d);
}

uint64_t coco_decomp_nsec(const coco_decomp *d) { return d->nsec; }
uint64_t coco_decomp_in_bytes(const coco_decomp *d) { return d->in_total; }

/* gzip: between members skip NUL padding; returns 1 when a new member
 * begins, 0 at clean end, <0 on error. */
static int gzip_next_member(coco_decomp *d)
{
	for (;;) {
		int r = fill(d);
		if (r < 0)
			return r;
		if (r == 0)
			return 0;
		size_t i = 0;
		while (i < d->in_len && d->in[i] == 0)
			i++;
		consume(d, i);
		if (d->in_len)
			break;
	}
#if HAVE_ISAL
	isal_inflate_reset(d->isal);
	d->isal->crc_flag = ISAL_GZIP;
#else
	inflateReset(&d->zs);
#endif
	d->member_done = false;
	return 1;
}

static ssize_t read_gzip(coco_decomp *d, unsigned char *buf, size_t cap)
{
	size_t produced = 0;
	if (cap > UINT32_MAX)
		cap = UINT32_MAX;
	while (produced == 0) {
		if (d->member_done || !d->started) {
			int r = gzip_next_member(d);
			if (r < 0)
				return r;
			if (r == 0) {
				if (!d->started)
					return bad(d, "empty gzip stream");
				d->done = true;
				return 0;
			}
			d->started = true;
		}
		int r = fill(d);
		if (r < 0)
			return r;
		uint64_t t0 = coco_now_ns();
#if HAVE_ISAL
		struct inflate_state *s = d->isal;
		s->next_in = (uint8_t *)d->in;
		s->avail_in = (uint32_t)(d->in_len > UINT32_MAX ? UINT32_MAX : d->in_len);
		uint32_t given = s->avail_in;
		s->next_out = buf + produced;
		s->avail_out = (uint32_t)(cap - produced);
		uint32_t room = s->avail_out;
		int ir = isal_inflate(s);
		d->nsec += coco_now_ns() - t0;
		size_t used = given - s->avail_in;
		consume(d, used);
		produced += room - s->avail_out;
		if (ir < 0) {
			const char *why = ir == ISAL_INCORRECT_CHECKSUM ? "gzip checksum mismatch"
			                  : ir == ISAL_INVALID_WRAPPER ? "not a gzip stream"
			                                               : "corrupt deflate data";
			return bad(d, why);
		}
		if (s->block_state == ISAL_BLOCK_FINISH) {
			d->member_done = true;
			continue;
		}
		if (r == 0 && room == s->avail_out && used == 0)
			return bad(d, "gzip stream ends early");
#else
		d->zs.next_in = (Bytef *)d->in;
		d->zs.avail_in = (uInt)(d->in_len > UINT32_MAX ? UINT32_MAX : d->in_len);
		uInt given = d->zs.avail_in;
		d->zs.next_out = buf + produced;
		d->zs.avail_out = (uInt)(cap - produced);
		uInt room = d->zs.avail_out;
		int zr = inflate(&d->zs, Z_NO_FLUSH);
		d->nsec += coco_now_ns() - t0;
		size_t used = given - d->zs.avail_in;
		consume(d, used);
		produced += room - d->zs.avail_out;
		if (zr == Z_STREAM_END) {
			d->member_done = true;
			continue;
		}
		if (zr == Z_BUF_ERROR && r == 0)
			return bad(d, "gzip stream ends early");
		if (zr != Z_OK && zr != Z_BUF_ERROR)
			return bad(d, zr == Z_DATA_ERROR ? "corrupt gzip data" : "gzip error");
#endif
	}
	return (ssize_t)produced;
}

static ssize_t read_zstd(coco_decomp *d, unsigned char *buf, size_t cap)
{
	ZSTD_outBuffer ob = { buf, cap, 0 };
	while (ob.pos == 0) {
		int r = fill(d);
		if (r < 0)
			return r;
		if (r == 0 && d->zstd_last == 0 && d->started) {
			/* input ended right at a frame boundary */
			d->done = true;
			return 0;
		}
		ZSTD_inBuffer ib = { d->in, d->in_len, 0 };
		uint64_t t0 = coco_now_ns();
		size_t zr = ZSTD_decompressStream(d->zstd, &ob, &ib);
		d->nsec += coco_now_ns() - t0;
		consume(d, ib.pos);
		if (ZSTD_isError(zr))
			return coco_seterr(d->ctx, COCOIMG_EBADIMAGE, "%s: zstd: %s", d->what,
			                   ZSTD_getErrorName(zr));
		d->started = true;
		d->zstd_last = zr;
		if (r == 0 && ob.pos == 0) {
			if (zr != 0)
				return bad(d, "zstd stream ends early");
			d->done = true;
			return 0;
		}
	}
	return (ssize_t)ob.pos;
}

static ssize_t read_none(coco_decomp *d, unsigned char *buf, size_t cap)
{
	int r = fill(d);
	if (r <= 0) {
		if (r == 0)
			d->done = true;
		return r;
	}
	size_t k = d->in_len < cap ? d->in_len : cap;
	memcpy(buf, d->in, k);
	consume(d, k);
	return (ssize_t)k;
}

ssize_t coco_decomp_read(coco_decomp *d, unsigned char *buf, size_t cap)
{
	if (d->done || cap == 0)
		return 0;
	switch (d->comp) {
	case COCO_COMP_GZIP: return read_gzip(d, buf, cap);
	case COCO_COMP_ZSTD: return read_zstd(d, buf, cap);
	default: return read_none(d, buf, cap);
	}
}
