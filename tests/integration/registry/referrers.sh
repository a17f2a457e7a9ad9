#!/bin/bash
# Referrers discovery (registry/referrers.c, oci/referrers.c) through
# list_referrers, driven by regtool:
#  - Debian's docker-registry 2.8 has no referrers API: the lookup falls
#    back to the referrers tag schema, which tests/lib/referrers_tool.py
#    writes as cosign v3 does on such a registry;
#  - referrers_double.py, a strict registry with the referrers API of
#    distribution-spec v1.1.0 (pagination, OCI-Filters-Applied): no
#    fallback, and the client filters when the registry did not;
#  - oci: layouts: a referrers tag in index.json and untagged referrers
#    listed there.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/integration/registry/reglib.sh"
RT="$PY $LIB/referrers_tool.py"
BUNDLE_MT=application/vnd.dev.sigstore.bundle.v0.3+json

mkimage "$T/img:v1" --layer "f:a=hello" >/dev/null
SUBJ=$(oci_digest "$T/img" v1)
printf '{"mediaType":"%s"}' "$BUNDLE_MT" > "$T/payload1"
printf 'an sbom' > "$T/payload2"
printf 'another bundle' > "$T/payload3"
R1=$($RT make "$T/img" "$SUBJ" "$BUNDLE_MT" "$BUNDLE_MT" "$T/payload1")
R2=$($RT make "$T/img" "$SUBJ" application/spdx+json application/spdx+json "$T/payload2")
R3=$($RT make "$T/img" "$SUBJ" "$BUNDLE_MT" "$BUNDLE_MT" "$T/payload3")

# --- a registry without the referrers API: the tag schema ------------------
start_registry A || exit 1
R=$REG_A
$SKOPEO copy -q --dest-tls-verify=false "oci:$T/img:v1" "docker://$R/test/a:v1" >/dev/null || exit 1
check "pushed subject keeps its digest" test "$(sk_digest --tls-verify=false "docker://$R/test/a:v1")" = "$SUBJ"
$REGTOOL referrers "docker://$R/test/a:v1" "$SUBJ" tls-verify=false > "$T/none.out"
check "no referrers yet: exit 0" test $? -eq 0
check "no referrers yet: empty list" test ! -s "$T/none.out"
$RT push "$T/img" "$R1" "$R" test/a --tag
$RT push "$T/img" "$R2" "$R" test/a --tag
REGTOOL_DEBUG=1 $REGTOOL referrers "docker://$R/test/a:v1" "$SUBJ" tls-verify=false > "$T/tag.out" 2> "$T/tag.err"
check "tag schema: exit 0" test $? -eq 0
check "tag schema: two referrers" test "$(wc -l < "$T/tag.out")" -eq 2
check "tag schema: the bundle, with its artifactType" grep -qx "$R1 application/vnd.oci.image.manifest.v1+json $BUNDLE_MT referrers tag" "$T/tag.out"
check "tag schema: the sbom" grep -q "^$R2 .* application/spdx+json referrers tag$" "$T/tag.out"
check "the API was asked first (404), then the tag" grep -q "no referrers API (404)" "$T/tag.err"
$REGTOOL referrers "docker://$R/test/a:v1" "$SUBJ" --artifact-type "$BUNDLE_MT" tls-verify=false > "$T/tagf.out"
check "tag schema, filtered by artifactType" test "$(cat "$T/tagf.out")" = "$R1 application/vnd.oci.image.manifest.v1+json $BUNDLE_MT referrers tag"
$REGTOOL referrers "docker://$R/test/a:v1" "sha256:$(printf x | sha256sum | cut -d' ' -f1)" tls-verify=false > "$T/other.out"
check "another digest has no referrers" test ! -s "$T/other.out"
check "malformed digest: exit 2" expect_rc 2 $REGTOOL referrers "docker://$R/test/a:v1" sha256:nothex tls-verify=false
# a referrers index the registry accepts but that is malformed as a list
# (artifactType must be a string)
YD="sha256:$(printf y | sha256sum | cut -d' ' -f1)"
"$PY" - "$R" "$R1" "$(wc -c < "$T/img/blobs/sha256/${R1#sha256:}")" "${YD#sha256:}" <<'PYEOF'
import json, sys, urllib.request
reg, dig, size, hexd = sys.argv[1:5]
ix = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
      "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": dig,
                     "size": int(size), "artifactType": 5}]}
r = urllib.request.Request(f"http://{reg}/v2/test/a/manifests/sha256-{hexd}", data=json.dumps(ix).encode(),
                           method="PUT", headers={"Content-Type": "application/vnd.oci.image.index.v1+json"})
urllib.request.urlopen(r)
PYEOF
check "registry took the malformed list" test $? -eq 0
$REGTOOL referrers "docker://$R/test/a:v1" "$YD" tls-verify=false 2> "$T/bad.err"
check "malformed referrers list: exit 1" test $? -eq 1
check "malformed referrers list: named" grep -q "referrers tag.*artifactType" "$T/bad.err"

# --- a registry with the referrers API (distribution-spec v1.1.0) -----------
start_double() { # MODE PAGE -> D=127.0.0.1:PORT, log in $T/double-MODE.log
    rm -f "$T/double.port"
    "$PY" "$TOP_SRCDIR/tests/integration/registry/referrers_double.py" "$T/img" "$1" "$2" \
        "$T/double.port" "$T/double-$1.log" &
    _PIDS="$_PIDS $!"
    wait_for_log "$T/double.port" '[0-9]+' 20 >/dev/null || exit 1
    D=127.0.0.1:$(cat "$T/double.port")
}
start_double filter 2
$REGTOOL referrers "docker://$D/test/a:v1" "$SUBJ" tls-verify=false > "$T/api.out"
check "API: exit 0" test $? -eq 0
check "API: three referrers over two pages" test "$(wc -l < "$T/api.out")" -eq 3
for r in "$R1" "$R2" "$R3"; do
    check "API: $r listed once" test "$(grep -c "^$r .* referrers API$" "$T/api.out")" -eq 1
done
check "API: the second page was read through Link" grep -q "referrers/$SUBJ?last=2 -> 200" "$T/double-filter.log"
check "API: no tag-schema fallback" sh -c "! grep -q 'manifests/sha256-' '$T/double-filter.log'"
$REGTOOL referrers "docker://$D/test/a:v1" "$SUBJ" --artifact-type "$BUNDLE_MT" tls-verify=false > "$T/apif.out"
check "API filtered by the registry: the two bundles" test "$(grep -c " $BUNDLE_MT referrers API$" "$T/apif.out")" -eq 2
check "API filtered by the registry: nothing else" test "$(wc -l < "$T/apif.out")" -eq 2
check "API: the filter went in the query" grep -q "artifactType=application%2Fvnd.dev.sigstore.bundle.v0.3%2Bjson" "$T/double-filter.log"
$REGTOOL referrers "docker://$D/test/a:v1" "sha256:$(printf x | sha256sum | cut -d' ' -f1)" tls-verify=false > "$T/apinone.out"
check "API: empty list for an unreferenced digest" test ! -s "$T/apinone.out"
start_double nofilter 5
$REGTOOL referrers "docker://$D/test/a:v1" "$SUBJ" --artifact-type application/spdx+json tls-verify=false > "$T/apic.out"
check "API without OCI-Filters-Applied: the client filters" test "$(cat "$T/apic.out")" = "$R2 application/vnd.oci.image.manifest.v1+json application/spdx+json referrers API"

# --- OCI layouts -------------------------------------------------------------
cp -r "$T/img" "$T/lay"
R4=$($RT make "$T/lay" "$SUBJ" "$BUNDLE_MT" "$BUNDLE_MT" "$T/payload1" --in-index)
R5=$($RT make "$T/lay" "$SUBJ" "$BUNDLE_MT" "$BUNDLE_MT" "$T/payload3" --tag)
$REGTOOL referrers "oci:$T/lay:v1" "$SUBJ" > "$T/lay.out"
check "layout: exit 0" test $? -eq 0
check "layout: the referrers tag's entry" grep -qx "$R5 application/vnd.oci.image.manifest.v1+json $BUNDLE_MT referrers tag" "$T/lay.out"
check "layout: the untagged referrer in index.json" grep -qx "$R4 application/vnd.oci.image.manifest.v1+json $BUNDLE_MT index.json" "$T/lay.out"
check "layout: nothing else (R1-R3 are blobs only)" test "$(wc -l < "$T/lay.out")" -eq 2
$REGTOOL referrers "oci:$T/img:v1" "$SUBJ" > "$T/lay0.out"
check "layout without referrers: empty" test ! -s "$T/lay0.out"
finish
