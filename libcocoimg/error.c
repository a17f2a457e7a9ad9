/* Error codes, the per-context error message, library versions. */
#include "base.h"

#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <archive.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
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
	const char *kind;
	const char *text;
} errtab[] = {
	{ COCOIMG_OK, 0, "ok", "success" },
	{ COCOIMG_EINVAL, 2, "inval", "invalid argument" },
	{ COCOIMG_ENOMEM, 1, "nomem", "out of memory" },
	{ COCOIMG_EIO, 1, "io", "I/O error" },
	{ COCOIMG_ENET, 1, "net", "network or registry error" },
	{ COCOIMG_EBADIMAGE, 1, "badimage", "malformed image data" },
	{ COCOIMG_EDIGEST, 1, "digest", "digest or integrity check failed" },
	{ COCOIMG_EESCAPE, 1, "escape", "layer entry escapes the root filesystem" },
	{ COCOIMG_ENOTFOUND, 1, "notfound", "not found" },
	{ COCOIMG_EAUTH, 1, "auth", "authentication failed" },
	{ COCOIMG_EPOLICY, 3, "policy", "rejected by trust policy" },
	{ COCOIMG_ENOKEY, 4, "nokey", "no usable decryption key" },
	{ COCOIMG_EUNSUPPORTED, 1, "unsupported", "unsupported" },
	{ COCOIMG_ECANCELLED, 1, "cancelled", "cancelled" },
	{ COCOIMG_EEXIST, 2, "exist", "destination exists" },
	{ COCOIMG_ECONFIG, 2, "config", "invalid configuration file" },
	{ COCOIMG_ESIGLOOKUP, 1, "siglookup", "signature lookup failed" },
	{ COCOIMG_EINTERNAL, 1, "internal", "internal error" },
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

COCOIMG_API const char *cocoimg_error_kind(int err)
{
	for (size_t i = 0; i < COCO_ARRAY_SIZE(errtab); i++)
		if (errtab[i].code == err)
			return errtab[i].kind;
	return "internal";
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

