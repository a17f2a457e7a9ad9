/* Fuzz target: WWW-Authenticate header parsing (challenges, quoted
 * strings, escapes) and challenge selection. */
#include "registry/registry.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 16384)
		return 0;
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	coco_challenge *ch = NULL;
	size_t n = 0;
	/* a header value may hold several challenges; parse it, and each
	 * NUL-separated piece as another header of the same response */
	for (const char *p = s; p < s + size + 1; p += strlen(p) + 1)
		if (coco_www_auth_parse(p, &ch, &n))
			break;
	const coco_challenge *c = coco_challenge_pick(ch, n);
	if (c && c->scheme != COCO_AUTH_BEARER && c->scheme != COCO_AUTH_BASIC)
		abort();
	for (size_t i = 0; i < n; i++)
		if (ch[i].realm && strlen(ch[i].realm) > size)
			abort();
	coco_challenges_free(ch, n);
	free(s);
	return 0;
}
