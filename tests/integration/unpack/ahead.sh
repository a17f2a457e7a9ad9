#!/bin/bash
# A small layer staged while the large layer before it still streams
# (image_unpack.c "ahead", unpack/stage.c): the rootfs is the one of
# applying the layers one after the other (contents, modes, owners,
# xattrs, times, hardlinks, whiteouts, opaque directories, a file replaced
# by a directory and the reverse), for plain and encrypted images; a
# symlink of the large layer never lets the staged one write outside the
# rootfs; errors are the ones of the sequential unpack, and nothing is
# left beside the rootfs.  The reference is the same image unpacked with
# --parallel 1 (no download ahead, so no staging) and from its layout.
. "$TOP_SRCDIR/tests/lib/common.sh"
CANON="$PY $TOP_SRCDIR/tests/integration/unpack/canon.py"
if [ "$(id -u)" -eq 0 ]; then CF="--full"; else CF="--full --no-owner"; fi
start_registry r || exit 1
REG=$REG_r
CANARY="$T/canary"; mkdir -p "$CANARY"

# layer 1: large enough to be still streaming while layer 2 is staged
L1="r:big/weights=16000000,d:etc,f:etc/passwd=root,f:gone=x,d:gonedir,f:gonedir/f=f"
L1="$L1,d:opq,f:opq/a=a,d:opq/sub,f:opq/sub/b=b,d:f2d,f:f2d/in=in,f:d2f=file,f:target=t"
L1="$L1,l:evil=$CANARY,l:up=../../../../../..$CANARY,d:usr/lib,l:lib=usr/lib,d:keep,f:keep/k=k"
# layer 2: small, every kind of conflict with layer 1, and enough files
# to take a while
L2="f:.wh.gone,f:.wh.gonedir,f:opq/.wh..wh..opq,f:opq/c=c,f:f2d=nowfile,d:d2f,f:d2f/x=x"
L2="$L2,h:link=target,h:link2=keep/k,f:evil/pwn=pwn,f:up/pwn2=pwn,f:lib/new.so=new"
L2="$L2,o:5:6,m:0600,f:etc/passwd=changed,o:0:0,m:0750,d:keep,m:0644,x:user.note=hi,f:keep/x=x"
L2="$L2,f:same=1,f:.wh.same,f:same=2,h:samelink=same,p:fifo,l:rel=keep/k"
for i in $(seq 1 1500); do L2="$L2,f:many/d$((i % 30))/f$i=$i"; done
L3="f:.wh.link2,f:many/.wh.d0,f:l3=3"

mkimage "$T/img:t" --layer "$L1" --layer "$L2" --layer "$L3" >/dev/null
openssl genrsa -out "$T/priv.pem" 2048 2>/dev/null
openssl rsa -in "$T/priv.pem" -pubout -out "$T/pub.pem" 2>/dev/null
$SKOPEO copy -q --dest-tls-verify=false "oci:$T/img:t" "docker://$REG/t/plain:t" || exit 1
$SKOPEO copy -q --dest-tls-verify=false --encryption-key "jwe:$T/pub.pem" \
    "oci:$T/img:t" "docker://$REG/t/enc:t" || exit 1
"$COCO_IMG" unpack -q "oci:$T/img:t" "$T/ref" || exit 1
$CANON "$T/ref" $CF > "$T/ref.txt"

# unpack REF ROOTFS ARGS... with the debug log in ROOTFS.log
unpack() {
    local ref=$1 r=$2; shift 2
    "$COCO_IMG" unpack --debug --tls-verify=false --decryption-key "$T/priv.pem" "$@" \
        "$ref" "$r" > "$r.log" 2>&1
}
same() { # ROOTFS
    $CANON "$1" $CF > "$1.txt" && diff -u "$T/ref.txt" "$1.txt"
}
staged() { grep -q "applied ahead into" "$1.log"; }
nothing_beside() { # nothing but the rootfs (if any) and our files in its directory
    [ -z "$(ls -A "$T" | grep -F '.coco-unpack-')" ] && [ -z "$(ls -A "$CANARY")" ]
}

for img in plain enc; do
    unpack "docker://$REG/t/$img:t" "$T/a-$img"
    check "$img: layer 2 staged while layer 1 streams" staged "$T/a-$img"
    check "$img: same tree as from the layout" same "$T/a-$img"
    unpack "docker://$REG/t/$img:t" "$T/s-$img" --parallel 1
    check "$img: --parallel 1 stages nothing" expect_rc 1 staged "$T/s-$img"
    check "$img: --parallel 1 same tree" same "$T/s-$img"
done
R="$T/a-plain"
check "whiteout of a layer-1 file and directory" test ! -e "$R/gone" -a ! -e "$R/gonedir"
check "opaque directory" test "$(ls -A "$R/opq" | tr '\n' ' ')" = "c "
check "dir replaced by a file" test -f "$R/f2d" -a "$(cat "$R/f2d")" = nowfile
check "file replaced by a dir" test -f "$R/d2f/x"
check "hardlink to a layer-1 file" test "$(stat -c %i "$R/link")" = "$(stat -c %i "$R/target")"
check "same-layer whiteout then re-create" test "$(cat "$R/same")" = 2
check "same-layer hardlink" test "$(stat -c %i "$R/samelink")" = "$(stat -c %i "$R/same")"
check "layer 3 whiteouts of staged entries" test ! -e "$R/link2" -a ! -e "$R/many/d0" -a -f "$R/many/d1/f1"
check "writes through layer-1 symlinks stay inside" test -f "$R/$CANARY/pwn" -a -f "$R/$CANARY/pwn2" -a -f "$R/usr/lib/new.so"
check "xattr on a staged file" $PY -c "import os,sys; sys.exit(os.getxattr('$R/keep/x', 'user.note') != b'hi')"
check "nothing outside the rootfs, no staging left" nothing_beside

# errors: the sequential unpack's message, nothing left behind
errors() { grep '^coco-img: ' "$1" | grep -v '^coco-img: [a-z]*: '; }
err_same() { # NAME IMAGE-SPEC... : same exit status and message with and without staging
    local n=$1; shift
    mkimage "$T/img-$n:t" "$@" >/dev/null
    $SKOPEO copy -q --dest-tls-verify=false "oci:$T/img-$n:t" "docker://$REG/t/$n:t" || return 1
    unpack "docker://$REG/t/$n:t" "$T/e1-$n"; local a=$?
    unpack "docker://$REG/t/$n:t" "$T/e2-$n" --parallel 1; local b=$?
    errors "$T/e1-$n.log" > "$T/e1-$n.err"
    errors "$T/e2-$n.log" > "$T/e2-$n.err"
    rm -f "$T/e1-$n.log" "$T/e2-$n.log"
    [ "$a" -ne 0 ] && [ "$a" -eq "$b" ] && [ -s "$T/e1-$n.err" ] &&
        diff "$T/e2-$n.err" "$T/e1-$n.err" && [ ! -e "$T/e1-$n" ] && nothing_beside
}
check "layer 2 hardlink to a missing file: same error" \
    err_same bad2 --layer "$L1" --layer "f:ok=1,h:bad=nosuch,f:after=2"
check "layer 1 fails while layer 2 is staged: layer 1's error" \
    err_same bad1 --layer "$L1,h:bad=nosuch" --layer "$L2"
mkimage "$T/img-caps:t" --layer "$L1" --layer "$L2" >/dev/null
$SKOPEO copy -q --dest-tls-verify=false "oci:$T/img-caps:t" "docker://$REG/t/caps:t" || exit 1
# 1520 entries fit layer 2 alone, not with layer 1's
caps_same() {
    unpack "docker://$REG/t/caps:t" "$T/c1" --max-entries 1540; local a=$?
    unpack "docker://$REG/t/caps:t" "$T/c2" --max-entries 1540 --parallel 1; local b=$?
    [ "$a" -ne 0 ] && [ "$a" -eq "$b" ] && grep -q 'applied ahead' "$T/c1.log" &&
        diff <(grep 'max-entries' "$T/c2.log") <(grep 'max-entries' "$T/c1.log") &&
        grep -q 'max-entries' "$T/c1.log" && nothing_beside
}
check "image cap passed only with layer 1: the same cap error" caps_same
# an xattr that is refused warns once, as without staging
mkimage "$T/img-tr:t" --layer "$L1" --layer "x:trusted.t=1,f:t=1,f:u=2" >/dev/null
$SKOPEO copy -q --dest-tls-verify=false "oci:$T/img-tr:t" "docker://$REG/t/tr:t" || exit 1
unpack "docker://$REG/t/tr:t" "$T/tr"
check "refused xattr: one warning" test "$(grep -c 'refusing xattr trusted.t' "$T/tr.log")" -eq 1
# a staged layer that takes long (600 MB of zeros, under 1 MiB of gzip)
# heeds the command timeout too: the turn that waits for it is not held up
mkimage "$T/img-bomb:t" --layer "r:big/w=4000000" --layer "z:bomb=600000000" >/dev/null
$SKOPEO copy -q --dest-tls-verify=false "oci:$T/img-bomb:t" "docker://$REG/t/bomb:t" || exit 1
t0=$EPOCHREALTIME
unpack "docker://$REG/t/bomb:t" "$T/bomb" --command-timeout 500ms; rc=$?
el=$(echo "$EPOCHREALTIME - $t0" | bc)
# An idle machine may stage and apply it all in time (exit 0: seen once in
# CI with a 1 s timeout); otherwise exit 1 with the timeout's own message.
# Either way the deadline holds (the next check).
check "timeout while a bomb is staged: done in time, or exit 1 with the timeout's message" \
    sh -c "[ $rc -eq 0 ] || { [ $rc -eq 1 ] && grep -q 'past its command timeout' $T/bomb.log; } ||
           { echo \"exit $rc\"; tail -5 $T/bomb.log; exit 1; }"
check "timeout while a bomb is staged: stops within 2.5 s (took ${el}s)" \
    test "$(echo "$el < 2.5" | bc)" -eq 1
rm -f "$T/bomb.log"
check "cancelled while staging: nothing left" sh -c "
    ! \"$COCO_IMG\" unpack -q --command-timeout 300ms --tls-verify=false docker://$REG/t/plain:t $T/to 2>/dev/null &&
    test ! -e $T/to && test -z \"\$(ls -A $T | grep -F .coco-unpack-)\""
finish
