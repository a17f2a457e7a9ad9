#!/bin/bash
# Sigstore bundles attached to images as OCI referrers (cosign v3's layout),
# made by an independent signer, @sigstore/sign (npm, pinned, installed by
# this setup outside the source tree), verified by `coco-img verify
# --policy` with sigstoreSigned key requirements:
#  - Debian's docker-registry 2.8 (no referrers API: the referrers tag
#    schema, written here by tests/lib/referrers_tool.py as cosign does);
#  - a registry double with the referrers API (distribution-spec v1.1.0,
#    tests/integration/registry/referrers_double.py);
#  - an OCI layout (referrer listed in index.json).
# Accepted: DSSE (v0.3) and message-signature bundles by a trusted key.
# Refused, with the failed check named in the JSON verdict: another key
# (signature), a tampered bundle (signature), a bundle of another digest
# (digest), a referrer manifest of another subject listed for the image
# (digest), an attestation that is not an image signature (bundle).
. "$TOP_SRCDIR/tests/lib/common.sh"
RT="$PY $LIB/referrers_tool.py"
BUNDLE_MT=application/vnd.dev.sigstore.bundle.v0.3+json
SIGN_VERSION=4.1.1

# ---- @sigstore/sign, pinned, outside the tree (cached between runs) ----
NPMDIR=${COCO_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/coco-img-tests}/npm-sigstore-sign-$SIGN_VERSION
if [ ! -f "$NPMDIR/node_modules/@sigstore/sign/package.json" ]; then
    mkdir -p "$NPMDIR"
    (cd "$NPMDIR" && timeout 300 npm install --no-audit --no-fund --prefix "$NPMDIR" \
        "@sigstore/sign@$SIGN_VERSION" >"$T/npm.log" 2>&1) || { cat "$T/npm.log"; exit 1; }
fi
check "@sigstore/sign $SIGN_VERSION installed" grep -q "\"version\": \"$SIGN_VERSION\"" \
    "$NPMDIR/node_modules/@sigstore/sign/package.json"
mkbundle() { node "$LIB/sigstore_sign_bundle.js" "$NPMDIR/node_modules" "$@"; }

# ---- keys, images, bundles ----
for k in a b; do
    openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt > "$T/$k.key"
    openssl pkey -in "$T/$k.key" -pubout -out "$T/$k.pub"
done
mkimage "$T/img:v1" --layer "f:a=one" >/dev/null
mkimage "$T/img:v2" --layer "f:a=two" >/dev/null
mkimage "$T/img:v3" --layer "f:a=three" >/dev/null
D1=$(json_get "$T/img/index.json" "[m['digest'] for m in j['manifests'] if m['annotations']['org.opencontainers.image.ref.name']=='v1'][0]")
D2=$(json_get "$T/img/index.json" "[m['digest'] for m in j['manifests'] if m['annotations']['org.opencontainers.image.ref.name']=='v2'][0]")
D3=$(json_get "$T/img/index.json" "[m['digest'] for m in j['manifests'] if m['annotations']['org.opencontainers.image.ref.name']=='v3'][0]")
check "@sigstore/sign: DSSE bundle of v1 by key a" mkbundle "$T/a.key" dsse "$D1" "$T/b1.json"
check "@sigstore/sign: DSSE bundle of v1 by key b" mkbundle "$T/b.key" dsse "$D1" "$T/b1b.json"
check "@sigstore/sign: message signature of v3's manifest by key a" \
    mkbundle "$T/a.key" message "$T/img/blobs/sha256/${D3#sha256:}" "$T/m3.json"
check "@sigstore/sign: an SLSA attestation of v1 by key a" \
    mkbundle "$T/a.key" dsse "$D1" "$T/att.json" https://slsa.dev/provenance/v1
check "bundles are v0.3 (DSSE)" grep -q "\"mediaType\":\"$BUNDLE_MT\"" "$T/b1.json"
# clean copies (no referrers yet) for the API double and the layout cases
cp -r "$T/img" "$T/api"
cp -r "$T/img" "$T/lay"
cp -r "$T/img" "$T/rtlay0"
# tampered: the statement names v2 instead of v1, the signature is v1's
"$PY" - "$T/b1.json" "$T/tampered.json" "$D2" <<'PYEOF'
import base64, json, sys
b = json.load(open(sys.argv[1]))
st = json.loads(base64.b64decode(b["dsseEnvelope"]["payload"]))
st["subject"][0]["digest"]["sha256"] = sys.argv[3].split(":")[1]
b["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(st).encode()).decode()
json.dump(b, open(sys.argv[2], "w"))
PYEOF

start_registry R || exit 1
R=$REG_R
push() { $SKOPEO copy -q --dest-tls-verify=false "oci:$T/img:$1" "docker://$R/$2" >/dev/null; }
push v1 test/app:v1 && push v1 test/keyb:v1 && push v2 test/tampered:v2 && push v2 test/other:v2 &&
    push v3 test/msg:v3 && push v1 test/att:v1 && push v1 test/none:v1 && push v2 test/forged:v2 || exit 1
attach() { # REPO SUBJECT BUNDLE -> attaches through the referrers tag schema
    _m=$($RT make "$T/img" "$2" "$BUNDLE_MT" "$BUNDLE_MT" "$3") && $RT push "$T/img" "$_m" "$R" "$1" --tag
}
attach test/app "$D1" "$T/b1.json"
attach test/keyb "$D1" "$T/b1b.json"
attach test/tampered "$D2" "$T/tampered.json"
attach test/other "$D2" "$T/b1.json"
attach test/msg "$D3" "$T/m3.json"
attach test/att "$D1" "$T/att.json"
# forged: test/forged:v2's referrers tag lists the referrer of v1 (subject D1)
M1=$($RT make "$T/img" "$D1" "$BUNDLE_MT" "$BUNDLE_MT" "$T/b1.json")
$RT push "$T/img" "$M1" "$R" test/forged
"$PY" - "$R" "$M1" "$(wc -c < "$T/img/blobs/sha256/${M1#sha256:}")" "${D2#sha256:}" <<'PYEOF'
import json, sys, urllib.request
reg, dig, size, hexd = sys.argv[1:5]
ix = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
      "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": dig, "size": int(size),
                     "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json"}]}
urllib.request.urlopen(urllib.request.Request(f"http://{reg}/v2/test/forged/manifests/sha256-{hexd}",
    data=json.dumps(ix).encode(), method="PUT", headers={"Content-Type": "application/vnd.oci.image.index.v1+json"}))
PYEOF

mkdir -p "$T/regd"
printf 'docker:\n  %s:\n    use-sigstore-attachments: true\n' "$R" > "$T/regd/sig.yaml"
pol() { # FILE KEY [IDENTITY-JSON]
    printf '{"default":[{"type":"reject"}],"transports":{"docker":{"":[{"type":"sigstoreSigned","keyPath":"%s","signedIdentity":%s}]},"oci":{"":[{"type":"sigstoreSigned","keyPath":"%s"}]},"oci-archive":{"":[{"type":"sigstoreSigned","keyPath":"%s"}]}}}\n' \
        "$2" "${3:-{\"type\":\"matchRepoDigestOrExact\"\}}" "$2" "$2" > "$1"
}
pol "$T/pa.json" "$T/a.pub"
pol "$T/pb.json" "$T/b.pub"
pol "$T/pa-exact.json" "$T/a.pub" '{"type":"exactReference","dockerReference":"registry.example.com/x:y"}'
V="$COCO_IMG verify --tls-verify=false --registries.d $T/regd --output json"

# verdict NAME WANT-RC IMAGE POLICY [FAILED-CHECK]
verdict() {
    v_name=$1 v_want=$2 v_img=$3 v_pol=$4 v_fc=${5:-}
    check "$v_name: exit $v_want" expect_rc "$v_want" sh -c "$V --policy '$v_pol' '$v_img' > '$T/rep.json'"
    check "$v_name: bundle seen" test "$(json_get "$T/rep.json" \
        "len([s for r in j['requirements'] for s in r.get('signatures',[]) if s['format']=='sigstore-bundle'])")" -ge 1
    [ -z "$v_fc" ] && return 0
    check "$v_name: failed_check $v_fc" test "$(json_get "$T/rep.json" \
        "sorted(set(s.get('failed_check') for r in j['requirements'] for s in r.get('signatures',[])))")" = "['$v_fc']"
}
verdict "DSSE bundle, trusted key" 0 "docker://$R/test/app:v1" "$T/pa.json"
check "accepted signature names its source and the digest binding" test "$(json_get "$T/rep.json" \
    "[(s['outcome'], s['source'].endswith('(referrers tag)'), s['identity']) for s in j['requirements'][0]['signatures']]")" \
    = "[('accepted', True, 'digest-bound')]"
verdict "DSSE bundle, by digest" 0 "docker://$R/test/app@$D1" "$T/pa.json"
verdict "signedIdentity is not consulted for a bundle (exactReference elsewhere)" 0 "docker://$R/test/app:v1" "$T/pa-exact.json"
verdict "DSSE bundle, untrusted key" 3 "docker://$R/test/app:v1" "$T/pb.json" signature
verdict "bundle by key b, policy key a" 3 "docker://$R/test/keyb:v1" "$T/pa.json" signature
verdict "bundle by key b, policy key b" 0 "docker://$R/test/keyb:v1" "$T/pb.json"
verdict "tampered bundle" 3 "docker://$R/test/tampered:v2" "$T/pa.json" signature
verdict "bundle of another digest attached" 3 "docker://$R/test/other:v2" "$T/pa.json" digest
verdict "referrer of another subject listed for the image" 3 "docker://$R/test/forged:v2" "$T/pa.json" digest
verdict "message-signature bundle over the manifest" 0 "docker://$R/test/msg:v3" "$T/pa.json"
verdict "attestation (SLSA predicate) is not a signature" 3 "docker://$R/test/att:v1" "$T/pa.json" bundle
check "no bundle: rejected, no signature (exit 3)" expect_rc 3 sh -c "$V --policy '$T/pa.json' 'docker://$R/test/none:v1' > '$T/rep.json'"
check "no bundle: reason no-signature" test "$(json_get "$T/rep.json" "j['requirements'][0]['reason']")" = no-signature
$COCO_IMG verify --tls-verify=false --registries.d "$T/regd" --policy "$T/pa.json" "docker://$R/test/tampered:v2" > "$T/text.out" 2>&1
check "text verdict says which check failed" grep -q "failed check: signature" "$T/text.out"
# legacy .sig and bundle side by side: either may satisfy the requirement
check "legacy signature of test/app:v1 by key b (coco-img sign)" \
    $COCO_IMG sign --tls-verify=false --key "$T/b.key" "docker://$R/test/app:v1"
pol "$T/pb-repo.json" "$T/b.pub" '{"type":"matchRepository"}'
check "key b: accepted through the .sig attachment" expect_rc 0 \
    sh -c "$V --policy '$T/pb-repo.json' 'docker://$R/test/app:v1' > '$T/rep.json'"
check "key b: the legacy signature accepted" test "$(json_get "$T/rep.json" \
    "[(s['format'], s['outcome']) for s in j['requirements'][0]['signatures']]")" = "[('sigstore', 'accepted')]"
pol "$T/pa-repo.json" "$T/a.pub" '{"type":"matchRepository"}'
check "key a: accepted through the bundle" expect_rc 0 \
    sh -c "$V --policy '$T/pa-repo.json' 'docker://$R/test/app:v1' > '$T/rep.json'"
check "key a: the legacy signature (key b) refused, then the bundle accepted" test "$(json_get "$T/rep.json" \
    "[(s['format'], s['outcome']) for s in j['requirements'][0]['signatures']]")" \
    = "[('sigstore', 'rejected'), ('sigstore-bundle', 'accepted')]"
# round trip: what `coco-img sign --bundle-format=v3` writes (cosign v3's
# layout) is found and accepted
push v2 test/rt:v2 || exit 1
check "coco-img sign --bundle-format=v3 (key a)" \
    $COCO_IMG sign --tls-verify=false --bundle-format=v3 --key "$T/a.key" "docker://$R/test/rt:v2"
verdict "round trip: coco-img's own v3 bundle, trusted key" 0 "docker://$R/test/rt:v2" "$T/pa.json"
verdict "round trip: untrusted key" 3 "docker://$R/test/rt:v2" "$T/pb.json" signature
mv "$T/rtlay0" "$T/rtlay"
check "coco-img sign --bundle-format=v3 into a layout" \
    $COCO_IMG sign --bundle-format=v3 --key "$T/a.key" "oci:$T/rtlay:v2"
verdict "round trip in a layout" 0 "oci:$T/rtlay:v2" "$T/pa.json"
# registries.d without use-sigstore-attachments: no bundle is looked up
mkdir -p "$T/regd0"
check "without use-sigstore-attachments: not looked up (exit 3)" expect_rc 3 \
    $COCO_IMG verify --tls-verify=false --registries.d "$T/regd0" --policy "$T/pa.json" "docker://$R/test/app:v1"

# ---- a registry with the referrers API (double, distribution-spec v1.1.0) ----
$RT make "$T/api" "$D1" "$BUNDLE_MT" "$BUNDLE_MT" "$T/b1.json" >/dev/null
"$PY" "$TOP_SRCDIR/tests/integration/registry/referrers_double.py" "$T/api" filter 10 "$T/dbl.port" "$T/dbl.log" &
_PIDS="$_PIDS $!"
wait_for_log "$T/dbl.port" '[0-9]+' 20 >/dev/null || exit 1
DB=127.0.0.1:$(cat "$T/dbl.port")
printf 'docker:\n  %s:\n    use-sigstore-attachments: true\n' "$DB" > "$T/regd/dbl.yaml"
verdict "referrers API: DSSE bundle, trusted key" 0 "docker://$DB/test/app@$D1" "$T/pa.json"
check "referrers API: listed through the API" grep -q "GET /v2/test/app/referrers/$D1 -> 200" "$T/dbl.log"
check "referrers API: no tag-schema fallback" sh -c "! grep -q 'manifests/sha256-[0-9a-f]* ' '$T/dbl.log'"
verdict "referrers API: untrusted key" 3 "docker://$DB/test/app@$D1" "$T/pb.json" signature

# ---- an OCI layout: the referrer listed in index.json ----
$RT make "$T/lay" "$D1" "$BUNDLE_MT" "$BUNDLE_MT" "$T/b1.json" --in-index >/dev/null
verdict "OCI layout: DSSE bundle in index.json" 0 "oci:$T/lay:v1" "$T/pa.json"
verdict "OCI layout: untrusted key" 3 "oci:$T/lay:v1" "$T/pb.json" signature

# ---- an oci-archive: the same layout in a tar (referrers in index.json,
# and the referrers tag schema of coco-img's own v3 signature) ----
tar -C "$T/lay" -cf "$T/lay.tar" . || exit 1
verdict "oci-archive: DSSE bundle in index.json" 0 "oci-archive:$T/lay.tar:v1" "$T/pa.json"
check "oci-archive: the bundle's source is index.json" test "$(json_get "$T/rep.json" \
    "[s['source'].endswith('(index.json)') for s in j['requirements'][0]['signatures']]")" = "[True]"
verdict "oci-archive: untrusted key" 3 "oci-archive:$T/lay.tar:v1" "$T/pb.json" signature
tar -C "$T/rtlay" -cf "$T/rt.tar" . || exit 1
verdict "oci-archive: coco-img's v3 bundle (referrers tag)" 0 "oci-archive:$T/rt.tar:v2" "$T/pa.json"
check "oci-archive: found through the referrers tag" test "$(json_get "$T/rep.json" \
    "[s['source'].endswith('(referrers tag)') for s in j['requirements'][0]['signatures']]")" = "[True]"
tar -C "$T/img" -cf "$T/none.tar" . || exit 1
check "oci-archive without referrers: no signature (exit 3)" expect_rc 3 \
    sh -c "$V --policy '$T/pa.json' 'oci-archive:$T/none.tar:v1' > '$T/rep.json'"
check "oci-archive without referrers: reason no-signature" \
    test "$(json_get "$T/rep.json" "j['requirements'][0]['reason']")" = no-signature
check "oci-archive, cosign-style verify --key: accepted" expect_rc 0 \
    $COCO_IMG verify --key "$T/a.pub" --output json "oci-archive:$T/lay.tar:v1"
check "oci-archive, cosign-style verify --key b: refused" expect_rc 3 \
    $COCO_IMG verify --key "$T/b.pub" --output json "oci-archive:$T/lay.tar:v1"
# ---- multi-platform images: a bundle attached only to the index (what
# `cosign sign IMAGE:TAG` writes when the tag names an index) counts for
# the instance chosen through that index, and only then ----
mkimage "$T/mul:amd" --platform linux/amd64 --layer "f:a=amd" >/dev/null
mkimage "$T/mul:arm" --platform linux/arm64 --layer "f:a=arm" >/dev/null
IDX=$(mkimage "$T/mul:idx" --index-of "$T/mul:amd" "$T/mul:arm")
INST=$(json_get "$T/mul/index.json" "' '.join(m['digest'] for m in j['manifests'] if m['annotations']['org.opencontainers.image.ref.name'] in ('amd','arm'))")
check "@sigstore/sign: DSSE bundle of the index by key a" mkbundle "$T/a.key" dsse "$IDX" "$T/bidx.json"
cp -r "$T/mul" "$T/mulbad"
cp -r "$T/mul" "$T/mullay"
$SKOPEO copy -q --all --dest-tls-verify=false "oci:$T/mul:idx" "docker://$R/test/multi:v1" >/dev/null &&
    $SKOPEO copy -q --all --dest-tls-verify=false "oci:$T/mul:idx" "docker://$R/test/multibad:v1" >/dev/null &&
    $SKOPEO copy -q --all --dest-tls-verify=false "oci:$T/mul:idx" "docker://$R/test/multinone:v1" >/dev/null || exit 1
MI=$($RT make "$T/mul" "$IDX" "$BUNDLE_MT" "$BUNDLE_MT" "$T/bidx.json") && $RT push "$T/mul" "$MI" "$R" test/multi --tag
# a bundle of another image (v1's digest) attached to the index
MB=$($RT make "$T/mulbad" "$IDX" "$BUNDLE_MT" "$BUNDLE_MT" "$T/b1.json") && $RT push "$T/mulbad" "$MB" "$R" test/multibad --tag
verdict "index bundle, image named by tag (docker-registry, referrers tag)" 0 "docker://$R/test/multi:v1" "$T/pa.json"
check "index bundle: its source names the index" test "$(json_get "$T/rep.json" \
    "[(s['outcome'], s['source'].endswith('of the index $IDX')) for s in j['requirements'][0]['signatures']]")" \
    = "[('accepted', True)]"
verdict "index bundle, image named by the index digest" 0 "docker://$R/test/multi@$IDX" "$T/pa.json"
verdict "index bundle, untrusted key" 3 "docker://$R/test/multi:v1" "$T/pb.json" signature
for d in $INST; do
    check "index bundle, instance $d named by its own digest: no signature (exit 3)" expect_rc 3 \
        sh -c "$V --policy '$T/pa.json' 'docker://$R/test/multi@$d' > '$T/rep.json'"
    check "instance $d by digest: reason no-signature" \
        test "$(json_get "$T/rep.json" "j['requirements'][0]['reason']")" = no-signature
done
verdict "a bundle of another image attached to the index" 3 "docker://$R/test/multibad:v1" "$T/pa.json" digest
check "multi-platform image without bundles: no signature (exit 3)" expect_rc 3 \
    sh -c "$V --policy '$T/pa.json' 'docker://$R/test/multinone:v1' > '$T/rep.json'"
check "cosign-style verify --key of the index-signed image: accepted" expect_rc 0 \
    $COCO_IMG verify --tls-verify=false --key "$T/a.pub" "docker://$R/test/multi:v1"
check "cosign-style verify --key b: refused" expect_rc 3 \
    $COCO_IMG verify --tls-verify=false --key "$T/b.pub" "docker://$R/test/multi:v1"
# the referrers API double serves the same blobs (it lists referrers by
# scanning them); by digest only
cp "$T/mul/blobs/sha256/"* "$T/api/blobs/sha256/"
verdict "referrers API: index bundle, image named by the index digest" 0 "docker://$DB/test/multi@$IDX" "$T/pa.json"
check "referrers API: the index's referrers listed through the API" \
    grep -q "GET /v2/test/multi/referrers/$IDX -> 200" "$T/dbl.log"
for d in $INST; do
    check "referrers API: instance $d by its own digest: refused (exit 3)" expect_rc 3 \
        $V --policy "$T/pa.json" "docker://$DB/test/multi@$d"
done
verdict "referrers API: untrusted key" 3 "docker://$DB/test/multi@$IDX" "$T/pb.json" signature
# a layout and an archive: the referrer listed in index.json
$RT make "$T/mullay" "$IDX" "$BUNDLE_MT" "$BUNDLE_MT" "$T/bidx.json" --in-index >/dev/null
verdict "OCI layout: index bundle" 0 "oci:$T/mullay:idx" "$T/pa.json"
tar -C "$T/mullay" -cf "$T/mullay.tar" . || exit 1
verdict "oci-archive: index bundle" 0 "oci-archive:$T/mullay.tar:idx" "$T/pa.json"
finish
