#!/bin/bash
# Multi-arch indexes: platform selection, --multi-arch all/index-only,
# compared with skopeo.
. "$TOP_SRCDIR/tests/lib/common.sh"
C=$COCO_IMG
AMD=$(mkimage "$T/m:amd" --platform linux/amd64 --layer 'f:arch=amd64\n')
ARM=$(mkimage "$T/m:arm" --platform linux/arm/v7 --layer 'f:arch=arm\n')
ARM64=$(mkimage "$T/m:arm64" --platform linux/arm64/v8 --layer 'f:arch=arm64\n')
IDX=$(mkimage "$T/m:multi" --index-of "$T/m:amd" "$T/m:arm" "$T/m:arm64")
top() { json_get "$1/index.json" "j['manifests'][-1]['digest']"; }

check "default platform (this machine)" "$C" copy -q "oci:$T/m:multi" "oci:$T/sys:t"
check "selected instance stored" test "$(top "$T/sys")" = "$AMD"
check "--platform arm/v7" "$C" copy -q --platform linux/arm/v7 "oci:$T/m:multi" "oci:$T/arm:t"
check "arm/v7 instance" test "$(top "$T/arm")" = "$ARM"
check "--platform arm/v8 falls back to v7" "$C" copy -q --platform linux/arm/v8 "oci:$T/m:multi" "oci:$T/arm8:t"
check "arm/v8 -> v7 instance" test "$(top "$T/arm8")" = "$ARM"
check "--platform arm64" "$C" copy -q --platform linux/arm64 "oci:$T/m:multi" "oci:$T/arm64:t"
check "arm64 instance" test "$(top "$T/arm64")" = "$ARM64"
check "skopeo picks the same for arm/v7" $SKOPEO --override-arch arm --override-variant v7 copy -q "oci:$T/m:multi" "oci:$T/sk-arm:t"
check "same as skopeo" test "$(top "$T/sk-arm")" = "$(top "$T/arm")"

nomatch() {
    "$C" copy --platform linux/s390x "oci:$T/m:multi" "oci:$T/none" 2>"$T/err"; rc=$?
    [ $rc -eq 1 ] && grep -q '^coco-img: .*linux/s390x.*linux/arm/v7' "$T/err" && [ ! -e "$T/none" ]
}
check "no match: exit 1, lists platforms, nothing written" nomatch

check "--multi-arch all" "$C" copy -q --multi-arch all "oci:$T/m:multi" "oci:$T/all:t"
check "index stored as the tagged entry" test "$(top "$T/all")" = "$IDX"
check "skopeo --all" $SKOPEO copy -q --all "oci:$T/m:multi" "oci:$T/sk-all:t"
check "same blobs as skopeo --all" diff -r "$T/all/blobs" "$T/sk-all/blobs"
check "every instance copied" test -f "$T/all/blobs/sha256/${ARM64#sha256:}"
check "--multi-arch index-only" "$C" copy -q --multi-arch index-only "oci:$T/m:multi" "oci:$T/io:t"
check "index-only has the index" test "$(top "$T/io")" = "$IDX"
check "index-only skips instances" test ! -f "$T/io/blobs/sha256/${ARM#sha256:}"

check "inspect lists instances" sh -c "'$C' inspect 'oci:$T/m:multi' | grep -q 'linux/arm/v7'"
check "inspect --platform picks one" sh -c "'$C' inspect --output json --platform linux/arm/v7 'oci:$T/m:multi' | grep -q '\"manifest_digest\":\"$ARM\"'"
check "copy all -> oci-archive -> oci" sh -c "'$C' copy -q --multi-arch all 'oci:$T/m:multi' 'oci-archive:$T/all.tar' && '$C' copy -q --multi-arch all 'oci-archive:$T/all.tar' 'oci:$T/all2:t'"
check "archive round trip keeps the index digest" test "$(top "$T/all2")" = "$IDX"
finish
