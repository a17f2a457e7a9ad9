/*
 * Image references: the transport prefixes skopeo understands
 * (docker://, oci:, oci-archive:) and docker/distribution names normalised
 * the way containers/image and docker do (ParseNormalizedNamed).
 *
 * Grammar (distribution/reference):
 *   reference  = name [ ":" tag ] [ "@" digest ]
 *   name       = [ domain "/" ] path-component *( "/" path-component )
 *   domain     = host [ ":" port ], host = dns-label *( "." dns-label ) | "[" ipv6 "]"
 *   path-comp  = [a-z0-9]+ *( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )
 *   tag        = [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *   digest     = alg ":" hex   (we accept sha256 and sha512, lower-case hex)
 */
#include "base.h"
#include "digest.h"
#include "ref.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* containers/image's vendored docker/reference (what skopeo uses) limits
 * domain + "/" + path to 255 characters; newer distribution/reference limits
 * the path only.  The reference implementation wins: whole name. */
#define NAME_MAX_TOTAL 255
#define TAG_MAX 128

static bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
static bool is_alnum(char c) { return isascii((unsigned char)c) && isalnum((unsigned char)c); }

/* One path component: [a-z0-9]+ ( sep [a-z0-9]+ )*, sep = . | _ | __ | -+ */
static bool path_comp_ok(const char *s, size_t n)
{
	size_t i = 0;
	if (n == 0 || !is_lower_alnum(s[0]))
		return false;
	while (i < n) {
		while (i < n && is_lower_alnum(s[i]))
			i++;
		if (i == n)
			return true;
		/* separator */
		if (s[i] == '.') {
			i++;
		} else if (s[i] == '_') {
			i++;
			if (i < n && s[i] == '_')
				i++;
		} else if (s[i] == '-') {
			while (i < n && s[i] == '-')
				i++;
		} else {
			return false;
		}
		if (i == n || !is_lower_alnum(s[i]))
			return false;
	}
	return true;
}

/* Every sep-separated part of s[0..n) satisfies ok (empty parts included). */
static bool parts_ok(const char *s, size_t n, char sep, bool (*ok)(const char *, size_t))
{
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == sep) {
			if (!ok(s + start, i - start))
				return false;
			start = i + 1;
		}
	}
	return true;
}

bool coco_ref_path_ok(const char *s, size_t n)
{
	return parts_ok(s, n, '/', path_comp_ok);
}

/* dns label: [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static bool label_ok(const char *s, size_t n)
{
	if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

bool coco_ref_domain_ok(const char *s, size_t n)
{
	size_t hostlen = n;
	if (n && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (!close || close == s + 1)
			return false;
		for (const char *p = s + 1; p < close; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':')
				return false;
		hostlen = (size_t)(close - s) + 1;
	} else {
		const char *colon = memchr(s, ':', n);
		if (colon)
			hostlen = (size_t)(colon - s);
		if (!parts_ok(s, hostlen, '.', label_ok))
			return false;
	}
	if (hostlen == n)
		return true;
	if (s[hostlen] != ':' || hostlen + 1 == n)
		return false;
	for (size_t i = hostlen + 1; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

bool coco_ref_tag_ok(const char *s, size_t n)
{
	if (n == 0 || n > TAG_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!is_alnum(c) && c != '_' && !(i > 0 && (c == '.' || c == '-')))
			return false;
	}
	return true;
}

static bool all_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

void coco_dref_clear(coco_dref *r)
{
	COCO_CLEAR_FIELDS(r, r->domain, r->path, r->tag, r->digest);
}

static int bad(cocoimg_ctx *ctx, const char *s, const char *why)
{
	return coco_seterr(ctx, COCOIMG_EINVAL, "invalid image reference \"%.300s\": %s", s, why);
}

/* splitDockerDomain: the first component is a registry host when it has a
 * '.' or ':', is "localhost", or (upper_is_host, as docker's CLI does)
 * holds an upper-case letter; else the host is docker.io.
 * index.docker.io becomes docker.io. */
static void split_domain(const char *s, bool upper_is_host, const char **domain, size_t *dl,
                         const char **rem)
{
	const char *slash = strchr(s, '/');
	*domain = "docker.io";
	*dl = 9;
	*rem = s;
	if (slash) {
		size_t fl = (size_t)(slash - s);
		bool upper = false;
		for (size_t i = 0; upper_is_host && i < fl; i++)
			upper = upper || (s[i] >= 'A' && s[i] <= 'Z');
		if (upper || memchr(s, '.', fl) || memchr(s, ':', fl) ||
		    (fl == 9 && !memcmp(s, "localhost", 9))) {
			*domain = s;
			*dl = fl;
			*rem = slash + 1;
		}
	}
	if (*dl == 15 && !memcmp(*domain, "index.docker.io", 15)) {
		*domain = "docker.io";
		*dl = 9;
	}
}

/* In the name part rem[0..namel) a tag follows the last ':' after the last
 * '/'; *pathl is what comes before it. */
static void split_tag(const char *rem, size_t namel, const char **tag, size_t *tagl,
                      size_t *pathl)
{
	*tag = NULL;
	*tagl = 0;
	*pathl = namel;
	for (size_t i = namel; i > 0 && rem[i - 1] != '/'; i--) {
		if (rem[i - 1] == ':') {
			*tag = rem + i;
			*tagl = namel - i;
			*pathl = i - 1;
			return;
		}
	}
}

/* What the whole string must satisfy before it is split. */
static int dref_check_string(cocoimg_ctx *ctx, const char *s)
{
	size_t n = strlen(s);
	if (n == 0)
		return bad(ctx, s, "empty reference");
	if (n > 4096)
		return bad(ctx, s, "reference too long");
	if (n == 64 && all_lower_hex(s, 64))
		return bad(ctx, s, "cannot specify 64-byte hexadecimal strings (an image ID) as a name");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return bad(ctx, s, "invalid character");
	return 0;
}

/* The digest d after '@': the grammar's algorithm, then what we support. */
static int dref_check_digest(cocoimg_ctx *ctx, const char *s, const char *d)
{
	const char *colon = strchr(d, ':');
	if (!colon)
		return bad(ctx, s, "invalid digest");
	for (const char *p = d; p < colon; p++)
		if (!is_alnum(*p) && !strchr("-_+.", *p))
			return bad(ctx, s, "invalid digest");
	coco_digest_alg alg;
	if (!coco_digest_validate(d, &alg))
		return 0;
	if (colon - d == 6 && (!strncmp(d, "sha256", 6) || !strncmp(d, "sha512", 6)))
		return bad(ctx, s, "invalid digest (wrong length or not lower-case hex)");
	return bad(ctx, s, "unsupported or invalid digest algorithm");
}

/* The pieces of a docker reference, as split. */
typedef struct dref_parts {
	const char *dom, *rem, *tag, *at;
	size_t domlen, namelen, taglen;
	bool library;              /* a Docker Hub name without '/': library/NAME */
} dref_parts;

static int dref_check_parts(cocoimg_ctx *ctx, const char *s, const dref_parts *p)
{
	/* Upper case in the repository is its own, clearer error. */
	for (size_t i = 0; i < p->namelen; i++)
		if (p->rem[i] >= 'A' && p->rem[i] <= 'Z')
			return bad(ctx, s, "repository name must be lowercase");
	if (!coco_ref_domain_ok(p->dom, p->domlen))
		return bad(ctx, s, "invalid registry host");
	if (!coco_ref_path_ok(p->rem, p->namelen))
		return bad(ctx, s, "invalid repository name");
	if (p->tag && !coco_ref_tag_ok(p->tag, p->taglen))
		return bad(ctx, s, "invalid tag");
	if (p->at && dref_check_digest(ctx, s, p->at + 1))
		return COCOIMG_EINVAL;
	size_t pathlen = p->namelen + (p->library ? 8 : 0);
	if (p->domlen + 1 + pathlen > NAME_MAX_TOTAL)
		return bad(ctx, s, "repository name must not be more than 255 characters");
	return 0;
}

/* Without tag or digest the tag is "latest". */
static int dref_fill(cocoimg_ctx *ctx, const dref_parts *p, coco_dref *out)
{
	out->domain = coco_strndup(p->dom, p->domlen);
	if (p->library)
		out->path = coco_asprintf("library/%.*s", (int)p->namelen, p->rem);
	else
		out->path = coco_strndup(p->rem, p->namelen);
	if (p->tag)
		out->tag = coco_strndup(p->tag, p->taglen);
	else if (!p->at)
		out->tag = coco_strdup("latest");
	if (p->at)
		out->digest = coco_strdup(p->at + 1);
	if (!out->domain || !out->path || (!out->tag && !p->at) || (p->at && !out->digest)) {
		coco_dref_clear(out);
		return coco_oom(ctx);
	}
	return 0;
}

int coco_dref_parse(cocoimg_ctx *ctx, const char *s, coco_dref *out)
{
	memset(out, 0, sizeof(*out));
	int rc = dref_check_string(ctx, s);
	if (rc)
		return rc;
	dref_parts p;
	split_domain(s, true, &p.dom, &p.domlen, &p.rem);
	p.at = strchr(p.rem, '@');
	size_t namel = p.at ? (size_t)(p.at - p.rem) : strlen(p.rem);
	split_tag(p.rem, namel, &p.tag, &p.taglen, &p.namelen);
	p.library = p.domlen == 9 && !strncmp(p.dom, "docker.io", 9) &&
	            !memchr(p.rem, '/', p.namelen);
	rc = dref_check_parts(ctx, s, &p);
	return rc ? rc : dref_fill(ctx, &p, out);
}

char *coco_dref_repo(const coco_dref *r)
{
	return coco_asprintf("%s/%s", r->domain, r->path);
}

char *coco_dref_string(const coco_dref *r)
{
	return coco_asprintf("%s/%s%s%s%s%s", r->domain, r->path, r->tag ? ":" : "",
	                     r->tag ? r->tag : "", r->digest ? "@" : "", r->digest ? r->digest : "");
}

/* ------------------------------------------------------------------ */
/* Go's docker/reference as containers/image vendors it                */
/* ------------------------------------------------------------------ */

/* algorithm: [A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)* */
static bool go_alg_ok(const char *s, size_t al)
{
	if (al == 0 || !isalpha((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < al; i++) {
		if (is_alnum(s[i]))
			continue;
		if (!s[i] || !strchr("-_+.", s[i]) || i + 1 == al || !isalpha((unsigned char)s[i + 1]))
			return false;
	}
	return true;
}

/* The reference grammar's digest, then go-digest's validation (sha256,
 * sha384, sha512; lower-case hex of the right length). */
static bool go_digest_ok(const char *s, size_t n, const char **err)
{
	const char *c = memchr(s, ':', n);
	*err = "invalid reference format";
	if (!c)
		return false;
	size_t al = (size_t)(c - s), hl = n - al - 1;
	if (!go_alg_ok(s, al) || hl < 32)
		return false;
	for (size_t i = 0; i < hl; i++)
		if (!isxdigit((unsigned char)c[1 + i]))
			return false;
	static const struct { const char *alg; size_t hex; } algs[] = {
		{ "sha256", 64 }, { "sha384", 96 }, { "sha512", 128 }
	};
	size_t want = 0;
	for (size_t i = 0; i < COCO_ARRAY_SIZE(algs); i++)
		if (al == strlen(algs[i].alg) && !memcmp(s, algs[i].alg, al))
			want = algs[i].hex;
	*err = !want ? "unsupported digest algorithm"
	     : hl != want ? "invalid checksum digest length"
	     : !all_lower_hex(c + 1, hl) ? "invalid checksum digest format" : NULL;
	return *err == NULL;
}

/* reference.Parse of "domain/rem" (rem = path[:tag][@digest]), the
 * domain already split off. */
static int named_parse_full(const char *domain, size_t dl, const char *rem, coco_dref *out,
                            const char **err)
{
	size_t rl = strlen(rem);
	const char *at = memchr(rem, '@', rl);
	size_t namel = at ? (size_t)(at - rem) : rl;
	const char *tag;
	size_t tagl, pathl;
	split_tag(rem, namel, &tag, &tagl, &pathl);
	*err = "invalid reference format";
	if (!coco_ref_domain_ok(domain, dl) || !coco_ref_path_ok(rem, pathl) ||
	    (tag && !coco_ref_tag_ok(tag, tagl)))
		return COCOIMG_EINVAL;
	if (at && !go_digest_ok(at + 1, rl - namel - 1, err))
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
		coco_dref_clear(out);
		*err = "out of memory";
		return COCOIMG_ENOMEM;
	}
	return 0;
}

/* ParseNormalizedNamed. */
static int parse_normalized_named(const char *s, coco_dref *out, const char **err)
{
	if (!s || !*s) {
		*err = "repository name must have at least one component";
		return COCOIMG_EINVAL;
	}
	if (strlen(s) == 64 && all_lower_hex(s, 64)) {
		*err = "cannot specify 64-byte hexadecimal strings";
		return COCOIMG_EINVAL;
	}
	const char *domain, *rem;
	size_t dl;
	split_domain(s, false, &domain, &dl, &rem);  /* the vendored package: no upper-case rule */
	char *owned = NULL;
	if (dl == 9 && !memcmp(domain, "docker.io", 9) && !strchr(rem, '/')) {
		if (!(owned = coco_asprintf("library/%s", rem))) {
			*err = "out of memory";
			return COCOIMG_ENOMEM;
		}
		rem = owned;
	}
	/* the remote name (up to the first ':') must be lower case */
	size_t rnl = strcspn(rem, ":");
	for (size_t i = 0; i < rnl; i++) {
		if (isupper((unsigned char)rem[i])) {
			free(owned);
			*err = "repository name must be lowercase";
			return COCOIMG_EINVAL;
		}
	}
	int rc = named_parse_full(domain, dl, rem, out, err);
	free(owned);
	return rc;
}

int coco_dref_parse_named(const char *s, coco_dref_mode mode, coco_dref *out, const char **err)
{
	memset(out, 0, sizeof(*out));
	int rc = parse_normalized_named(s, out, err);
	if (rc || mode != COCO_DREF_CANONICAL)
		return rc;
	/* ParseNamed: the string must be what String() gives back */
	char *c = coco_dref_string(out);
	bool same = c && strcmp(c, s) == 0;
	free(c);
	if (!same) {
		coco_dref_clear(out);
		*err = "repository name must be canonical";
		return COCOIMG_EINVAL;
	}
	return 0;
}

bool coco_dref_name_only(const coco_dref *r)
{
	return !r->tag && !r->digest;
}

/*
 * ref.name grammar for oci: layouts (containers/image oci/internal):
 * components of [A-Za-z0-9]+ joined by one of - . _ : @ + or "--",
 * components separated by '/'.
 */
static bool oci_refname_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0)
		return false;
	size_t i = 0;
	for (;;) {
		/* component */
		if (!is_alnum(s[i]))
			return false;
		for (;;) {
			while (i < n && is_alnum(s[i]))
				i++;
			if (i == n)
				return true;
			if (s[i] == '/')
				break;
			if (s[i] == '-' && i + 1 < n && s[i + 1] == '-')
				i += 2;
			else if (strchr("-._:@+", s[i]))
				i++;
			else
				return false;
			if (i == n || !is_alnum(s[i]))
				return false;
		}
		i++; /* '/' */
		if (i == n)
			return false;
	}
}

void coco_ref_free(coco_ref *r)
{
	if (!r)
		return;
	coco_dref_clear(&r->docker);
	COCO_FREE_FIELDS(r->path, r->tag, r->raw, r);
}

static int parse_layout_ref(cocoimg_ctx *ctx, const char *full, const char *rest, coco_ref *r)
{
	/* containers/image: the path ends at the first ':' (a path cannot hold
	 * a ':' on Linux); the rest is the image name. */
	const char *colon = strchr(rest, ':');
	size_t plen = colon ? (size_t)(colon - rest) : strlen(rest);
	if (plen == 0)
		return bad(ctx, full, "missing directory or file path");
	r->path = coco_strndup(rest, plen);
	if (!r->path)
		return COCOIMG_ENOMEM;
	if (colon && colon[1]) {
		const char *t = colon + 1;
		/* "@N": the N-th entry of index.json (read only) */
		bool at_index = t[0] == '@' && t[1];
		for (const char *p = t + 1; at_index && *p; p++)
			if (*p < '0' || *p > '9')
				at_index = false;
		if (at_index && strlen(t) > 10)
			return bad(ctx, full, "image index out of range");
		if (!at_index && !oci_refname_ok(t))
			return bad(ctx, full, "invalid image name (org.opencontainers.image.ref.name grammar)");
		r->tag = coco_strdup(t);
		if (!r->tag)
			return COCOIMG_ENOMEM;
	}
	return 0;
}

/* Does s, with no known transport before its first colon (tl bytes in),
 * read as an image written for docker pull: REPO/NAME:TAG, HOST/REPO:TAG
 * (a slash before the colon) or HOST:PORT/REPO (digits, then a slash)? */
static bool registry_like(const char *s, size_t tl)
{
	if (memchr(s, '/', tl))
		return true;
	const char *p = s + tl + 1;
	if (!isdigit((unsigned char)*p))
		return false;
	while (isdigit((unsigned char)*p))
		p++;
	return *p == '/';
}

int coco_ref_parse(cocoimg_ctx *ctx, const char *s, coco_ref **out)
{
	*out = NULL;
	if (!s)
		return coco_seterr(ctx, COCOIMG_EINVAL, "missing image reference");
	coco_ref *r = calloc(1, sizeof(*r));
	if (!r || !(r->raw = coco_strdup(s))) {
		free(r);
		return coco_oom(ctx);
	}
	int rc;
	const char *colon = strchr(s, ':');
	size_t tl = colon ? (size_t)(colon - s) : 0;
	if (!colon) {
		rc = bad(ctx, s, "expected TRANSPORT:REFERENCE (docker://, oci:, oci-archive:)");
	} else if (tl == 6 && !strncmp(s, "docker", 6)) {
		r->transport = COCO_TR_DOCKER;
		if (strncmp(colon + 1, "//", 2))
			rc = bad(ctx, s, "docker: references must start with docker://");
		else
			rc = coco_dref_parse(ctx, colon + 3, &r->docker);
	} else if (tl == 3 && !strncmp(s, "oci", 3)) {
		r->transport = COCO_TR_OCI;
		rc = parse_layout_ref(ctx, s, colon + 1, r);
	} else if (tl == 11 && !strncmp(s, "oci-archive", 11)) {
		r->transport = COCO_TR_OCI_ARCHIVE;
		rc = parse_layout_ref(ctx, s, colon + 1, r);
	} else {
		static const char *const others[] = { "dir", "docker-archive", "docker-daemon",
			"containers-storage", "ostree", "sif", "tarball" };
		bool known = false;
		for (size_t i = 0; i < COCO_ARRAY_SIZE(others); i++)
			if (strlen(others[i]) == tl && !strncmp(s, others[i], tl))
				known = true;
		if (!known && registry_like(s, tl))
			/* HOST/REPO:TAG, HOST:PORT/REPO, REPO/NAME:TAG: a registry
			 * image written as for docker pull */
			rc = coco_seterr(ctx, COCOIMG_EINVAL,
			                 "invalid image reference \"%.300s\": no transport; for a registry "
			                 "image write docker://%.300s", s, s);
		else
			rc = coco_seterr(ctx, COCOIMG_EINVAL,
			                 "invalid image reference \"%.300s\": %s transport \"%.*s\"", s,
			                 known ? "unsupported" : "unknown", (int)(tl > 64 ? 64 : tl), s);
	}
	if (rc) {
		if (rc == COCOIMG_ENOMEM)
			coco_oom(ctx);
		coco_ref_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

char *coco_ref_string(const coco_ref *r)
{
	switch (r->transport) {
	case COCO_TR_DOCKER: {
		char *d = coco_dref_string(&r->docker);
		char *o = d ? coco_asprintf("docker://%s", d) : NULL;
		free(d);
		return o;
	}
	case COCO_TR_OCI:
	case COCO_TR_OCI_ARCHIVE:
		return coco_asprintf("%s:%s%s%s", r->transport == COCO_TR_OCI ? "oci" : "oci-archive",
		                     r->path, r->tag ? ":" : "", r->tag ? r->tag : "");
	}
	return NULL;
}

int coco_ref_sibling(cocoimg_ctx *ctx, const coco_ref *r, const char *tag, coco_ref **out)
{
	coco_ref *n = calloc(1, sizeof(*n));
	if (!n)
		return coco_oom(ctx);
	n->transport = r->transport;
	bool oom = false;
	if (r->transport == COCO_TR_DOCKER) {
		n->docker.domain = coco_strdup(r->docker.domain);
		n->docker.path = coco_strdup(r->docker.path);
		n->docker.tag = coco_strdup(tag);
		oom = !n->docker.domain || !n->docker.path || !n->docker.tag;
		if (!oom) {
			char *repo = coco_dref_repo(&n->docker);
			n->raw = repo ? coco_asprintf("docker://%s:%s", repo, tag) : NULL;
			free(repo);
		}
	} else {
		n->path = coco_strdup(r->path);
		n->tag = coco_strdup(tag);
		oom = !n->path || !n->tag;
		if (!oom)
			n->raw = coco_asprintf("%s:%s:%s",
			                       r->transport == COCO_TR_OCI ? "oci" : "oci-archive",
			                       r->path, tag);
	}
	if (oom || !n->raw) {
		coco_ref_free(n);
		return coco_oom(ctx);
	}
	*out = n;
	return 0;
}
