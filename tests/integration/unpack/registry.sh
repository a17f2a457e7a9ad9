#!/bin/bash
# Pull from a loopback registry: parallel downloads (spooled in order),
# the same tree as from the layout, encrypted images, and a policy that
# rejects the image before any layer is fetched.
. "$TOP_SRCDIR/tests/lib/common.sh"
CANON="$PY $TOP_SRCDIR/tests/integration/unpack/canon.py"
start_registry r || exit 1
REG=$REG_r
layers=()
for i in 1 2 3 4 5 6; do layers+=(--layer "d:l$i,f:l$i/f=$i,r:l$i/big=$((i * 150000)),f:shared=$i,f:.wh.l$((i - 1))"); done
mkimage "$T/img:t" "${layers[@]}" >/dev/null
$SKOPEO copy -q --dest-tls-verify=false "oci:$T/img:t" "docker://$REG/test/img:t" || exit 1
"$COCO_IMG" unpack -q "oci:$T/img:t" "$T/ref" || exit 1
$CANON "$T/ref" > "$T/ref.txt"

if "$COCO_IMG" unpack -q --tls-verify=false "docker://$REG/test/img:t" "$T/probe" 2>&1 | grep -q "not supported by this build"; then
    echo "# SKIP: this build has no registry support yet"
    finish; exit
fi
same_tree() { # ROOTFS args...
    r=$1; shift
    "$COCO_IMG" unpack -q --tls-verify=false "$@" "$r" || return 1
    $CANON "$r" > "$T/got.txt"; diff -u "$T/ref.txt" "$T/got.txt"
}
check "pull, parallel 3"  same_tree "$T/p3" --parallel 3 "docker://$REG/test/img:t"
check "pull, parallel 1"  same_tree "$T/p1" --parallel 1 "docker://$REG/test/img:t"
check "pull, parallel 8"  same_tree "$T/p8" --parallel 8 "docker://$REG/test/img:t"
check "pull by digest"    same_tree "$T/pd" "docker://$REG/test/img@$(json_get "$T/img/index.json" "j['manifests'][0]['digest']")"
export TMPDIR="$T/spool"; mkdir -p "$TMPDIR"
check "spool dir left empty" sh -c "\"$COCO_IMG\" unpack -q --tls-verify=false docker://$REG/test/img:t $T/ps && [ -z \"\$(ls -A $T/spool)\" ]"
unset TMPDIR
# layers under 1 MiB are fetched ahead into memory and applied on the
# caller's thread: no spool file (an unusable TMPDIR does not matter), and
# no thread but the downloads ahead (one per later layer at most)
check "small layers: no spool directory needed" sh -c "TMPDIR=$T/no/such/dir \"$COCO_IMG\" unpack --tls-verify=false docker://$REG/test/img:t $T/nt > $T/nt.out 2>&1 && ! grep -q spool $T/nt.out"
if command -v strace >/dev/null; then
    # (LeakSanitizer cannot run under ptrace: off for this one run)
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
        strace -f -qq -e trace=clone,clone3 -o "$T/clone.out" "$COCO_IMG" unpack -q --tls-verify=false \
        "docker://$REG/test/img:t" "$T/ct" || exit 1
    check "small layers: at most one thread per layer (the downloads ahead)" \
        test "$(grep -cE 'clone3?\(' "$T/clone.out")" -le 6
fi

openssl genrsa -out "$T/priv.pem" 2048 2>/dev/null
openssl rsa -in "$T/priv.pem" -pubout -out "$T/pub.pem" 2>/dev/null
$SKOPEO copy -q --dest-tls-verify=false --encryption-key "jwe:$T/pub.pem" "oci:$T/img:t" "docker://$REG/test/enc:t"
if "$COCO_IMG" unpack -q --tls-verify=false --decryption-key "$T/priv.pem" "docker://$REG/test/enc:t" "$T/eprobe" 2>&1 |
        grep -q -e "cannot decrypt" -e "no decryption key was given"; then
    echo "# SKIP encrypted pull: no layer decryption yet"
else
    check "encrypted pull equals plain" sh -c "$CANON $T/eprobe > $T/e.txt && diff -u $T/ref.txt $T/e.txt"
fi

echo '{"default":[{"type":"reject"}]}' > "$T/reject.json"
: > "$T/registry-r/log.mark"; lines=$(wc -l < "$T/registry-r/log")
"$COCO_IMG" unpack -q --tls-verify=false --policy "$T/reject.json" "docker://$REG/test/img:t" "$T/pol" 2>"$T/err"; rc=$?
cat "$T/err"
if grep -q "not available in this build" "$T/err"; then
    echo "# SKIP policy: no trust policy support yet"
else
    check "policy reject: exit 3" test "$rc" -eq 3
    check "policy reject: no layer fetched" sh -c "! tail -n +$((lines + 1)) $T/registry-r/log | grep -q 'GET.*/blobs/'"
    check "policy reject: nothing left" test ! -e "$T/pol"
fi
finish
