"""TDX evidence as Trustee's TDX verifier reads it, for kbs_double.py.

Written from trustee 78962cd416dcc8a32f9377e0066a28fe21420f69
(deps/verifier/src/tdx/mod.rs: TdxEvidence {cc_eventlog: base64 or null,
quote: base64}; deps/eventlog/src/lib.rs: the log's layout and its replay)
and guest-components 8246e5e0977f6322f0a1b0f77e0739cf1c3e1f74
(attestation-agent/attester/src/utils.rs: what the attester sends):

  quote        an Intel TDX DCAP quote, version 4: a 48-byte header
               (version 4, attestation key type 2, TEE type 0x81), the
               584-byte TD report body (RTMR0..3 at 328 + 48*i,
               REPORT_DATA at 520), a u32 signature data length and the
               signature data.  No Intel key signs a test quote: the
               test's quotes carry SHA-384(header || body) as signature
               data, which this module checks.
  cc_eventlog  a TCG crypto-agile log: the TCG_PCR_EVENT Spec ID event
               (EV_NO_ACTION; its digest table must account for its whole
               event), TCG_PCR_EVENT2 records of known event types with
               one digest per listed algorithm, then the end marker, which
               the attester writes as eight 0xFF bytes and nothing after
               it (Trustee stops at eight 0xFF or 0x00 bytes; this double
               wants exactly what the attester sends).  Required here:
               Trustee accepts a missing log with a warning, but every TDX
               guest of these tests has one and the client must send it.

The log is replayed as Trustee replays it: for CC measurement register
1..4 (RTMR0..3), start from 48 zero bytes and extend with SHA-384(value ||
digest) for each SHA-384 digest recorded on that register, in order (every
record counts, as in Trustee); each result must equal the quote's RTMR.
"""
import base64
import hashlib
import struct

HEADER, BODY = 48, 584
RTMR_OFF, REPORT_DATA_OFF = 328, 520
SHA384 = 0x0C
EV_NO_ACTION = 3
# the event types Trustee's deps/eventlog knows (anything else is refused)
EVENT_TYPES = set(range(0x0, 0x13)) | set(range(0x80000000, 0x8000000D)) | {
    0x80000010, 0x800000E0, 0x800000E1, 0x800000E2}
END = b"\xff" * 8


def _u(fmt, data, off, what):
    n = struct.calcsize(fmt)
    if off + n > len(data):
        raise ValueError("cc_eventlog: %s cut short at %d" % (what, off))
    return struct.unpack_from(fmt, data, off)[0], off + n


def _spec_id(log):
    """The Spec ID event: ({alg: size}, offset of the first record)."""
    typ, _ = _u("<I", log, 4, "the first event")
    if typ != EV_NO_ACTION:
        raise ValueError("cc_eventlog: the first event is not EV_NO_ACTION")
    size, off = _u("<I", log, 28, "the Spec ID event")
    ev = log[off:off + size]
    if len(ev) != size:
        raise ValueError("cc_eventlog: the Spec ID event runs past the end")
    count, p = _u("<I", ev, 24, "the digest table")
    algs = {}
    for _ in range(count):
        alg, p = _u("<H", ev, p, "the digest table")
        algs[alg], p = _u("<H", ev, p, "the digest table")
    vendor, p = _u("<B", ev, p, "the vendor data")
    if p + vendor != size:
        raise ValueError("cc_eventlog: the Spec ID event's size does not match its contents")
    if SHA384 not in algs or algs[SHA384] != 48:
        raise ValueError("cc_eventlog: the Spec ID event lists no SHA-384 of 48 bytes")
    return algs, off + size


def _record(log, off, algs):
    """One TCG_PCR_EVENT2: (register, [(alg, digest)], next offset)."""
    mr, off = _u("<I", log, off, "a record")
    typ, off = _u("<I", log, off, "a record")
    if typ not in EVENT_TYPES:
        raise ValueError("cc_eventlog: unknown event type %#x" % typ)
    count, off = _u("<I", log, off, "a record")
    digests = []
    for _ in range(count):
        alg, off = _u("<H", log, off, "a digest")
        if alg not in algs:
            raise ValueError("cc_eventlog: digest algorithm %#x is not in the Spec ID event" % alg)
        d = log[off:off + algs[alg]]
        if len(d) != algs[alg]:
            raise ValueError("cc_eventlog: a digest is cut short")
        digests.append((alg, d))
        off += algs[alg]
    size, off = _u("<I", log, off, "an event size")
    if off + size > len(log):
        raise ValueError("cc_eventlog: an event runs past the end")
    return mr, digests, off + size


def replay(log):
    """Parse the log strictly; return ([RTMR0..3], number of records)."""
    algs, off = _spec_id(log)
    rtmr = [bytes(48)] * 4
    n = 0
    while log[off:off + 8] not in (END, bytes(8)):
        if off + 8 > len(log):
            raise ValueError("cc_eventlog: no end marker after the last record")
        mr, digests, off = _record(log, off, algs)
        n += 1
        for alg, d in digests:
            if alg == SHA384 and 1 <= mr <= 4:
                rtmr[mr - 1] = hashlib.sha384(rtmr[mr - 1] + d).digest()
    if log[off:] != END:
        raise ValueError("cc_eventlog: the log does not end with eight 0xFF bytes alone")
    return rtmr, n


def _quote(b64):
    if not isinstance(b64, str) or not b64:
        raise ValueError("quote is not a base64 string")
    q = base64.b64decode(b64, validate=True)
    if len(q) < HEADER + BODY + 4:
        raise ValueError("quote is shorter than a v4 header and TD report body")
    version, key_type, tee = struct.unpack_from("<HHI", q, 0)
    if (version, key_type, tee) != (4, 2, 0x81):
        raise ValueError("quote is not a v4 ECDSA-P256 TDX quote")
    (siglen,) = struct.unpack_from("<I", q, HEADER + BODY)
    sig = q[HEADER + BODY + 4:]
    if siglen != len(sig) or sig != hashlib.sha384(q[:HEADER + BODY]).digest():
        raise ValueError("quote does not match its signature")
    return q[HEADER:HEADER + BODY]


def report_data(ev, log=None):
    """Check TDX evidence; return its 64 bytes of report data.  log (a
    list) receives a note of what the event log replayed."""
    if not isinstance(ev, dict) or set(ev) != {"cc_eventlog", "quote"}:
        raise ValueError("TDX evidence must be {cc_eventlog, quote}")
    body = _quote(ev["quote"])
    el = ev["cc_eventlog"]
    if not isinstance(el, str) or not el:
        raise ValueError("cc_eventlog is missing (this TDX guest has a CCEL)")
    rtmr, n = replay(base64.b64decode(el, validate=True))
    for i in range(4):
        if rtmr[i] != body[RTMR_OFF + 48 * i:RTMR_OFF + 48 * (i + 1)]:
            raise ValueError("cc_eventlog does not replay to RTMR%d of the quote" % i)
    if log is not None:
        log.append("eventlog replayed: %d records, RTMR0..3 match" % n)
    return body[REPORT_DATA_OFF:REPORT_DATA_OFF + 64]
