#!/bin/bash
# An oci-archive: source is extracted into the directory for temporary
# files (--tmpdir, TMPDIR, else /var/tmp).  When that directory is full the
# message names it and says how to choose another, as the spool message
# does, instead of a bare "cannot write".  The small tmpfs is mounted in a
# private mount namespace (unshare -m); without that permission the test
# is skipped.
. "$TOP_SRCDIR/tests/lib/common.sh"
unshare -m true 2>/dev/null || { echo "unshare -m is not permitted here: no small tmpfs"; exit 77; }
mkimage "$T/src:v1" --layer 'r:big=1500000' >/dev/null || exit 1
"$COCO_IMG" copy -q "oci:$T/src:v1" "oci-archive:$T/a.tar:v1" || exit 1
mkdir -p "$T/small"

# in_tmpfs ENVVAR|--tmpdir NAME: copy the archive with a 1 MB tmpfs as the
# directory for temporary files; stderr in $T/NAME.err, exit status in $T/NAME.rc
in_tmpfs() {
    _how=$1 _n=$2
    unshare -m sh -c 'mount -t tmpfs -o size=1m tmpfs "$1" || exit 99
        if [ "$2" = env ]; then TMPDIR="$1" "$3" copy -q "oci-archive:$4:v1" "oci:$5"
        else "$3" copy -q --tmpdir "$1" "oci-archive:$4:v1" "oci:$5"; fi' sh \
        "$T/small" "$_how" "$COCO_IMG" "$T/a.tar" "$T/out-$_n" 2>"$T/$_n.err"
    echo $? > "$T/$_n.rc"
}
says() { grep -F -q -- "$2" "$T/$1.err" || { echo "no \"$2\" in:"; cat "$T/$1.err"; return 1; }; }

in_tmpfs env env
check "TMPDIR full: exit 1" test "$(cat "$T/env.rc")" = 1
check "TMPDIR full: the directory is named" says env "the directory for temporary files $T/small is full"
check "TMPDIR full: the fix is said" says env "set TMPDIR, --tmpdir or the tmpdir key"
check "TMPDIR full: the archive is named" says env "oci-archive $T/a.tar"
check "TMPDIR full: no space left" says env "No space left on device"
check "TMPDIR full: one line" test "$(wc -l < "$T/env.err")" = 1
check "TMPDIR full: nothing written at the destination" test ! -e "$T/out-env"

in_tmpfs flag flag
check "--tmpdir full: exit 1" test "$(cat "$T/flag.rc")" = 1
check "--tmpdir full: the directory is named" says flag "the directory for temporary files $T/small is full"
check "with room: the same copy succeeds" "$COCO_IMG" copy -q --tmpdir "$T" "oci-archive:$T/a.tar:v1" "oci:$T/out-ok"
finish
