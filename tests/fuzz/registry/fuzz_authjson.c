/* Fuzz target: auth.json / config.json / .dockercfg credential lookup.
 * The first input line is "HOST PATH" to look up, the rest the file. */
#include "base.h"
#include "registry/registry.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	const uint8_t *nl = memchr(data, '\n', size);
	size_t hlen = nl ? (size_t)(nl - data) : 0;
	char *head = malloc(hlen + 1);
	if (!head)
		return 0;
	memcpy(head, data, hlen);
	head[hlen] = 0;
	char *sp = strchr(head, ' ');
	const char *host = head[0] ? head : "h";
	const char *path = "a/b";
	if (sp) {
		*sp = 0;
		path = sp + 1;
	}
	const char *json = nl ? (const char *)nl + 1 : (const char *)data;
	size_t jlen = nl ? size - hlen - 1 : size;
	cocoimg_ctx *ctx;
	if (cocoimg_ctx_new(&ctx)) {
		free(head);
		return 0;
	}
	for (int legacy = 0; legacy < 2; legacy++) {
		coco_creds cr;
		memset(&cr, 0, sizeof(cr));
		int rc = coco_authjson_lookup(ctx, json, jlen, "fuzz.json", legacy, host, path, &cr);
		if (rc == 1 && !cr.user && !cr.identity_token)
			abort();
		if (rc != 1 && (cr.user || cr.pass))
			abort();
		coco_creds_clear(&cr);
	}
	cocoimg_ctx_free(ctx);
	free(head);
	return 0;
}
