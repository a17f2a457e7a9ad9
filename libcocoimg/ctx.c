/*
 * The context: creation, logging and progress callbacks, configuration
 * keys (validated on set, looked up per side).  Its error message lives in
 * error.c.
 */
#include "api.h"
#include "base.h"
#include "caps.h"
#include "oci/oci.h"
#include "thread.h"

#include <stdlib.h>
#include <string.h>

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
	if (c->broker_state && c->broker_state_free)
		c->broker_state_free(c->broker_state);
	for (size_t i = 0; i < c->n_opts; i++) {
		free(c->opts[i].key);
		if (c->opts[i].value)
			coco_free_secret(c->opts[i].value, strlen(c->opts[i].value));
	}
	free(c->opts);
	pthread_mutex_destroy(&c->lock);
	free(c);
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

COCOIMG_API void cocoimg_ctx_cancel(cocoimg_ctx *c)
{
	/* a lock-free atomic store: safe from any thread and from a signal
	 * handler */
	if (c)
		__atomic_store_n(&c->cancelled, 1, __ATOMIC_RELEASE);
}

COCOIMG_API void cocoimg_ctx_reset_cancel(cocoimg_ctx *c)
{
	if (c)
		__atomic_store_n(&c->cancelled, 0, __ATOMIC_RELEASE);
}

COCOIMG_API int cocoimg_ctx_cancelled(const cocoimg_ctx *c)
{
	return c && __atomic_load_n(&c->cancelled, __ATOMIC_ACQUIRE);
}

void coco_deadline_arm(cocoimg_ctx *c)
{
	uint64_t ms = coco_limit(c, COCO_LIM_COMMAND_TIMEOUT);
	__atomic_store_n(&c->deadline_ns, ms ? coco_now_ns() + ms * 1000000ull : 0,
	                 __ATOMIC_RELEASE);
}

int64_t coco_deadline_left_ms(const cocoimg_ctx *c)
{
	uint64_t d = c ? __atomic_load_n(&c->deadline_ns, __ATOMIC_ACQUIRE) : 0;
	if (!d)
		return -1;
	uint64_t now = coco_now_ns();
	return now >= d ? 0 : (int64_t)((d - now + 999999) / 1000000);
}

bool coco_stop_requested(const cocoimg_ctx *c)
{
	return c && (__atomic_load_n(&c->cancelled, __ATOMIC_ACQUIRE) || coco_deadline_left_ms(c) == 0);
}

int coco_check_stop(cocoimg_ctx *c)
{
	if (!c)
		return 0;
	if (__atomic_load_n(&c->cancelled, __ATOMIC_ACQUIRE))
		return coco_seterr(c, COCOIMG_ECANCELLED, "cancelled (cocoimg_ctx_cancel)");
	if (coco_deadline_left_ms(c) == 0) {
		const char *v = coco_opt(c, NULL, "command-timeout");
		return coco_seterr(c, COCOIMG_ECANCELLED, "the operation ran past its command timeout (%s)",
		                   v ? v : "?");
	}
	return 0;
}

static const char *phase_name(int phase)
{
	static const char *const names[] = { "other", "download", "decrypt", "apply", "upload",
		                             "encrypt" };
	return phase >= 0 && (size_t)phase < COCO_ARRAY_SIZE(names) ? names[phase] : "other";
}

int coco_progress(cocoimg_ctx *c, const coco_progress_src *s, uint64_t done, uint64_t total,
                  int finished)
{
	int src = coco_check_stop(c);
	if (src)
		return src;
	if (!c || !c->progress_cb || !s || !s->what)
		return 0;
	cocoimg_progress p = { 2, s->digest, s->what, done, total, finished, s->phase,
		               phase_name(s->phase), s->layer, s->layers };
	if (c->progress_cb(&p, c->progress_payload))
		return coco_seterr(c, COCOIMG_ECANCELLED, "cancelled by progress callback");
	return 0;
}

/* Known configuration keys (without side prefix). */
static const char *const known_keys[] = {
	"authfile", "creds", "cert-dir", "ca-cert", "tls-verify", "platform", "retry-times",
	"policy", "registries.d", "keyprovider-config", "keyprovider-timeout",
	"proxy", "tmpdir", "parallel", "user-agent", "registry-token",
	"no-creds", "resources", "require-encrypted", "kbs", "kbs-cert", "attester", "cdh",
	"threads",
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
	return coco_limit_is_key(k);
}

/* The values of the boolean and number keys (base: without a side
 * prefix); 0 or COCOIMG_EINVAL recorded. */
static int check_simple(cocoimg_ctx *c, const char *base, const char *value)
{
	if (!value)
		return 0;
	if ((!strcmp(base, "tls-verify") || !strcmp(base, "require-encrypted")) &&
	    strcmp(value, "true") && strcmp(value, "false"))
		return coco_seterr(c, COCOIMG_EINVAL, "%s must be true or false, not \"%s\"", base, value);
	if (!strcmp(base, "retry-times") || !strcmp(base, "parallel") ||
	    !strcmp(base, "keyprovider-timeout")) {
		char *end;
		long v = strtol(value, &end, 10);
		if (!*value || *end || v < 0 || v > 1000000)
			return coco_seterr(c, COCOIMG_EINVAL, "%s must be a non-negative number, not \"%s\"",
			                   base, value);
	}
	if (!strcmp(base, "threads"))
		return coco_threads_validate(c, value);
	return 0;
}

COCOIMG_API int cocoimg_ctx_set(cocoimg_ctx *c, const char *key, const char *value)
{
	COCO_API_ENTER(c);
	if (!key)
		return coco_seterr(c, COCOIMG_EINVAL, "no configuration key given");
	if (!key_known(key))
		return coco_seterr(c, COCOIMG_EINVAL, "unknown configuration key \"%s\"", key);
	const char *base = strchr(key, '.') && strncmp(key, "registries.d", 12) ? strchr(key, '.') + 1 : key;
	int vrc = check_simple(c, base, value);
	if (vrc)
		return vrc;
	if ((coco_limit_is_key(base) || !strcmp(base, "threads")) && base != key)
		return coco_seterr(c, COCOIMG_EINVAL, "%s applies to the whole operation: set it "
		                   "without a src. or dest. prefix", base);
	if (coco_limit_is_key(key)) {
		int lrc = coco_limit_validate(c, key, value);
		if (lrc)
			return lrc;
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
