#!/bin/bash
# Keyless cases the public assets do not cover, against a small local
# "Sigstore" generated here (tests/lib/mini_sigstore.py: our own CA as
# Fulcio, our own Rekor and CT log keys): each refusal must name the check
# that failed (--output json "failed_check").
. "$TOP_SRCDIR/tests/lib/common.sh"

M=$T/ms
$PY "$LIB/mini_sigstore.py" "$M" || { echo "mini_sigstore.py failed"; exit 1; }
ID=dev@example.com
ISS=https://issuer.example.com

# verdict BUNDLE WANT_RC WANT_CHECK [ARTIFACT] [FLAGS...]
verdict() {
    local b=$1 rc=$2 want=$3 art=${4:-$M/a.txt}; shift 4 2>/dev/null || shift $#
    [ $# -gt 0 ] || set -- --certificate-identity "$ID" --certificate-oidc-issuer "$ISS" \
        --trusted-root "$M/root.json"
    out=$($COCO_IMG verify-blob "$art" --bundle "$M/$b.json" --output json "$@")
    got=$?
    echo "$out"
    [ "$got" -eq "$rc" ] || { echo "exit status $got, wanted $rc"; return 1; }
    echo "$out" | $PY -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d["failed_check"] != sys.argv[1])' "$want" ||
        { echo "failed_check is not \"$want\""; return 1; }
}

check "keyless message signature (SET, proof, checkpoint, SCT)" verdict good 0 ""
check "keyless DSSE in-toto statement, dsse entry" verdict dsse 0 ""
check "artifact given as sha256:HEX" verdict good 0 "" "sha256:$(sha256sum "$M/a.txt" | cut -d' ' -f1)"
check "identity and issuer as regular expressions" verdict good 0 "" "$M/a.txt" \
    --certificate-identity-regexp '@example\.com$' --certificate-oidc-issuer-regexp '^https://issuer\.' \
    --trusted-root "$M/root.json"
check "another artifact: refused (digest)" verdict good 3 digest "$M/good.json"
check "another identity: refused (identity)" verdict good 3 identity "$M/a.txt" \
    --certificate-identity other@example.com --certificate-oidc-issuer "$ISS" --trusted-root "$M/root.json"
check "another issuer: refused (issuer)" verdict good 3 issuer "$M/a.txt" \
    --certificate-identity "$ID" --certificate-oidc-issuer https://accounts.example.org --trusted-root "$M/root.json"
check "certificate expired before the integrated time: refused (timestamp)" verdict expired 3 timestamp
check "log entry for another signature: refused (tlog)" verdict other-entry 3 tlog
check "checkpoint signed by another key: refused (tlog)" verdict bad-checkpoint 3 tlog
check "SCT from an unknown CT log: refused (sct)" verdict bad-sct 3 sct
check "SCT from an unknown CT log, --insecure-ignore-sct" verdict bad-sct 0 "" "$M/a.txt" \
    --certificate-identity "$ID" --certificate-oidc-issuer "$ISS" --trusted-root "$M/root.json" --insecure-ignore-sct
check "leaf from an untrusted CA: refused (chain)" verdict untrusted-ca 3 chain
check "CA not yet valid at the signing time: refused (chain)" verdict good 3 chain "$M/a.txt" \
    --certificate-identity "$ID" --certificate-oidc-issuer "$ISS" --trusted-root "$M/root-ca-late.json"
check "keyless without --trusted-root: exit 2" expect_rc 2 $COCO_IMG verify-blob "$M/a.txt" \
    --bundle "$M/good.json" --certificate-identity "$ID" --certificate-oidc-issuer "$ISS"
check "key-signed bundle logged in Rekor" verdict key 0 "" "$M/a.txt" --key "$M/key.pub" --trusted-root "$M/root.json"
check "key-signed bundle, identity asked: refused (signature)" verdict key 3 signature
check "key-signed bundle without log entry, --insecure-ignore-tlog" verdict key-nolog 0 "" "$M/a.txt" \
    --key "$M/key.pub" --insecure-ignore-tlog
check "key-signed bundle without log entry, log required: refused (tlog)" verdict key-nolog 3 tlog "$M/a.txt" \
    --key "$M/key.pub" --trusted-root "$M/root.json"
check "keyless bundle with --key: refused (signature)" verdict good 3 signature "$M/a.txt" \
    --key "$M/key.pub" --trusted-root "$M/root.json"
check "tampered bundle JSON: exit 2 (bundle)" bash -c "head -c 200 '$M/good.json' > '$M/trunc.json';
    $COCO_IMG verify-blob '$M/a.txt' --bundle '$M/trunc.json' --certificate-identity '$ID' \
    --certificate-oidc-issuer '$ISS' --trusted-root '$M/root.json'; [ \$? -eq 2 ]"
# (Verification time is measured by bench/run.sh: speed targets live in
# the benchmark, not in tests.)
finish
