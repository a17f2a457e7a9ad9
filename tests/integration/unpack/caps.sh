#!/bin/bash
# Caps on what an image may write: a gzip and a zstd bomb stop at
# --max-layer-size / --max-image-size, too many entries at --max-entries,
# too many layers at --max-layers; each names the layer and the cap, exits
# 1 and leaves nothing behind.  Defaults let ordinary images through.
. "$TOP_SRCDIR/tests/lib/common.sh"
MK="$PY $LIB/mkimage.py"

# unpack_fails NAME IMAGE [FLAGS...]: exit 1, no rootfs, no staging left
unpack_fails() {
    _n=$1 _img=$2; shift 2
    rm -rf "$T/r"
    timeout 120 "$COCO_IMG" unpack -q "$_img" "$T/r" "$@" >"$T/$_n.out" 2>&1
    _rc=$?
    cat "$T/$_n.out"
    [ "$_rc" -eq 1 ] || { echo "exit $_rc, wanted 1"; return 1; }
    [ ! -e "$T/r" ] || { echo "rootfs left behind"; return 1; }
    ! ls -a "$T" | grep -q coco-unpack || { echo "staging left behind"; return 1; }
}

$MK "$T/gz:t" --compress gzip --layer "z:bomb=67108864" >/dev/null || exit 1
$MK "$T/zst:t" --compress zstd --layer "z:bomb=67108864" >/dev/null || exit 1
$MK "$T/two:t" --compress gzip --layer "z:a=6291456" --layer "z:b=6291456" >/dev/null || exit 1
$MK "$T/many:t" --layer "f:a=1,f:b=2,f:c=3,f:d=4,f:e=5,f:f=6" >/dev/null || exit 1
check "64 MiB gzip bomb, --max-layer-size 8M: exit 1, nothing left" unpack_fails gz "oci:$T/gz:t" --max-layer-size 8M
check "gzip bomb: names the layer and the cap" grep -q "layer sha256:[0-9a-f]*: unpacks to more than the per-layer cap of 8388608 bytes (max-layer-size)" "$T/gz.out"
check "64 MiB zstd bomb, --max-layer-size 8M: exit 1, nothing left" unpack_fails zst "oci:$T/zst:t" --max-layer-size 8M
check "zstd bomb: names the cap" grep -q "max-layer-size" "$T/zst.out"
check "two 6 MiB layers under --max-image-size 10M: exit 1" unpack_fails two "oci:$T/two:t" --max-image-size 10M
check "image cap: names the cap" grep -q "per-image cap of 10485760 bytes (max-image-size)" "$T/two.out"
check "seven entries, --max-entries 5: exit 1" unpack_fails many "oci:$T/many:t" --max-entries 5
check "entries cap: names the cap" grep -q "more than the cap of 5 entries (max-entries)" "$T/many.out"
check "two layers, --max-layers 1: exit 1" unpack_fails layers "oci:$T/two:t" --max-layers 1
check "layers cap: names the cap" grep -q "2 layers, more than the cap of 1 (max-layers)" "$T/layers.out"
check "bad size: exit 2" expect_rc 2 "$COCO_IMG" unpack "oci:$T/two:t" "$T/r" --max-layer-size 12parsecs
check "defaults: the bombs unpack" "$COCO_IMG" unpack -q "oci:$T/zst:t" "$T/ok"
check "defaults: the file is whole" test "$(stat -c %s "$T/ok/bomb")" = 67108864
finish
