#!/bin/bash
# Bounded memory: unpacking an image with a large layer (256 MiB here to
# keep CI fast; the bound does not depend on the size, see bench/ for the
# 1 GiB run) peaks well under 64 MiB resident, plain and encrypted.
. "$TOP_SRCDIR/tests/lib/common.sh"
RAW="$PY $TOP_SRCDIR/tests/integration/unpack/rawimage.py"
SIZE_MB=${UNPACK_MEM_MB:-256}
mkdir -p "$T/src/data"
yes 'a line of layer data for the memory test, compressible' | head -c $((SIZE_MB - 16))M > "$T/src/data/big"
head -c 16M /dev/urandom > "$T/src/data/random"
tar -C "$T/src" -cf "$T/layer.tar" data
$RAW "$T/img:t" --level 1 "$T/layer.tar" >/dev/null
rm -rf "$T/src" "$T/layer.tar"

rss_kb() { # IMAGE ROOTFS [args]: run under /usr/bin/time, print max RSS (KiB)
    /usr/bin/time -f %M -o "$T/rss" "$COCO_IMG" unpack -q "$@" || return 1
    cat "$T/rss"
}
under_64m() {
    kb=$(rss_kb "$@") || return 1
    echo "max RSS ${kb} KiB"
    [ "$kb" -lt 65536 ]
}
check "plain ${SIZE_MB} MiB layer under 64 MiB RSS" under_64m "oci:$T/img:t" "$T/r1"
check "content intact" test "$(stat -c %s "$T/r1/data/big")" -eq $(((SIZE_MB - 16) * 1048576))
rm -rf "$T/r1"
openssl genrsa -out "$T/priv.pem" 2048 2>/dev/null
openssl rsa -in "$T/priv.pem" -pubout -out "$T/pub.pem" 2>/dev/null
$SKOPEO copy -q --encryption-key "jwe:$T/pub.pem" "oci:$T/img:t" "oci:$T/enc:t"
if "$COCO_IMG" unpack -q --decryption-key "$T/priv.pem" "oci:$T/enc:t" "$T/probe" 2>&1 | grep -q -e "cannot decrypt" -e "no decryption key was given"; then
    echo "# SKIP encrypted: this build has no layer decryption yet"
else
    rm -rf "$T/probe"
    check "encrypted ${SIZE_MB} MiB layer under 64 MiB RSS" under_64m --decryption-key "$T/priv.pem" "oci:$T/enc:t" "$T/r2"
fi
finish
