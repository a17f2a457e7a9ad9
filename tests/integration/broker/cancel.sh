#!/bin/bash
# cocoimg_ctx_cancel() from another thread interrupts a broker exchange
# whose peer never answers, with COCOIMG_ECANCELLED, long before the
# exchange's own timeout (60 s by default; "back within 5 s" leaves room for
# a loaded test machine): a KBS (libcurl's progress
# function), the CDH and the attestation agent (ttrpc poll in short
# slices), keyproviders over gRPC (libcurl) and as a command (its pipes
# polled in short slices; the child is killed).  cancelwait.c is a program
# on the public API; silent_peer.py accepts connections and never answers.
. "$TOP_SRCDIR/tests/lib/common.sh"
CW=$(realpath "$1")
unset http_proxy https_proxy HTTPS_PROXY HTTP_PROXY all_proxy ALL_PROXY
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
cd "$T" || exit 1
KP="$TOP_SRCDIR/tests/integration/crypt"
head -c 32 /dev/urandom > kek.bin
mkimage "$T/src:v1" --layer "f:etc/a=alpha" >/dev/null || exit 1
"$COCO_IMG" encrypt -q oci:src:v1 oci:coco:v1 --encryption-key "coco:kbs:///default/key/app1:$T/kek.bin" || exit 1
"$PY" -c 'import base64,json,sys; k=open(sys.argv[1],"rb").read(); json.dump({"default/key/test": base64.b64encode(k).decode()}, open(sys.argv[2],"w"))' \
    "$T/kek.bin" "$T/keys.json"
printf '{"key-providers":{"kp":{"cmd":{"path":"/usr/bin/python3","args":["%s/keyprovider_cmd.py","--keys","%s/keys.json"]}}}}\n' "$KP" "$T" > kp-ok.json
OCICRYPT_KEYPROVIDER_CONFIG="$T/kp-ok.json" "$COCO_IMG" encrypt -q oci:src:v1 oci:kp:v1 \
    --encryption-key provider:kp:keyid=kbs:///default/key/test || exit 1

"$PY" "$TOP_SRCDIR/tests/integration/broker/silent_peer.py" "$T/silent.sock" > silent.out 2>&1 &
_PIDS="$_PIDS $!"
PORT=$(wait_for_log silent.out '^PORT [0-9]+' 10) || exit 1
PORT=${PORT#PORT }
printf '{"key-providers":{"kp":{"grpc":"127.0.0.1:%s"}}}\n' "$PORT" > kp-grpc.json
printf '{"key-providers":{"kp":{"cmd":{"path":"/bin/sleep","args":["60"]}}}}\n' > kp-cmd.json

# run NAME KEYSPEC IMAGE KEY=VALUE...: cancel after 800 ms; output in NAME.out
run() { _n=$1; shift; timeout 50 "$CW" 800 "$1" "$2" "$T/out-$_n" "${@:3}" > "$T/$_n.out" 2>&1; }
cancelled() { grep -q '^rc ECANCELLED' "$T/$1.out" || { cat "$T/$1.out"; return 1; }; }
fast() { _ms=$(sed -n 's/^after_cancel_ms //p' "$T/$1.out"); [ -n "$_ms" ] && [ "$_ms" -lt 5000 ] ||
    { echo "returned ${_ms:-?} ms after the cancel"; cat "$T/$1.out"; return 1; }; }

run kbs - oci:coco:v1 kbs="http://127.0.0.1:$PORT" attester=sample
check "KBS that never answers: COCOIMG_ECANCELLED" cancelled kbs
check "KBS that never answers: back within 5 s of the cancel" fast kbs
check "KBS: nothing written" test ! -e "$T/out-kbs"

run cdh - oci:coco:v1 cdh="unix://$T/silent.sock"
check "CDH that never answers: COCOIMG_ECANCELLED" cancelled cdh
check "CDH that never answers: back within 5 s" fast cdh

mkdir -p kbsres/default/key && cp kek.bin kbsres/default/key/app1
"$PY" "$TOP_SRCDIR/tests/integration/broker/kbs_double.py" --resources "$T/kbsres" --log "$T/kbs.log" > kbs.out 2>&1 &
_PIDS="$_PIDS $!"
KPORT=$(wait_for_log kbs.out '^PORT [0-9]+' 10) || exit 1
run aa - oci:coco:v1 kbs="http://127.0.0.1:${KPORT#PORT }" attester="aa:$T/silent.sock"
check "attestation agent that never answers: COCOIMG_ECANCELLED" cancelled aa
check "attestation agent that never answers: back within 5 s" fast aa

run kpgrpc provider:kp oci:kp:v1 keyprovider-config="$T/kp-grpc.json"
check "gRPC keyprovider that never answers: COCOIMG_ECANCELLED" cancelled kpgrpc
check "gRPC keyprovider that never answers: back within 5 s" fast kpgrpc

run kpcmd provider:kp oci:kp:v1 keyprovider-config="$T/kp-cmd.json"
check "command keyprovider that never answers: COCOIMG_ECANCELLED" cancelled kpcmd
check "command keyprovider that never answers: back within 5 s" fast kpcmd
check "command keyprovider: its process is gone" sh -c "! pgrep -f '^/bin/sleep 60$' -P $$ >/dev/null"
finish
