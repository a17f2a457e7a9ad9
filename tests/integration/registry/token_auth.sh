#!/bin/bash
# Bearer token auth (docker-registry `auth: token` + tests' token server):
# anonymous pull tokens, push needs credentials, tokens cached per scope,
# "access_token"-only answers, wrong password, cross-repository mount with
# a two-scope token.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/integration/registry/reglib.sh"

"$PY" "$TOP_SRCDIR/tests/integration/registry/token_server.py" "$T/token" --log "$T/token.log" &
_PIDS="$_PIDS $!"
wait_for_log "$T/token/port" '[0-9]+' 20 >/dev/null || exit 1
TP=$(cat "$T/token/port")
start_registry K "token=http://127.0.0.1:$TP/token" || exit 1
R=$REG_K
I="tls-verify=false"
mkimage "$T/img:v1" --layer "f:a=hello" --layer "r:b=1200000" --layer "f:c=x" >/dev/null
$SKOPEO copy -q --dest-tls-verify=false --dest-creds alice:s3cret "oci:$T/img:v1" "docker://$R/test/a:v1" >/dev/null || exit 1
WANT=$(oci_digest "$T/img" v1)

: > "$T/token.log"
check "anonymous pull" $REGTOOL copy "docker://$R/test/a:v1" "oci:$T/o1:v1" $I
check "digest" test "$(oci_digest "$T/o1" v1)" = "$WANT"
check "one anonymous token for the whole pull" test "$(grep -c '^- repository:test/a:pull ' "$T/token.log")" = 1
$REGTOOL copy "oci:$T/img:v1" "docker://$R/test/anon:v1" $I > "$T/anon.out" 2>&1
check "anonymous push refused: exit 1" test $? -eq 1
check "anonymous push: auth message" grep -qi "authentication\|denied" "$T/anon.out"

: > "$T/token.log"
check "push with creds" $REGTOOL copy "oci:$T/img:v1" "docker://$R/test/b:v1" $I creds=alice:s3cret
check "token asked with pull,push and account" grep -q "^alice repository:test/b:pull,push account=alice" "$T/token.log"
check "skopeo sees the push" test "$(sk_digest --tls-verify=false --creds alice:s3cret "docker://$R/test/b:v1")" = "$WANT"

touch "$T/token/access-token-only"
check "access_token-only answers" $REGTOOL copy "docker://$R/test/a:v1" "oci:$T/o2:v1" $I creds=alice:s3cret
rm "$T/token/access-token-only"

: > "$T/token.log"
$REGTOOL copy "docker://$R/test/a:v1" "docker://$R/test/m:v1" $I creds=alice:s3cret > /dev/null 2> "$T/mount.err"
check "registry-to-registry copy with mount" test $? -eq 0
check "blobs were mounted" grep -q "^mounted" "$T/mount.err"
check "two-scope token for the mount" grep -q "repository:test/a:pull" "$T/token.log"

$REGTOOL copy "docker://$R/test/a:v1" "oci:$T/bad:v1" $I creds=alice:Nope12345 > "$T/bad.out" 2>&1
check "wrong password: exit 1" test $? -eq 1
check "wrong password: token server refused" grep -q "token server refused" "$T/bad.out"
check "wrong password: not printed" sh -c "! grep -q Nope12345 '$T/bad.out'"
finish
