#!/bin/bash
# Callbacks that say why they refuse (API 0.4): a key resolver of version
# 2 (cocoimg_key_reply_set_message) and an evidence callback
# (cocoimg_evidence_set_message), through reasons.c, a program on the
# public API.  The reason reaches the operation's error message in place
# of a bare "no key"; control characters in it are replaced; a version 1
# resolver still works as before.  The evidence refusals go to the KBS
# double (kbs_double.py).
. "$TOP_SRCDIR/tests/lib/common.sh"
REASONS=$(realpath "$1")
unset http_proxy https_proxy HTTPS_PROXY HTTP_PROXY all_proxy ALL_PROXY
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
cd "$T" || exit 1
head -c 32 /dev/urandom > kek.bin
mkimage "$T/src:v1" --layer "f:etc/a=alpha" >/dev/null || exit 1
"$COCO_IMG" encrypt -q oci:src:v1 oci:enc:v1 --encryption-key "coco:kbs:///default/key/app1:$T/kek.bin" || exit 1

# run NAME ARGS...: reasons' output in $T/NAME.out, its exit status checked by the caller
run() { _n=$1; shift; "$REASONS" "$@" > "$T/$_n.out" 2>&1; echo $? > "$T/$_n.rc"; }
has() { grep -F -q -- "$2" "$T/$1.out" || { echo "no \"$2\" in:"; cat "$T/$1.out"; return 1; }; }
rc_is() { test "$(cat "$T/$1.rc")" = "$2" || { echo "exit $(cat "$T/$1.rc"), wanted $2"; cat "$T/$1.out"; return 1; }; }

run nokey resolver nokey oci:enc:v1 "$T/d1"
check "resolver v2, no key: COCOIMG_ENOKEY (exit 4)" rc_is nokey 4
check "resolver v2, no key: the reason is in the message" has nokey "key resolver: no key: vault says: kid not provisioned for this node"
check "resolver v2, no key: the kid is named" has nokey "kbs:///default/key/app1"
check "resolver v2, no key: nothing written" test ! -e "$T/d1"

run stop resolver stop oci:enc:v1 "$T/d2"
check "resolver v2, stop: COCOIMG_ECANCELLED" has stop "rc ECANCELLED"
check "resolver v2, stop: the reason is the message" has stop "key resolver stopped the operation at kid kbs:///default/key/app1: tenant quota exhausted for kbs:///default/key/app1?(second line)"
check "resolver v2, stop: nothing written" test ! -e "$T/d2"

run key resolver key oci:enc:v1 "$T/d3" "$T/kek.bin"
check "resolver v2, key: decrypted" rc_is key 0
check "resolver v2, key: the layer is plain now" sh -c "! grep -q encrypted '$T'/d3/blobs/sha256/*"

run v1 resolver v1 oci:enc:v1 "$T/d4"
check "resolver v1: still COCOIMG_ENOKEY" rc_is v1 4
check "resolver v1: still says no key" has v1 "key resolver: no key)"

mkdir -p kbsres/default/key && cp kek.bin kbsres/default/key/app1
"$PY" "$TOP_SRCDIR/tests/integration/broker/kbs_double.py" --resources "$T/kbsres" --log "$T/kbs.log" > "$T/kbs.out" 2>&1 &
_PIDS="$_PIDS $!"
PORT=$(wait_for_log "$T/kbs.out" '^PORT [0-9]+' 10) || exit 1
KBS=http://127.0.0.1:${PORT#PORT }

run tee evidence tee "$KBS" oci:enc:v1 "$T/d5"
check "evidence refused (TEE name): exit 4" rc_is tee 4
check "evidence refused (TEE name): the reason is in the message" has tee "refused to name its TEE: no TEE device: /dev/tdx_guest is missing"
run ev evidence evidence "$KBS" oci:enc:v1 "$T/d6"
check "evidence refused: exit 4" rc_is ev 4
check "evidence refused: the reason is in the message" has ev "refused to produce evidence: quote generation service unreachable"
check "evidence refused: nothing written" test ! -e "$T/d6"
finish
