#!/bin/bash
# The spool (layers downloaded ahead of their turn into TMPDIR, often guest
# RAM): on a real tmpfs too small for the image, the default lets it fill
# up, the failed writes fall back to downloading in turn and the unpack
# succeeds; max-spool-size (a ctx key, set by ctxrun on the public API)
# keeps the spool under its cap: with a cap the tmpfs can hold nothing
# fails, a layer that would pass the cap waits, one larger than the cap is
# streamed in its turn, and 0 spools nothing.  Every run gives the same
# tree.  The tmpfs is mounted in a private mount namespace (unshare -m).
. "$TOP_SRCDIR/tests/lib/common.sh"
CTXRUN=$1
CANON="$PY $TOP_SRCDIR/tests/integration/unpack/canon.py"
unshare -m true 2>/dev/null || { echo "unshare -m is not permitted here: no tmpfs spool"; exit 77; }
start_registry r || exit 1
REG=$REG_r
IMG=docker://$REG/test/img:t
# four layers of incompressible files: blobs of about 1.2 MB each
layers=()
for i in 1 2 3 4; do layers+=(--layer "r:l$i/a=600000,r:l$i/b=600000"); done
mkimage "$T/img:t" "${layers[@]}" >/dev/null || exit 1
$SKOPEO copy -q --dest-tls-verify=false "oci:$T/img:t" "$IMG" || exit 1
"$COCO_IMG" unpack -q "oci:$T/img:t" "$T/ref" || exit 1
$CANON "$T/ref" > "$T/ref.txt"
mkdir -p "$T/tmpfs"

# on_tmpfs SIZE NAME KEY=VALUE...: ctxrun unpack with a SIZE tmpfs as the
# spool (tmpdir), debug log in $T/NAME.log
on_tmpfs() {
    _size=$1 _n=$2; shift 2
    unshare -m sh -c 'mount -t tmpfs -o size="$1" tmpfs "$2" && shift 2 && exec "$@"' sh \
        "$_size" "$T/tmpfs" env CTXRUN_LOG=debug "$CTXRUN" unpack "$IMG" "$T/$_n" \
        tls-verify=false parallel=4 tmpdir="$T/tmpfs" "$@" >"$T/$_n.log" 2>&1
}
same_tree() { $CANON "$T/$1" > "$T/$1.txt" && diff -u "$T/ref.txt" "$T/$1.txt"; }
# the largest spool use the log reports, in bytes
peak() { grep -o 'spooled ahead in [^ ]* ([0-9]*' "$T/$1.log" | sed 's/.*(//' | sort -n | tail -1; }
ahead() { grep -c 'spooled ahead' "$T/$1.log"; }

# the applier waits (ctxrun's CTXRUN_HOLD_APPLY) until a write ahead has
# failed, so the spool fills up whatever the threads' timing
export CTXRUN_HOLD_APPLY="could not be fetched ahead"
check "3M tmpfs, default cap: the unpack succeeds" on_tmpfs 3m full
unset CTXRUN_HOLD_APPLY
check "3M tmpfs, default cap: the spool filled up and fell back" grep -q "could not be fetched ahead into the spool directory $T/tmpfs" "$T/full.log"
check "3M tmpfs, default cap: same tree" same_tree full

check "3M tmpfs, max-spool-size=2600000: succeeds" on_tmpfs 3m capped max-spool-size=2600000
check "max-spool-size=2600000: no spool write failed" sh -c "! grep -q 'could not be fetched ahead' '$T/capped.log'"
check "max-spool-size=2600000: layers were spooled ahead" test "$(ahead capped)" -ge 2
check "max-spool-size=2600000: never more than the cap in use" test "$(peak capped)" -le 2600000
check "max-spool-size=2600000: same tree" same_tree capped

check "max-spool-size=1M (under one blob): succeeds" on_tmpfs 3m small max-spool-size=1M
check "max-spool-size=1M: each later layer is streamed in its turn" test "$(grep -c 'more than the spool may hold (max-spool-size 1048576)' "$T/small.log")" -eq 3
check "max-spool-size=1M: nothing spooled" test "$(ahead small)" -eq 0
check "max-spool-size=1M: same tree" same_tree small

check "max-spool-size=0: succeeds" on_tmpfs 3m none max-spool-size=0
check "max-spool-size=0: nothing spooled" test "$(ahead none)" -eq 0
check "max-spool-size=0: same tree" same_tree none
check "max-spool-size=-1 is refused (exit 2)" expect_rc 2 "$CTXRUN" unpack "$IMG" "$T/bad" max-spool-size=-1
finish
