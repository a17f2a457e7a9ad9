#!/bin/bash
# Keyless cosign signatures (the legacy .sig attachment: certificate, chain
# and Rekor bundle annotations) on a loopback docker-registry, made by the
# test with a local "Sigstore" (tests/lib/mini_sigstore.py legacy: our own
# Fulcio CA, Rekor key and CT key) and pushed as cosign lays them out
# (tests/lib/push_sig.py).  Judged through `verify --policy` (fulcio +
# rekorPublicKeyData, and trustedRootPath) and cosign-style through
# `verify --certificate-identity ... --trusted-root`.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/legacy_sigs.sh"

CASES="good late-log expired-nolog other-entry bad-sct key copied bundle"
registry_copies keyless $CASES || exit 1
R=$REG
M=$T/ms
skopeo inspect --tls-verify=false --raw "docker://$R/keyless/good:v1" > "$T/manifest.json"
$PY "$LIB/mini_sigstore.py" legacy "$M" "$D" "$R" "$T/manifest.json" || { echo "mini_sigstore.py failed"; exit 1; }
# keyless/bundle: a keyless Sigstore bundle attached as a referrer (tag schema)
BMT=application/vnd.dev.sigstore.bundle.v0.3+json
RM=$($PY "$LIB/referrers_tool.py" make "$T/img" "$D" "$BMT" "$BMT" "$M/bundle-good.json") &&
    $PY "$LIB/referrers_tool.py" push "$T/img" "$RM" "$R" keyless/bundle --tag || { echo "attach failed"; exit 1; }
# "copied": good's signature (naming keyless/good) attached to keyless/copied
$PY -c 'import json,sys; s=json.load(open(sys.argv[1])); s["repo"]=sys.argv[2]; json.dump(s, open(sys.argv[3], "w"))' \
    "$M/sig-good.json" "$R/keyless/copied" "$M/sig-copied.json"
$PY "$LIB/push_sig.py" "$R" "$D" "$M"/sig-*.json || { echo "push_sig.py failed"; exit 1; }

legacy_verifiers keyless "$M"
policy "$T/p-fulcio.json" '"fulcio":{"caPath":"'$M'/fulcio-root.pem","oidcIssuer":"'$ISS'","subjectEmail":"'$ID'"},'"$REKOR"
policy "$T/p-root.json" '"fulcio":{"oidcIssuer":"'$ISS'","subjectEmail":"'$ID'"},"trustedRootPath":"'$M'/root.json"'
policy "$T/p-other.json" '"fulcio":{"caPath":"'$M'/fulcio-chain.pem","oidcIssuer":"'$ISS'","subjectEmail":"other@example.com"},'"$REKOR"
# a bundle carries no intermediates: its CA file must hold the intermediate
policy "$T/p-fulcio-chain.json" '"fulcio":{"caPath":"'$M'/fulcio-chain.pem","oidcIssuer":"'$ISS'","subjectEmail":"'$ID'"},'"$REKOR"
policy "$T/p-key.json" '"keyPath":"'$M'/key.pub",'"$REKOR"

pol "fulcio + rekorPublicKeyData"          "$T/p-fulcio.json" good 0
pol "trustedRootPath"                       "$T/p-root.json" good 0
pol "another e-mail"                        "$T/p-other.json" good 3 identity
pol "SET after the certificate expired"     "$T/p-fulcio.json" late-log 3 chain
pol "expired certificate, no SET"           "$T/p-fulcio.json" expired-nolog 3 tlog
pol "SET for another signature"             "$T/p-fulcio.json" other-entry 3 tlog
pol "SET for another signature (root)"      "$T/p-root.json" other-entry 3 tlog
pol "unknown CT log: no SCT check (as containers/image)" "$T/p-fulcio.json" bad-sct 0
pol "unknown CT log, trustedRootPath: SCT required" "$T/p-root.json" bad-sct 3 sct
pol "signature for another repository"      "$T/p-fulcio.json" copied 3 identity
pol "keyPath + rekorPublicKeyData"          "$T/p-key.json" key 0
pol "keyPath on a keyless signature"        "$T/p-key.json" good 3

pol "keyless bundle (referrer), fulcio + rekorPublicKeyData" "$T/p-fulcio-chain.json" bundle 0
pol "keyless bundle, CA file without the intermediate" "$T/p-fulcio.json" bundle 3 chain
pol "keyless bundle (referrer), trustedRootPath" "$T/p-root.json" bundle 0
pol "keyless bundle, another e-mail" "$T/p-other.json" bundle 3 identity

cli "keyless bundle (referrer)" bundle 0 "" $KL
cli "keyless bundle, another identity" bundle 3 identity --certificate-identity other@example.com \
    --certificate-oidc-issuer "$ISS" --trusted-root "$M/root.json"
cli "keyless"                   good 0 "" $KL
cli "keyless, regexps"          good 0 "" --certificate-identity-regexp '@example\.com$' \
    --certificate-oidc-issuer-regexp '^https://issuer\.' --trusted-root "$M/root.json"
cli "another identity"          good 3 identity --certificate-identity other@example.com \
    --certificate-oidc-issuer "$ISS" --trusted-root "$M/root.json"
cli "another issuer"            good 3 issuer --certificate-identity "$ID" \
    --certificate-oidc-issuer https://accounts.example.org --trusted-root "$M/root.json"
cli "SET after the certificate expired" late-log 3 chain $KL
cli "expired certificate, no SET" expired-nolog 3 tlog $KL
cli "expired certificate, --insecure-ignore-tlog (checked now)" expired-nolog 3 chain $KL --insecure-ignore-tlog
cli "SET for another signature" other-entry 3 tlog $KL
cli "unknown CT log"            bad-sct 3 sct $KL
cli "unknown CT log, --insecure-ignore-sct" bad-sct 0 "" $KL --insecure-ignore-sct
cli "signature for another repository" copied 3 identity $KL
cli "--key + --trusted-root"    key 0 "" --key "$M/key.pub" --trusted-root "$M/root.json"
cli "--key"                     key 0 "" --key "$M/key.pub"
cli "--key on a keyless signature" good 3 signature --key "$M/key.pub"
check "cli keyless without --trusted-root: exit 2" expect_rc 2 $VC --certificate-identity "$ID" \
    --certificate-oidc-issuer "$ISS" "docker://$R/keyless/good:v1"
check "cli malformed trusted root: exit 2" expect_rc 2 $VC --certificate-identity "$ID" \
    --certificate-oidc-issuer "$ISS" --trusted-root "$M/key.pub" "docker://$R/keyless/good:v1"
$COCO_IMG verify --tls-verify=false $KL "docker://$R/keyless/good:v1" > "$T/text.txt"
check "text output" grep -q "^Accepted: docker://$R/keyless/good:v1" "$T/text.txt"

# (How fast it is, under 100 ms on a loopback registry, is measured by
# bench/run.sh, not here: speed targets live in the benchmark.)
finish
