/* Fuzz target: CoCo annotation packets (crypt/coco.c): the JSON packet
 * parser, kid -> resource path, and opening through the local path with a
 * resolver that always answers (so the AES-GCM/CTR code runs too). */
#include "base.h"
#include "crypt/coco.h"
#include "crypt/crypt.h"

#include <stdlib.h>
#include <string.h>

static int resolver(const char *kid, unsigned char *key, size_t *key_len, void *payload)
{
	(void)payload;
	size_t n = strlen(kid);
	/* a key derived from the kid; occasionally a wrong size */
	size_t want = (n % 7 == 0) ? 16 : 32;
	if (*key_len < want)
		return COCOIMG_ENOKEY;
	for (size_t i = 0; i < want; i++)
		key[i] = (unsigned char)(0x40 + i);
	*key_len = want;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	coco_packet p;
	if (coco_packet_parse(NULL, data, size, &p) == 0) {
		char *path = coco_kid_resource_path(p.kid, false);
		free(path);
		path = coco_kid_resource_path(p.kid, true);
		free(path);
		coco_packet_clear(&p);
	}
	/* the same bytes as one annotation element, and a list of two */
	cocoimg_ctx *ctx = NULL;
	cocoimg_keyring *kr = NULL;
	if (cocoimg_ctx_new(&ctx) || cocoimg_keyring_new(&kr))
		goto out;
	cocoimg_keyring_set_resolver(kr, resolver, NULL);
	char *b = coco_b64_encode(data, size);
	if (b) {
		char *two = coco_asprintf("%s,%s", b, b);
		coco_buf opts = COCO_BUF_INIT, tried = COCO_BUF_INIT;
		coco_packet_unwrap_local(ctx, kr, b, &opts, &tried);
		opts.len = 0;
		if (two)
			coco_kw_coco.unwrap(ctx, kr, COCO_AA_ANNOTATION, two, &opts, &tried);
		coco_buf_free(&opts);
		coco_buf_free(&tried);
		free(two);
		free(b);
	}
out:
	cocoimg_keyring_free(kr);
	cocoimg_ctx_free(ctx);
	return 0;
}
