#!/usr/bin/python3
"""Legacy cosign signatures timestamped by an RFC 3161 timestamp authority
instead of (or besides) a Rekor SET, for tests.

    tsa_legacy.py OUTDIR DIGEST REGISTRY

Our own "Sigstore" (tests/lib/mini_sigstore.py: Fulcio CA, Rekor key, CT
key) plus two timestamp authorities made here (a root and a leaf with the
critical timeStamping extended key usage, P-256).  The timestamp tokens are
made by the openssl `ts` command (openssl ts -query / -reply), a real RFC
3161 implementation, over the raw signature bytes, as cosign asks its TSA;
they go into the annotation dev.sigstore.cosign/rfc3161timestamp as cosign
writes it: {"SignedRFC3161Timestamp": BASE64(DER TimeStampResp)}.

Writes into OUTDIR root.json (the trusted root: CA, log, CT log and the
first TSA only), fulcio-chain.pem and rekor.pub (for a policy's fulcio
caPath and rekorPublicKeyData), key.pub, and one {"repo", "payload", "annotations"} file
per case (for push_sig.py), the payload naming REGISTRY/tsa/CASE:

  sig-ts-good.json        keyless, certificate valid now, timestamp (now) by
                          the trusted TSA, no Rekor bundle annotation
  sig-ts-and-set.json     the same plus a valid SET
  sig-ts-wrong-tsa.json   the timestamp is by the other TSA (not in the root)
  sig-ts-expired.json     the certificate expired a day ago; the timestamp
                          (now) is outside its validity
  sig-ts-other-data.json  the timestamp is over other bytes (the payload)
  sig-ts-garbage.json     the annotation holds no timestamp token
  sig-ts-key.json         signed with key.pub's key, timestamp, no SET
"""
import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mini_sigstore as ms  # noqa: E402

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402

ANN_TS = "dev.sigstore.cosign/rfc3161timestamp"
NOW = ms.NOW


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


class TSA:
    """A timestamp authority: root CA and signing leaf, files for openssl."""

    def __init__(self, d, label):
        self.dir = os.path.join(d, label)
        os.makedirs(self.dir, exist_ok=True)
        self.root_key = ms.newkey()
        self.root = ms.ca_cert(label + " root", self.root_key)
        self.key = ms.newkey()
        self.cert = (x509.CertificateBuilder()
                     .subject_name(name(label + " signer"))
                     .issuer_name(self.root.subject)
                     .public_key(self.key.public_key())
                     .serial_number(x509.random_serial_number())
                     .not_valid_before(ms.ts(NOW - 30 * 86400))
                     .not_valid_after(ms.ts(NOW + 365 * 86400))
                     .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                                    critical=True)
                     .add_extension(x509.KeyUsage(True, False, False, False, False, False,
                                                  False, False, False), critical=True)
                     .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]),
                                    critical=True)
                     .sign(self.root_key, hashes.SHA256()))
        self.files = {}
        for fn, data in (("signer.pem", self.cert.public_bytes(ms.PEM)),
                         ("chain.pem", self.cert.public_bytes(ms.PEM) +
                          self.root.public_bytes(ms.PEM)),
                         ("signer.key", self.key.private_bytes(
                             ms.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())),
                         ("serial", b"01\n")):
            p = os.path.join(self.dir, fn)
            with open(p, "wb") as f:
                f.write(data)
            self.files[fn] = p
        cnf = os.path.join(self.dir, "tsa.cnf")
        with open(cnf, "w") as f:
            f.write("[ tsa ]\ndefault_tsa = tsa_config\n\n[ tsa_config ]\n"
                    "serial = %s\nsigner_digest = sha256\ndefault_policy = 1.3.6.1.4.1.57264.99.1\n"
                    "digests = sha256\naccuracy = secs:1\nordering = no\n"
                    "tsa_name = no\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n"
                    % self.files["serial"])
        self.files["cnf"] = cnf

    def stamp(self, data):
        """The DER TimeStampResp of openssl ts over data (its SHA-256)."""
        with tempfile.TemporaryDirectory() as t:
            dp, qp, rp = (os.path.join(t, n) for n in ("data", "q.tsq", "r.tsr"))
            with open(dp, "wb") as f:
                f.write(data)
            subprocess.run(["openssl", "ts", "-query", "-data", dp, "-sha256", "-cert",
                            "-no_nonce", "-out", qp], check=True, capture_output=True)
            subprocess.run(["openssl", "ts", "-reply", "-config", self.files["cnf"],
                            "-queryfile", qp, "-signer", self.files["signer.pem"],
                            "-inkey", self.files["signer.key"], "-chain",
                            self.files["chain.pem"], "-out", rp],
                           check=True, capture_output=True)
            return open(rp, "rb").read()

    def root_entry(self):
        return {"subject": {"organization": "test", "commonName": "test tsa"},
                "uri": "https://local.tsa",
                "certChain": {"certificates": [
                    {"rawBytes": ms.b64(self.cert.public_bytes(ms.DER))},
                    {"rawBytes": ms.b64(self.root.public_bytes(ms.DER))}]},
                "validFor": {"start": ms.rfc3339(NOW - 20 * 86400)}}


def ts_annotation(resp):
    return json.dumps({"SignedRFC3161Timestamp": base64.b64encode(resp).decode()})


def write_sig(out, case, repo, payload, ann):
    with open(os.path.join(out, "sig-%s.json" % case), "w") as f:
        json.dump({"repo": repo, "payload": ms.b64(payload), "annotations": ann}, f)


def main():
    out, digest, registry = sys.argv[1:4]
    os.makedirs(out, exist_ok=True)
    ca = ms.CA("local fulcio")
    ct = ms.newkey()
    log = ms.Log()
    tsa, other_tsa = TSA(out, "tsa"), TSA(out, "other-tsa")
    root = ms.root_json(ca, log, ct, ms.BASE - 20 * 86400)
    root["timestampAuthorities"] = [tsa.root_entry()]
    ms.write(out, "root", root)
    chain = ca.cert.public_bytes(ms.PEM) + ca.root.public_bytes(ms.PEM)
    with open(os.path.join(out, "fulcio-chain.pem"), "wb") as f:
        f.write(chain)
    with open(os.path.join(out, "rekor.pub"), "wb") as f:
        f.write(log.key.public_key().public_bytes(ms.PEM, ms.SPKI))

    def case(c, nb=NOW - 60, na=NOW + 540, by=tsa, over=None, with_set=False, garbage=False):
        repo = "%s/tsa/%s" % (registry, c)
        k, cert = ms.leaf(ca, ct, nb, na)
        pem = cert.public_bytes(ms.PEM)
        payload = ms.cosign_payload(repo, digest)
        sig = ms.sign(k, payload)
        ann = {"dev.cosignproject.cosign/signature": ms.b64(sig),
               "dev.sigstore.cosign/certificate": pem.decode(),
               "dev.sigstore.cosign/chain": chain.decode()}
        if with_set:
            body = ms.hashedrekord(hashlib.sha256(payload).digest(), sig, pem)
            ann["dev.sigstore.cosign/bundle"] = ms.legacy_set(log, body, NOW - 30)
        ann[ANN_TS] = (json.dumps({"SignedRFC3161Timestamp": ms.b64(b"not a token")})
                       if garbage else ts_annotation(by.stamp(over if over else sig)))
        write_sig(out, c, repo, payload, ann)

    case("ts-good")
    case("ts-and-set", with_set=True)
    case("ts-wrong-tsa", by=other_tsa)
    case("ts-expired", nb=ms.BASE - 60, na=ms.BASE + 540)
    case("ts-other-data", over=b"other bytes than the signature")
    case("ts-garbage", garbage=True)
    # key-signed, timestamped, no SET
    k = ms.newkey()
    pub = k.public_key().public_bytes(ms.PEM, ms.SPKI)
    with open(os.path.join(out, "key.pub"), "wb") as f:
        f.write(pub)
    repo = "%s/tsa/ts-key" % registry
    payload = ms.cosign_payload(repo, digest)
    sig = ms.sign(k, payload)
    write_sig(out, "ts-key", repo, payload, {"dev.cosignproject.cosign/signature": ms.b64(sig),
                                              ANN_TS: ts_annotation(tsa.stamp(sig))})


if __name__ == "__main__":
    main()
