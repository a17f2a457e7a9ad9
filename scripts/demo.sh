#!/bin/bash
# End-to-end demo on a fresh Debian 12 machine: install dependencies, build,
# start a loopback registry, then encrypt, sign, verify, pull + decrypt and
# unpack an image with coco-img.  Everything lives in a temporary directory
# that is removed at the end (KEEP=1 keeps it).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== install dependencies and build"
scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
COCO=$PWD/build/cli/coco-img

W=$(mktemp -d /tmp/coco-demo.XXXXXX)
REGPID=""
cleanup() {
	[ -n "$REGPID" ] && kill "$REGPID" 2>/dev/null || true
	if [ -z "${KEEP:-}" ]; then rm -rf "$W"; else echo "kept $W"; fi
}
trap cleanup EXIT

echo "== start docker-registry on 127.0.0.1"
cat > "$W/registry.yml" <<EOF
version: 0.1
log: {level: info}
storage: {filesystem: {rootdirectory: $W/registry}}
http: {addr: 127.0.0.1:0}
EOF
docker-registry serve "$W/registry.yml" > "$W/registry.log" 2>&1 &
REGPID=$!
for _ in $(seq 100); do grep -q 'listening on' "$W/registry.log" && break; sleep 0.1; done
REG=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$W/registry.log" | head -1 | sed 's/listening on //')
echo "registry at $REG"
IMG="docker://$REG/demo/app:v1"

echo "== make a small OCI image and keys"
/usr/bin/python3 tests/lib/mkimage.py "$W/src:v1" \
	--layer 'd:etc,f:etc/motd=hello from a confidential container\n,d:app,r:app/model.bin=1048576' >/dev/null
openssl genrsa -out "$W/layer-key.pem" 3072 2>/dev/null
openssl rsa -in "$W/layer-key.pem" -pubout -out "$W/layer-key.pub" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out "$W/sign.key"
openssl pkey -in "$W/sign.key" -pubout -out "$W/sign.pub"

echo "== encrypt and push: coco-img encrypt"
"$COCO" encrypt --quiet --dest-tls-verify=false --encryption-key "jwe:$W/layer-key.pub" \
	"oci:$W/src:v1" "$IMG"

echo "== sign (cosign format): coco-img sign"
"$COCO" sign --tls-verify=false --key "$W/sign.key" "$IMG"

echo "== verify against a policy: coco-img verify"
mkdir -p "$W/registries.d"
printf 'default-docker:\n  use-sigstore-attachments: true\n' > "$W/registries.d/default.yaml"
cat > "$W/policy.json" <<EOF
{"default": [{"type": "reject"}],
 "transports": {"docker": {"$REG/demo": [{"type": "sigstoreSigned", "keyPath": "$W/sign.pub",
   "signedIdentity": {"type": "matchRepository"}}]}}}
EOF
"$COCO" verify --tls-verify=false --policy "$W/policy.json" --registries.d "$W/registries.d" "$IMG"

echo "== pull and decrypt into an OCI layout: coco-img copy --decryption-key"
"$COCO" copy --quiet --src-tls-verify=false --decryption-key "$W/layer-key.pem" "$IMG" "oci:$W/plain:v1"
"$COCO" inspect "oci:$W/plain:v1" | head -20

echo "== verify + pull + decrypt + unpack in one streaming pass: coco-img unpack"
"$COCO" unpack --quiet --tls-verify=false --policy "$W/policy.json" --registries.d "$W/registries.d" \
	--decryption-key "$W/layer-key.pem" "$IMG" "$W/rootfs"
echo "rootfs:"; (cd "$W/rootfs" && find . | sort | sed 's/^/  /')
echo "motd: $(cat "$W/rootfs/etc/motd")"
echo "== demo finished: all steps succeeded"
