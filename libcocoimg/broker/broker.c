/*
 * The resource chain of a context (broker.h): its sources, built from the
 * context options on first use, and the memo of every answer.
 */
#include "broker.h"
#include "../api.h"
#include "../json.h"
#include "aa.h"
#include "cdh.h"
#include "kbs.h"
#include "resources.h"

#include <unistd.h>

#include <stdlib.h>
#include <string.h>

#define WHY_MAX 300

struct cocoimg_evidence {
	char *tee;
	coco_buf data;
	char msg[256];             /* why it refused, "" if not said */
};

struct cocoimg_resource {
	coco_buf data;
	bool has_data;
	char msg[256];
};

typedef struct memo {
	char *key;
	coco_buf data;
	int rc;
	char *why;
} memo;

typedef struct coco_broker {
	pthread_mutex_t mu;
	cocoimg_resource_cb cb;
	void *cb_payload;
	cocoimg_evidence_cb ev_cb;
	void *ev_payload;
	bool built;
	char *built_kbs;           /* the "kbs" option the chain was built for */
	char *built_cdh;           /* the "cdh" option the chain was built for */
	char *built_resources;     /* the "resources" option the chain was built for */
	int build_rc;              /* loading the resources file failed: the code */
	char *build_msg;           /* ... and its message */
	coco_broker_source *src;
	size_t n_src;
	memo *memo;
	size_t n_memo;
} coco_broker;

/* ------------------------------------------------------------------ */
/* State on the context                                                */
/* ------------------------------------------------------------------ */

static void memo_clear(coco_broker *b)
{
	for (size_t i = 0; i < b->n_memo; i++) {
		free(b->memo[i].key);
		free(b->memo[i].why);
		coco_buf_wipe_free(&b->memo[i].data);
	}
	free(b->memo);
	b->memo = NULL;
	b->n_memo = 0;
}

static void sources_clear(coco_broker *b)
{
	for (size_t i = 0; i < b->n_src; i++) {
		if (b->src[i].free)
			b->src[i].free(b->src[i].self);
		free(b->src[i].label);
	}
	free(b->src);
	b->src = NULL;
	b->n_src = 0;
	free(b->built_resources);
	free(b->built_kbs);
	free(b->built_cdh);
	free(b->build_msg);
	b->built_resources = b->build_msg = b->built_kbs = b->built_cdh = NULL;
	b->build_rc = 0;
	b->built = false;
}

static void broker_free(void *p)
{
	coco_broker *b = p;
	if (!b)
		return;
	sources_clear(b);
	memo_clear(b);
	pthread_mutex_destroy(&b->mu);
	free(b);
}

static coco_broker *broker_of(cocoimg_ctx *ctx)
{
	pthread_mutex_lock(&ctx->lock);
	coco_broker *b = ctx->broker_state;
	if (!b && (b = calloc(1, sizeof(*b)))) {
		pthread_mutex_init(&b->mu, NULL);
		ctx->broker_state = b;
		ctx->broker_state_free = broker_free;
	}
	pthread_mutex_unlock(&ctx->lock);
	return b;
}

/* The context's broker, locked (unlock b->mu after use); NULL when it
 * could not be made. */
static coco_broker *broker_lock(cocoimg_ctx *ctx)
{
	coco_broker *b = broker_of(ctx);
	if (b)
		pthread_mutex_lock(&b->mu);
	return b;
}

/* ------------------------------------------------------------------ */
/* Sources                                                             */
/* ------------------------------------------------------------------ */

/* Append s to the chain, which then owns it; on failure (s->label NULL
 * meaning its allocation failed) s's label and state are freed. */
static int add_source(coco_broker *b, const coco_broker_source *s)
{
	coco_broker_source *n = s->label ? realloc(b->src, (b->n_src + 1) * sizeof(*n)) : NULL;
	if (!n) {
		free(s->label);
		if (s->free)
			s->free(s->self);
		return COCOIMG_ENOMEM;
	}
	b->src = n;
	b->src[b->n_src++] = *s;
	return 0;
}

static int resfile_get(void *self, cocoimg_ctx *ctx, const coco_ruri *r, coco_buf *out,
                       coco_buf *why)
{
	(void)ctx;
	int rc = coco_resfile_get(self, r->path, out);
	if (rc == COCOIMG_ENOTFOUND)
		coco_buf_appendf(why, "no entry \"%s\"", r->path);
	return rc;
}

static void resfile_free(void *self)
{
	coco_resfile_free(self);
}

/* 1. The resources file.  A file that cannot be loaded is remembered
 * and reported by every get (the user named it: the error is theirs). */
static int build_resfile(cocoimg_ctx *ctx, coco_broker *b, const char *path)
{
	coco_resfile *f = NULL;
	int rc = coco_resfile_load(ctx, path, &f);
	if (rc == COCOIMG_ENOMEM)
		return rc;
	if (rc) {
		b->build_rc = rc;
		b->build_msg = coco_strdup(cocoimg_ctx_last_error(ctx));
		return b->build_msg ? 0 : COCOIMG_ENOMEM;
	}
	coco_broker_source s = { coco_asprintf("resources file %s", path), f, resfile_get, NULL,
	                         resfile_free };
	return add_source(b, &s);
}

/* 2. The resource callback (installed on the broker at any time). */
static int callback_get(void *self, cocoimg_ctx *ctx, const coco_ruri *r, coco_buf *out,
                        coco_buf *why)
{
	coco_broker *b = self;
	(void)ctx;
	if (!b->cb)
		return COCOIMG_ENOTFOUND;
	cocoimg_resource res;
	memset(&res, 0, sizeof(res));
	int cr = b->cb(r->uri, &res, b->cb_payload);
	int rc = 0;
	if (cr == COCOIMG_ECANCELLED)
		rc = COCOIMG_ECANCELLED;
	else if (cr || !res.has_data)
		rc = COCOIMG_ENOTFOUND;
	else if (coco_buf_append(out, res.data.data, res.data.len))
		rc = COCOIMG_ENOMEM;
	if (rc == COCOIMG_ENOTFOUND)
		coco_buf_appendf(why, "%s", res.msg[0] ? res.msg : cr ? "refused" : "gave no data");
	coco_buf_wipe_free(&res.data);
	return rc;
}

static int build_callback(coco_broker *b)
{
	coco_broker_source s = { coco_strdup("resource callback"), b, callback_get, NULL, NULL };
	return add_source(b, &s);
}

/* The state of a source that is a client of a remote service (the CDH,
 * a KBS): the client, or why it could not be made, which is then the
 * source's answer for every resource. */
typedef struct remote_src {
	coco_broker *b;
	coco_cdh *cdh;             /* the CDH source's client */
	coco_kbs *kbs;             /* the KBS source's client, made on first use */
	char *url;                 /* KBS: its URL, CA file and attester option */
	char *ca;
	char *attester;
	char *init_msg;            /* why the client could not be made */
} remote_src;

static void remote_src_free(void *self)
{
	remote_src *c = self;
	if (!c)
		return;
	coco_cdh_free(c->cdh);
	coco_kbs_free(c->kbs);
	COCO_FREE_FIELDS(c->url, c->ca, c->attester, c->init_msg, c);
}

/* A client's failure to be made (rc from its constructor, the message on
 * ctx) kept in *msg: it is the source's answer from then on.  0, or
 * COCOIMG_ENOMEM. */
static int keep_init_failure(cocoimg_ctx *ctx, int rc, char **msg)
{
	if (rc == COCOIMG_ENOMEM || (rc && !(*msg = coco_strdup(cocoimg_ctx_last_error(ctx)))))
		return COCOIMG_ENOMEM;
	return 0;
}

/* The answer of a source whose client could not be made. */
static int init_failed(const char *msg, coco_buf *why)
{
	coco_buf_appendf(why, "%s", msg);
	return COCOIMG_EINVAL;
}

/* A failed call's reason into why; the code the chain expects. */
static int call_answer(cocoimg_ctx *ctx, int rc, coco_buf *why)
{
	if (rc && rc != COCOIMG_ENOMEM && rc != COCOIMG_ECANCELLED)
		coco_buf_appendf(why, "%s", cocoimg_ctx_last_error(ctx));
	return rc;
}

/* 3. The confidential-data-hub (ctx option "cdh": its socket), asked for
 * resources with GetResource and for CoCo packets with UnwrapKey.  An
 * address that does not parse is this source's answer for every
 * resource. */
static int cdh_get(void *self, cocoimg_ctx *ctx, const coco_ruri *r, coco_buf *out,
                   coco_buf *why)
{
	remote_src *c = self;
	if (!c->cdh)
		return init_failed(c->init_msg, why);
	return call_answer(ctx, coco_cdh_get_resource(c->cdh, ctx, r->uri, out), why);
}

static int cdh_unwrap(void *self, cocoimg_ctx *ctx, const unsigned char *packet, size_t len,
                      coco_buf *out, coco_buf *why)
{
	remote_src *c = self;
	if (!c->cdh)
		return init_failed(c->init_msg, why);
	return call_answer(ctx, coco_cdh_unwrap_key(c->cdh, ctx, packet, len, out), why);
}

static int build_cdh(cocoimg_ctx *ctx, coco_broker *b)
{
	const char *addr = coco_opt(ctx, NULL, "cdh");
	if (!addr || !*addr)
		return 0;
	remote_src *c = calloc(1, sizeof(*c));
	if (!c)
		return COCOIMG_ENOMEM;
	if (keep_init_failure(ctx, coco_cdh_new(ctx, addr, &c->cdh), &c->init_msg)) {
		remote_src_free(c);
		return COCOIMG_ENOMEM;
	}
	coco_broker_source s = { coco_asprintf("CDH %s", addr), c, cdh_get, cdh_unwrap,
	                         remote_src_free };
	return add_source(b, &s);
}

/* 4. A KBS (ctx option "kbs"), attesting with the "attester" option's
 * evidence (or the runtime's evidence callback).  The client is made on
 * the first resource asked for, and a failure to make it is the answer
 * of this source for every resource. */

/* The runtime's evidence callback as the attester's evidence function. */
static int evidence_fn(void *payload, const unsigned char *rd, size_t len,
                       unsigned char **evidence, size_t *evidence_len, char **tee, char *why,
                       size_t why_cap)
{
	coco_broker *b = payload;
	cocoimg_evidence ev;
	memset(&ev, 0, sizeof(ev));
	int r = b->ev_cb ? b->ev_cb(rd, len, &ev, b->ev_payload) : 1;
	if (!r && (!ev.tee || (rd && !ev.data.len)))
		r = 1;
	if (r) {
		snprintf(why, why_cap, "%s", ev.msg);
		free(ev.tee);
		coco_buf_wipe_free(&ev.data);
		return r;
	}
	*tee = ev.tee;
	if (rd)
		*evidence = coco_buf_detach(&ev.data, evidence_len);
	coco_buf_wipe_free(&ev.data);
	return 0;
}

/* The evidence source the options name: "sample", "tsm", "aa:SOCKET" (the
 * attestation agent), the runtime's callback; none given: the callback
 * when there is one, else tsm when the kernel has configfs-tsm. */
static int make_attester(cocoimg_ctx *ctx, remote_src *k, coco_attester **out)
{
	const char *a = k->attester;
	if (!a && k->b->ev_cb)
		return coco_attester_callback(ctx, evidence_fn, k->b, out);
	if (a && !strcmp(a, "sample"))
		return coco_attester_sample(ctx, out);
	if (a && !strncmp(a, "aa:", 3))
		return coco_attester_aa(ctx, a + 3, out);
	if ((a && !strcmp(a, "tsm")) || (!a && access(COCO_TSM_ROOT, F_OK) == 0))
		return coco_attester_tsm(ctx, COCO_TSM_ROOT, NULL, out);
	if (a)
		return coco_seterr(ctx, COCOIMG_EINVAL, "attester \"%.100s\": expected tsm, sample "
		                   "or aa:SOCKET (or an evidence callback)", a);
	return coco_seterr(ctx, COCOIMG_EINVAL, "no evidence for the KBS: %s does not exist; "
	                   "choose --attester tsm, aa:SOCKET or sample, or install an evidence "
	                   "callback",
	                   COCO_TSM_ROOT);
}

static int kbs_init(cocoimg_ctx *ctx, remote_src *k)
{
	coco_attester *att = NULL;
	int rc = make_attester(ctx, k, &att);
	if (!rc)
		rc = coco_kbs_new(ctx, k->url, k->ca, att, &k->kbs);
	else
		coco_attester_free(att);
	return keep_init_failure(ctx, rc, &k->init_msg);
}

static int kbs_get(void *self, cocoimg_ctx *ctx, const coco_ruri *r, coco_buf *out,
                   coco_buf *why)
{
	remote_src *k = self;
	if (!k->kbs && !k->init_msg) {
		int rc = kbs_init(ctx, k);
		if (rc == COCOIMG_ENOMEM)
			return rc;
	}
	if (!k->kbs)
		return init_failed(k->init_msg, why);
	int rc = coco_kbs_get_resource(k->kbs, r->path, out);
	if (rc == COCOIMG_ENOTFOUND) {
		coco_buf_appendf(why, "not found or not released");
		return rc;
	}
	return call_answer(ctx, rc, why);
}

static int build_kbs(cocoimg_ctx *ctx, coco_broker *b)
{
	const char *url = coco_opt(ctx, NULL, "kbs");
	if (!url || !*url)
		return 0;
	remote_src *k = calloc(1, sizeof(*k));
	const char *ca = coco_opt(ctx, NULL, "kbs-cert"), *att = coco_opt(ctx, NULL, "attester");
	if (!k || !(k->url = coco_strdup(url)) || (ca && !(k->ca = coco_strdup(ca))) ||
	    (att && !(k->attester = coco_strdup(att)))) {
		remote_src_free(k);
		return COCOIMG_ENOMEM;
	}
	k->b = b;
	coco_broker_source s = { coco_asprintf("KBS %s", url), k, kbs_get, NULL, remote_src_free };
	return add_source(b, &s);
}

/* The chain for the current options: resources file, callback, CDH, KBS. */
static bool same_opt(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static int build(cocoimg_ctx *ctx, coco_broker *b)
{
	const char *res = coco_opt(ctx, NULL, "resources"), *kbs = coco_opt(ctx, NULL, "kbs");
	const char *cdh = coco_opt(ctx, NULL, "cdh");
	if (b->built && same_opt(res, b->built_resources) && same_opt(kbs, b->built_kbs) &&
	    same_opt(cdh, b->built_cdh))
		return 0;
	sources_clear(b);
	memo_clear(b);
	int rc = 0;
	if (res && !(b->built_resources = coco_strdup(res)))
		rc = COCOIMG_ENOMEM;
	if (!rc && res && *res)
		rc = build_resfile(ctx, b, res);
	if (!rc)
		rc = build_callback(b);
	if (!rc && cdh && !(b->built_cdh = coco_strdup(cdh)))
		rc = COCOIMG_ENOMEM;
	if (!rc)
		rc = build_cdh(ctx, b);
	if (!rc && kbs && !(b->built_kbs = coco_strdup(kbs)))
		rc = COCOIMG_ENOMEM;
	if (!rc)
		rc = build_kbs(ctx, b);
	if (rc) {
		sources_clear(b);
		return coco_oom(ctx);
	}
	b->built = true;
	return 0;
}

bool coco_broker_configured(cocoimg_ctx *ctx)
{
	const char *res = coco_opt(ctx, NULL, "resources"), *kbs = coco_opt(ctx, NULL, "kbs");
	const char *cdh = coco_opt(ctx, NULL, "cdh");
	if ((res && *res) || (kbs && *kbs) || (cdh && *cdh))
		return true;
	coco_broker *b = ctx->broker_state;
	return b && b->cb;
}

/* ------------------------------------------------------------------ */
/* Memo                                                                */
/* ------------------------------------------------------------------ */

static memo *memo_find(coco_broker *b, const char *key)
{
	for (size_t i = 0; i < b->n_memo; i++)
		if (!strcmp(b->memo[i].key, key))
			return &b->memo[i];
	return NULL;
}

static int memo_add(coco_broker *b, const char *key, const coco_buf *data, int rc,
                    const char *why)
{
	memo *n = realloc(b->memo, (b->n_memo + 1) * sizeof(*n));
	if (!n)
		return COCOIMG_ENOMEM;
	b->memo = n;
	memo m = { coco_strdup(key), COCO_BUF_INIT, rc, why ? coco_strdup(why) : NULL };
	if (!m.key || (why && !m.why) ||
	    (!rc && data && coco_buf_append(&m.data, data->data, data->len))) {
		free(m.key);
		free(m.why);
		coco_buf_wipe_free(&m.data);
		return COCOIMG_ENOMEM;
	}
	b->memo[b->n_memo++] = m;
	return 0;
}

/* Ask source i for r once per context.  0 with out appended, or the
 * source's code with its reason appended to why. */
static int source_get(cocoimg_ctx *ctx, coco_broker *b, size_t i, const coco_ruri *r,
                      coco_buf *out, coco_buf *why)
{
	char *key = coco_asprintf("%s\n%s", b->src[i].label, r->uri);
	if (!key)
		return COCOIMG_ENOMEM;
	memo *m = memo_find(b, key);
	int rc;
	if (m) {
		rc = m->rc;
		if (rc)
			coco_buf_appendf(why, "%s", m->why ? m->why : "not found");
		else if (coco_buf_append(out, m->data.data, m->data.len))
			rc = COCOIMG_ENOMEM;
		free(key);
		return rc;
	}
	coco_buf got = COCO_BUF_INIT, reason = COCO_BUF_INIT;
	rc = b->src[i].get(b->src[i].self, ctx, r, &got, &reason);
	if (!rc)
		coco_debug(ctx, "resource %s: from %s (%zu bytes)", r->uri, b->src[i].label, got.len);
	const char *rs = reason.len ? coco_buf_cstr(&reason) : "not found";
	if (rc != COCOIMG_ECANCELLED && rc != COCOIMG_ENOMEM && memo_add(b, key, &got, rc, rs))
		rc = COCOIMG_ENOMEM;
	if (!rc && coco_buf_append(out, got.data, got.len))
		rc = COCOIMG_ENOMEM;
	else if (rc)
		coco_buf_appendf(why, "%s", rs);
	coco_buf_wipe_free(&got);
	coco_buf_free(&reason);
	free(key);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Resolving                                                           */
/* ------------------------------------------------------------------ */

/* "; SOURCE: reason" for the failure message. */
static void note_source(coco_buf *notes, const coco_broker_source *s, coco_buf *why)
{
	coco_buf_appendf(notes, "%s%s: %.*s", notes->len ? "; " : "", s->label,
	                 (int)(why->len > WHY_MAX ? WHY_MAX : why->len),
	                 why->len ? (const char *)why->data : "not found");
	why->len = 0;
}

/* Walk the chain for r.  0 found; COCOIMG_ENOTFOUND (notes filled);
 * ECANCELLED / ENOMEM. */
static int chain_get(cocoimg_ctx *ctx, coco_broker *b, const coco_ruri *r, coco_buf *out,
                     coco_buf *notes)
{
	coco_buf why = COCO_BUF_INIT;
	int rc = COCOIMG_ENOTFOUND;
	for (size_t i = 0; i < b->n_src && rc == COCOIMG_ENOTFOUND; i++) {
		if (b->src[i].get == callback_get && !b->cb)
			continue;
		rc = source_get(ctx, b, i, r, out, &why);
		if (rc && rc != COCOIMG_ECANCELLED && rc != COCOIMG_ENOMEM) {
			note_source(notes, &b->src[i], &why);
			rc = COCOIMG_ENOTFOUND;
		}
	}
	coco_buf_free(&why);
	return rc;
}

static int get_failed(cocoimg_ctx *ctx, coco_broker *b, int rc, const char *what,
                      const coco_ruri *r, int err_code, coco_buf *notes)
{
	if (rc == COCOIMG_ENOMEM)
		return coco_oom(ctx);
	if (rc == COCOIMG_ECANCELLED)
		return coco_seterr(ctx, rc, "%s %s: the resource callback cancelled the operation",
		                   what, r->uri);
	if (b->build_rc)
		return coco_seterr(ctx, err_code, "%s %s: %s", what, r->uri, b->build_msg);
	if (!notes->len)
		return coco_seterr(ctx, err_code, "%s %s: no source of resources is configured "
		                   "(a resources file, a resource callback, CDH or a KBS)", what, r->uri);
	return coco_seterr(ctx, err_code, "%s %s: not found or not released: %s", what, r->uri,
	                   coco_buf_cstr(notes));
}

int coco_broker_get(cocoimg_ctx *ctx, const char *uri, unsigned flags, const char *what,
                    int err_code, coco_buf *out)
{
	coco_ruri r;
	int rc = coco_ruri_parse(ctx, uri, flags, &r);
	if (rc)
		return rc == COCOIMG_ENOMEM ? rc : coco_preferr(ctx, COCOIMG_EINVAL, "%s", what);
	coco_broker *b = broker_lock(ctx);
	if (!b) {
		coco_ruri_clear(&r);
		return coco_oom(ctx);
	}
	coco_buf notes = COCO_BUF_INIT;
	rc = build(ctx, b);
	if (!rc && !b->build_rc)
		rc = chain_get(ctx, b, &r, out, &notes);
	else if (!rc)
		rc = COCOIMG_ENOTFOUND;
	if (rc)
		rc = get_failed(ctx, b, rc, what, &r, err_code, &notes);
	pthread_mutex_unlock(&b->mu);
	coco_buf_free(&notes);
	coco_ruri_clear(&r);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Packets                                                             */
/* ------------------------------------------------------------------ */

/* The packet with "kid" replaced by the normal form (CDH's UnwrapKey
 * takes kbs:// kids only).  NULL when it cannot be rebuilt. */
static char *packet_normalized(const unsigned char *packet, size_t len, const char *uri)
{
	json_t *j = json_loadb((const char *)packet, len, 0, NULL);
	char *s = NULL;
	if (json_is_object(j) && !json_object_set_new(j, "kid", json_string(uri)))
		s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	return s;
}

typedef struct packet_job {
	const coco_ruri *r;
	const unsigned char *packet;
	size_t len;
	coco_broker_try_kek try_kek;
	void *arg;
} packet_job;

/* Source i on a packet: 0 opened, ENOTFOUND (why), ECANCELLED, ENOMEM. */
static int source_packet(cocoimg_ctx *ctx, coco_broker *b, size_t i, const packet_job *pj,
                         coco_buf *opts, coco_buf *why)
{
	coco_broker_source *s = &b->src[i];
	if (s->unwrap) {
		char *np = packet_normalized(pj->packet, pj->len, pj->r->uri);
		if (!np)
			return COCOIMG_ENOMEM;
		int rc = s->unwrap(s->self, ctx, (const unsigned char *)np, strlen(np), opts, why);
		free(np);
		return rc == COCOIMG_ECANCELLED || rc == COCOIMG_ENOMEM || !rc ? rc : COCOIMG_ENOTFOUND;
	}
	coco_buf kek = COCO_BUF_INIT;
	int rc = source_get(ctx, b, i, pj->r, &kek, why);
	if (!rc) {
		int t = pj->try_kek(pj->arg, kek.data, kek.len, opts);
		if (t == 1)
			coco_buf_appendf(why, "the key it gave does not open the packet");
		rc = t == 0 ? 0 : t == 1 ? COCOIMG_ENOTFOUND : t;
	}
	coco_buf_wipe_free(&kek);
	if (rc && rc != COCOIMG_ECANCELLED && rc != COCOIMG_ENOMEM)
		rc = COCOIMG_ENOTFOUND;
	return rc;
}

static int packet_chain(cocoimg_ctx *ctx, coco_broker *b, const packet_job *pj, coco_buf *opts,
                        coco_buf *tried)
{
	coco_buf why = COCO_BUF_INIT, notes = COCO_BUF_INIT;
	int rc = COCOIMG_ENOTFOUND;
	for (size_t i = 0; i < b->n_src && rc == COCOIMG_ENOTFOUND; i++) {
		if (b->src[i].get == callback_get && !b->cb)
			continue;
		rc = source_packet(ctx, b, i, pj, opts, &why);
		if (rc == COCOIMG_ENOTFOUND)
			note_source(&notes, &b->src[i], &why);
	}
	if (rc == COCOIMG_ENOTFOUND && b->build_rc)
		coco_buf_appendf(&notes, "%s%s", notes.len ? "; " : "", b->build_msg);
	if (rc == COCOIMG_ENOTFOUND && notes.len)
		coco_buf_appendf(tried, "%s%s", tried->len ? "; " : "", coco_buf_cstr(&notes));
	coco_buf_free(&why);
	coco_buf_free(&notes);
	return rc == COCOIMG_ENOTFOUND ? COCOIMG_ENOKEY : rc;
}

int coco_broker_open_packet(cocoimg_ctx *ctx, const char *kid, const unsigned char *packet,
                            size_t len, coco_broker_try_kek try_kek, void *arg, coco_buf *opts,
                            coco_buf *tried)
{
	coco_ruri r;
	int rc = coco_ruri_parse(NULL, kid, COCO_RURI_KID, &r);
	if (rc == COCOIMG_ENOMEM)
		return coco_oom(ctx);
	if (rc)
		return COCOIMG_ENOKEY;     /* not a resource: no broker source has it */
	coco_broker *b = broker_lock(ctx);
	if (!b) {
		coco_ruri_clear(&r);
		return coco_oom(ctx);
	}
	packet_job pj = { &r, packet, len, try_kek, arg };
	rc = build(ctx, b);
	if (!rc)
		rc = packet_chain(ctx, b, &pj, opts, tried);
	pthread_mutex_unlock(&b->mu);
	coco_ruri_clear(&r);
	if (rc == COCOIMG_ENOMEM)
		return coco_oom(ctx);
	if (rc == COCOIMG_ECANCELLED)
		return coco_seterr(ctx, rc, "CoCo packet kid %s: the resource callback cancelled the "
		                   "operation", kid);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Memo for other callers                                              */
/* ------------------------------------------------------------------ */

int coco_broker_memo_lookup(cocoimg_ctx *ctx, const char *key, coco_buf *out, int *rc,
                            const char **why)
{
	coco_broker *b = broker_lock(ctx);
	if (!b)
		return coco_oom(ctx);
	memo *m = memo_find(b, key);
	int found = m ? 1 : 0;
	if (m) {
		*rc = m->rc;
		*why = m->why;
		if (!m->rc && coco_buf_append(out, m->data.data, m->data.len))
			found = coco_oom(ctx);
	}
	pthread_mutex_unlock(&b->mu);
	return found;
}

int coco_broker_memo_store(cocoimg_ctx *ctx, const char *key, const unsigned char *data,
                           size_t len, int rc, const char *why)
{
	coco_buf d = { (unsigned char *)data, len, len };
	coco_broker *b = broker_lock(ctx);
	if (!b)
		return coco_oom(ctx);
	int r = memo_find(b, key) ? 0 : memo_add(b, key, &d, rc, why);
	pthread_mutex_unlock(&b->mu);
	return r ? coco_oom(ctx) : 0;
}

/* ------------------------------------------------------------------ */
/* Public API                                                          */
/* ------------------------------------------------------------------ */

COCOIMG_API int cocoimg_resource_set_data(cocoimg_resource *res, const void *data, size_t len)
{
	if (!res || (!data && len))
		return COCOIMG_EINVAL;
	coco_buf_wipe_free(&res->data);
	if (coco_buf_reserve(&res->data, len + 1) || coco_buf_append(&res->data, data, len))
		return COCOIMG_ENOMEM;
	res->has_data = true;
	return 0;
}

COCOIMG_API void cocoimg_resource_set_message(cocoimg_resource *res, const char *message)
{
	if (!res)
		return;
	coco_message_copy(res->msg, sizeof(res->msg), message);
}

COCOIMG_API int cocoimg_ctx_set_resource_cb(cocoimg_ctx *ctx, cocoimg_resource_cb cb,
                                            void *payload)
{
	COCO_API_ENTER(ctx);
	coco_broker *b = broker_lock(ctx);
	if (!b)
		return COCOIMG_ENOMEM;
	b->cb = cb;
	b->cb_payload = cb ? payload : NULL;
	memo_clear(b);     /* answers of an earlier callback no longer hold */
	pthread_mutex_unlock(&b->mu);
	return 0;
}

COCOIMG_API int cocoimg_evidence_set_tee(cocoimg_evidence *ev, const char *tee)
{
	if (!ev || !tee || !*tee)
		return COCOIMG_EINVAL;
	free(ev->tee);
	ev->tee = coco_strdup(tee);
	return ev->tee ? 0 : COCOIMG_ENOMEM;
}

COCOIMG_API int cocoimg_evidence_set_data(cocoimg_evidence *ev, const void *data, size_t len)
{
	if (!ev || !data || !len)
		return COCOIMG_EINVAL;
	coco_buf_wipe_free(&ev->data);
	return coco_buf_append(&ev->data, data, len) ? COCOIMG_ENOMEM : 0;
}

COCOIMG_API void cocoimg_evidence_set_message(cocoimg_evidence *ev, const char *message)
{
	if (ev)
		coco_message_copy(ev->msg, sizeof(ev->msg), message);
}

COCOIMG_API int cocoimg_ctx_set_evidence_cb(cocoimg_ctx *ctx, cocoimg_evidence_cb cb,
                                            void *payload)
{
	COCO_API_ENTER(ctx);
	coco_broker *b = broker_lock(ctx);
	if (!b)
		return COCOIMG_ENOMEM;
	b->ev_cb = cb;
	b->ev_payload = cb ? payload : NULL;
	sources_clear(b);  /* a KBS client attests anew with the new evidence */
	memo_clear(b);
	pthread_mutex_unlock(&b->mu);
	return 0;
}
