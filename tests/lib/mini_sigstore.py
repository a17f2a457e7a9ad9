#!/usr/bin/python3
"""A small local "Sigstore" for keyless tests the public assets do not cover.

    mini_sigstore.py OUTDIR

writes into OUTDIR a trusted root (our own CA as Fulcio, our own log key as
Rekor, our own CT log key), an artifact a.txt, and bundles (v0.3):

  good.json          message signature, SET + inclusion proof + checkpoint,
                     leaf with SAN dev@example.com, issuer v1+v2 extensions,
                     embedded SCT
  dsse.json          the same signer, a DSSE envelope of an in-toto statement
                     whose subject is a.txt, logged as dsse 0.0.1
  expired.json       the certificate expired before the integrated time
  other-entry.json   the log entry (validly signed) is for another signature
  bad-sct.json       the SCT is signed by a CT key the root does not list
  untrusted-ca.json  the leaf chains to a CA the root does not list
  bad-checkpoint.json  the checkpoint is signed by another key
  key.json + key.pub a key-signed bundle (public-key hint) logged in Rekor
  key-nolog.json     a key-signed bundle without any log entry
  root-ca-late.json  a trusted root whose CA window starts after the signing

    mini_sigstore.py legacy OUTDIR DIGEST REGISTRY [MANIFEST]

writes cosign's legacy (".sig" attachment) signatures of the image manifest
DIGEST instead, one JSON file per case {"repo", "payload" (base64),
"annotations"} with the payload naming REGISTRY/keyless/CASE, plus
root.json (trusted root), fulcio-root.pem (fulcio-chain.pem: with the
intermediate) and rekor.pub (for a policy's
fulcio.caPath and rekorPublicKeyData) and key.pub:

  sig-good.json          keyless, SET (hashedrekord) + chain + embedded SCT;
                         the certificate (10 minutes, a day ago) has expired
                         since, but was valid at the SET's integrated time
  sig-late-log.json      the SET's integrated time is after the certificate
                         expired
  sig-expired-nolog.json   an expired certificate and no SET
  sig-other-entry.json   the SET (validly signed) logs another signature
  sig-bad-sct.json       the SCT is by a CT key the root does not list
  sig-key.json           signed with key.pub's key, SET logging that key
  bundle-good.json       (with MANIFEST) a keyless Sigstore bundle v0.3 of
                         the manifest bytes (SET, proof, checkpoint, SCT)

Everything is built here with python3-cryptography (Debian's) so the test
does not depend on the public-good instance.  The formats follow
sigstore/protobuf-specs (bundle, trusted root), Rekor (hashedrekord, dsse,
SET over the canonical JSON), RFC 6962 (Merkle tree, embedded SCT) and the
signed-note checkpoint format.
"""
import base64
import datetime
import hashlib
import json
import os
import struct
import sys
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

DER = serialization.Encoding.DER
PEM = serialization.Encoding.PEM
SPKI = serialization.PublicFormat.SubjectPublicKeyInfo
NOW = int(time.time())
BASE = NOW - 86400            # the signing happens a day ago
EMAIL = "dev@example.com"
ISSUER = "https://issuer.example.com"
ORIGIN = "local.rekor"


def b64(b):
    return base64.b64encode(b).decode()


def newkey():
    return ec.generate_private_key(ec.SECP256R1())


def spki(k):
    return k.public_key().public_bytes(DER, SPKI)


def sign(k, data):
    return k.sign(data, ec.ECDSA(hashes.SHA256()))


def ts(t):
    return datetime.datetime.utcfromtimestamp(t)


def rfc3339(t):
    return ts(t).strftime("%Y-%m-%dT%H:%M:%SZ")


def canon(o):
    return json.dumps(o, sort_keys=True, separators=(",", ":")).encode()


def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


# ---- CA ----

def ca_cert(name, key, issuer_name=None, issuer_key=None, nb=BASE - 10 * 86400,
            na=BASE + 3650 * 86400):
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    b = (x509.CertificateBuilder()
         .subject_name(subject)
         .issuer_name(issuer_name or subject)
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(ts(nb)).not_valid_after(ts(na))
         .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
         .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                      False), critical=True))
    return b.sign(issuer_key or key, hashes.SHA256())


class CA:
    def __init__(self, name):
        self.root_key = newkey()
        self.root = ca_cert(name + " root", self.root_key)
        self.key = newkey()
        self.cert = ca_cert(name + " intermediate", self.key, self.root.subject, self.root_key)


# ---- leaf with embedded SCT ----

def leaf_exts(b):
    b = b.add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False,
                                      False), critical=True)
    b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
    b = b.add_extension(x509.SubjectAlternativeName([x509.RFC822Name(EMAIL)]), critical=True)
    b = b.add_extension(x509.UnrecognizedExtension(
        ObjectIdentifier("1.3.6.1.4.1.57264.1.1"), ISSUER.encode()), critical=False)
    v2 = ISSUER.encode()
    b = b.add_extension(x509.UnrecognizedExtension(
        ObjectIdentifier("1.3.6.1.4.1.57264.1.8"), b"\x0c" + der_len(len(v2)) + v2),
        critical=False)
    return b


def sct_list(ct_key, issuer_cert, tbs, t_ms):
    ikh = hashlib.sha256(issuer_cert.public_key().public_bytes(DER, SPKI)).digest()
    signed = (b"\x00\x00" + struct.pack(">Q", t_ms) + b"\x00\x01" + ikh +
              struct.pack(">I", len(tbs))[1:] + tbs + b"\x00\x00")
    sig = sign(ct_key, signed)
    sct = (b"\x00" + hashlib.sha256(spki(ct_key)).digest() + struct.pack(">Q", t_ms) +
           b"\x00\x00" + b"\x04\x03" + struct.pack(">H", len(sig)) + sig)
    lst = struct.pack(">H", len(sct)) + sct
    lst = struct.pack(">H", len(lst)) + lst
    return b"\x04" + der_len(len(lst)) + lst


def leaf(ca, ct_key, nb, na):
    k = newkey()
    serial = x509.random_serial_number()

    def builder():
        return leaf_exts(x509.CertificateBuilder()
                         .subject_name(x509.Name([]))
                         .issuer_name(ca.cert.subject)
                         .public_key(k.public_key())
                         .serial_number(serial)
                         .not_valid_before(ts(nb)).not_valid_after(ts(na)))
    pre = builder().sign(ca.key, hashes.SHA256())
    ext = sct_list(ct_key, ca.cert, pre.tbs_certificate_bytes, nb * 1000 + 5)
    cert = builder().add_extension(x509.UnrecognizedExtension(
        ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2"), ext), critical=False).sign(
        ca.key, hashes.SHA256())
    return k, cert


# ---- Rekor ----

def leaf_hash(b):
    return hashlib.sha256(b"\x00" + b).digest()


def node(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()


def mth(leaves):
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node(mth(leaves[:k]), mth(leaves[k:]))


def path(m, leaves):
    if len(leaves) == 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


class Log:
    def __init__(self):
        self.key = newkey()
        self.log_id = hashlib.sha256(spki(self.key)).digest()

    def entry(self, kind, body, t, checkpoint_key=None):
        leaves = [leaf_hash(b"first"), leaf_hash(body), leaf_hash(b"third")]
        idx = 1
        root = mth(leaves)
        note = "%s\n%d\n%s\n" % (ORIGIN, len(leaves), b64(root))
        ck = checkpoint_key or self.key
        sig = sign(ck, note.encode())
        env = note + "\n\u2014 %s %s\n" % (ORIGIN, b64(self.log_id[:4] + sig))
        payload = canon({"body": b64(body), "integratedTime": t,
                         "logID": self.log_id.hex(), "logIndex": idx})
        return {
            "logIndex": str(idx), "logId": {"keyId": b64(self.log_id)},
            "kindVersion": {"kind": kind, "version": "0.0.1"},
            "integratedTime": str(t),
            "inclusionPromise": {"signedEntryTimestamp": b64(sign(self.key, payload))},
            "inclusionProof": {"logIndex": str(idx), "rootHash": b64(root),
                               "treeSize": str(len(leaves)),
                               "hashes": [b64(h) for h in path(idx, leaves)],
                               "checkpoint": {"envelope": env}},
            "canonicalizedBody": b64(body),
        }


def hashedrekord(digest, sig, signer_pem):
    return canon({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
        "data": {"hash": {"algorithm": "sha256", "value": digest.hex()}},
        "signature": {"content": b64(sig), "publicKey": {"content": b64(signer_pem)}}}})


def bundle(material, entries, content):
    vm = dict(material)
    if entries:
        vm["tlogEntries"] = entries
    b = {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
         "verificationMaterial": vm}
    b.update(content)
    return b


def message(digest, sig):
    return {"messageSignature": {"messageDigest": {"algorithm": "SHA2_256",
                                                   "digest": b64(digest)},
                                 "signature": b64(sig)}}


def cert_mat(cert):
    return {"certificate": {"rawBytes": b64(cert.public_bytes(DER))}}


def root_json(ca, log, ct_key, ca_start):
    def key_entry(k, lid, url):
        return {"baseUrl": url, "hashAlgorithm": "SHA2_256",
                "publicKey": {"rawBytes": b64(spki(k)), "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                              "validFor": {"start": rfc3339(BASE - 30 * 86400)}},
                "logId": {"keyId": b64(lid)}}
    return {
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [key_entry(log.key, log.log_id, "https://" + ORIGIN)],
        "certificateAuthorities": [{
            "subject": {"organization": "test", "commonName": "test"},
            "uri": "https://local.fulcio",
            "certChain": {"certificates": [{"rawBytes": b64(ca.cert.public_bytes(DER))},
                                           {"rawBytes": b64(ca.root.public_bytes(DER))}]},
            "validFor": {"start": rfc3339(ca_start)}}],
        "ctlogs": [key_entry(ct_key, hashlib.sha256(spki(ct_key)).digest(), "https://local.ct")],
        "timestampAuthorities": [],
    }


def pae(ptype, payload):
    return b"DSSEv1 %d %s %d %s" % (len(ptype), ptype.encode(), len(payload), payload)


def keyless(out, art, ca, ct, log, name, nb=BASE - 60, na=BASE + 540, t=BASE,
            other_entry=False, checkpoint_key=None):
    k, cert = leaf(ca, ct, nb, na)
    digest = hashlib.sha256(art).digest()
    sig = sign(k, art)
    logged_sig = sign(k, b"something else") if other_entry else sig
    logged_digest = hashlib.sha256(b"something else").digest() if other_entry else digest
    body = hashedrekord(logged_digest, logged_sig, cert.public_bytes(PEM))
    e = log.entry("hashedrekord", body, t, checkpoint_key)
    write(out, name, bundle(cert_mat(cert), [e], message(digest, sig)))


def dsse(out, art, ca, ct, log):
    k, cert = leaf(ca, ct, BASE - 60, BASE + 540)
    stmt = canon({"_type": "https://in-toto.io/Statement/v1",
                  "subject": [{"name": "a.txt",
                               "digest": {"sha256": hashlib.sha256(art).hexdigest()}}],
                  "predicateType": "https://sigstore.dev/cosign/sign/v1", "predicate": {}})
    ptype = "application/vnd.in-toto+json"
    sig = sign(k, pae(ptype, stmt))
    env = {"payload": b64(stmt), "payloadType": ptype, "signatures": [{"sig": b64(sig)}]}
    body = canon({"apiVersion": "0.0.1", "kind": "dsse", "spec": {
        "envelopeHash": {"algorithm": "sha256", "value": hashlib.sha256(canon(env)).hexdigest()},
        "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(stmt).hexdigest()},
        "signatures": [{"signature": b64(sig), "verifier": b64(cert.public_bytes(PEM))}]}})
    write(out, "dsse", bundle(cert_mat(cert), [log.entry("dsse", body, BASE)],
                              {"dsseEnvelope": env}))


def key_bundles(out, art, log):
    k = newkey()
    pub = k.public_key().public_bytes(PEM, SPKI)
    with open(os.path.join(out, "key.pub"), "wb") as f:
        f.write(pub)
    digest = hashlib.sha256(art).digest()
    sig = sign(k, art)
    mat = {"publicKey": {"hint": b64(hashlib.sha256(spki(k)).digest())}}
    e = log.entry("hashedrekord", hashedrekord(digest, sig, pub), BASE)
    write(out, "key", bundle(mat, [e], message(digest, sig)))
    write(out, "key-nolog", bundle(mat, [], message(digest, sig)))


def write(out, name, obj):
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(obj, f, indent=1)


# ---- legacy cosign signatures (.sig attachment annotations) ----

def cosign_payload(repo, digest):
    # byte for byte what cosign writes
    return ('{"critical":{"identity":{"docker-reference":"%s"},"image":{"docker-manifest-digest":'
            '"%s"},"type":"cosign container image signature"},"optional":null}' % (repo, digest)
            ).encode()


def legacy_set(log, body, t):
    payload = {"body": b64(body), "integratedTime": t, "logIndex": 7, "logID": log.log_id.hex()}
    return json.dumps({"SignedEntryTimestamp": b64(sign(log.key, canon(payload))),
                       "Payload": payload}, separators=(",", ":"))


def legacy_sig(out, name, repo, digest, k, signer_pem, log, chain_pem=None, t=BASE,
               other_entry=False, with_set=True):
    payload = cosign_payload(repo, digest)
    sig = sign(k, payload)
    ann = {"dev.cosignproject.cosign/signature": b64(sig)}
    if chain_pem is not None:
        ann["dev.sigstore.cosign/certificate"] = signer_pem.decode()
        ann["dev.sigstore.cosign/chain"] = chain_pem.decode()
    if with_set:
        logged_sig = sign(k, b"something else") if other_entry else sig
        logged = hashlib.sha256(b"something else" if other_entry else payload).digest()
        ann["dev.sigstore.cosign/bundle"] = legacy_set(
            log, hashedrekord(logged, logged_sig, signer_pem), t)
    with open(os.path.join(out, "sig-%s.json" % name), "w") as f:
        json.dump({"repo": repo, "payload": b64(payload), "annotations": ann}, f)


def legacy(out, digest, registry, manifest=None):
    os.makedirs(out, exist_ok=True)
    ca = CA("local fulcio")
    ct, other_ct = newkey(), newkey()
    log = Log()
    write(out, "root", root_json(ca, log, ct, BASE - 20 * 86400))
    with open(os.path.join(out, "fulcio-root.pem"), "wb") as f:
        f.write(ca.root.public_bytes(PEM))
    with open(os.path.join(out, "rekor.pub"), "wb") as f:
        f.write(log.key.public_key().public_bytes(PEM, SPKI))
    chain = ca.cert.public_bytes(PEM) + ca.root.public_bytes(PEM)
    with open(os.path.join(out, "fulcio-chain.pem"), "wb") as f:
        f.write(chain)

    def repo(case):
        return "%s/keyless/%s" % (registry, case)

    def keyless_sig(case, ct_key=ct, nb=BASE - 60, na=BASE + 540, **kw):
        k, cert = leaf(ca, ct_key, nb, na)
        legacy_sig(out, case, repo(case), digest, k, cert.public_bytes(PEM), log, chain, **kw)

    keyless_sig("good")
    keyless_sig("late-log", t=BASE + 3600)
    keyless_sig("expired-nolog", with_set=False)
    keyless_sig("other-entry", other_entry=True)
    keyless_sig("bad-sct", ct_key=other_ct)
    k = newkey()
    pub = k.public_key().public_bytes(PEM, SPKI)
    with open(os.path.join(out, "key.pub"), "wb") as f:
        f.write(pub)
    legacy_sig(out, "key", repo("key"), digest, k, pub, log)
    if manifest:
        # a keyless bundle (v0.3, message signature over the manifest bytes)
        keyless(out, open(manifest, "rb").read(), ca, ct, log, "bundle-good")


def main():
    if sys.argv[1] == "legacy":
        legacy(*sys.argv[2:6])
        return
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    art = b"hello, local sigstore\n"
    with open(os.path.join(out, "a.txt"), "wb") as f:
        f.write(art)
    ca, other_ca = CA("local fulcio"), CA("other fulcio")
    ct, other_ct = newkey(), newkey()
    log = Log()
    write(out, "root", root_json(ca, log, ct, BASE - 20 * 86400))
    write(out, "root-ca-late", root_json(ca, log, ct, BASE + 3600))
    keyless(out, art, ca, ct, log, "good")
    keyless(out, art, ca, ct, log, "expired", nb=BASE - 7200, na=BASE - 6600)
    keyless(out, art, ca, ct, log, "other-entry", other_entry=True)
    keyless(out, art, ca, other_ct, log, "bad-sct")
    keyless(out, art, other_ca, ct, log, "untrusted-ca")
    keyless(out, art, ca, ct, log, "bad-checkpoint", checkpoint_key=newkey())
    dsse(out, art, ca, ct, log)
    key_bundles(out, art, log)


if __name__ == "__main__":
    main()
