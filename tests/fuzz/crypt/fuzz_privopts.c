/* Fuzz target: the layer option parsers (crypt/layercipher.c): private
 * options JSON, public options (as the base64 annotation value), and a
 * short decrypt through the layer stage when both parse. */
#include "base.h"
#include "crypt/crypt.h"
#include "stream.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cocoimg_ctx *ctx = NULL;
	if (cocoimg_ctx_new(&ctx))
		return 0;
	coco_layer_opts o;
	memset(&o, 0, sizeof(o));
	int rc = coco_privopts_parse(ctx, data, size, "fuzz", &o);
	char *b64 = coco_b64_encode(data, size);
	coco_layer_opts p;
	memset(&p, 0, sizeof(p));
	if (b64)
		coco_pubopts_parse(ctx, b64, "fuzz", &p);
	if (!rc && o.have_nonce) {
		coco_buf out = COCO_BUF_INIT;
		coco_stage *sink = NULL, *dec = NULL;
		o.have_hmac = true;
		if (!coco_buf_stage_new(ctx, &out, 1 << 16, COCOIMG_EIO, &sink)) {
			if (!coco_layer_decrypt_stage_new(ctx, &o, "fuzz", sink, &dec)) {
				coco_stage_pump_mem(dec, data, size);
				coco_stage_chain_free(dec);
			} else {
				coco_stage_chain_free(sink);
			}
		}
		coco_buf_free(&out);
		coco_buf enc = COCO_BUF_INIT;
		coco_privopts_encode(&o, &enc);
		coco_buf_wipe_free(&enc);
	}
	free(b64);
	coco_layer_opts_clear(&o);
	coco_layer_opts_clear(&p);
	cocoimg_ctx_free(ctx);
	return 0;
}
