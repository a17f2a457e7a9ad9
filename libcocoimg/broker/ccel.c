/*
 * The cc_eventlog of TDX evidence (see ccel.h).  Record layouts from the
 * TCG PC Client Platform Firmware Profile (TCG_PCR_EVENT,
 * TCG_PCR_EVENT2, TCG_EfiSpecIDEvent), little-endian throughout.
 */
#include "ccel.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EV_NO_ACTION 3u
/* TCG_PCR_EVENT: PCRIndex, EventType, a SHA-1 digest, EventSize. */
#define PCR_EVENT_HEAD (4 + 4 + 20 + 4)
/* TCG_EfiSpecIDEvent up to numberOfAlgorithms: signature[16],
 * platformClass, specVersionMinor/Major, specErrata, uintnSize. */
#define SPEC_ID_FIXED 24
/* More algorithms than any TPM or TEE defines means garbage. */
#define MAX_ALGS 32
#define MAX_DIGEST 64

typedef struct alg_table {
	size_t n;
	uint16_t id[MAX_ALGS];
	uint16_t size[MAX_ALGS];
} alg_table;

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static int bad(cocoimg_ctx *ctx, size_t off, const char *what)
{
	return coco_seterr(ctx, COCOIMG_EIO, "event log: %s (offset %zu)", what, off);
}

/* The digest table of the Spec ID event (ev: its data, n bytes), which
 * must account for every byte of the event. */
static int spec_id(cocoimg_ctx *ctx, const unsigned char *ev, size_t n, size_t off, alg_table *t)
{
	if (n < SPEC_ID_FIXED + 4)
		return bad(ctx, off, "the Spec ID event is cut short");
	uint32_t count = le32(ev + SPEC_ID_FIXED);
	if (!count || count > MAX_ALGS)
		return bad(ctx, off, "the Spec ID event lists no or too many digest algorithms");
	size_t p = SPEC_ID_FIXED + 4;
	if ((n - p) / 4 < count)
		return bad(ctx, off, "the Spec ID event's digest table is cut short");
	t->n = count;
	for (size_t i = 0; i < count; i++, p += 4) {
		t->id[i] = le16(ev + p);
		t->size[i] = le16(ev + p + 2);
		if (!t->size[i] || t->size[i] > MAX_DIGEST)
			return bad(ctx, off, "the Spec ID event gives a digest size beyond 1..64");
	}
	if (p >= n || (size_t)ev[p] != n - p - 1)
		return bad(ctx, off, "the Spec ID event's size does not match its contents");
	return 0;
}

/* The TCG_PCR_EVENT header: *off is set past it. */
static int header(cocoimg_ctx *ctx, const unsigned char *log, size_t len, alg_table *t,
                  size_t *off)
{
	if (len < PCR_EVENT_HEAD)
		return bad(ctx, 0, "no TCG_PCR_EVENT header");
	if (le32(log + 4) != EV_NO_ACTION)
		return bad(ctx, 4, "the first event is not the Spec ID event (EV_NO_ACTION)");
	uint32_t size = le32(log + PCR_EVENT_HEAD - 4);
	if (size > len - PCR_EVENT_HEAD)
		return bad(ctx, PCR_EVENT_HEAD - 4, "the Spec ID event runs past the end");
	int rc = spec_id(ctx, log + PCR_EVENT_HEAD, size, PCR_EVENT_HEAD, t);
	*off = PCR_EVENT_HEAD + (size_t)size;
	return rc;
}

static int digest_size(const alg_table *t, uint16_t id)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->id[i] == id)
			return t->size[i];
	return -1;
}

/* Skip the TCG_PCR_EVENT2 at *off (the caller checked it is not the end
 * marker): PCRIndex, EventType, TPML_DIGEST_VALUES, EventSize, Event. */
static int skip_event2(cocoimg_ctx *ctx, const unsigned char *log, size_t len,
                       const alg_table *t, size_t *off)
{
	size_t p = *off;
	if (len - p < 12)
		return bad(ctx, p, "an event record is cut short");
	uint32_t count = le32(log + p + 8);
	p += 12;
	for (uint32_t i = 0; i < count; i++) {
		if (len - p < 2)
			return bad(ctx, p, "a digest is cut short");
		int size = digest_size(t, le16(log + p));
		if (size < 0)
			return bad(ctx, p, "a digest algorithm the Spec ID event does not list");
		if (len - p - 2 < (size_t)size)
			return bad(ctx, p, "a digest is cut short");
		p += 2 + (size_t)size;
	}
	if (len - p < 4)
		return bad(ctx, p, "an event size is cut short");
	uint32_t size = le32(log + p);
	p += 4;
	if (size > len - p)
		return bad(ctx, p - 4, "an event runs past the end");
	*off = p + size;
	return 0;
}

static bool end_marker(const unsigned char *p)
{
	static const unsigned char ff[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const unsigned char zero[8] = { 0 };
	return !memcmp(p, ff, 8) || !memcmp(p, zero, 8);
}

int coco_ccel_trim(cocoimg_ctx *ctx, const unsigned char *log, size_t len, size_t *end)
{
	alg_table t = { .n = 0 };
	size_t off = 0;
	int rc = header(ctx, log, len, &t, &off);
	while (!rc && off < len) {
		if (len - off < 8)
			return bad(ctx, off, "bytes after the last event are neither an event nor "
			                     "the end marker");
		if (end_marker(log + off))
			break;
		rc = skip_event2(ctx, log, len, &t, &off);
	}
	if (!rc)
		*end = off;
	return rc;
}

/* ------------------------------------------------------------------ */
/* The evidence member                                                 */
/* ------------------------------------------------------------------ */

/* The Spec ID event guest-components puts before an AAEL when there is no
 * firmware log: PCR 0, EV_NO_ACTION, a zero SHA-1 digest, 37 bytes of
 * event (zero signature and version fields; SHA-384 of 48 bytes and SM3
 * of 32; no vendor data). */
static int aael_header(cocoimg_ctx *ctx, coco_buf *log)
{
	unsigned char h[PCR_EVENT_HEAD + SPEC_ID_FIXED + 4 + 8 + 1] = { 0 };
	h[4] = EV_NO_ACTION;
	h[PCR_EVENT_HEAD - 4] = SPEC_ID_FIXED + 4 + 8 + 1;
	unsigned char *tab = h + PCR_EVENT_HEAD + SPEC_ID_FIXED;
	tab[0] = 2;                                    /* numberOfAlgorithms */
	tab[4] = 0x0c, tab[6] = 48;                    /* TPM_ALG_SHA384 */
	tab[8] = 0x12, tab[10] = 32;                   /* TPM_ALG_SM3_256 */
	return coco_buf_append(log, h, sizeof(h)) ? coco_oom(ctx) : 0;
}

/* Read path into log when it exists (*found tells). */
static int read_log(cocoimg_ctx *ctx, const char *path, coco_buf *log, bool *found)
{
	*found = access(path, F_OK) == 0;
	if (!*found)
		return 0;
	int rc = coco_read_file(ctx, path, COCO_CCEL_FILE_MAX, log, COCOIMG_EIO);
	return rc ? coco_preferr(ctx, rc, "event log") : 0;
}

static int firmware_log(cocoimg_ctx *ctx, const char *path, coco_buf *log)
{
	bool found;
	int rc = read_log(ctx, path, log, &found);
	if (rc || !found)
		return rc;
	size_t end = 0;
	rc = coco_ccel_trim(ctx, log->data, log->len, &end);
	if (rc)
		return coco_preferr(ctx, rc, "%s", path);
	log->len = end;
	return 0;
}

static int agent_log(cocoimg_ctx *ctx, const char *path, coco_buf *log)
{
	coco_buf aael = COCO_BUF_INIT;
	bool found;
	int rc = read_log(ctx, path, &aael, &found);
	if (!rc && found && !log->len)
		rc = aael_header(ctx, log);
	if (!rc && found && coco_buf_append(log, aael.data, aael.len))
		rc = coco_oom(ctx);
	coco_buf_free(&aael);
	return rc;
}

int coco_cc_eventlog_json(cocoimg_ctx *ctx, const coco_eventlog_paths *paths, coco_buf *out)
{
	const char *ccel = paths && paths->ccel ? paths->ccel : COCO_CCEL_PATH;
	const char *aael = paths && paths->aael ? paths->aael : getenv("AAEL_PATH");
	if (!aael || !*aael)
		aael = COCO_AAEL_PATH;
	coco_buf log = COCO_BUF_INIT;
	int rc = firmware_log(ctx, ccel, &log);
	if (!rc)
		rc = agent_log(ctx, aael, &log);
	if (!rc && !log.len && coco_buf_append(out, "null", 4))
		rc = coco_oom(ctx);
	if (!rc && log.len) {
		static const unsigned char ff[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
		char *b64 = coco_buf_append(&log, ff, sizeof(ff)) ? NULL
		            : coco_b64_encode(log.data, log.len);
		if (!b64 || coco_buf_appendf(out, "\"%s\"", b64))
			rc = coco_oom(ctx);
		free(b64);
	}
	coco_buf_free(&log);
	return rc;
}
