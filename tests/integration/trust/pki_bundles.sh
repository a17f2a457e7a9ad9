#!/bin/bash
# Sigstore bundles signed with a certificate of a local PKI (not Fulcio)
# satisfy sigstoreSigned "pki" requirements as containers/image's pki check
# does for legacy signatures: the certificate chains to caRoots (with
# caIntermediates) now, with the code-signing usage, and carries the
# subjectEmail / subjectHostname asked for.  The CA, leaves and bundles are
# made by tests/lib/pki_bundle.py; the bundles are attached as cosign v3
# does (referrers tag schema on docker-registry, index.json in a layout).
# Refused with the failed check named: another CA, an expired leaf, a leaf
# without code signing, no intermediates given (chain); another e-mail or
# hostname (identity); a statement of another digest (digest); a bundle
# signed with a bare key (signature).
. "$TOP_SRCDIR/tests/lib/common.sh"
RT="$PY $LIB/referrers_tool.py"
BMT=application/vnd.dev.sigstore.bundle.v0.3+json

start_registry R || exit 1
R=$REG_R
P=$T/pki
D=$(mkimage "$T/img:v1" --layer "f:a=pki")
$PY "$LIB/pki_bundle.py" "$P" "$D" || { echo "pki_bundle.py failed"; exit 1; }
cp -r "$T/img" "$T/lay"
CASES="good other-ca expired no-codesign other-digest key"
for c in $CASES; do
    $SKOPEO copy -q --dest-tls-verify=false "oci:$T/img:v1" "docker://$R/pki/$c:v1" || exit 1
    m=$($RT make "$T/img" "$D" "$BMT" "$BMT" "$P/$c.json") && $RT push "$T/img" "$m" "$R" "pki/$c" --tag ||
        { echo "attaching $c failed"; exit 1; }
done

mkdir -p "$T/regd"
printf 'default-docker:\n  use-sigstore-attachments: true\n' > "$T/regd/default.yaml"
policy() { # FILE PKI-MEMBERS
    printf '{"default":[{"type":"reject"}],"transports":{"docker":{"":[{"type":"sigstoreSigned","pki":{%s},"signedIdentity":{"type":"matchRepository"}}]},"oci":{"":[{"type":"sigstoreSigned","pki":{%s}}]}}}\n' "$2" "$2" > "$1"
}
CA='"caRootsPath":"'$P'/roots.pem","caIntermediatesPath":"'$P'/intermediates.pem"'
policy "$T/p-email.json" "$CA"',"subjectEmail":"signer@example.com"'
policy "$T/p-host.json" "$CA"',"subjectHostname":"myhost.example.com"'
policy "$T/p-both.json" "$CA"',"subjectEmail":"signer@example.com","subjectHostname":"myhost.example.com"'
policy "$T/p-other-email.json" "$CA"',"subjectEmail":"other@example.com"'
policy "$T/p-other-host.json" "$CA"',"subjectHostname":"otherhost.example.com"'
policy "$T/p-data.json" '"caRootsData":"'$(base64 -w0 < "$P/roots.pem")'","caIntermediatesData":"'$(base64 -w0 < "$P/intermediates.pem")'","subjectEmail":"signer@example.com"'
policy "$T/p-no-inter.json" '"caRootsPath":"'$P'/roots.pem","subjectEmail":"signer@example.com"'
V="$COCO_IMG verify --tls-verify=false --registries.d $T/regd --output json"

# pol NAME POLICY IMAGE WANT-RC [FAILED-CHECK]
pol() {
    check "$1: exit $4" expect_rc "$4" sh -c "$V --policy '$2' '$3' > '$T/out.json'"
    check "$1: the bundle was judged" test "$(json_get "$T/out.json" \
        "[s['format'] for s in j['requirements'][0]['signatures']]")" = "['sigstore-bundle']"
    [ -z "${5:-}" ] || check "$1: failed check $5" test \
        "$(json_get "$T/out.json" "j['requirements'][0]['signatures'][0].get('failed_check')")" = "$5"
}
img() { echo "docker://$R/pki/$1:v1"; }
pol "subjectEmail" "$T/p-email.json" "$(img good)" 0
check "accepted as a PKI bundle" test "$(json_get "$T/out.json" "j['requirements'][0]['message']")" \
    = "signed with a trusted PKI certificate (Sigstore bundle)"
pol "subjectHostname" "$T/p-host.json" "$(img good)" 0
pol "subjectEmail and subjectHostname" "$T/p-both.json" "$(img good)" 0
pol "caRootsData / caIntermediatesData" "$T/p-data.json" "$(img good)" 0
pol "another e-mail" "$T/p-other-email.json" "$(img good)" 3 identity
pol "another hostname" "$T/p-other-host.json" "$(img good)" 3 identity
pol "no caIntermediates (a v0.3 bundle carries none)" "$T/p-no-inter.json" "$(img good)" 3 chain
pol "leaf of another CA" "$T/p-email.json" "$(img other-ca)" 3 chain
pol "expired leaf (checked now, as containers/image)" "$T/p-email.json" "$(img expired)" 3 chain
pol "leaf without code signing" "$T/p-email.json" "$(img no-codesign)" 3 chain
pol "statement of another digest" "$T/p-email.json" "$(img other-digest)" 3 digest
pol "bundle signed with a bare key" "$T/p-email.json" "$(img key)" 3 signature

# an OCI layout: the referrer listed in index.json
$RT make "$T/lay" "$D" "$BMT" "$BMT" "$P/good.json" --in-index >/dev/null
pol "OCI layout" "$T/p-email.json" "oci:$T/lay:v1" 0
pol "OCI layout, another hostname" "$T/p-other-host.json" "oci:$T/lay:v1" 3 identity
finish
