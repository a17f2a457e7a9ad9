/* Fuzz target: what a KBS sends (broker/kbs.c): the Challenge, the
 * attestation answer (token) and the resource Response parsers; and the
 * RFC 8785 writer, whose output must read back as the same JSON. */
#include "base.h"
#include "broker/kbs.h"
#include "json.h"

#include <stdlib.h>

static void jcs_roundtrip(const uint8_t *data, size_t size)
{
	json_error_t e;
	json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY, &e);
	coco_buf out = COCO_BUF_INIT;
	if (v && coco_jcs_append(v, &out) == 0) {
		json_t *back = json_loadb((const char *)out.data, out.len, JSON_DECODE_ANY, &e);
		if (!back || !json_equal(v, back))
			__builtin_trap();
		json_decref(back);
	}
	coco_buf_free(&out);
	json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cocoimg_ctx *ctx = NULL;
	if (cocoimg_ctx_new(&ctx))
		return 0;
	char *nonce = NULL, *token = NULL;
	const char *hash = NULL;
	char alg[32];
	if (coco_kbs_parse_challenge(ctx, data, size, &nonce, &hash) == 0 && (!nonce || !hash))
		__builtin_trap();
	free(nonce);
	if (coco_kbs_parse_token(ctx, data, size, &token) == 0 && !token)
		__builtin_trap();
	free(token);
	coco_kbs_parse_response(ctx, data, size, alg);
	jcs_roundtrip(data, size);
	cocoimg_ctx_free(ctx);
	return 0;
}
