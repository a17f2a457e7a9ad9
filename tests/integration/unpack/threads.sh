#!/bin/bash
# The "threads" key (a program on the public API, threadrun.c) and the CLI's
# --threads: with threads=1 unpack, copy, encrypt and decrypt start no
# worker thread at all (the process has one thread whenever a progress or
# log callback runs, and every callback runs on the caller's thread), with
# threads=2 at most one; the trees, layouts and reports are the same as
# with the default.  Invalid values are refused with exit 2.
. "$TOP_SRCDIR/tests/lib/common.sh"
TR=$1
CANON="$PY $TOP_SRCDIR/tests/integration/unpack/canon.py"
start_registry r || exit 1
REG=$REG_r
# layers 1, 3: incompressible, about 1.2 MB gzip blobs (streamed); 2, 4: small
L1='r:a/one=600000,r:a/two=600000,f:etc/x=1'
L2='f:etc/y=2,d:var/lib,f:var/lib/z=3'
L3='r:b/one=700000,r:b/two=600000,f:.wh.etc'
L4='f:etc/w=4,h:hl=b/one,l:sl=b/two'
mkimage "$T/plain:t" --layer "$L1" --layer "$L2" --layer "$L3" --layer "$L4" >/dev/null || exit 1
openssl genrsa -out "$T/priv.pem" 2048 2>/dev/null
openssl rsa -in "$T/priv.pem" -pubout -out "$T/pub.pem" 2>/dev/null
$SKOPEO copy -q --encryption-key "jwe:$T/pub.pem" "oci:$T/plain:t" "oci:$T/enc:t" || exit 1
$SKOPEO copy -q --dest-tls-verify=false "oci:$T/plain:t" "docker://$REG/t/plain:t" || exit 1
$SKOPEO copy -q --dest-tls-verify=false "oci:$T/enc:t" "docker://$REG/t/enc:t" || exit 1
PLAIN=docker://$REG/t/plain:t
ENC=docker://$REG/t/enc:t

# tr NAME OP A B KEY=VALUE...: threadrun with its report in $T/NAME.json,
# its counts in $T/NAME.out
tr() {
    _n=$1; shift
    THREADRUN_REPORT="$T/$_n.json" "$TR" "$@" tls-verify=false >"$T/$_n.out" 2>"$T/$_n.err" ||
        { cat "$T/$_n.err"; return 1; }
}
count() { sed -n "s/^$2 //p" "$T/$1.out"; }
one_thread() { # NAME: one task in every callback, all on the caller's thread
    cat "$T/$1.out"
    [ "$(count "$1" callbacks)" -gt 0 ] && [ "$(count "$1" tasks)" -eq 1 ] &&
        [ "$(count "$1" elsewhere)" -eq 0 ]
}
at_most() { cat "$T/$1.out"; [ "$(count "$1" tasks)" -le "$2" ]; }
same_tree() { $CANON "$T/$1" > "$T/$1.txt" && diff -u "$T/ref.txt" "$T/$1.txt"; }
# the reports, without the rootfs path and the layout paths
same_report() {
    $PY - "$T/$1.json" "$T/$2.json" <<'EOF'
import json, sys
def load(p):
    d = json.load(open(p))
    for k in ("rootfs", "destination", "dest", "image", "source", "src"):
        d.pop(k, None)
    return d
a, b = load(sys.argv[1]), load(sys.argv[2])
if a != b:
    print(json.dumps(a, indent=1, sort_keys=True)); print(json.dumps(b, indent=1, sort_keys=True))
    sys.exit(1)
EOF
}

# unpack: plain and encrypted, from the registry
check "unpack, default" tr ref unpack "$PLAIN" "$T/ref"
cat "$T/ref.out"
$CANON "$T/ref" > "$T/ref.txt"
check "unpack threads=1: succeeds" tr u1 unpack "$PLAIN" "$T/u1" threads=1
check "unpack threads=1: one thread in every callback" one_thread u1
check "unpack threads=1: same tree" same_tree u1
check "unpack threads=1: same report" same_report ref u1
check "unpack threads=2: succeeds" tr u2 unpack "$PLAIN" "$T/u2" threads=2
check "unpack threads=2: at most two threads" at_most u2 2
check "unpack threads=2: same tree" same_tree u2
export THREADRUN_KEY=$T/priv.pem
check "unpack encrypted, default" tr eref unpack "$ENC" "$T/eref"
cat "$T/eref.out"
check "unpack encrypted, default: same tree" same_tree eref
check "unpack encrypted threads=1: succeeds" tr e1 unpack "$ENC" "$T/e1" threads=1
check "unpack encrypted threads=1: one thread in every callback" one_thread e1
check "unpack encrypted threads=1: same tree" same_tree e1
check "unpack encrypted threads=1: same report" same_report eref e1
check "unpack encrypted threads=auto parallel=1: same tree" tr ea unpack "$ENC" "$T/ea" threads=auto parallel=1
check "unpack encrypted threads=auto: same tree" same_tree ea
check "unpack encrypted threads=2: succeeds" tr e2 unpack "$ENC" "$T/e2" threads=2
check "unpack encrypted threads=2: at most two threads" at_most e2 2
check "unpack encrypted threads=2: same tree" same_tree e2
check "unpack local layout threads=1" tr l1 unpack "oci:$T/enc:t" "$T/l1" threads=1
check "unpack local layout threads=1: one thread" one_thread l1
check "unpack local layout threads=1: same tree" same_tree l1

# decrypt and copy: the same layouts byte for byte
check "decrypt, default" tr dref decrypt "$ENC" "oci:$T/dref:t"
check "decrypt threads=1" tr d1 decrypt "$ENC" "oci:$T/d1:t" threads=1
check "decrypt threads=1: one thread in every callback" one_thread d1
check "decrypt threads=1: the same layout" diff -r "$T/dref" "$T/d1"
check "decrypt threads=1: same report" same_report dref d1
unset THREADRUN_KEY
check "copy, default" tr cref copy "$ENC" "oci:$T/cref:t"
check "copy threads=1" tr c1 copy "$ENC" "oci:$T/c1:t" threads=1
check "copy threads=1: one thread in every callback" one_thread c1
check "copy threads=1: the same layout" diff -r "$T/cref" "$T/c1"
check "copy threads=1: same report" same_report cref c1
check "copy to the registry threads=1" tr cr1 copy "oci:$T/plain:t" "docker://$REG/t/copy:t" threads=1
check "copy to the registry threads=1: one thread" one_thread cr1

# encrypt: random keys, so the result is checked by unpacking it
export THREADRUN_RECIPIENT=jwe:$T/pub.pem
check "encrypt threads=1" tr x1 encrypt "$PLAIN" "oci:$T/x1:t" threads=1
check "encrypt threads=1: one thread in every callback" one_thread x1
unset THREADRUN_RECIPIENT
check "encrypt threads=1: its layers are encrypted" grep -q 'tar+gzip+encrypted' "$T/x1.json"
check "encrypt threads=1: decrypts to the same tree" \
    "$COCO_IMG" unpack -q --decryption-key "$T/priv.pem" "oci:$T/x1:t" "$T/x1root"
check "encrypt threads=1: same tree" same_tree x1root

# invalid values
for v in -1 x 1.5 '' 1025 ' 1'; do
    check "threads=\"$v\": exit 2" expect_rc 2 "$TR" unpack "$PLAIN" "$T/bad" "threads=$v"
done
"$TR" unpack "$PLAIN" "$T/bad" threads=x 2>"$T/bad.err"
check "threads=x: the message says what is accepted" \
    grep -q 'threads must be "auto", 0 (the default) or a number of threads from 1 to 1024, not "x"' "$T/bad.err"
check "src.threads: refused" expect_rc 2 "$TR" unpack "$PLAIN" "$T/bad" src.threads=1
check "threads=0 is the default" tr z unpack "$PLAIN" "$T/z" threads=0
check "threads=0: same tree" same_tree z

# the CLI's --threads, before or after the command
check "coco-img --threads 1 unpack" "$COCO_IMG" --threads 1 unpack -q --tls-verify=false "$PLAIN" "$T/cli1"
check "coco-img --threads 1 unpack: same tree" same_tree cli1
check "coco-img unpack --threads=1" "$COCO_IMG" unpack -q --tls-verify=false --threads=1 \
    --decryption-key "$T/priv.pem" "$ENC" "$T/cli2"
check "coco-img unpack --threads=1: same tree" same_tree cli2
check "coco-img --threads 1 copy" "$COCO_IMG" --threads 1 copy -q --src-tls-verify=false "$PLAIN" "oci:$T/cli3:t"
check "coco-img --threads x: exit 2" expect_rc 2 "$COCO_IMG" --threads x unpack -q "$PLAIN" "$T/cli4"
"$COCO_IMG" --threads x unpack -q "$PLAIN" "$T/cli4" 2>"$T/cli4.err"
check "coco-img --threads x: names the option" grep -q 'threads' "$T/cli4.err"
check "coco-img --threads x: nothing made" test ! -e "$T/cli4"
finish
