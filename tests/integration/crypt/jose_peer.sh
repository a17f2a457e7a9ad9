#!/bin/bash
# JWE interop and strictness against an independent peer: npm "jose"
# (pinned below, installed by this test outside the source tree, in the
# user's cache directory).  The reference for what must be refused is
# go-jose v4.0.x, the version ocicrypt pins (ocicrypt's go.mod).
#  1. JWEs the peer makes, for every key management algorithm ocicrypt
#     accepts (RSA-OAEP, RSA-OAEP-256, ECDH-ES+A128KW/A192KW/A256KW on
#     P-256/384/521) and every content encryption go-jose implements, in
#     flattened, general and compact form, open with coco-img; the
#     ocicrypt test vector's layer decrypts to its known plaintext.
#  2. What coco-img writes (flattened JSON, one JWE per recipient) opens
#     with the peer under ocicrypt's algorithm list and gives the layer's
#     private options.
#  3. The strictness cases: a crit header and ECDH-ES direct key agreement
#     are refused by both; a general JWE with a PBES2 recipient next to a
#     matching one is refused by coco-img as by go-jose v4 (which checks
#     every recipient's algorithm while parsing) while the peer, which
#     tries recipients one by one, opens it through the matching one.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/integration/crypt/crypt_lib.sh"
cd "$T" || exit 1
make_keys
openssl ecparam -name secp521r1 -genkey -noout -out "$K/ec521.sec1.pem" 2>/dev/null
openssl ec -in "$K/ec521.sec1.pem" -pubout -out "$K/ec521.pub" 2>/dev/null
cp "$K/ec521.sec1.pem" "$K/ec521.pem"

JOSE_VERSION=6.2.17
JOSE_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/coco-img-tests/npm-jose-$JOSE_VERSION
install_jose() {
    [ -f "$JOSE_DIR/node_modules/jose/package.json" ] && return 0
    mkdir -p "$(dirname "$JOSE_DIR")" || return 1
    _tmp=$(mktemp -d "$JOSE_DIR.tmp.XXXXXX") || return 1
    npm install --prefix "$_tmp" --no-audit --no-fund --silent "jose@$JOSE_VERSION" >&2 &&
        { mv -T "$_tmp" "$JOSE_DIR" 2>/dev/null || [ -f "$JOSE_DIR/node_modules/jose/package.json" ]; }
    _rc=$?
    rm -rf "$_tmp"
    return $_rc
}
command -v node >/dev/null && command -v npm >/dev/null || { echo "node and npm are needed"; exit 1; }
install_jose || { echo "cannot install npm jose@$JOSE_VERSION"; exit 1; }
export JOSE_MODULE=$JOSE_DIR/node_modules/jose
check "peer: npm jose $JOSE_VERSION" test "$(json_get "$JOSE_MODULE/package.json" 'j["version"]')" = "$JOSE_VERSION"
PEER="node $TOP_SRCDIR/tests/integration/crypt/jose_peer.mjs"
PLAIN_DIGEST=sha256:805b8cb8bbd621c586b09aadc6313b06b298e79fc4dc7b42952b19de15539ccf

# 1 + 3: the peer's JWEs around the ocicrypt vector's private options
$PEER produce "$K" "$V/privopts.json" > "$T/jose.jsonl" || exit 1
"$PY" "$TOP_SRCDIR/tests/integration/crypt/gen_jwe.py" "$K" "$V" "$T/jp" --variants "$T/jose.jsonl" \
    > "$T/jp.list" || exit 1
check "peer made every variant" test "$(wc -l < "$T/jp.list")" -eq "$(wc -l < "$T/jose.jsonl")"
# the JWE of a tag, as the peer wrote it
jwe_of() { "$PY" -c 'import json,sys
for l in open(sys.argv[1]):
    v = json.loads(l)
    if v["tag"] == sys.argv[2]:
        j = v["jwe"]; print(j if isinstance(j, str) else json.dumps(j))' "$T/jose.jsonl" "$1"; }
while read -r tag key want; do
    if [ "$want" = open ]; then
        check "peer's $tag: coco-img opens it" "$COCO_IMG" decrypt -q "oci:jp:$tag" "oci:d-$tag:v" --decryption-key "$K/$key"
        check "peer's $tag: plaintext layer" grep_layers "d-$tag:v" "$PLAIN_DIGEST"
        continue
    fi
    check "peer's $tag: coco-img refuses it, exit 4" expect_rc 4 "$COCO_IMG" decrypt -q "oci:jp:$tag" "oci:d-$tag:v" --decryption-key "$K/$key"
    check "peer's $tag: nothing written" test ! -e "$T/d-$tag/index.json"
    jwe_of "$tag" > "$T/$tag.jwe"
    case $tag in
    jose-refuse-pbes2)
        check "peer's $tag: the peer opens it through the matching recipient (go-jose v4 does not)" \
            $PEER open "$K/$key" "$T/$tag.jwe";;
    *)
        check "peer's $tag: the peer refuses it too" expect_rc 3 $PEER open "$K/$key" "$T/$tag.jwe";;
    esac
done < "$T/jp.list"
check "refusal names the reason" sh -c "'$COCO_IMG' decrypt -q oci:jp:jose-refuse-crit oci:d-msg:v --decryption-key '$K/rsa.pem' 2>&1 | grep -q crit"

# 2: coco-img's JWEs, opened by the peer
mkimage "$T/src:v1" --layer "f:etc/a=alpha,r:bin/big=100000" --compress gzip >/dev/null
# keys.jwe of the first layer of DIR:TAG -> one JWE per line
jwes_of() { "$PY" - "$1" <<'PY'
import base64, json, sys
d, _, tag = sys.argv[1].partition(":")
idx = json.load(open(d + "/index.json"))
m = [x for x in idx["manifests"] if x.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag][0]
man = json.load(open(d + "/blobs/sha256/" + m["digest"].split(":")[1]))
for jwe in man["layers"][0]["annotations"]["org.opencontainers.image.enc.keys.jwe"].split(","):
    print(base64.b64decode(jwe).decode())
PY
}
# private options the peer got: ocicrypt's fields, a 32-byte key
privopts_ok() {
    "$PY" -c 'import base64, json, sys
p = json.load(sys.stdin)
assert len(base64.b64decode(p["symkey"])) == 32 and p["digest"].startswith("sha256:") and "cipheroptions" in p, p'
}
peer_opens() { # DIR:TAG KEY -> exactly one of coco-img's JWEs opens with KEY
    jwes_of "$1" > "$T/cj.list" && [ -s "$T/cj.list" ] || return 1
    _opened=0
    while read -r _jwe; do
        printf '%s\n' "$_jwe" > "$T/cj.jwe"
        if $PEER open "$K/$2" "$T/cj.jwe" > "$T/cj.plain" 2>/dev/null; then
            privopts_ok < "$T/cj.plain" || return 1
            _opened=$((_opened + 1))
        fi
    done < "$T/cj.list"
    [ "$_opened" -eq 1 ]
}
for r in rsa:rsa.pem ec:ec.pem ec384:ec384.pem ec521:ec521.pem; do
    pubk=${r%%:*}.pub key=${r#*:}
    "$COCO_IMG" encrypt -q oci:src:v1 "oci:cj:$pubk" --encryption-key "jwe:$K/$pubk" >/dev/null || exit 1
    check "coco-img's JWE for $pubk: flattened JSON" sh -c "$(declare -f jwes_of); PY=$PY; jwes_of cj:$pubk | grep -q '\"encrypted_key\"'"
    check "coco-img's JWE for $pubk: the peer opens it" peer_opens "cj:$pubk" "$key"
done
# several recipients: one JWE each (comma-separated in the annotation, as
# ocicrypt reads them); each recipient's key opens exactly one
"$COCO_IMG" encrypt -q oci:src:v1 oci:cj:multi --encryption-key "jwe:$K/rsa.pub" \
    --encryption-key "jwe:$K/ec384.pub" --encryption-key "jwe:$K/rsa2.pub" >/dev/null || exit 1
check "coco-img's JWEs for three recipients: three" test "$(jwes_of cj:multi | wc -l)" -eq 3
for key in rsa.pem ec384.pem rsa2.pem; do
    check "coco-img's JWEs for three recipients: the peer opens one with $key" peer_opens cj:multi "$key"
done
none_opens() {
    jwes_of cj:multi | while read -r _jwe; do
        printf '%s\n' "$_jwe" > "$T/n.jwe"
        $PEER open "$K/ec.pem" "$T/n.jwe" >/dev/null 2>&1; [ $? -eq 3 ] || exit 1
    done
}
check "coco-img's JWEs: a key of no recipient opens none with the peer" none_opens
finish
