# coco-img verify against a loopback registry with skopeo-made simple
# signatures (GnuPG keys in $T, lookaside in a file:// directory): a policy x
# image matrix, each verdict compared with skopeo's own (skopeo copy --policy).
. "$TOP_SRCDIR/tests/lib/common.sh"

start_registry R || exit 1
R=$REG_R
export GNUPGHOME="$T/gnupg"
mkdir -p "$GNUPGHOME" && chmod 700 "$GNUPGHOME"
gpg --batch --passphrase '' --quick-gen-key "Signer A <a@example.com>" ed25519 sign never 2>/dev/null
gpg --batch --passphrase '' --quick-gen-key "Signer B <b@example.com>" nistp256 sign never 2>/dev/null
FA=$(gpg --with-colons --list-keys a@example.com | awk -F: '/^fpr/ {print $10; exit}')
FB=$(gpg --with-colons --list-keys b@example.com | awk -F: '/^fpr/ {print $10; exit}')
gpg --export "$FA" > "$T/a.gpg"
gpg --export --armor "$FB" > "$T/b.asc"
KA=$(base64 -w0 < "$T/a.gpg")

# signatures go to a file:// lookaside, written by skopeo (legacy spelling,
# which skopeo 1.9.3 reads), read by coco-img with the current spelling
mkdir -p "$T/regd-skopeo" "$T/regd" "$T/sigs"
printf 'default-docker:\n  sigstore-staging: file://%s/sigs\n  sigstore: file://%s/sigs\n' "$T" "$T" \
    > "$T/regd-skopeo/default.yaml"
printf 'default-docker:\n  lookaside: file://%s/sigs\n' "$T" > "$T/regd/default.yaml"
SK="skopeo --policy $T/insecure-policy.json --registries.d $T/regd-skopeo"

mkimage "$T/img:v1" >/dev/null
mkimage "$T/img:v2" --layer 'f:other=2' >/dev/null
$SK copy -q --dest-tls-verify=false --sign-by "$FA" oci:"$T/img:v1" docker://$R/signed/app:v1 || exit 1
$SK copy -q --dest-tls-verify=false oci:"$T/img:v1" docker://$R/unsigned/app:v1 || exit 1
$SK copy -q --dest-tls-verify=false --sign-by "$FB" oci:"$T/img:v1" docker://$R/otherkey/app:v1 || exit 1
# the same manifest under another name, with signed/app's signature copied
$SK copy -q --dest-tls-verify=false oci:"$T/img:v1" docker://$R/copy/app:v1 || exit 1
D1=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' docker://$R/signed/app:v1)
mkdir -p "$T/sigs/copy/app@${D1/:/=}"
cp "$T/sigs/signed/app@${D1/:/=}/signature-1" "$T/sigs/copy/app@${D1/:/=}/"
# a different manifest carrying signed/app:v1's signature (tampered)
$SK copy -q --dest-tls-verify=false oci:"$T/img:v2" docker://$R/signed/app:v2 || exit 1
D2=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' docker://$R/signed/app:v2)
mkdir -p "$T/sigs/signed/app@${D2/:/=}"
cp "$T/sigs/signed/app@${D1/:/=}/signature-1" "$T/sigs/signed/app@${D2/:/=}/"
# an encrypted, signed image
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/enc.key" 2>/dev/null
openssl pkey -in "$T/enc.key" -pubout -out "$T/enc.pub"
$SK copy -q --dest-tls-verify=false --encryption-key jwe:"$T/enc.pub" --sign-by "$FA" \
    oci:"$T/img:v1" docker://$R/encrypted/app:v1 || exit 1

V="$COCO_IMG verify --tls-verify=false --registries.d $T/regd"

# policy FILE BODY-OF-SCOPE-"" : write a policy
policy() {
    printf '{"default":[{"type":"reject"}],"transports":{"docker":{"":[%s]}}}\n' "$2" > "$1"
}
SB_A='{"type":"signedBy","keyType":"GPGKeys","keyPath":"'$T'/a.gpg"'

# case NAME POLICY IMAGE WANT-RC [REASON]: coco-img's verdict, and skopeo's
n=0
case_() {
    c_name=$1 _pol=$2 _img=$3 _want=$4 _reason=${5:-}
    n=$((n + 1))
    check "$c_name: coco-img exit $_want" expect_rc "$_want" \
        sh -c "$V --policy '$_pol' --output json '$_img' > '$T/rep.json'"
    if [ -n "$_reason" ]; then
        check "$c_name: reason $_reason" test "$(json_get "$T/rep.json" \
            "[r['reason'] for r in j['requirements'] if r['outcome']=='rejected'] or ['accepted']")" \
            = "['$_reason']"
    fi
    # skopeo's own verdict (containers/image 5.23.1): accepted iff the copy
    # works; run in the background and compared at the end
    [ "$_want" = 1 ] && return 0
    echo "$n|$c_name|$_want" >> "$T/sk-cases"
    ( if skopeo --policy "$_pol" --registries.d "$T/regd-skopeo" copy -q --remove-signatures \
          --src-tls-verify=false "$_img" oci:"$T/out-$n:x" >/dev/null 2>&1
      then echo 0; else echo 3; fi > "$T/sk-$n.rc" ) &
    _SKPIDS="$_SKPIDS $!"
}
_SKPIDS=""
skopeo_verdicts() {
    for p in $_SKPIDS; do wait "$p"; done
    while IFS='|' read -r _n c_name _want; do
        check "$c_name: skopeo agrees" test "$(cat "$T/sk-$_n.rc")" = "$_want"
    done < "$T/sk-cases"
}

P="$T/p-signed.json"; policy "$P" "$SB_A}"
case_ "signed"          "$P" docker://$R/signed/app:v1 0
case_ "unsigned"        "$P" docker://$R/unsigned/app:v1 3 no-signature
case_ "another key"     "$P" docker://$R/otherkey/app:v1 3 no-trusted-signature
case_ "tampered"        "$P" docker://$R/signed/app:v2 3 wrong-image-or-identity
case_ "copied sig"      "$P" docker://$R/copy/app:v1 3 wrong-image-or-identity
case_ "encrypted"       "$P" docker://$R/encrypted/app:v1 0
case_ "by digest"       "$P" docker://$R/signed/app@$D1 0
case_ "missing tag" "$P" docker://$R/signed/app:nosuch 1

P="$T/p-scoped.json"
printf '{"default":[{"type":"reject"}],"transports":{"docker":{"%s/signed":[%s}],"%s/unsigned/app:v1":[{"type":"insecureAcceptAnything"}],"%s":[{"type":"reject"}]}}}\n' \
    "$R" "$SB_A" "$R" "$R" > "$P"
case_ "scoped: signed repo"      "$P" docker://$R/signed/app:v1 0
case_ "scoped: exact unsigned"   "$P" docker://$R/unsigned/app:v1 0
case_ "scoped: host reject"      "$P" docker://$R/otherkey/app:v1 3 rejected-by-policy
P="$T/p-default.json"; printf '{"default":[%s}]}\n' "$SB_A" > "$P"
case_ "default only"             "$P" docker://$R/signed/app:v1 0

id_pol() { _f=$(mktemp "$T/p-idXXXXXX"); policy "$_f" "$SB_A"',"signedIdentity":'"$1"'}'; echo "$_f"; }
case_ "matchExact tag"    "$(id_pol '{"type":"matchExact"}')" docker://$R/signed/app:v1 0
case_ "matchExact digest" "$(id_pol '{"type":"matchExact"}')" docker://$R/signed/app@$D1 3 wrong-image-or-identity
case_ "matchRepoDigestOrExact digest" "$(id_pol '{"type":"matchRepoDigestOrExact"}')" docker://$R/signed/app@$D1 0
case_ "matchRepository"   "$(id_pol '{"type":"matchRepository"}')" docker://$R/signed/app:v1 0
case_ "matchRepository other repo" "$(id_pol '{"type":"matchRepository"}')" docker://$R/copy/app:v1 3 wrong-image-or-identity
case_ "exactReference"    "$(id_pol '{"type":"exactReference","dockerReference":"'$R'/signed/app:v1"}')" docker://$R/copy/app:v1 0
case_ "exactReference wrong" "$(id_pol '{"type":"exactReference","dockerReference":"'$R'/signed/app:v9"}')" docker://$R/signed/app:v1 3 wrong-image-or-identity
case_ "exactRepository"   "$(id_pol '{"type":"exactRepository","dockerRepository":"'$R'/signed/app"}')" docker://$R/copy/app:v1 0
case_ "remapIdentity"     "$(id_pol '{"type":"remapIdentity","prefix":"'$R'/copy","signedPrefix":"'$R'/signed"}')" docker://$R/copy/app:v1 0
case_ "remapIdentity no match" "$(id_pol '{"type":"remapIdentity","prefix":"'$R'/other","signedPrefix":"'$R'/signed"}')" docker://$R/copy/app:v1 3 wrong-image-or-identity

P="$T/p-keys.json"; policy "$P" '{"type":"signedBy","keyType":"GPGKeys","keyPaths":["'$T'/b.asc","'$T'/a.gpg"]}'
case_ "keyPaths union"    "$P" docker://$R/signed/app:v1 0
case_ "keyPaths union B"  "$P" docker://$R/otherkey/app:v1 0
P="$T/p-data.json"; policy "$P" '{"type":"signedBy","keyType":"GPGKeys","keyData":"'$KA'"}'
case_ "keyData"           "$P" docker://$R/signed/app:v1 0
P="$T/p-and.json"; policy "$P" "$SB_A"'},{"type":"signedBy","keyType":"GPGKeys","keyPath":"'$T'/b.asc"}'
case_ "two keys required" "$P" docker://$R/signed/app:v1 3 no-trusted-signature

skopeo_verdicts

# configuration and lookup errors
printf '{"default":[{"type":"reject"}],"transports":{"docker":{"x":[{"type":"signedBy","keyType":"GPGKeys","keyPth":"/k"}]}}}' > "$T/bad.json"
check "malformed policy: exit 2" expect_rc 2 $V --policy "$T/bad.json" docker://$R/signed/app:v1
check "malformed policy: names the place" sh -c "$V --policy $T/bad.json docker://$R/signed/app:v1 2>&1 | grep -q 'transports.docker\[\"x\"\]\[0\]: unknown field \"keyPth\"'"
check "missing policy: exit 2" expect_rc 2 $V --policy "$T/nosuch.json" docker://$R/signed/app:v1
mkdir -p "$T/regd-bad" "$T/regd-http"
printf 'docker: [' > "$T/regd-bad/x.yaml"
check "malformed registries.d: exit 2" expect_rc 2 $COCO_IMG verify --tls-verify=false \
    --registries.d "$T/regd-bad" --policy "$T/p-signed.json" docker://$R/signed/app:v1
printf 'default-docker:\n  lookaside: http://127.0.0.1:1/sigs\n' > "$T/regd-http/x.yaml"
check "lookup failure: exit 1" expect_rc 1 $COCO_IMG verify --tls-verify=false \
    --registries.d "$T/regd-http" --policy "$T/p-signed.json" docker://$R/signed/app:v1
$COCO_IMG verify --tls-verify=false --registries.d "$T/regd-http" --policy "$T/p-signed.json" \
    --output json docker://$R/signed/app:v1 > "$T/rep.json" 2>/dev/null
check "lookup failure: reason" test "$(json_get "$T/rep.json" "j['requirements'][0]['reason']")" = lookup-failed
# an http lookaside served from the same directory
(cd "$T" && exec "$PY" -m http.server --bind 127.0.0.1 0 > "$T/http.log" 2>&1) &
_PIDS="$_PIDS $!"
HP=$(wait_for_log "$T/http.log" 'port [0-9]+' 10 | awk '{print $2}')
printf 'default-docker:\n  lookaside: http://127.0.0.1:%s/sigs\n' "$HP" > "$T/regd-http/x.yaml"
check "http lookaside: accepted" expect_rc 0 $COCO_IMG verify --tls-verify=false \
    --registries.d "$T/regd-http" --policy "$T/p-signed.json" docker://$R/signed/app:v1

# human output: a verdict line and one line per requirement
$V --policy "$T/p-signed.json" docker://$R/signed/app:v1 > "$T/out.txt"
check "text output" grep -q "^Accepted: docker://$R/signed/app:v1" "$T/out.txt"
check "text output requirement" grep -q "requirement 0 signedBy: accepted (trusted-signature)" "$T/out.txt"

# speed: a signed image on loopback answers well under a second
s=$(date +%s%N)
$V --policy "$T/p-signed.json" docker://$R/signed/app:v1 >/dev/null
e=$(date +%s%N)
check "verify under a second ($(( (e - s) / 1000000 )) ms)" test $(( (e - s) / 1000000 )) -lt 1000

finish
