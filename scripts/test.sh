#!/bin/sh
# Run the whole test suite: a normal build and an ASan+UBSan build, each
# with every unit and integration test.  Ends with "N passed, N failed".
#   scripts/test.sh            both builds
#   scripts/test.sh --quick    normal build only
set -u
cd "$(dirname "$0")/.."
scripts/install-deps.sh || exit 1

run_suite() { # builddir [meson setup args...]
    dir=$1; shift
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 ||
            { cat "$dir.setup.log"; build_failures=$((build_failures + 1)); return 1; }
        rm -f "$dir.setup.log"
    fi
    # a stale log must not count, and a build that fails is a failure
    rm -f "$dir/meson-logs/testlog.json"
    if ! { ninja -C "$dir" >/dev/null || ninja -C "$dir"; }; then
        echo "FAILED: $dir does not build"
        build_failures=$((build_failures + 1))
        return 1
    fi
    meson test -C "$dir" --print-errorlogs --num-processes 2 --timeout-multiplier 3 2>&1 \
        | grep -v -E '^ *[0-9]+/[0-9]+ .* OK ' || true
}

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:detect_odr_violation=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

build_failures=0
run_suite build -Dwerror=true
[ "${1:-}" = "--quick" ] || run_suite build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false

# Count every test of every build from meson's logs.
/usr/bin/python3 - "$build_failures" build build-asan <<'PY'
import json, os, sys
p, f = 0, int(sys.argv[1])
for d in sys.argv[2:]:
    log = os.path.join(d, "meson-logs", "testlog.json")
    if not os.path.exists(log):
        continue
    for line in open(log):
        r = json.loads(line)
        if r["result"] in ("OK", "EXPECTEDFAIL"):
            p += 1
        elif r["result"] != "SKIP":
            f += 1
            print("FAILED:", d, r["name"], r["result"])
print(f"{p} passed, {f} failed")
sys.exit(1 if f else 0)
PY
