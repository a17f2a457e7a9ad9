#!/bin/bash
# Keyless signing: coco-img sign --fulcio-url URL --identity-token TOKEN
# --rekor-url URL.  The services are tests/lib/sigstore_doubles.py: a
# strict Fulcio v2 double (it verifies the OIDC token, a JWT of the test's
# own issuer key: signature, iss, aud "sigstore", exp; and the proof of
# possession; it issues a certificate with the token's SAN, the issuer
# extensions .1.1 and .1.8 and an SCT embedded with the test's CT key) and
# the Rekor v1 double of sign_tlog.sh.
#  - v3 bundle: the certificate as verification material and a dsse entry;
#    accepted by @sigstore/verify 2.1.1 with the trusted root (default
#    thresholds: tlog, SCT, chain at the integrated time) and the
#    identity/issuer policy, by coco-img verify --certificate-identity
#    --certificate-oidc-issuer --trusted-root and verify-blob; refused for
#    another identity or issuer and when tampered with.
#  - legacy .sig: cosign's certificate, chain and bundle annotations;
#    accepted by verify --certificate-identity ... --trusted-root and by a
#    policy's fulcio + rekorPublicKeyData.
#  - tokens the CA refuses (expired, another audience, another issuer key)
#    and a wrong proof of possession: exit 1, nothing written; flag
#    misuse: exit 2.  The ephemeral key is written nowhere.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/sigstore_doubles.sh"
sigstore_signing_setup || exit 1
ISS=https://oidc.local.test
ID=dev@example.com
WF=https://github.com/example/app/.github/workflows/release.yml@refs/heads/main
sigstore_token "$S" --email "$ID" > "$T/email.jwt"
sigstore_token "$S" --sub "$WF" > "$T/wf.jwt"
sigstore_token "$S" --email "$ID" --exp -60 > "$T/expired.jwt"
sigstore_token "$S" --email "$ID" --aud other > "$T/aud.jwt"
sigstore_token "$S" --email "$ID" --foreign-key > "$T/foreign.jwt"

registry_copies test app wf legacy bad || exit 1
SIGN="$COCO_IMG sign --tls-verify=false --fulcio-url $SIGSTORE_A --rekor-url $SIGSTORE_A"
blob() { curl -sf "http://$REG/v2/test/$1/blobs/$2" -o "$3"; }
KL="--certificate-identity $ID --certificate-oidc-issuer $ISS --trusted-root $ROOT"
VC="$COCO_IMG verify --tls-verify=false --output json"

# ---- v3 bundle, e-mail identity ----
check "sign v3 keyless (--identity-token @FILE)" bash -c "
	$SIGN --bundle-format=v3 --identity-token @'$T/email.jwt' --output json 'docker://$REG/test/app:v1' > '$T/r1.json'"
check "the CA issued one certificate for the e-mail, the log got a dsse entry" bash -c "
	grep -q '^fulcio signingCert $ID\$' '$T/sigstore-A.log' && grep -q '^rekor dsse 0.0.1 ' '$T/sigstore-A.log'"
blob app "$(json_get "$T/r1.json" 'j["signatures"][0]["bundle_digest"]')" "$T/b.json"
check "the bundle: certificate (leaf only) and one tlog entry" bash -c "
	$PY -c 'import json,sys
v=json.load(open(sys.argv[1]))[\"verificationMaterial\"]
assert set(v)=={\"certificate\",\"tlogEntries\"}, v
assert len(v[\"tlogEntries\"])==1 and v[\"tlogEntries\"][0][\"kindVersion\"][\"kind\"]==\"dsse\", v' '$T/b.json'"
check "@sigstore/verify accepts it (trusted root, identity and issuer, no skipping)" \
	NV "$T/b.json" "$D" --root "$ROOT" --identity "$ID" --issuer "$ISS"
check "@sigstore/verify refuses another identity" bash -c "! node '$LIB/sigstore_verify.js' '$NM' '$T/b.json' '$D' --root '$ROOT' --identity other@example.com --issuer '$ISS'"
check "@sigstore/verify refuses another issuer" bash -c "! node '$LIB/sigstore_verify.js' '$NM' '$T/b.json' '$D' --root '$ROOT' --identity '$ID' --issuer https://accounts.example.org"
check "coco-img verify --certificate-identity ... --trusted-root accepts the image" \
	expect_rc 0 $VC $KL "docker://$REG/test/app:v1"
check "coco-img verify-blob accepts the bundle" \
	$COCO_IMG verify-blob "$D" --bundle "$T/b.json" $KL
check "coco-img verify: another identity, exit 3" expect_rc 3 $VC --certificate-identity other@example.com \
	--certificate-oidc-issuer "$ISS" --trusted-root "$ROOT" "docker://$REG/test/app:v1"
check "coco-img verify: another issuer, exit 3" expect_rc 3 $VC --certificate-identity "$ID" \
	--certificate-oidc-issuer https://accounts.example.org --trusted-root "$ROOT" "docker://$REG/test/app:v1"
for w in certificate signature set; do
	"$PY" "$LIB/tamper_bundle.py" "$T/b.json" "$T/bad-$w.json" $w || exit 1
	check "tampered $w: @sigstore/verify refuses" bash -c "! node '$LIB/sigstore_verify.js' '$NM' '$T/bad-$w.json' '$D' --root '$ROOT' --identity '$ID' --issuer '$ISS'"
	check "tampered $w: coco-img verify-blob refuses (exit 3)" expect_rc 3 \
		$COCO_IMG verify-blob "$D" --bundle "$T/bad-$w.json" $KL
done

# ---- a workflow identity (URI SAN from sub), token given inline ----
check "sign v3 keyless with a sub-only token given inline" \
	$SIGN --bundle-format=v3 --identity-token "$(cat "$T/wf.jwt")" --output json "docker://$REG/test/wf:v1"
check "verify --certificate-identity <workflow URI> accepts it" expect_rc 0 $VC \
	--certificate-identity "$WF" --certificate-oidc-issuer "$ISS" --trusted-root "$ROOT" "docker://$REG/test/wf:v1"

# ---- legacy .sig, keyless (token file named as cosign takes it) ----
check "sign (legacy) keyless, --identity-token PATH" \
	$SIGN --identity-token "$T/email.jwt" "docker://$REG/test/legacy:v1"
$SKOPEO inspect --raw --tls-verify=false "docker://$REG/test/legacy:${D/:/-}.sig" > "$T/sig.json"
check "the layer carries cosign's signature, bundle, certificate and chain annotations" bash -c "
	$PY -c 'import json,sys
a=json.load(open(sys.argv[1]))[\"layers\"][0][\"annotations\"]
assert list(a)==[\"dev.cosignproject.cosign/signature\",\"dev.sigstore.cosign/bundle\",\"dev.sigstore.cosign/certificate\",\"dev.sigstore.cosign/chain\"], list(a)
assert a[\"dev.sigstore.cosign/certificate\"].startswith(\"-----BEGIN CERTIFICATE-----\")
assert a[\"dev.sigstore.cosign/chain\"].count(\"BEGIN CERTIFICATE\")==2' '$T/sig.json'"
check "coco-img verify --certificate-identity accepts the legacy signature" expect_rc 0 $VC $KL "docker://$REG/test/legacy:v1"
mkdir -p "$T/regd"
printf 'default-docker:\n  use-sigstore-attachments: true\n' > "$T/regd/default.yaml"
printf '{"default":[{"type":"sigstoreSigned","fulcio":{"caPath":"%s","oidcIssuer":"%s","subjectEmail":"%s"},"rekorPublicKeyData":"%s","signedIdentity":{"type":"matchRepository"}}]}\n' \
	"$S/ca-root.pem" "$ISS" "$ID" "$(base64 -w0 < "$S/rekor.pub")" > "$T/p.json"
check "verify --policy (fulcio + rekorPublicKeyData) accepts it" \
	$COCO_IMG verify --tls-verify=false --registries.d "$T/regd" --policy "$T/p.json" "docker://$REG/test/legacy:v1"

# ---- what the CA refuses: exit 1, nothing written ----
for t in expired aud foreign; do
	check "token $t: the CA refuses (exit 1, HTTP 401 named)" bash -c "
		$SIGN --bundle-format=v3 --identity-token @'$T/$t.jwt' 'docker://$REG/test/bad:v1' 2>'$T/err'; rc=\$?; cat '$T/err'
		[ \$rc -eq 1 ] && grep -q 'HTTP 401' '$T/err'"
done
check "... and nothing was written for test/bad" bash -c "! $SKOPEO inspect --raw --tls-verify=false 'docker://$REG/test/bad:${D/:/-}' 2>/dev/null"
check "the ephemeral key was written nowhere (registry storage, test directory)" bash -c "
	! grep -rl 'PRIVATE KEY' '$T' --include='*' 2>/dev/null | grep -v '^$S/'"
check "a token whose e-mail is not verified: exit 2 before any request" bash -c "
	tok=\$($PY -c 'import base64,json; e=lambda o: base64.urlsafe_b64encode(json.dumps(o).encode()).rstrip(b\"=\").decode(); print(e({\"alg\":\"ES256\"})+\".\"+e({\"sub\":\"x\",\"email\":\"a@b.c\"})+\".c2ln\")')
	n=\$(wc -l < '$T/sigstore-A.log')
	$SIGN --identity-token \"\$tok\" 'docker://$REG/test/bad:v1'; rc=\$?
	[ \$rc -eq 2 ] && [ \$(wc -l < '$T/sigstore-A.log') -eq \$n ]"

# ---- the doubles are strict: a wrong proof of possession, a bad signature ----
check "the CA double refuses a proof of possession over another subject (400)" "$PY" - "$SIGSTORE_A" "$T/email.jwt" <<'PYEOF'
import base64, json, sys, urllib.request, urllib.error
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
url, tok = sys.argv[1], open(sys.argv[2]).read().strip()
k = ec.generate_private_key(ec.SECP256R1())
pem = k.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
def post(path, obj):
    r = urllib.request.Request(url + path, json.dumps(obj).encode(), {"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(r)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    return 200, ""
pop = base64.b64encode(k.sign(b"someone-else@example.com", ec.ECDSA(hashes.SHA256()))).decode()
code, msg = post("/api/v2/signingCert", {"credentials": {"oidcIdentityToken": tok},
    "publicKeyRequest": {"publicKey": {"algorithm": "ECDSA", "content": pem}, "proofOfPossession": pop}})
assert code == 400 and "proof of possession" in msg, (code, msg)
sig = base64.b64encode(k.sign(b"other", ec.ECDSA(hashes.SHA256()))).decode()
code, msg = post("/api/v1/log/entries", {"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
    "data": {"hash": {"algorithm": "sha256", "value": "00" * 32}},
    "signature": {"content": sig, "publicKey": {"content": base64.b64encode(pem.encode()).decode()}}}})
assert code == 400 and "does not verify" in msg, (code, msg)
PYEOF

# ---- flags ----
check "--fulcio-url without --rekor-url: exit 2" expect_rc 2 $COCO_IMG sign --tls-verify=false \
	--fulcio-url "$SIGSTORE_A" --identity-token @"$T/email.jwt" "docker://$REG/test/bad:v1"
check "--fulcio-url without --identity-token: exit 2" expect_rc 2 $COCO_IMG sign --tls-verify=false \
	--fulcio-url "$SIGSTORE_A" --rekor-url "$SIGSTORE_A" "docker://$REG/test/bad:v1"
check "--key with --fulcio-url: exit 2" expect_rc 2 $SIGN --key "$S/log.key" \
	--identity-token @"$T/email.jwt" "docker://$REG/test/bad:v1"
check "--identity-token @missing: exit 2" expect_rc 2 $SIGN --identity-token @"$T/nosuch" "docker://$REG/test/bad:v1"
finish
