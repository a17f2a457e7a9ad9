/* Fuzz target: ttrpc frames as a peer sends them (broker/ttrpc.c): frame
 * headers, Response messages (status, payload), the payload's bytes
 * field 1 (CDH and AA answers), and a protobuf walk of every field; a
 * request built from the input must parse back to its own header. */
#include "base.h"
#include "broker/ttrpc.h"

#include <stdlib.h>
#include <string.h>

static void walk(const unsigned char *p, size_t n, int depth)
{
	coco_pb_reader r = { p, n, 0 };
	coco_pb_field f;
	while (coco_pb_next(&r, &f) > 0) {
		if (f.wire == 2 && (f.data < p || f.data + f.len > p + n))
			abort();
		if (f.wire == 2 && depth < 3)
			walk(f.data, f.len, depth + 1);
	}
}

static void frame(const unsigned char *data, size_t size)
{
	uint32_t len, stream;
	uint8_t type, flags;
	if (coco_ttrpc_header_parse(data, &len, &stream, &type, &flags))
		return;
	const unsigned char *body = data + COCO_TTRPC_HEADER;
	size_t n = size - COCO_TTRPC_HEADER;
	if (len < n)
		n = len;
	coco_ttrpc_response r;
	if (coco_ttrpc_response_decode(body, n, &r) == 0 && r.payload) {
		const unsigned char *v;
		size_t vl;
		if (coco_pb_get_bytes(r.payload, r.payload_len, 1, &v, &vl) == 0 && v &&
		    (v < r.payload || v + vl > r.payload + r.payload_len))
			abort();
	}
	walk(body, n, 0);
}

static void roundtrip(const unsigned char *data, size_t size)
{
	char svc[32] = "", mth[32] = "";
	size_t k = size < 31 ? size : 31;
	memcpy(svc, data, k);
	svc[strnlen(svc, k)] = 0;
	coco_buf out = COCO_BUF_INIT;
	if (coco_ttrpc_request_encode(1, svc, mth, data, size, size, &out) == 0) {
		uint32_t len, stream;
		uint8_t type, flags;
		if (coco_ttrpc_header_parse(out.data, &len, &stream, &type, &flags) ||
		    len != out.len - COCO_TTRPC_HEADER || stream != 1 || type != COCO_TTRPC_REQUEST)
			abort();
		walk(out.data + COCO_TTRPC_HEADER, len, 0);
	}
	coco_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= COCO_TTRPC_HEADER)
		frame(data, size);
	walk(data, size, 0);
	roundtrip(data, size);
	return 0;
}
