#!/bin/bash
# skopeo 1.9.3 encrypts (JWE RSA/EC, PKCS7, several recipients, one layer,
# gzip and zstd), coco-img decrypts; the layers come back byte-identical.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/integration/crypt/crypt_lib.sh"
cd "$T" || exit 1
make_keys

mkimage "$T/src:v1" --layer "f:etc/a=alpha,r:bin/big=300000" --layer "f:etc/b=beta" \
    --layer "d:var,f:var/c=gamma" --compress gzip >/dev/null
mkimage "$T/zsrc:v1" --layer "f:z/a=zeta,r:z/r=50000" --layer "f:z/b=eta" --compress zstd >/dev/null

sk_enc() { # SRC DST RECIPIENT... [--encrypt-layer N]
    _s=$1; _d=$2; shift 2
    $SKOPEO copy -q "$@" "oci:$_s" "oci:$_d" >/dev/null
}

# 1. JWE RSA
check "skopeo encrypts jwe rsa" sk_enc src:v1 enc-rsa:v1 --encryption-key "jwe:$K/rsa.pub"
check "all layers encrypted" expect_encrypted enc-rsa:v1 3
check "coco-img decrypts jwe rsa" "$COCO_IMG" decrypt -q oci:enc-rsa:v1 oci:dec-rsa:v1 --decryption-key "$K/rsa.pem"
check "rsa layers identical" same_layers src:v1 dec-rsa:v1

# 2. JWE EC (SEC1 PEM works for coco-img even though skopeo cannot read it)
check "skopeo encrypts jwe ec" sk_enc src:v1 enc-ec:v1 --encryption-key "jwe:$K/ec.pub"
check "coco-img decrypts jwe ec (SEC1)" "$COCO_IMG" decrypt -q oci:enc-ec:v1 oci:dec-ec:v1 --decryption-key "$K/ec.sec1.pem"
check "ec layers identical" same_layers src:v1 dec-ec:v1
check "skopeo encrypts jwe ec p-384" sk_enc src:v1 enc-ec384:v1 --encryption-key "jwe:$K/ec384.pub"
check "coco-img decrypts jwe ec p-384" "$COCO_IMG" decrypt -q oci:enc-ec384:v1 oci:dec-ec384:v1 --decryption-key "$K/ec384.pem"
check "p-384 layers identical" same_layers src:v1 dec-ec384:v1

# 3. PKCS7: key + certificate
check "skopeo encrypts pkcs7" sk_enc src:v1 enc-p7:v1 --encryption-key "pkcs7:$K/rsa2.crt"
check "coco-img decrypts pkcs7" "$COCO_IMG" decrypt -q oci:enc-p7:v1 oci:dec-p7:v1 \
    --decryption-key "$K/rsa2.pem" --decryption-key "$K/rsa2.crt"
check "pkcs7 layers identical" same_layers src:v1 dec-p7:v1

# 4. several recipients and schemes on one layer: each key alone opens it
check "skopeo encrypts for rsa+rsa2+ec+pkcs7" sk_enc src:v1 enc-multi:v1 \
    --encryption-key "jwe:$K/rsa.pub" --encryption-key "jwe:$K/rsa2.pub" \
    --encryption-key "jwe:$K/ec.pub" --encryption-key "pkcs7:$K/rsa2.crt"
for k in rsa.pem rsa2.pem ec.pem; do
    check "multi: decrypt with $k" "$COCO_IMG" decrypt -q oci:enc-multi:v1 "oci:dec-multi-$k:v1" --decryption-key "$K/$k"
    check "multi: $k layers identical" same_layers src:v1 "dec-multi-$k:v1"
done

# 5. only the last layer
check "skopeo encrypts layer -1" sk_enc src:v1 enc-last:v1 --encryption-key "jwe:$K/rsa.pub" --encrypt-layer -1
check "one layer encrypted" expect_encrypted enc-last:v1 1
check "coco-img decrypts the last layer" "$COCO_IMG" decrypt -q oci:enc-last:v1 oci:dec-last:v1 --decryption-key "$K/rsa.pem"
check "last-layer image identical" same_layers src:v1 dec-last:v1

# 6. zstd layers
check "skopeo encrypts zstd" sk_enc zsrc:v1 enc-z:v1 --encryption-key "jwe:$K/rsa.pub"
check "zstd+encrypted media type" grep_layers enc-z:v1 "tar+zstd+encrypted"
check "coco-img decrypts zstd" "$COCO_IMG" decrypt -q oci:enc-z:v1 oci:dec-z:v1 --decryption-key "$K/rsa.pem"
check "zstd layers identical" same_layers zsrc:v1 dec-z:v1

# 7. the JSON report
check "json report" sh -c "'$COCO_IMG' decrypt --output json oci:enc-rsa:v1 oci:dec-json:v1 --decryption-key '$K/rsa.pem' | grep -q '\"action\": *\"decrypt\"'"

finish
