#!/bin/bash
# The progress display on a terminal, driven through script(1) (a real
# pty): every layer shows once per phase with its index ("layer 2/3") and
# the phase name, for unpack from a registry, copy to a registry, encrypt
# and copy --decryption-key; no display at all when stderr is not a tty.
. "$TOP_SRCDIR/tests/lib/common.sh"
start_registry P || exit 1
R=$REG_P
layers=()
for i in 1 2 3; do layers+=(--layer "d:l$i,r:l$i/big=$((i * 400000))"); done
mkimage "$T/img:t" "${layers[@]}" >/dev/null || exit 1
openssl genrsa -out "$T/priv.pem" 2048 2>/dev/null
openssl rsa -in "$T/priv.pem" -pubout -out "$T/pub.pem" 2>/dev/null

# on_tty NAME CMD...: run CMD under script(1); $T/NAME.tty gets the final
# text of every display line (what the terminal shows once "\r" redraws
# are done), one per line.
on_tty() {
    _n=$1; shift
    _cmd=$(printf '%q ' "$@")
    script -qec "$_cmd" "$T/$_n.raw" >/dev/null 2>&1 || return 1
    "$PY" - "$T/$_n.raw" > "$T/$_n.tty" <<'PY'
import re, sys
raw = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
raw = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", raw).replace("\r\n", "\n")
for line in raw.split("\n"):
    last = line.split("\r")[-1].strip()
    if last:
        print(last)
PY
}
# once FILE PHASE N: "layer i/N PHASE" shows exactly once for every i
once() {
    for i in $(seq 1 "$3"); do
        _c=$(grep -c -E "^layer $i/$3 +$2 " "$1")
        [ "$_c" -eq 1 ] || { echo "layer $i/$3 $2: shown $_c times" >&2; cat "$1" >&2; return 1; }
    done
}
# at_most_once FILE PHASE N
at_most_once() {
    for i in $(seq 1 "$3"); do
        _c=$(grep -c -E "^layer $i/$3 +$2 " "$1")
        [ "$_c" -le 1 ] || { echo "layer $i/$3 $2: shown $_c times" >&2; cat "$1" >&2; return 1; }
    done
}

check "copy to the registry on a tty" on_tty push "$COCO_IMG" copy --dest-tls-verify=false \
    "oci:$T/img:t" "docker://$R/p/img:t"
check "copy: every layer once, phase upload" once "$T/push.tty" upload 3
check "copy: the config is shown" grep -q -E "^config +upload " "$T/push.tty"

check "unpack from the registry on a tty" on_tty unpack "$COCO_IMG" unpack --tls-verify=false \
    "docker://$R/p/img:t" "$T/rootfs"
check "unpack: every layer once, phase apply" once "$T/unpack.tty" apply 3
check "unpack: a layer downloads at most once" at_most_once "$T/unpack.tty" download 3
check "unpack: no phase-less line" sh -c "! grep -E '^layer [0-9]+/[0-9]+ +[0-9]' '$T/unpack.tty'"

check "encrypt on a tty" on_tty enc "$COCO_IMG" encrypt "oci:$T/img:t" "oci:$T/enc:t" \
    --encryption-key "jwe:$T/pub.pem"
check "encrypt: every layer once, phase encrypt" once "$T/enc.tty" encrypt 3

check "copy --decryption-key on a tty" on_tty dec "$COCO_IMG" copy --decryption-key "$T/priv.pem" \
    "oci:$T/enc:t" "oci:$T/dec:t"
check "copy --decryption-key: every layer once, phase decrypt" once "$T/dec.tty" decrypt 3
# the summary counts what was written: three layers of 0.4-1.2 MB, not a
# config's few hundred bytes
copied=$(sed -n 's/^ *copied *\([0-9]*\) bytes.*/\1/p' "$T/dec.tty")
check "copy --decryption-key: bytes written reported ($copied)" test "${copied:-0}" -gt 2400000

check "no display without a tty" sh -c "'$COCO_IMG' unpack --tls-verify=false \
    docker://$R/p/img:t '$T/rootfs2' 2>'$T/notty.err' && ! grep -q layer '$T/notty.err'"
finish
