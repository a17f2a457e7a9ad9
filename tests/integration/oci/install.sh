#!/bin/bash
# meson install --destdir gives library (soname libcocoimg.so.1), headers,
# pkg-config file and coco-img; examples/inspect.c builds against the
# installed library through pkg-config and runs.
. "$TOP_SRCDIR/tests/lib/common.sh"
: "${TOP_BUILDDIR:?}"
D="$T/dest"

check "meson install --destdir" meson install -C "$TOP_BUILDDIR" --destdir "$D" --no-rebuild --quiet
LIBSO=$(find "$D" -name 'libcocoimg.so.1' | head -1)
LIBDIR=$(dirname "${LIBSO:-/nonexistent/x}")
PCFILE=$(find "$D" -name 'libcocoimg.pc' | head -1)
BIN=$(find "$D" -path '*/bin/coco-img' | head -1)
check "library installed" test -n "$LIBSO"
check "soname is libcocoimg.so.1" sh -c "readelf -d '$LIBSO' | grep -q 'SONAME.*\[libcocoimg.so.1\]'"
check "development symlink" test -e "$LIBDIR/libcocoimg.so"
check "only cocoimg_ symbols exported" sh -c "! nm -D --defined-only '$LIBSO' | awk '{print \$3}' | grep -v -e '^cocoimg_' -e '^LIBCOCOIMG_1$' | grep ."
check "umbrella header" test -n "$(find "$D" -path '*/include/cocoimg.h')"
check "module headers" test -n "$(find "$D" -path '*/include/cocoimg/image.h')"
check "pkg-config file" test -n "$PCFILE"
check "coco-img installed" test -x "$BIN"
check "installed coco-img runs" env LD_LIBRARY_PATH="$LIBDIR" "$BIN" version

export PKG_CONFIG_SYSROOT_DIR="$D" PKG_CONFIG_PATH="$(dirname "${PCFILE:-/x/y}")"
# A sanitizer build of the library needs the example built the same way
# (the ASan runtime must come first in the process).
SAN=""
if readelf -d "$LIBSO" | grep -q 'NEEDED.*libasan'; then SAN="-fsanitize=address,undefined"; fi
build_example() {
    # shellcheck disable=SC2046
    cc $SAN -Wall -Werror -o "$T/inspect" "$TOP_SRCDIR/examples/inspect.c" $(pkg-config --cflags --libs libcocoimg)
}
check "pkg-config knows libcocoimg" pkg-config --exists libcocoimg
check "example builds against the installed library" build_example
mkimage "$T/img:v1" >/dev/null
run_example() {
    out=$(LD_LIBRARY_PATH="$LIBDIR" "$T/inspect" "oci:$T/img:v1") || return 1
    echo "$out" | grep -q '"digest":"sha256:' && echo "$out" | grep -q "^reference: oci:$T/img:v1"
}
check "example runs" run_example
check "example links the installed library" sh -c "LD_LIBRARY_PATH='$LIBDIR' ldd '$T/inspect' | grep -q '$LIBDIR/libcocoimg.so.1'"
finish
