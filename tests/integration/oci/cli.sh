#!/bin/bash
# Usage errors of copy and inspect: one "coco-img: " line, exit 2; --help.
. "$TOP_SRCDIR/tests/lib/common.sh"
C=$COCO_IMG
mkimage "$T/img:v1" >/dev/null

# usage_error CMD... : exit 2 and exactly one stderr line starting "coco-img: "
usage_error() {
    "$@" >"$T/out" 2>"$T/err"; rc=$?
    [ $rc -eq 2 ] || { echo "exit $rc, wanted 2"; cat "$T/err"; return 1; }
    [ "$(wc -l < "$T/err")" -eq 1 ] && grep -q '^coco-img: ' "$T/err" || { cat "$T/err"; return 1; }
}
check "copy --help" sh -c "'$C' copy --help | grep -q 'Usage: coco-img copy'"
check "inspect --help" sh -c "'$C' inspect --help | grep -q 'Usage: coco-img inspect'"
check "copy --help lists --multi-arch" sh -c "'$C' copy --help | grep -q -- '--multi-arch'"
check "copy: missing args" usage_error "$C" copy "oci:$T/img:v1"
check "copy: extra args" usage_error "$C" copy a b c
check "copy: unknown flag" usage_error "$C" copy --nope "oci:$T/img:v1" "oci:$T/x"
check "copy: bad --multi-arch" usage_error "$C" copy --multi-arch some "oci:$T/img:v1" "oci:$T/x"
check "copy: bad --encrypt-layer" usage_error "$C" copy --encrypt-layer x --encryption-key jwe:k "oci:$T/img:v1" "oci:$T/x"
check "copy: --encrypt-layer without key" usage_error "$C" copy --encrypt-layer 1 "oci:$T/img:v1" "oci:$T/x"
check "copy: bad --output" usage_error "$C" copy --output yaml "oci:$T/img:v1" "oci:$T/x"
check "copy: bad --platform" usage_error "$C" copy --platform linux "oci:$T/img:v1" "oci:$T/x"
check "copy: no transport" usage_error "$C" copy "$T/img" "oci:$T/x"
check "copy: docker: without //" usage_error "$C" copy docker:alpine "oci:$T/x"
check "copy: upper-case repo" usage_error "$C" copy docker://example/App "oci:$T/x"
check "copy: unknown transport" usage_error "$C" copy "foo:$T/img" "oci:$T/x"
check "copy: unsupported transport" usage_error "$C" copy "docker-archive:$T/img.tar" "oci:$T/x"
check "copy: bad oci tag" usage_error "$C" copy "oci:$T/img:bad tag" "oci:$T/x"
check "copy: @N destination" usage_error "$C" copy "oci:$T/img:v1" "oci:$T/x:@0"
check "copy: bad digest" usage_error "$C" copy "docker://a/b@sha256:123" "oci:$T/x"
check "nothing written on usage errors" test ! -e "$T/x"
check "inspect: no args" usage_error "$C" inspect
check "inspect: bad ref" usage_error "$C" inspect "oci:"
check "inspect: unknown flag" usage_error "$C" inspect --bogus "oci:$T/img:v1"
mkimage "$T/img:v2" --layer f:b=2 >/dev/null
check "inspect: ambiguous layout is a usage error" usage_error "$C" inspect "oci:$T/img"
finish
