#!/bin/bash
# gRPC keyproviders (unary calls over cleartext HTTP/2 through libcurl)
# against tests/integration/crypt/keyprovider_grpc.py (python3-grpcio):
# encrypt and decrypt round trip over TCP and a unix socket; a server that
# answers with a gRPC error, and one that is gone, give exit 4 naming the
# provider; and the CoCo interop: a packet the provider wrote opens with a
# local coco-keys file, and one we wrote (coco:) opens in the provider.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/integration/crypt/crypt_lib.sh"
cd "$T" || exit 1
KP="$TOP_SRCDIR/tests/integration/crypt"

head -c 32 /dev/urandom > "$T/kek.bin"
"$PY" -c 'import base64,json,sys; k=open(sys.argv[1],"rb").read(); json.dump({"default/key/test": base64.b64encode(k).decode()}, open(sys.argv[2],"w"))' \
    "$T/kek.bin" "$T/keys.json"

# start_kp NAME ARGS... : start a server, sets PORT_<NAME>
start_kp() {
    _n=$1; shift
    "$PY" "$KP/keyprovider_grpc.py" --keys "$T/keys.json" "$@" > "$T/kp-$_n.log" 2>&1 &
    _PIDS="$_PIDS $!"
    eval "PID_$_n=$!"
    _p=$(wait_for_log "$T/kp-$_n.log" 'PORT [0-9]+' 20) || return 1
    eval "PORT_$_n=${_p#PORT }"
}
start_kp ok
start_kp fail --fail unwrap
start_kp ux --unix "$T/kp.sock"
start_kp down
kill "$PID_down"; wait "$PID_down" 2>/dev/null

cat > "$T/kp.json" <<EOF
{"key-providers": {
  "gkp": {"grpc": "127.0.0.1:$PORT_ok"},
  "attestation-agent": {"grpc": "127.0.0.1:$PORT_ok"},
  "uxkp": {"grpc": "unix://$T/kp.sock"},
  "failkp": {"grpc": "127.0.0.1:$PORT_fail"},
  "downkp": {"grpc": "127.0.0.1:$PORT_down"}
}}
EOF
export OCICRYPT_KEYPROVIDER_CONFIG="$T/kp.json"

mkimage "$T/src:v1" --layer "f:etc/a=alpha,r:bin/big=150000" --layer "f:etc/b=beta" --compress gzip >/dev/null

check "encrypt with provider:gkp (gRPC)" "$COCO_IMG" encrypt -q oci:src:v1 oci:enc:v1 \
    --encryption-key provider:gkp:keyid=kbs:///default/key/test
check "both layers encrypted" expect_encrypted enc:v1 2
check "decrypt with provider:gkp" "$COCO_IMG" decrypt -q oci:enc:v1 oci:dec:v1 --decryption-key provider:gkp
check "round trip: layers equal the original" same_layers src:v1 dec:v1
check "encrypt over a unix socket" "$COCO_IMG" encrypt -q oci:src:v1 oci:encu:v1 --encryption-key provider:uxkp
check "decrypt over a unix socket" "$COCO_IMG" decrypt -q oci:encu:v1 oci:decu:v1 --decryption-key provider:uxkp
check "unix socket round trip" same_layers src:v1 decu:v1

# failures
"$COCO_IMG" encrypt -q oci:src:v1 oci:encf:v1 --encryption-key provider:failkp >/dev/null 2>&1
"$COCO_IMG" decrypt -q oci:encf:v1 oci:decf:v1 --decryption-key provider:failkp 2>"$T/err"; rc=$?
check "gRPC error status: exit 4" [ "$rc" -eq 4 ]
check "gRPC error status: provider named" grep -q failkp "$T/err"
check "gRPC error status: status and message shown" sh -c "grep -q INTERNAL '$T/err' && grep -q 'told to fail' '$T/err'"
check "gRPC error status: nothing written" absent "$T/decf"
"$COCO_IMG" encrypt -q oci:src:v1 oci:encd:v1 --encryption-key provider:downkp 2>"$T/err"; rc=$?
check "unreachable server on encrypt: exit 1, named" sh -c "[ $rc -eq 1 ] && grep -q downkp '$T/err'"
check "unreachable server on encrypt: nothing written" absent "$T/encd"

# a layer wrapped for gkp, offered to downkp (annotation renamed): unreachable -> 4
"$PY" - "$T/enc" "$T/encr" <<'PY'
import hashlib, json, shutil, sys
src, dst = sys.argv[1], sys.argv[2]
shutil.copytree(src, dst)
idx = json.load(open(dst + "/index.json"))
m = json.load(open(dst + "/blobs/sha256/" + idx["manifests"][0]["digest"][7:]))
for l in m["layers"]:
    a = l["annotations"]
    a["org.opencontainers.image.enc.keys.provider.downkp"] = a.pop("org.opencontainers.image.enc.keys.provider.gkp")
b = json.dumps(m).encode()
h = hashlib.sha256(b).hexdigest()
open(dst + "/blobs/sha256/" + h, "wb").write(b)
idx["manifests"][0].update(digest="sha256:" + h, size=len(b))
json.dump(idx, open(dst + "/index.json", "w"))
PY
"$COCO_IMG" decrypt -q oci:encr:v1 oci:decr:v1 --decryption-key provider:downkp 2>"$T/err"; rc=$?
check "unreachable server on decrypt: exit 4" [ "$rc" -eq 4 ]
check "unreachable server on decrypt: named" grep -q downkp "$T/err"

# CoCo interop with the provider acting as coco_keyprovider + guest unwrap
check "encrypt with provider:attestation-agent (gRPC)" "$COCO_IMG" encrypt -q oci:src:v1 oci:encaa:v1 \
    --encryption-key provider:attestation-agent:keyid=kbs:///default/key/test
check "provider's CoCo packet opens with a local coco-keys file" "$COCO_IMG" decrypt -q oci:encaa:v1 oci:decaa:v1 \
    --decryption-key "coco-keys:$T/keys.json"
check "provider packet round trip" same_layers src:v1 decaa:v1
check "encrypt with coco:KID:KEKFILE" "$COCO_IMG" encrypt -q oci:src:v1 oci:encc:v1 \
    --encryption-key "coco:kbs:///default/key/test:$T/kek.bin"
check "our CoCo packet opens in the gRPC provider" "$COCO_IMG" decrypt -q oci:encc:v1 oci:decc:v1 \
    --decryption-key provider:attestation-agent
check "coco: packet via provider round trip" same_layers src:v1 decc:v1

finish
