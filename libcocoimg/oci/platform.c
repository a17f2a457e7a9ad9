/* Platforms: parsing "os/arch[/variant]" and the running machine. */
#include "oci.h"
#include "../base.h"
#include "../json.h"

#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

void coco_platform_clear(coco_platform *p)
{
	COCO_CLEAR_FIELDS(p, p->os, p->arch, p->variant, p->os_version);
}

static bool plat_word_ok(const char *s, size_t n)
{
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

int coco_platform_parse(cocoimg_ctx *ctx, const char *s, coco_platform *out)
{
	memset(out, 0, sizeof(*out));
	const char *parts[4] = { 0 };
	size_t lens[4] = { 0 };
	int n = 0;
	const char *p = s;
	while (n < 4) {
		const char *slash = strchr(p, '/');
		parts[n] = p;
		lens[n] = slash ? (size_t)(slash - p) : strlen(p);
		n++;
		if (!slash)
			break;
		p = slash + 1;
	}
	if (n < 2 || n > 3 || strchr(p, '/'))
		return coco_seterr(ctx, COCOIMG_EINVAL,
		                   "invalid platform \"%s\": expected OS/ARCH[/VARIANT]", s);
	for (int i = 0; i < n; i++)
		if (!plat_word_ok(parts[i], lens[i]))
			return coco_seterr(ctx, COCOIMG_EINVAL,
			                   "invalid platform \"%s\": expected OS/ARCH[/VARIANT]", s);
	out->os = coco_strndup(parts[0], lens[0]);
	out->arch = coco_strndup(parts[1], lens[1]);
	if (n == 3)
		out->variant = coco_strndup(parts[2], lens[2]);
	if (!out->os || !out->arch || (n == 3 && !out->variant)) {
		coco_platform_clear(out);
		return COCOIMG_ENOMEM;
	}
	return 0;
}

void coco_platform_host(coco_platform *out)
{
	memset(out, 0, sizeof(*out));
	const char *arch = "amd64";
	const char *variant = NULL;
#if defined(__x86_64__)
	arch = "amd64";
#elif defined(__aarch64__)
	arch = "arm64";
	variant = "v8";
#elif defined(__arm__)
	arch = "arm";
	variant = "v7";
#elif defined(__i386__)
	arch = "386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	arch = "ppc64le";
#elif defined(__s390x__)
	arch = "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
	arch = "riscv64";
#endif
	out->os = coco_strdup("linux");
	out->arch = coco_strdup(arch);
	out->variant = coco_strdup(variant);
}

/* ---- selecting an index entry ---- */

/*
 * Normalised (os, arch, variant) for comparison, following containerd's
 * normalisation table: aarch64 -> arm64, x86_64 -> amd64, i386 -> 386,
 * armhf -> arm/v7, armel -> arm/v6; "8" -> "v8"; arm64/v8 and amd64/v1
 * are the same as no variant.
 */
typedef struct {
	char os[65], arch[65], variant[65];
} norm_plat;

static void lower_copy(char *dst, const char *src)
{
	size_t i = 0;
	for (; src && src[i] && i < 64; i++)
		dst[i] = (char)((src[i] >= 'A' && src[i] <= 'Z') ? src[i] + 32 : src[i]);
	dst[i] = 0;
}

static void normalize(const char *os, const char *arch, const char *variant, norm_plat *n)
{
	lower_copy(n->os, os);
	lower_copy(n->arch, arch);
	lower_copy(n->variant, variant);
	if (!strcmp(n->arch, "aarch64"))
		strcpy(n->arch, "arm64");
	else if (!strcmp(n->arch, "x86_64") || !strcmp(n->arch, "x86-64"))
		strcpy(n->arch, "amd64");
	else if (!strcmp(n->arch, "i386"))
		strcpy(n->arch, "386");
	else if (!strcmp(n->arch, "armhf")) {
		strcpy(n->arch, "arm");
		strcpy(n->variant, "v7");
	} else if (!strcmp(n->arch, "armel")) {
		strcpy(n->arch, "arm");
		strcpy(n->variant, "v6");
	}
	if (n->variant[0] >= '0' && n->variant[0] <= '9' && strlen(n->variant) < 63) {
		memmove(n->variant + 1, n->variant, strlen(n->variant) + 1);
		n->variant[0] = 'v';
	}
	if ((!strcmp(n->arch, "arm64") && !strcmp(n->variant, "v8")) ||
	    (!strcmp(n->arch, "amd64") && !strcmp(n->variant, "v1")))
		n->variant[0] = 0;
}

bool coco_platform_matches(const coco_platform *entry, const coco_platform *want)
{
	if (!entry->os || !entry->arch || !want->os || !want->arch)
		return false;
	norm_plat e, w;
	normalize(entry->os, entry->arch, entry->variant, &e);
	normalize(want->os, want->arch, want->variant, &w);
	/* containerd's matcher: no variant on arm is v7 */
	if (!strcmp(e.arch, "arm") && !e.variant[0])
		strcpy(e.variant, "v7");
	if (!strcmp(w.arch, "arm") && !w.variant[0])
		strcpy(w.variant, "v7");
	return !strcmp(e.os, w.os) && !strcmp(e.arch, w.arch) && !strcmp(e.variant, w.variant);
}

/*
 * Acceptable variants in order of preference (containers/image
 * WantedPlatforms): with a wanted variant W, W then the older compatible
 * ones, then no variant; without W, no variant first, then (arm) every
 * known variant newest first.
 */
static size_t wanted_variants(const norm_plat *w, const char *out[8])
{
	static const char *const arm[] = { "v8", "v7", "v6", "v5" };
	static const char *const amd64[] = { "v4", "v3", "v2" };
	const char *const *tab = NULL;
	size_t tn = 0, n = 0;
	if (!strcmp(w->arch, "arm")) {
		tab = arm;
		tn = 4;
	} else if (!strcmp(w->arch, "amd64")) {
		tab = amd64;
		tn = 3;
	}
	if (w->variant[0]) {
		size_t i = 0;
		while (i < tn && strcmp(tab[i], w->variant))
			i++;
		if (i == tn)
			out[n++] = w->variant;
		for (; i < tn; i++)
			out[n++] = tab[i];
		out[n++] = "";
	} else {
		out[n++] = "";
		if (tab == arm)
			for (size_t i = 0; i < tn; i++)
				out[n++] = tab[i];
	}
	return n;
}

static bool is_attestation(const coco_desc *d)
{
	json_t *v = d->annotations ? json_object_get(d->annotations, "vnd.docker.reference.type") : NULL;
	return v && json_is_string(v) && !strcmp(json_string_value(v), "attestation-manifest");
}

/* How well index entry d fits want: the position of its variant in
 * variants (lower is better), or SIZE_MAX when it does not fit.  An entry
 * without a platform fits (last) only when it is the index's only image. */
static size_t entry_rank(const coco_desc *d, const norm_plat *want, const char *const *variants,
                         size_t nv, bool only_image)
{
	if (!coco_mt_is_manifest(d->media_type) || is_attestation(d))
		return SIZE_MAX;
	if (!d->platform.os)
		return only_image ? nv : SIZE_MAX;
	norm_plat have;
	normalize(d->platform.os, d->platform.arch, d->platform.variant, &have);
	if (strcmp(have.os, want->os) || strcmp(have.arch, want->arch))
		return SIZE_MAX;
	for (size_t k = 0; k < nv; k++)
		if (!strcmp(have.variant, variants[k]))
			return k;
	return SIZE_MAX;
}

/* ENOTFOUND naming the wanted platform and listing what the index has. */
static int no_platform(cocoimg_ctx *ctx, const coco_manifest *index, const norm_plat *want)
{
	char list[600] = "";
	size_t used = 0;
	for (size_t i = 0; i < index->n_manifests && used < sizeof(list) - 80; i++) {
		const coco_desc *d = &index->manifests[i];
		if (!coco_mt_is_manifest(d->media_type))
			continue;
		const coco_platform *dp = &d->platform;
		int w = snprintf(list + used, sizeof(list) - used, "%s%.20s/%.20s%s%.20s", used ? ", " : "",
		                 dp->os ? dp->os : "?", dp->arch ? dp->arch : "?", dp->variant ? "/" : "",
		                 dp->variant ? dp->variant : "");
		if (w > 0)
			used += (size_t)w;
	}
	return coco_seterr(ctx, COCOIMG_ENOTFOUND,
	                   "no image found in the index for platform %s/%s%s%s (available: %s)", want->os,
	                   want->arch, want->variant[0] ? "/" : "", want->variant, used ? list : "none");
}

int coco_index_select(cocoimg_ctx *ctx, const coco_manifest *index, const coco_platform *p,
                      size_t *which)
{
	coco_platform own = { 0 };
	if (!p) {
		const char *opt = coco_opt(ctx, NULL, "platform");
		int rc = 0;
		if (opt)
			rc = coco_platform_parse(ctx, opt, &own);
		else
			coco_platform_host(&own);
		if (rc)
			return rc;
		p = &own;
	}
	norm_plat want;
	normalize(p->os, p->arch, p->variant, &want);
	const char *variants[8];
	size_t nv = wanted_variants(&want, variants);

	size_t n_images = 0;
	for (size_t i = 0; i < index->n_manifests; i++)
		if (coco_mt_is_manifest(index->manifests[i].media_type))
			n_images++;
	size_t best = SIZE_MAX, best_rank = SIZE_MAX;
	for (size_t i = 0; i < index->n_manifests; i++) {
		size_t rank = entry_rank(&index->manifests[i], &want, variants, nv, n_images == 1);
		if (rank < best_rank) {
			best_rank = rank;
			best = i;
		}
	}
	int rc = 0;
	if (best != SIZE_MAX)
		*which = best;
	else
		rc = no_platform(ctx, index, &want);
	coco_platform_clear(&own);
	return rc;
}
