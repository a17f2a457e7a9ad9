#!/usr/bin/python3
"""Test helper for cosign-format keys and signatures, independent of coco-img.

usage:
  cosign_tool.py encrypt IN.pem OUT.key PASSPHRASE [--pem-type SIGSTORE|COSIGN] [--n N]
      Re-encrypt a private key (any PEM python3-cryptography reads) in cosign's
      format: PKCS#8 DER sealed with NaCl secretbox (XSalsa20-Poly1305, from
      libsodium through ctypes) under scrypt(PASSPHRASE, salt, N, 8, 1).
  cosign_tool.py check-key KEY PUB PASSPHRASE
      KEY must be what `cosign generate-key-pair` writes, checked as
      go-securesystemslib and cosign read it: one PEM block "ENCRYPTED SIGSTORE
      PRIVATE KEY" in 64-column lines, a JSON body with exactly cosign's
      members and parameters (scrypt N=65536 r=8 p=1, 32-byte salt,
      nacl/secretbox, 24-byte nonce), decrypting (hashlib.scrypt, libsodium's
      secretbox_open) to PKCS#8 DER of an ECDSA P-256 key whose public key is
      PUB ("PUBLIC KEY" PEM).
  cosign_tool.py check-referrer MANIFEST INDEX SUBJECT_DIGEST SUBJECT_SIZE SUBJECT_MT
      MANIFEST is a referrer manifest `coco-img sign --bundle-format=v3`
      pushed, INDEX the referrers tag index listing it (or "-"): checks them
      field by field against what cosign v3 writes (go-containerregistry's
      member order, the empty config, one bundle layer, the annotations,
      subject and artifactType) and what distribution-spec v1.1.0 asks of
      the tag index entry; prints the bundle layer's digest.
  cosign_tool.py check-attachment DIR PUB.pem IDENTITY DIGEST NLAYERS
      DIR is a `skopeo copy ... dir:DIR` of a sha256-<hex>.sig tag.  Checks the
      manifest, config and layers field by field against the layout cosign
      (go-containerregistry) writes, that the LAST layer's payload is exactly
      cosign's payload for IDENTITY and DIGEST and that its signature
      annotation verifies with PUB.pem.
"""
import base64, ctypes, ctypes.util, hashlib, json, os, sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa


def sodium():
    lib = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
    if lib.sodium_init() < 0:
        raise SystemExit("sodium_init failed")
    return lib


def encrypt(args):
    src, dst, pw = args[0], args[1], args[2].encode()
    pem_type, n = "SIGSTORE", 65536
    rest = args[3:]
    while rest:
        if rest[0] == "--pem-type":
            pem_type = rest[1]; rest = rest[2:]
        elif rest[0] == "--n":
            n = int(rest[1]); rest = rest[2:]
        else:
            raise SystemExit("unknown option " + rest[0])
    key = serialization.load_pem_private_key(open(src, "rb").read(), password=None)
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    salt, nonce = os.urandom(32), os.urandom(24)
    k = hashlib.scrypt(pw, salt=salt, n=n, r=8, p=1, dklen=32, maxmem=512 * 1024 * 1024)
    lib = sodium()
    out = ctypes.create_string_buffer(len(der) + 16)
    if lib.crypto_secretbox_easy(out, der, ctypes.c_ulonglong(len(der)), nonce, k) != 0:
        raise SystemExit("secretbox failed")
    b64 = lambda b: base64.b64encode(b).decode()
    # field order as go-securesystemslib marshals its structs
    body = json.dumps({"kdf": {"name": "scrypt", "params": {"N": n, "r": 8, "p": 1}, "salt": b64(salt)},
                       "cipher": {"name": "nacl/secretbox", "nonce": b64(nonce)},
                       "ciphertext": b64(out.raw)}, separators=(",", ":")).encode()
    enc = base64.b64encode(body).decode()
    label = "ENCRYPTED %s PRIVATE KEY" % pem_type
    with open(dst, "w") as f:
        f.write("-----BEGIN %s-----\n" % label)
        for i in range(0, len(enc), 64):
            f.write(enc[i:i + 64] + "\n")
        f.write("-----END %s-----\n" % label)


def check_key(args):
    key_pem, pub_pem, pw = open(args[0]).read(), open(args[1], "rb").read(), args[2].encode()
    lines = key_pem.split("\n")
    label = "ENCRYPTED SIGSTORE PRIVATE KEY"
    if lines[0] != "-----BEGIN %s-----" % label or lines[-2] != "-----END %s-----" % label or lines[-1]:
        raise SystemExit("check-key: not one %s PEM block" % label)
    body = lines[1:-2]
    if any(len(l) != 64 for l in body[:-1]) or not 0 < len(body[-1]) <= 64:
        raise SystemExit("check-key: PEM lines are not 64 columns")
    raw = base64.b64decode("".join(body), validate=True)
    j = json.loads(raw)
    want = {"kdf": {"name": "scrypt", "params": {"N": 65536, "r": 8, "p": 1}, "salt": j["kdf"]["salt"]},
            "cipher": {"name": "nacl/secretbox", "nonce": j["cipher"]["nonce"]},
            "ciphertext": j["ciphertext"]}
    if raw != json.dumps(want, separators=(",", ":")).encode():
        raise SystemExit("check-key: JSON body differs from go-securesystemslib's: %r" % raw)
    salt, nonce, ct = (base64.b64decode(x) for x in (j["kdf"]["salt"], j["cipher"]["nonce"], j["ciphertext"]))
    if len(salt) != 32 or len(nonce) != 24:
        raise SystemExit("check-key: salt or nonce size")
    k = hashlib.scrypt(pw, salt=salt, n=65536, r=8, p=1, dklen=32, maxmem=512 * 1024 * 1024)
    out = ctypes.create_string_buffer(len(ct) - 16)
    if sodium().crypto_secretbox_open_easy(out, ct, ctypes.c_ulonglong(len(ct)), nonce, k) != 0:
        raise SystemExit("check-key: secretbox does not open with this passphrase")
    priv = serialization.load_der_private_key(out.raw, password=None)
    if not isinstance(priv, ec.EllipticCurvePrivateKey) or priv.curve.name != "secp256r1":
        raise SystemExit("check-key: not an ECDSA P-256 key")
    pub = serialization.load_pem_public_key(pub_pem)
    f = serialization.PublicFormat.SubjectPublicKeyInfo
    if pub.public_bytes(serialization.Encoding.DER, f) != priv.public_key().public_bytes(serialization.Encoding.DER, f):
        raise SystemExit("check-key: the public key is not the private key's")
    if pub_pem != priv.public_key().public_bytes(serialization.Encoding.PEM, f):
        raise SystemExit("check-key: the public key PEM is not laid out as Go writes it")
    print("key ok")


BUNDLE_MT = "application/vnd.dev.sigstore.bundle.v0.3+json"


def check_referrer(args):
    raw = open(args[0], "rb").read()
    subj = {"mediaType": args[4], "size": int(args[3]), "digest": args[2]}
    m = json.loads(raw)
    created = m.get("annotations", {}).get("org.opencontainers.image.created", "")
    layer = m["layers"][0] if len(m.get("layers", [])) == 1 else {}
    want = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2,
                       "digest": "sha256:" + hashlib.sha256(b"{}").hexdigest(), "artifactType": BUNDLE_MT},
            "layers": [{"mediaType": BUNDLE_MT, "size": layer.get("size"), "digest": layer.get("digest")}],
            "annotations": {"dev.sigstore.bundle.content": "dsse-envelope",
                            "dev.sigstore.bundle.predicateType": "https://sigstore.dev/cosign/sign/v1",
                            "org.opencontainers.image.created": created},
            "subject": subj, "artifactType": BUNDLE_MT}
    if raw != go_dumps(want).encode():
        raise SystemExit("check-referrer: manifest differs from cosign's layout:\n%s\n%s" % (raw, go_dumps(want)))
    import re
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", created):
        raise SystemExit("check-referrer: created is not RFC 3339 UTC: %r" % created)
    if args[1] != "-":
        idx = json.loads(open(args[1], "rb").read())
        if idx.get("schemaVersion") != 2 or idx.get("mediaType") != "application/vnd.oci.image.index.v1+json":
            raise SystemExit("check-referrer: the tag does not hold an OCI image index")
        d = "sha256:" + hashlib.sha256(raw).hexdigest()
        e = [x for x in idx["manifests"] if x.get("digest") == d]
        if len(e) != 1 or e[0] != {"mediaType": want["mediaType"], "size": len(raw), "digest": d,
                                   "annotations": want["annotations"], "artifactType": BUNDLE_MT}:
            raise SystemExit("check-referrer: index entry for %s: %r" % (d, e))
        if [x["digest"] for x in idx["manifests"]] != sorted(x["digest"] for x in idx["manifests"]):
            raise SystemExit("check-referrer: index entries not sorted by digest")
    print(layer["digest"])


def fail(msg):
    raise SystemExit("check-attachment: " + msg)


def go_dumps(o):
    return json.dumps(o, separators=(",", ":"), ensure_ascii=False)


def check_attachment(args):
    d, pub_path, identity, digest, nlayers = args[0], args[1], args[2], args[3], int(args[4])
    raw = open(os.path.join(d, "manifest.json"), "rb").read()
    m = json.loads(raw)
    if list(m.keys()) != ["schemaVersion", "mediaType", "config", "layers"]:
        fail("manifest keys %r" % list(m.keys()))
    if m["schemaVersion"] != 2 or m["mediaType"] != "application/vnd.oci.image.manifest.v1+json":
        fail("manifest type")
    cfgd = m["config"]
    if list(cfgd.keys()) != ["mediaType", "size", "digest"] or \
            cfgd["mediaType"] != "application/vnd.oci.image.config.v1+json":
        fail("config descriptor %r" % cfgd)
    layers = m["layers"]
    if len(layers) != nlayers:
        fail("%d layers, want %d" % (len(layers), nlayers))
    blob = lambda dg: open(os.path.join(d, dg.split(":", 1)[1]), "rb").read()
    cfg = blob(cfgd["digest"])
    if len(cfg) != cfgd["size"] or "sha256:" + hashlib.sha256(cfg).hexdigest() != cfgd["digest"]:
        fail("config blob digest/size")
    zero = "0001-01-01T00:00:00Z"
    want_cfg = go_dumps({"architecture": "", "created": zero,
                         "history": [{"created": zero}] * nlayers, "os": "",
                         "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]},
                         "config": {}}).encode()
    if cfg != want_cfg:
        fail("config differs:\n%s\n%s" % (cfg, want_cfg))
    for l in layers:
        if list(l.keys()) != ["mediaType", "size", "digest", "annotations"]:
            fail("layer keys %r" % list(l.keys()))
        if l["mediaType"] != "application/vnd.dev.cosign.simplesigning.v1+json":
            fail("layer media type")
        if list(l["annotations"].keys()) != ["dev.cosignproject.cosign/signature"]:
            fail("layer annotations %r" % l["annotations"])
        p = blob(l["digest"])
        if len(p) != l["size"] or "sha256:" + hashlib.sha256(p).hexdigest() != l["digest"]:
            fail("payload digest/size")
    last = layers[-1]
    payload = blob(last["digest"])
    want = ('{"critical":{"identity":{"docker-reference":%s},"image":{"docker-manifest-digest":%s},'
            '"type":"cosign container image signature"},"optional":null}'
            % (json.dumps(identity), json.dumps(digest))).encode()
    if payload != want:
        fail("payload differs:\n%s\n%s" % (payload, want))
    sig_b64 = last["annotations"]["dev.cosignproject.cosign/signature"]
    sig = base64.b64decode(sig_b64, validate=True)
    if base64.b64encode(sig).decode() != sig_b64:
        fail("signature is not canonical padded base64")
    pub = serialization.load_pem_public_key(open(pub_path, "rb").read())
    if isinstance(pub, ec.EllipticCurvePublicKey):
        pub.verify(sig, payload, ec.ECDSA(hashes.SHA256()))
    elif isinstance(pub, rsa.RSAPublicKey):
        pub.verify(sig, payload, padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(pub, ed25519.Ed25519PublicKey):
        pub.verify(sig, payload)
    else:
        fail("unsupported public key")
    print("attachment ok: %d layer(s)" % nlayers)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "encrypt":
        encrypt(args)
    elif cmd == "check-key":
        check_key(args)
    elif cmd == "check-referrer":
        check_referrer(args)
    elif cmd == "check-attachment":
        check_attachment(args)
    else:
        raise SystemExit(__doc__)
