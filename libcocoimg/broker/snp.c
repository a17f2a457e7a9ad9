/*
 * SEV-SNP evidence (see snp.h).
 *
 * Layout facts: AMD's SEV-SNP firmware ABI (ATTESTATION_REPORT, 0x4A0
 * bytes, little endian) and the GHCB specification's certificate table
 * (24-byte entries: GUID, offset, length; an all-zero GUID ends it).  The
 * JSON shape is the serde form of the Rust sev crate 6.x types that
 * guest-components' SNP attester serializes and Trustee's SNP verifier
 * deserializes (confidential-containers guest-components 8246e5e0
 * attestation-agent/attester/src/snp, trustee 78962cd4
 * deps/verifier/src/snp, virtee/sev v6.3.0 src/firmware): numbers for the
 * integer fields and bit fields, arrays of byte values for the byte
 * fields, null for the fields the report's version does not have, the
 * TCB versions decoded per processor generation, certificate types by
 * name.  The verifier re-encodes the fields to check the signature, so
 * the decoding follows the crate's rules exactly, refusals included.
 */
#include "snp.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Field offsets in the report. */
enum {
	O_VERSION = 0x00, O_GUEST_SVN = 0x04, O_POLICY = 0x08, O_FAMILY_ID = 0x10,
	O_IMAGE_ID = 0x20, O_VMPL = 0x30, O_SIG_ALGO = 0x34, O_CURRENT_TCB = 0x38,
	O_PLAT_INFO = 0x40, O_KEY_INFO = 0x48, O_REPORT_DATA = 0x50, O_MEASUREMENT = 0x90,
	O_HOST_DATA = 0xC0, O_ID_KEY_DIGEST = 0xE0, O_AUTHOR_KEY_DIGEST = 0x110,
	O_REPORT_ID = 0x140, O_REPORT_ID_MA = 0x160, O_REPORTED_TCB = 0x180, O_CPUID_FAM = 0x188,
	O_CPUID_MOD = 0x189, O_CPUID_STEP = 0x18A, O_CHIP_ID = 0x1A0, O_COMMITTED_TCB = 0x1E0,
	O_CURRENT = 0x1E8, O_COMMITTED = 0x1EC, O_LAUNCH_TCB = 0x1F0, O_LAUNCH_MIT = 0x1F8,
	O_CURRENT_MIT = 0x200, O_SIG_R = 0x2A0, O_SIG_S = 0x2E8,
};

enum gen { GEN_LEGACY, GEN_TURIN };   /* Milan and Genoa share the TCB layout */

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static bool all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* The processor generation, as the sev crate tells it: version 2 reports
 * by their chip id (masked: refused), later ones by CPUID family/model. */
static int report_generation(cocoimg_ctx *ctx, const unsigned char *r, enum gen *g)
{
	uint32_t v = le32(r + O_VERSION);
	if (v < 2)
		return coco_seterr(ctx, COCOIMG_EUNSUPPORTED, "SNP report version %" PRIu32
		                   " is not supported (2 or later)", v);
	if (v == 2) {
		if (all_zero(r + O_CHIP_ID, 64))
			return coco_seterr(ctx, COCOIMG_EUNSUPPORTED, "SNP report version 2 with a "
			                   "masked chip id: its processor generation cannot be told");
		*g = all_zero(r + O_CHIP_ID + 8, 56) ? GEN_TURIN : GEN_LEGACY;
		return 0;
	}
	unsigned fam = r[O_CPUID_FAM], mod = r[O_CPUID_MOD];
	if (fam == 0x19 && (mod <= 0x1F || (mod >= 0xA0 && mod <= 0xAF)))
		*g = GEN_LEGACY;   /* Milan 0x00-0x0F, Genoa 0x10-0x1F and 0xA0-0xAF */
	else if (fam == 0x1A && mod <= 0x11)
		*g = GEN_TURIN;
	else
		return coco_seterr(ctx, COCOIMG_EUNSUPPORTED, "SNP report from CPU family 0x%x "
		                   "model 0x%x: not a known SEV-SNP processor", fam, mod);
	return 0;
}

static int put_bytes(coco_buf *o, const char *name, const unsigned char *p, size_t n)
{
	int rc = coco_buf_appendf(o, "\"%s\":[", name);
	for (size_t i = 0; !rc && i < n; i++)
		rc = coco_buf_appendf(o, i ? ",%u" : "%u", p[i]);
	return rc || coco_buf_append(o, "],", 2);
}

static int put_tcb(coco_buf *o, const char *name, const unsigned char *b, enum gen g)
{
	if (g == GEN_TURIN)
		return coco_buf_appendf(o, "\"%s\":{\"fmc\":%u,\"bootloader\":%u,\"tee\":%u,"
		                        "\"snp\":%u,\"microcode\":%u},", name, b[0], b[1], b[2], b[3],
		                        b[7]);
	return coco_buf_appendf(o, "\"%s\":{\"fmc\":null,\"bootloader\":%u,\"tee\":%u,\"snp\":%u,"
	                        "\"microcode\":%u},", name, b[0], b[1], b[6], b[7]);
}

/* Version fields are stored build, minor, major. */
static int put_version(coco_buf *o, const char *name, const unsigned char *b)
{
	return coco_buf_appendf(o, "\"%s\":{\"major\":%u,\"minor\":%u,\"build\":%u},", name, b[2],
	                        b[1], b[0]);
}

static int put_opt(coco_buf *o, const char *name, bool have, uint64_t v)
{
	return have ? coco_buf_appendf(o, "\"%s\":%" PRIu64 ",", name, v)
	            : coco_buf_appendf(o, "\"%s\":null,", name);
}

static int put_report_head(coco_buf *o, const unsigned char *r, enum gen g)
{
	return coco_buf_appendf(o, "\"version\":%" PRIu32 ",\"guest_svn\":%" PRIu32 ",\"policy\":%"
	                        PRIu64 ",", le32(r + O_VERSION), le32(r + O_GUEST_SVN),
	                        le64(r + O_POLICY)) ||
	       put_bytes(o, "family_id", r + O_FAMILY_ID, 16) ||
	       put_bytes(o, "image_id", r + O_IMAGE_ID, 16) ||
	       coco_buf_appendf(o, "\"vmpl\":%" PRIu32 ",\"sig_algo\":%" PRIu32 ",",
	                        le32(r + O_VMPL), le32(r + O_SIG_ALGO)) ||
	       put_tcb(o, "current_tcb", r + O_CURRENT_TCB, g) ||
	       coco_buf_appendf(o, "\"plat_info\":%" PRIu64 ",\"key_info\":%" PRIu32 ",",
	                        le64(r + O_PLAT_INFO), le32(r + O_KEY_INFO)) ||
	       put_bytes(o, "report_data", r + O_REPORT_DATA, 64) ||
	       put_bytes(o, "measurement", r + O_MEASUREMENT, 48) ||
	       put_bytes(o, "host_data", r + O_HOST_DATA, 32) ||
	       put_bytes(o, "id_key_digest", r + O_ID_KEY_DIGEST, 48) ||
	       put_bytes(o, "author_key_digest", r + O_AUTHOR_KEY_DIGEST, 48) ||
	       put_bytes(o, "report_id", r + O_REPORT_ID, 32) ||
	       put_bytes(o, "report_id_ma", r + O_REPORT_ID_MA, 32) ||
	       put_tcb(o, "reported_tcb", r + O_REPORTED_TCB, g);
}

static int put_report_tail(coco_buf *o, const unsigned char *r, enum gen g)
{
	uint32_t v = le32(r + O_VERSION);
	bool cpuid = v >= 3, mit = v >= 5;
	return put_opt(o, "cpuid_fam_id", cpuid, r[O_CPUID_FAM]) ||
	       put_opt(o, "cpuid_mod_id", cpuid, r[O_CPUID_MOD]) ||
	       put_opt(o, "cpuid_step", cpuid, r[O_CPUID_STEP]) ||
	       put_bytes(o, "chip_id", r + O_CHIP_ID, 64) ||
	       put_tcb(o, "committed_tcb", r + O_COMMITTED_TCB, g) ||
	       put_version(o, "current", r + O_CURRENT) ||
	       put_version(o, "committed", r + O_COMMITTED) ||
	       put_tcb(o, "launch_tcb", r + O_LAUNCH_TCB, g) ||
	       put_opt(o, "launch_mit_vector", mit, mit ? le64(r + O_LAUNCH_MIT) : 0) ||
	       put_opt(o, "current_mit_vector", mit, mit ? le64(r + O_CURRENT_MIT) : 0) ||
	       coco_buf_append(o, "\"signature\":{", 13) || put_bytes(o, "r", r + O_SIG_R, 72) ||
	       put_bytes(o, "s", r + O_SIG_S, 72);
}

/* ---- the certificate table ---------------------------------------- */

typedef struct cert_entry {
	const unsigned char *guid;
	const unsigned char *data;
	size_t len;
	int rank;                  /* the sev crate's order of certificate types */
	const char *name;          /* NULL: OTHER(uuid) */
} cert_entry;

static const struct {
	const char *uuid, *name;
	int rank;
} cert_types[] = {
	{ "c0b406a4-a803-4952-9743-3fb6014cd0ae", "ARK", 0 },
	{ "63da758d-e664-4564-adc5-f4b93be8accd", "VCEK", 1 },
	{ "a8074bc2-a25a-483e-aae6-39c045a0b8a1", "VLEK", 2 },
	{ "4ab7b379-bbac-4fe4-a02f-05aef327c782", "ASK", 3 },
	{ "92f81bc3-5811-4d3d-97ff-d19f88dc67ea", "CRL", 4 },
};
#define RANK_OTHER 5

/* The GUID's bytes in order, as 8-4-4-4-12 lower-case hex. */
static void uuid_str(const unsigned char *g, char out[37])
{
	static const char hex[] = "0123456789abcdef";
	size_t k = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[k++] = '-';
		out[k++] = hex[g[i] >> 4];
		out[k++] = hex[g[i] & 15];
	}
	out[k] = 0;
}

static void classify(cert_entry *e)
{
	char u[37];
	uuid_str(e->guid, u);
	e->rank = RANK_OTHER;
	e->name = NULL;
	for (size_t i = 0; i < COCO_ARRAY_SIZE(cert_types); i++)
		if (!strcmp(u, cert_types[i].uuid)) {
			e->rank = cert_types[i].rank;
			e->name = cert_types[i].name;
		}
}

static bool entry_before(const cert_entry *a, const cert_entry *b)
{
	if (a->rank != b->rank)
		return a->rank < b->rank;
	return a->rank == RANK_OTHER && memcmp(a->guid, b->guid, 16) < 0;
}

/* Parse the table (bounded: every entry and its data inside aux). */
static int parse_table(cocoimg_ctx *ctx, const unsigned char *aux, size_t len, cert_entry **out,
                       size_t *n)
{
	*out = NULL;
	*n = 0;
	size_t max = len / 24;
	cert_entry *v = calloc(max + 1, sizeof(*v));
	if (!v)
		return coco_oom(ctx);
	size_t i = 0;
	for (;; i++) {
		if ((i + 1) * 24 > len) {
			free(v);
			return coco_seterr(ctx, COCOIMG_EIO, "SNP certificate table: no end entry");
		}
		const unsigned char *e = aux + i * 24;
		if (all_zero(e, 16))
			break;
		uint32_t off = le32(e + 16), l = le32(e + 20);
		if (off > len || l > len - off) {
			free(v);
			return coco_seterr(ctx, COCOIMG_EIO, "SNP certificate table: entry %zu "
			                   "points outside the table", i);
		}
		v[i] = (cert_entry){ e, aux + off, l, 0, NULL };
		classify(&v[i]);
		/* keep the list sorted as the sev crate sorts it (stable) */
		for (size_t k = i; k > 0 && entry_before(&v[k], &v[k - 1]); k--) {
			cert_entry t = v[k];
			v[k] = v[k - 1];
			v[k - 1] = t;
		}
	}
	*out = v;
	*n = i;
	return 0;
}

static int put_entry(coco_buf *o, const cert_entry *e, bool first)
{
	char u[37];
	uuid_str(e->guid, u);
	int rc = e->name ? coco_buf_appendf(o, "%s{\"cert_type\":\"%s\",", first ? "" : ",", e->name)
	                 : coco_buf_appendf(o, "%s{\"cert_type\":{\"OTHER\":\"%s\"},", first ? "" : ",",
	                                    u);
	if (!rc)
		rc = put_bytes(o, "data", e->data, e->len);
	if (!rc)   /* put_bytes ended with a comma: close the object instead */
		o->data[o->len - 1] = '}';
	return rc;
}

static int put_chain(cocoimg_ctx *ctx, coco_buf *o, const unsigned char *aux, size_t len)
{
	if (!aux || !len)
		return coco_buf_append(o, "\"cert_chain\":null", 17) ? coco_oom(ctx) : 0;
	cert_entry *v;
	size_t n;
	int rc = parse_table(ctx, aux, len, &v, &n);
	if (rc)
		return rc;
	rc = coco_buf_append(o, "\"cert_chain\":[", 14);
	for (size_t i = 0; !rc && i < n; i++)
		rc = put_entry(o, &v[i], i == 0);
	if (!rc)
		rc = coco_buf_putc(o, ']');
	free(v);
	return rc ? coco_oom(ctx) : 0;
}

int coco_snp_evidence(cocoimg_ctx *ctx, const unsigned char *report, size_t len,
                      const unsigned char *aux, size_t auxlen, coco_buf *out)
{
	if (len != COCO_SNP_REPORT_LEN)
		return coco_seterr(ctx, COCOIMG_EIO, "SNP report of %zu bytes (an attestation report "
		                   "has %d)", len, COCO_SNP_REPORT_LEN);
	enum gen g = GEN_LEGACY;
	int rc = report_generation(ctx, report, &g);
	if (rc)
		return rc;
	size_t start = out->len;
	if (coco_buf_append(out, "{\"attestation_report\":{", 23) ||
	    put_report_head(out, report, g) || put_report_tail(out, report, g))
		return coco_oom(ctx);
	out->data[out->len - 1] = '}';          /* close "signature" (was a comma) */
	if (coco_buf_append(out, "},", 2))
		return coco_oom(ctx);
	rc = put_chain(ctx, out, aux, auxlen);
	if (!rc && coco_buf_putc(out, '}'))
		rc = coco_oom(ctx);
	if (rc) {
		coco_wipe(out->data + start, out->len - start);
		out->len = start;
	}
	return rc;
}
