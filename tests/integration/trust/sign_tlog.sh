#!/bin/bash
# coco-img sign --rekor-url: the signature logged in a Rekor v1 log and the
# entry attached, so that verifiers need no tlog-skipping option.  The log
# is tests/lib/sigstore_doubles.py (a strict Rekor v1 double: it verifies
# the proposed signature, keeps an RFC 6962 Merkle tree, signs the SET and
# a signed-note checkpoint with the test's own log key).
#  - v3 bundle (dsse 0.0.1 entry) on docker-registry: accepted by
#    @sigstore/verify 2.1.1 with a trusted_root.json naming the log key and
#    default thresholds, by coco-img verify-blob and verify --key
#    --trusted-root without --insecure-ignore-tlog, by verify --policy
#    (keyPath + rekorPublicKeyData); tampered SET, checkpoint, proof,
#    body or signature: refused by both.
#  - legacy .sig (hashedrekord 0.0.1): the dev.sigstore.cosign/bundle
#    annotation as cosign writes it, accepted by verify --policy with
#    rekorPublicKeyData and refused with another log key.
#  - a log whose answer logs another signature or carries a wrong
#    inclusion proof: sign fails (exit 1) and writes nothing.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/sigstore_doubles.sh"
sigstore_signing_setup || exit 1
start_sigstore LIAR "$S" --misbehave other-entry || exit 1
start_sigstore BADPROOF "$S" --misbehave bad-proof || exit 1

K=$T/keys; mkdir -p "$K"
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out "$K/k.pem"
openssl pkey -in "$K/k.pem" -pubout -out "$K/k.pub"
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out "$K/other.pem"
openssl pkey -in "$K/other.pem" -pubout -out "$K/other.pub"

registry_copies test app legacy liar badproof down || exit 1
SIGN="$COCO_IMG sign --tls-verify=false"
blob() { curl -sf "http://$REG/v2/test/$1/blobs/$2" -o "$3"; }

# ---- v3 bundle with a dsse entry ----
check "sign v3 --rekor-url" bash -c "
	$SIGN --bundle-format=v3 --key '$K/k.pem' --rekor-url '$SIGSTORE_A' --output json 'docker://$REG/test/app:v1' > '$T/r1.json'"
check "the log got one dsse 0.0.1 entry" grep -q '^rekor dsse 0.0.1 ' "$T/sigstore-A.log"
blob app "$(json_get "$T/r1.json" 'j["signatures"][0]["bundle_digest"]')" "$T/b.json"
check "the bundle carries one tlog entry: dsse 0.0.1, SET, proof with checkpoint" bash -c "
	$PY -c 'import json,sys
v=json.load(open(sys.argv[1]))[\"verificationMaterial\"]
t=v[\"tlogEntries\"]; assert len(t)==1, t; e=t[0]
assert e[\"kindVersion\"]=={\"kind\":\"dsse\",\"version\":\"0.0.1\"}, e
assert e[\"inclusionPromise\"][\"signedEntryTimestamp\"] and e[\"inclusionProof\"][\"checkpoint\"][\"envelope\"], e
assert int(e[\"inclusionProof\"][\"treeSize\"]) > int(e[\"inclusionProof\"][\"logIndex\"]) >= 5, e
assert set(v) == {\"publicKey\", \"tlogEntries\"}, v' '$T/b.json'"
check "@sigstore/verify accepts it with the trusted root (no tlog skipping)" NV "$T/b.json" "$D" --root "$ROOT" --key "$K/k.pub"
check "@sigstore/verify refuses it for another key" bash -c "! node '$LIB/sigstore_verify.js' '$NM' '$T/b.json' '$D' --root '$ROOT' --key '$K/other.pub'"
check "coco-img verify-blob accepts it with --trusted-root, without --insecure-ignore-tlog" \
	$COCO_IMG verify-blob "$D" --bundle "$T/b.json" --key "$K/k.pub" --trusted-root "$ROOT"
check "coco-img verify --key --trusted-root accepts the image" \
	$COCO_IMG verify --tls-verify=false --key "$K/k.pub" --trusted-root "$ROOT" "docker://$REG/test/app:v1"
mkdir -p "$T/regd"
printf 'default-docker:\n  use-sigstore-attachments: true\n' > "$T/regd/default.yaml"
REKOR_DATA=$(base64 -w0 < "$S/rekor.pub")
OTHER_REKOR=$(base64 -w0 < "$K/other.pub")
pol() { # FILE KEYFILE REKOR-B64
	printf '{"default":[{"type":"sigstoreSigned","keyPath":"%s","rekorPublicKeyData":"%s","signedIdentity":{"type":"matchRepository"}}]}\n' "$2" "$3" > "$1"
}
pol "$T/p-ok.json" "$K/k.pub" "$REKOR_DATA"
pol "$T/p-otherlog.json" "$K/k.pub" "$OTHER_REKOR"
VP="$COCO_IMG verify --tls-verify=false --registries.d $T/regd"
check "verify --policy (keyPath + rekorPublicKeyData) accepts the bundle" $VP --policy "$T/p-ok.json" "docker://$REG/test/app:v1"
check "verify --policy with another log key refuses it (exit 3)" expect_rc 3 $VP --policy "$T/p-otherlog.json" "docker://$REG/test/app:v1"

# ---- tampering: both verifiers refuse ----
for w in set checkpoint proof body time signature; do
	"$PY" "$LIB/tamper_bundle.py" "$T/b.json" "$T/bad-$w.json" $w || exit 1
	check "tampered $w: @sigstore/verify refuses" bash -c "! node '$LIB/sigstore_verify.js' '$NM' '$T/bad-$w.json' '$D' --root '$ROOT' --key '$K/k.pub'"
	check "tampered $w: coco-img verify-blob refuses (exit 3)" expect_rc 3 \
		$COCO_IMG verify-blob "$D" --bundle "$T/bad-$w.json" --key "$K/k.pub" --trusted-root "$ROOT"
done

# ---- legacy .sig with the Rekor bundle annotation ----
check "sign (legacy) --rekor-url" $SIGN --key "$K/k.pem" --rekor-url "$SIGSTORE_A" "docker://$REG/test/legacy:v1"
check "the log got one hashedrekord 0.0.1 entry" grep -q '^rekor hashedrekord 0.0.1 ' "$T/sigstore-A.log"
$SKOPEO inspect --raw --tls-verify=false "docker://$REG/test/legacy:${D/:/-}.sig" > "$T/sig.json"
check "the layer carries dev.sigstore.cosign/bundle as cosign writes it" bash -c "
	$PY -c 'import json,sys,base64
a=json.load(open(sys.argv[1]))[\"layers\"][0][\"annotations\"]
assert list(a)==[\"dev.cosignproject.cosign/signature\",\"dev.sigstore.cosign/bundle\"], a
b=json.loads(a[\"dev.sigstore.cosign/bundle\"])
assert list(b)==[\"SignedEntryTimestamp\",\"Payload\"] and list(b[\"Payload\"])==[\"body\",\"integratedTime\",\"logIndex\",\"logID\"], b
body=json.loads(base64.b64decode(b[\"Payload\"][\"body\"]))
assert body[\"kind\"]==\"hashedrekord\" and body[\"spec\"][\"signature\"][\"content\"]==a[\"dev.cosignproject.cosign/signature\"], body' '$T/sig.json'"
check "verify --policy (keyPath + rekorPublicKeyData) accepts the legacy signature" \
	$VP --policy "$T/p-ok.json" "docker://$REG/test/legacy:v1"
check "... and refuses it with another log key (exit 3)" expect_rc 3 \
	$VP --policy "$T/p-otherlog.json" "docker://$REG/test/legacy:v1"

# ---- a log that lies: nothing written ----
check "a log whose answer logs another signature: exit 1, named" bash -c "
	$SIGN --bundle-format=v3 --key '$K/k.pem' --rekor-url '$SIGSTORE_LIAR' 'docker://$REG/test/liar:v1' 2>'$T/err'; rc=\$?; cat '$T/err'
	[ \$rc -eq 1 ] && grep -q 'transparency log' '$T/err'"
check "... and no referrer was written" bash -c "! $SKOPEO inspect --raw --tls-verify=false 'docker://$REG/test/liar:${D/:/-}' 2>/dev/null"
check "a log with a wrong inclusion proof (legacy): exit 1" bash -c "
	$SIGN --key '$K/k.pem' --rekor-url '$SIGSTORE_BADPROOF' 'docker://$REG/test/badproof:v1' 2>'$T/err'; rc=\$?; cat '$T/err'
	[ \$rc -eq 1 ] && grep -q 'inclusion' '$T/err'"
check "... and no .sig was written" bash -c "! $SKOPEO inspect --raw --tls-verify=false 'docker://$REG/test/badproof:${D/:/-}.sig' 2>/dev/null"
check "the log refuses a request (HTTP 404 path): exit 1, status named" bash -c "
	$SIGN --key '$K/k.pem' --rekor-url '$SIGSTORE_A/nowhere' 'docker://$REG/test/down:v1' 2>'$T/err'; rc=\$?; cat '$T/err'
	[ \$rc -eq 1 ] && grep -q 'HTTP 404' '$T/err'"
check "--rekor-url that is not http(s): exit 2" expect_rc 2 $SIGN --key "$K/k.pem" --rekor-url ftp://x "docker://$REG/test/down:v1"
finish
