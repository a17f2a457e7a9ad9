#!/bin/bash
# Encryption through a registry (docker-registry on loopback): coco-img
# encrypts on the way to the registry, skopeo pulls and decrypts; skopeo
# pushes an encrypted image, coco-img pulls and decrypts; and a plain
# copy with --decryption-key / --encryption-key.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/integration/crypt/crypt_lib.sh"
cd "$T" || exit 1
make_keys
start_registry C || exit 1
R=$REG_C

mkimage "$T/src:v1" --layer "f:etc/a=alpha,r:bin/big=200000" --layer "f:etc/b=beta" --compress gzip >/dev/null

check "coco-img encrypts to the registry" "$COCO_IMG" encrypt -q --dest-tls-verify=false oci:src:v1 \
    "docker://$R/crypt/a:enc" --encryption-key "jwe:$K/rsa.pub" --encryption-key "jwe:$K/ec.pub"
check "skopeo pulls and decrypts (ec)" $SKOPEO copy -q --src-tls-verify=false --decryption-key "$K/ec.pem" \
    "docker://$R/crypt/a:enc" oci:sk-dec:v1
check "layers identical (skopeo)" same_layers src:v1 sk-dec:v1
check "coco-img decrypts from the registry" "$COCO_IMG" decrypt -q --src-tls-verify=false \
    "docker://$R/crypt/a:enc" oci:cc-dec:v1 --decryption-key "$K/rsa.pem"
check "layers identical (coco-img)" same_layers src:v1 cc-dec:v1

check "skopeo encrypts to the registry" $SKOPEO copy -q --dest-tls-verify=false \
    --encryption-key "pkcs7:$K/rsa2.crt" oci:src:v1 "docker://$R/crypt/b:enc"
check "coco-img decrypts registry to registry" "$COCO_IMG" decrypt -q --tls-verify=false \
    "docker://$R/crypt/b:enc" "docker://$R/crypt/b:plain" --decryption-key "$K/rsa2.pem" --decryption-key "$K/rsa2.crt"
check "skopeo reads the decrypted image" $SKOPEO copy -q --src-tls-verify=false "docker://$R/crypt/b:plain" oci:b-plain:v1
check "layers identical (registry)" same_layers src:v1 b-plain:v1
check "wrong key from the registry: exit 4" expect_rc 4 "$COCO_IMG" decrypt -q --src-tls-verify=false \
    "docker://$R/crypt/b:enc" oci:b-wrong:v1 --decryption-key "$K/ec.pem"
check "wrong key: nothing written" absent "$T/b-wrong"
check "copy --decryption-key decrypts" "$COCO_IMG" copy -q --src-tls-verify=false --decryption-key "$K/rsa.pem" \
    "docker://$R/crypt/a:enc" oci:copy-dec:v1
check "copy: layers identical" same_layers src:v1 copy-dec:v1

# Adding a recipient needs the layer key: without a decryption key that
# opens the layers, exit 4 and nothing at all reaches the destination
# repository (no blob, no manifest, no tag).
RD="$T/registry-C/data/docker/registry/v2/repositories"
add_nokey() {
    "$COCO_IMG" encrypt -q --tls-verify=false "docker://$R/crypt/a:enc" \
        "docker://$R/crypt/added:v1" --encryption-key "jwe:$K/rsa2.pub" 2>"$T/add.err"
}
check "add recipient without the key: exit 4" expect_rc 4 add_nokey
check "add recipient without the key: the message says why" \
    grep "cannot add recipients to already encrypted layer sha256:" "$T/add.err"
check "add recipient without the key: nothing written" absent "$RD/crypt/added"
check "add recipient with a wrong key: exit 4" expect_rc 4 "$COCO_IMG" encrypt -q --tls-verify=false \
    "docker://$R/crypt/a:enc" "docker://$R/crypt/added:v1" --encryption-key "jwe:$K/rsa2.pub" \
    --decryption-key "$K/rsa2.pem"
check "add recipient with a wrong key: nothing written" absent "$RD/crypt/added"
check "add recipient with the key" "$COCO_IMG" encrypt -q --tls-verify=false \
    "docker://$R/crypt/a:enc" "docker://$R/crypt/added:v1" --encryption-key "jwe:$K/rsa2.pub" \
    --decryption-key "$K/rsa.pem"
check "the new recipient opens it (skopeo)" $SKOPEO copy -q --src-tls-verify=false \
    --decryption-key "$K/rsa2.pem" "docker://$R/crypt/added:v1" oci:added-dec:v1
check "the new recipient: layers identical" same_layers src:v1 added-dec:v1

finish
