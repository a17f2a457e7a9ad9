/*
 * Resource URIs: kbs:///REPO/TYPE/TAG and the forms CoCo tools write (see
 * resource_uri.h for what is accepted and why).
 */
#include "resource_uri.h"
#include "../base.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RURI_MAX 4096

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* RFC 3986 pchar without percent-encoding (nothing here decodes it). */
static bool seg_char(char c)
{
	return is_alnum(c) || (c && strchr("-._~:@!$&'()*+,;=", c));
}

/* Authority characters (userinfo, host, [IPv6], port). */
static bool host_char(char c)
{
	return is_alnum(c) || (c && strchr("-._~:@!$&'()*+,;=[]%", c));
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* The URI as quoted in messages: never control characters. */
static const char *shown(const char *s)
{
	return printable(s) ? s : "(a string with control characters)";
}

bool coco_ruri_is_uri(const char *s)
{
	return s && !strncasecmp(s, "kbs", 3) && (s[3] == ':' || s[3] == '+');
}

void coco_ruri_clear(coco_ruri *r)
{
	COCO_CLEAR_FIELDS(r, r->repo, r->type, r->tag, r->host, r->path, r->uri);
}

static int bad(cocoimg_ctx *ctx, const char *s, const char *why)
{
	return coco_seterr(ctx, COCOIMG_EINVAL, "resource URI \"%.300s\": %s", shown(s), why);
}

/* Split "R/T/G" (n bytes) into the three segments of out. */
static int split_path(cocoimg_ctx *ctx, const char *s, const char *p, size_t n, coco_ruri *out)
{
	char **dst[3] = { &out->repo, &out->type, &out->tag };
	size_t k = 0;
	const char *seg = p, *end = p + n;
	while (seg <= end) {
		const char *sl = memchr(seg, '/', (size_t)(end - seg));
		const char *se = sl ? sl : end;
		size_t len = (size_t)(se - seg);
		if (k == 3)
			return bad(ctx, s, "a resource is REPOSITORY/TYPE/TAG: more than three path "
			           "segments");
		if (!len)
			return bad(ctx, s, "empty path segment (expected kbs:///REPOSITORY/TYPE/TAG)");
		if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
			return bad(ctx, s, "\".\" and \"..\" are not resource path segments");
		for (size_t i = 0; i < len; i++)
			if (!seg_char(seg[i]))
				return bad(ctx, s, seg[i] == '%' ? "percent-encoding is not accepted" :
				           "a path segment holds a character outside RFC 3986 path "
				           "characters");
		if (!(*dst[k++] = coco_strndup(seg, len)))
			return coco_oom(ctx);
		seg = se + 1;
	}
	if (k != 3)
		return bad(ctx, s, "a resource is REPOSITORY/TYPE/TAG: fewer than three path "
		           "segments");
	return 0;
}

/* After "kbs://": HOST[:PORT] up to the first '/', then the path.  *p
 * receives where the path starts (after its '/'). */
static int parse_authority(cocoimg_ctx *ctx, const char *s, const char *a, coco_ruri *out,
                           const char **p)
{
	const char *sl = strchr(a, '/');
	if (!sl)
		return bad(ctx, s, "no resource path (expected kbs:///REPOSITORY/TYPE/TAG)");
	for (const char *c = a; c < sl; c++)
		if (!host_char(*c))
			return bad(ctx, s, "the KBS host part holds a character a URI host cannot");
	if (!(out->host = coco_strndup(a, (size_t)(sl - a))))
		return coco_oom(ctx);
	*p = sl + 1;
	return 0;
}

/* The scheme part: 0 with *rest after "kbs://", 1 for a bare path
 * (allowed with COCO_RURI_KID), or an error. */
static int parse_scheme(cocoimg_ctx *ctx, const char *s, unsigned flags, const char **rest)
{
	if (!strncasecmp(s, "kbs+", 4)) {
		const char *e = strchr(s, ':');
		return coco_seterr(ctx, COCOIMG_EINVAL, "resource URI \"%.300s\": %.*s:// names a KBS "
		                   "plugin; only the resource plugin (kbs:///REPOSITORY/TYPE/TAG) is "
		                   "supported", shown(s), e ? (int)(e - s) : 4, s);
	}
	if (!strncasecmp(s, "kbs:", 4)) {
		if (strncmp(s + 4, "//", 2))
			return bad(ctx, s, "expected kbs:///REPOSITORY/TYPE/TAG or "
			           "kbs://HOST:PORT/REPOSITORY/TYPE/TAG");
		*rest = s + 6;
		return 0;
	}
	if (!(flags & COCO_RURI_KID) || strstr(s, "://"))
		return bad(ctx, s, "not a KBS resource URI (expected kbs:///REPOSITORY/TYPE/TAG)");
	*rest = s;
	return 1;
}

int coco_ruri_parse(cocoimg_ctx *ctx, const char *s, unsigned flags, coco_ruri *out)
{
	memset(out, 0, sizeof(*out));
	if (!s || !*s)
		return coco_seterr(ctx, COCOIMG_EINVAL, "resource URI: empty");
	if (strlen(s) > RURI_MAX)
		return coco_seterr(ctx, COCOIMG_EINVAL, "resource URI: longer than %d bytes", RURI_MAX);
	if (!printable(s) || strchr(s, ' '))
		return bad(ctx, s, "contains spaces or control characters");
	if (strpbrk(s, "?#"))
		return bad(ctx, s, "query strings and fragments are not supported");
	const char *rest = NULL, *path = NULL;
	int rc = parse_scheme(ctx, s, flags, &rest);
	if (rc < 0)
		return rc;
	if (rc == 0)
		rc = parse_authority(ctx, s, rest, out, &path);
	else
		rc = 0, path = rest[0] == '/' ? rest + 1 : rest;
	if (!rc)
		rc = split_path(ctx, s, path, strlen(path), out);
	if (!rc && (!(out->path = coco_asprintf("%s/%s/%s", out->repo, out->type, out->tag)) ||
	            !(out->uri = coco_asprintf("kbs:///%s", out->path))))
		rc = coco_oom(ctx);
	if (rc)
		coco_ruri_clear(out);
	return rc;
}

char *coco_ruri_normalize(cocoimg_ctx *ctx, const char *s, unsigned flags)
{
	coco_ruri r;
	if (coco_ruri_parse(ctx, s, flags, &r))
		return NULL;
	char *u = r.uri;
	r.uri = NULL;
	coco_ruri_clear(&r);
	return u;
}
