/* Fuzz target: resource URIs (broker/resource_uri.c) in both modes, and
 * the normal form must parse again to itself. */
#include "base.h"
#include "broker/resource_uri.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = coco_strndup((const char *)data, size);
	if (!s)
		return 0;
	for (unsigned flags = 0; flags <= COCO_RURI_KID; flags++) {
		coco_ruri r;
		if (coco_ruri_parse(NULL, s, flags, &r) == 0) {
			char *again = coco_ruri_normalize(NULL, r.uri, 0);
			if (!again || strcmp(again, r.uri))
				abort();
			free(again);
			coco_ruri_clear(&r);
		}
	}
	(void)coco_ruri_is_uri(s);
	free(s);
	return 0;
}
