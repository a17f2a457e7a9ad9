#!/bin/bash
# containers/image's cosign fixtures (key, key + Rekor, Fulcio + Rekor, PKI;
# tests/data/containers-image-signature) through `coco-img verify --policy`,
# each with the verdict containers/image's own tests give it
# (signature/policy_eval_sigstore_test.go).  The dir: fixtures are turned
# into OCI layouts with a sigstore attachment (tests/lib/ci_fixture_layout.py);
# oci: images have no docker reference, so containers/image's
# matchRepository (with the image name its test uses) becomes
# exactRepository of that name, and matchExact exactReference.
# Not representable as a layout (no readable manifest):
# dir-img-cosign-no-manifest and dir-img-cosign-manifest-digest-error; the
# unit test (unit/trust-policy) judges them from the bytes.
. "$TOP_SRCDIR/tests/lib/common.sh"

F="$TOP_SRCDIR/tests/data/containers-image-signature"
for d in valid valid-2 mixed modified-manifest other-attachment valid-with-tag \
         key-rekor-valid fulcio-rekor-valid pki-valid; do
    $PY "$LIB/ci_fixture_layout.py" "$F/dir-img-cosign-$d" "$T/$d" || exit 1
done
SINGLE=192.168.64.2:5000/cosign-signed-single-sample
KR=192.168.64.2:5000/cosign-signed/key-1
FR=192.168.64.2:5000/cosign-signed/fulcio-rekor-1
PK=localhost:5000/test
FULCIO='"fulcio":{"caPath":"'$F'/fulcio_v1.crt.pem","oidcIssuer":"https://github.com/login/oauth","subjectEmail":"mitr@redhat.com"}'
PKI='"pki":{"caRootsPath":"'$F'/pki_root_crts.pem","caIntermediatesPath":"'$F'/pki_intermediate_crts.pem","subjectEmail":"qiwan@redhat.com","subjectHostname":"myhost.example.com"}'
b64() { base64 -w0 < "$1"; }

# case NAME IMAGE-DIR REPO WANT-RC WANT-REASON REQUIREMENT-MEMBERS [FAILED-CHECK]
# (FAILED-CHECK: what the first signature's entry names as failed)
n=0
case_() {
    local name=$1 dir=$2 repo=$3 want=$4 reason=$5 req=$6 fc=${7:-} ident
    n=$((n + 1))
    case "$repo" in
        *:tag|*:othertag) ident='{"type":"exactReference","dockerReference":"'$repo'"}' ;;
        *) ident='{"type":"exactRepository","dockerRepository":"'$repo'"}' ;;
    esac
    printf '{"default":[{"type":"reject"}],"transports":{"oci":{"":[{"type":"sigstoreSigned",%s,"signedIdentity":%s}]}}}\n' \
        "$req" "$ident" > "$T/p$n.json"
    check "$name: exit $want" expect_rc "$want" \
        sh -c "$COCO_IMG verify --policy '$T/p$n.json' --output json 'oci:$T/$dir:latest' > '$T/r$n.json'"
    check "$name: reason $reason" test "$(json_get "$T/r$n.json" "j['requirements'][0]['reason']")" = "$reason"
    [ -z "$fc" ] || check "$name: failed check $fc" test \
        "$(json_get "$T/r$n.json" "j['requirements'][0]['signatures'][0].get('failed_check')")" = "$fc"
}

# public keys (TestPRSigstoreSignedIsRunningImageAllowed / IsSignatureAccepted)
K1='"keyPath":"'$F'/cosign.pub"'
case_ "valid"                  valid             $SINGLE 0 trusted-signature "$K1"
case_ "valid, keyPaths"        valid             $SINGLE 0 trusted-signature '"keyPaths":["'$F'/cosign2.pub","'$F'/cosign.pub"]'
case_ "valid, keyDatas"        valid             $SINGLE 0 trusted-signature '"keyDatas":["'$(b64 "$F/cosign2.pub")'","'$(b64 "$F/cosign.pub")'"]'
case_ "two valid signatures"   valid-2           $SINGLE 0 trusted-signature "$K1"
case_ "invalid, then valid"    mixed             $SINGLE 0 trusted-signature "$K1"
case_ "modified manifest"      modified-manifest $SINGLE 3 wrong-image-or-identity "$K1" digest
case_ "other attachment only"  other-attachment  $SINGLE 3 no-signature "$K1"
case_ "unknown key"            valid             $SINGLE 3 no-trusted-signature '"keyPath":"'$F'/cosign2.pub"' signature
case_ "other identity"         valid             this/does-not 3 wrong-image-or-identity "$K1" identity
case_ "matchExact, same tag"   valid-with-tag    192.168.64.2:5000/skopeo-signed:tag 0 trusted-signature "$K1"
case_ "matchExact, other tag"  valid-with-tag    192.168.64.2:5000/skopeo-signed:othertag 3 wrong-image-or-identity "$K1"

# key + Rekor SET
case_ "key+rekor"              key-rekor-valid $KR 0 trusted-signature '"keyPath":"'$F'/cosign2.pub","rekorPublicKeyPath":"'$F'/rekor.pub"'
case_ "key+rekor, both lists"  key-rekor-valid $KR 0 trusted-signature '"keyPaths":["'$F'/cosign.pub","'$F'/cosign2.pub"],"rekorPublicKeyPaths":["'$F'/cosign.pub","'$F'/rekor.pub"]'
case_ "key+rekor, inline"      key-rekor-valid $KR 0 trusted-signature '"keyData":"'$(b64 "$F/cosign2.pub")'","rekorPublicKeyDatas":["'$(b64 "$F/rekor.pub")'"]'
case_ "key+rekor, wrong Rekor key" key-rekor-valid $KR 3 no-trusted-signature '"keyPath":"'$F'/cosign2.pub","rekorPublicKeyPath":"'$F'/cosign.pub"' tlog
case_ "key+rekor, no SET"      valid           $SINGLE 3 no-trusted-signature "$K1"',"rekorPublicKeyPath":"'$F'/rekor.pub"'
case_ "Rekor key not ECDSA"    key-rekor-valid $KR 3 key-error '"keyPath":"'$F'/cosign2.pub","rekorPublicKeyPath":"'$F'/some-rsa-key.pub"'
case_ "key without Rekor ignores the SET" key-rekor-valid $KR 0 trusted-signature '"keyPath":"'$F'/cosign2.pub"'

# Fulcio + Rekor
case_ "fulcio"                 fulcio-rekor-valid $FR 0 trusted-signature "$FULCIO"',"rekorPublicKeyPath":"'$F'/rekor.pub"'
case_ "fulcio, caData"         fulcio-rekor-valid $FR 0 trusted-signature '"fulcio":{"caData":"'$(b64 "$F/fulcio_v1.crt.pem")'","oidcIssuer":"https://github.com/login/oauth","subjectEmail":"mitr@redhat.com"},"rekorPublicKeyData":"'$(b64 "$F/rekor.pub")'"'
case_ "fulcio, Rekor key list" fulcio-rekor-valid $FR 0 trusted-signature "$FULCIO"',"rekorPublicKeyPaths":["'$F'/cosign.pub","'$F'/rekor.pub"]'
case_ "fulcio, other e-mail"   fulcio-rekor-valid $FR 3 no-trusted-signature '"fulcio":{"caPath":"'$F'/fulcio_v1.crt.pem","oidcIssuer":"https://github.com/login/oauth","subjectEmail":"this-does-not-match@example.com"},"rekorPublicKeyPath":"'$F'/rekor.pub"' identity
case_ "fulcio, other issuer"   fulcio-rekor-valid $FR 3 no-trusted-signature '"fulcio":{"caPath":"'$F'/fulcio_v1.crt.pem","oidcIssuer":"https://accounts.google.com","subjectEmail":"mitr@redhat.com"},"rekorPublicKeyPath":"'$F'/rekor.pub"' issuer
case_ "fulcio, wrong Rekor key" fulcio-rekor-valid $FR 3 no-trusted-signature "$FULCIO"',"rekorPublicKeyPath":"'$F'/cosign.pub"' tlog
case_ "fulcio, other CA"       fulcio-rekor-valid $FR 3 no-trusted-signature '"fulcio":{"caPath":"'$F'/pki_root_crts.pem","oidcIssuer":"https://github.com/login/oauth","subjectEmail":"mitr@redhat.com"},"rekorPublicKeyPath":"'$F'/rekor.pub"' chain
case_ "fulcio, other repository" fulcio-rekor-valid 192.168.64.2:5000/other 3 wrong-image-or-identity "$FULCIO"',"rekorPublicKeyPath":"'$F'/rekor.pub"'
case_ "fulcio, key-signed image" key-rekor-valid $KR 3 no-trusted-signature "$FULCIO"',"rekorPublicKeyPath":"'$F'/rekor.pub"'

# PKI
case_ "pki"                    pki-valid $PK 0 trusted-signature "$PKI"
case_ "pki, roots only"        pki-valid $PK 0 trusted-signature '"pki":{"caRootsPath":"'$F'/pki_root_crts.pem","subjectEmail":"qiwan@redhat.com"}'
case_ "pki, other hostname"    pki-valid $PK 3 no-trusted-signature '"pki":{"caRootsPath":"'$F'/pki_root_crts.pem","subjectHostname":"other.example.com"}' identity
case_ "pki, other e-mail"      pki-valid $PK 3 no-trusted-signature '"pki":{"caRootsPath":"'$F'/pki_root_crts.pem","subjectEmail":"someone@example.com"}'
case_ "pki, Fulcio CA as root" pki-valid $PK 3 no-trusted-signature '"pki":{"caRootsPath":"'$F'/fulcio_v1.crt.pem","subjectEmail":"qiwan@redhat.com"}'

# cosign-style verification of the same layouts, without a policy file
# (oci: layouts have no repository: the manifest digest binds the signature)
V="$COCO_IMG verify --output json"
check "--key: accepted" expect_rc 0 $V --key "$F/cosign.pub" "oci:$T/valid:latest"
check "--key: another key refused" expect_rc 3 $V --key "$F/cosign2.pub" "oci:$T/valid:latest"
check "--key: modified manifest refused" expect_rc 3 $V --key "$F/cosign.pub" "oci:$T/modified-manifest:latest"
check "--key: unreadable key is exit 2" expect_rc 2 $V --key "$T/nosuch.pub" "oci:$T/valid:latest"
check "--key with --policy is exit 2" expect_rc 2 $V --key "$F/cosign.pub" --policy "$T/p1.json" "oci:$T/valid:latest"
check "keyless without --trusted-root is exit 2" expect_rc 2 $V --certificate-identity mitr@redhat.com \
    --certificate-oidc-issuer https://github.com/login/oauth "oci:$T/fulcio-rekor-valid:latest"
check "keyless without an issuer is exit 2" expect_rc 2 $V --certificate-identity mitr@redhat.com \
    --trusted-root "$T/root.json" "oci:$T/fulcio-rekor-valid:latest"
# a trusted root holding upstream's Fulcio root and Rekor key (no CT log:
# the fixture's SCT comes from the public one, hence --insecure-ignore-sct)
$PY - "$F" "$T/root.json" <<'PYEOF'
import base64, hashlib, json, sys
from cryptography import x509
from cryptography.hazmat.primitives import serialization
f, out = sys.argv[1], sys.argv[2]
der = serialization.Encoding.DER
rk = serialization.load_pem_public_key(open(f + "/rekor.pub", "rb").read())
spki = rk.public_bytes(der, serialization.PublicFormat.SubjectPublicKeyInfo)
ca = x509.load_pem_x509_certificate(open(f + "/fulcio_v1.crt.pem", "rb").read())
b64 = lambda b: base64.b64encode(b).decode()
json.dump({"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
           "tlogs": [{"baseUrl": "https://rekor.sigstore.dev", "hashAlgorithm": "SHA2_256",
                      "publicKey": {"rawBytes": b64(spki), "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                                    "validFor": {"start": "2021-01-12T11:53:27Z"}},
                      "logId": {"keyId": b64(hashlib.sha256(spki).digest())}}],
           "certificateAuthorities": [{"subject": {"organization": "sigstore.dev", "commonName": "sigstore"},
                                       "uri": "https://fulcio.sigstore.dev",
                                       "certChain": {"certificates": [{"rawBytes": b64(ca.public_bytes(der))}]},
                                       "validFor": {"start": "2021-03-07T03:20:29Z"}}],
           "ctlogs": [], "timestampAuthorities": []}, open(out, "w"))
PYEOF
KL="--certificate-identity mitr@redhat.com --certificate-oidc-issuer https://github.com/login/oauth --trusted-root $T/root.json"
check "keyless (upstream Fulcio + Rekor), SCT not required: accepted" expect_rc 0 $V $KL --insecure-ignore-sct "oci:$T/fulcio-rekor-valid:latest"
check "keyless, identity as a regular expression: accepted" expect_rc 0 $V --certificate-identity-regexp '^mitr@' \
    --certificate-oidc-issuer-regexp 'github\.com' --trusted-root "$T/root.json" --insecure-ignore-sct "oci:$T/fulcio-rekor-valid:latest"
$V $KL "oci:$T/fulcio-rekor-valid:latest" > "$T/sct.json"
check "keyless, SCT required but its log is not in the root: refused (sct)" test \
    "$(json_get "$T/sct.json" "j['requirements'][0]['signatures'][0]['failed_check']")" = sct
check "keyless, another identity: refused" expect_rc 3 $V --certificate-identity someone@example.com \
    --certificate-oidc-issuer https://github.com/login/oauth --trusted-root "$T/root.json" --insecure-ignore-sct "oci:$T/fulcio-rekor-valid:latest"
check "keyless on a key-signed image: refused" expect_rc 3 $V $KL --insecure-ignore-sct "oci:$T/key-rekor-valid:latest"
check "--key with --trusted-root: the SET is checked, accepted" expect_rc 0 $V --key "$F/cosign2.pub" --trusted-root "$T/root.json" "oci:$T/key-rekor-valid:latest"
check "--key with --trusted-root, no SET: refused" expect_rc 3 $V --key "$F/cosign.pub" --trusted-root "$T/root.json" "oci:$T/valid:latest"
check "--key with --trusted-root --insecure-ignore-tlog: accepted" expect_rc 0 $V --key "$F/cosign.pub" --trusted-root "$T/root.json" \
    --insecure-ignore-tlog "oci:$T/valid:latest"
# the policy form of the same: trustedRootPath + fulcio without caPath
printf '{"default":[{"type":"reject"}],"transports":{"oci":{"":[{"type":"sigstoreSigned","fulcio":{"oidcIssuer":"https://github.com/login/oauth","subjectEmail":"mitr@redhat.com"},"trustedRootPath":"%s","signedIdentity":{"type":"exactRepository","dockerRepository":"%s"}}]}}}\n' \
    "$T/root.json" "$FR" > "$T/p-root.json"
$COCO_IMG verify --policy "$T/p-root.json" --output json "oci:$T/fulcio-rekor-valid:latest" > "$T/root-rep.json"
check "policy trustedRootPath: the SCT is required there too (sct)" test \
    "$(json_get "$T/root-rep.json" "j['requirements'][0]['signatures'][0]['failed_check']")" = sct
finish
