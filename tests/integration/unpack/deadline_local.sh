#!/bin/bash
# --command-timeout (and SIGINT, the same check) bounds local work too: an
# unpack of a local zstd layer that expands to 8 GiB of zeros (256 KiB
# read at once, so no further input is waited for) stops at the deadline
# with a clean error, leaving no ROOTFS and no staging; a copy of a local
# 1 GiB uncompressed layer into an OCI layout stops at its deadline and
# leaves neither a temporary blob nor the layout it created behind, nor
# changes an existing layout; a copy from an oci-archive whose 4 GiB blob
# inflates from 4 MB stops while extracting it, and its scratch directory
# goes; a copy to an oci-archive leaves no partial file.  Each ends within
# a bound of the deadline.
. "$TOP_SRCDIR/tests/lib/common.sh"
HUGE="$PY $TOP_SRCDIR/tests/integration/unpack/hugelayer.py"
$HUGE zstd "$T/bomb:t" 8 || exit 1
$HUGE tar "$T/big:t" 1024 || exit 1
$HUGE archive "$T/arch.tar" 4 || exit 1
now() { date +%s%N; }
ms_since() { echo $(( ($(now) - $1) / 1000000 )); }
no_staging() { ! ls -a "$T" | grep -q coco-unpack; }

# ---- unpack: the deadline stops the applying ----
t0=$(now)
timeout 120 "$COCO_IMG" unpack -q --command-timeout 2s "oci:$T/bomb:t" "$T/r" > "$T/u.out" 2>&1
rc=$? el=$(ms_since "$t0")
cat "$T/u.out"
check "unpack --command-timeout 2s of an 8 GiB zstd layer: exit 1" test "$rc" -eq 1
check "unpack: ends within 10 s (took ${el} ms)" test "$el" -lt 10000
check "unpack: says the command timeout passed" grep -q "ran past its command timeout (2s)" "$T/u.out"
check "unpack: no ROOTFS, no staging left" sh -c "test ! -e '$T/r' && ! ls -a '$T' | grep -q coco-unpack"

# ---- unpack: SIGINT during the applying (cocoimg_ctx_cancel) ----
t0=$(now)
"$COCO_IMG" unpack -q "oci:$T/bomb:t" "$T/r2" > "$T/i.out" 2>&1 & P=$!
_PIDS="$_PIDS $P"
for _i in $(seq 1 1000); do ls -a "$T" | grep -q '\.r2\.coco-unpack-' && break; sleep 0.01; done
sleep 1
kill -INT $P
wait $P
rc=$? el=$(ms_since "$t0")
check "unpack interrupted while applying: exit 130" test "$rc" -eq 130
check "unpack interrupted: ends within 10 s (took ${el} ms)" test "$el" -lt 10000
check "unpack interrupted: no ROOTFS, no staging left" sh -c "test ! -e '$T/r2' && ! ls -a '$T' | grep -q coco-unpack"

# ---- copy: the deadline stops the local writing ----
t0=$(now)
timeout 120 "$COCO_IMG" copy -q --command-timeout 500ms "oci:$T/big:t" "oci:$T/new:t" > "$T/c.out" 2>&1
rc=$? el=$(ms_since "$t0")
cat "$T/c.out"
check "copy --command-timeout 500ms of a 1 GiB layer: exit 1" test "$rc" -eq 1
check "copy: ends within 8 s (took ${el} ms)" test "$el" -lt 8000
check "copy: says the command timeout passed" grep -q "ran past its command timeout (500ms)" "$T/c.out"
check "copy: the layout it created is gone" test ! -e "$T/new"

mkimage "$T/old:t" >/dev/null || exit 1
cp "$T/old/index.json" "$T/index.before"
timeout 120 "$COCO_IMG" copy -q --command-timeout 500ms "oci:$T/big:t" "oci:$T/old:big" > "$T/c2.out" 2>&1
check "copy into an existing layout: exit 1" test $? -eq 1
check "copy into an existing layout: index.json unchanged" cmp -s "$T/index.before" "$T/old/index.json"
check "copy into an existing layout: no temporary blob left" sh -c "! ls -a '$T/old/blobs' | grep -q '^\.tmp-blob-'"
check "copy into an existing layout: no part of the layer stored" test -z "$(find "$T/old/blobs" -type f -size +1M)"
check "the same copy without a deadline succeeds" "$COCO_IMG" copy -q "oci:$T/big:t" "oci:$T/old:big"

# ---- oci-archive: extracting the source, writing the destination ----
mkdir -p "$T/tmp"
t0=$(now)
TMPDIR="$T/tmp" timeout 120 "$COCO_IMG" copy -q --tmpdir "$T/tmp" --command-timeout 1s "oci-archive:$T/arch.tar" "oci:$T/fa:t" > "$T/a.out" 2>&1
rc=$? el=$(ms_since "$t0")
cat "$T/a.out"
check "copy from an oci-archive inflating to 4 GiB, --command-timeout 1s: exit 1" test "$rc" -eq 1
check "copy from the oci-archive: ends within 8 s (took ${el} ms)" test "$el" -lt 8000
check "copy from the oci-archive: says the command timeout passed" grep -q "ran past its command timeout (1s)" "$T/a.out"
check "copy from the oci-archive: its scratch directory is gone" test -z "$(ls -A "$T/tmp")"
check "copy from the oci-archive: no destination" test ! -e "$T/fa"
timeout 120 "$COCO_IMG" copy -q --command-timeout 500ms "oci:$T/big:t" "oci-archive:$T/out.tar" > "$T/o.out" 2>&1
check "copy to an oci-archive, --command-timeout 500ms: exit 1" test $? -eq 1
check "copy to an oci-archive: nothing written beside it" sh -c "! ls -a '$T' | grep -q '^out\.tar'"
finish
