/*
 * A confidential-computing event log shaped as TDX firmware leaves it in
 * the ACPI CCEL area, for the unit test of broker/ccel.c and the KBS
 * integration test (header-only; each test includes it once).
 *
 * Layout (TCG PC Client Platform Firmware Profile, crypto-agile format,
 * little-endian), as Trustee reads it (confidential-containers/trustee
 * 78962cd416dcc8a32f9377e0066a28fe21420f69, deps/eventlog/src/lib.rs) and
 * guest-components trims it (8246e5e0977f6322f0a1b0f77e0739cf1c3e1f74,
 * attestation-agent/attester/src/utils.rs):
 *   TCG_PCR_EVENT   PCR 0, EV_NO_ACTION, zero SHA-1, the Spec ID event
 *                   "Spec ID Event03" listing SHA-384 (0x000c, 48 bytes)
 *                   and, with two_algs, SHA-256 (0x000b, 32) first;
 *   TCG_PCR_EVENT2  records on CC measurement registers 1..3 (RTMR0..2;
 *                   0 would be MRTD), each with a digest per listed
 *                   algorithm of its event data;
 *   padding         pad bytes to the area's size (OVMF: 0xFF; td-shim: 0).
 * rtmr[i] is the SHA-384 replay of register i+1 (start at 48 zero bytes,
 * then SHA-384(rtmr || digest) per event), the value a TDX quote carries
 * in RTMR[i] for this log.
 */
#ifndef TESTS_CCEL_SAMPLE_H
#define TESTS_CCEL_SAMPLE_H

#include <openssl/sha.h>
#include <stdint.h>
#include <string.h>

#define CCEL_AREA 4096

typedef struct ccel_sample {
	unsigned char data[CCEL_AREA];
	size_t len;          /* the whole area */
	size_t recorded;     /* header and events, before the padding */
	unsigned char rtmr[4][48];
} ccel_sample;

static void ccel_put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static size_t ccel_spec_id(unsigned char *p, int two_algs)
{
	size_t n = 0;
	memset(p, 0, 32);
	ccel_put32(p + 4, 3);                         /* EV_NO_ACTION */
	unsigned char *ev = p + 32;
	memcpy(ev, "Spec ID Event03", 16);            /* with its NUL */
	ev[16] = ev[17] = ev[18] = ev[19] = 0;        /* platformClass */
	ev[20] = 0;                                   /* specVersionMinor */
	ev[21] = 2;                                   /* specVersionMajor */
	ev[22] = 0;                                   /* specErrata */
	ev[23] = 2;                                   /* uintnSize: UINT64 */
	ccel_put32(ev + 24, two_algs ? 2 : 1);
	n = 28;
	if (two_algs) {
		memcpy(ev + n, "\x0b\x00\x20\x00", 4);
		n += 4;
	}
	memcpy(ev + n, "\x0c\x00\x30\x00", 4);
	n += 4;
	ev[n++] = 0;                                  /* vendorInfoSize */
	ccel_put32(p + 28, (uint32_t)n);
	return 32 + n;
}

/* Append one TCG_PCR_EVENT2 at p (returns its size) and extend rtmr. */
static size_t ccel_event2(unsigned char *p, uint32_t mr, uint32_t type, const void *data,
                          size_t len, int two_algs, unsigned char rtmr[4][48])
{
	size_t n = 0;
	ccel_put32(p, mr);
	ccel_put32(p + 4, type);
	ccel_put32(p + 8, two_algs ? 2 : 1);
	n = 12;
	if (two_algs) {
		memcpy(p + n, "\x0b\x00", 2);
		SHA256(data, len, p + n + 2);
		n += 34;
	}
	memcpy(p + n, "\x0c\x00", 2);
	unsigned char *d384 = p + n + 2;
	SHA384(data, len, d384);
	n += 50;
	ccel_put32(p + n, (uint32_t)len);
	memcpy(p + n + 4, data, len);
	n += 4 + len;
	if (mr >= 1 && mr <= 4) {
		unsigned char cat[96];
		memcpy(cat, rtmr[mr - 1], 48);
		memcpy(cat + 48, d384, 48);
		SHA384(cat, sizeof(cat), rtmr[mr - 1]);
	}
	return n;
}

/* The sample log: what OVMF measures into RTMR0..2 on a direct kernel
 * boot, cut down to one event of each kind. */
static void ccel_sample_build(ccel_sample *s, unsigned char pad, int two_algs)
{
	static const char cfg[] = "td_hob";
	static const char sep[4] = { 0 };
	static const char exitbs[] = "Exit Boot Services Invocation";
	/* UEFI_IMAGE_LOAD_EVENT: location, length, link-time address, an
	 * empty device path */
	static const char kernel[32] = { 0, 0, 0, 0x7e, 0, 0, 0, 0, 0, 0, 0, 1 };
	static const char cmdline[] = "console=hvc0 root=/dev/vda1";
	memset(s, 0, sizeof(*s));
	size_t n = ccel_spec_id(s->data, two_algs);
	n += ccel_event2(s->data + n, 1, 0x0000000a, cfg, sizeof(cfg), two_algs, s->rtmr);
	n += ccel_event2(s->data + n, 1, 0x00000004, sep, sizeof(sep), two_algs, s->rtmr);
	n += ccel_event2(s->data + n, 2, 0x80000003, kernel, sizeof(kernel), two_algs, s->rtmr);
	n += ccel_event2(s->data + n, 2, 0x80000007, exitbs, sizeof(exitbs) - 1, two_algs, s->rtmr);
	n += ccel_event2(s->data + n, 3, 0x00000006, cmdline, sizeof(cmdline), two_algs, s->rtmr);
	s->recorded = n;
	memset(s->data + n, pad, CCEL_AREA - n);
	s->len = CCEL_AREA;
}

/* One record of the attestation agent's log (AAEL): an EV_EVENT_TAG on
 * register 4 (RTMR3) with the SHA-384 of its data, extending rtmr. */
static size_t ccel_aael_record(unsigned char *p, unsigned char rtmr[4][48])
{
	static const char ev[] = "AAEL\x1d\x00\x00\x00" "INIT/initdata sha384/0123abcd";
	return ccel_event2(p, 4, 0x00000006, ev, sizeof(ev) - 1, 0, rtmr);
}

#endif
