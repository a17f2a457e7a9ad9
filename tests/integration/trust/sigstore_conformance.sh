#!/bin/bash
# sigstore-conformance bundle-verify cases through `coco-img verify-blob`
# (tests/data/sigstore-conformance, see its PROVENANCE.md): every happy path
# must exit 0, every "_fail" case must be refused (non-zero).  Cases listed
# in sigstore_conformance.known (name, then the reason) are reported as
# known failures and not counted either way.  Prints the pass count.
. "$TOP_SRCDIR/tests/lib/common.sh"

DATA=$TOP_SRCDIR/tests/data/sigstore-conformance
KNOWN=$TOP_SRCDIR/tests/integration/trust/sigstore_conformance.known
ID='https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main'
ISS='https://token.actions.githubusercontent.com'

run_case() {
    local d=$1 art=$DATA/a.txt root=$DATA/production_trusted_root.json id=$ID iss=$ISS
    [ -f "$d/artifact" ] && art=$d/artifact
    [ -f "$d/trusted_root.json" ] && root=$d/trusted_root.json
    [ -f "$d/identity" ] && id=$(cat "$d/identity")
    [ -f "$d/issuer" ] && iss=$(cat "$d/issuer")
    if [ -f "$d/key.pub" ]; then
        $COCO_IMG verify-blob "$art" --bundle "$d/bundle.sigstore.json" --key "$d/key.pub" \
            --trusted-root "$root" --output json
    else
        $COCO_IMG verify-blob "$art" --bundle "$d/bundle.sigstore.json" \
            --certificate-identity "$id" --certificate-oidc-issuer "$iss" \
            --trusted-root "$root" --output json
    fi
}

total=0; passed=0; known=0
for d in "$DATA"/*/; do
    d=${d%/}; name=$(basename "$d")
    [ -f "$d/bundle.sigstore.json" ] || continue
    total=$((total + 1))
    if grep -q "^$name " "$KNOWN" 2>/dev/null; then
        known=$((known + 1)); echo "# known failure: $(grep "^$name " "$KNOWN")"; continue
    fi
    case $name in
    *_fail) check "$name is refused" bash -c "$(declare -f run_case); DATA='$DATA' ID='$ID' ISS='$ISS' COCO_IMG='$COCO_IMG'; run_case '$d'; rc=\$?; [ \$rc -ne 0 ] && [ \$rc -ne 1 ]" ;;
    *) check "$name is accepted" bash -c "$(declare -f run_case); DATA='$DATA' ID='$ID' ISS='$ISS' COCO_IMG='$COCO_IMG'; run_case '$d'" ;;
    esac
done
echo "# sigstore-conformance bundle-verify: $_PASSED of $total cases pass ($known known failures)"
finish
