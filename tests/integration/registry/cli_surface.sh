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
finish
