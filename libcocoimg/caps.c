/*
 * Caps and deadlines as context keys: the table of keys, units and
 * defaults, and the parsers for sizes and durations.
 */
#include "caps.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { U_MS, U_BYTES, U_COUNT };

typedef struct limit_def {
	const char *key;
	int unit;
	uint64_t dflt;
	uint64_t min;              /* smallest accepted value */
	uint64_t max;              /* largest accepted value */
} limit_def;

#define KIB 1024ull
#define MIB (1024ull * 1024)
#define GIB (1024ull * 1024 * 1024)
#define ANY UINT64_MAX
/* what is held in memory whole is capped at 1 GiB even when raised */
#define MEM GIB

static const limit_def defs[COCO_LIM_COUNT] = {
	[COCO_LIM_COMMAND_TIMEOUT] = { "command-timeout", U_MS, 0, 0, ANY },
	[COCO_LIM_METADATA_TIMEOUT] = { "metadata-timeout", U_MS, 60000, 1, ANY },
	[COCO_LIM_STALL_TIMEOUT] = { "stall-timeout", U_MS, 30000, 1000, ANY },
	[COCO_LIM_MIN_RATE] = { "min-rate", U_BYTES, 1024, 1, ANY },
	[COCO_LIM_LAYER_SIZE] = { "max-layer-size", U_BYTES, 32 * GIB, 1, ANY },
	[COCO_LIM_IMAGE_SIZE] = { "max-image-size", U_BYTES, 64 * GIB, 1, ANY },
	[COCO_LIM_ENTRIES] = { "max-entries", U_COUNT, 4000000, 1, ANY },
	[COCO_LIM_LAYERS] = { "max-layers", U_COUNT, 1000, 1, ANY },
	/* containers/image iolimits: 4 MiB manifests, configs and signatures,
	 * 1 MiB token responses */
	[COCO_LIM_MANIFEST_SIZE] = { "max-manifest-size", U_BYTES, 4 * MIB, 1, MEM },
	[COCO_LIM_CONFIG_SIZE] = { "max-config-size", U_BYTES, 4 * MIB, 1, MEM },
	[COCO_LIM_SIGNATURE_SIZE] = { "max-signature-size", U_BYTES, 4 * MIB, 1, MEM },
	/* neither gpg (no --max-output by default) nor containers/image
	 * (its gpgme, openpgp and sequoia mechanisms read the whole
	 * content) bound what a signature inflates to; ours is the bound on
	 * the signature itself */
	[COCO_LIM_SIGNATURE_PAYLOAD] = { "max-signature-payload-size", U_BYTES, 4 * MIB, 1, MEM },
	[COCO_LIM_TOKEN_SIZE] = { "max-token-size", U_BYTES, 1 * MIB, 1, MEM },
	[COCO_LIM_ERROR_BODY] = { "max-error-body", U_BYTES, 64 * KIB, 1, 16 * MIB },
	/* the spool is often guest RAM (a tmpfs $TMPDIR) */
	[COCO_LIM_SPOOL_SIZE] = { "max-spool-size", U_BYTES, 1 * GIB, 0, ANY },
};

const char *coco_limit_key(coco_limit_id id)
{
	return id < COCO_LIM_COUNT ? defs[id].key : "?";
}

static const limit_def *find_def(const char *key)
{
	for (size_t i = 0; key && i < COCO_LIM_COUNT; i++)
		if (!strcmp(defs[i].key, key))
			return &defs[i];
	return NULL;
}

bool coco_limit_is_key(const char *key)
{
	return find_def(key) != NULL;
}

/* digits, then the rest in *end; -1 when there are none or it overflows */
static int leading_number(const char *s, uint64_t *v, const char **end)
{
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	char *e;
	unsigned long long n = strtoull(s, &e, 10);
	if (errno)
		return -1;
	*v = n;
	*end = e;
	return 0;
}

static int mul_ok(uint64_t a, uint64_t b, uint64_t *out)
{
	if (b && a > UINT64_MAX / b)
		return -1;
	*out = a * b;
	return 0;
}

int coco_parse_size(const char *s, uint64_t *out)
{
	static const struct { const char *suf; unsigned shift; } units[] = {
		{ "", 0 }, { "b", 0 }, { "k", 10 }, { "kib", 10 }, { "m", 20 }, { "mib", 20 },
		{ "g", 30 }, { "gib", 30 }, { "t", 40 }, { "tib", 40 },
	};
	uint64_t n;
	const char *rest;
	if (!s || leading_number(s, &n, &rest))
		return -1;
	for (size_t i = 0; i < COCO_ARRAY_SIZE(units); i++)
		if (!strcasecmp(rest, units[i].suf))
			return mul_ok(n, 1ull << units[i].shift, out);
	return -1;
}

static uint64_t duration_unit(const char **p)
{
	static const struct { const char *suf; uint64_t ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
	};
	for (size_t i = 0; i < COCO_ARRAY_SIZE(units); i++) {
		size_t l = strlen(units[i].suf);
		/* "m" must not swallow the "m" of "ms" */
		if (!strncmp(*p, units[i].suf, l) && !isalpha((unsigned char)(*p)[l])) {
			*p += l;
			return units[i].ms;
		}
	}
	return 0;
}

int coco_parse_duration(const char *s, uint64_t *out_ms)
{
	uint64_t n, total = 0;
	const char *p = s;
	if (!s || leading_number(p, &n, &p))
		return -1;
	if (!*p) /* a bare number: seconds */
		return mul_ok(n, 1000, out_ms);
	for (;;) {
		uint64_t unit = duration_unit(&p), part;
		if (!unit || mul_ok(n, unit, &part) || total > UINT64_MAX - part)
			return -1;
		total += part;
		if (!*p)
			break;
		if (leading_number(p, &n, &p))
			return -1;
	}
	*out_ms = total;
	return 0;
}

static int parse_value(const limit_def *d, const char *v, uint64_t *out)
{
	if (d->unit == U_MS)
		return coco_parse_duration(v, out);
	if (d->unit == U_BYTES)
		return coco_parse_size(v, out);
	const char *rest;
	return leading_number(v, out, &rest) || *rest ? -1 : 0;
}

/* "from 1 to 1G" style bounds for a message */
static void describe_bounds(const limit_def *d, char *out, size_t n)
{
	if (d->max == ANY) {
		snprintf(out, n, "%s", d->min ? " above zero" : "");
		return;
	}
	const char *suf = d->unit == U_BYTES && d->max % GIB == 0 ? "G"
	                  : d->unit == U_BYTES && d->max % MIB == 0 ? "M" : "";
	uint64_t m = !*suf ? d->max : *suf == 'G' ? d->max / GIB : d->max / MIB;
	snprintf(out, n, " from %llu to %llu%s", (unsigned long long)d->min, (unsigned long long)m,
	         suf);
}

int coco_limit_validate(cocoimg_ctx *ctx, const char *key, const char *value)
{
	const limit_def *d = find_def(key);
	uint64_t v;
	if (!d)
		return coco_seterr(ctx, COCOIMG_EINVAL, "unknown configuration key \"%s\"", key);
	if (!value)
		return 0;
	static const char *const forms[] = {
		[U_MS] = "a duration such as 90s, 500ms or 5m",
		[U_BYTES] = "a size such as 512K, 4M or 2G",
		[U_COUNT] = "a whole number",
	};
	if (parse_value(d, value, &v) || v < d->min || v > d->max) {
		char bounds[64];
		describe_bounds(d, bounds, sizeof(bounds));
		return coco_seterr(ctx, COCOIMG_EINVAL, "%s takes %s%s, not \"%s\"", key,
		                   forms[d->unit], bounds, value);
	}
	return 0;
}

uint64_t coco_limit(const cocoimg_ctx *ctx, coco_limit_id id)
{
	if (id >= COCO_LIM_COUNT)
		return 0;
	const limit_def *d = &defs[id];
	const char *v = coco_opt(ctx, NULL, d->key);
	uint64_t n;
	if (!v || !*v || parse_value(d, v, &n) || n < d->min || n > d->max)
		return d->dflt;
	return n;
}

size_t coco_limit_size(const cocoimg_ctx *ctx, coco_limit_id id)
{
	uint64_t v = coco_limit(ctx, id);
	return v > SIZE_MAX ? SIZE_MAX : (size_t)v;
}

int coco_limit_refuse(cocoimg_ctx *ctx, int code, coco_limit_id id, uint64_t got,
                      const char *fmt, ...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	unsigned long long cap = (unsigned long long)coco_limit(ctx, id);
	if (got == UINT64_MAX)
		return coco_seterr(ctx, code, "%s: larger than the %llu-byte cap (%s)", what, cap,
		                   coco_limit_key(id));
	return coco_seterr(ctx, code, "%s: %llu bytes, over the %llu-byte cap (%s)", what,
	                   (unsigned long long)got, cap, coco_limit_key(id));
}
