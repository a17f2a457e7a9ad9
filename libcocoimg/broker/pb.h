/*
 * libcocoimg broker/: the few protobuf wire format pieces the clients of
 * the broker need (ttrpc.c, cdh.c, aa.c for ttrpc messages, keyprovider.c
 * for the gRPC keyprovider message): varints and length-delimited fields,
 * hand-written and bounded.  Not installed.  Depends on the base layer
 * only.
 */
#ifndef COCO_BROKER_PB_H
#define COCO_BROKER_PB_H

#include "../base.h"

/* Append a varint / a length-delimited field (wire type 2) / a varint
 * field (wire type 0).  0 or COCOIMG_ENOMEM. */
int coco_pb_put_varint(coco_buf *b, uint64_t v);
int coco_pb_put_bytes(coco_buf *b, unsigned field, const void *data, size_t len);
int coco_pb_put_uint(coco_buf *b, unsigned field, uint64_t v);

/* A reader over one message. */
typedef struct coco_pb_reader {
	const unsigned char *p;
	size_t len;
	size_t off;
} coco_pb_reader;

/* One field: its number and wire type; varint value (wire types 0, 1, 5
 * give the value read) or the bytes of a length-delimited field (pointing
 * into the message). */
typedef struct coco_pb_field {
	unsigned num;
	unsigned wire;
	uint64_t v;
	const unsigned char *data;
	size_t len;
} coco_pb_field;

/* Next field: 1 with *f set, 0 at the end, -1 when malformed (truncated
 * varint or field, field number 0, wire types 3/4 (groups), 6, 7). */
int coco_pb_next(coco_pb_reader *r, coco_pb_field *f);

/*
 * The single length-delimited field `field` of msg (the last one when
 * repeated, as protobuf merges scalars); absent: *data NULL, *len 0.
 * 0, or COCOIMG_EBADIMAGE (no message) when msg is malformed or the field
 * has another wire type.
 */
int coco_pb_get_bytes(const unsigned char *msg, size_t len, unsigned field,
                      const unsigned char **data, size_t *dlen);

#endif
