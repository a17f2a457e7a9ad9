/*
 * Lookaside signature storage (containers-registries.d(5)):
 *   <base>/<repository path>@<algo>=<hex>/signature-<n>,  n = 1, 2, ...
 * file:// bases are read directly and end at the first missing file;
 * http(s):// bases are read through coco_http_get and end at the first
 * 404 (any other non-200 status is a failed lookup).  At most 128
 * signatures of at most 4 MiB each, as containers/image.
 */
#include "policy.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOOKASIDE_MAX_SIGS 128
#define LOOKASIDE_MAX_SIZE (4 * 1024 * 1024)

char *coco_lookaside_url(const char *base, const char *path, const char *digest, unsigned n)
{
	const char *colon = strchr(digest, ':');
	if (!colon)
		return NULL;
	return coco_asprintf("%s/%s@%.*s=%s/signature-%u", base, path, (int)(colon - digest),
	                     digest, colon + 1, n);
}

/* Percent-decode the path of a file:// URL. */
static char *file_url_path(const char *url)
{
	const char *p = url + 7;   /* after "file://" */
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

/* 1 read, 0 missing, <0 error (message set). */
static int read_local(cocoimg_ctx *ctx, const char *path, coco_buf *out)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return coco_seterr(ctx, COCOIMG_ESIGLOOKUP, "cannot read signature %s: %s", path,
		                   strerror(errno));
	}
	if (st.st_size > LOOKASIDE_MAX_SIZE)
		return coco_seterr(ctx, COCOIMG_ESIGLOOKUP, "signature %s is too large", path);
	int rc = coco_read_file(ctx, path, LOOKASIDE_MAX_SIZE, out, COCOIMG_ESIGLOOKUP);
	if (rc)
		return coco_preferr(ctx, COCOIMG_ESIGLOOKUP, "signature lookup");
	return 1;
}

int coco_lookaside_fetch(cocoimg_ctx *ctx, const char *base, const char *path,
                         const char *digest, coco_trust_sigs *sigs)
{
	/* The URL is built from the repository path and the digest: both must
	 * be what their grammars allow (no "..", "%", or odd digest text), so
	 * that nothing reaches outside <base> even if a caller passes a value
	 * that did not come from a parsed reference or a computed digest. */
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
	for (unsigned n = 1; n <= LOOKASIDE_MAX_SIGS; n++) {
		char *url = coco_lookaside_url(base, path, digest, n);
		if (!url)
			return coco_seterr(ctx, COCOIMG_ESIGLOOKUP, "invalid digest \"%s\"", digest);
		coco_buf b = COCO_BUF_INIT;
		int got;
		if (is_file) {
			char *fp = file_url_path(url);
			if (!fp) {
				free(url);
				return coco_seterr(ctx, COCOIMG_ESIGLOOKUP, "invalid lookaside URL "
				                   "\"%s\"", base);
			}
			got = read_local(ctx, fp, &b);
			free(fp);
		} else {
			long status = 0;
			int rc = coco_http_get(ctx, url, LOOKASIDE_MAX_SIZE, &b, &status);
			if (rc) {
				coco_buf_free(&b);
				coco_preferr(ctx, COCOIMG_ESIGLOOKUP, "reading signature %s", url);
				free(url);
				return COCOIMG_ESIGLOOKUP;
			}
			if (status == 404)
				got = 0;
			else if (status == 200)
				got = 1;
			else
				got = coco_seterr(ctx, COCOIMG_ESIGLOOKUP, "reading signature %s: HTTP "
				                  "status %ld", url, status);
		}
		if (got <= 0) {
			coco_buf_free(&b);
			free(url);
			return got;
		}
		int rc = coco_trust_sigs_add_blob(ctx, sigs, b.data, b.len, url);
		coco_buf_free(&b);
		free(url);
		if (rc)
			return rc;
	}
	return 0;
}
