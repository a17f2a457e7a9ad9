#!/bin/bash
# Leftovers and races (issue 14): a spool directory that fills up falls
# back to downloading in turn (the unpack succeeds, the message names the
# spool directory); staging trees and temporary blobs of a killed run are
# removed by the next run; a second unpack into the same ROOTFS fails at
# once, before downloading anything.
. "$TOP_SRCDIR/tests/lib/common.sh"
CANON="$PY $TOP_SRCDIR/tests/integration/unpack/canon.py"
start_registry r || exit 1
REG=$REG_r
# three layers of incompressible files, each file under 1 MiB, each blob
# over 1 MiB
layers=()
for i in 1 2 3; do layers+=(--layer "r:l$i/a=600000,r:l$i/b=600000,r:l$i/c=600000"); done
mkimage "$T/img:t" "${layers[@]}" >/dev/null
$SKOPEO copy -q --dest-tls-verify=false "oci:$T/img:t" "docker://$REG/test/img:t" || exit 1
"$COCO_IMG" unpack -q "oci:$T/img:t" "$T/ref" || exit 1
$CANON "$T/ref" > "$T/ref.txt"

# A spool that cannot take a whole blob: files are capped at 1 MiB for the
# command (RLIMIT_FSIZE, SIGXFSZ ignored), so every spool write past 1 MiB
# fails with EFBIG while the rootfs files (600 kB each) fit.
mkdir -p "$T/spool"
spool_full() {
    (trap '' XFSZ; ulimit -f 1024; TMPDIR="$T/spool" exec "$COCO_IMG" unpack --tls-verify=false \
        --parallel 3 "docker://$REG/test/img:t" "$T/sp") >"$T/sp.out" 2>&1
}
check "full spool: the unpack succeeds" spool_full
check "full spool: same tree" sh -c "$CANON '$T/sp' > '$T/sp.txt' && diff -u '$T/ref.txt' '$T/sp.txt'"
check "full spool: the message names the spool directory" grep -q "spool directory $T/spool" "$T/sp.out"
check "full spool: nothing left in it" test -z "$(ls -A "$T/spool")"

# Leftovers of a killed run: a staging tree beside ROOTFS and a temporary
# blob in a layout, both old and without a living writer.
mkdir -p "$T/k/.rootfs.coco-unpack-Ab12Cd/usr" "$T/k/.rootfs.coco-unpack-keepme-x"
echo x > "$T/k/.rootfs.coco-unpack-Ab12Cd/usr/big"
check "stale staging: unpack succeeds" "$COCO_IMG" unpack -q "oci:$T/img:t" "$T/k/rootfs"
check "stale staging: removed" test ! -e "$T/k/.rootfs.coco-unpack-Ab12Cd"
check "stale staging: other names left alone" test -d "$T/k/.rootfs.coco-unpack-keepme-x"
check "no lock file left" sh -c "! ls -a '$T/k' | grep -q 'coco-unpack.lock'"
"$COCO_IMG" copy -q "oci:$T/img:t" "oci:$T/lay:t" || exit 1
echo junk > "$T/lay/blobs/.tmp-blob-999999999-abcdef"
echo junk > "$T/lay/blobs/.tmp-blob-Xy12ab"
echo junk > "$T/lay/blobs/.tmp-blob-$$-fresh00"
touch -d '2 hours ago' "$T/lay/blobs/.tmp-blob-999999999-abcdef" "$T/lay/blobs/.tmp-blob-Xy12ab"
check "stale temp blobs: copy succeeds" "$COCO_IMG" copy -q "oci:$T/img:t" "oci:$T/lay:t2"
check "stale temp blobs: removed" sh -c "test ! -e '$T/lay/blobs/.tmp-blob-999999999-abcdef' && test ! -e '$T/lay/blobs/.tmp-blob-Xy12ab'"
check "recent temp blob of a live writer: kept" test -e "$T/lay/blobs/.tmp-blob-$$-fresh00"

# Two unpacks into one ROOTFS: while one holds the lock, the other fails
# at once (exit 2) and downloads nothing.
exec 9>"$T/.race.coco-unpack.lock"
flock -x 9
: > "$T/registry-r.log.mark" 2>/dev/null
timeout 60 "$COCO_IMG" unpack -q --tls-verify=false "docker://$REG/test/img:t" "$T/race" >"$T/race.out" 2>&1
rc=$?
check "second unpack: exit 2" test "$rc" -eq 2
check "second unpack: says another unpack is running" grep -q "another unpack into $T/race is running" "$T/race.out"
check "second unpack: rootfs not created" test ! -e "$T/race"
exec 9>&-
check "after the first: unpack succeeds" "$COCO_IMG" unpack -q --tls-verify=false "docker://$REG/test/img:t" "$T/race"
finish
