/* coco-img: registry credentials as skopeo takes them.  --creds
 * USER[:PASSWORD], --username/--password and --no-creds, each also with a
 * --src- or --dest- prefix on copy, encrypt and decrypt; the combinations
 * skopeo refuses are refused with its rules, and what is left becomes the
 * library's "creds" / "no-creds" settings of that side. */
#define _DEFAULT_SOURCE        /* explicit_bzero */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
	const char *creds, *user, *pass;
	bool no_creds;
} side_creds;

static side_creds sides[3];    /* both, src, dest */

static const char *const prefix[] = { "", "src-", "dest-" };
static const char *const key_prefix[] = { "", "src.", "dest." };

int cli_creds_option(int side, enum cli_creds_field f, const char *v)
{
	side_creds *s = &sides[side];
	switch (f) {
	case CLI_CREDS_CREDS: s->creds = v; break;
	case CLI_CREDS_USER: s->user = v; break;
	case CLI_CREDS_PASS: s->pass = v; break;
	case CLI_CREDS_NONE: s->no_creds = true; break;
	}
	return 0;
}

static int check(int i)
{
	const side_creds *s = &sides[i];
	const char *p = prefix[i];
	if (s->creds && s->no_creds)
		return cli_usage("--%screds and --%sno-creds cannot be given together", p, p);
	if (s->user && s->no_creds)
		return cli_usage("--%susername and --%sno-creds cannot be given together", p, p);
	if (s->creds && s->user)
		return cli_usage("--%screds and --%susername cannot be given together", p, p);
	if (!s->user != !s->pass)
		return cli_usage("--%s%s needs --%s%s too", p, s->user ? "username" : "password", p,
		                 s->user ? "password" : "username");
	if (s->creds && !*s->creds)
		return cli_usage("--%screds: the credentials are empty", p);
	if (s->user && (!*s->user || strchr(s->user, ':')))
		return cli_usage("--%susername: a user name is not empty and has no ':'", p);
	return 0;
}

static int set(cli_state *st, int i, const char *key, const char *v)
{
	char k[32];
	snprintf(k, sizeof(k), "%s%s", key_prefix[i], key);
	if (cocoimg_ctx_set(st->ctx, k, v))
		return cli_usage("%s", cocoimg_ctx_last_error(st->ctx));
	return 0;
}

int cli_creds_apply(cli_state *st)
{
	int rc = 0;
	for (int i = 0; i < 3 && !rc; i++) {
		side_creds *s = &sides[i];
		if ((rc = check(i)))
			break;
		if (s->creds) {
			rc = set(st, i, "creds", s->creds);
		} else if (s->user) {
			size_t n = strlen(s->user) + strlen(s->pass) + 2;
			char *c = malloc(n);
			if (!c)
				return cli_error_as(COCOIMG_ENOMEM, "out of memory");
			snprintf(c, n, "%s:%s", s->user, s->pass);
			rc = set(st, i, "creds", c);
			explicit_bzero(c, n);
			free(c);
		} else if (s->no_creds) {
			rc = set(st, i, "no-creds", "true");
		}
	}
	return rc;
}
