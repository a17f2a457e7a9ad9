#!/usr/bin/python3
"""Test keyprovider logic shared by keyprovider_cmd.py and keyprovider_grpc.py.

It behaves like the confidential-containers pair coco_keyprovider (wrap:
seal the private options into an AES-256-GCM "annotation packet" under a
key-encryption key named by a KBS resource id) + the guest's unwrap
(CDH / attestation-agent with offline_fs_kbc: look the KEK up by the
kid's resource path in a keys file, open the packet).  Written for the
libcocoimg tests from the format description in ocicrypt.md section 7;
only uses the `cryptography` package.

Also usable as a checker:
    keyprovider_common.py open KEYSFILE ANNOTATION_VALUE
prints the private options opened from a (comma-separated, base64)
annotation value, following the guest's algorithm.
"""
import base64
import json
import os
import sys

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

DEFAULT_KID = "kbs:///default/key/test"


def load_keys(path):
    """offline_fs_kbc keys file: {"repo/type/tag": "<base64 KEK>"}"""
    with open(path, "rb") as f:
        doc = json.load(f)
    return {k: base64.b64decode(v, validate=True) for k, v in doc.items()}


def resource_path(kid):
    """kbs://HOST/repo/type/tag (or kbs+plugin://...) -> repo/type/tag"""
    scheme, sep, rest = kid.partition("://")
    if not sep or not (scheme == "kbs" or (scheme.startswith("kbs+") and len(scheme) > 4)):
        raise ValueError("kid is not a kbs:// resource URI")
    _host, slash, path = rest.partition("/")
    path = path.split("?", 1)[0].split("#", 1)[0]
    if not slash or len(path.split("/")) != 3:
        raise ValueError("kid must name REPOSITORY/TYPE/TAG")
    return path


def seal(kek, kid, optsdata):
    iv = os.urandom(12)
    wrapped = AESGCM(kek).encrypt(iv, optsdata, None)
    packet = {"kid": kid, "wrapped_data": base64.b64encode(wrapped).decode(),
              "iv": base64.b64encode(iv).decode(), "wrap_type": "A256GCM"}
    return json.dumps(packet, separators=(",", ":")).encode()


def open_packet(keys, packet_bytes):
    p = json.loads(packet_bytes)
    if p.get("version", "0.1.0") != "0.1.0":
        raise ValueError("unsupported packet version")
    if p.get("provider", "kbs") != "kbs":
        raise ValueError("unsupported packet provider")
    kek = keys.get(resource_path(p["kid"]))
    if kek is None:
        raise KeyError("no KEK for " + p["kid"])
    wrapped = base64.b64decode(p["wrapped_data"], validate=True)
    iv = base64.b64decode(p["iv"], validate=True)
    wt = p.get("wrap_type", "A256GCM")
    if wt == "A256GCM":
        return AESGCM(kek).decrypt(iv, wrapped, None)
    if wt == "A256CTR":
        d = Cipher(algorithms.AES(kek), modes.CTR(iv)).decryptor()
        return d.update(wrapped) + d.finalize()
    raise ValueError("unsupported wrap_type " + wt)


def b64bytes(v):
    if v is None:
        return None
    if isinstance(v, list):
        return bytes(v)
    return base64.b64decode(v, validate=True)


class Config:
    def __init__(self, argv):
        self.keys = {}
        self.form = "array"
        self.fail = None          # "wrap", "unwrap" or "all"
        self.log = None
        self.kid = DEFAULT_KID
        it = iter(argv)
        for a in it:
            if a == "--keys":
                self.keys = load_keys(next(it))
            elif a == "--form":
                self.form = next(it)
            elif a == "--fail":
                self.fail = next(it)
            elif a == "--log":
                self.log = next(it)
            elif a == "--kid":
                self.kid = next(it)
            else:
                raise SystemExit("unknown option " + a)


def handle(cfg, raw):
    """One keyprovider request (JSON bytes) -> answer (JSON bytes)."""
    req = json.loads(raw)
    if cfg.log:
        with open(cfg.log, "a") as f:
            f.write(json.dumps(req, separators=(",", ":")) + "\n")
    op = req.get("op")
    if cfg.fail in ("all", {"keywrap": "wrap", "keyunwrap": "unwrap"}.get(op)):
        raise RuntimeError("test provider told to fail " + str(op))
    if op == "keywrap":
        p = req["keywrapparams"]
        params = (p.get("ec") or {}).get("Parameters") or {}
        kid = cfg.kid
        kek = None
        # coco_keyprovider's parameter string: key=value pairs joined by "::"
        for vals in params.values():
            for v in vals:
                for kv in base64.b64decode(v).decode().split("::"):
                    k, _, val = kv.partition("=")
                    if k == "keyid":
                        kid = val
                    elif k == "keypath":
                        with open(val, "rb") as f:
                            kek = f.read()
        if kek is None:
            kek = cfg.keys[resource_path(kid)]
        ann = seal(kek, kid, b64bytes(p["optsdata"]))
        out = {"keywrapresults": {"annotation": encode(cfg, ann)}}
    elif op == "keyunwrap":
        p = req["keyunwrapparams"]
        opts = open_packet(cfg.keys, b64bytes(p["annotation"]))
        out = {"keyunwrapresults": {"optsdata": encode(cfg, opts)}}
    else:
        raise ValueError("unknown op")
    return json.dumps(out, separators=(",", ":")).encode()


def encode(cfg, b):
    if cfg.form == "base64":
        return base64.b64encode(b).decode()
    return list(b)


def main(argv):
    if len(argv) == 3 and argv[0] == "open":
        keys = load_keys(argv[1])
        last = None
        for elem in argv[2].split(","):
            try:
                sys.stdout.buffer.write(open_packet(keys, base64.b64decode(elem, validate=True)))
                return 0
            except Exception as e:  # try the next element
                last = e
        print("cannot open: %s" % last, file=sys.stderr)
        return 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
