#!/bin/bash
# The command line as skopeo users type it: options before the command
# name, --debug, --tmpdir, Go ParseBool booleans, help COMMAND.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/integration/registry/reglib.sh"
C="$COCO_IMG"

mkimage "$T/img:v1" --layer "f:a=hello" >/dev/null
start_registry A || exit 1
A=$REG_A
$SKOPEO copy -q --dest-tls-verify=false "oci:$T/img:v1" "docker://$A/sk/img:v1" >/dev/null || exit 1

# usage_error CMD... : exit 2 and exactly one stderr line starting "coco-img: "
usage_error() {
    "$@" >"$T/out" 2>"$T/err"; rc=$?
    [ $rc -eq 2 ] || { echo "exit $rc, wanted 2"; cat "$T/err"; return 1; }
    [ "$(wc -l < "$T/err")" -eq 1 ] && grep -q '^coco-img: ' "$T/err" || { cat "$T/err"; return 1; }
}

# ---- options before the command name ----
check "global: options before copy" $C --tls-verify=false --quiet copy "docker://$A/sk/img:v1" "oci:$T/g1:v1"
check "global: copied" test -f "$T/g1/index.json"
check "global: value options before the name" \
    sh -c "'$C' --output json --tls-verify=false inspect 'docker://$A/sk/img:v1' | grep -q '\"layers\"'"
check "global: --flag=value form" $C --src-tls-verify=false -q copy "docker://$A/sk/img:v1" "oci:$T/g2:v1"
check "global: unknown flag before the name" usage_error $C --bogus copy a b
check "global: flag another command has" usage_error $C --multi-arch all inspect "oci:$T/img:v1"
check "global: missing value before the name" usage_error $C --policy
check "global: no command" expect_rc 2 $C --debug
check "global: --help before nothing" sh -c "'$C' --debug --help | grep -q '^Usage: coco-img'"
check "global: --help before a command" sh -c "'$C' --help copy | grep -q '^Usage: coco-img copy'"
check "global: --version" sh -c "'$C' --version | grep -q '^coco-img '"
check "global: JSON error for a flag before the name" \
    sh -c "'$C' --output json --nope copy a b | grep -q '\"kind\":\"inval\"'"

# ---- help COMMAND ----
"$C" copy --help > "$T/h1"
"$C" help copy > "$T/h2"
check "help copy = copy --help" cmp "$T/h1" "$T/h2"
check "help alone = --help" bash -c "'$C' help | cmp - <('$C' --help)"
check "help: unknown command" usage_error $C help nope
check "help: global options listed" grep -q -- '--tmpdir DIR' "$T/h1"

# ---- booleans: what Go's strconv.ParseBool takes ----
for v in 0 f F false FALSE False; do
    check "bool: --tls-verify=$v allows http" $C inspect -q --tls-verify=$v "docker://$A/sk/img:v1"
done
for v in 1 t T true TRUE True; do
    check "bool: --tls-verify=$v wants https" expect_rc 1 $C inspect --tls-verify=$v "docker://$A/sk/img:v1"
done
check "bool: --tls-verify=yes refused" usage_error $C inspect --tls-verify=yes "docker://$A/sk/img:v1"
check "bool: --quiet=false" $C copy --quiet=false --src-tls-verify=0 "docker://$A/sk/img:v1" "oci:$T/g3:v1"
check "bool: --help=false shows no help" usage_error $C copy --help=false
check "bool: a flag with a bad value" usage_error $C copy --quiet=2 a b

# ---- --debug ----
$C --debug --tls-verify=false --creds alice:Sekr1tPw copy "docker://$A/sk/img:v1" "oci:$T/d1:v1" >/dev/null 2>"$T/debug.err"
check "debug: copy succeeds" test -f "$T/d1/index.json"
check "debug: requests logged" grep -q "^coco-img: debug: GET http://$A/v2/sk/img/manifests/v1: HTTP 200" "$T/debug.err"
check "debug: blob requests logged" grep -q "^coco-img: debug: GET http://$A/v2/sk/img/blobs/sha256:" "$T/debug.err"
check "debug: no secrets" sh -c "! grep -q -e Sekr1tPw -e '$(printf alice:Sekr1tPw | base64)' -i -e authorization: '$T/debug.err'"
$C --tls-verify=false copy "docker://$A/sk/img:v1" "oci:$T/d2:v1" >/dev/null 2>"$T/nodebug.err"
check "debug: quiet without --debug" test ! -s "$T/nodebug.err"
COCO_IMG_DEBUG=1 $C --tls-verify=false copy "docker://$A/sk/img:v1" "oci:$T/d3:v1" >/dev/null 2>"$T/env.err"
check "debug: COCO_IMG_DEBUG is an alias" grep -q "^coco-img: debug: GET http://$A/v2/" "$T/env.err"
COCO_IMG_DEBUG=0 $C --tls-verify=false copy "docker://$A/sk/img:v1" "oci:$T/d4:v1" >/dev/null 2>"$T/env0.err"
check "debug: COCO_IMG_DEBUG=0 is off" test ! -s "$T/env0.err"
printf '{"default":[{"type":"insecureAcceptAnything"}]}\n' > "$T/policy.json"
$C --debug --policy "$T/policy.json" --tls-verify=false verify "docker://$A/sk/img:v1" >/dev/null 2>"$T/verify.err"
check "debug: policy decisions logged" grep -q "^coco-img: debug: policy scope default: requirement 0 (insecureAcceptAnything) accepted" "$T/verify.err"

# ---- --tmpdir: where oci-archive sources and spools go ----
$C copy -q "oci:$T/img:v1" "oci-archive:$T/a.tar:v1" || exit 1
mkdir -p "$T/spool"
check "tmpdir: copy from oci-archive" $C --tmpdir "$T/spool" copy -q "oci-archive:$T/a.tar:v1" "oci:$T/t1:v1"
check "tmpdir: nothing left in it" test -z "$(ls -A "$T/spool")"
$C copy --tmpdir "$T/missing" -q "oci-archive:$T/a.tar:v1" "oci:$T/t2:v1" 2>"$T/tmpdir.err"
check "tmpdir: a missing directory fails" test $? -eq 1
check "tmpdir: the message names it" grep -q "$T/missing" "$T/tmpdir.err"
check "tmpdir: TMPDIR is the default" sh -c "TMPDIR='$T/missing' '$C' copy -q 'oci-archive:$T/a.tar:v1' 'oci:$T/t3:v1'; test \$? -eq 1"

# ---- inspect --raw / --config as skopeo ----
mkimage "$T/m:amd" --platform linux/amd64 --layer "f:arch=amd64" >/dev/null
mkimage "$T/m:arm" --platform linux/arm64 --layer "f:arch=arm64" >/dev/null
mkimage "$T/m:multi" --index-of "$T/m:amd" "$T/m:arm" >/dev/null
$SKOPEO copy -q --all --dest-tls-verify=false "oci:$T/m:multi" "docker://$A/sk/multi:v1" >/dev/null || exit 1
for ref in sk/img:v1 sk/multi:v1; do
    $SKOPEO inspect --raw --tls-verify=false "docker://$A/$ref" > "$T/sk.raw"
    $C inspect --raw --tls-verify=false "docker://$A/$ref" > "$T/co.raw"
    check "inspect --raw $ref = skopeo's bytes" cmp "$T/sk.raw" "$T/co.raw"
done
$SKOPEO inspect --config --raw --tls-verify=false "docker://$A/sk/img:v1" > "$T/sk.cfg"
$C inspect --config --raw --tls-verify=false "docker://$A/sk/img:v1" > "$T/co.cfg"
check "inspect --config --raw = skopeo's bytes" cmp "$T/sk.cfg" "$T/co.cfg"
check "inspect --config is the same JSON" "$PY" -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); sys.exit(a["rootfs"] != b["rootfs"] or a["config"] != b["config"])' "$T/sk.cfg" <($C inspect --config --tls-verify=false "docker://$A/sk/img:v1")
check "inspect --config picks --platform" sh -c "'$C' inspect --config --platform linux/arm64 --tls-verify=false 'docker://$A/sk/multi:v1' | grep -q '\"arm64\"'"
check "inspect --raw of an oci: layout" sh -c "'$C' inspect --raw 'oci:$T/img:v1' | sha256sum | grep -q '$(oci_digest "$T/img" v1 | cut -d: -f2)'"
check "inspect --raw: wrong pinned digest" expect_rc 1 $C inspect --raw --tls-verify=false "docker://$A/sk/img@sha256:$(printf '%064d' 0)"

# ---- copy -a / --all, --digestfile ----
check "copy -a" $C copy -q -a --src-tls-verify=false "docker://$A/sk/multi:v1" "oci:$T/all1:v1"
check "copy -a: the index" test "$(oci_digest "$T/all1" v1)" = "$(oci_digest "$T/m" multi)"
check "copy --all=true" $C copy -q --all=true --src-tls-verify=false "docker://$A/sk/multi:v1" "oci:$T/all2:v1"
check "copy --all: the index" test "$(oci_digest "$T/all2" v1)" = "$(oci_digest "$T/m" multi)"
check "copy --digestfile" $C copy -q --digestfile "$T/dg" --dest-tls-verify=false "oci:$T/m:multi" "docker://$A/co/dg:v1"
check "digestfile = skopeo's digest" test "$(cat "$T/dg")" = "$(sk_digest --tls-verify=false "docker://$A/co/dg:v1")"
check "digestfile has no newline" test "$(wc -l < "$T/dg")" -eq 0

# ---- encrypt / decrypt --all (ctr-enc's --all-platforms) ----
openssl genrsa -out "$T/rsa.pem" 2048 2>/dev/null
openssl rsa -in "$T/rsa.pem" -pubout -out "$T/rsa.pub" 2>/dev/null
# the media types of every instance's layers of a layout's tagged index
inst_layers() { "$PY" -c '
import json, sys
r = sys.argv[1]
blob = lambda d: json.load(open(r + "/blobs/sha256/" + d[7:]))
idx = [m for m in json.load(open(r + "/index.json"))["manifests"]][0]
for m in blob(idx["digest"])["manifests"]:
    print(" ".join(l["mediaType"].rsplit(".", 1)[-1] for l in blob(m["digest"])["layers"]))
' "$1"; }
check "encrypt --all" $C encrypt -q --all --encryption-key "jwe:$T/rsa.pub" "oci:$T/m:multi" "oci:$T/enc:v1"
check "encrypt --all: every instance encrypted" test "$(inst_layers "$T/enc")" = "$(printf 'tar+gzip+encrypted\ntar+gzip+encrypted')"
check "decrypt --multi-arch all" $C decrypt -q --multi-arch all --decryption-key "$T/rsa.pem" "oci:$T/enc:v1" "oci:$T/dec:v1"
check "decrypt: every instance plain" test "$(inst_layers "$T/dec")" = "$(printf 'tar+gzip\ntar+gzip')"
check "encrypt --all-platforms" $C encrypt -q --all-platforms --encryption-key "jwe:$T/rsa.pub" "oci:$T/m:multi" "oci:$T/enc2:v1"
check "encrypt: bad --multi-arch" usage_error $C encrypt --multi-arch index-only --encryption-key "jwe:$T/rsa.pub" "oci:$T/m:multi" "oci:$T/enc3:v1"

# ---- --username/--password, --no-creds ----
start_registry B tls htpasswd || exit 1
B=$REG_B
mkdir -p "$T/certs" && cp "$T/ca/ca.crt" "$T/certs/"
check "--username/--password push" $C copy -q --dest-cert-dir "$T/certs" --dest-username alice --dest-password s3cret "oci:$T/img:v1" "docker://$B/co/img:v1"
check "--username/--password pull" $C inspect -q --cert-dir "$T/certs" --username alice --password s3cret "docker://$B/co/img:v1"
check "--src-username/--src-password" $C copy -q --src-cert-dir "$T/certs" --src-username alice --src-password s3cret "docker://$B/co/img:v1" "oci:$T/u1:v1"
check "wrong password exits 1" expect_rc 1 $C inspect --cert-dir "$T/certs" --username alice --password nope "docker://$B/co/img:v1"
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$B" "$(printf alice:s3cret | base64)" > "$T/auth.json"
check "authfile works" $C inspect -q --cert-dir "$T/certs" --authfile "$T/auth.json" "docker://$B/co/img:v1"
check "--no-creds ignores the authfile" expect_rc 1 $C inspect --no-creds --cert-dir "$T/certs" --authfile "$T/auth.json" "docker://$B/co/img:v1"
check "--src-no-creds" expect_rc 1 $C copy -q --src-no-creds --src-cert-dir "$T/certs" --src-authfile "$T/auth.json" "docker://$B/co/img:v1" "oci:$T/u2:v1"
check "--username without --password" usage_error $C inspect --username alice "docker://$B/co/img:v1"
check "--password without --username" usage_error $C inspect --password s3cret "docker://$B/co/img:v1"
check "--creds with --username" usage_error $C inspect --creds alice:s3cret --username alice --password s3cret "docker://$B/co/img:v1"
check "--creds with --no-creds" usage_error $C inspect --creds alice:s3cret --no-creds "docker://$B/co/img:v1"
check "--dest-username with --dest-no-creds" usage_error $C copy --dest-username a --dest-password b --dest-no-creds "oci:$T/img:v1" "docker://$B/x:v1"
$C inspect --cert-dir "$T/certs" --username alice --password Wr0ngPassw0rd "docker://$B/co/img:v1" > "$T/pw.out" 2>&1
check "password never printed" sh -c "! grep -q Wr0ngPassw0rd '$T/pw.out'"
finish
