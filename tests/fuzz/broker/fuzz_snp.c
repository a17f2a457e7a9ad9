/* Fuzz target: SEV-SNP evidence (broker/snp.c): the first 1184 bytes are
 * the attestation report, the rest the certificate table; whatever is
 * accepted must be valid JSON. */
#include "base.h"
#include "broker/snp.h"

#include <jansson.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t rl = size < COCO_SNP_REPORT_LEN ? size : COCO_SNP_REPORT_LEN;
	coco_buf out = COCO_BUF_INIT;
	if (coco_snp_evidence(NULL, data, rl, data + rl, size - rl, &out) == 0) {
		json_t *j = json_loadb((const char *)out.data, out.len, JSON_DECODE_INT_AS_REAL, NULL);
		if (!j)
			abort();
		json_decref(j);
	}
	coco_buf_free(&out);
	return 0;
}
