# The legacy cosign signature tests (.sig attachments on a loopback
# docker-registry, judged by coco-img verify): keyless_registry.sh and
# tsa_legacy.sh.  Sourced after common.sh, once registry_copies has set
# REG and D.
#
# legacy_verifiers REPO DIR: the signatures' identity ID and issuer ISS;
#   $T/regd (registries.d with sigstore attachments on); REKOR, the
#   rekorPublicKeyData member for DIR/rekor.pub; the commands VP (verify
#   with a policy) and VC (cosign-style verify), both with JSON output;
#   KL, the keyless flags with DIR/root.json.  pol and cli look at
#   docker://$REG/REPO/CASE:v1.
# policy FILE MEMBERS: a policy whose one docker requirement is
#   sigstoreSigned with MEMBERS and matchRepository; the rest is rejected.
# pol NAME POLICY CASE WANT-RC [FAILED-CHECK]: a check that verify --policy
#   exits WANT-RC, and one that the first signature failed FAILED-CHECK.
# cli NAME CASE WANT-RC FAILED-CHECK FLAGS...: the same for cosign-style
#   verify with FLAGS ("" for no failed check).

legacy_verifiers() {
    _LEGACY_REPO=$1
    ID=dev@example.com
    ISS=https://issuer.example.com
    mkdir -p "$T/regd"
    printf 'default-docker:\n  use-sigstore-attachments: true\n' > "$T/regd/default.yaml"
    REKOR='"rekorPublicKeyData":"'$(base64 -w0 < "$2/rekor.pub")'"'
    VP="$COCO_IMG verify --tls-verify=false --registries.d $T/regd --output json"
    VC="$COCO_IMG verify --tls-verify=false --output json"
    KL="--certificate-identity $ID --certificate-oidc-issuer $ISS --trusted-root $2/root.json"
}

policy() {
    printf '{"default":[{"type":"reject"}],"transports":{"docker":{"":[{"type":"sigstoreSigned",%s,"signedIdentity":{"type":"matchRepository"}}]}}}\n' "$2" > "$1"
}

_failed_check() { # NAME WANT: the first signature's failed_check in $T/out.json
    check "$1: failed check $2" test \
        "$(json_get "$T/out.json" "j['requirements'][0]['signatures'][0].get('failed_check')")" = "$2"
}

pol() {
    check "policy $1: exit $4" expect_rc "$4" sh -c "$VP --policy '$2' 'docker://$REG/$_LEGACY_REPO/$3:v1' > '$T/out.json'"
    [ -z "${5:-}" ] || _failed_check "policy $1" "$5"
}

cli() {
    local name=$1 c=$2 want=$3 fc=$4; shift 4
    check "cli $name: exit $want" expect_rc "$want" sh -c "$VC $* 'docker://$REG/$_LEGACY_REPO/$c:v1' > '$T/out.json'"
    [ -z "$fc" ] || _failed_check "cli $name" "$fc"
}
