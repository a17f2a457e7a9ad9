#!/bin/bash
# coco-img encrypts (JWE RSA and EC, PKCS7, several recipients at once, one
# layer only, zstd), skopeo 1.9.3 decrypts with each key; the layers come
# back byte-identical.  Also recipient management: adding recipients
# without re-encryption, removing them.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/integration/crypt/crypt_lib.sh"
cd "$T" || exit 1
make_keys

mkimage "$T/src:v1" --layer "f:etc/a=alpha,r:bin/big=300000" --layer "f:etc/b=beta" \
    --layer "d:var,f:var/c=gamma" --compress gzip >/dev/null
mkimage "$T/zsrc:v1" --layer "f:z/a=zeta" --layer "f:z/b=eta" --compress zstd >/dev/null

sk_dec() { # SRC DST KEY...
    _s=$1; _d=$2; shift 2
    _a=""
    for k in "$@"; do _a="$_a --decryption-key $k"; done
    $SKOPEO copy -q $_a "oci:$_s" "oci:$_d" >/dev/null
}

# 1. one recipient per scheme
check "encrypt jwe rsa" "$COCO_IMG" encrypt -q oci:src:v1 oci:e-rsa:v1 --encryption-key "jwe:$K/rsa.pub"
check "3 layers encrypted" expect_encrypted e-rsa:v1 3
check "skopeo decrypts jwe rsa" sk_dec e-rsa:v1 d-rsa:v1 "$K/rsa.pem"
check "rsa: layers identical" same_layers src:v1 d-rsa:v1

check "encrypt jwe ec" "$COCO_IMG" encrypt -q oci:src:v1 oci:e-ec:v1 --recipient "jwe:$K/ec.pub"
check "skopeo decrypts jwe ec (PKCS#8)" sk_dec e-ec:v1 d-ec:v1 "$K/ec.pem"
check "ec: layers identical" same_layers src:v1 d-ec:v1

check "encrypt pkcs7" "$COCO_IMG" encrypt -q oci:src:v1 oci:e-p7:v1 --encryption-key "pkcs7:$K/rsa2.crt"
check "skopeo decrypts pkcs7 (key + cert)" sk_dec e-p7:v1 d-p7:v1 "$K/rsa2.pem" "$K/rsa2.crt"
check "pkcs7: layers identical" same_layers src:v1 d-p7:v1

# 2. several recipients and schemes at once: every key alone works
check "encrypt for rsa, ec, ec384 and pkcs7" "$COCO_IMG" encrypt -q oci:src:v1 oci:e-multi:v1 \
    --encryption-key "jwe:$K/rsa.pub" --encryption-key "jwe:$K/ec.pub" \
    --encryption-key "jwe:$K/ec384.pub" --encryption-key "pkcs7:$K/rsa2.crt"
check "multi: skopeo with rsa" sk_dec e-multi:v1 d-m1:v1 "$K/rsa.pem"
check "multi: skopeo with ec" sk_dec e-multi:v1 d-m2:v1 "$K/ec.pem"
check "multi: skopeo with ec384" sk_dec e-multi:v1 d-m3:v1 "$K/ec384.pem"
check "multi: skopeo with pkcs7" sk_dec e-multi:v1 d-m4:v1 "$K/rsa2.pem" "$K/rsa2.crt"
for i in 1 2 3 4; do check "multi $i: layers identical" same_layers src:v1 "d-m$i:v1"; done

# 3. --encrypt-layer: negative and positive indices
check "encrypt layer -1 and 0" "$COCO_IMG" encrypt -q oci:src:v1 oci:e-sel:v1 --encryption-key "jwe:$K/rsa.pub" \
    --encrypt-layer -1 --encrypt-layer 0
check "2 layers encrypted" expect_encrypted e-sel:v1 2
layers e-sel:v1 > "$T/sel.layers"; layers src:v1 > "$T/src.layers"
check "the middle one is plain" sh -c "[ \"\$(sed -n 2p '$T/sel.layers')\" = \"\$(sed -n 2p '$T/src.layers')\" ]"
check "skopeo decrypts the selection" sk_dec e-sel:v1 d-sel:v1 "$K/rsa.pem"
check "selection: layers identical" same_layers src:v1 d-sel:v1
check "bad layer index: exit 2" expect_rc 2 "$COCO_IMG" encrypt -q oci:src:v1 oci:e-bad:v1 --encryption-key "jwe:$K/rsa.pub" --encrypt-layer 3
check "bad layer index: nothing written" absent "$T/e-bad"

# 4. zstd
check "encrypt zstd" "$COCO_IMG" encrypt -q oci:zsrc:v1 oci:e-z:v1 --encryption-key "jwe:$K/rsa.pub"
check "zstd+encrypted" grep_layers e-z:v1 "tar+zstd+encrypted"
check "skopeo decrypts zstd" sk_dec e-z:v1 d-z:v1 "$K/rsa.pem"
check "zstd: layers identical" same_layers zsrc:v1 d-z:v1

# 5. add a recipient to an encrypted image without re-encrypting
check "add ec recipient with the rsa key" "$COCO_IMG" encrypt -q oci:e-rsa:v1 oci:e-add:v1 \
    --decryption-key "$K/rsa.pem" --encryption-key "jwe:$K/ec.pub"
check "blobs unchanged by adding" same_layers e-rsa:v1 e-add:v1
check "skopeo decrypts with the added ec key" sk_dec e-add:v1 d-add:v1 "$K/ec.pem"
check "skopeo still decrypts with rsa" sk_dec e-add:v1 d-add2:v1 "$K/rsa.pem"
check "add: layers identical" same_layers src:v1 d-add:v1
# images encrypted by skopeo too
$SKOPEO copy -q --encryption-key "jwe:$K/rsa.pub" oci:src:v1 oci:s-rsa:v1 >/dev/null
check "add pkcs7 to a skopeo-encrypted image" "$COCO_IMG" encrypt -q oci:s-rsa:v1 oci:s-add:v1 \
    --decryption-key "$K/rsa.pem" --encryption-key "pkcs7:$K/rsa2.crt"
check "skopeo decrypts with pkcs7" sk_dec s-add:v1 d-sadd:v1 "$K/rsa2.pem" "$K/rsa2.crt"
check "skopeo-add: layers identical" same_layers src:v1 d-sadd:v1
check "adding without a key that opens: exit 4" expect_rc 4 "$COCO_IMG" encrypt -q oci:e-ec:v1 \
    oci:e-noadd:v1 --encryption-key "jwe:$K/rsa2.pub"
check "adding without a key that opens: nothing written" absent "$T/e-noadd"

# 6. remove a recipient
check "remove the rsa recipient" "$COCO_IMG" encrypt -q oci:e-add:v1 oci:e-rm:v1 --remove-recipient "jwe:$K/rsa.pub"
check "removed: skopeo fails with rsa" expect_rc 1 sk_dec e-rm:v1 d-rm1:v1 "$K/rsa.pem"
check "removed: coco-img exit 4 with rsa" expect_rc 4 "$COCO_IMG" decrypt -q oci:e-rm:v1 oci:d-rm2:v1 --decryption-key "$K/rsa.pem"
check "removed: ec still works" sk_dec e-rm:v1 d-rm3:v1 "$K/ec.pem"
check "remove the last recipient: refused" expect_rc 2 "$COCO_IMG" encrypt -q oci:e-rm:v1 oci:e-rm0:v1 --remove-recipient "jwe:$K/ec.pub"
check "multi: remove pkcs7" "$COCO_IMG" encrypt -q oci:e-multi:v1 oci:e-rm7:v1 --remove-recipient "pkcs7:$K/rsa2.crt"
check "pkcs7 annotation gone" sh -c "! grep -rq 'enc.keys.pkcs7' '$T/e-rm7/blobs/sha256/'\$(python3 -c \"import json;print(json.load(open('$T/e-rm7/index.json'))['manifests'][0]['digest'][7:])\")"

finish
