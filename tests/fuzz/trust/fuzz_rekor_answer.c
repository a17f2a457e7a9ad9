/* Fuzz the parser of a Rekor v1 log's answer to POST /api/v1/log/entries
 * (what `sign --rekor-url` reads from the network) and what is made of a
 * parsed entry: the bundle's tlog entry, cosign's bundle annotation, and
 * the signer-side checks against a signature it cannot log. */
#include "base.h"
#include "json.h"
#include "trust/rekor_entry.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cocoimg_ctx *ctx;
	if (cocoimg_ctx_new(&ctx))
		return 0;
	coco_rekor_logentry e;
	if (coco_rekor_logentry_parse(ctx, data, size, &e) == 0) {
		if (!e.kind || !e.version || !e.checkpoint || e.proof_index >= e.tree_size)
			abort();
		json_t *t = coco_rekor_logentry_tlog_json(&e);
		char *s = t ? coco_json_dump(t) : NULL;
		char *b = coco_rekor_logentry_cosign_bundle(&e);
		free(s);
		free(b);
		json_decref(t);
		static const unsigned char sig[] = "not a logged signature";
		unsigned char digest[32] = { 0 };
		coco_sig_content c = { .sig = sig, .sig_len = sizeof(sig), .digest_alg = "sha256",
		                       .digest = digest, .digest_len = 32, .signer_der = sig,
		                       .signer_der_len = sizeof(sig) };
		if (coco_rekor_logentry_check(ctx, &e, &c) == 0)
			abort(); /* no log holds this signature */
	}
	coco_rekor_logentry_clear(&e);
	cocoimg_ctx_free(ctx);
	return 0;
}
