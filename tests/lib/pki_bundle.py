#!/usr/bin/python3
"""Sigstore bundles signed with certificates of a local PKI, for tests of
policy.json's sigstoreSigned "pki" requirements.

    pki_bundle.py OUTDIR DIGEST

A root CA and an intermediate CA (P-256, made with python3-cryptography)
issue leaf certificates for the signer; each bundle (v0.3, as cosign v3
writes for an image) is a DSSE envelope of an in-toto statement of
predicate type https://sigstore.dev/cosign/sign/v1 whose subject is the
image manifest DIGEST ("sha256:HEX"), signed with the leaf's key, the leaf
as the bundle's certificate, no transparency log entry.

Writes into OUTDIR roots.pem (caRoots), intermediates.pem
(caIntermediates), and:

  good.json          leaf: e-mail signer@example.com, DNS myhost.example.com,
                     code signing, valid now
  other-ca.json      the same kind of leaf from another root and intermediate
  expired.json       a leaf that expired an hour ago
  no-codesign.json   a leaf whose extended key usage is serverAuth only
  other-digest.json  a good leaf; the statement's subject is another digest
  key.json           signed with a bare key (public-key hint, no certificate)
"""
import base64
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mini_sigstore as ms  # noqa: E402

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402

NOW = ms.NOW
EMAIL = "signer@example.com"
HOST = "myhost.example.com"
PREDICATE = "https://sigstore.dev/cosign/sign/v1"
INTOTO = "application/vnd.in-toto+json"


def leaf(ca, nb=NOW - 600, na=NOW + 86400, eku=ExtendedKeyUsageOID.CODE_SIGNING):
    k = ms.newkey()
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "signer")]))
            .issuer_name(ca.cert.subject)
            .public_key(k.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(ms.ts(nb)).not_valid_after(ms.ts(na))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False,
                                         False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(EMAIL),
                                                        x509.DNSName(HOST)]), critical=False)
            .sign(ca.key, hashes.SHA256()))
    return k, cert


def statement(digest):
    alg, hexd = digest.split(":", 1)
    return json.dumps({"_type": "https://in-toto.io/Statement/v1",
                       "subject": [{"name": "", "digest": {alg: hexd}}],
                       "predicateType": PREDICATE, "predicate": {}},
                      separators=(",", ":")).encode()


def bundle(k, material, digest):
    payload = statement(digest)
    sig = ms.sign(k, ms.pae(INTOTO, payload))
    return {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": material,
            "dsseEnvelope": {"payload": ms.b64(payload), "payloadType": INTOTO,
                             "signatures": [{"sig": ms.b64(sig), "keyid": ""}]}}


def main():
    out, digest = sys.argv[1:3]
    os.makedirs(out, exist_ok=True)
    ca, other = ms.CA("local pki"), ms.CA("other pki")
    with open(os.path.join(out, "roots.pem"), "wb") as f:
        f.write(ca.root.public_bytes(ms.PEM))
    with open(os.path.join(out, "intermediates.pem"), "wb") as f:
        f.write(ca.cert.public_bytes(ms.PEM))

    def cert_bundle(name, c, k, d=digest):
        ms.write(out, name, bundle(k, ms.cert_mat(c), d))

    k, c = leaf(ca)
    cert_bundle("good", c, k)
    cert_bundle("other-digest", c, k, "sha256:" + "0" * 64)
    k, c = leaf(other)
    cert_bundle("other-ca", c, k)
    k, c = leaf(ca, nb=NOW - 86400, na=NOW - 3600)
    cert_bundle("expired", c, k)
    k, c = leaf(ca, eku=ExtendedKeyUsageOID.SERVER_AUTH)
    cert_bundle("no-codesign", c, k)
    k = ms.newkey()
    ms.write(out, "key", bundle(k, {"publicKey": {"hint": base64.b64encode(b"k").decode()}},
                                digest))


if __name__ == "__main__":
    main()
