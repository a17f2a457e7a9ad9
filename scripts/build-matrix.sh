#!/bin/sh
# The builds users and CI make besides the test builds, warnings as errors:
# gcc release (-O3), clang debugoptimized.  (The debugoptimized gcc build
# and its ASan+UBSan twin are scripts/test.sh's.)  Prints one line per
# build and exits non-zero when one fails.
#   scripts/build-matrix.sh [BUILDDIR-PREFIX]   (default: build-matrix)
set -u
cd "$(dirname "$0")/.."
prefix=${1:-build-matrix}
fail=0
one() { # name [env...] -- meson setup args
    name=$1; shift
    dir="$prefix-$name"
    log=$(mktemp)
    if [ ! -f "$dir/build.ninja" ] && ! env "$@" >"$log" 2>&1; then
        echo "build $name: setup failed"; cat "$log"; fail=1
    elif ninja -C "$dir" >"$log" 2>&1; then
        echo "build $name: ok"
    else
        echo "build $name: FAILED"; tail -40 "$log"; fail=1
    fi
    rm -f "$log"
}
one gcc-release CC=gcc meson setup "$prefix-gcc-release" --buildtype=release -Dwerror=true
if command -v clang >/dev/null; then
    one clang CC=clang meson setup "$prefix-clang" -Dwerror=true
fi
exit $fail
