#!/bin/sh
# Run every libFuzzer target for a bounded time (default 30 s each, two at a
# time), each on a scratch copy of its corpus on a tmpfs, so the source tree
# is never written.  Needs clang.  Prints one line per target and exits
# non-zero when any target finds a crash, a leak, a timeout or an OOM; the
# reproducer is kept under $FUZZ_OUT (default /tmp/cocoimg-fuzz-findings).
#   scripts/fuzz.sh [SECONDS] [BUILDDIR]     (defaults: 30, build-fuzz)
# Longer runs: give a larger SECONDS, or run one binary by hand (README).
set -u
cd "$(dirname "$0")/.."
secs=${1:-30}
dir=${2:-build-fuzz}
out=${FUZZ_OUT:-/tmp/cocoimg-fuzz-findings}
command -v clang >/dev/null || { echo "fuzz: clang is not installed"; exit 1; }
if [ ! -f "$dir/build.ninja" ]; then
    CC=clang meson setup "$dir" -Dfuzz=true -Db_lundef=false \
        --buildtype=debugoptimized >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; exit 1; }
    rm -f "$dir.setup.log"
fi
ninja -C "$dir" >/dev/null 2>&1 || { ninja -C "$dir" | tail -30; exit 1; }
scratch=$(mktemp -d "${FUZZ_TMP:-/dev/shm}/cocoimg-fuzz.XXXXXX" 2>/dev/null || mktemp -d)
trap 'rm -rf "$scratch"' EXIT INT TERM
mkdir -p "$out"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:detect_odr_violation=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

one() { # target name
    t=$1
    mkdir -p "$scratch/$t"
    cp -r tests/fuzz/corpus/"$t"/. "$scratch/$t"/ 2>/dev/null
    if "$dir/tests/fuzz/$t" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$out/$t-" "$scratch/$t" \
        >"$scratch/$t.log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/$t.log")
        echo "fuzz $t: ok (${runs:-?} runs in ${secs}s)"
    else
        echo "fuzz $t: FAILED (reproducer in $out/$t-*)"
        grep -E "ERROR|SUMMARY|runtime error" "$scratch/$t.log" | head -5
        return 1
    fi
}

targets=$(ls tests/fuzz/corpus | grep '^fuzz_')
fail=0
set -- $targets
while [ $# -gt 0 ]; do
    a=$1; shift
    b=${1:-}; [ $# -gt 0 ] && shift
    one "$a" > "$scratch/res.a" & pa=$!
    if [ -n "$b" ]; then one "$b" > "$scratch/res.b" & pb=$!; fi
    wait $pa || fail=1
    cat "$scratch/res.a"
    if [ -n "$b" ]; then wait $pb || fail=1; cat "$scratch/res.b"; fi
done
exit $fail
