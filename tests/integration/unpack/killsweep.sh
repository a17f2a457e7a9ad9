#!/bin/bash
# SIGKILL (no cleanup of ours can run) at several points of a large unpack
# from a registry and of a copy into an OCI layout: the next run removes
# the leftovers it can prove abandoned (.ROOTFS.coco-unpack-* staging:
# the lock beside ROOTFS is free; blobs/.tmp-blob-*: nobody holds the lock
# on the file and its writer is gone) and succeeds; a blob written as an
# unnamed file (O_TMPFILE) leaves nothing, and never has a name a sweeper
# could take while it is written (COCOIMG_TEST_NO_TMPFILE forces the
# named form, as on a filesystem without O_TMPFILE); leftovers of a live
# process are never removed (a stopped unpack's staging, a stopped copy's
# temporary blob, a temporary blob whose lock is held by a process the
# pid in its name does not name).  Two unpacks into one ROOTFS started
# together: one wins, the other fails at once, downloading nothing.
. "$TOP_SRCDIR/tests/lib/common.sh"
INT="$PY $TOP_SRCDIR/tests/integration/unpack/interrupt.py"
CANON="$PY $TOP_SRCDIR/tests/integration/unpack/canon.py"
start_registry r || exit 1
REG=$REG_r
IMG=docker://$REG/test/big:t
mkimage "$T/img:t" --compress none --layer "r:a=16777216" --layer "r:b=16777216" \
    --layer "r:c=16777216" >/dev/null || exit 1
$SKOPEO copy -q --dest-tls-verify=false "oci:$T/img:t" "$IMG" || exit 1
"$COCO_IMG" unpack -q "oci:$T/img:t" "$T/ref" || exit 1
$CANON "$T/ref" > "$T/ref.txt"
mkdir -p "$T/spool"
unpack() { TMPDIR="$T/spool" "$COCO_IMG" unpack -q --tls-verify=false "$IMG" "$@"; }
same_tree() { $CANON "$1" > "$T/got.txt" && diff -u "$T/ref.txt" "$T/got.txt"; }
killed() { # WATCH POINT COMMAND...: SIGKILLed at the point
    _got=$($INT KILL "$@") || { echo "$_got"; return 1; }
    [ "$_got" = -9 ] || { echo "exit $_got, wanted -9 (killed)"; return 1; }
}
staging_of() { ls -a "$T" | grep -e "^\.$1\.coco-unpack-"; }

# ---- unpack: killed as staging appears, early in layer a, as layer b
# starts, late in layer c ----
for point in 0 a:1048576 b:1 c:12582912; do
    check "unpack killed at $point" killed "$T/.r.coco-unpack-*" "$point" -- \
        env TMPDIR="$T/spool" "$COCO_IMG" unpack -q --tls-verify=false "$IMG" "$T/r"
    check "unpack killed at $point: its staging is left behind" staging_of r
    check "unpack killed at $point: the next run succeeds" unpack "$T/r"
    check "unpack killed at $point: the staging is gone" sh -c "! ls -a '$T' | grep -e '^\.r\.coco-unpack'"
    check "unpack killed at $point: the tree is whole" same_tree "$T/r"
    check "unpack killed at $point: the spool is empty" test -z "$(ls -A "$T/spool")"
    rm -rf "$T/r"
done

# every blob in layout DIR holds what its name says
blobs_whole() { (cd "$1/blobs/sha256" && for f in *; do echo "$f  $f"; done | sha256sum --quiet -c); }

# ---- copy to oci: killed mid-blob, twice, each form ----
"$COCO_IMG" copy -q "oci:$T/img:t" "oci:$T/ref-lay:t" || exit 1
for point in 1048576 12582912; do
    check "unnamed: copy killed at $point bytes of a blob" killed "fd:$T/out/blobs/#*" "$point" -- \
        "$COCO_IMG" copy -q --src-tls-verify=false "$IMG" "oci:$T/out:t"
    check "unnamed: copy killed at $point: no temporary blob, no partial blob" \
        sh -c "! ls -a '$T/out/blobs' | grep -q '^\.tmp-blob-' && $(declare -f blobs_whole); blobs_whole '$T/out'"
    check "unnamed: copy killed at $point: the next copy succeeds" \
        "$COCO_IMG" copy -q --src-tls-verify=false "$IMG" "oci:$T/out:t"
    check "unnamed: copy killed at $point: the image unpacks whole" "$COCO_IMG" unpack -q "oci:$T/out:t" "$T/o"
    check "unnamed: copy killed at $point: same tree" same_tree "$T/o"
    rm -rf "$T/out" "$T/o"
    check "copy killed at $point bytes of a blob" killed "$T/out/blobs/.tmp-blob-*" "$point" -- \
        env COCOIMG_TEST_NO_TMPFILE=1 "$COCO_IMG" copy -q --src-tls-verify=false "$IMG" "oci:$T/out:t"
    check "copy killed at $point: a temporary blob is left behind" \
        sh -c "ls -a '$T/out/blobs' | grep -q '^\.tmp-blob-'"
    check "copy killed at $point: the next copy succeeds" \
        "$COCO_IMG" copy -q --src-tls-verify=false "$IMG" "oci:$T/out:t"
    check "copy killed at $point: no temporary blob left" sh -c "! ls -a '$T/out/blobs' | grep -q '^\.tmp-blob-'"
    check "copy killed at $point: the image unpacks whole" "$COCO_IMG" unpack -q "oci:$T/out:t" "$T/o"
    check "copy killed at $point: same tree" same_tree "$T/o"
    rm -rf "$T/out" "$T/o"
done

# stopped NAME WATCH POINT COMMAND...: start COMMAND in the background
# and return once it is stopped at the point; resume NAME lets it go on
# and gives its exit status
stopped() {
    _n=$1; shift
    rm -f "$T/$_n.stopped" "$T/$_n.go"
    INTERRUPT_STOPPED="$T/$_n.stopped" INTERRUPT_GO="$T/$_n.go" $INT STOP "$@" >"$T/$_n.rc" &
    _PIDS="$_PIDS $!"
    eval "STOPPER_$_n=$!"
    for _i in $(seq 1 6000); do
        [ -s "$T/$_n.stopped" ] && return 0
        sleep 0.01
    done
    echo "$_n never reached its point" >&2
    return 1
}
resume() {
    touch "$T/$1.go"
    eval "wait \$STOPPER_$1"
    [ "$(cat "$T/$1.rc")" = 0 ] || { echo "exit $(cat "$T/$1.rc")"; return 1; }
}

# ---- a live (stopped) unpack keeps its staging ----
stopped live "$T/.live.coco-unpack-*" a:1048576 -- \
    env TMPDIR="$T/spool" "$COCO_IMG" unpack -q --tls-verify=false "$IMG" "$T/live" || exit 1
check "live unpack: a second unpack into its ROOTFS fails at once (exit 2)" \
    expect_rc 2 timeout 20 "$COCO_IMG" unpack -q --tls-verify=false "$IMG" "$T/live"
check "live unpack: an unpack beside it succeeds" unpack "$T/beside"
check "live unpack: its staging is still there" staging_of live
check "live unpack: it then finishes (exit 0)" resume live
check "live unpack: whole tree" same_tree "$T/live"
check "live unpack: no staging left" sh -c "! ls -a '$T' | grep -e '^\.live\.coco-unpack'"

# ---- a live (stopped) copy writing an unnamed blob: no name to sweep ----
"$COCO_IMG" copy -q "oci:$T/img:t" "oci:$T/ul:first" || exit 1
stopped ucopy "fd:$T/ul/blobs/#*" 1048576 -- \
    "$COCO_IMG" copy -q --src-tls-verify=false "$IMG" "oci:$T/ul:a" || exit 1
check "unnamed, stopped mid-blob: no temporary name in blobs/" sh -c "! ls -a '$T/ul/blobs' | grep -q '^\.tmp-blob-'"
check "unnamed, stopped: another copy into the layout meanwhile succeeds" \
    "$COCO_IMG" copy -q "oci:$T/img:t" "oci:$T/ul:b"
check "unnamed, stopped: it then finishes (exit 0)" resume ucopy
check "unnamed: the layout holds all three tags, every blob whole" sh -c "for t in first a b; do '$COCO_IMG' inspect oci:'$T/ul':\$t >/dev/null || exit 1; done && $(declare -f blobs_whole); blobs_whole '$T/ul'"

# ---- a live (stopped) copy keeps its (named) temporary blob; so does a
# writer holding the lock on its file whatever its name says ----
"$COCO_IMG" copy -q "oci:$T/img:t" "oci:$T/lay:first" || exit 1
stopped copy "$T/lay/blobs/.tmp-blob-*" 1048576 -- \
    env COCOIMG_TEST_NO_TMPFILE=1 "$COCO_IMG" copy -q --src-tls-verify=false "$IMG" "oci:$T/lay:a" || exit 1
ls -a "$T/lay/blobs" | grep '^\.tmp-blob-' > "$T/live-tmp.txt"
# a writer in another pid namespace: a pid not alive here in the name,
# the lock held, the file old
"$PY" -c 'import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
os.utime(sys.argv[1], (time.time() - 7200,) * 2)
open(sys.argv[2], "w").close()
time.sleep(120)' "$T/lay/blobs/.tmp-blob-999999999-Locked" "$T/locked.ready" & L=$!
_PIDS="$_PIDS $L"
for _i in $(seq 1 2000); do [ -e "$T/locked.ready" ] && break; sleep 0.01; done
echo junk > "$T/lay/blobs/.tmp-blob-999999999-Free00"
touch -d '2 hours ago' "$T/lay/blobs/.tmp-blob-999999999-Free00"
check "another copy into the layout meanwhile succeeds" \
    "$COCO_IMG" copy -q "oci:$T/img:t" "oci:$T/lay:b"
check "the stopped copy's temporary blob is kept" \
    sh -c "test -s '$T/live-tmp.txt' && while read f; do test -e '$T/lay/blobs/'\$f || exit 1; done < '$T/live-tmp.txt'"
check "a locked temporary blob is kept (pid gone, old)" test -e "$T/lay/blobs/.tmp-blob-999999999-Locked"
check "an unlocked old one of a gone writer is removed" test ! -e "$T/lay/blobs/.tmp-blob-999999999-Free00"
kill $L; wait $L 2>/dev/null
check "the stopped copy then finishes (exit 0)" resume copy
check "the layout holds all three tags" sh -c "for t in first a b; do '$COCO_IMG' inspect oci:'$T/lay':\$t >/dev/null || exit 1; done"

# ---- two unpacks into one ROOTFS started together ----
blob_gets() { grep -c 'response completed.*GET.*/blobs/sha256:' "$T/registry-r/log" 2>/dev/null || true; }
grep -q 'response completed' "$T/registry-r/log" || { echo "registry log has no request lines"; exit 1; }
b0=$(blob_gets)
unpack "$T/solo" || exit 1
per_unpack=$(( $(blob_gets) - b0 ))
check "a solo unpack fetches every blob once" test "$per_unpack" -ge 4
for round in 1 2 3; do
    b0=$(blob_gets)
    ( unpack "$T/race$round" >"$T/race$round.1" 2>&1; echo $? >"$T/race$round.1.rc" ) &
    p1=$!
    ( unpack "$T/race$round" >"$T/race$round.2" 2>&1; echo $? >"$T/race$round.2.rc" ) &
    p2=$!
    wait $p1 $p2
    rcs=$(cat "$T/race$round.1.rc" "$T/race$round.2.rc" | sort | tr '\n' ' ')
    check "race $round: one wins (0), the other fails (2)" test "$rcs" = "0 2 "
    check "race $round: the loser says another unpack is running" \
        grep -q "another unpack into $T/race$round is running" "$T/race$round.1" "$T/race$round.2"
    check "race $round: the loser downloaded nothing" test "$(( $(blob_gets) - b0 ))" -eq "$per_unpack"
    check "race $round: the winner's tree is whole" same_tree "$T/race$round"
done
finish
