#!/bin/bash
# SIGINT/SIGTERM in the middle of unpack and copy --decryption-key: the CLI
# turns the signal into the library's cancellation, so the staging tree
# (.ROOTFS.coco-unpack-*) and a partial oci: layout are removed; exit 130
# (SIGINT) or 143 (SIGTERM) with one line on stderr; a rerun succeeds.
# interrupt.py stops the process at a chosen point before signalling it, so
# the signal always lands mid-work.
. "$TOP_SRCDIR/tests/lib/common.sh"
INT="$PY $TOP_SRCDIR/tests/integration/unpack/interrupt.py"
mkimage "$T/img:t" --compress none --layer "r:a=16777216" --layer "r:b=16777216" \
    --layer "r:c=16777216" >/dev/null || exit 1

# interrupted SIG RC WATCH MIN_BYTES COMMAND... : exit RC and one stderr line
interrupted() {
    _sig=$1 _want=$2 _watch=$3 _min=$4; shift 4
    _got=$($INT "$_sig" "$_watch" "$_min" -- "$@" 2>"$T/int.err") || { echo "$_got"; return 1; }
    cat "$T/int.err" >&2
    [ "$_got" = "$_want" ] || { echo "exit $_got, wanted $_want" >&2; return 1; }
    [ "$(wc -l < "$T/int.err")" -eq 1 ] || { echo "want one line on stderr" >&2; return 1; }
    grep -q "interrupted by SIG$_sig" "$T/int.err"
}
nothing_left() { # NAME: no NAME and no .NAME.coco-unpack-* in $T
    ! ls -a "$T" | grep -e "^$1\$" -e "^\.$1\.coco-unpack-"
}

check "unpack: SIGTERM as staging appears -> 143" \
    interrupted TERM 143 "$T/.r1.coco-unpack-*" 0 "$COCO_IMG" unpack -q "oci:$T/img:t" "$T/r1"
check "unpack: SIGTERM -> no staging, no ROOTFS" nothing_left r1
check "unpack: SIGINT mid-layer -> 130" \
    interrupted INT 130 "$T/.r2.coco-unpack-*" 1048576 "$COCO_IMG" unpack -q "oci:$T/img:t" "$T/r2"
check "unpack: SIGINT -> no staging, no ROOTFS" nothing_left r2
check "unpack: rerun after the interruption succeeds" "$COCO_IMG" unpack -q "oci:$T/img:t" "$T/r2"
check "unpack: rerun wrote the tree" test -s "$T/r2/c"

interrupted_json() {
    $INT TERM "$T/.r3.coco-unpack-*" 1048576 -- \
        "$COCO_IMG" unpack -q --output json "oci:$T/img:t" "$T/r3" >"$T/j.out" 2>/dev/null
    "$PY" -c 'import json,sys; e=json.load(sys.stdin)["error"]; assert e["code"]==143 and e["kind"]=="cancelled", e' \
        < <(head -1 "$T/j.out")
}
check "unpack --output json: SIGTERM -> error object, kind cancelled" interrupted_json
check "unpack --output json: nothing left" nothing_left r3

# copy --decryption-key to oci: — the partial layout holds plaintext blobs
openssl genrsa -out "$T/priv.pem" 2048 2>/dev/null
openssl rsa -in "$T/priv.pem" -pubout -out "$T/pub.pem" 2>/dev/null
$SKOPEO copy -q --encryption-key "jwe:$T/pub.pem" "oci:$T/img:t" "oci:$T/enc:t" || exit 1
ls -a "$T" > "$T/before.txt"
check "copy --decryption-key: SIGTERM mid-blob -> 143" \
    interrupted TERM 143 "$T/out" 1048576 \
    "$COCO_IMG" copy -q --decryption-key "$T/priv.pem" "oci:$T/enc:t" "oci:$T/out:t"
check "copy: no partial layout left" test ! -e "$T/out"
listing() { ls -a "$T" | grep -v -x -e int.err -e check.out -e before.txt; }
same_listing() { listing | diff - <(grep -v -x -e int.err -e check.out -e before.txt "$T/before.txt"); }
check "copy: nothing else left beside it (no temp files)" same_listing
check "copy: SIGINT as the layout appears -> 130" \
    interrupted INT 130 "$T/out" 0 \
    "$COCO_IMG" copy -q --decryption-key "$T/priv.pem" "oci:$T/enc:t" "oci:$T/out:t"
check "copy: SIGINT -> no partial layout left" test ! -e "$T/out"
check "copy: rerun succeeds" "$COCO_IMG" copy -q --decryption-key "$T/priv.pem" "oci:$T/enc:t" "oci:$T/out:t"
finish
