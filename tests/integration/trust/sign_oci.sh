#!/bin/bash
# coco-img sign on oci: layouts: the attachment is written as the tag
# sha256-<hex>.sig in the same layout, with cosign's layout (checked with
# skopeo + python3-cryptography), appended to on re-signing; oci: needs
# --sign-identity; oci-archive: is refused; then `coco-img verify` with
# exactRepository / exactReference rules.
. "$TOP_SRCDIR/tests/lib/common.sh"
TOOL="$PY $LIB/cosign_tool.py"

K=$T/keys; mkdir -p "$K"
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out "$K/ec.pem"
openssl pkey -in "$K/ec.pem" -pubout -out "$K/ec.pub"
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out "$K/other.pem"
openssl pkey -in "$K/other.pem" -pubout -out "$K/other.pub"
printf 's3cret' > "$K/pass"      # no trailing newline: the whole file
$TOOL encrypt "$K/other.pem" "$K/other.key" "s3cret"

mkimage "$T/lay:v1" >/dev/null
D=sha256:$(sha256 "$T/lay/blobs/sha256/$(json_get "$T/lay/index.json" 'j["manifests"][0]["digest"][7:]')")
SIGTAG=${D/:/-}.sig
att() { rm -rf "$T/att"; $SKOPEO copy -q "oci:$T/lay:$1" "dir:$T/att"; }

check "oci: without --sign-identity is refused (exit 2)" expect_rc 2 $COCO_IMG sign --key "$K/ec.pem" "oci:$T/lay:v1"
check "sign oci:DIR:TAG" $COCO_IMG sign --key "$K/ec.pem" --sign-identity example.com/app "oci:$T/lay:v1"
check "attachment tag in the same layout, cosign's layout" bash -c "$(declare -f att); SKOPEO='$SKOPEO' T='$T';
	att $SIGTAG && $TOOL check-attachment '$T/att' '$K/ec.pub' 'example.com/app' '$D' 1"
check "sign again (encrypted cosign key) appends" \
	$COCO_IMG sign --key "$K/other.key" --passphrase-file "$K/pass" --sign-identity example.com/app:v1 "oci:$T/lay:v1"
check "two layers, the second by the other key" bash -c "$(declare -f att); SKOPEO='$SKOPEO' T='$T';
	att $SIGTAG && $TOOL check-attachment '$T/att' '$K/other.pub' 'example.com/app:v1' '$D' 2"
check "the original tag still names the image" bash -c "
	$PY -c 'import json,sys; j=json.load(open(sys.argv[1])); n=[m.get(\"annotations\",{}).get(\"org.opencontainers.image.ref.name\") for m in j[\"manifests\"]]; assert \"v1\" in n and \"$SIGTAG\" in n, n' '$T/lay/index.json'"
check "json report" bash -c "$COCO_IMG sign --key '$K/ec.pem' --sign-identity example.com/app --output json 'oci:$T/lay:v1' > '$T/r.json' &&
	$PY -c 'import json,sys; j=json.load(open(sys.argv[1])); s=j[\"signatures\"][0]; assert s[\"signed_digest\"]==\"$D\" and s[\"added\"] is False and s[\"attachment\"].endswith(\"$SIGTAG\"), j' '$T/r.json'"
check "oci-archive: is refused (exit 1)" bash -c "tar -C '$T/lay' -cf '$T/lay.tar' . &&
	$COCO_IMG sign --key '$K/ec.pem' --sign-identity example.com/app 'oci-archive:$T/lay.tar'; [ \$? -eq 1 ]"

# ---- verification (coco-img verify) ----
pol() { # pol FILE KEYFILE IDENTITY-JSON
	printf '{"default":[{"type":"reject"}],"transports":{"oci":{"":[{"type":"sigstoreSigned","keyPath":"%s","signedIdentity":%s}]}}}\n' \
		"$2" "$3" > "$1"
}
pol "$T/p-ok.json" "$K/ec.pub" '{"type":"exactRepository","dockerRepository":"example.com/app"}'
check "verify oci: exactRepository with the signing key" expect_rc 0 $COCO_IMG verify --policy "$T/p-ok.json" "oci:$T/lay:v1"
pol "$T/p-ref.json" "$K/other.pub" '{"type":"exactReference","dockerReference":"example.com/app:v1"}'
check "verify oci: exactReference with the tagged identity" expect_rc 0 $COCO_IMG verify --policy "$T/p-ref.json" "oci:$T/lay:v1"
pol "$T/p-ref2.json" "$K/ec.pub" '{"type":"exactReference","dockerReference":"example.com/app:v1"}'
check "verify oci: repository-only signature vs exactReference rejects (exit 3)" expect_rc 3 $COCO_IMG verify --policy "$T/p-ref2.json" "oci:$T/lay:v1"
pol "$T/p-wrong.json" "$K/ec.pub" '{"type":"exactRepository","dockerRepository":"example.com/other"}'
check "verify oci: wrong identity rejects (exit 3)" expect_rc 3 $COCO_IMG verify --policy "$T/p-wrong.json" "oci:$T/lay:v1"
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt | openssl pkey -pubout -out "$K/third.pub"
pol "$T/p-key.json" "$K/third.pub" '{"type":"exactRepository","dockerRepository":"example.com/app"}'
check "verify oci: wrong key rejects (exit 3)" expect_rc 3 $COCO_IMG verify --policy "$T/p-key.json" "oci:$T/lay:v1"
finish
