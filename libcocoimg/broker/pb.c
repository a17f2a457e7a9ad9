/*
 * libcocoimg broker/: the protobuf wire format pieces the broker's clients
 * need (see pb.h).
 */
#include "pb.h"

#include <string.h>

int coco_pb_put_varint(coco_buf *b, uint64_t v)
{
	unsigned char tmp[10];
	size_t n = 0;
	do {
		tmp[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v)
			tmp[n] |= 0x80;
		n++;
	} while (v);
	return coco_buf_append(b, tmp, n) ? COCOIMG_ENOMEM : 0;
}

int coco_pb_put_bytes(coco_buf *b, unsigned field, const void *data, size_t len)
{
	if (coco_pb_put_varint(b, ((uint64_t)field << 3) | 2) || coco_pb_put_varint(b, len) ||
	    (len && coco_buf_append(b, data, len)))
		return COCOIMG_ENOMEM;
	return 0;
}

int coco_pb_put_uint(coco_buf *b, unsigned field, uint64_t v)
{
	if (coco_pb_put_varint(b, (uint64_t)field << 3) || coco_pb_put_varint(b, v))
		return COCOIMG_ENOMEM;
	return 0;
}

/* A varint at r's offset: 0 or -1 (truncated, longer than 10 bytes). */
static int pb_varint(coco_pb_reader *r, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; shift < 70; shift += 7) {
		if (r->off >= r->len)
			return -1;
		unsigned char c = r->p[r->off++];
		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return 0;
	}
	return -1;
}

/* Skip n bytes into f (fixed-width and length-delimited values). */
static int pb_take(coco_pb_reader *r, size_t n, coco_pb_field *f)
{
	if (n > r->len - r->off)
		return -1;
	f->data = r->p + r->off;
	f->len = n;
	r->off += n;
	return 1;
}

static uint64_t pb_le(const unsigned char *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = n; i > 0; i--)
		v = (v << 8) | p[i - 1];
	return v;
}

int coco_pb_next(coco_pb_reader *r, coco_pb_field *f)
{
	memset(f, 0, sizeof(*f));
	if (r->off >= r->len)
		return 0;
	uint64_t key;
	if (pb_varint(r, &key) || (key >> 3) == 0 || (key >> 3) > 0x1fffffff)
		return -1;
	f->num = (unsigned)(key >> 3);
	f->wire = (unsigned)(key & 7);
	switch (f->wire) {
	case 0:
		return pb_varint(r, &f->v) ? -1 : 1;
	case 1:
	case 5: {
		size_t n = f->wire == 1 ? 8 : 4;
		if (pb_take(r, n, f) < 0)
			return -1;
		f->v = pb_le(f->data, n);
		return 1;
	}
	case 2: {
		uint64_t n;
		if (pb_varint(r, &n) || n > r->len - r->off)
			return -1;
		return pb_take(r, (size_t)n, f);
	}
	default:
		return -1;
	}
}

int coco_pb_get_bytes(const unsigned char *msg, size_t len, unsigned field,
                      const unsigned char **data, size_t *dlen)
{
	coco_pb_reader r = { msg, len, 0 };
	coco_pb_field f;
	int got;
	*data = NULL;
	*dlen = 0;
	while ((got = coco_pb_next(&r, &f)) > 0) {
		if (f.num != field)
			continue;
		if (f.wire != 2)
			return COCOIMG_EBADIMAGE;
		*data = f.data;
		*dlen = f.len;
	}
	return got < 0 ? COCOIMG_EBADIMAGE : 0;
}
