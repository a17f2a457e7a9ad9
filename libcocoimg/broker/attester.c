/*
 * Evidence sources for the KBS attestation protocol: configfs-tsm, a
 * runtime's callback, the protocol's sample TEE (see attester.h).
 *
 * Evidence shapes follow what Trustee's verifiers deserialize
 * (confidential-containers/trustee deps/verifier: sample, tdx, cca, snp) and
 * what guest-components' attesters produce (attestation-agent/attester:
 * sample, tdx, cca, snp, tsm_report).  Report data is padded with zeros
 * to 64 bytes for TDX, SEV-SNP and CCA, as those attesters do; the sample TEE carries it
 * as given (Trustee's sample verifier compares it byte for byte with the
 * hash it computes).
 */
#include "attester.h"
#include "ccel.h"
#include "snp.h"
#include "../base.h"
#include "../json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REPORT_DATA_MAX 64

struct coco_attester {
	const coco_attester_ops *ops;
	void *state;
	char tee[COCO_TEE_MAX];    /* cached answer of ops->tee ("" until asked) */
};

bool coco_tee_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (!n || n >= COCO_TEE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

int coco_attester_new(cocoimg_ctx *ctx, const coco_attester_ops *ops, void *state,
                      coco_attester **out)
{
	*out = NULL;
	coco_attester *a = calloc(1, sizeof(*a));
	if (!a) {
		if (ops->free)
			ops->free(state);
		return coco_oom(ctx);
	}
	a->ops = ops;
	a->state = state;
	*out = a;
	return 0;
}

void coco_attester_free(coco_attester *a)
{
	if (!a)
		return;
	if (a->ops->free)
		a->ops->free(a->state);
	free(a);
}

const char *coco_attester_name(const coco_attester *a)
{
	return a->ops->name;
}

int coco_attester_tee(coco_attester *a, cocoimg_ctx *ctx, char tee[COCO_TEE_MAX])
{
	if (!a->tee[0]) {
		char t[COCO_TEE_MAX] = "";
		int rc = a->ops->tee(ctx, a->state, t);
		if (rc)
			return rc;
		if (!coco_tee_name_ok(t))
			return coco_seterr(ctx, COCOIMG_EINVAL, "attester %s: invalid TEE name",
			                   a->ops->name);
		memcpy(a->tee, t, sizeof(t));
	}
	memcpy(tee, a->tee, COCO_TEE_MAX);
	return 0;
}

/* The evidence must be one JSON value (it is embedded as is; integers
 * beyond int64, such as an SNP report's u64 fields, are JSON too). */
static int evidence_check(cocoimg_ctx *ctx, const char *name, const coco_buf *ev)
{
	if (!ev->len || ev->len > COCO_EVIDENCE_MAX)
		return coco_seterr(ctx, COCOIMG_EINVAL, "attester %s: evidence is empty or over %d bytes",
		                   name, COCO_EVIDENCE_MAX);
	json_error_t e;
	json_t *j = json_loadb((const char *)ev->data, ev->len,
	                       JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &e);
	if (!j)
		return coco_seterr(ctx, COCOIMG_EINVAL, "attester %s: evidence is not JSON", name);
	json_decref(j);
	return 0;
}

int coco_attester_evidence(coco_attester *a, cocoimg_ctx *ctx, const unsigned char *report_data,
                           size_t len, coco_buf *out, char tee[COCO_TEE_MAX])
{
	if (len > REPORT_DATA_MAX)
		return coco_seterr(ctx, COCOIMG_EINTERNAL, "attester %s: report data over %d bytes",
		                   a->ops->name, REPORT_DATA_MAX);
	size_t start = out->len;
	char t[COCO_TEE_MAX] = "";
	int rc = a->ops->evidence(ctx, a->state, report_data, len, out, t);
	if (!rc && !coco_tee_name_ok(t))
		rc = coco_seterr(ctx, COCOIMG_EINVAL, "attester %s: invalid TEE name", a->ops->name);
	if (!rc) {
		coco_buf view = { out->data + start, out->len - start, out->len - start };
		rc = evidence_check(ctx, a->ops->name, &view);
	}
	if (!rc && a->tee[0] && strcmp(a->tee, t))
		rc = coco_seterr(ctx, COCOIMG_EINVAL,
		                 "attester %s: evidence is for TEE \"%s\", announced \"%s\"",
		                 a->ops->name, t, a->tee);
	if (rc) {
		if (out->data)
			coco_wipe(out->data + start, out->cap - start);
		out->len = start;
		return rc;
	}
	memcpy(tee, t, COCO_TEE_MAX);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The sample TEE                                                      */
/* ------------------------------------------------------------------ */

static int sample_tee(cocoimg_ctx *ctx, void *state, char tee[COCO_TEE_MAX])
{
	(void)ctx;
	(void)state;
	strcpy(tee, "sample");
	return 0;
}

static int sample_evidence(cocoimg_ctx *ctx, void *state, const unsigned char *rd, size_t len,
                           coco_buf *out, char tee[COCO_TEE_MAX])
{
	(void)state;
	char *b64 = coco_b64_encode(rd, len);
	if (!b64 || coco_buf_appendf(out, "{\"svn\":\"1\",\"report_data\":\"%s\"}", b64)) {
		free(b64);
		return coco_oom(ctx);
	}
	free(b64);
	strcpy(tee, "sample");
	return 0;
}

static const coco_attester_ops sample_ops = { "sample", sample_tee, sample_evidence, NULL };

int coco_attester_sample(cocoimg_ctx *ctx, coco_attester **out)
{
	coco_warn(ctx, "attester sample: the protocol's sample TEE proves nothing; "
	               "for tests and development only");
	return coco_attester_new(ctx, &sample_ops, NULL, out);
}

/* ------------------------------------------------------------------ */
/* A runtime's callback                                                */
/* ------------------------------------------------------------------ */

typedef struct cb_state {
	coco_evidence_fn fn;
	void *payload;
} cb_state;

/* Copy the callback's TEE name into tee, freeing it. */
static int cb_take_tee(cocoimg_ctx *ctx, char *name, char tee[COCO_TEE_MAX])
{
	int rc = 0;
	if (!coco_tee_name_ok(name))
		rc = coco_seterr(ctx, COCOIMG_EINVAL, "attester callback: invalid TEE name");
	else
		strcpy(tee, name);
	free(name);
	return rc;
}

static int cb_tee(cocoimg_ctx *ctx, void *state, char tee[COCO_TEE_MAX])
{
	cb_state *s = state;
	unsigned char *ev = NULL;
	size_t evlen = 0;
	char *name = NULL;
	char why[256] = "";
	int r = s->fn(s->payload, NULL, 0, &ev, &evlen, &name, why, sizeof(why));
	if (ev)
		coco_free_secret(ev, evlen);
	if (r) {
		free(name);
		return coco_seterr(ctx, COCOIMG_EAUTH, "attester callback: refused to name its TEE%s%s",
		                   why[0] ? ": " : "", why);
	}
	return cb_take_tee(ctx, name, tee);
}

static int cb_evidence(cocoimg_ctx *ctx, void *state, const unsigned char *rd, size_t len,
                       coco_buf *out, char tee[COCO_TEE_MAX])
{
	cb_state *s = state;
	unsigned char *ev = NULL;
	size_t evlen = 0;
	char *name = NULL;
	char why[256] = "";
	int r = s->fn(s->payload, rd, len, &ev, &evlen, &name, why, sizeof(why));
	int rc = 0;
	if (r)
		rc = coco_seterr(ctx, COCOIMG_EAUTH, "attester callback: refused to produce evidence%s%s",
		                 why[0] ? ": " : "", why);
	else if (!ev || !evlen || evlen > COCO_EVIDENCE_MAX)
		rc = coco_seterr(ctx, COCOIMG_EINVAL,
		                 "attester callback: evidence is empty or over %d bytes",
		                 COCO_EVIDENCE_MAX);
	else if (coco_buf_append(out, ev, evlen))
		rc = coco_oom(ctx);
	if (ev)
		coco_free_secret(ev, evlen);
	if (rc) {
		free(name);
		return rc;
	}
	return cb_take_tee(ctx, name, tee);
}

static const coco_attester_ops cb_ops = { "callback", cb_tee, cb_evidence, free };

int coco_attester_callback(cocoimg_ctx *ctx, coco_evidence_fn fn, void *payload,
                           coco_attester **out)
{
	*out = NULL;
	if (!fn)
		return coco_seterr(ctx, COCOIMG_EINVAL, "attester callback: no function given");
	cb_state *s = calloc(1, sizeof(*s));
	if (!s)
		return coco_oom(ctx);
	s->fn = fn;
	s->payload = payload;
	return coco_attester_new(ctx, &cb_ops, s, out);
}

/* ------------------------------------------------------------------ */
/* configfs-tsm                                                        */
/* ------------------------------------------------------------------ */

typedef struct tsm_state {
	char *root;
	char *ccel, *aael;         /* NULL: the defaults of ccel.h */
} tsm_state;

static void tsm_free(void *state)
{
	tsm_state *s = state;
	if (s) {
		free(s->root);
		free(s->ccel);
		free(s->aael);
	}
	free(s);
}

/* Write all of data to dir/name (the file exists in configfs; a fake
 * directory in tests gets it created). */
static int write_attr(cocoimg_ctx *ctx, const char *dir, const char *name,
                      const unsigned char *data, size_t len)
{
	char *path = coco_asprintf("%s/%s", dir, name);
	if (!path)
		return coco_oom(ctx);
	int rc = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		rc = coco_seterr(ctx, COCOIMG_EIO, "attester tsm: cannot open %s: %s", path,
		                 strerror(errno));
	for (size_t off = 0; !rc && off < len;) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			rc = coco_seterr(ctx, COCOIMG_EIO, "attester tsm: cannot write %s: %s", path,
			                 n < 0 ? strerror(errno) : "short write");
		else
			off += (size_t)n;
	}
	if (fd >= 0 && close(fd) && !rc)
		rc = coco_seterr(ctx, COCOIMG_EIO, "attester tsm: cannot write %s: %s", path,
		                 strerror(errno));
	free(path);
	return rc;
}

static int read_attr(cocoimg_ctx *ctx, const char *dir, const char *name, size_t max,
                     coco_buf *out)
{
	char *path = coco_asprintf("%s/%s", dir, name);
	if (!path)
		return coco_oom(ctx);
	int rc = coco_read_file(ctx, path, max, out, COCOIMG_EIO);
	free(path);
	if (rc)
		return coco_preferr(ctx, rc, "attester tsm");
	return 0;
}

/* The TEE behind a provider name (the attribute ends with a newline). */
static const char *provider_tee(const coco_buf *p)
{
	static const struct {
		const char *provider, *tee;
	} map[] = { { "tdx_guest", "tdx" }, { "arm_cca_guest", "cca" }, { "sev_guest", "snp" } };
	size_t n = p->len;
	while (n && (p->data[n - 1] == '\n' || p->data[n - 1] == ' '))
		n--;
	for (size_t i = 0; i < COCO_ARRAY_SIZE(map); i++)
		if (n == strlen(map[i].provider) && !memcmp(p->data, map[i].provider, n))
			return map[i].tee;
	return NULL;
}

static int read_provider(cocoimg_ctx *ctx, const char *entry, char tee[COCO_TEE_MAX])
{
	coco_buf p = COCO_BUF_INIT;
	int rc = read_attr(ctx, entry, "provider", 64, &p);
	const char *t = rc ? NULL : provider_tee(&p);
	coco_buf_free(&p);
	if (rc)
		return rc;
	if (!t)
		return coco_seterr(ctx, COCOIMG_EUNSUPPORTED,
		                   "attester tsm: unknown provider in %s/provider", entry);
	strcpy(tee, t);
	return 0;
}

/* generation must be 1: anything else means another writer used the
 * entry between our inblob write and outblob read. */
static int check_generation(cocoimg_ctx *ctx, const char *entry)
{
	coco_buf g = COCO_BUF_INIT;
	int rc = read_attr(ctx, entry, "generation", 32, &g);
	if (!rc) {
		char *s = coco_buf_cstr(&g);
		if (!s)
			rc = coco_oom(ctx);
		else if (strtoul(s, NULL, 10) != 1 || s[0] < '0' || s[0] > '9')
			rc = coco_seterr(ctx, COCOIMG_EIO,
			                 "attester tsm: report entry %s was written by someone else "
			                 "(generation %.12s)", entry, s);
	}
	coco_buf_free(&g);
	return rc;
}

/* SEV-SNP: auxblob holds the certificate table; an entry without one (or
 * with an empty one) has no table. */
static int snp_evidence(cocoimg_ctx *ctx, const char *entry, const coco_buf *blob, coco_buf *out)
{
	coco_buf aux = COCO_BUF_INIT;
	char *path = coco_asprintf("%s/auxblob", entry);
	if (!path)
		return coco_oom(ctx);
	int rc = access(path, F_OK) ? 0 : read_attr(ctx, entry, "auxblob", COCO_EVIDENCE_MAX / 8,
	                                            &aux);
	free(path);
	if (!rc && (rc = coco_snp_evidence(ctx, blob->data, blob->len, aux.data, aux.len, out)))
		coco_preferr(ctx, rc, "attester tsm: %s", entry);
	coco_buf_free(&aux);
	return rc;
}

/* TDX: {"cc_eventlog": base64|null, "quote": base64} (ccel.h). */
static int tdx_evidence(cocoimg_ctx *ctx, const coco_eventlog_paths *logs, const coco_buf *blob,
                        coco_buf *out)
{
	if (coco_buf_append(out, "{\"cc_eventlog\":", 15))
		return coco_oom(ctx);
	int rc = coco_cc_eventlog_json(ctx, logs, out);
	if (rc)
		return coco_preferr(ctx, rc, "attester tsm");
	char *b64 = coco_b64_encode(blob->data, blob->len);
	rc = !b64 || coco_buf_appendf(out, ",\"quote\":\"%s\"}", b64);
	coco_free_secret(b64, b64 ? strlen(b64) : 0);
	return rc ? coco_oom(ctx) : 0;
}

/* TDX: above; CCA: {"token": [bytes]}; SEV-SNP: snp.h. */
static int shape_evidence(cocoimg_ctx *ctx, const char *entry, const coco_eventlog_paths *logs,
                          const char *tee, const coco_buf *blob, coco_buf *out)
{
	if (!strcmp(tee, "snp"))
		return snp_evidence(ctx, entry, blob, out);
	if (!strcmp(tee, "tdx"))
		return tdx_evidence(ctx, logs, blob, out);
	if (coco_buf_append(out, "{\"token\":[", 10))
		return coco_oom(ctx);
	for (size_t i = 0; i < blob->len; i++)
		if (coco_buf_appendf(out, i ? ",%u" : "%u", blob->data[i]))
			return coco_oom(ctx);
	return coco_buf_append(out, "]}", 2) ? coco_oom(ctx) : 0;
}

int coco_tsm_report(cocoimg_ctx *ctx, const char *entry, const coco_eventlog_paths *logs,
                    const unsigned char *report_data, size_t len, coco_buf *out,
                    char tee[COCO_TEE_MAX])
{
	unsigned char inblob[REPORT_DATA_MAX] = { 0 };
	if (len > sizeof(inblob))
		return coco_seterr(ctx, COCOIMG_EINTERNAL, "attester tsm: report data over %d bytes",
		                   REPORT_DATA_MAX);
	memcpy(inblob, report_data, len);
	coco_buf blob = COCO_BUF_INIT;
	char t[COCO_TEE_MAX] = "";
	int rc = read_provider(ctx, entry, t);
	if (!rc)
		rc = write_attr(ctx, entry, "inblob", inblob, sizeof(inblob));
	if (!rc)
		rc = read_attr(ctx, entry, "outblob", COCO_EVIDENCE_MAX / 2, &blob);
	if (!rc && !blob.len)
		rc = coco_seterr(ctx, COCOIMG_EIO, "attester tsm: %s/outblob is empty", entry);
	if (!rc)
		rc = check_generation(ctx, entry);
	size_t start = out->len;
	if (!rc && (rc = shape_evidence(ctx, entry, logs, t, &blob, out)) && out->data) {
		coco_wipe(out->data + start, out->cap - start);
		out->len = start;
	}
	if (!rc)
		strcpy(tee, t);
	coco_wipe(inblob, sizeof(inblob));
	coco_buf_wipe_free(&blob);
	return rc;
}

/* Make one report entry under root: *entry is its path. */
static int tsm_mkentry(cocoimg_ctx *ctx, const tsm_state *s, char **entry)
{
	*entry = coco_asprintf("%s/cocoimg-XXXXXX", s->root);
	if (!*entry)
		return coco_oom(ctx);
	if (!mkdtemp(*entry)) {
		int e = errno;
		free(*entry);
		*entry = NULL;
		return coco_seterr(ctx, COCOIMG_EIO, "attester tsm: cannot make a report entry in %s: %s",
		                   s->root, strerror(e));
	}
	return 0;
}

static void tsm_rmentry(cocoimg_ctx *ctx, char *entry)
{
	if (rmdir(entry))
		coco_warn(ctx, "attester tsm: cannot remove report entry %s: %s", entry,
		          strerror(errno));
	free(entry);
}

static int tsm_tee(cocoimg_ctx *ctx, void *state, char tee[COCO_TEE_MAX])
{
	char *entry = NULL;
	int rc = tsm_mkentry(ctx, state, &entry);
	if (rc)
		return rc;
	rc = read_provider(ctx, entry, tee);
	tsm_rmentry(ctx, entry);
	return rc;
}

static int tsm_evidence(cocoimg_ctx *ctx, void *state, const unsigned char *rd, size_t len,
                        coco_buf *out, char tee[COCO_TEE_MAX])
{
	char *entry = NULL;
	int rc = tsm_mkentry(ctx, state, &entry);
	if (rc)
		return rc;
	const tsm_state *s = state;
	coco_eventlog_paths logs = { s->ccel, s->aael };
	rc = coco_tsm_report(ctx, entry, &logs, rd, len, out, tee);
	tsm_rmentry(ctx, entry);
	return rc;
}

static const coco_attester_ops tsm_ops = { "tsm", tsm_tee, tsm_evidence, tsm_free };

/* A copy of s (NULL stays NULL); false when out of memory. */
static bool dup_opt(const char *s, char **out)
{
	*out = s ? coco_strdup(s) : NULL;
	return !s || *out;
}

int coco_attester_tsm(cocoimg_ctx *ctx, const char *root, const coco_eventlog_paths *logs,
                      coco_attester **out)
{
	*out = NULL;
	if (!root)
		root = COCO_TSM_ROOT;
	struct stat st;
	if (stat(root, &st) || !S_ISDIR(st.st_mode))
		return coco_seterr(ctx, COCOIMG_ENOTFOUND,
		                   "attester tsm: %s is not there (no configfs-tsm in this guest)", root);
	tsm_state *s = calloc(1, sizeof(*s));
	if (!s || !(s->root = coco_strdup(root)) || !dup_opt(logs ? logs->ccel : NULL, &s->ccel) ||
	    !dup_opt(logs ? logs->aael : NULL, &s->aael)) {
		tsm_free(s);
		return coco_oom(ctx);
	}
	return coco_attester_new(ctx, &tsm_ops, s, out);
}
