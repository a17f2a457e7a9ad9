#!/bin/bash
# copy --policy FILE checks the source against the trust policy before
# anything is written, as skopeo copy does, and --insecure-policy skips the
# check.  A signed and an unsigned image on a loopback docker-registry
# (GnuPG signatures written by skopeo --sign-by into a file:// lookaside;
# Debian's skopeo 1.9.3 has sigstore disabled, so the sigstoreSigned case
# is checked on our side only): every verdict is compared with skopeo's on
# the same policy; a rejection is exit 3 with skopeo's "Source image
# rejected: " message.
. "$TOP_SRCDIR/tests/lib/common.sh"
start_registry R || exit 1
REG=$REG_R
cd "$T" || exit 1
export GNUPGHOME="$T/gnupg"
mkdir -p "$GNUPGHOME" && chmod 700 "$GNUPGHOME"
gpg --batch --passphrase '' --quick-gen-key "Signer A <a@example.com>" ed25519 sign never 2>/dev/null
gpg --batch --passphrase '' --quick-gen-key "Signer B <b@example.com>" ed25519 sign never 2>/dev/null
FA=$(gpg --with-colons --list-keys a@example.com | awk -F: '/^fpr/ {print $10; exit}')
FB=$(gpg --with-colons --list-keys b@example.com | awk -F: '/^fpr/ {print $10; exit}')
gpg --export "$FA" > a.gpg
gpg --export "$FB" > b.gpg
# skopeo 1.9.3 reads the legacy spelling, coco-img the current one
mkdir -p regd-skopeo regd sigs
printf 'default-docker:\n  sigstore-staging: file://%s/sigs\n  sigstore: file://%s/sigs\n' "$T" "$T" > regd-skopeo/default.yaml
printf 'default-docker:\n  lookaside: file://%s/sigs\n' "$T" > regd/default.yaml
SK="skopeo --registries.d $T/regd-skopeo"
mkimage "$T/img:v1" --layer "f:a=signed" >/dev/null
mkimage "$T/img:v2" --layer "f:a=unsigned" >/dev/null
$SKOPEO --registries.d "$T/regd-skopeo" copy -q --dest-tls-verify=false --sign-by "$FA" "oci:$T/img:v1" "docker://$REG/app/signed:v1" || exit 1
$SKOPEO copy -q --dest-tls-verify=false "oci:$T/img:v2" "docker://$REG/app/unsigned:v1" || exit 1
# policy NAME KEYFILE: reject by default, signedBy KEYFILE for REG/app
policy() {
    printf '{"default":[{"type":"reject"}],"transports":{"docker":{"%s/app":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"%s"}]}}}\n' \
        "$REG" "$T/$2" > "$T/$1.json"
}
policy good a.gpg
policy wrong b.gpg
printf '{"default":[{"type":"insecureAcceptAnything"}]}\n' > any.json

# ours NAME POLICY IMAGE [FLAGS]: coco-img copy, stderr in NAME.err, exit status in NAME.rc
ours() {
    _n=$1 _p=$2 _i=$3; shift 3
    "$COCO_IMG" copy -q --src-tls-verify=false --registries.d "$T/regd" --policy "$T/$_p.json" "$@" \
        "docker://$REG/app/$_i:v1" "oci:$T/out-$_n:t" 2>"$T/$_n.err"
    echo $? > "$T/$_n.rc"
}
# theirs NAME POLICY IMAGE [FLAGS]: skopeo 1.9.3 the same way (it cannot store
# signatures in oci:, so it drops them after its check)
theirs() {
    _n=$1 _p=$2 _i=$3; shift 3
    $SK --policy "$T/$_p.json" "$@" copy -q --remove-signatures --src-tls-verify=false \
        "docker://$REG/app/$_i:v1" "oci:$T/sk-$_n:t" 2>"$T/sk-$_n.err"
    echo $? > "$T/sk-$_n.rc"
}
# verdict NAME: accepted / rejected from our exit status and skopeo's
agree() {
    _o=$(cat "$T/$1.rc") _s=$(cat "$T/sk-$1.rc")
    [ "$_o" -eq 0 ] && [ "$_s" -eq 0 ] && return 0
    [ "$_o" -ne 0 ] && [ "$_s" -ne 0 ] && return 0
    echo "coco-img exit $_o, skopeo exit $_s"; cat "$T/$1.err" "$T/sk-$1.err"; return 1
}
has() { grep -F -q -- "$2" "$T/$1" || { echo "no \"$2\" in:"; cat "$T/$1"; return 1; }; }

for c in "signed-good good signed" "unsigned-good good unsigned" "signed-wrong wrong signed" "unsigned-any any unsigned"; do
    set -- $c
    ours "$1" "$2" "$3"; theirs "$1" "$2" "$3"
    check "$1: the same verdict as skopeo" agree "$1"
done
check "signed image, right key: copied (exit 0)" test "$(cat signed-good.rc)" = 0
check "signed image, right key: written" test -f "$T/out-signed-good/index.json"
check "unsigned image: exit 3" test "$(cat unsigned-good.rc)" = 3
check "unsigned image: skopeo's message prefix" has unsigned-good.err "coco-img: Source image rejected: "
check "skopeo says the same prefix" has sk-unsigned-good.err "Source image rejected: "
check "unsigned image: nothing written" test ! -e "$T/out-unsigned-good"
check "wrong key: exit 3" test "$(cat signed-wrong.rc)" = 3
check "wrong key: Source image rejected" has signed-wrong.err "Source image rejected: "
check "insecureAcceptAnything: copied" test "$(cat unsigned-any.rc)" = 0

ours insecure good unsigned --insecure-policy; theirs insecure good unsigned --insecure-policy
check "--insecure-policy: the unsigned image is copied" test "$(cat insecure.rc)" = 0
check "--insecure-policy: as skopeo" agree insecure
printf '{"default":[{"type":"reject"}]}\n' > rej.json
ours reject rej signed; theirs reject rej signed
check "reject policy: exit 3, as skopeo refuses" agree reject
check "reject policy: exit 3" test "$(cat reject.rc)" = 3
check "reject policy: skopeo's message" has reject.err "Source image rejected: "
check "policy before the command name (global option)" "$COCO_IMG" --policy "$T/good.json" copy -q \
    --src-tls-verify=false --registries.d "$T/regd" "docker://$REG/app/signed:v1" "oci:$T/out-global:t"
check "global --policy: unsigned refused" expect_rc 3 "$COCO_IMG" --policy "$T/good.json" copy -q \
    --src-tls-verify=false --registries.d "$T/regd" "docker://$REG/app/unsigned:v1" "oci:$T/out-global2:t"
echo '{bad' > bad.json
ours bad bad signed
check "malformed policy: exit 2" test "$(cat bad.rc)" = 2
# cosign signatures and a sigstoreSigned policy (our side only, see above)
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out key.pem
openssl pkey -in key.pem -pubout -out key.pub
"$COCO_IMG" sign -q --tls-verify=false --key key.pem "docker://$REG/app/signed:v1" || exit 1
printf 'docker:\n  %s:\n    use-sigstore-attachments: true\n' "$REG" > regd/sig.yaml
printf '{"default":[{"type":"reject"}],"transports":{"docker":{"%s/app":[{"type":"sigstoreSigned","keyPath":"%s/key.pub","signedIdentity":{"type":"matchRepository"}}]}}}\n' \
    "$REG" "$T" > cosign.json
ours cosign-signed cosign signed
check "sigstoreSigned, cosign-signed image: copied" test "$(cat cosign-signed.rc)" = 0
ours cosign-unsigned cosign unsigned
check "sigstoreSigned, unsigned image: exit 3" test "$(cat cosign-unsigned.rc)" = 3
check "no --policy: no check (an unsigned image is copied)" "$COCO_IMG" copy -q --src-tls-verify=false \
    "docker://$REG/app/unsigned:v1" "oci:$T/out-nopolicy:t"
finish
