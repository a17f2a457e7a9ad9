/* Platforms: parsing "os/arch[/variant]" and the running machine. */
#include "../internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

void coco_platform_clear(coco_platform *p)
{
	if (!p)
		return;
	free(p->os);
	free(p->arch);
	free(p->variant);
	free(p->os_version);
	memset(p, 0, sizeof(*p));
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
