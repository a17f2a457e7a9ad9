/*
 * Signed-note checkpoints (transparency-dev "log checkpoint" format, as
 * Rekor v1 and v2 write them in a bundle's inclusion proof):
 *
 *   <origin>\n<tree size>\n<base64 root hash>\n[<extension line>\n]...
 *   \n
 *   \u2014 <signer name> <base64(4-byte key hint || signature)>\n ...
 *
 * The note (everything up to and including the newline before the blank
 * line) is what each signature covers.
 */
#include "sigstore.h"
#include "../base.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define EMDASH "\xe2\x80\x94"

static int cp_err(cocoimg_ctx *ctx, const char *why)
{
	return coco_seterr(ctx, COCOIMG_EPOLICY, "checkpoint: %s", why);
}

void coco_checkpoint_clear(coco_checkpoint *c)
{
	if (c) {
		free(c->origin);
		*c = (coco_checkpoint){0};
	}
}

/* Next line of [*p, end): sets *line and *n (without '\n'); -1 when no '\n'. */
static int next_line(const char **p, const char *end, const char **line, size_t *n)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	if (!nl)
		return -1;
	*line = *p;
	*n = (size_t)(nl - *p);
	*p = nl + 1;
	return 0;
}

static int parse_size(const char *s, size_t n, uint64_t *out)
{
	if (!n || n > 19 || (n > 1 && s[0] == '0'))
		return -1;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* A signed note is text: like Go's sumdb/note, no control character
 * but the newline (a NUL would also cut the origin short). */
static bool note_text_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\n') || c == 0x7f)
			return false;
	}
	return true;
}

/* The note body: origin, size, root hash, extension lines.  *note_len is
 * the length of the signed text. */
static int parse_note(cocoimg_ctx *ctx, const char *env, size_t len, coco_checkpoint *out,
                      size_t *note_len)
{
	const char *p = env, *end = env + len, *l;
	size_t n;
	if (!note_text_ok(env, len))
		return cp_err(ctx, "control characters in the note");
	if (next_line(&p, end, &l, &n) || !n)
		return cp_err(ctx, "missing origin line");
	if (!(out->origin = coco_strndup(l, n)))
		return coco_oom(ctx);
	if (next_line(&p, end, &l, &n) || parse_size(l, n, &out->size))
		return cp_err(ctx, "missing or malformed tree size");
	coco_buf h = COCO_BUF_INIT;
	if (next_line(&p, end, &l, &n) || !n || coco_b64_decode(l, n, &h) || h.len != 32) {
		coco_buf_free(&h);
		return cp_err(ctx, "missing or malformed root hash");
	}
	memcpy(out->root, h.data, 32);
	coco_buf_free(&h);
	for (;;) {
		if (next_line(&p, end, &l, &n))
			return cp_err(ctx, "no blank line before the signatures");
		if (!n)
			break;
	}
	*note_len = (size_t)(p - env) - 1;
	return 0;
}

int coco_checkpoint_parse(cocoimg_ctx *ctx, const char *envelope, size_t len, coco_checkpoint *out)
{
	*out = (coco_checkpoint){0};
	size_t note_len;
	int rc = parse_note(ctx, envelope, len, out, &note_len);
	if (rc)
		coco_checkpoint_clear(out);
	return rc;
}

/* Signer name acceptable for origin: equal, or origin = name " - " id. */
static bool name_matches(const char *name, size_t n, const char *origin)
{
	size_t ol = strlen(origin);
	if (ol == n)
		return !memcmp(name, origin, n);
	return ol > n + 3 && !memcmp(name, origin, n) && !memcmp(origin + n, " - ", 3);
}

/* One signature line "\u2014 NAME B64": 1 when it is log's and verifies. */
static int line_verifies(const coco_tlog_key *log, const char *origin, const char *l, size_t n,
                         const char *note, size_t note_len)
{
	if (n < 4 || memcmp(l, EMDASH " ", 4))
		return 0;
	l += 4;
	n -= 4;
	const char *sp = memchr(l, ' ', n);
	if (!sp || sp == l || !name_matches(l, (size_t)(sp - l), origin))
		return 0;
	coco_buf sig = COCO_BUF_INIT;
	size_t bl = n - (size_t)(sp + 1 - l);
	int ok = 0;
	if (!coco_b64_decode(sp + 1, bl, &sig) && sig.len > 4 && log->log_id_len >= 4 &&
	    !memcmp(sig.data, log->log_id, 4))
		ok = coco_sigstore_verify_data(log->key, sig.data + 4, sig.len - 4, note, note_len);
	coco_buf_free(&sig);
	return ok;
}

int coco_checkpoint_verify(cocoimg_ctx *ctx, const coco_tlog_key *log, const char *envelope,
                           size_t len, coco_checkpoint *out)
{
	*out = (coco_checkpoint){0};
	size_t note_len;
	int rc = parse_note(ctx, envelope, len, out, &note_len);
	if (rc) {
		coco_checkpoint_clear(out);
		return rc;
	}
	const char *p = envelope + note_len + 1, *end = envelope + len, *l;
	size_t n;
	bool found = false;
	while (!found && !next_line(&p, end, &l, &n))
		found = line_verifies(log, out->origin, l, n, envelope, note_len) == 1;
	if (!found) {
		coco_checkpoint_clear(out);
		return cp_err(ctx, "no valid signature by the transparency log that holds the entry");
	}
	return 0;
}
