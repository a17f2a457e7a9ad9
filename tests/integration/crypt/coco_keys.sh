#!/bin/bash
# Confidential-containers recipients without a keyprovider process:
# --encryption-key coco:KID:KEKFILE, --decryption-key coco-keys:FILE
# (offline_fs_kbc keys file).  Round trip; the packet we write opened by
# an independent Python implementation of the guest's unwrap (and the layer
# decrypted with what it returns); wrong/missing keys give exit 4 naming
# the kid; bad KEK/keys files give exit 2; the ocicrypt vector
# descriptor_coco.json opens with its keys file; local keys and a
# provider:attestation-agent coexist (local first, then the provider); a
# coco: recipient added to JWE layers, then unpacked with coco-keys only.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/integration/crypt/crypt_lib.sh"
cd "$T" || exit 1
KP="$TOP_SRCDIR/tests/integration/crypt"

head -c 32 /dev/urandom > "$T/kek1.bin"
head -c 32 /dev/urandom > "$T/kek2.bin"
head -c 32 /dev/urandom > "$T/wrong.bin"
resources_json "$T/keys.json" default/key/app1="$T/kek1.bin" other/key/app2="$T/kek2.bin"
resources_json "$T/keys1.json" default/key/app1="$T/kek1.bin"
resources_json "$T/wrongkeys.json" default/key/app1="$T/wrong.bin"
resources_json "$T/otherkeys.json" default/key/nothere="$T/kek1.bin"

mkimage "$T/src:v1" --layer "f:etc/a=alpha,r:bin/big=150000" --layer "f:etc/b=beta" --compress gzip >/dev/null

# 1. round trip
check "encrypt with coco:KID:KEKFILE" "$COCO_IMG" encrypt -q oci:src:v1 oci:enc:v1 \
    --encryption-key "coco:kbs:///default/key/app1:$T/kek1.bin"
check "both layers encrypted" expect_encrypted enc:v1 2
check "decrypt with coco-keys:FILE" "$COCO_IMG" decrypt -q oci:enc:v1 oci:dec:v1 --decryption-key "coco-keys:$T/keys.json"
check "round trip: layers equal the original" same_layers src:v1 dec:v1

# 2. interop: the guest's algorithm (Python, keyprovider_common.py) opens our
# packet, and the layer decrypts (AES-256-CTR, HMAC-SHA256) to the original
check "packet shape and guest-style unwrap" "$PY" - "$T/enc" "$T/src" "$T/keys1.json" "$KP" <<'PY'
import base64, hashlib, hmac, json, sys
sys.path.insert(0, sys.argv[4])
import keyprovider_common as kc
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
def manifest(d):
    idx = json.load(open(d + "/index.json"))
    return json.load(open(d + "/blobs/sha256/" + idx["manifests"][0]["digest"][7:]))
enc, src = manifest(sys.argv[1]), manifest(sys.argv[2])
keys = kc.load_keys(sys.argv[3])
for le, ls in zip(enc["layers"], src["layers"]):
    a = le["annotations"]
    v = a["org.opencontainers.image.enc.keys.provider.attestation-agent"]
    assert "," not in v
    pkt = base64.b64decode(v, validate=True)
    # compact, in coco_keyprovider's field order
    assert list(json.loads(pkt)) == ["kid", "wrapped_data", "iv", "wrap_type"], pkt
    assert pkt.startswith(b'{"kid":"kbs:///default/key/app1","wrapped_data":"'), pkt
    opts = json.loads(kc.open_packet(keys, pkt))
    pub = json.loads(base64.b64decode(a["org.opencontainers.image.enc.pubopts"]))
    assert pub["cipher"] == "AES_256_CTR_HMAC_SHA256"
    key = base64.b64decode(opts["symkey"]); nonce = base64.b64decode(opts["cipheroptions"]["nonce"])
    ct = open(sys.argv[1] + "/blobs/sha256/" + le["digest"][7:], "rb").read()
    assert hmac.compare_digest(hmac.new(key, ct, hashlib.sha256).digest(), base64.b64decode(pub["hmac"]))
    d = Cipher(algorithms.AES(key), modes.CTR(nonce)).decryptor()
    pt = d.update(ct) + d.finalize()
    assert "sha256:" + hashlib.sha256(pt).hexdigest() == ls["digest"]
    assert opts["digest"] == ls["digest"], (opts["digest"], ls["digest"])
PY
check "the checker CLI opens it too" sh -c "'$PY' '$KP/keyprovider_common.py' open '$T/keys1.json' \
    \"\$('$PY' -c 'import json,sys; d=sys.argv[1]; i=json.load(open(d+\"/index.json\")); m=json.load(open(d+\"/blobs/sha256/\"+i[\"manifests\"][0][\"digest\"][7:])); print(m[\"layers\"][0][\"annotations\"][\"org.opencontainers.image.enc.keys.provider.attestation-agent\"])' '$T/enc')\" | grep -q symkey"

# 3. two CoCo recipients: one packet each, either key opens
check "encrypt for two kids" "$COCO_IMG" encrypt -q oci:src:v1 oci:enc2:v1 \
    --encryption-key "coco:kbs:///default/key/app1:$T/kek1.bin" \
    --encryption-key "coco:kbs://kbs.example:8080/other/key/app2:$T/kek2.bin"
resources_json "$T/keys2.json" other/key/app2="$T/kek2.bin"
check "first kid opens" "$COCO_IMG" decrypt -q oci:enc2:v1 oci:dec2a:v1 --decryption-key "coco-keys:$T/keys1.json"
check "second kid (KBS host in the URI) opens" "$COCO_IMG" decrypt -q oci:enc2:v1 oci:dec2b:v1 --decryption-key "coco-keys:$T/keys2.json"
check "two-recipient round trip" same_layers src:v1 dec2b:v1

# 4. wrong or missing keys: exit 4, kid named, nothing written, no key material
"$COCO_IMG" decrypt -q oci:enc:v1 oci:decw:v1 --decryption-key "coco-keys:$T/wrongkeys.json" 2>"$T/err"; rc=$?
check "wrong KEK: exit 4" [ "$rc" -eq 4 ]
check "wrong KEK: kid named" grep -q "kbs:///default/key/app1" "$T/err"
check "wrong KEK: nothing written" absent "$T/decw"
check "wrong KEK: no key material in the message" sh -c "! grep -q -F \"\$(base64 < '$T/wrong.bin')\" '$T/err'"
"$COCO_IMG" decrypt -q oci:enc:v1 oci:decm:v1 --decryption-key "coco-keys:$T/otherkeys.json" 2>"$T/err"; rc=$?
check "kid not in the keys file: exit 4" [ "$rc" -eq 4 ]
check "kid not in the keys file: path named" grep -q "default/key/app1" "$T/err"

# 5. bad user input: exit 2
head -c 31 /dev/urandom > "$T/short.bin"
check "31-byte KEK file: exit 2" expect_rc 2 "$COCO_IMG" encrypt -q oci:src:v1 oci:e1:v1 --encryption-key "coco:kbs:///a/b/c:$T/short.bin"
check "KID not a KBS URI: exit 2" expect_rc 2 "$COCO_IMG" encrypt -q oci:src:v1 oci:e2:v1 --encryption-key "coco:https://kbs/a/b/c:$T/kek1.bin"
check "missing KEK file: exit 2" expect_rc 2 "$COCO_IMG" encrypt -q oci:src:v1 oci:e3:v1 --encryption-key "coco:kbs:///a/b/c:$T/nonexistent"
printf '{"default/key/app1": "not base64!"}' > "$T/bad.json"
"$COCO_IMG" decrypt -q oci:enc:v1 oci:e4:v1 --decryption-key "coco-keys:$T/bad.json" 2>"$T/err"; rc=$?
check "malformed keys file: exit 2" [ "$rc" -eq 2 ]
check "malformed keys file: file named" grep -q bad.json "$T/err"
check "coco-keys as a recipient: exit 2" expect_rc 2 "$COCO_IMG" encrypt -q oci:src:v1 oci:e5:v1 --encryption-key "coco-keys:$T/keys.json"

# 6. the ocicrypt vector: descriptor_coco.json opened with the offline keys file
"$PY" - "$T/vec" "$V" <<'PY'
import hashlib, json, os, sys
d, v = sys.argv[1], sys.argv[2]
os.makedirs(d + "/blobs/sha256")
def put(b):
    h = hashlib.sha256(b).hexdigest()
    open(f"{d}/blobs/sha256/{h}", "wb").write(b)
    return "sha256:" + h, len(b)
put(open(v + "/layer_encrypted.bin", "rb").read())
plain = hashlib.sha256(open(v + "/layer_plain.tar", "rb").read()).hexdigest()
cd, cs = put(json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": ["sha256:" + plain]}}).encode())
m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
     "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
     "layers": [json.load(open(v + "/descriptor_coco.json"))]}
md, ms = put(json.dumps(m).encode())
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
           "digest": md, "size": ms, "annotations": {"org.opencontainers.image.ref.name": "v"}}]},
          open(d + "/index.json", "w"))
open(d + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
PY
check "vector: descriptor_coco.json opens with the offline keys file" "$COCO_IMG" decrypt -q oci:vec:v oci:dvec:v \
    --decryption-key "coco-keys:$V/coco_offline_fs_kbc_keys.json"
check "vector: plaintext digest" grep_layers dvec:v "sha256:805b8cb8bbd621c586b09aadc6313b06b298e79fc4dc7b42952b19de15539ccf"
"$COCO_IMG" decrypt -q oci:vec:v oci:dvec2:v --decryption-key "coco-keys:$T/keys.json" 2>"$T/err"; rc=$?
check "vector with the wrong keys file: exit 4 naming the kid" sh -c "[ $rc -eq 4 ] && grep -q 'kbs:///default/key/vector1' '$T/err'"

# 7. local keys and provider:attestation-agent together
cat > "$T/kp.json" <<EOF
{"key-providers": {
  "attestation-agent": {"cmd": {"path": "/usr/bin/python3", "args": ["$KP/keyprovider_cmd.py", "--keys", "$T/keys.json", "--log", "$T/aa.log"]}},
  "aafail": {"cmd": {"path": "/usr/bin/python3", "args": ["$KP/keyprovider_cmd.py", "--fail", "all"]}}
}}
EOF
export OCICRYPT_KEYPROVIDER_CONFIG="$T/kp.json"
rm -f "$T/aa.log"
check "right local key + provider: opens" "$COCO_IMG" decrypt -q oci:enc:v1 oci:dco1:v1 \
    --decryption-key "coco-keys:$T/keys1.json" --decryption-key provider:attestation-agent
check "right local key + provider: the provider was not needed" absent "$T/aa.log"
check "wrong local key + provider: the provider opens it" "$COCO_IMG" decrypt -q oci:enc:v1 oci:dco2:v1 \
    --decryption-key "coco-keys:$T/wrongkeys.json" --decryption-key provider:attestation-agent
check "coexistence round trip" same_layers src:v1 dco2:v1
check "coco: and provider:attestation-agent recipients together" "$COCO_IMG" encrypt -q oci:src:v1 oci:encboth:v1 \
    --encryption-key "coco:kbs:///default/key/app1:$T/kek1.bin" \
    --encryption-key provider:attestation-agent:keyid=kbs:///other/key/app2
check "one annotation with two packets" "$PY" - "$T/encboth" <<'PY'
import json, sys
d = sys.argv[1]
i = json.load(open(d + "/index.json"))
m = json.load(open(d + "/blobs/sha256/" + i["manifests"][0]["digest"][7:]))
for l in m["layers"]:
    assert len(l["annotations"]["org.opencontainers.image.enc.keys.provider.attestation-agent"].split(",")) == 2
PY
check "the provider's packet opens locally" "$COCO_IMG" decrypt -q oci:encboth:v1 oci:dco3:v1 --decryption-key "coco-keys:$T/keys2.json"
check "ours opens locally" "$COCO_IMG" decrypt -q oci:encboth:v1 oci:dco4:v1 --decryption-key "coco-keys:$T/keys1.json"

# 8. a CoCo recipient added to a JWE-encrypted image without re-encryption,
# then unpacked the way a guest does, with the offline keys file only
openssl genrsa -out "$T/rsa.pem" 2048 2>/dev/null
openssl rsa -in "$T/rsa.pem" -pubout -out "$T/rsa.pub" 2>/dev/null
"$COCO_IMG" encrypt -q oci:src:v1 oci:encj:v1 --encryption-key "jwe:$T/rsa.pub" >/dev/null
check "add a coco: recipient to JWE-encrypted layers" "$COCO_IMG" encrypt -q oci:encj:v1 oci:encjc:v1 \
    --decryption-key "$T/rsa.pem" --encryption-key "coco:kbs:///default/key/app1:$T/kek1.bin"
layers encj:v1 | cut -d' ' -f2 > "$T/da"; layers encjc:v1 | cut -d' ' -f2 > "$T/db"
check "layer digests unchanged (no re-encryption)" cmp "$T/da" "$T/db"
check "unpack with coco-keys only" "$COCO_IMG" unpack -q oci:encjc:v1 "$T/rootfs" --decryption-key "coco-keys:$T/keys1.json"
check "unpacked content" grep -q alpha "$T/rootfs/etc/a"

finish
