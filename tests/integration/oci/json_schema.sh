#!/bin/bash
# --output json against docs/json-schema/coco-img.schema.json (the schemas
# docs/json.md describes): every command that takes --output, once on
# success and once on failure, checked by a strict checker
# (tests/lib/json_schema_check.py: unknown fields are errors), plus the
# variants with other shapes (index copies, --stats, rewrap, index inspect,
# keyless verify-blob, bundle signing, login/logout).
. "$TOP_SRCDIR/tests/lib/common.sh"
C="$COCO_IMG"
SCHEMA="$TOP_SRCDIR/docs/json-schema/coco-img.schema.json"
CHECKER="$LIB/json_schema_check.py"
: > "$T/covered"

check "the schema uses only keywords the checker knows" "$PY" "$CHECKER" "$SCHEMA" --lint

# shape DEF WANT-RC COMMAND ARGS... : exit WANT-RC, and stdout (one line)
# matches $defs/DEF; an error object's code is the exit status
shape() {
    _def=$1 _rc=$2; shift 2
    "$C" "$@" > "$T/out.json" 2> "$T/err.txt"; _got=$?
    cat "$T/out.json" "$T/err.txt"
    [ "$_got" -eq "$_rc" ] || { echo "exit $_got, wanted $_rc"; return 1; }
    "$PY" "$CHECKER" "$SCHEMA" "$_def" "$T/out.json" || return 1
    if [ "$_rc" -ne 0 ]; then
        "$PY" -c 'import json,sys; e=json.load(open(sys.argv[1]))["error"]; sys.exit(e["code"] != int(sys.argv[2]))' \
            "$T/out.json" "$_rc" || { echo "error.code is not the exit status"; return 1; }
    fi
    echo "$_def" >> "$T/covered"
}

# ---- images and keys ----
mkimage "$T/img:amd" --layer "f:a=one" --layer "f:b=two" >/dev/null || exit 1
mkimage "$T/img:arm" --platform linux/arm64 --layer "f:a=arm" >/dev/null || exit 1
mkimage "$T/img:idx" --index-of "$T/img:amd" "$T/img:arm" >/dev/null || exit 1
openssl genrsa -out "$T/priv.pem" 2048 2>/dev/null
openssl rsa -in "$T/priv.pem" -pubout -out "$T/pub.pem" 2>/dev/null
openssl genrsa -out "$T/priv2.pem" 2048 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out "$T/ec.pem"
openssl ec -in "$T/ec.pem" -pubout -out "$T/ec.pub" 2>/dev/null
printf '{"default":[{"type":"insecureAcceptAnything"}]}\n' > "$T/accept.json"
printf '{"default":[{"type":"reject"}]}\n' > "$T/reject.json"
printf 'pass phrase' > "$T/pass"

# ---- copy / encrypt / decrypt ----
check "copy"                           shape copy 0 copy --output json "oci:$T/img:amd" "oci:$T/c:t"
check "copy again (layers skipped)"    shape copy 0 copy --output json "oci:$T/img:amd" "oci:$T/c:t"
check "copy --stats"                   shape copy 0 copy --output json --stats "oci:$T/img:amd" "oci:$T/c2:t"
check "copy --all of an index"         shape copy 0 copy --output json --all "oci:$T/img:idx" "oci:$T/ci:t"
check "copy --all: index_* and manifests[]" "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); assert "manifest_digest" not in j and len(j["manifests"]) == 2 and all(m["manifest_digest"] and m["platform"] for m in j["manifests"]), j' "$T/out.json"
check "copy --multi-arch index-only"   shape copy 0 copy --output json --multi-arch index-only "oci:$T/img:idx" "oci:$T/cio:t"
check "copy of a missing image"        shape copy-failure 1 copy --output json "oci:$T/missing:t" "oci:$T/c3:t"
check "copy with a bad flag"           shape copy-failure 2 copy --output json --bogus "oci:$T/img:amd" "oci:$T/c3:t"
check "encrypt"                        shape encrypt 0 encrypt --output json --encryption-key "jwe:$T/pub.pem" "oci:$T/img:amd" "oci:$T/e:t"
check "encrypt: action and encrypted as written" "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); assert all(l["action"] == "encrypt" and l["encrypted"] and l["source_digest"] != l["digest"] for l in j["layers"]), j' "$T/out.json"
check "encrypt --stats --all"          shape encrypt 0 encrypt --output json --stats --all --encryption-key "jwe:$T/pub.pem" "oci:$T/img:idx" "oci:$T/ei:t"
check "encrypt: add a recipient (rewrap)" shape encrypt 0 encrypt --output json --decryption-key "$T/priv.pem" --encryption-key "jwe:$T/pub.pem" "oci:$T/e:t" "oci:$T/e2:t"
check "rewrap: action rewrap, recipients_added" "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); assert all(l["action"] == "rewrap" and l["encrypted"] and l["recipients_added"] for l in j["layers"]), j' "$T/out.json"
check "encrypt without recipients"     shape encrypt-failure 2 encrypt --output json "oci:$T/img:amd" "oci:$T/e3:t"
check "decrypt --stats"                shape decrypt 0 decrypt --output json --stats --decryption-key "$T/priv.pem" "oci:$T/e:t" "oci:$T/d:t"
check "decrypt: action and encrypted as written" "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); assert all(l["action"] == "decrypt" and not l["encrypted"] and l["stats"]["decrypt_ns"] >= 0 for l in j["layers"]), j' "$T/out.json"
check "decrypt with a wrong key"       shape decrypt-failure 4 decrypt --output json --decryption-key "$T/priv2.pem" "oci:$T/e:t" "oci:$T/d2:t"

# ---- inspect ----
check "inspect"                        shape inspect 0 inspect --output json "oci:$T/e:t"
check "inspect: config content and digest apart" "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["config_digest"].startswith("sha256:") and "digest" not in j["config"] and j["layers"][0]["encryption"]["schemes"] == ["jwe"], j' "$T/out.json"
check "inspect of an index"            shape inspect 0 inspect --output json "oci:$T/img:idx"
check "inspect --platform of an index" shape inspect 0 inspect --output json --platform linux/arm64 "oci:$T/img:idx"
check "inspect: index_* and manifest_*" "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["index_digest"] != j["manifest_digest"] and j["platform"]["architecture"] == "arm64", j' "$T/out.json"
check "inspect of a missing tag"       shape inspect-failure 1 inspect --output json "oci:$T/img:nope"

# ---- unpack ----
check "unpack --stats --policy"        shape unpack 0 unpack --output json --stats --policy "$T/accept.json" --decryption-key "$T/priv.pem" "oci:$T/e:t" "$T/r1"
check "unpack from an index"           shape unpack 0 unpack --output json --platform linux/arm64 "oci:$T/img:idx" "$T/r2"
check "unpack without a key"           shape unpack-failure 4 unpack --output json "oci:$T/e:t" "$T/r3"
check "unpack refused by policy"       shape unpack-failure 3 unpack --output json --policy "$T/reject.json" "oci:$T/img:amd" "$T/r4"
check "unpack into a non-empty rootfs" shape unpack-failure 2 unpack --output json "oci:$T/img:amd" "$T/r1"

# ---- sign / verify ----
check "sign (legacy)"                  shape sign 0 sign --output json --key "$T/ec.pem" --sign-identity example.com/app "oci:$T/c:t"
check "sign again (already signed)"    shape sign 0 sign --output json --key "$T/ec.pem" --sign-identity example.com/app "oci:$T/c:t"
check "sign --bundle-format v3"        shape sign 0 sign --output json --bundle-format=v3 --key "$T/ec.pem" "oci:$T/c2:t"
check "sign --recursive an index"      shape sign 0 sign --output json --recursive --key "$T/ec.pem" --sign-identity example.com/app "oci:$T/ci:t"
check "sign of an index: index_*, 3 signatures" "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); assert "index_digest" in j and len(j["signatures"]) == 3 and j["signatures"][0]["signed_digest"] == j["index_digest"], j' "$T/out.json"
check "sign without an identity in oci:" shape sign-failure 2 sign --output json --key "$T/ec.pem" "oci:$T/c:t"
check "verify --policy"                shape verify 0 verify --output json --policy "$T/accept.json" "oci:$T/img:amd"
check "verify --key (bundle)"          shape verify 0 verify --output json --key "$T/ec.pub" "oci:$T/c2:t"
check "verify refusal"                 shape verify-failure 3 verify --output json --policy "$T/reject.json" "oci:$T/img:amd"
check "verify --key, unsigned image"   shape verify-failure 3 verify --output json --key "$T/ec.pub" "oci:$T/img:amd"
check "verify of a missing image"      shape verify-failure 1 verify --output json --policy "$T/accept.json" "oci:$T/missing:t"

# ---- verify-blob (tests/lib/mini_sigstore.py: our own Fulcio, Rekor, CT) ----
M=$T/ms
"$PY" "$LIB/mini_sigstore.py" "$M" >/dev/null || { echo "mini_sigstore.py failed"; exit 1; }
KEYLESS="--certificate-identity dev@example.com --certificate-oidc-issuer https://issuer.example.com --trusted-root $M/root.json"
# shellcheck disable=SC2086
check "verify-blob keyless"            shape verify-blob 0 verify-blob --output json --bundle "$M/good.json" $KEYLESS "$M/a.txt"
# shellcheck disable=SC2086
check "verify-blob DSSE"               shape verify-blob 0 verify-blob --output json --bundle "$M/dsse.json" $KEYLESS "$M/a.txt"
# shellcheck disable=SC2086
check "verify-blob of another artifact" shape verify-blob-failure 3 verify-blob --output json --bundle "$M/good.json" $KEYLESS "$M/good.json"
check "verify-blob without --bundle"   shape verify-blob-failure 2 verify-blob --output json "$M/a.txt"

# ---- generate-key-pair ----
check "generate-key-pair"              shape generate-key-pair 0 generate-key-pair --output json --passphrase-file "$T/pass" --output-key-prefix "$T/cosign"
check "generate-key-pair, no passphrase file" shape generate-key-pair-failure 2 generate-key-pair --output json --passphrase-file "$T/none" --output-key-prefix "$T/k2"

# ---- login / logout (docker-registry, htpasswd over TLS) ----
start_registry B tls htpasswd || exit 1
mkdir -p "$T/certs" && cp "$T/ca/ca.crt" "$T/certs/"
AF=$T/auth.json
check "login"                          shape login 0 login --output json --cert-dir "$T/certs" --authfile "$AF" -u alice -p s3cret "$REG_B"
check "login: registry and file named" "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j == {"registry": sys.argv[2], "authfile": sys.argv[3]}, j' "$T/out.json" "$REG_B" "$AF"
check "login with a wrong password"    shape login-failure 1 login --output json --cert-dir "$T/certs" --authfile "$AF" -u alice -p wrong "$REG_B"
check "logout"                         shape logout 0 logout --output json --authfile "$AF" "$REG_B"
check "logout again (not logged in)"   shape logout-failure 1 logout --output json --authfile "$AF" "$REG_B"
check "logout: kind notfound"          grep -q '"kind":"notfound"' "$T/out.json"
check "logout --all"                   shape logout 0 logout --output json --authfile "$AF" --all

# ---- every command with --output has a schema and was run both ways ----
all_covered() {
    for cmd in $("$C" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR>1 && NF {print $1}'); do
        "$C" "$cmd" --help 2>&1 | grep -q -- '--output FORMAT' || continue
        for def in "$cmd" "$cmd-failure"; do
            grep -qx -- "$def" "$T/covered" || { echo "$def: never checked"; return 1; }
        done
    done
}
check "every command with --output json was checked on success and failure" all_covered
finish
