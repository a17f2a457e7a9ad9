#!/bin/bash
# Messages that used to mislead, each with what it says now: a plain-http
# registry reached over https (skopeo's "server gave HTTP response to
# HTTPS client", not an OpenSSL "wrong version number"), HOST/REPO:TAG
# without docker:// (a suggestion, not 'unknown transport "HOST"'), a
# retry (a warning naming the reason, not seconds of silence), a wrong
# layer key (no "jwe (N elements)" jargon; a CoCo recipient another key
# source would open is named), a full spool directory (named as such).
. "$TOP_SRCDIR/tests/lib/common.sh"
start_registry M || exit 1
R=$REG_M
mkimage "$T/img:t" --layer "r:a=2000000" --layer "r:b=2000000" --layer "r:c=2000000" >/dev/null
$SKOPEO copy -q --dest-tls-verify=false "oci:$T/img:t" "docker://$R/m/img:t" >/dev/null || exit 1

# run_err NAME WANT_RC CMD...: stderr into $T/NAME.err, exit status checked
run_err() {
    _n=$1 _want=$2; shift 2
    "$@" >/dev/null 2>"$T/$_n.err"; _rc=$?
    [ "$_rc" -eq "$_want" ] || { echo "exit $_rc, wanted $_want" >&2; cat "$T/$_n.err" >&2; return 1; }
}
says() { grep -q -F -- "$2" "$T/$1.err" || { echo "no \"$2\" in:" >&2; cat "$T/$1.err" >&2; return 1; }; }
never() { ! grep -q -F -- "$2" "$T/$1.err" || { echo "\"$2\" in:" >&2; cat "$T/$1.err" >&2; return 1; }; }

check "http registry without --tls-verify=false: exit 1" run_err http 1 \
    "$COCO_IMG" inspect --retry-times 0 "docker://$R/m/img:t"
check "http registry: the server gave an HTTP response to an HTTPS client" \
    says http "the server gave an HTTP response to an HTTPS client"
check "http registry: the way out is named" says http "--tls-verify=false"
check "http registry: no OpenSSL jargon" never http "wrong version number"

check "HOST/REPO:TAG without docker://: exit 2" run_err notr 2 "$COCO_IMG" inspect "$R/m/img:t"
check "HOST/REPO:TAG: suggests docker://" says notr "for a registry image write docker://$R/m/img:t"
check "HOST/REPO:TAG: no unknown transport" never notr "unknown transport"
check "a real unknown transport still says so" run_err badtr 2 "$COCO_IMG" inspect "foo:bar"
check "unknown transport: named" says badtr 'unknown transport "foo"'

# a retry is a warning with its reason
"$PY" "$TOP_SRCDIR/tests/integration/registry/fault_proxy.py" "$R" "$T/proxy.port" "$T/proxy.log" &
_PIDS="$_PIDS $!"
wait_for_log "$T/proxy.port" '[0-9]+' 20 >/dev/null || exit 1
P=127.0.0.1:$(cat "$T/proxy.port")
curl -sf "http://$P/__fault?kind=503&match=manifests/t&count=1" >/dev/null
check "a 503 is retried" run_err retry 0 env COCOIMG_RETRY_BASE_MS=50 "$COCO_IMG" inspect \
    --tls-verify=false "docker://$P/m/img:t"
check "the retry is logged with its reason" says retry "HTTP 503; retry 1 in"

# a wrong layer key: plain words, and the CoCo recipient named
openssl genrsa -out "$T/a.pem" 2048 2>/dev/null
openssl rsa -in "$T/a.pem" -pubout -out "$T/a.pub" 2>/dev/null
openssl genrsa -out "$T/b.pem" 2048 2>/dev/null
head -c 32 /dev/urandom > "$T/kek.bin"
"$COCO_IMG" encrypt -q "oci:$T/img:t" "oci:$T/enc:t" --encryption-key "jwe:$T/a.pub" \
    --encryption-key "coco:kbs:///default/key/app1:$T/kek.bin" || exit 1
check "wrong key: exit 4" run_err wrongkey 4 "$COCO_IMG" decrypt "oci:$T/enc:t" "oci:$T/dec:t" \
    --decryption-key "$T/b.pem"
check "wrong key: its JWE recipient, in words" says wrongkey "its 1 JWE recipient, none for the key"
check "wrong key: no element jargon" never wrongkey "element"
check "wrong key: the CoCo recipient and its key id" \
    says wrongkey "its CoCo recipient with key id kbs:///default/key/app1"
check "wrong key: another key source would open it" says wrongkey "a different key source would open it"

# a full spool directory is named as such (needs a small tmpfs: root only)
mkdir -p "$T/small"
if mount -t tmpfs -o size=1m tmpfs "$T/small" 2>/dev/null; then
    check "full spool directory: unpack still succeeds" run_err full 0 env TMPDIR="$T/small" \
        "$COCO_IMG" unpack --tls-verify=false --parallel 3 "docker://$R/m/img:t" "$T/rootfs"
    check "full spool directory: named" says full "spool directory $T/small"
    check "full spool directory: said to be full" says full "the spool directory is full"
    umount "$T/small"
else
    echo "# SKIP full spool directory: cannot mount a small tmpfs here"
fi
finish
