# Shared setup of the trust-broker integration tests (resources.sh,
# kbs_unpack.sh, cdh_unpack.sh under tests/integration/broker), sourced
# after common.sh; everything is made in $T.

# broker_registry: a docker-registry with TLS and basic auth (alice:s3cret)
# at $R, its CA in $T/certs, its log $REGLOG; $SK: skopeo's flags to push.
broker_registry() {
    start_registry B tls htpasswd || return 1
    R=$REG_B
    mkdir -p "$T/certs" && cp "$T/ca/ca.crt" "$T/certs/"
    REGLOG="$T/registry-B/log"
    SK="--dest-cert-dir $T/certs --dest-creds alice:s3cret"
}

# broker_images: the KEK kek.bin and a cosign key pair (cosign.key/.pub);
# the OCI layouts src (plaintext), enc (encrypted for
# kbs:///default/key/app1) and lost (for kbs:///default/key/gone, a kid
# nobody has); enc and lost pushed to $R/app, enc signed with cosign.key.
broker_images() {
    head -c 32 /dev/urandom > kek.bin
    openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null |
        openssl pkcs8 -topk8 -nocrypt -out cosign.key
    openssl pkey -in cosign.key -pubout -out cosign.pub
    mkimage "$T/src:v1" --layer "f:etc/a=alpha,r:bin/big=150000" --layer "f:etc/b=beta" \
        --compress gzip >/dev/null
    for i in enc:app1 lost:gone; do
        "$COCO_IMG" encrypt -q oci:src:v1 "oci:${i%%:*}:v1" \
            --encryption-key "coco:kbs:///default/key/${i#*:}:$T/kek.bin" || return 1
        $SKOPEO copy -q $SK "oci:${i%%:*}:v1" "docker://$R/app/${i%%:*}:v1" || return 1
    done
    "$COCO_IMG" sign -q --cert-dir "$T/certs" --creds alice:s3cret --key cosign.key \
        "docker://$R/app/enc:v1"
}

# broker_resource_tree DIR: the resources as files under DIR/default/: the
# policy security-policy/test (images under $R/app signed with
# cosign.pub), cosign-public-key/test, the registries.d file
# sigstore-config/test, the credentials credential/test, the KEK
# key/app1.  $BROKER_ALL: the unpack flags naming the first four.
broker_resource_tree() {
    _d=$1/default
    mkdir -p "$_d/security-policy" "$_d/cosign-public-key" "$_d/sigstore-config" \
        "$_d/credential" "$_d/key"
    printf '{"default":[{"type":"reject"}],"transports":{"docker":{"%s/app":[{"type":"sigstoreSigned","keyPath":"kbs:///default/cosign-public-key/test","signedIdentity":{"type":"matchRepository"}}]}}}\n' "$R" > "$_d/security-policy/test"
    cp cosign.pub "$_d/cosign-public-key/test"
    printf 'docker:\n  %s:\n    use-sigstore-attachments: true\n' "$R" > "$_d/sigstore-config/test"
    printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$R" "$(printf alice:s3cret | base64)" > "$_d/credential/test"
    cp kek.bin "$_d/key/app1"
}
BROKER_ALL="--policy kbs:///default/security-policy/test --authfile kbs:///default/credential/test --registries.d kbs:///default/sigstore-config/test"
