"""SEV-SNP evidence as Trustee's SNP verifier reads it, for kbs_double.py.

Written from the serde shapes of virtee/sev v6.3.0 (src/firmware/guest/
types/snp.rs AttestationReport, src/firmware/host/types/snp.rs TcbVersion,
CertType, CertTableEntry, src/certs/snp/ecdsa Signature) that
guest-components 8246e5e0 (attestation-agent/attester/src/snp) serializes
and trustee 78962cd4 (deps/verifier/src/snp) deserializes: every field
present with its exact type and length (optional ones null when the
report's version lacks them), then re-encoded into the 1184-byte report
with the crate's rules (TCB layout by processor generation; reserved
bytes zero), since the verifier checks the VCEK signature over those
re-encoded bytes.  No AMD key signs a test report: the test's reports
carry SHA-384 of bytes 0..0x29F in signature.r (zero padded) instead,
which this module checks over its re-encoding.
"""
import hashlib

TCB = ("fmc", "bootloader", "tee", "snp", "microcode")
VER = ("major", "minor", "build")
CERT_TYPES = ("ARK", "ASK", "VCEK", "VLEK", "CRL", "Empty")
# (name, kind, offset): kind "u32"/"u64"/"u8?"/"u64?", "tcb", "ver", or a byte count
FIELDS = [
    ("version", "u32", 0x00), ("guest_svn", "u32", 0x04), ("policy", "u64", 0x08),
    ("family_id", 16, 0x10), ("image_id", 16, 0x20), ("vmpl", "u32", 0x30),
    ("sig_algo", "u32", 0x34), ("current_tcb", "tcb", 0x38), ("plat_info", "u64", 0x40),
    ("key_info", "u32", 0x48), ("report_data", 64, 0x50), ("measurement", 48, 0x90),
    ("host_data", 32, 0xC0), ("id_key_digest", 48, 0xE0), ("author_key_digest", 48, 0x110),
    ("report_id", 32, 0x140), ("report_id_ma", 32, 0x160), ("reported_tcb", "tcb", 0x180),
    ("cpuid_fam_id", "u8?", 0x188), ("cpuid_mod_id", "u8?", 0x189),
    ("cpuid_step", "u8?", 0x18A), ("chip_id", 64, 0x1A0), ("committed_tcb", "tcb", 0x1E0),
    ("current", "ver", 0x1E8), ("committed", "ver", 0x1EC), ("launch_tcb", "tcb", 0x1F0),
    ("launch_mit_vector", "u64?", 0x1F8), ("current_mit_vector", "u64?", 0x200),
    ("signature", "sig", 0x2A0),
]


def _int(v, bits, what):
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < (1 << bits):
        raise ValueError("%s is not a u%d" % (what, bits))
    return v


def _bytes(v, n, what):
    if not isinstance(v, list) or len(v) != n:
        raise ValueError("%s is not an array of %d bytes" % (what, n))
    return bytes(_int(x, 8, what) for x in v)


def _turin(rep):
    """The processor generation as the sev crate's write_bytes tells it."""
    if rep["version"] == 2:
        chip = _bytes(rep["chip_id"], 64, "chip_id")
        if chip == bytes(64):
            raise ValueError("masked chip id in a version 2 report")
        return chip[8:] == bytes(56)
    fam, mod = rep["cpuid_fam_id"] or 0, rep["cpuid_mod_id"] or 0
    if fam == 0x19 and (mod <= 0x1F or 0xA0 <= mod <= 0xAF):
        return False
    if fam == 0x1A and mod <= 0x11:
        return True
    raise ValueError("unknown SEV-SNP processor family/model")


def _tcb(v, turin, what):
    if not isinstance(v, dict) or set(v) != set(TCB):
        raise ValueError("%s is not a TcbVersion" % what)
    b = [_int(v[k], 8, what) for k in TCB[1:]]
    if turin:
        return bytes([_int(v["fmc"], 8, what)] + b[:3] + [0, 0, 0, b[3]])
    if v["fmc"] is not None:
        raise ValueError("%s: fmc on a pre-Turin processor" % what)
    return bytes(b[:2] + [0, 0, 0, 0] + b[2:])


def _field(out, rep, name, kind, off, turin):
    v = rep[name]
    ver = rep["version"]
    if kind in ("u32", "u64"):
        n = 4 if kind == "u32" else 8
        out[off:off + n] = _int(v, n * 8, name).to_bytes(n, "little")
    elif kind in ("u8?", "u64?"):
        present = ver >= (3 if kind == "u8?" else 5)
        if (v is None) == present:
            raise ValueError("%s must be %s for version %d" % (name, "set" if present else "null", ver))
        if present:
            n = 1 if kind == "u8?" else 8
            out[off:off + n] = _int(v, n * 8, name).to_bytes(n, "little")
    elif kind == "tcb":
        out[off:off + 8] = _tcb(v, turin, name)
    elif kind == "ver":
        if not isinstance(v, dict) or set(v) != set(VER):
            raise ValueError("%s is not a Version" % name)
        out[off:off + 3] = bytes([_int(v["build"], 8, name), _int(v["minor"], 8, name),
                                  _int(v["major"], 8, name)])
    elif kind == "sig":
        if not isinstance(v, dict) or set(v) != {"r", "s"}:
            raise ValueError("signature is not {r, s}")
        out[off:off + 72] = _bytes(v["r"], 72, "signature.r")
        out[off + 72:off + 144] = _bytes(v["s"], 72, "signature.s")
    else:
        out[off:off + kind] = _bytes(v, kind, name)


def report_bytes(rep):
    """The 1184-byte report the fields encode (ValueError when malformed)."""
    if not isinstance(rep, dict) or set(rep) != {f[0] for f in FIELDS}:
        raise ValueError("attestation_report does not have the AttestationReport fields")
    if _int(rep["version"], 32, "version") < 2:
        raise ValueError("report version below 2")
    turin = _turin(rep)
    out = bytearray(1184)
    for name, kind, off in FIELDS:
        _field(out, rep, name, kind, off, turin)
    return bytes(out)


def check_chain(chain):
    """cert_chain: null or [{cert_type: NAME | {"OTHER": uuid}, data: [bytes]}]."""
    if chain is None:
        return []
    if not isinstance(chain, list):
        raise ValueError("cert_chain is not a list")
    names = []
    for e in chain:
        if not isinstance(e, dict) or set(e) != {"cert_type", "data"}:
            raise ValueError("a cert_chain entry is not {cert_type, data}")
        t = e["cert_type"]
        ok = t in CERT_TYPES if isinstance(t, str) else \
            isinstance(t, dict) and set(t) == {"OTHER"} and isinstance(t["OTHER"], str)
        if not ok:
            raise ValueError("unknown cert_type %r" % (t,))
        if not isinstance(e["data"], list):
            raise ValueError("cert data is not a byte array")
        _bytes(e["data"], len(e["data"]), "cert data")
        names.append(t if isinstance(t, str) else "OTHER")
    return names


def report_data(ev):
    """Check SNP evidence; return its 64 bytes of report data."""
    if not isinstance(ev, dict) or set(ev) != {"attestation_report", "cert_chain"}:
        raise ValueError("SNP evidence must be {attestation_report, cert_chain}")
    raw = report_bytes(ev["attestation_report"])
    check_chain(ev["cert_chain"])
    if raw[0x2A0:0x2A0 + 72] != hashlib.sha384(raw[:0x2A0]).digest() + bytes(24):
        raise ValueError("the re-encoded report does not match its signature")
    return raw[0x50:0x90]
