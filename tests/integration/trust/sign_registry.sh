#!/bin/bash
# coco-img sign on a loopback registry: cosign-format attachments checked
# field by field with an independent reader (skopeo + python3-cryptography),
# keys in every supported format (PEM PKCS#8 / SEC1, cosign's encrypted
# format), appending, duplicate detection, --recursive, error exits; then
# verification with `coco-img verify` and sigstoreSigned policies (right and
# wrong key, identity rules, remapIdentity).
. "$TOP_SRCDIR/tests/lib/common.sh"
TOOL="$PY $LIB/cosign_tool.py"

start_registry R || exit 1
REG=$REG_R
K=$T/keys; mkdir -p "$K"
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null > "$K/ec-sec1.pem"
openssl pkcs8 -topk8 -nocrypt -in "$K/ec-sec1.pem" -out "$K/ec.pem"
openssl pkey -in "$K/ec.pem" -pubout -out "$K/ec.pub"
openssl genpkey -algorithm ed25519 -out "$K/ed.pem" 2>/dev/null
openssl pkey -in "$K/ed.pem" -pubout -out "$K/ed.pub"
openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:2048 -out "$K/rsa.pem" 2>/dev/null
openssl pkey -in "$K/rsa.pem" -pubout -out "$K/rsa.pub"
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out "$K/other.pem"
openssl pkey -in "$K/other.pem" -pubout -out "$K/other.pub"
openssl ecparam -name secp384r1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out "$K/p384.pem"
openssl pkey -in "$K/p384.pem" -pubout -out "$K/p384.pub"
printf 'correct horse\n' > "$K/pass"
printf 'wrong horse\n' > "$K/badpass"
$TOOL encrypt "$K/ec.pem" "$K/enc.key" "correct horse" --pem-type SIGSTORE
$TOOL encrypt "$K/ec.pem" "$K/enc-old.key" "correct horse" --pem-type COSIGN --n 32768

mkimage "$T/lay:v1" >/dev/null
mkimage "$T/lay2:v2" --layer "f:x=2" >/dev/null
$SKOPEO copy -q --dest-tls-verify=false "oci:$T/lay:v1" "docker://$REG/test/app:v1" || exit 1
$SKOPEO copy -q --dest-tls-verify=false "oci:$T/lay2:v2" "docker://$REG/test/app:v2" || exit 1
D1=sha256:$($SKOPEO inspect --raw --tls-verify=false "docker://$REG/test/app:v1" | sha256sum | cut -d' ' -f1)
D2=sha256:$($SKOPEO inspect --raw --tls-verify=false "docker://$REG/test/app:v2" | sha256sum | cut -d' ' -f1)
SIGTAG=${D1/:/-}.sig
SIGN="$COCO_IMG sign --tls-verify=false"

# fetch the attachment with skopeo and check it
att() { rm -rf "$T/att"; $SKOPEO copy -q --src-tls-verify=false "docker://$REG/test/app:$1" "dir:$T/att"; }

check "sign with a PKCS#8 P-256 key" $SIGN --key "$K/ec.pem" "docker://$REG/test/app:v1"
check "attachment is cosign's layout (1 layer)" bash -c "$(declare -f att); SKOPEO='$SKOPEO' T='$T' REG='$REG';
	att $SIGTAG && $TOOL check-attachment '$T/att' '$K/ec.pub' '$REG/test/app' '$D1' 1"
check "sign again with cosign's encrypted key (SIGSTORE label, N=65536)" \
	$SIGN --key "$K/enc.key" --passphrase-file "$K/pass" "docker://$REG/test/app:v1"
check "the same payload and key are not added twice" bash -c "$SIGN --key '$K/ec.pem' --output json 'docker://$REG/test/app:v1' | grep -q '\"added\":false'"
check "sign with Ed25519 appends a layer" $SIGN --key "$K/ed.pem" "docker://$REG/test/app:v1"
check "attachment keeps the earlier signatures (2 layers, last Ed25519)" bash -c "$(declare -f att); SKOPEO='$SKOPEO' T='$T' REG='$REG';
	att $SIGTAG && $TOOL check-attachment '$T/att' '$K/ed.pub' '$REG/test/app' '$D1' 2"
check "sign with RSA and --sign-identity (tagged identity)" \
	$SIGN --key "$K/rsa.pem" --sign-identity "registry.example.com/team/app:v1" "docker://$REG/test/app:v1"
check "attachment has the RSA signature for the given identity" bash -c "$(declare -f att); SKOPEO='$SKOPEO' T='$T' REG='$REG';
	att $SIGTAG && $TOOL check-attachment '$T/att' '$K/rsa.pub' 'registry.example.com/team/app:v1' '$D1' 3"
check "a SEC1 key and the old COSIGN label (N=32768) sign v2" bash -c "
	$SIGN --key '$K/ec-sec1.pem' 'docker://$REG/test/app:v2' &&
	$SIGN --key '$K/enc-old.key' --passphrase-file '$K/pass' 'docker://$REG/test/app:v2'"
check "by digest: docker://repo@sha256:..." bash -c "$SIGN --key '$K/p384.pem' --output json 'docker://$REG/test/app@$D2' | grep -q '\"added\":true'"

# errors
check "wrong passphrase: exit 2, no passphrase in the message" bash -c "
	$SIGN --key '$K/enc.key' --passphrase-file '$K/badpass' 'docker://$REG/test/app:v1' 2>'$T/err'; rc=\$?
	cat '$T/err'; [ \$rc -eq 2 ] && grep -q 'cannot decrypt key' '$T/err' && ! grep -q horse '$T/err'"
check "encrypted key without passphrase (no terminal): exit 2" expect_rc 2 $SIGN --key "$K/enc.key" "docker://$REG/test/app:v1" </dev/null
check "public key as --key: exit 2" expect_rc 2 $SIGN --key "$K/ec.pub" "docker://$REG/test/app:v1"
check "missing --key: exit 2" expect_rc 2 $SIGN "docker://$REG/test/app:v1"
check "bad --sign-identity: exit 2" expect_rc 2 $SIGN --key "$K/ec.pem" --sign-identity "UPPER/Case" "docker://$REG/test/app:v1"
check "unknown tag: exit 1" expect_rc 1 $SIGN --key "$K/ec.pem" "docker://$REG/test/app:nope"

# a TLS registry with htpasswd authentication
if start_registry S tls htpasswd; then
	mkdir -p "$T/certs" && cp "$T/ca/ca.crt" "$T/certs/"
	$SKOPEO copy -q --dest-cert-dir "$T/certs" --dest-creds alice:s3cret "oci:$T/lay:v1" "docker://$REG_S/sec/app:v1"
	check "TLS + credentials: sign" $COCO_IMG sign --cert-dir "$T/certs" --creds alice:s3cret --key "$K/ec.pem" "docker://$REG_S/sec/app:v1"
	check "TLS + credentials: the attachment is there" $SKOPEO inspect --raw --cert-dir "$T/certs" --creds alice:s3cret "docker://$REG_S/sec/app:$SIGTAG"
	check "no credentials: exit 1" expect_rc 1 $COCO_IMG sign --cert-dir "$T/certs" --key "$K/ec.pem" "docker://$REG_S/sec/app:v1"
fi

# --recursive on an index
mkimage "$T/idx:a" --platform linux/amd64 >/dev/null
mkimage "$T/idx:b" --platform linux/arm64 --layer "f:arm=1" >/dev/null
mkimage "$T/idx:multi" --index-of "$T/idx:a" "$T/idx:b" >/dev/null
if $SKOPEO copy -q --all --dest-tls-verify=false "oci:$T/idx:multi" "docker://$REG/test/multi:m"; then
	check "--recursive signs the index and every instance" bash -c "
		$SIGN --key '$K/ec.pem' --recursive --output json 'docker://$REG/test/multi:m' > '$T/rec.json' &&
		$PY -c 'import json,sys; j=json.load(open(sys.argv[1])); s=j[\"signatures\"]; assert len(s)==3 and all(x[\"added\"] for x in s), s' '$T/rec.json'"
fi

# ---- verification through the policy (coco-img verify) ----
mkdir -p "$T/regd"
printf 'docker:\n  %s:\n    use-sigstore-attachments: true\n' "$REG" > "$T/regd/sig.yaml"
pol() { # pol FILE KEYFILE IDENTITY-JSON
	printf '{"default":[{"type":"reject"}],"transports":{"docker":{"%s/test":[{"type":"sigstoreSigned","keyPath":"%s","signedIdentity":%s}]}}}\n' \
		"$REG" "$2" "$3" > "$1"
}
VERIFY="$COCO_IMG verify --tls-verify=false --registries.d $T/regd"
pol "$T/p-ok.json" "$K/ec.pub" '{"type":"matchRepository"}'
check "verify: matchRepository, signing key (plain PEM)" expect_rc 0 $VERIFY --policy "$T/p-ok.json" "docker://$REG/test/app:v1"
pol "$T/p-ed.json" "$K/ed.pub" '{"type":"matchRepository"}'
check "verify: Ed25519 key" expect_rc 0 $VERIFY --policy "$T/p-ed.json" "docker://$REG/test/app:v1"
pol "$T/p-v2.json" "$K/ec.pub" '{"type":"exactRepository","dockerRepository":"'"$REG"'/test/app"}'
check "verify: v2 signed with the SEC1 / encrypted key, exactRepository" expect_rc 0 $VERIFY --policy "$T/p-v2.json" "docker://$REG/test/app:v2"
pol "$T/p-wrong.json" "$K/other.pub" '{"type":"matchRepository"}'
check "verify: wrong key rejects (exit 3)" expect_rc 3 $VERIFY --policy "$T/p-wrong.json" "docker://$REG/test/app:v1"
pol "$T/p-id.json" "$K/ec.pub" '{"type":"exactRepository","dockerRepository":"'"$REG"'/other/app"}'
check "verify: wrong identity rejects (exit 3)" expect_rc 3 $VERIFY --policy "$T/p-id.json" "docker://$REG/test/app:v1"
pol "$T/p-def.json" "$K/ec.pub" '{"type":"matchRepoDigestOrExact"}'
check "verify: default identity rule needs a tag in the signature (cosign writes none): exit 3" \
	expect_rc 3 $VERIFY --policy "$T/p-def.json" "docker://$REG/test/app:v1"
pol "$T/p-remap.json" "$K/rsa.pub" '{"type":"remapIdentity","prefix":"'"$REG"'/test","signedPrefix":"registry.example.com/team"}'
check "verify: remapIdentity accepts the --sign-identity signature" expect_rc 0 $VERIFY --policy "$T/p-remap.json" "docker://$REG/test/app:v1"
pol "$T/p-remap2.json" "$K/ec.pub" '{"type":"remapIdentity","prefix":"'"$REG"'/test","signedPrefix":"registry.example.com/team"}'
check "verify: remapIdentity rejects the repository-only signature (exit 3)" expect_rc 3 $VERIFY --policy "$T/p-remap2.json" "docker://$REG/test/app:v1"
pol "$T/p-p384.json" "$K/p384.pub" '{"type":"matchRepository"}'
check "verify: P-384 (SHA-256, as containers/image) by digest" expect_rc 0 $VERIFY --policy "$T/p-p384.json" "docker://$REG/test/app@$D2"
finish
