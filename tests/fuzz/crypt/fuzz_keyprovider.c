/* Fuzz target: keyprovider answers (broker/keyprovider.c): the JSON
 * response parser for both operations and the gRPC message decoder. */
#include "base.h"
#include "broker/keyprovider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cocoimg_ctx *ctx = NULL;
	if (cocoimg_ctx_new(&ctx))
		return 0;
	coco_buf out = COCO_BUF_INIT;
	coco_kp_parse_response(ctx, "fuzz", false, data, size, &out);
	out.len = 0;
	coco_kp_parse_response(ctx, "fuzz", true, data, size, &out);
	out.len = 0;
	const unsigned char *m;
	size_t ml;
	if (coco_grpc_frame_decode(data, size, &m, &ml) == 0 && m)
		coco_kp_parse_response(ctx, "fuzz", false, m, ml, &out);
	/* and framed, the way a gRPC answer arrives */
	coco_buf f = COCO_BUF_INIT;
	if (coco_grpc_frame_encode(data, size, &f) == 0 &&
	    coco_grpc_frame_decode(f.data, f.len, &m, &ml) == 0 && (ml != size || (size && !m)))
		__builtin_trap();
	coco_buf_free(&f);
	coco_buf_free(&out);
	cocoimg_ctx_free(ctx);
	return 0;
}
