#!/bin/bash
# Legacy cosign signatures (.sig attachment) whose signing time is proven by
# an RFC 3161 timestamp (annotation dev.sigstore.cosign/rfc3161timestamp)
# instead of a Rekor SET, on a loopback docker-registry.  The timestamps
# come from the openssl `ts` command acting as the test's own TSA
# (tests/lib/tsa_legacy.py); the trusted root lists that TSA.  Accepted:
# a timestamp by the trusted TSA while the certificate was valid (with or
# without a SET; key-signed too).  Refused, failed check "timestamp": a
# token by another TSA, a time outside the certificate's validity, a token
# over other bytes, an annotation without a token.  Without a trusted root
# (policy fulcio + rekorPublicKeyData, as containers/image) the SET stays
# required.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/legacy_sigs.sh"
command -v openssl >/dev/null || { echo "openssl is required"; exit 1; }

CASES="ts-good ts-and-set ts-wrong-tsa ts-expired ts-other-data ts-garbage ts-key"
registry_copies tsa $CASES || exit 1
R=$REG
M=$T/tsa
$PY "$LIB/tsa_legacy.py" "$M" "$D" "$R" || { echo "tsa_legacy.py failed"; exit 1; }
$PY "$LIB/push_sig.py" "$R" "$D" "$M"/sig-*.json || { echo "push_sig.py failed"; exit 1; }
check "the timestamp is a real RFC 3161 response (openssl ts -verify)" sh -c \
    "$PY -c 'import json,base64,sys; a=json.load(open(sys.argv[1]))[\"annotations\"]; \
sys.stdout.buffer.write(base64.b64decode(json.loads(a[\"dev.sigstore.cosign/rfc3161timestamp\"])[\"SignedRFC3161Timestamp\"]))' \
    '$M/sig-ts-key.json' > '$T/r.tsr' && openssl ts -reply -in '$T/r.tsr' -text | grep -q 'Status: Granted'"

legacy_verifiers tsa "$M"
policy "$T/p-root.json" '"fulcio":{"oidcIssuer":"'$ISS'","subjectEmail":"'$ID'"},"trustedRootPath":"'$M'/root.json"'
$PY -c 'import json,sys; r=json.load(open(sys.argv[1])); r["timestampAuthorities"]=[]; json.dump(r, open(sys.argv[2], "w"))' \
    "$M/root.json" "$M/root-notsa.json"
policy "$T/p-root-notsa.json" '"fulcio":{"oidcIssuer":"'$ISS'","subjectEmail":"'$ID'"},"trustedRootPath":"'$M'/root-notsa.json"'
policy "$T/p-fulcio.json" '"fulcio":{"caPath":"'$M'/fulcio-chain.pem","oidcIssuer":"'$ISS'","subjectEmail":"'$ID'"},'"$REKOR"
policy "$T/p-key-root.json" '"keyPath":"'$M'/key.pub","trustedRootPath":"'$M'/root.json"'
policy "$T/p-key-rekor.json" '"keyPath":"'$M'/key.pub",'"$REKOR"

pol "timestamp instead of a SET (trustedRootPath)" "$T/p-root.json" ts-good 0
pol "timestamp and SET" "$T/p-root.json" ts-and-set 0
pol "timestamp by a TSA the root does not list" "$T/p-root.json" ts-wrong-tsa 3 timestamp
pol "timestamp outside the certificate's validity" "$T/p-root.json" ts-expired 3 timestamp
pol "timestamp over other bytes" "$T/p-root.json" ts-other-data 3 timestamp
pol "annotation without a timestamp token" "$T/p-root.json" ts-garbage 3 timestamp
pol "a trusted root without TSAs: the SET is required" "$T/p-root-notsa.json" ts-good 3 tlog
pol "no trusted root (fulcio + rekorPublicKeyData): the SET is required" "$T/p-fulcio.json" ts-good 3 tlog
pol "... and accepted with the SET" "$T/p-fulcio.json" ts-and-set 0
pol "key-signed, timestamp instead of a SET (trustedRootPath)" "$T/p-key-root.json" ts-key 0
pol "key-signed, rekorPublicKeyData: the SET is required" "$T/p-key-rekor.json" ts-key 3 tlog

cli "timestamp instead of a SET" ts-good 0 "" $KL
cli "timestamp by another TSA" ts-wrong-tsa 3 timestamp $KL
cli "timestamp outside the certificate's validity" ts-expired 3 timestamp $KL
cli "timestamp outside the certificate's validity, --insecure-ignore-tlog" ts-expired 3 timestamp \
    $KL --insecure-ignore-tlog
cli "timestamp over other bytes" ts-other-data 3 timestamp $KL
cli "--key + --trusted-root, timestamp instead of a SET" ts-key 0 "" --key "$M/key.pub" \
    --trusted-root "$M/root.json"
finish
