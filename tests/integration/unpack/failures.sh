#!/bin/bash
# Bad images and bad destinations: the right exit status, a one-line
# message naming the object, and no rootfs (nor staging directory) left.
. "$TOP_SRCDIR/tests/lib/common.sh"
RAW="$PY $TOP_SRCDIR/tests/integration/unpack/rawimage.py"
L1='d:etc,f:etc/a=a,r:etc/big=300000'
L2='f:etc/b=b'
mkimage "$T/good:t" --layer "$L1" --layer "$L2" >/dev/null

nothing_left() { [ ! -e "$1" ] && ! ls -a "$(dirname "$1")" | grep -q coco-unpack; }
unpack_rc() { # RC IMAGE ROOTFS [args]
    want=$1; shift
    "$COCO_IMG" unpack -q "$@" 2>"$T/err"; rc=$?
    cat "$T/err"
    [ "$rc" -eq "$want" ] || { echo "exit $rc, wanted $want"; return 1; }
    [ "$(wc -l < "$T/err")" -le 1 ] || { echo "more than one line"; return 1; }
}

# corrupted blob (bytes changed, digest in the manifest unchanged)
cp -r "$T/good" "$T/corrupt"
blob=$($PY -c "import json;m=json.load(open('$T/good/index.json'))['manifests'][0]['digest'][7:];print(json.load(open('$T/good/blobs/sha256/'+m))['layers'][1]['digest'][7:])")
printf '\x00' | dd of="$T/corrupt/blobs/sha256/$blob" bs=1 seek=20 conv=notrunc 2>/dev/null
check "corrupted blob: exit 1" unpack_rc 1 "oci:$T/corrupt:t" "$T/r1"
check "corrupted blob: names the layer" grep -q "sha256:$blob" "$T/err"
check "corrupted blob: nothing left" nothing_left "$T/r1"

# truncated blob
cp -r "$T/good" "$T/trunc"
truncate -s -7 "$T/trunc/blobs/sha256/$blob"
check "truncated blob: exit 1" unpack_rc 1 "oci:$T/trunc:t" "$T/r2"
check "truncated blob: nothing left" nothing_left "$T/r2"

# a layer whose bytes changed and whose digest was rewritten: the diff_id
# in the config catches it
mkimage "$T/retarget:t" --compress none --layer "$L1" --layer "$L2" >/dev/null
$RAW --tamper-layer "$T/retarget:t" 0 3000
check "tampered + re-digested layer: exit 1" unpack_rc 1 "oci:$T/retarget:t" "$T/r3"
check "tampered: caught by diff_id" grep -q "diff_id mismatch" "$T/err"
check "tampered: nothing left" nothing_left "$T/r3"

# wrong diff_id in the config
$RAW "$T/badid:t" scenario:nodes scenario:dotdot --bad-diff-id 1 >/dev/null
check "wrong diff_id: exit 1" unpack_rc 1 "oci:$T/badid:t" "$T/r4"
check "wrong diff_id: message" grep -q "diff_id mismatch" "$T/err"
check "wrong diff_id: nothing left" nothing_left "$T/r4"

# missing blob
cp -r "$T/good" "$T/missing"; rm "$T/missing/blobs/sha256/$blob"
check "missing blob: exit 1" unpack_rc 1 "oci:$T/missing:t" "$T/r5"
check "missing blob: nothing left" nothing_left "$T/r5"

# destinations
mkdir -p "$T/full"; echo x > "$T/full/keep"
check "non-empty rootfs: exit 2" unpack_rc 2 "oci:$T/good:t" "$T/full"
check "non-empty rootfs untouched" test "$(ls "$T/full")" = keep
echo x > "$T/afile"
check "rootfs is a file: exit 2" unpack_rc 2 "oci:$T/good:t" "$T/afile"
mkdir -p "$T/empty"
check "empty rootfs dir is fine" unpack_rc 0 "oci:$T/good:t" "$T/empty"
check "content" test "$(cat "$T/empty/etc/b")" = b
check "new rootfs in new parent" unpack_rc 0 "oci:$T/good:t" "$T/new/parent/rootfs"
check "bad reference: exit 2" unpack_rc 2 "oci:" "$T/r6"
check "no such image: exit 1" unpack_rc 1 "oci:$T/nonexistent:t" "$T/r7"
check "usage: exit 2" unpack_rc 2 "oci:$T/good:t"

# encrypted layers and no key: exit 4 before anything is written
openssl genrsa -out "$T/priv.pem" 2048 2>/dev/null
openssl rsa -in "$T/priv.pem" -pubout -out "$T/pub.pem" 2>/dev/null
if $SKOPEO copy -q --encryption-key "jwe:$T/pub.pem" "oci:$T/good:t" "oci:$T/enc:t" 2>"$T/skopeo.err"; then
    check "encrypted, no key: exit 4" unpack_rc 4 "oci:$T/enc:t" "$T/r8"
    check "encrypted, no key: nothing left" nothing_left "$T/r8"
else
    cat "$T/skopeo.err"; check "skopeo encrypt" false
fi
finish
