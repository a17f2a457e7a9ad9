#!/bin/bash
# Every cap as a context key, set by a runtime (ctxrun: the public API, no
# CLI flags): lowered, each one refuses with a message naming the cap and
# its key, exits with the right status and leaves no ROOTFS behind; a
# malformed or out-of-range value is refused by cocoimg_ctx_set (exit 2).
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/caps.sh"
CTXRUN=$1
CAP_RUN=$CTXRUN
export COCOIMG_RETRY_BASE_MS=10

mkimage "$T/img:t" --layer "f:a=1,f:b=2,f:c=3" --layer "f:d=4" >/dev/null || exit 1
mkimage "$T/bomb:t" --compress gzip --layer "z:bomb=16777216" >/dev/null || exit 1

# ---- manifest: from an OCI layout and from a registry ----
refused "layout manifest over max-manifest-size" 1 man1.out \
    "over the 200-byte cap \(max-manifest-size\)" unpack "oci:$T/img:t" "$T/r" max-manifest-size=200
check "no rootfs after the refusal" test ! -e "$T/r"
start_registry r || exit 1
REG=$REG_r
$SKOPEO copy -q --dest-tls-verify=false "oci:$T/img:t" "docker://$REG/x/img:t" || exit 1
refused "registry manifest over max-manifest-size" 1 man2.out \
    "larger than the 200-byte cap \(max-manifest-size\)" \
    inspect "docker://$REG/x/img:t" max-manifest-size=200 tls-verify=false
check "default max-manifest-size: the registry image unpacks" \
    "$CTXRUN" unpack "docker://$REG/x/img:t" "$T/ok" tls-verify=false

# ---- config ----
refused "config over max-config-size" 1 cfg.out \
    "blob sha256:[0-9a-f]{64}: [0-9]+ bytes, over the 100-byte cap \(max-config-size\)" \
    unpack "oci:$T/img:t" "$T/r" max-config-size=100
check "no rootfs after the config refusal" test ! -e "$T/r"

# ---- signature: a cosign signature layer in the layout ----
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out "$T/ec.pem"
openssl pkey -in "$T/ec.pem" -pubout -out "$T/ec.pub"
"$COCO_IMG" sign -q --key "$T/ec.pem" --sign-identity example.com/app "oci:$T/img:t" >/dev/null || exit 1
printf '{"default":[{"type":"reject"}],"transports":{"oci":{"":[{"type":"sigstoreSigned","keyPath":"%s","signedIdentity":{"type":"exactRepository","dockerRepository":"example.com/app"}}]}}}\n' \
    "$T/ec.pub" > "$T/policy.json"
check "signed image: verifies with the default caps" "$CTXRUN" verify "oci:$T/img:t" "$T/policy.json"
refused "cosign signature over max-signature-size" 1 sig.out \
    "signature layer sha256:[0-9a-f]{64}: [0-9]+ bytes, over the 100-byte cap \(max-signature-size\)" \
    verify "oci:$T/img:t" "$T/policy.json" max-signature-size=100

# ---- signature: a lookaside file ----
mkdir -p "$T/regd" "$T/sigs"
printf 'default-docker:\n  lookaside: file://%s/sigs\n' "$T" > "$T/regd/default.yaml"
D=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG/x/img:t")
mkdir -p "$T/sigs/x/img@${D/:/=}"
head -c 300 /dev/urandom > "$T/sigs/x/img@${D/:/=}/signature-1"
export GNUPGHOME="$T/gnupg"
mkdir -p "$GNUPGHOME" && chmod 700 "$GNUPGHOME"
gpg --batch --passphrase '' --quick-gen-key "Signer <s@example.com>" ed25519 sign never 2>/dev/null
gpg --export s@example.com > "$T/s.gpg"
printf '{"default":[{"type":"reject"}],"transports":{"docker":{"":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"%s"}]}}}\n' \
    "$T/s.gpg" > "$T/gpg-policy.json"
refused "lookaside signature over max-signature-size" 1 look.out \
    "signature-1: 300 bytes, over the 200-byte cap \(max-signature-size\)" \
    verify "docker://$REG/x/img:t" "$T/gpg-policy.json" registries.d="$T/regd" \
    tls-verify=false max-signature-size=200

# ---- token and error body: the hostile registry ----
start_hostile bigtoken
refused "8 KiB token over max-token-size" 1 tok.out \
    "larger than the 4096-byte cap \(max-token-size\)" \
    inspect "docker://$H/x/y:t" tls-verify=false retry-times=0 max-token-size=4K
check "8 KiB token: accepted under the default cap (then refused by the registry)" sh -c "
    timeout 60 '$CTXRUN' inspect 'docker://$H/x/y:t' tls-verify=false retry-times=0 >'$T/tok2.out' 2>&1
    ! grep -q max-token-size '$T/tok2.out' && grep -q 'refused the token' '$T/tok2.out'"
start_hostile chunked500
refused "endless 500 body cut at max-error-body" 1 eb.out \
    "HTTP 500 .*its error body was cut at the 100-byte cap \(max-error-body\)" \
    inspect "docker://$H/x/y:t" tls-verify=false retry-times=0 max-error-body=100

# ---- unpacked bytes, entries, layers ----
refused "gzip bomb over max-layer-size" 1 lay.out \
    "unpacks to more than the per-layer cap of 1048576 bytes \(max-layer-size\)" \
    unpack "oci:$T/bomb:t" "$T/r" max-layer-size=1M
refused "image over max-image-size" 1 img.out \
    "per-image cap of 4194304 bytes \(max-image-size\)" \
    unpack "oci:$T/bomb:t" "$T/r" max-image-size=4M
refused "entries over max-entries" 1 ent.out \
    "more than the cap of 3 entries \(max-entries\)" unpack "oci:$T/img:t" "$T/r" max-entries=3
refused "layers over max-layers" 1 nl.out \
    "2 layers, more than the cap of 1 \(max-layers\)" unpack "oci:$T/img:t" "$T/r" max-layers=1
check "no rootfs and no staging after the refusals" sh -c "test ! -e '$T/r' && ! ls -a '$T' | grep -q coco-unpack"

# ---- values are validated when set ----
for kv in max-manifest-size=2G max-config-size=0 max-signature-size=lots max-token-size=-1 \
          max-error-body=17M max-layer-size=1parsec max-entries=12k max-layers=0 \
          src.max-manifest-size=1M; do
    refused "ctx_set $kv" 2 set.out "max-[a-z-]+ (takes|applies)" inspect "oci:$T/img:t" "$kv"
done
refused "ctx_set: the bound is in the message" 2 bound.out \
    "max-config-size takes a size such as 512K, 4M or 2G from 1 to 1G, not \"2G\"" \
    inspect "oci:$T/img:t" max-config-size=2G
check "an accepted raise works" "$CTXRUN" unpack "oci:$T/img:t" "$T/ok2" max-manifest-size=1G max-config-size=64M
finish
