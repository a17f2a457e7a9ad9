/* Fuzz target: referrers lists (the referrers API's / a referrers tag's
 * image index) and the referrers of an OCI layout's index.json.  Input:
 * LIST [0x00 MANIFEST]: LIST is parsed as a referrers list and as
 * index.json; every manifest the layout scan reads is MANIFEST. */
#include "base.h"
#include "digest.h"
#include "oci/oci.h"
#include "oci/referrers.h"

#include <stdlib.h>
#include <string.h>

typedef struct part {
	const uint8_t *p;
	size_t n;
} part;

static int read_part(void *arg, const coco_desc *d, coco_buf *out)
{
	(void)d;
	const part *m = arg;
	return coco_buf_append(out, m->p, m->n) ? COCOIMG_ENOMEM : 0;
}

static void check_list(const coco_referrers *r)
{
	coco_digest_alg alg;
	if (r->n > COCO_REFERRERS_MAX)
		abort();
	for (size_t i = 0; i < r->n; i++) {
		if (coco_digest_validate(r->v[i].digest, &alg) || !r->v[i].media_type || r->v[i].size < 0)
			abort();
		for (size_t k = 0; k < i; k++)
			if (!strcmp(r->v[i].digest, r->v[k].digest))
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cocoimg_ctx *ctx;
	if (cocoimg_ctx_new(&ctx))
		return 0;
	const uint8_t *z = memchr(data, 0, size);
	part list = { data, z ? (size_t)(z - data) : size };
	part man = { z ? z + 1 : data, z ? size - list.n - 1 : 0 };
	const char *filter = size % 2 ? "application/vnd.dev.sigstore.bundle.v0.3+json" : NULL;
	coco_referrers r = { 0 };
	coco_referrers_parse(ctx, list.p, list.n, filter, "fuzz", &r);
	check_list(&r);
	coco_referrers_clear(&r);
	coco_manifest *ix = NULL;
	if (!coco_manifest_parse(ctx, list.p, list.n, COCO_MT_OCI_INDEX, &ix)) {
		const char *subject = ix->n_manifests ? ix->manifests[0].digest
		                                      : "sha256:0000000000000000000000000000000000000000000000000000000000000000";
		coco_referrers_from_layout(ctx, ix, subject, filter, read_part, &man, &r);
		check_list(&r);
		coco_referrers_clear(&r);
		coco_manifest_free(ix);
	}
	/* The tag helper takes a C string: give it a terminated copy of LIST. */
	char *s = malloc(list.n + 1);
	if (s) {
		memcpy(s, list.p, list.n);
		s[list.n] = 0;
		free(coco_referrers_tag(s));
		free(s);
	}
	cocoimg_ctx_free(ctx);
	return 0;
}
