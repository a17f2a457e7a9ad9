/*
 * Docker references for the policy engine, parsed exactly as the Go
 * docker/reference package vendored by containers/image does
 * (ParseNormalizedNamed / ParseNamed), and the scope namespace list of
 * the docker transport (policyconfiguration.DockerReferenceNamespaces).
 *
 * This is a separate, self-contained parser (not coco_dref_parse) on
 * purpose: identity rules need Go's exact notion of "name only" vs
 * tagged vs digested, and it keeps trust/ testable and fuzzable alone.
 */
#include "policy.h"

#include <ctype.h>
#include <string.h>

#define NAME_MAX_TOTAL 255

void coco_tref_clear(coco_tref *r)
{
	if (!r)
		return;
	free(r->domain);
	free(r->path);
	free(r->tag);
	free(r->digest);
	memset(r, 0, sizeof(*r));
}

char *coco_tref_name(const coco_tref *r)
{
	return coco_asprintf("%s/%s", r->domain, r->path);
}

char *coco_tref_string(const coco_tref *r)
{
	return coco_asprintf("%s/%s%s%s%s%s", r->domain, r->path, r->tag ? ":" : "",
	                     r->tag ? r->tag : "", r->digest ? "@" : "", r->digest ? r->digest : "");
}

bool coco_tref_name_only(const coco_tref *r)
{
	return !r->tag && !r->digest;
}

static bool anum(char c)
{
	return isascii((unsigned char)c) && isalnum((unsigned char)c);
}

/* Name grammar pieces are shared with ref.c (coco_ref_*_ok). */

/* The grammar's digest shape, then go-digest validation. */
static bool digest_ok(const char *s, size_t n, const char **err)
{
	const char *c = memchr(s, ':', n);
	*err = "invalid reference format";
	if (!c)
		return false;
	size_t al = (size_t)(c - s), hl = n - al - 1;
	/* algorithm: [A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)* */
	if (al == 0 || !isalpha((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < al; i++) {
		if (anum(s[i]))
			continue;
		if ((s[i] == '-' || s[i] == '_' || s[i] == '+' || s[i] == '.') && i + 1 < al &&
		    isalpha((unsigned char)s[i + 1]))
			continue;
		return false;
	}
	if (hl < 32)
		return false;
	for (size_t i = 0; i < hl; i++)
		if (!isxdigit((unsigned char)c[1 + i]))
			return false;
	size_t want = 0;
	if (al == 6 && !memcmp(s, "sha256", 6))
		want = 64;
	else if (al == 6 && !memcmp(s, "sha384", 6))
		want = 96;
	else if (al == 6 && !memcmp(s, "sha512", 6))
		want = 128;
	if (!want) {
		*err = "unsupported digest algorithm";
		return false;
	}
	if (hl != want) {
		*err = "invalid checksum digest length";
		return false;
	}
	for (size_t i = 0; i < hl; i++) {
		if (isupper((unsigned char)c[1 + i])) {
			*err = "invalid checksum digest format";
			return false;
		}
	}
	return true;
}

static bool is_hex64(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

/* Parse "domain/remainder" (remainder = path[:tag][@digest]). */
static int parse_full(const char *domain, size_t dl, const char *rem, coco_tref *out,
                      const char **err)
{
	memset(out, 0, sizeof(*out));
	size_t rl = strlen(rem);
	const char *at = memchr(rem, '@', rl);
	size_t namel = at ? (size_t)(at - rem) : rl;
	/* a tag follows the last ':' of the name part, after the last '/' */
	const char *tag = NULL;
	size_t tagl = 0, pathl = namel;
	for (size_t i = namel; i > 0; i--) {
		if (rem[i - 1] == '/')
			break;
		if (rem[i - 1] == ':') {
			tag = rem + i;
			tagl = namel - i;
			pathl = i - 1;
			break;
		}
	}
	*err = "invalid reference format";
	if (!coco_ref_domain_ok(domain, dl) || !coco_ref_path_ok(rem, pathl))
		return COCOIMG_EINVAL;
	if (tag && !coco_ref_tag_ok(tag, tagl))
		return COCOIMG_EINVAL;
	if (at && !digest_ok(at + 1, rl - namel - 1, err))
		return COCOIMG_EINVAL;
	if (dl + 1 + pathl > NAME_MAX_TOTAL) {
		*err = "repository name must not be more than 255 characters";
		return COCOIMG_EINVAL;
	}
	out->domain = coco_strndup(domain, dl);
	out->path = coco_strndup(rem, pathl);
	out->tag = tag ? coco_strndup(tag, tagl) : NULL;
	out->digest = at ? coco_strdup(at + 1) : NULL;
	if (!out->domain || !out->path || (tag && !out->tag) || (at && !out->digest)) {
		coco_tref_clear(out);
		*err = "out of memory";
		return COCOIMG_ENOMEM;
	}
	return 0;
}

int coco_tref_parse(const char *s, coco_tref *out, const char **err)
{
	memset(out, 0, sizeof(*out));
	if (!s || !*s) {
		*err = "repository name must have at least one component";
		return COCOIMG_EINVAL;
	}
	if (is_hex64(s)) {
		*err = "cannot specify 64-byte hexadecimal strings";
		return COCOIMG_EINVAL;
	}
	/* SplitDockerDomain */
	const char *slash = strchr(s, '/');
	const char *domain = "docker.io";
	size_t dl = 9;
	const char *rem = s;
	if (slash) {
		size_t fl = (size_t)(slash - s);
		bool dom = memchr(s, '.', fl) || memchr(s, ':', fl) ||
		           (fl == 9 && !memcmp(s, "localhost", 9));
		if (dom) {
			domain = s;
			dl = fl;
			rem = slash + 1;
		}
	}
	if (dl == 15 && !memcmp(domain, "index.docker.io", 15)) {
		domain = "docker.io";
		dl = 9;
	}
	char *owned = NULL;
	if (dl == 9 && !memcmp(domain, "docker.io", 9) && !strchr(rem, '/')) {
		owned = coco_asprintf("library/%s", rem);
		if (!owned) {
			*err = "out of memory";
			return COCOIMG_ENOMEM;
		}
		rem = owned;
	}
	/* the remote name (up to the first ':') must be lower case */
	const char *colon = strchr(rem, ':');
	size_t rnl = colon ? (size_t)(colon - rem) : strlen(rem);
	for (size_t i = 0; i < rnl; i++) {
		if (isupper((unsigned char)rem[i])) {
			free(owned);
			*err = "repository name must be lowercase";
			return COCOIMG_EINVAL;
		}
	}
	int rc = parse_full(domain, dl, rem, out, err);
	free(owned);
	return rc;
}

int coco_tref_parse_canonical(const char *s, coco_tref *out, const char **err)
{
	int rc = coco_tref_parse(s, out, err);
	if (rc)
		return rc;
	char *c = coco_tref_string(out);
	bool same = c && strcmp(c, s) == 0;
	free(c);
	if (!same) {
		coco_tref_clear(out);
		*err = "repository name must be canonical";
		return COCOIMG_EINVAL;
	}
	return 0;
}

bool coco_remap_prefix_valid(const char *s)
{
	/* either exactly a domain, or "domain/..." that is a valid name */
	size_t n = strlen(s);
	if (coco_ref_domain_ok(s, n))
		return true;
	const char *slash = strchr(s, '/');
	if (!slash || !coco_ref_domain_ok(s, (size_t)(slash - s)))
		return false;
	return coco_ref_path_ok(slash + 1, n - (size_t)(slash - s) - 1);
}

void coco_trust_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

char **coco_tref_namespaces(const coco_tref *r)
{
	char *name = coco_tref_name(r);
	if (!name)
		return NULL;
	size_t cap = 8, n = 0;
	char **v = calloc(cap, sizeof(char *));
	if (!v) {
		free(name);
		return NULL;
	}
#define PUSH(str)                                                              \
	do {                                                                   \
		if (n + 2 > cap) {                                             \
			char **nv = realloc(v, cap * 2 * sizeof(char *));      \
			if (!nv)                                               \
				goto oom;                                      \
			v = nv;                                                \
			cap *= 2;                                              \
		}                                                              \
		if (!(v[n] = (str)))                                           \
			goto oom;                                              \
		v[++n] = NULL;                                                 \
	} while (0)
	size_t len = strlen(name);
	for (;;) {
		PUSH(coco_strndup(name, len));
		char *sl = memrchr(name, '/', len);
		if (!sl)
			break;
		len = (size_t)(sl - name);
	}
	/* wildcards from the host, without its port */
	char *host = coco_strndup(name, len);
	if (!host)
		goto oom;
	char *port = strchr(host, ':');
	if (port)
		*port = 0;
	for (char *p = host; (p = strchr(p, '.')) != NULL;) {
		p++;
		char *w = coco_asprintf("*.%s", p);
		if (!w) {
			free(host);
			goto oom;
		}
		PUSH(w);
	}
	free(host);
	free(name);
	return v;
oom:
	free(name);
	coco_trust_strv_free(v);
	return NULL;
#undef PUSH
}
