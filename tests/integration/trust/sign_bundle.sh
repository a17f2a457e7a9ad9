#!/bin/bash
# coco-img sign --bundle-format=v3: what cosign v3 writes for an image (a
# Sigstore bundle v0.3, DSSE envelope of an in-toto statement, key-signed,
# no tlog entry) attached as an OCI 1.1 referrer, on
#  - Debian's docker-registry 2.8 (no referrers API): the referrer pushed
#    by digest and the referrers tag schema's index sha256-<hex> created,
#    then updated with earlier entries kept (read back with skopeo + curl);
#  - a registry with the referrers API (referrers_registry.py answers
#    OCI-Subject): no tag written;
#  - oci: layouts (the same tag in index.json);
# checked field by field against cosign's layout (cosign_tool.py), accepted
# by sigstore-js (@sigstore/verify, pinned, installed from npm outside the
# tree) with the public key and by `coco-img verify-blob`, and refused by
# both when tampered with or held against another digest; and read back by
# `coco-img verify --policy` (sigstoreSigned keyPath) from the registry and
# the layout, refused for another key or when listed for another image.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/npm_peers.sh"
REGTOOL=${1:?regtool path}
TOOL="$PY $LIB/cosign_tool.py"
unset http_proxy https_proxy HTTPS_PROXY HTTP_PROXY all_proxy ALL_PROXY
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
MT=application/vnd.oci.image.manifest.v1+json

sigstore_js_peer

K=$T/keys; mkdir -p "$K"
(cd "$K" && COSIGN_PASSWORD=pw $COCO_IMG generate-key-pair 2>/dev/null) || exit 1
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out "$K/other.pem"
openssl pkey -in "$K/other.pem" -pubout -out "$K/other.pub"

start_registry R || exit 1
REG=$REG_R
mkimage "$T/lay:v1" >/dev/null
mkimage "$T/lay2:v2" --layer "f:x=2" >/dev/null
$SKOPEO copy -q --dest-tls-verify=false "oci:$T/lay:v1" "docker://$REG/test/app:v1" || exit 1
$SKOPEO copy -q --dest-tls-verify=false "oci:$T/lay2:v2" "docker://$REG/test/app:v2" || exit 1
$SKOPEO inspect --raw --tls-verify=false "docker://$REG/test/app:v1" > "$T/m1"
D1=sha256:$(sha256 "$T/m1"); S1=$(wc -c < "$T/m1")
D2=sha256:$($SKOPEO inspect --raw --tls-verify=false "docker://$REG/test/app:v2" | sha256sum | cut -d' ' -f1)
TAG1=${D1/:/-}
SIGN="$COCO_IMG sign --tls-verify=false --bundle-format=v3"

# fetch NAME DIGEST|TAG OUT: a manifest (skopeo) or, for a blob, curl
man() { $SKOPEO inspect --raw --tls-verify=false "docker://$REG/test/app$1" > "$2"; }
blob() { curl -sf "http://$REG/v2/test/app/blobs/$1" -o "$2"; }

check "sign v3 with cosign.key (COSIGN_PASSWORD), by tag" bash -c "
	COSIGN_PASSWORD=pw $SIGN --key '$K/cosign.key' --output json 'docker://$REG/test/app:v1' > '$T/r1.json'"
R1=$(json_get "$T/r1.json" 'j["signatures"][0]["referrer_digest"]')
check "report: format sigstore-bundle, referrers tag named" bash -c "
	$PY -c 'import json,sys; s=json.load(open(sys.argv[1]))[\"signatures\"]; assert len(s)==1 and s[0][\"format\"]==\"sigstore-bundle\" and s[0][\"signed_digest\"]==\"$D1\" and s[0][\"referrers_tag\"]==\"docker://$REG/test/app:$TAG1\", s' '$T/r1.json'"
man "@$R1" "$T/ref1.json"; man ":$TAG1" "$T/idx1.json"
check "referrer manifest and tag index are cosign's layout" bash -c "
	$TOOL check-referrer '$T/ref1.json' '$T/idx1.json' '$D1' '$S1' '$MT' > '$T/b1.digest'"
blob "$(cat "$T/b1.digest")" "$T/b1.json"
check "the tag index lists exactly that referrer" test "$(json_get "$T/idx1.json" '[m["digest"] for m in j["manifests"]]')" = "['$R1']"
check "@sigstore/verify accepts the bundle with cosign.pub" NV "$T/b1.json" "$D1" --key "$K/cosign.pub"
check "coco-img verify-blob accepts it (--insecure-ignore-tlog, as cosign)" \
	$COCO_IMG verify-blob "$D1" --bundle "$T/b1.json" --key "$K/cosign.pub" --insecure-ignore-tlog
check "verify-blob without --insecure-ignore-tlog: exit 2, naming the flag (no tlog entry)" bash -c "
	$COCO_IMG verify-blob '$D1' --bundle '$T/b1.json' --key '$K/cosign.pub' 2>'$T/err'; rc=\$?; cat '$T/err'
	[ \$rc -eq 2 ] && grep -q -- --insecure-ignore-tlog '$T/err'"
check "the bundle has no tlog entry and no timestamp" bash -c "
	$PY -c 'import json,sys; v=json.load(open(sys.argv[1]))[\"verificationMaterial\"]; assert set(v)=={\"publicKey\"}, v' '$T/b1.json'"

# ---- tampering: sigstore-js and coco-img both refuse ----
for w in payload signature payloadtype; do
	"$PY" "$LIB/tamper_bundle.py" "$T/b1.json" "$T/bad-$w.json" $w || exit 1
	check "tampered $w: @sigstore/verify refuses" bash -c "! node '$LIB/sigstore_verify.js' '$NM' '$T/bad-$w.json' '$D1' --key '$K/cosign.pub'"
	check "tampered $w: coco-img verify-blob refuses (exit 3)" expect_rc 3 \
		$COCO_IMG verify-blob "$D1" --bundle "$T/bad-$w.json" --key "$K/cosign.pub" --insecure-ignore-tlog
done
check "another key: @sigstore/verify refuses" bash -c "! node '$LIB/sigstore_verify.js' '$NM' '$T/b1.json' '$D1' --key '$K/other.pub'"
check "another image's digest: @sigstore/verify check refuses" bash -c "! node '$LIB/sigstore_verify.js' '$NM' '$T/b1.json' '$D2' --key '$K/cosign.pub'"
check "another image's digest: coco-img verify-blob refuses (exit 3)" expect_rc 3 \
	$COCO_IMG verify-blob "$D2" --bundle "$T/b1.json" --key "$K/cosign.pub" --insecure-ignore-tlog

# ---- a second signature keeps the first in the tag index ----
check "sign v3 again with another key, by digest" bash -c "
	$SIGN --key '$K/other.pem' --output json 'docker://$REG/test/app@$D1' > '$T/r2.json'"
R2=$(json_get "$T/r2.json" 'j["signatures"][0]["referrer_digest"]')
man "@$R2" "$T/ref2.json"; man ":$TAG1" "$T/idx2.json"
check "tag index: both referrers, sorted" test "$(json_get "$T/idx2.json" 'sorted(m["digest"] for m in j["manifests"]) == [m["digest"] for m in j["manifests"]] and len(j["manifests"]) == 2')" = True
check "tag index keeps the first entry as it was" bash -c "
	$TOOL check-referrer '$T/ref1.json' '$T/idx2.json' '$D1' '$S1' '$MT' && $TOOL check-referrer '$T/ref2.json' '$T/idx2.json' '$D1' '$S1' '$MT' > '$T/b2.digest'"
blob "$(cat "$T/b2.digest")" "$T/b2.json"
check "the second bundle verifies with other.pub" NV "$T/b2.json" "$D1" --key "$K/other.pub"
check "the referrers reader (list_referrers) finds both through the tag schema" bash -c "
	$REGTOOL referrers 'docker://$REG/test/app:v1' '$D1' --artifact-type application/vnd.dev.sigstore.bundle.v0.3+json tls-verify=false > '$T/list' &&
	cat '$T/list' && grep -q '^$R1 ' '$T/list' && grep -q '^$R2 ' '$T/list' && [ \$(wc -l < '$T/list') -eq 2 ]"
check "legacy signing still writes the .sig tag (and not the bundle)" bash -c "
	$COCO_IMG sign --tls-verify=false --key '$K/other.pem' 'docker://$REG/test/app:v2' &&
	$SKOPEO inspect --raw --tls-verify=false 'docker://$REG/test/app:${D2/:/-}.sig' >/dev/null &&
	! $SKOPEO inspect --raw --tls-verify=false 'docker://$REG/test/app:${D2/:/-}' 2>/dev/null"

# ---- the referrers tag holds something else: refused, left alone ----
$SKOPEO copy -q --dest-tls-verify=false "oci:$T/lay:v1" "docker://$REG/test/app:${D2/:/-}" || exit 1
check "tag holding an image manifest: exit 1, tag unchanged" bash -c "
	$SIGN --key '$K/other.pem' 'docker://$REG/test/app:v2' 2>'$T/err'; rc=\$?; cat '$T/err'
	[ \$rc -eq 1 ] && grep -q 'not an OCI image index' '$T/err' &&
	[ \"\$($SKOPEO inspect --raw --tls-verify=false 'docker://$REG/test/app:${D2/:/-}' | sha256sum | cut -d' ' -f1)\" = '${D1#sha256:}' ]"

# ---- an index, --recursive: the index and every instance ----
mkimage "$T/idx:a" --platform linux/amd64 >/dev/null
mkimage "$T/idx:b" --platform linux/arm64 --layer "f:arm=1" >/dev/null
mkimage "$T/idx:multi" --index-of "$T/idx:a" "$T/idx:b" >/dev/null
$SKOPEO copy -q --all --dest-tls-verify=false "oci:$T/idx:multi" "docker://$REG/test/multi:m" || exit 1
check "--recursive signs the index and its 2 instances" bash -c "
	$SIGN --key '$K/other.pem' --recursive --output json 'docker://$REG/test/multi:m' > '$T/r3.json' &&
	$PY -c 'import json,sys; s=json.load(open(sys.argv[1]))[\"signatures\"]; assert len(s)==3 and all(x[\"format\"]==\"sigstore-bundle\" for x in s), s' '$T/r3.json'"
check "each instance has its referrers tag, subject = the instance" bash -c "$(declare -f json_get); PY='$PY'
	for d in \$($PY -c 'import json,sys; print(\" \".join(x[\"signed_digest\"] for x in json.load(open(sys.argv[1]))[\"signatures\"][1:]))' '$T/r3.json'); do
		$SKOPEO inspect --raw --tls-verify=false \"docker://$REG/test/multi:\${d/:/-}\" > '$T/ti' || exit 1
		r=\$(json_get '$T/ti' 'j[\"manifests\"][0][\"digest\"]')
		$SKOPEO inspect --raw --tls-verify=false \"docker://$REG/test/multi@\$r\" > '$T/tr' || exit 1
		[ \"\$(json_get '$T/tr' 'j[\"subject\"][\"digest\"]')\" = \"\$d\" ] || exit 1
	done"

# ---- flags ----
check "--new-bundle-format (cosign's spelling) is v3" bash -c "
	$COCO_IMG sign --tls-verify=false --new-bundle-format --key '$K/other.pem' --output json 'docker://$REG/test/app:v1' | grep -q '\"format\":\"sigstore-bundle\"'"
check "--new-bundle-format=false is legacy" bash -c "
	$COCO_IMG sign --tls-verify=false --new-bundle-format=false --key '$K/other.pem' --output json 'docker://$REG/test/app:v1' | grep -q '\"attachment\"'"
check "--sign-identity with v3: exit 2" expect_rc 2 $SIGN --key "$K/other.pem" --sign-identity example.com/app "docker://$REG/test/app:v1"
check "--bundle-format=v4: exit 2" expect_rc 2 $COCO_IMG sign --bundle-format=v4 --key "$K/other.pem" "docker://$REG/test/app:v1"

# ---- round trip: coco-img verify finds and accepts what sign wrote ----
$SKOPEO copy -q --dest-tls-verify=false "oci:$T/lay:v1" "docker://$REG/test/rt:v1" || exit 1
$SKOPEO copy -q --dest-tls-verify=false "oci:$T/lay2:v2" "docker://$REG/test/rt:v2" || exit 1
mkdir -p "$T/regd"
printf 'docker:\n  %s:\n    use-sigstore-attachments: true\n' "$REG" > "$T/regd/sig.yaml"
pol() { # pol FILE KEYFILE
	printf '{"default":[{"type":"reject"}],"transports":{"docker":{"%s/test/rt":[{"type":"sigstoreSigned","keyPath":"%s","signedIdentity":{"type":"matchRepository"}}]},"oci":{"":[{"type":"sigstoreSigned","keyPath":"%s","signedIdentity":{"type":"matchRepository"}}]}}}\n' \
		"$REG" "$2" "$2" > "$1"
}
pol "$T/p-ok.json" "$K/cosign.pub"
pol "$T/p-other.json" "$K/other.pub"
VERIFY="$COCO_IMG verify --tls-verify=false --registries.d $T/regd"
check "round trip: sign v3 (cosign.key, prompt-free with COSIGN_PASSWORD)" \
	env COSIGN_PASSWORD=pw $SIGN --key "$K/cosign.key" "docker://$REG/test/rt:v1"
check "round trip: verify --policy accepts it (a digest-bound bundle)" bash -c "
	$VERIFY --policy '$T/p-ok.json' --output json 'docker://$REG/test/rt:v1' > '$T/v.json'; rc=\$?; cat '$T/v.json'
	[ \$rc -eq 0 ] && grep -q '\"format\":\"sigstore-bundle\"' '$T/v.json' && grep -q '\"identity\":\"digest-bound\"' '$T/v.json'"
check "round trip: another key is refused (exit 3)" expect_rc 3 $VERIFY --policy "$T/p-other.json" "docker://$REG/test/rt:v1"
check "round trip: an image nobody signed is refused (exit 3)" expect_rc 3 $VERIFY --policy "$T/p-ok.json" "docker://$REG/test/rt:v2"
check "round trip: the v3 referrer copied under v2's referrers tag is refused (its subject is v1)" bash -c "
	$SKOPEO inspect --raw --tls-verify=false 'docker://$REG/test/rt:${D1/:/-}' > '$T/rti' &&
	curl -sf -X PUT -H 'Content-Type: application/vnd.oci.image.index.v1+json' --data-binary @'$T/rti' \
		'http://$REG/v2/test/rt/manifests/${D2/:/-}' &&
	$VERIFY --policy '$T/p-ok.json' --output json 'docker://$REG/test/rt:v2' > '$T/v2.json'; rc=\$?; cat '$T/v2.json'
	[ \$rc -eq 3 ] && grep -q '\"failed_check\":\"digest\"' '$T/v2.json'"

# ---- a registry with the referrers API: no tag schema ----
"$PY" "$TOP_SRCDIR/tests/integration/trust/referrers_registry.py" "$T/api.port" "$T/api.log" &
_PIDS="$_PIDS $!"
for _ in $(seq 100); do [ -f "$T/api.port" ] && break; sleep 0.05; done
API=127.0.0.1:$(cat "$T/api.port")
$SKOPEO copy -q --dest-tls-verify=false "oci:$T/lay:v1" "docker://$API/test/app:v1" || exit 1
check "referrers API: sign v3" bash -c "
	$SIGN --key '$K/other.pem' --output json 'docker://$API/test/app:v1' > '$T/r4.json'"
check "referrers API: the referrer was pushed with its subject, no tag written" bash -c "
	cat '$T/api.log'; grep -q ' subject=$D1\$' '$T/api.log' && ! grep -q ' sha256-' '$T/api.log'"
check "referrers API: the report names no referrers tag" bash -c "
	$PY -c 'import json,sys; s=json.load(open(sys.argv[1]))[\"signatures\"][0]; assert \"referrers_tag\" not in s, s' '$T/r4.json'"
check "referrers API: GET /referrers lists it" bash -c "
	curl -sf 'http://$API/v2/test/app/referrers/$D1' | grep -q \"\$(json_get '$T/r4.json' 'j[\"signatures\"][0][\"referrer_digest\"]')\""

# ---- oci: layouts: the same tag in index.json ----
check "oci: layout: sign v3 (no --sign-identity needed)" \
	$COCO_IMG sign --bundle-format=v3 --key "$K/other.pem" --output json "oci:$T/lay:v1"
check "oci: layout: index.json tags sha256-<hex>, the index lists the referrer" bash -c "$(declare -f json_get); PY='$PY'
	ti=\$(json_get '$T/lay/index.json' '[m[\"digest\"] for m in j[\"manifests\"] if m.get(\"annotations\",{}).get(\"org.opencontainers.image.ref.name\")==\"$TAG1\"][0]')
	r=\$(json_get \"$T/lay/blobs/sha256/\${ti#sha256:}\" 'j[\"manifests\"][0][\"digest\"]')
	$TOOL check-referrer \"$T/lay/blobs/sha256/\${r#sha256:}\" \"$T/lay/blobs/sha256/\${ti#sha256:}\" '$D1' '$S1' '$MT' > '$T/b5.digest' &&
	b=\$(cat '$T/b5.digest') && node '$LIB/sigstore_verify.js' '$NM' \"$T/lay/blobs/sha256/\${b#sha256:}\" '$D1' --key '$K/other.pub'"
check "oci: layout: the referrers reader finds it" bash -c "
	$REGTOOL referrers 'oci:$T/lay:v1' '$D1' | grep -q application/vnd.dev.sigstore.bundle.v0.3+json"
check "oci: layout: round trip through verify --policy (other.pub accepted, cosign.pub refused)" bash -c "
	$COCO_IMG verify --policy '$T/p-other.json' 'oci:$T/lay:v1' &&
	$COCO_IMG verify --policy '$T/p-ok.json' 'oci:$T/lay:v1'; [ \$? -eq 3 ]"

finish
