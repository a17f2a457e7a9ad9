#!/bin/bash
# Faults between us and the registry (a fault-injecting forwarder in
# front of docker-registry): a blob cut halfway resumes with Range, a 503
# and a 429 are retried, a stalled transfer times out and resumes, a
# reset connection is retried; a flipped byte fails with exit 1 and
# nothing written; retries are bounded by retry-times; redirects to
# another origin do not carry the registry's credentials.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/integration/registry/reglib.sh"

start_registry F || exit 1
mkimage "$T/img:v1" --layer "r:big=4000000" --layer "f:b=small" >/dev/null
$SKOPEO copy -q --dest-tls-verify=false "oci:$T/img:v1" "docker://$REG_F/test/a:v1" >/dev/null || exit 1
WANT=$(oci_digest "$T/img" v1)
L1=$("$PY" -c 'import json,sys; r=sys.argv[1]; m=json.load(open(r+"/blobs/sha256/"+sys.argv[2][7:])); print(m["layers"][0]["digest"])' "$T/img" "$WANT")

"$PY" "$TOP_SRCDIR/tests/integration/registry/fault_proxy.py" "$REG_F" "$T/proxy.port" "$T/proxy.log" &
_PIDS="$_PIDS $!"
wait_for_log "$T/proxy.port" '[0-9]+' 20 >/dev/null || exit 1
P=127.0.0.1:$(cat "$T/proxy.port")
fault() { curl -sf "http://$P/__fault?kind=$1&match=$2&count=${3:-1}" >/dev/null; }
I="tls-verify=false"
n=0
pull() { n=$((n + 1)); $REGTOOL copy "docker://$P/test/a:v1" "oci:$T/o$n:v1" $I "$@"; }
got() { test "$(oci_digest "$T/o$n" v1)" = "$WANT" && oci_blobs_ok "$T/o$n"; }

check "baseline pull through the proxy" pull
check "baseline digest" got

: > "$T/proxy.log"; fault cut "$L1"
check "blob cut halfway: pull succeeds" pull
check "cut: digest" got
check "cut: resumed with a Range request" grep -q "blobs/$L1 range=bytes=[1-9][0-9]*- -> 206" "$T/proxy.log"
check "cut: blob fetched only twice" test "$(grep -c "GET /v2/test/a/blobs/$L1" "$T/proxy.log")" = 2

: > "$T/proxy.log"; fault 503 "$L1"
check "503 once: pull succeeds" pull
check "503: digest" got
check "503: retried" test "$(grep -c "blobs/$L1 .*-> 200" "$T/proxy.log")" = 1

: > "$T/proxy.log"; fault 429 "manifests/v1"
check "429 on the manifest: pull succeeds" pull
check "429: retried" grep -q "manifests/v1 .*-> 429" "$T/proxy.log"

: > "$T/proxy.log"; fault reset "$L1"
check "connection reset: pull succeeds" pull
check "reset: digest" got

: > "$T/proxy.log"; fault stall "$L1"
check "stalled transfer: times out and resumes" env COCOIMG_STALL_TIMEOUT=2 timeout 50 $REGTOOL copy "docker://$P/test/a:v1" "oci:$T/stall:v1" $I
check "stall: digest" test "$(oci_digest "$T/stall" v1)" = "$WANT"
check "stall: resumed with Range" grep -q "blobs/$L1 range=bytes=[1-9][0-9]*- -> 206" "$T/proxy.log"

fault clear x; fault 503 "$L1"
check "retry-times=0: a 503 fails (exit 1)" expect_rc 1 $REGTOOL copy "docker://$P/test/a:v1" "oci:$T/r0:v1" $I retry-times=0
check "retry-times=0: nothing written" test ! -e "$T/r0/index.json"
fault clear x; fault 503 "$L1" 0
$REGTOOL copy "docker://$P/test/a:v1" "oci:$T/r3:v1" $I > "$T/r3.out" 2>&1
check "persistent 503: exit 1" test $? -eq 1
check "persistent 503: 1 + 3 attempts" test "$(grep -c "blobs/$L1 .*-> 503" "$T/proxy.log")" -ge 4
check "persistent 503: message names the layer" grep -q "$L1" "$T/r3.out"

fault clear x; fault flip "$L1" 0
$REGTOOL copy "docker://$P/test/a:v1" "oci:$T/flip:v1" $I > "$T/flip.out" 2>&1
check "flipped byte: exit 1" test $? -eq 1
check "flipped byte: digest mismatch named" grep -q "$L1.*digest mismatch\|digest mismatch.*$L1" "$T/flip.out"
check "flipped byte: nothing written" sh -c "test ! -e '$T/flip/index.json' && ! ls '$T/flip/blobs/sha256/' 2>/dev/null | grep -q ."
fault clear x; fault flip "manifests/v1" 0
check "flipped manifest byte vs Docker-Content-Digest: exit 1" expect_rc 1 $REGTOOL copy "docker://$P/test/a:v1" "oci:$T/flipm:v1" $I
fault clear x

# A registry that wants credentials and redirects blob GETs to storage on
# another origin: the redirect is followed, the credentials stay behind.
"$PY" "$TOP_SRCDIR/tests/integration/registry/fault_proxy.py" "$REG_F" "$T/p2.port" "$T/p2.log" --basic alice:s3cret &
_PIDS="$_PIDS $!"
wait_for_log "$T/p2.port" '[0-9]+' 20 >/dev/null || exit 1
P2=127.0.0.1:$(cat "$T/p2.port")
curl -sf "http://$P2/__fault?kind=redirect&match=/blobs/&count=0" >/dev/null
check "auth + redirect to storage: pull succeeds" $REGTOOL copy "docker://$P2/test/a:v1" "oci:$T/redir:v1" $I creds=alice:s3cret
check "redirect: digest" test "$(oci_digest "$T/redir" v1)" = "$WANT"
check "redirect: storage was used" grep -q "^STORAGE /storage/v2/test/a/blobs/$L1" "$T/p2.log"
check "redirect: no Authorization sent to storage" sh -c "! grep -q '^STORAGE .*auth=yes' '$T/p2.log'"
check "redirect: the registry got credentials" grep -q "manifests/v1 range= -> 200" "$T/p2.log"
finish
