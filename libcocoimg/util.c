/* Buffers, strings, files, base64: small helpers used everywhere. */
#include "base.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int buf_grow(coco_buf *b, size_t extra, bool exact)
{
	if (extra > SIZE_MAX - 1 - b->len)
		return COCOIMG_ENOMEM;
	if (b->len + extra + 1 <= b->cap)
		return 0;
	size_t ncap = exact ? b->len + extra + 1 : b->cap ? b->cap : 256;
	while (ncap < b->len + extra + 1) {
		if (ncap > SIZE_MAX / 2)
			return COCOIMG_ENOMEM;
		ncap *= 2;
	}
	/* Not realloc: a buffer may hold key material, and realloc could leave
	 * an unwiped copy behind.  Buffers are small (documents, keys), so the
	 * copy costs nothing worth measuring. */
	unsigned char *n = malloc(ncap);
	if (!n)
		return COCOIMG_ENOMEM;
	if (b->data) {
		memcpy(n, b->data, b->len);
		OPENSSL_cleanse(b->data, b->cap);
		free(b->data);
	}
	b->data = n;
	b->cap = ncap;
	return 0;
}

int coco_buf_reserve(coco_buf *b, size_t extra) { return buf_grow(b, extra, false); }

int coco_buf_reserve_exact(coco_buf *b, size_t extra) { return buf_grow(b, extra, true); }

int coco_buf_append(coco_buf *b, const void *data, size_t len)
{
	if (coco_buf_reserve(b, len))
		return COCOIMG_ENOMEM;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = 0;
	return 0;
}

int coco_buf_putc(coco_buf *b, char c) { return coco_buf_append(b, &c, 1); }

int coco_buf_appendf(coco_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || coco_buf_reserve(b, (size_t)n))
		return COCOIMG_ENOMEM;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

char *coco_buf_cstr(coco_buf *b)
{
	if (coco_buf_reserve(b, 0))
		return NULL;
	b->data[b->len] = 0;
	return (char *)b->data;
}

void coco_buf_free(coco_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void coco_buf_wipe_free(coco_buf *b)
{
	if (b->data)
		OPENSSL_cleanse(b->data, b->cap);
	coco_buf_free(b);
}

unsigned char *coco_buf_detach(coco_buf *b, size_t *len)
{
	unsigned char *d = b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return d;
}

char *coco_strdup(const char *s) { return s ? strdup(s) : NULL; }

char *coco_strndup(const char *s, size_t n) { return s ? strndup(s, n) : NULL; }

char *coco_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *out = NULL;
	va_start(ap, fmt);
	if (vasprintf(&out, fmt, ap) < 0)
		out = NULL;
	va_end(ap);
	return out;
}

void coco_wipe(void *p, size_t n)
{
	if (p && n)
		OPENSSL_cleanse(p, n);
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

void coco_prefault(void *p, size_t n)
{
	/* off after the first EINVAL: a kernel before 5.14 */
	static int unsupported;
	if (!p || __atomic_load_n(&unsupported, __ATOMIC_RELAXED))
		return;
	const uintptr_t pg = 4096;
	uintptr_t a = ((uintptr_t)p + pg - 1) & ~(pg - 1);
	uintptr_t e = ((uintptr_t)p + n) & ~(pg - 1);
	if (e <= a || e - a < 16 * pg)
		return;
	int saved = errno;
	/* failing is harmless: the pages then fault in as they are written */
	if (madvise((void *)a, e - a, MADV_POPULATE_WRITE) && errno == EINVAL)
		__atomic_store_n(&unsupported, 1, __ATOMIC_RELAXED);
	errno = saved;
}

void coco_free_secret(void *p, size_t n)
{
	coco_wipe(p, n);
	free(p);
}

void coco_free_all(void *const *ptrs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ptrs[i]);
}

void coco_free_secret_strs(char *const *strs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strs[i])
			coco_free_secret(strs[i], strlen(strs[i]));
}

bool coco_streq_free(char *a, char *b)
{
	bool eq = a && b && !strcmp(a, b);
	free(a);
	free(b);
	return eq;
}

const char *coco_str_lookup(const char *const (*map)[2], size_t n, const char *key,
                            const char *dflt)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(key, map[i][0]))
			return map[i][1];
	return dflt;
}

int coco_ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

bool coco_name_is_uri(const char *name)
{
	return name && !strncasecmp(name, "kbs", 3) && (name[3] == ':' || name[3] == '+');
}

int coco_read_named(cocoimg_ctx *ctx, const char *path, size_t max, const char *what,
                    int fetch_code, coco_buf *out, int err_code_missing)
{
	if (!coco_name_is_uri(path))
		return coco_read_file(ctx, path, max, out, err_code_missing);
	if (!ctx || !ctx->read_uri)
		return coco_seterr(ctx, fetch_code, "%s %s: resource URIs are read only by image "
		                   "operations", what, path);
	size_t before = out->len;
	int rc = ctx->read_uri(ctx, path, what, fetch_code, out);
	if (!rc && out->len - before > max) {
		coco_wipe(out->data + before, out->len - before);
		out->len = before;
		rc = coco_seterr(ctx, fetch_code, "%s %s: the resource is over %zu bytes", what, path,
		                 max);
	}
	return rc;
}

int coco_read_fd(cocoimg_ctx *ctx, int fd, const char *path, size_t max, coco_buf *out,
                 int too_big_code)
{
	for (;;) {
		if (coco_buf_reserve(out, 65536)) {
			close(fd);
			return coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory reading %s", path);
		}
		ssize_t n = read(fd, out->data + out->len, out->cap - out->len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			return coco_seterr(ctx, COCOIMG_EIO, "cannot read %s: %s", path, strerror(e));
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		if (out->len > max) {
			close(fd);
			return coco_seterr(ctx, too_big_code, "%s is too large (over %zu bytes)", path,
			                   max);
		}
	}
	close(fd);
	out->data[out->len] = 0;
	return 0;
}

int coco_read_file(cocoimg_ctx *ctx, const char *path, size_t max, coco_buf *out,
                   int err_code_missing)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return coco_seterr(ctx, errno == ENOENT ? err_code_missing : COCOIMG_EIO,
		                   "cannot open %s: %s", path, strerror(errno));
	return coco_read_fd(ctx, fd, path, max, out,
	                    err_code_missing == COCOIMG_EBADIMAGE ? COCOIMG_EBADIMAGE
	                                                          : COCOIMG_EINVAL);
}

int coco_write_all(int fd, const void *buf, size_t n)
{
	const unsigned char *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int coco_write_file_atomic(cocoimg_ctx *ctx, const char *path, const void *data, size_t len,
                           mode_t mode)
{
	char *tmp = coco_asprintf("%s.tmp-XXXXXX", path);
	if (!tmp)
		return COCOIMG_ENOMEM;
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		free(tmp);
		return coco_seterr(ctx, COCOIMG_EIO, "cannot create %s: %s", path, strerror(e));
	}
	int w = coco_write_all(fd, data, len);
	if (w) {
		close(fd);
		unlink(tmp);
		free(tmp);
		return coco_seterr(ctx, COCOIMG_EIO, "cannot write %s: %s", path, strerror(-w));
	}
	if (fchmod(fd, mode) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		free(tmp);
		return coco_seterr(ctx, COCOIMG_EIO, "cannot write %s: %s", path, strerror(e));
	}
	free(tmp);
	return 0;
}

int coco_mkdir_p(cocoimg_ctx *ctx, const char *path, mode_t mode)
{
	char *p = coco_strdup(path);
	if (!p)
		return COCOIMG_ENOMEM;
	for (char *s = p + 1; ; s++) {
		if (*s == '/' || *s == 0) {
			char c = *s;
			*s = 0;
			if (mkdir(p, mode) < 0 && errno != EEXIST) {
				int e = errno;
				int rc = coco_seterr(ctx, COCOIMG_EIO, "cannot create directory %s: %s", p,
				                     strerror(e));
				free(p);
				return rc;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	free(p);
	return 0;
}

static int rm_rf_at(int dfd, const char *name)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -1 : 0;
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		/* maybe no permission to read: try to make it readable */
		if (fchmodat(dfd, name, 0700, 0) < 0)
			return -1;
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return -1;
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (rm_rf_at(dirfd(d), de->d_name) < 0)
			rc = -1;
	}
	closedir(d);
	if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		rc = -1;
	return rc;
}

int coco_rm_rf(cocoimg_ctx *ctx, const char *path)
{
	if (rm_rf_at(AT_FDCWD, path) < 0)
		return coco_seterr(ctx, COCOIMG_EIO, "cannot remove %s: %s", path, strerror(errno));
	return 0;
}

/* ---- base64 ---- */

static const char b64std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *b64enc(const unsigned char *in, size_t len, const char *alpha, bool pad)
{
	size_t olen = 4 * ((len + 2) / 3) + 1;
	char *out = malloc(olen);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[o++] = alpha[(v >> 18) & 63];
		out[o++] = alpha[(v >> 12) & 63];
		if (i + 1 < len)
			out[o++] = alpha[(v >> 6) & 63];
		else if (pad)
			out[o++] = '=';
		if (i + 2 < len)
			out[o++] = alpha[v & 63];
		else if (pad)
			out[o++] = '=';
	}
	out[o] = 0;
	return out;
}

char *coco_b64_encode(const unsigned char *in, size_t len) { return b64enc(in, len, b64std, true); }
char *coco_b64url_encode(const unsigned char *in, size_t len) { return b64enc(in, len, b64url, false); }

static int b64val(unsigned char c, bool url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' && !url)
		return 62;
	if (c == '/' && !url)
		return 63;
	if (c == '-' && url)
		return 62;
	if (c == '_' && url)
		return 63;
	return -1;
}

/* Decodes in[0..inlen) onto the end of out.  On failure out is wiped and
 * freed (data NULL, len 0): a decoded prefix may be part of a secret, and
 * no caller wants half an answer. */
static int b64dec_append(const char *in, size_t n, coco_buf *out, bool url)
{
	if (coco_buf_reserve(out, n / 4 * 3 + 3))
		return COCOIMG_ENOMEM;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64val((unsigned char)in[i], url);
		if (v < 0)
			return COCOIMG_EINVAL;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out->data[out->len++] = (unsigned char)(acc >> bits);
		}
	}
	out->data[out->len] = 0;
	return 0;
}

static int b64dec(const char *in, size_t inlen, coco_buf *out, bool url)
{
	/* strip padding */
	size_t n = inlen;
	size_t pads = 0;
	while (n > 0 && in[n - 1] == '=' && pads < 2) {
		n--;
		pads++;
	}
	int rc = COCOIMG_EINVAL;
	if ((!pads || (n + pads) % 4 == 0) && n % 4 != 1)
		rc = b64dec_append(in, n, out, url);
	if (rc)
		coco_buf_wipe_free(out);
	return rc;
}

int coco_b64_decode(const char *in, size_t inlen, coco_buf *out) { return b64dec(in, inlen, out, false); }
int coco_b64url_decode(const char *in, size_t inlen, coco_buf *out) { return b64dec(in, inlen, out, true); }

void coco_hex_encode(const unsigned char *in, size_t len, char *out)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * len] = 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int coco_hex_decode(const char *in, size_t len, unsigned char *out)
{
	if (len % 2)
		return COCOIMG_EINVAL;
	for (size_t i = 0; i < len / 2; i++) {
		int hi = hexval(in[2 * i]), lo = hexval(in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return COCOIMG_EINVAL;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* ---- directory listing ---- */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void coco_strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static bool name_listed(const char *name, const char *suffix, bool with_hidden)
{
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	if (name[0] == '.' && !with_hidden)
		return false;
	if (!suffix)
		return true;
	size_t l = strlen(name), sl = strlen(suffix);
	return l > sl && !strcmp(name + l - sl, suffix);
}

int coco_list_dir(cocoimg_ctx *ctx, const char *path, const char *suffix, bool with_hidden,
                  bool missing_ok, char ***names, size_t *n)
{
	*names = NULL;
	*n = 0;
	DIR *d = opendir(path);
	if (!d) {
		if ((errno == ENOENT || errno == ENOTDIR) && missing_ok) {
			*names = calloc(1, sizeof(char *));
			return *names ? 0 : coco_oom(ctx);
		}
		return coco_seterr(ctx, errno == ENOENT ? COCOIMG_ENOTFOUND : COCOIMG_EIO,
		                   "cannot read directory %s: %s", path, strerror(errno));
	}
	char **v = calloc(1, sizeof(char *));
	size_t k = 0, cap = 1;
	int rc = v ? 0 : coco_oom(ctx);
	struct dirent *de;
	while (!rc && (errno = 0, de = readdir(d))) {
		if (!name_listed(de->d_name, suffix, with_hidden))
			continue;
		if (k + 1 >= cap) {
			char **nv = realloc(v, 2 * cap * sizeof(char *));
			if (!nv) {
				rc = coco_oom(ctx);
				break;
			}
			v = nv;
			cap *= 2;
		}
		if (!(v[k] = coco_strdup(de->d_name))) {
			rc = coco_oom(ctx);
			break;
		}
		v[++k] = NULL;
	}
	if (!rc && errno)
		rc = coco_seterr(ctx, COCOIMG_EIO, "cannot read directory %s: %s", path,
		                 strerror(errno));
	closedir(d);
	if (rc) {
		coco_strv_free(v, k);
		return rc;
	}
	qsort(v, k, sizeof(*v), cmp_names);
	*names = v;
	*n = k;
	return 0;
}

int coco_oom(cocoimg_ctx *ctx)
{
	return ctx ? coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory") : COCOIMG_ENOMEM;
}

/* ---- libcurl global state ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int coco_curl_global_init(cocoimg_ctx *ctx)
{
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK)
		return coco_seterr(ctx, COCOIMG_EINTERNAL, "libcurl initialisation failed: %s",
		                   curl_easy_strerror(curl_init_rc));
	return 0;
}

uint64_t coco_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void coco_message_copy(char *dst, size_t cap, const char *msg)
{
	if (!cap)
		return;
	snprintf(dst, cap, "%s", msg ? msg : "");
	for (char *c = dst; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
}

static int stop_xferinfo(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                         curl_off_t ulnow)
{
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return coco_stop_requested(ud) ? 1 : 0;
}

void coco_curl_watch_stop(void *easy, cocoimg_ctx *ctx)
{
	/* libcurl calls the progress function about once a second while
	 * nothing moves, and on every chunk otherwise */
	curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, stop_xferinfo);
	curl_easy_setopt(easy, CURLOPT_XFERINFODATA, ctx);
	curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
}
