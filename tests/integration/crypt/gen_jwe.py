#!/usr/bin/python3
"""Independent JWE producer (python3-cryptography) for the crypt tests.

usage: gen_jwe.py KEYDIR VECTORDIR OUTDIR [--variants FILE]
Writes OUTDIR (an OCI layout) with one tag per JWE variant; each image has
the ocicrypt vector layer (layer_encrypted.bin) whose keys.jwe annotation
holds one JWE of that variant wrapping the vector's private options.
Prints "TAG KEYFILE WANT" lines: WANT "open" when KEYFILE must open the
tag, "refuse" when the JWE must be refused although KEYFILE matches a
recipient, as go-jose v4.0 (the version ocicrypt pins) refuses it while
parsing: a "crit" header, ECDH-ES direct key agreement, or a general JWE
with one recipient whose algorithm is outside ocicrypt's list (PBES2).
With --variants, the JWEs come from FILE instead (another producer: one
JSON object a line, {"tag", "key", "want", "jwe"}, jwe an object or the
compact string) and only the layout is written here.
"""
import base64, hashlib, json, os, sys
from cryptography.hazmat.primitives import hashes, serialization, hmac, padding as sympad
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_wrap
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash

kd, vd, out = sys.argv[1:4]
ext = sys.argv[5] if len(sys.argv) > 5 and sys.argv[4] == "--variants" else None
plbco = open(vd + "/privopts.json", "rb").read()
b64u = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def pub(name):
    return serialization.load_pem_public_key(open(f"{kd}/{name}", "rb").read())

CEK_LEN = {"A128GCM": 16, "A192GCM": 24, "A256GCM": 32,
           "A128CBC-HS256": 32, "A192CBC-HS384": 48, "A256CBC-HS512": 64}
CRV = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}

def kdf(z, algid, bits):
    other = len(algid).to_bytes(4, "big") + algid.encode() + (0).to_bytes(4, "big") * 2 + bits.to_bytes(4, "big")
    return ConcatKDFHash(hashes.SHA256(), bits // 8, other).derive(z)

def key_mgmt(alg, enc, key):
    """-> (header members, encrypted_key, cek)"""
    n = CEK_LEN[enc]
    if alg.startswith("RSA-OAEP"):
        cek = os.urandom(n)
        h = hashes.SHA1() if alg == "RSA-OAEP" else hashes.SHA256()
        ek = key.encrypt(cek, padding.OAEP(padding.MGF1(h), h, None))
        return {}, ek, cek
    eph = ec.generate_private_key(key.curve)
    z = eph.exchange(ec.ECDH(), key)
    nums = eph.public_key().public_numbers()
    fl = (key.curve.key_size + 7) // 8
    epk = {"kty": "EC", "crv": CRV[key.curve.name], "x": b64u(nums.x.to_bytes(fl, "big")),
           "y": b64u(nums.y.to_bytes(fl, "big"))}
    if alg == "ECDH-ES":
        return {"epk": epk}, b"", kdf(z, enc, n * 8)
    kw = {"ECDH-ES+A128KW": 128, "ECDH-ES+A192KW": 192, "ECDH-ES+A256KW": 256}[alg]
    cek = os.urandom(n)
    return {"epk": epk}, aes_key_wrap(kdf(z, alg, kw), cek), cek

def content(enc, cek, aad):
    if enc.endswith("GCM"):
        iv = os.urandom(12)
        ct = AESGCM(cek).encrypt(iv, plbco, aad)
        return iv, ct[:-16], ct[-16:]
    half = len(cek) // 2
    iv = os.urandom(16)
    p = sympad.PKCS7(128).padder()
    e = Cipher(algorithms.AES(cek[half:]), modes.CBC(iv)).encryptor()
    ct = e.update(p.update(plbco) + p.finalize()) + e.finalize()
    hm = hmac.HMAC(cek[:half], {16: hashes.SHA256(), 24: hashes.SHA384(), 32: hashes.SHA512()}[half])
    hm.update(aad + iv + ct + (len(aad) * 8).to_bytes(8, "big"))
    return iv, ct, hm.finalize()[:half]

def flattened(alg, enc, key, **extra):
    hdr, ek, cek = key_mgmt(alg, enc, key)
    prot = b64u(json.dumps(dict(alg=alg, enc=enc, **hdr, **extra)).encode())
    iv, ct, tag = content(enc, cek, prot.encode())
    return {"protected": prot, "encrypted_key": b64u(ek), "iv": b64u(iv), "ciphertext": b64u(ct), "tag": b64u(tag)}

def general(enc, recips):
    """recips: [(alg, key)]; one CEK shared; enc in the unprotected header."""
    cek = os.urandom(CEK_LEN[enc])
    rs = []
    for alg, key in recips:
        if alg.startswith("PBES2"):
            # a password recipient: go-jose v4 refuses the whole JWE at
            # parse time when PBES2 is not an accepted algorithm
            rs.append({"header": {"alg": alg, "p2s": b64u(os.urandom(16)), "p2c": 1000},
                       "encrypted_key": b64u(os.urandom(CEK_LEN[enc] + 8))})
            continue
        assert alg.startswith("RSA-OAEP")
        h = hashes.SHA1() if alg == "RSA-OAEP" else hashes.SHA256()
        rs.append({"header": {"alg": alg}, "encrypted_key": b64u(key.encrypt(cek, padding.OAEP(padding.MGF1(h), h, None)))})
    prot = b64u(json.dumps({"zzz": "protected-member"}).encode())
    iv, ct, tag = content(enc, cek, prot.encode())
    return {"protected": prot, "unprotected": {"enc": enc}, "recipients": rs, "iv": b64u(iv), "ciphertext": b64u(ct), "tag": b64u(tag)}

def own_variants():
    rsa, rsa2, ec256, ec384, ec521 = pub("rsa.pub"), pub("rsa2.pub"), pub("ec.pub"), pub("ec384.pub"), pub("ec521.pub")
    variants = [
        ("oaep256-a192gcm", "rsa.pem", flattened("RSA-OAEP-256", "A192GCM", rsa)),
        ("a128kw-a128gcm", "ec.pem", flattened("ECDH-ES+A128KW", "A128GCM", ec256)),
        ("a192kw-cbc512", "ec.pem", flattened("ECDH-ES+A192KW", "A256CBC-HS512", ec256)),
        ("a128kw-cbc256-p384", "ec384.pem", flattened("ECDH-ES+A128KW", "A128CBC-HS256", ec384)),
        ("a256kw-p521", "ec521.pem", flattened("ECDH-ES+A256KW", "A256GCM", ec521)),
        ("oaep-cbc384", "rsa2.pem", flattened("RSA-OAEP", "A192CBC-HS384", rsa2)),
        ("general-second", "rsa.pem", general("A256GCM", [("RSA-OAEP", rsa2), ("RSA-OAEP-256", rsa)])),
    ]
    variants = [(t, k, "open", j) for t, k, j in variants]
    variants += [
        ("refuse-direct-p384", "ec384.pem", "refuse", flattened("ECDH-ES", "A128CBC-HS256", ec384)),
        ("refuse-crit", "rsa.pem", "refuse",
         flattened("RSA-OAEP-256", "A256GCM", rsa, crit=["exp"], exp=4102444800)),
        ("refuse-general-pbes2", "rsa.pem", "refuse",
         general("A256GCM", [("PBES2-HS256+A128KW", None), ("RSA-OAEP-256", rsa)])),
    ]
    compact = flattened("RSA-OAEP", "A256GCM", rsa)
    variants.append(("compact", "rsa.pem", "open", ".".join(compact[k] for k in ("protected", "encrypted_key", "iv", "ciphertext", "tag"))))
    return variants

if ext:
    variants = [(v["tag"], v["key"], v["want"], v["jwe"]) for v in map(json.loads, open(ext))]
else:
    variants = own_variants()

os.makedirs(out + "/blobs/sha256", exist_ok=True)
def put(b):
    h = hashlib.sha256(b).hexdigest()
    open(f"{out}/blobs/sha256/{h}", "wb").write(b)
    return "sha256:" + h, len(b)
ld, ls = put(open(vd + "/layer_encrypted.bin", "rb").read())
plain = hashlib.sha256(open(vd + "/layer_plain.tar", "rb").read()).hexdigest()
cd, cs = put(json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": ["sha256:" + plain]}}).encode())
pubopts = base64.b64encode(open(vd + "/pubopts.json", "rb").read()).decode()
mans = []
for tag, keyfile, want, jwe in variants:
    raw = (jwe if isinstance(jwe, str) else json.dumps(jwe)).encode()
    layer = {"mediaType": "application/vnd.oci.image.layer.v1.tar+encrypted", "digest": ld, "size": ls,
             "annotations": {"org.opencontainers.image.enc.keys.jwe": base64.b64encode(raw).decode(),
                             "org.opencontainers.image.enc.pubopts": pubopts}}
    m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
         "layers": [layer]}
    md, ms = put(json.dumps(m).encode())
    mans.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms,
                 "annotations": {"org.opencontainers.image.ref.name": tag}})
    print(tag, keyfile, want)
json.dump({"schemaVersion": 2, "manifests": mans}, open(out + "/index.json", "w"))
open(out + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
