#!/bin/bash
# Temporary blobs of an OCI layout destination, in both forms: unnamed
# (O_TMPFILE, linked into place when complete; the default here) and
# named and locked (COCOIMG_TEST_NO_TMPFILE=1, as on a filesystem without
# O_TMPFILE).  Both give the same layout; a wrong file already at a
# blob's name is replaced; nothing temporary is left; the unnamed form
# shows no temporary name while a blob is being written (checked on a
# stopped copy in killsweep.sh too).
. "$TOP_SRCDIR/tests/lib/common.sh"
mkimage "$T/img:t" --layer "r:a=3000000" --layer "f:b=2" >/dev/null || exit 1
blobs_whole() { (cd "$1/blobs/sha256" && for f in *; do echo "$f  $f"; done | sha256sum --quiet -c); }
no_tmp() { ! ls -a "$1/blobs" | grep -q '^\.tmp-blob-'; }
LAYER=$(json_get "$T/img/index.json" "j['manifests'][0]['digest']")
LAYER=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][0]["digest"][7:])' \
    "$T/img/blobs/sha256/${LAYER#sha256:}")

for form in unnamed named; do
    env=()
    [ $form = named ] && env=(COCOIMG_TEST_NO_TMPFILE=1)
    C() { env "${env[@]}" "$COCO_IMG" "$@"; }
    check "$form: copy into a new layout" C copy -q "oci:$T/img:t" "oci:$T/$form:t"
    check "$form: every blob whole, no temporary blob" sh -c "$(declare -f blobs_whole no_tmp); blobs_whole '$T/$form' && no_tmp '$T/$form'"
    check "$form: blob files are mode 0644" test "$(stat -c %a "$T/$form/blobs/sha256/$LAYER")" = 644
    # a wrong (short) file where the layer goes: copied again, replaced
    printf 'junk' > "$T/$form/blobs/sha256/$LAYER"
    check "$form: a short file at the layer's name: the copy succeeds" C copy -q "oci:$T/img:t" "oci:$T/$form:t2"
    check "$form: the short file was replaced by the whole blob" sh -c "$(declare -f blobs_whole no_tmp); blobs_whole '$T/$form' && no_tmp '$T/$form'"
    check "$form: the copy unpacks" "$COCO_IMG" unpack -q "oci:$T/$form:t2" "$T/$form-root"
done
check "both forms: the same layout" diff -r "$T/unnamed" "$T/named"

# the named form's file, while being written, is locked by its writer;
# the unnamed form has no name then (watched from outside on a stopped
# copy: interrupt.py STOP)
INT="$PY $TOP_SRCDIR/tests/integration/unpack/interrupt.py"
for form in unnamed named; do
    env=(); watch="fd:$T/s-$form/blobs/#*"
    [ $form = named ] && { env=(COCOIMG_TEST_NO_TMPFILE=1); watch="$T/s-$form/blobs/.tmp-blob-*"; }
    rm -f "$T/stopped" "$T/go"
    INTERRUPT_STOPPED="$T/stopped" INTERRUPT_GO="$T/go" $INT STOP "$watch" 1048576 -- \
        env "${env[@]}" "$COCO_IMG" copy -q "oci:$T/img:t" "oci:$T/s-$form:t" > "$T/s.rc" &
    P=$!; _PIDS="$_PIDS $P"
    for _i in $(seq 1 3000); do [ -s "$T/stopped" ] && break; sleep 0.01; done
    check "$form: the copy stopped mid-blob" test -s "$T/stopped"
    if [ $form = unnamed ]; then
        check "unnamed, mid-blob: no temporary name" sh -c "$(declare -f no_tmp); no_tmp '$T/s-$form'"
    else
        check "named, mid-blob: a temporary name, locked by its writer" "$PY" -c '
import fcntl, glob, os, sys
names = glob.glob(sys.argv[1] + "/blobs/.tmp-blob-*")
assert len(names) == 1, names
fd = os.open(names[0], os.O_RDONLY)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    sys.exit("not locked")
except BlockingIOError:
    pass' "$T/s-$form"
    fi
    touch "$T/go"
    wait $P
    check "$form: the stopped copy then finishes (exit 0)" test "$(cat "$T/s.rc")" = 0
    check "$form: whole, nothing temporary left" sh -c "$(declare -f blobs_whole no_tmp); blobs_whole '$T/s-$form' && no_tmp '$T/s-$form'"
done
finish
