/*
 * What a ping found out about a registry (its scheme and the
 * authentication it asks for), remembered per context: a second client
 * for the same registry in the same context (the signatures of an image
 * being verified, the destination of a copy within one registry, the
 * next image a long-running runtime pulls) starts without the GET /v2/
 * round trip, and for an insecure registry without the scheme probe.
 */
#include "registry.h"
#include "../base.h"

#include <stdlib.h>
#include <string.h>

struct coco_ping_memo {
	coco_ping_memo *next;
	char *wire_host;
	bool insecure;             /* answers under tls-verify=false are kept apart */
	char *scheme;
	coco_auth_scheme auth;
	char *realm;
	char *service;
};

void coco_ping_memo_free(coco_ping_memo *m)
{
	while (m) {
		coco_ping_memo *n = m->next;
		COCO_FREE_FIELDS(m->wire_host, m->scheme, m->realm, m->service);
		free(m);
		m = n;
	}
}

static coco_ping_memo *find(coco_ping_memo *m, const coco_reg *r)
{
	for (; m; m = m->next)
		if (m->insecure == r->insecure && !strcmp(m->wire_host, r->wire_host))
			return m;
	return NULL;
}

/* A copy of s, or NULL for NULL; *ok becomes false when out of memory. */
static char *dup_opt(const char *s, bool *ok)
{
	char *d = s ? coco_strdup(s) : NULL;
	if (s && !d)
		*ok = false;
	return d;
}

bool coco_ping_memo_get(coco_reg_state *st, coco_reg *r)
{
	pthread_mutex_lock(&st->mu);
	const coco_ping_memo *m = find(st->pings, r);
	bool ok = m != NULL;
	char *scheme = NULL, *realm = NULL, *service = NULL, *base = NULL;
	if (ok) {
		scheme = dup_opt(m->scheme, &ok);
		realm = dup_opt(m->realm, &ok);
		service = dup_opt(m->service, &ok);
		base = coco_asprintf("%s://%s/v2/", m->scheme, r->wire_host);
		ok = ok && base;
		r->auth = m->auth;
	}
	pthread_mutex_unlock(&st->mu);
	if (!ok) {
		COCO_FREE_FIELDS(scheme, realm, service, base);
		return false;
	}
	COCO_FREE_FIELDS(r->scheme, r->base, r->realm, r->service);
	r->scheme = scheme;
	r->base = base;
	r->realm = realm;
	r->service = service;
	return true;
}

void coco_ping_memo_put(coco_reg_state *st, const coco_reg *r)
{
	coco_ping_memo *m = calloc(1, sizeof(*m));
	bool ok = m != NULL;
	if (ok) {
		m->wire_host = dup_opt(r->wire_host, &ok);
		m->scheme = dup_opt(r->scheme, &ok);
		m->realm = dup_opt(r->realm, &ok);
		m->service = dup_opt(r->service, &ok);
		m->insecure = r->insecure;
		m->auth = r->auth;
	}
	if (!ok || !m->wire_host || !m->scheme) {
		coco_ping_memo_free(m);
		return;            /* nothing remembered: the next client pings */
	}
	pthread_mutex_lock(&st->mu);
	if (find(st->pings, r)) {
		coco_ping_memo_free(m);
	} else {
		m->next = st->pings;
		st->pings = m;
	}
	pthread_mutex_unlock(&st->mu);
}
