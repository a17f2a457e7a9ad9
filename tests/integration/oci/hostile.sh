#!/bin/bash
# Hostile layouts and archives: a clean one-line error, exit 1, nothing
# left at the destination, never a crash.
. "$TOP_SRCDIR/tests/lib/common.sh"
C=$COCO_IMG

# fresh NAME : a good layout at $T/NAME, prints its manifest digest
fresh() { rm -rf "${T:?}/$1"; mkimage "$T/$1" --layer 'f:a=hello\n' --layer 'r:b=5000'; }
blobfile() { echo "$T/$1/blobs/sha256/${2#sha256:}"; }
layer0() { json_get "$(blobfile "$1" "$2")" "j['layers'][0]['digest']"; }
# put NAME JSON : store JSON as a blob of layout NAME and make it the only index entry
put_manifest() {
    "$PY" - "$T/$1" "$2" <<'PY'
import hashlib, json, os, sys
lay, body = sys.argv[1], sys.argv[2].encode()
d = hashlib.sha256(body).hexdigest()
open(os.path.join(lay, "blobs", "sha256", d), "wb").write(body)
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
           "digest": "sha256:" + d, "size": len(body)}]}, open(os.path.join(lay, "index.json"), "w"))
PY
}
# fails SRC : copy SRC to a new oci: and a new oci-archive: destination; both
# must exit 1 with one "coco-img: " line and leave nothing behind
fails() {
    for dst in "oci:$T/out/lay:t" "oci-archive:$T/outa/a.tar"; do
        rm -rf "$T/out" "$T/outa"; mkdir "$T/outa"
        "$C" copy "$1" "$dst" >"$T/stdout" 2>"$T/err"; rc=$?
        if [ $rc -ne 1 ]; then echo "exit $rc for $dst"; cat "$T/err"; return 1; fi
        if [ "$(wc -l < "$T/err")" -ne 1 ] || ! grep -q '^coco-img: ' "$T/err"; then cat "$T/err"; return 1; fi
        if [ -e "$T/out" ] || [ -n "$(ls -A "$T/outa")" ]; then echo "left behind:"; find "$T/out" "$T/outa"; return 1; fi
        if [ -n "${2:-}" ] && ! grep -q -- "$2" "$T/err"; then echo "wanted /$2/"; cat "$T/err"; return 1; fi
    done
    "$C" inspect "$1" >/dev/null 2>"$T/err"; rc=$?
    [ $rc -eq 1 ] || [ $rc -eq 0 ] || { echo "inspect exit $rc"; cat "$T/err"; return 1; }
}

M=$(fresh missing); L=$(layer0 missing "$M"); rm "$(blobfile missing "$L")"
check "missing layer blob" fails "oci:$T/missing" "not found"
M=$(fresh wrong); L=$(layer0 wrong "$M"); f=$(blobfile wrong "$L"); s=$(stat -c %s "$f"); head -c "$s" /dev/zero > "$f"
check "layer with wrong content" fails "oci:$T/wrong" "digest mismatch"
M=$(fresh trunc); L=$(layer0 trunc "$M"); f=$(blobfile trunc "$L"); truncate -s 10 "$f"
check "truncated layer" fails "oci:$T/trunc" "size"
M=$(fresh cfg); C0=$(json_get "$(blobfile cfg "$M")" "j['config']['digest']"); echo '{"x":1}' > "$(blobfile cfg "$C0")"
check "config with wrong content" fails "oci:$T/cfg" "config"
M=$(fresh mtamper); echo ' ' >> "$(blobfile mtamper "$M")"
check "manifest bytes changed" fails "oci:$T/mtamper" "$M"
fresh idx >/dev/null; echo '{"schemaVersion":2,"manifests":' > "$T/idx/index.json"
check "malformed index.json" fails "oci:$T/idx" "index.json"
fresh idx2 >/dev/null; echo '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:../../../../etc/passwd","size":1}]}' > "$T/idx2/index.json"
check "blob path traversal in index.json" fails "oci:$T/idx2" "malformed digest"
fresh idx3 >/dev/null; echo '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","size":99999999999999999}]}' > "$T/idx3/index.json"
check "huge manifest size" fails "oci:$T/idx3"
fresh noidx >/dev/null; rm "$T/noidx/index.json"
check "no index.json" fails "oci:$T/noidx" "index.json"
fresh nolayout >/dev/null; rm "$T/nolayout/oci-layout"
check "no oci-layout" fails "oci:$T/nolayout" "oci-layout"
M=$(fresh m1)
CFG='{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","size":2}'
put_manifest m1 '{"schemaVersion":2,"config":'"$CFG"',"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","size":-5}]}'
check "negative layer size" fails "oci:$T/m1" "negative size"
put_manifest m1 '{"schemaVersion":2,"config":'"$CFG"',"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:../../../../../../tmp/x","size":5}]}'
check "traversal digest in manifest" fails "oci:$T/m1" "malformed digest"
put_manifest m1 '{"schemaVersion":2,"config":'"$CFG"',"layers":"nope"}'
check "layers of the wrong type" fails "oci:$T/m1" "layers"
put_manifest m1 '{"schemaVersion":2,"layers":[]}'
check "manifest without config" fails "oci:$T/m1"
put_manifest m1 '{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","size":9000000000000000000},"layers":[]}'
check "huge config size" fails "oci:$T/m1"
put_manifest m1 'not json at all'
check "manifest that is not JSON" fails "oci:$T/m1" "JSON"
put_manifest m1 '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}'
check "index where a manifest is expected" fails "oci:$T/m1" "mediaType"

# archives
mkdir -p "$T/evil/blobs/sha256"; fresh good >/dev/null
( cd "$T/good" && tar cf "$T/evil1.tar" --transform 's,^index.json,../index.json,' index.json oci-layout blobs ) 2>/dev/null
check "archive entry escaping with .." fails "oci-archive:$T/evil1.tar" "escapes"
( cd "$T/good" && tar cf "$T/evil2.tar" -P --transform 's,^oci-layout,/tmp/oci-layout,' oci-layout index.json blobs ) 2>/dev/null
check "archive entry with an absolute path" fails "oci-archive:$T/evil2.tar" "escapes"
M=$(json_get "$T/good/index.json" "j['manifests'][0]['digest']")
mkdir -p "$T/ln/blobs/sha256"; cp "$T/good/oci-layout" "$T/good/index.json" "$T/ln/"
ln -s /etc/passwd "$T/ln/blobs/sha256/${M#sha256:}"
( cd "$T/ln" && tar cf "$T/evil3.tar" oci-layout index.json blobs )
check "archive with a symlinked blob" fails "oci-archive:$T/evil3.tar" "not found"
head -c 700 "$T/evil1.tar" > "$T/short.tar"
check "truncated archive" fails "oci-archive:$T/short.tar"
echo "garbage" > "$T/garbage.tar"
check "not an archive" fails "oci-archive:$T/garbage.tar"
check "missing archive" fails "oci-archive:$T/nonexistent.tar"
check "missing layout" fails "oci:$T/nonexistent"
check "no image with that name" fails "oci:$T/good:nope" "nope"

# a failed copy into an existing layout leaves its index.json untouched
"$C" copy -q "oci:$T/good" "oci:$T/existing:keep" || echo "setup failed"
cp "$T/existing/index.json" "$T/index.before"
rm -rf "$T/other"; M=$(mkimage "$T/other" --layer 'f:unique=1\n'); L=$(layer0 other "$M"); rm "$(blobfile other "$L")"
keep_index() {
    "$C" copy "oci:$T/other" "oci:$T/existing:new" 2>/dev/null && return 1
    cmp "$T/existing/index.json" "$T/index.before" && test -z "$(find "$T/existing" -name '.tmp*')"
}
check "existing layout unchanged by a failed copy" keep_index
cp "$T/good/index.json" "$T/garbage-dst"
check "destination that is a file" expect_rc 2 "$C" copy "oci:$T/good" "oci:$T/garbage-dst"
finish
