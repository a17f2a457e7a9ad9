/* Error codes, per-context error messages, logging and configuration. */
#include "api.h"
#include "internal.h"

#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <archive.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>
#include <zstd.h>
#if HAVE_SODIUM
#include <sodium.h>
#endif
#if HAVE_YAML
#include <yaml.h>
#endif

COCOIMG_API const char *cocoimg_version(void) { return COCOIMG_VERSION_STRING; }

COCOIMG_API char *cocoimg_library_versions(void)
{
	coco_buf b = COCO_BUF_INIT;
	curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
	coco_buf_appendf(&b, "OpenSSL %s\n", OpenSSL_version(OPENSSL_VERSION_STRING));
	coco_buf_appendf(&b, "libcurl %s\n", cv ? cv->version : "?");
	coco_buf_appendf(&b, "libarchive %s\n", archive_version_string() + strlen("libarchive "));
	coco_buf_appendf(&b, "jansson %s\n", jansson_version_str());
	coco_buf_appendf(&b, "zlib %s\n", zlibVersion());
	coco_buf_appendf(&b, "zstd %s\n", ZSTD_versionString());
#if HAVE_ISAL
	coco_buf_appendf(&b, "isa-l (igzip) yes\n");
#endif
#if HAVE_SODIUM
	coco_buf_appendf(&b, "libsodium %s\n", sodium_version_string());
#endif
#if HAVE_YAML
	coco_buf_appendf(&b, "libyaml %s\n", yaml_get_version_string());
#endif
	return coco_buf_cstr(&b);
}

COCOIMG_API void cocoimg_free(void *p) { free(p); }

static const struct {
	int code;
	int exit_code;
	const char *text;
} errtab[] = {
	{ COCOIMG_OK, 0, "success" },
	{ COCOIMG_EINVAL, 2, "invalid argument" },
	{ COCOIMG_ENOMEM, 1, "out of memory" },
	{ COCOIMG_EIO, 1, "I/O error" },
	{ COCOIMG_ENET, 1, "network or registry error" },
	{ COCOIMG_EBADIMAGE, 1, "malformed image data" },
	{ COCOIMG_EDIGEST, 1, "digest or integrity check failed" },
	{ COCOIMG_EESCAPE, 1, "layer entry escapes the root filesystem" },
	{ COCOIMG_ENOTFOUND, 1, "not found" },
	{ COCOIMG_EAUTH, 1, "authentication failed" },
	{ COCOIMG_EPOLICY, 3, "rejected by trust policy" },
	{ COCOIMG_ENOKEY, 4, "no usable decryption key" },
	{ COCOIMG_EUNSUPPORTED, 1, "unsupported" },
	{ COCOIMG_ECANCELLED, 1, "cancelled" },
	{ COCOIMG_EEXIST, 2, "destination exists" },
	{ COCOIMG_ECONFIG, 2, "invalid configuration file" },
	{ COCOIMG_ESIGLOOKUP, 1, "signature lookup failed" },
	{ COCOIMG_EINTERNAL, 1, "internal error" },
};

COCOIMG_API const char *cocoimg_strerror(int err)
{
	for (size_t i = 0; i < COCO_ARRAY_SIZE(errtab); i++)
		if (errtab[i].code == err)
			return errtab[i].text;
	return "unknown error";
}

COCOIMG_API int cocoimg_error_exit_code(int err)
{
	for (size_t i = 0; i < COCO_ARRAY_SIZE(errtab); i++)
		if (errtab[i].code == err)
			return errtab[i].exit_code;
	return 1;
}

COCOIMG_API int cocoimg_ctx_new(cocoimg_ctx **out)
{
	cocoimg_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return COCOIMG_ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	c->log_max = COCOIMG_LOG_WARN;
	*out = c;
	return 0;
}

COCOIMG_API void cocoimg_ctx_free(cocoimg_ctx *c)
{
	if (!c)
		return;
	if (c->registry_state && c->registry_state_free)
		c->registry_state_free(c->registry_state);
	for (size_t i = 0; i < c->n_opts; i++) {
		free(c->opts[i].key);
		if (c->opts[i].value)
			coco_free_secret(c->opts[i].value, strlen(c->opts[i].value));
	}
	free(c->opts);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

COCOIMG_API const char *cocoimg_ctx_last_error(const cocoimg_ctx *c)
{
	return c ? c->err_msg : "";
}

COCOIMG_API int cocoimg_ctx_last_error_code(const cocoimg_ctx *c)
{
	return c ? c->err_code : 0;
}

static void vseterr(cocoimg_ctx *c, int code, bool prefix, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
static void vseterr(cocoimg_ctx *c, int code, bool prefix, const char *fmt, va_list ap)
{
	char msg[sizeof(c->err_msg)];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* Messages quote names and values taken from images and registries:
	 * never let control characters (terminal escapes, fake new lines)
	 * through to a terminal or a log. */
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	pthread_mutex_lock(&c->lock);
	if (code == COCOIMG_ECANCELLED && c->err_code != 0 && c->err_code != COCOIMG_ECANCELLED) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	if (prefix && c->err_msg[0]) {
		char old[sizeof(c->err_msg)];
		memcpy(old, c->err_msg, sizeof(old));
		size_t ml = strlen(msg);
		if (ml > sizeof(c->err_msg) - 3)
			ml = sizeof(c->err_msg) - 3;
		memcpy(c->err_msg, msg, ml);
		memcpy(c->err_msg + ml, ": ", 2);
		size_t room = sizeof(c->err_msg) - ml - 3;
		size_t ol = strnlen(old, room);
		memcpy(c->err_msg + ml + 2, old, ol);
		c->err_msg[ml + 2 + ol] = 0;
	} else {
		memcpy(c->err_msg, msg, sizeof(msg));
	}
	c->err_code = code;
	pthread_mutex_unlock(&c->lock);
}

int coco_seterr(cocoimg_ctx *c, int code, const char *fmt, ...)
{
	if (!c)
		return code;
	va_list ap;
	va_start(ap, fmt);
	vseterr(c, code, false, fmt, ap);
	va_end(ap);
	return code;
}

int coco_preferr(cocoimg_ctx *c, int code, const char *fmt, ...)
{
	if (!c)
		return code;
	va_list ap;
	va_start(ap, fmt);
	vseterr(c, code, true, fmt, ap);
	va_end(ap);
	return code;
}

void coco_clearerr(cocoimg_ctx *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->err_code = 0;
	c->err_msg[0] = 0;
	pthread_mutex_unlock(&c->lock);
}

void coco_log(cocoimg_ctx *c, cocoimg_log_level lvl, const char *fmt, ...)
{
	if (!c || !c->log_cb || lvl > c->log_max)
		return;
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->log_cb(lvl, msg, c->log_payload);
}

COCOIMG_API void cocoimg_ctx_set_log(cocoimg_ctx *c, cocoimg_log_cb cb,
                                     cocoimg_log_level max_level, void *payload)
{
	c->log_cb = cb;
	c->log_max = max_level;
	c->log_payload = payload;
}

COCOIMG_API void cocoimg_ctx_set_progress(cocoimg_ctx *c, cocoimg_progress_cb cb, void *payload)
{
	c->progress_cb = cb;
	c->progress_payload = payload;
}

int coco_progress(cocoimg_ctx *c, const char *what, const char *digest, uint64_t done,
                  uint64_t total, int finished)
{
	if (!c || !c->progress_cb)
		return 0;
	cocoimg_progress p = { 1, digest, what, done, total, finished };
	if (c->progress_cb(&p, c->progress_payload))
		return coco_seterr(c, COCOIMG_ECANCELLED, "cancelled by progress callback");
	return 0;
}

/* Known configuration keys (without side prefix). */
static const char *const known_keys[] = {
	"authfile", "creds", "cert-dir", "tls-verify", "platform", "retry-times",
	"policy", "registries.d", "keyprovider-config", "keyprovider-timeout",
	"proxy", "tmpdir", "parallel", "user-agent", "registry-token",
	"no-creds",
};

static bool key_known(const char *key)
{
	const char *k = key;
	if (!strncmp(k, "src.", 4))
		k += 4;
	else if (!strncmp(k, "dest.", 5))
		k += 5;
	for (size_t i = 0; i < COCO_ARRAY_SIZE(known_keys); i++)
		if (!strcmp(k, known_keys[i]))
			return true;
	return false;
}

COCOIMG_API int cocoimg_ctx_set(cocoimg_ctx *c, const char *key, const char *value)
{
	COCO_API_ENTER(c);
	if (!key)
		return coco_seterr(c, COCOIMG_EINVAL, "no configuration key given");
	if (!key_known(key))
		return coco_seterr(c, COCOIMG_EINVAL, "unknown configuration key \"%s\"", key);
	const char *base = strchr(key, '.') && strncmp(key, "registries.d", 12) ? strchr(key, '.') + 1 : key;
	if (value && !strcmp(base, "tls-verify") && strcmp(value, "true") && strcmp(value, "false"))
		return coco_seterr(c, COCOIMG_EINVAL, "tls-verify must be true or false, not \"%s\"", value);
	if (value && (!strcmp(base, "retry-times") || !strcmp(base, "parallel") ||
	              !strcmp(base, "keyprovider-timeout"))) {
		char *end;
		long v = strtol(value, &end, 10);
		if (!*value || *end || v < 0 || v > 1000000)
			return coco_seterr(c, COCOIMG_EINVAL, "%s must be a non-negative number, not \"%s\"",
			                   base, value);
	}
	if (value && !strcmp(base, "platform")) {
		coco_platform p;
		int rc = coco_platform_parse(c, value, &p);
		if (rc)
			return rc;
		coco_platform_clear(&p);
	}
	for (size_t i = 0; i < c->n_opts; i++) {
		if (!strcmp(c->opts[i].key, key)) {
			char *nv = value ? coco_strdup(value) : NULL;
			if (value && !nv)
				return COCOIMG_ENOMEM;
			if (c->opts[i].value)
				coco_free_secret(c->opts[i].value, strlen(c->opts[i].value));
			c->opts[i].value = nv;
			return 0;
		}
	}
	struct coco_kv *n = realloc(c->opts, (c->n_opts + 1) * sizeof(*n));
	if (!n)
		return COCOIMG_ENOMEM;
	c->opts = n;
	n[c->n_opts].key = coco_strdup(key);
	n[c->n_opts].value = value ? coco_strdup(value) : NULL;
	if (!n[c->n_opts].key || (value && !n[c->n_opts].value))
		return COCOIMG_ENOMEM;
	c->n_opts++;
	return 0;
}

COCOIMG_API const char *cocoimg_ctx_get(const cocoimg_ctx *c, const char *key)
{
	for (size_t i = 0; c && i < c->n_opts; i++)
		if (!strcmp(c->opts[i].key, key))
			return c->opts[i].value;
	return NULL;
}

const char *coco_opt(const cocoimg_ctx *c, const char *side, const char *key)
{
	if (side) {
		char full[64];
		snprintf(full, sizeof(full), "%s.%s", side, key);
		const char *v = cocoimg_ctx_get(c, full);
		if (v)
			return v;
	}
	return cocoimg_ctx_get(c, key);
}

bool coco_opt_bool(const cocoimg_ctx *c, const char *side, const char *key, bool dflt)
{
	const char *v = coco_opt(c, side, key);
	if (!v)
		return dflt;
	return !strcmp(v, "true") || !strcmp(v, "1");
}

long coco_opt_long(const cocoimg_ctx *c, const char *side, const char *key, long dflt)
{
	const char *v = coco_opt(c, side, key);
	if (!v || !*v)
		return dflt;
	return strtol(v, NULL, 10);
}

uint64_t coco_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
