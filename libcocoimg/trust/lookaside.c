/*
 * Lookaside signature storage (containers-registries.d(5)):
 *   <base>/<repository path>@<algo>=<hex>/signature-<n>,  n = 1, 2, ...
 * The URLs are built here; the operation's fetcher (coco_sig_fetcher,
 * get_lookaside) reads them: file:// bases directly, http(s):// bases over
 * HTTP.  Reading ends at the first missing signature (missing file, 404).
 * At most 128 signatures of at most 4 MiB each, as containers/image.
 */
#include "policy.h"
#include "trust.h"
#include "../base.h"
#include "../caps.h"
#include "../digest.h"
#include "../ref.h"

#include <stdlib.h>
#include <string.h>

#define LOOKASIDE_MAX_SIGS 128

char *coco_lookaside_url(const char *base, const char *path, const char *digest, unsigned n)
{
	const char *colon = strchr(digest, ':');
	if (!colon)
		return NULL;
	return coco_asprintf("%s/%s@%.*s=%s/signature-%u", base, path, (int)(colon - digest),
	                     digest, colon + 1, n);
}

char *coco_lookaside_file_path(const char *url)
{
	if (strncmp(url, "file://", 7))
		return NULL;
	const char *p = url + 7;
	if (strncmp(p, "localhost/", 10) == 0)
		p += 9;
	if (*p != '/')
		return NULL;
	char *out = malloc(strlen(p) + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; p[i]; i++) {
		if (p[i] == '%' && p[i + 1] && p[i + 2]) {
			char hx[3] = { p[i + 1], p[i + 2], 0 };
			char *end;
			long v = strtol(hx, &end, 16);
			if (*end == 0 && v > 0) {
				out[o++] = (char)v;
				i += 2;
				continue;
			}
		}
		out[o++] = p[i];
	}
	out[o] = 0;
	return out;
}

/* The URL is built from the repository path and the digest: both must be
 * what their grammars allow (no "..", "%", or odd digest text), so that
 * nothing reaches outside <base> even if a caller passes a value that did
 * not come from a parsed reference or a computed digest.  The scheme must
 * be one the fetcher reads, and a file:// URL must name an absolute path. */
static int lookaside_args_ok(cocoimg_ctx *ctx, const char *base, const char *path,
                             const char *digest)
{
	coco_digest_alg alg;
	if (!digest || coco_digest_validate(digest, &alg))
		return coco_seterr(ctx, COCOIMG_ESIGLOOKUP, "signature lookup: invalid digest "
		                   "\"%.80s\"", digest ? digest : "");
	if (!path || !coco_ref_path_ok(path, strlen(path)))
		return coco_seterr(ctx, COCOIMG_ESIGLOOKUP, "signature lookup: invalid repository "
		                   "path \"%.200s\"", path ? path : "");
	bool is_file = !strncmp(base, "file://", 7);
	bool is_http = !strncmp(base, "http://", 7) || !strncmp(base, "https://", 8);
	if (!is_file && !is_http)
		return coco_seterr(ctx, COCOIMG_ESIGLOOKUP, "unsupported lookaside URL scheme in "
		                   "\"%s\"", base);
	if (!is_file)
		return 0;
	/* whether the path is absolute depends on base and the (grammatical)
	 * path only, so the first URL stands for all of them */
	char *url = coco_lookaside_url(base, path, digest, 1);
	if (!url)
		return coco_oom(ctx);
	char *fp = coco_lookaside_file_path(url);
	free(url);
	if (!fp)
		return coco_seterr(ctx, COCOIMG_ESIGLOOKUP, "invalid lookaside URL \"%s\"", base);
	free(fp);
	return 0;
}

int coco_lookaside_collect(cocoimg_ctx *ctx, const coco_sig_fetcher *f, const char *base,
                           const char *path, const char *digest, coco_trust_sigs *sigs)
{
	int rc = lookaside_args_ok(ctx, base, path, digest);
	if (rc || !f->get_lookaside)
		return rc;
	for (unsigned n = 1; n <= LOOKASIDE_MAX_SIGS; n++) {
		char *url = coco_lookaside_url(base, path, digest, n);
		if (!url)
			return coco_oom(ctx);
		coco_buf b = COCO_BUF_INIT;
		int got = f->get_lookaside(f->payload, ctx, url,
		                           coco_limit_size(ctx, COCO_LIM_SIGNATURE_SIZE), &b);
		if (got > 0)
			rc = coco_trust_sigs_add_blob(ctx, sigs, b.data, b.len, url);
		coco_buf_free(&b);
		free(url);
		if (got <= 0)
			return got;    /* the first missing one ends the list */
		if (rc)
			return rc;
	}
	return 0;
}
