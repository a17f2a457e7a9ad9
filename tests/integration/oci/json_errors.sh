#!/bin/bash
# --output json on failure: stdout holds exactly one JSON object with
# {"error": {"code": EXIT, "kind": "<COCOIMG_E* name>", "message": "..."}}
# for every command that takes --output (docs/json.md).
. "$TOP_SRCDIR/tests/lib/common.sh"
mkimage "$T/img:t" >/dev/null || exit 1
openssl genrsa -out "$T/priv1.pem" 2048 2>/dev/null
openssl genrsa -out "$T/priv2.pem" 2048 2>/dev/null
openssl rsa -in "$T/priv1.pem" -pubout -out "$T/pub1.pem" 2>/dev/null
$SKOPEO copy -q --encryption-key "jwe:$T/pub1.pem" "oci:$T/img:t" "oci:$T/enc:t" || exit 1
printf '{"default":[{"type":"reject"}]}\n' > "$T/reject.json"

# json_error RC KIND COMMAND-ARGS... : exit RC, one JSON object on stdout whose
# error member has code RC and kind KIND, and a one-line stderr message
json_error() {
    _rc=$1 _kind=$2; shift 2
    "$COCO_IMG" "$@" >"$T/out.json" 2>"$T/err.txt"; _got=$?
    cat "$T/out.json" "$T/err.txt" >&2
    [ "$_got" -eq "$_rc" ] || { echo "exit $_got, wanted $_rc" >&2; return 1; }
    [ "$(wc -l < "$T/out.json")" -eq 1 ] || { echo "want one line on stdout" >&2; return 1; }
    /usr/bin/python3 -c 'import json,sys; json.load(sys.stdin)' < "$T/out.json" || return 1
    "$PY" - "$T/out.json" "$_rc" "$_kind" <<'PYEOF'
import json, sys
j = json.load(open(sys.argv[1]))
e = j["error"]
assert set(e) == {"code", "kind", "message"}, e
assert e["code"] == int(sys.argv[2]) and e["kind"] == sys.argv[3], e
assert isinstance(e["message"], str) and e["message"] and "\n" not in e["message"], e
PYEOF
}

check "inspect of a missing image"      json_error 1 notfound inspect --output json "oci:$T/missing:t"
check "inspect of a missing tag"        json_error 1 notfound inspect --output=json "oci:$T/img:nope"
check "verify refusal"                  json_error 3 policy verify --output json --policy "$T/reject.json" "oci:$T/img:t"
check "verify refusal keeps the verdict" "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["verdict"]=="rejected" and j["error"]["code"]==3' "$T/out.json"
check "unpack with a wrong key"         json_error 4 nokey unpack --output json --decryption-key "$T/priv2.pem" "oci:$T/enc:t" "$T/r1"
check "unpack with a wrong key: no rootfs" test ! -e "$T/r1"
check "unpack with a wrong key: the report names the image" "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["manifest_digest"].startswith("sha256:") and j["rootfs"].endswith("/r1") and "layers" not in j' "$T/out.json"
check "unpack refused by policy"        json_error 3 policy unpack --output json --policy "$T/reject.json" "oci:$T/img:t" "$T/r3"
check "unpack refusal keeps the verdict" "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["policy"]["verdict"]=="rejected" and j["error"]["code"]==3, j' "$T/out.json"
check "unpack into a non-empty rootfs"  json_error 2 exist unpack --output json "oci:$T/img:t" "$T"
check "decrypt with a wrong key"        json_error 4 nokey decrypt --output json --decryption-key "$T/priv2.pem" "oci:$T/enc:t" "oci:$T/d:t"
check "copy from a missing layout"      json_error 1 notfound copy --output json "oci:$T/missing:t" "oci:$T/c:t"
check "encrypt without recipients"      json_error 2 inval encrypt --output json "oci:$T/img:t" "oci:$T/e:t"
check "usage error before --output"     json_error 2 inval copy --bogus --output json "oci:$T/img:t" "oci:$T/c:t"
check "bad key file"                    json_error 2 config unpack --output json --decryption-key "$T/reject.json" "oci:$T/enc:t" "$T/r2"
check "verify-blob without --bundle"    json_error 2 inval verify-blob --output json "$T/reject.json"
# write failures are io (exit 1), not internal; out of memory would be nomem
: > "$T/afile"
check "--digestfile in a missing directory" json_error 1 io copy --output json --digestfile "$T/nodir/digest" "oci:$T/img:t" "oci:$T/dg1:t"
if [ -c /dev/full ]; then
    check "--digestfile on a full device"   json_error 1 io copy --output json --digestfile /dev/full "oci:$T/img:t" "oci:$T/dg2:t"
    check "--digestfile: /dev/full is still a device" test -c /dev/full
    stdout_full() {
        "$COCO_IMG" "$@" >/dev/full 2>"$T/err.txt"; _got=$?
        cat "$T/err.txt" >&2
        [ "$_got" -eq 1 ] && grep -q "writing to stdout failed" "$T/err.txt"
    }
    check "inspect --output json to a full stdout fails" stdout_full inspect --output json "oci:$T/img:t"
    check "inspect --raw to a full stdout fails" stdout_full inspect --raw "oci:$T/img:t"
    check "--help to a full stdout fails"   stdout_full copy --help
fi
check "unpack where ROOTFS cannot be created" json_error 1 io unpack --output json "oci:$T/img:t" "$T/afile/rootfs"
check "copy to a layout that cannot be created" json_error 1 io copy --output json "oci:$T/img:t" "oci:$T/afile/layout:t"
check "generate-key-pair into a missing directory" json_error 1 io generate-key-pair --output json --passphrase-file "$T/afile" --output-key-prefix "$T/nodir/k"
# a passphrase or token file that cannot be read is not an empty one
check "--passphrase-file that is a directory" json_error 1 io generate-key-pair --output json --passphrase-file "$T" --output-key-prefix "$T/k3"
check "--passphrase-file that is a directory: no key written" test ! -e "$T/k3.key"
check "--identity-token file that is a directory" json_error 1 io sign --output json --fulcio-url http://127.0.0.1:9 --rekor-url http://127.0.0.1:9 --identity-token "@$T" "oci:$T/img:t"
check "text output has no JSON on stdout" sh -c "! '$COCO_IMG' inspect 'oci:$T/missing:t' 2>/dev/null | grep -q ."
finish
