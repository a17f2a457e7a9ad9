#!/bin/bash
# Hostile layers: nothing outside ROOTFS may be created, changed or removed;
# every run ends with a clean exit status (0 or 1), never a crash.
. "$TOP_SRCDIR/tests/lib/common.sh"
RAW="$PY $TOP_SRCDIR/tests/integration/unpack/rawimage.py"
W="$T/work"; mkdir -p "$W/outside"
echo canary > "$W/outside/canary.txt"; echo secret > "$W/secret"
snap() { (cd "$W" && find . -mindepth 1 \( -path ./rootfs -o -path ./img \) -prune -o -printf '%p %y %m %n %s\n' | sort
          sha256sum outside/canary.txt secret) > "$1"; }
snap "$T/before"

# scenario expected-exit [path that must exist inside rootfs]...
run() {
    sc=$1; want=$2; shift 2
    rm -rf "$W/rootfs" "$W/img"
    $RAW "$W/img:t" --compress gzip "scenario:$sc:$W/outside" >/dev/null || return 1
    "$COCO_IMG" unpack -q "oci:$W/img:t" "$W/rootfs" 2>"$T/err.$sc"; rc=$?
    cat "$T/err.$sc"
    [ "$rc" -eq "$want" ] || { echo "exit $rc, wanted $want"; return 1; }
    snap "$T/after"; diff "$T/before" "$T/after" || return 1
    ls -a "$W" | grep -q coco-unpack && { echo "staging left behind"; return 1; }
    for p in "$@"; do [ -e "$W/rootfs/$p" ] || [ -L "$W/rootfs/$p" ] || { echo "missing $p"; return 1; }; done
    [ "$want" -eq 0 ] || [ ! -e "$W/rootfs" ] || { echo "rootfs left after failure"; return 1; }
    [ ! -e /etc/abs-passwd ] || { echo "wrote /etc/abs-passwd"; return 1; }
    return 0
}
O=${W#/}
check "dotdot names clamped"        run dotdot 0 dotdot.txt "$O/outside/dd.txt" up.txt
check "absolute names clamped"      run absolute 0 "$O/outside/abs.txt" etc/abs-passwd
check "write through symlinks"      run symlink-write 0 outside/pwned.txt "$O/outside/pwned.txt"
check "symlink chains"              run symlink-chain 0 "$O/outside/pwned.txt"
check "symlink loop"                run symlink-loop-write 1
check "replace planted symlinks"    run symlink-then-replace 0 vdir/inside.txt
check "hardlink ../ refused"        run hardlink-out 1
check "hardlink absolute"           run hardlink-out-abs 1
check "hardlink via symlink"        run hardlink-via-symlink 1
check "whiteout .wh..."             run whiteout-out 1
check "whiteout via symlink"        run whiteout-via-symlink 0
check "very long names"             run longname 1
check "very long component"         run longcomp 1
check "huge base-256 size"          run hugesize 1
check "huge octal size"             run hugesize-octal 1
check "root entry not a dir"        run root-file 1
check "truncated data"              run truncated-data 1
check "unknown type: regular file" run nodes 0 fifo weird
if [ "$(id -u)" -eq 0 ]; then
    check "device nodes (root)"     run devices 0 dev/null dev/sda
else
    check "device nodes skipped"    run devices 0
fi
check "hardlink message"  grep -q "outside the rootfs" "$T/err.hardlink-out"
finish
