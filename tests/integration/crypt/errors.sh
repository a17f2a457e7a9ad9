#!/bin/bash
# Failure paths and key formats: wrong key (exit 4, message names the layer
# and what was tried, nothing written), tampered ciphertext (exit 1, nothing
# written), malformed/missing key files (exit 2, file named, contents
# never), password-protected keys (FILE:PASSWORD, pass=, file=, fd=), DER,
# PKCS#8, JWK, and the ocicrypt vectors as an OCI layout.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/integration/crypt/crypt_lib.sh"
cd "$T" || exit 1
make_keys

mkimage "$T/src:v1" --layer "f:etc/a=alpha,r:bin/big=200000" --layer "f:etc/b=beta" --compress gzip >/dev/null
"$COCO_IMG" encrypt -q oci:src:v1 oci:enc:v1 --encryption-key "jwe:$K/rsa.pub" --encryption-key "pkcs7:$K/rsa2.crt" >/dev/null

# 1. wrong key: exit 4, names the layer digest and the schemes, writes nothing
"$COCO_IMG" decrypt -q oci:enc:v1 oci:out-wrong:v1 --decryption-key "$K/ec.pem" 2>"$T/err"; rc=$?
check "wrong key: exit 4" [ "$rc" -eq 4 ]
layers enc:v1 > "$T/enc.layers"
# Both layers fail at once (they are copied in parallel): the message names
# whichever reported last, so any of the image's layer digests will do.
names=$(cut -d' ' -f2 "$T/enc.layers" | sed 's/^sha256://' | paste -sd'|')
check "wrong key: message names a layer" grep -qE "$names" "$T/err"
check "wrong key: message names JWE and PKCS#7" sh -c "grep -q 'JWE recipient' '$T/err' && grep -q 'PKCS#7 recipient' '$T/err'"
check "wrong key: no element jargon" sh -c "! grep -q element '$T/err'"
check "wrong key: message names the key file" grep -q "ec.pem" "$T/err"
check "wrong key: one line" [ "$(wc -l < "$T/err")" -eq 1 ]
check "wrong key: nothing written" absent "$T/out-wrong"
check "no key at all: exit 2" expect_rc 2 "$COCO_IMG" decrypt -q oci:enc:v1 oci:out-nokey:v1

# 2. tampered ciphertext with a consistent digest: only the HMAC catches it
"$PY" - "$T/enc" <<'PY'
import hashlib, json, os, sys
d = sys.argv[1]
idx = json.load(open(d + "/index.json"))
mh = idx["manifests"][0]["digest"].split(":")[1]
m = json.load(open(f"{d}/blobs/sha256/{mh}"))
l = m["layers"][0]
h = l["digest"].split(":")[1]
data = bytearray(open(f"{d}/blobs/sha256/{h}", "rb").read())
data[len(data) // 2] ^= 0x01
nh = hashlib.sha256(data).hexdigest()
open(f"{d}/blobs/sha256/{nh}", "wb").write(data)
l["digest"] = "sha256:" + nh
mb = json.dumps(m, separators=(",", ":")).encode()
mnh = hashlib.sha256(mb).hexdigest()
open(f"{d}/blobs/sha256/{mnh}", "wb").write(mb)
idx["manifests"][0]["digest"] = "sha256:" + mnh
idx["manifests"][0]["size"] = len(mb)
json.dump(idx, open(d + "/index.json", "w"))
PY
"$COCO_IMG" decrypt -q oci:enc:v1 oci:out-tamper:v1 --decryption-key "$K/rsa.pem" 2>"$T/err"; rc=$?
check "tampered: exit 1" [ "$rc" -eq 1 ]
check "tampered: HMAC named" grep -q HMAC "$T/err"
check "tampered: nothing written" absent "$T/out-tamper"

# 2b. a blob changed in place, the manifest's digest kept: the digest names
# it first (with the SHA extensions it is computed in the HMAC's pass)
"$COCO_IMG" encrypt -q oci:src:v1 oci:enc2:v1 --encryption-key "jwe:$K/rsa.pub" >/dev/null
h=$(layers enc2:v1 | head -1 | cut -d' ' -f2 | sed 's/^sha256://')
printf '\x00\x01' | dd of="$T/enc2/blobs/sha256/$h" bs=1 seek=300 conv=notrunc 2>/dev/null
"$COCO_IMG" decrypt -q oci:enc2:v1 oci:out-inplace:v1 --decryption-key "$K/rsa.pem" 2>"$T/err"; rc=$?
check "changed in place: exit 1" [ "$rc" -eq 1 ]
check "changed in place: digest mismatch named" grep -q "sha256:$h: digest mismatch" "$T/err"
check "changed in place: nothing written" absent "$T/out-inplace"

# 3. key files: malformed, missing, passwords
printf 'not a key: SECRETCONTENT\n' > "$K/junk.pem"
"$COCO_IMG" decrypt -q oci:enc:v1 oci:out-junk:v1 --decryption-key "$K/junk.pem" 2>"$T/err"; rc=$?
check "malformed key: exit 2" [ "$rc" -eq 2 ]
check "malformed key: file named" grep -q junk.pem "$T/err"
check "malformed key: contents not shown" sh -c "! grep -q SECRETCONTENT '$T/err'"
"$COCO_IMG" decrypt -q oci:enc:v1 oci:out-miss:v1 --decryption-key "$K/missing.pem:hunter2" 2>"$T/err"; rc=$?
check "missing key: exit 2" [ "$rc" -eq 2 ]
check "missing key: password not shown" sh -c "! grep -q hunter2 '$T/err'"
check "malformed recipient: exit 2" expect_rc 2 "$COCO_IMG" encrypt -q oci:src:v1 oci:out-r:v1 --encryption-key "jwe:$K/junk.pem"

mkimage "$T/src2:v1" --layer "f:x=1" --compress gzip >/dev/null
openssl genrsa -aes256 -traditional -passout pass:s3cret -out "$K/enc-legacy.pem" 2048 2>/dev/null
openssl rsa -in "$K/enc-legacy.pem" -passin pass:s3cret -pubout -out "$K/enc-legacy.pub" 2>/dev/null
openssl pkcs8 -topk8 -v2 aes-256-cbc -in "$K/rsa.pem" -passout pass:pw:8 -out "$K/enc-pkcs8.pem" 2>/dev/null
printf 'fromfile\n' > "$K/pwfile"
openssl pkcs8 -topk8 -v2 aes-256-cbc -in "$K/ec.sec1.pem" -passout pass:fromfile -out "$K/enc-ec.pem" 2>/dev/null
"$COCO_IMG" encrypt -q oci:src2:v1 oci:pw:v1 --encryption-key "jwe:$K/enc-legacy.pub" \
    --encryption-key "jwe:$K/rsa.pub" --encryption-key "jwe:$K/ec.pub" >/dev/null
check "legacy encrypted PEM" "$COCO_IMG" decrypt -q oci:pw:v1 oci:d-pw1:v1 --decryption-key "$K/enc-legacy.pem:s3cret"
check "pass= form" "$COCO_IMG" decrypt -q oci:pw:v1 oci:d-pw2:v1 --decryption-key "$K/enc-legacy.pem:pass=s3cret"
check "encrypted PKCS#8, password with a colon" "$COCO_IMG" decrypt -q oci:pw:v1 oci:d-pw3:v1 --decryption-key "$K/enc-pkcs8.pem:pw:8"
check "file= form" "$COCO_IMG" decrypt -q oci:pw:v1 oci:d-pw4:v1 --decryption-key "$K/enc-ec.pem:file=$K/pwfile"
check "fd= form" sh -c "'$COCO_IMG' decrypt -q oci:pw:v1 oci:d-pw5:v1 --decryption-key '$K/enc-ec.pem:fd=3' 3<'$K/pwfile'"
"$COCO_IMG" decrypt -q oci:pw:v1 oci:d-pw6:v1 --decryption-key "$K/enc-pkcs8.pem:wrong" 2>"$T/err"; rc=$?
check "wrong password: exit 2" [ "$rc" -eq 2 ]
check "wrong password: not shown" sh -c "! grep -q ':wrong' '$T/err'"
check "no password: exit 2" expect_rc 2 "$COCO_IMG" decrypt -q oci:pw:v1 oci:d-pw7:v1 --decryption-key "$K/enc-pkcs8.pem"
# (skopeo 1.9.3 itself takes the whole FILE:PASSWORD string as a file name.)

# DER forms and JWK
openssl rsa -in "$K/rsa.pem" -outform DER -out "$K/rsa.der" 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in "$K/ec.sec1.pem" -outform DER -out "$K/ec8.der" 2>/dev/null
check "DER PKCS#1" "$COCO_IMG" decrypt -q oci:pw:v1 oci:d-der1:v1 --decryption-key "$K/rsa.der"
check "DER PKCS#8 EC" "$COCO_IMG" decrypt -q oci:pw:v1 oci:d-der2:v1 --decryption-key "$K/ec8.der"
"$PY" - "$K" <<'PY'
import base64, json, sys
from cryptography.hazmat.primitives import serialization
k = sys.argv[1]
def b(n, l=None):
    l = l or (n.bit_length() + 7) // 8
    return base64.urlsafe_b64encode(n.to_bytes(l, "big")).rstrip(b"=").decode()
rsa = serialization.load_pem_private_key(open(k + "/rsa.pem", "rb").read(), None)
p = rsa.private_numbers()
json.dump({"kty": "RSA", "kid": "rsa-test", "n": b(p.public_numbers.n), "e": b(p.public_numbers.e),
           "d": b(p.d), "p": b(p.p), "q": b(p.q), "dp": b(p.dmp1), "dq": b(p.dmq1), "qi": b(p.iqmp)},
          open(k + "/rsa.jwk", "w"))
ec = serialization.load_pem_private_key(open(k + "/ec.pem", "rb").read(), None)
e = ec.private_numbers()
json.dump({"kty": "EC", "crv": "P-256", "x": b(e.public_numbers.x, 32), "y": b(e.public_numbers.y, 32),
           "d": b(e.private_value, 32)}, open(k + "/ec.jwk", "w"))
json.dump({"kty": "EC", "crv": "P-256", "x": b(e.public_numbers.x, 32), "y": b(e.public_numbers.y, 32)},
          open(k + "/ec.pub.jwk", "w"))
PY
check "JWK RSA private key" "$COCO_IMG" decrypt -q oci:pw:v1 oci:d-jwk1:v1 --decryption-key "$K/rsa.jwk"
check "JWK EC private key" "$COCO_IMG" decrypt -q oci:pw:v1 oci:d-jwk2:v1 --decryption-key "$K/ec.jwk"
check "JWK public key as recipient" "$COCO_IMG" encrypt -q oci:src2:v1 oci:jwkenc:v1 --encryption-key "jwe:$K/ec.pub.jwk"
check "skopeo decrypts for the JWK recipient" $SKOPEO copy -q --decryption-key "$K/ec.pem" oci:jwkenc:v1 oci:d-jwk3:v1

# 4. the ocicrypt vectors as a layout: descriptor.json's layer
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
cfg = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": ["sha256:" + plain]}}).encode()
cd, cs = put(cfg)
layer = json.load(open(v + "/descriptor.json"))
m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
     "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
     "layers": [layer]}
md, ms = put(json.dumps(m).encode())
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
           "digest": md, "size": ms, "annotations": {"org.opencontainers.image.ref.name": "v"}}]},
          open(d + "/index.json", "w"))
open(d + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
PY
check "vectors: rsa key" "$COCO_IMG" decrypt -q oci:vec:v oci:d-vec1:v --decryption-key "$V/rsa_private_pkcs1.pem"
check "vectors: ec key (second JWE of the list)" "$COCO_IMG" decrypt -q oci:vec:v oci:d-vec2:v --decryption-key "$V/ec_p256_private_sec1.der"
check "vectors: plaintext digest" grep_layers d-vec2:v "sha256:805b8cb8bbd621c586b09aadc6313b06b298e79fc4dc7b42952b19de15539ccf"

# 5. JWE variants from an independent producer (python3-cryptography):
# RSA-OAEP-256, ECDH-ES+A128KW/+A192KW/+A256KW on P-256/384/521,
# A128/192/256GCM and the CBC-HS encodings, general JSON where only the
# second recipient matches, compact serialization.  Refused as go-jose
# v4.0 (ocicrypt's pin) refuses them, with exit 4: ECDH-ES direct, a crit
# header, a general JWE with a PBES2 recipient next to a matching one.
openssl ecparam -name secp521r1 -genkey -noout -out "$K/ec521.sec1.pem" 2>/dev/null
openssl ec -in "$K/ec521.sec1.pem" -pubout -out "$K/ec521.pub" 2>/dev/null
cp "$K/ec521.sec1.pem" "$K/ec521.pem"
"$PY" "$TOP_SRCDIR/tests/integration/crypt/gen_jwe.py" "$K" "$V" "$T/jv" > "$T/jv.list"
while read -r tag key want; do
    if [ "$want" = refuse ]; then
        check "jwe variant $tag: refused, exit 4" expect_rc 4 "$COCO_IMG" decrypt -q "oci:jv:$tag" "oci:d-jv-$tag:v" --decryption-key "$K/$key"
        check "jwe variant $tag: nothing written" test ! -e "$T/d-jv-$tag/index.json"
        continue
    fi
    check "jwe variant $tag" "$COCO_IMG" decrypt -q "oci:jv:$tag" "oci:d-jv-$tag:v" --decryption-key "$K/$key"
    check "jwe variant $tag: plaintext" grep_layers "d-jv-$tag:v" "sha256:805b8cb8bbd621c586b09aadc6313b06b298e79fc4dc7b42952b19de15539ccf"
done < "$T/jv.list"
check "jwe refusals: the message says so" sh -c "'$COCO_IMG' decrypt -q oci:jv:refuse-crit oci:d-jv-msg:v --decryption-key '$K/rsa.pem' 2>&1 | grep -q 'refused'"
openssl genpkey -algorithm X25519 -out "$K/x25519.pem" 2>/dev/null
check "X25519 private key: exit 4 (no usable key)" expect_rc 4 "$COCO_IMG" decrypt -q "oci:jv:compact" oci:d-jv-x25519:v --decryption-key "$K/x25519.pem"
check "jwe variants: list not empty" [ -s "$T/jv.list" ]
check "jwe variant with the wrong key: exit 4" expect_rc 4 "$COCO_IMG" decrypt -q "oci:jv:general-second" oci:d-jv-x:v --decryption-key "$K/ec.pem"

# 6. zstd layer for a CoCo recipient: works, with a warning about image-rs
mkimage "$T/zsrc:v1" --layer "f:z=1" --compress zstd >/dev/null
head -c 32 /dev/urandom > "$K/kek.bin"
"$COCO_IMG" encrypt -q oci:zsrc:v1 oci:zenc:v1 --encryption-key "coco:kbs:///default/key/app1:$K/kek.bin" 2>"$T/err" >/dev/null; rc=$?
check "zstd for coco: exit 0" [ "$rc" -eq 0 ]
check "zstd for coco: warning" grep -q "warning.*zstd" "$T/err"
check "zstd for jwe: no warning" sh -c "'$COCO_IMG' encrypt -q oci:zsrc:v1 oci:zenc2:v1 --encryption-key 'jwe:$K/rsa.pub' 2>&1 >/dev/null | grep -vq warning || true"

finish
