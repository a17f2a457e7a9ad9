#!/bin/bash
# OAuth2 refresh tokens: an auth.json entry with "identitytoken" makes the
# client POST grant_type=refresh_token (+ refresh_token, client_id,
# service, scope) to the token realm, as containers/image does, instead of
# the GET with Basic credentials; pull and push work with the access token
# it returns; a refused refresh token fails clearly (exit 1); neither the
# refresh token nor the access tokens ever appear in output or debug logs.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/integration/registry/reglib.sh"
C="$COCO_IMG"
export COCOIMG_RETRY_BASE_MS=50
export HOME="$T/home" XDG_RUNTIME_DIR="$T/run" XDG_CONFIG_HOME="$T/cfg"
unset REGISTRY_AUTH_FILE DOCKER_CONFIG
mkdir -p "$HOME" "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME"

mkdir -p "$T/token"
RT="rt-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s\n' "$RT" > "$T/token/refresh-token"
"$PY" "$TOP_SRCDIR/tests/integration/registry/token_server.py" "$T/token" --log "$T/token.log" &
_PIDS="$_PIDS $!"
wait_for_log "$T/token/port" '[0-9]+' 20 >/dev/null || exit 1
TP=$(cat "$T/token/port")
start_registry K "token=http://127.0.0.1:$TP/token" || exit 1
R=$REG_K
mkimage "$T/img:v1" --layer "f:a=hello" --layer "r:b=1500000" >/dev/null
WANT=$(oci_digest "$T/img" v1)
$SKOPEO copy -q --dest-tls-verify=false --dest-creds alice:s3cret "oci:$T/img:v1" "docker://$R/test/a:v1" >/dev/null || exit 1

printf '{"auths":{"%s":{"identitytoken":"%s"}}}\n' "$R" "$RT" > "$T/auth.json"
# what `docker login` writes for identity-token logins: user name, empty
# password, and the token
printf '{"auths":{"%s":{"auth":"%s","identitytoken":"%s"}}}\n' "$R" "$(printf 'alice:' | base64)" "$RT" > "$T/auth-user.json"
printf '{"auths":{"%s":{"identitytoken":"rt-not-the-right-one"}}}\n' "$R" > "$T/auth-bad.json"

# ---- pull ----
: > "$T/token.log"
COCO_IMG_DEBUG=1 $C copy --src-tls-verify=false --src-authfile "$T/auth.json" \
    "docker://$R/test/a:v1" "oci:$T/o1:v1" > "$T/pull.out" 2>&1
check "pull with identitytoken" test $? -eq 0
check "pull: digest" test "$(oci_digest "$T/o1" v1)" = "$WANT"
check "pull: blobs verify" oci_blobs_ok "$T/o1"
check "pull: the token came from a refresh_token POST" \
    grep -q "^POST alice repository:test/a:pull client_id=[^ ]" "$T/token.log"
check "pull: form fields as containers/image sends them" \
    grep -q "^POST alice .* service=test-registry fields=client_id,grant_type,refresh_token,scope,service$" "$T/token.log"
check "pull: no GET token request" sh -c "! grep -v '^POST ' '$T/token.log' | grep -q ."
check "pull: one token for the whole pull" test "$(grep -c '^POST' "$T/token.log")" = 1
check "pull: debug log names the auth file" grep -q "credentials for $R from $T/auth.json" "$T/pull.out"

# ---- the same through $XDG_RUNTIME_DIR/containers/auth.json, with a user name ----
mkdir -p "$XDG_RUNTIME_DIR/containers"
cp "$T/auth-user.json" "$XDG_RUNTIME_DIR/containers/auth.json"
: > "$T/token.log"
COCO_IMG_DEBUG=1 $C copy --src-tls-verify=false "docker://$R/test/a:v1" "oci:$T/o2:v1" > "$T/pull2.out" 2>&1
check "pull with user + identitytoken from the default auth file" test $? -eq 0
check "pull 2: POST, not GET with a Basic password" sh -c "grep -q '^POST alice' '$T/token.log' && ! grep -qv '^POST' '$T/token.log'"
rm "$XDG_RUNTIME_DIR/containers/auth.json"

# ---- push (pull,push scope) ----
: > "$T/token.log"
COCO_IMG_DEBUG=1 $C copy --dest-tls-verify=false --dest-authfile "$T/auth.json" \
    "oci:$T/img:v1" "docker://$R/test/b:v1" > "$T/push.out" 2>&1
check "push with identitytoken" test $? -eq 0
check "push: token asked for pull,push" grep -q "^POST alice repository:test/b:pull,push " "$T/token.log"
check "push: skopeo sees it" test "$(sk_digest --tls-verify=false --creds alice:s3cret "docker://$R/test/b:v1")" = "$WANT"

# ---- registry to registry: mount needs a two-scope token ----
: > "$T/token.log"
REGTOOL_DEBUG=1 $REGTOOL copy "docker://$R/test/a:v1" "docker://$R/test/m:v1" \
    tls-verify=false authfile="$T/auth.json" > "$T/mount.out" 2>&1
check "registry to registry with identitytoken (library)" test $? -eq 0
check "blobs were mounted" grep -q "^mounted" "$T/mount.out"
check "mount: both scopes in the POST" \
    grep -q "^POST alice .*repository:test/a:pull.*repository:test/m:pull,push\|^POST alice .*repository:test/m:pull,push.*repository:test/a:pull" "$T/token.log"
check "mount: copied digest" test "$(sk_digest --tls-verify=false --creds alice:s3cret "docker://$R/test/m:v1")" = "$WANT"

# ---- a refused refresh token ----
COCO_IMG_DEBUG=1 $C copy --src-tls-verify=false --src-authfile "$T/auth-bad.json" \
    "docker://$R/test/a:v1" "oci:$T/bad:v1" > "$T/bad.out" 2>&1
check "refused refresh token: exit 1" test $? -eq 1
check "refused refresh token: says the token server refused the identity token" \
    grep -q "token server refused the identity token" "$T/bad.out"
check "refused refresh token: nothing written" test ! -e "$T/bad/index.json"
check "refused refresh token: not printed" sh -c "! grep -q rt-not-the-right-one '$T/bad.out'"

# ---- no secret anywhere: output, debug logs, registry and token logs ----
check "the refresh token never appears in output or logs" \
    sh -c "! grep -rlF '$RT' '$T' --exclude=auth.json --exclude=auth-user.json --exclude=refresh-token"
check "the tokens were issued (leak check is meaningful)" test -s "$T/token/issued"
leaked=""
while read -r tok; do
    [ -n "$tok" ] && grep -qF "$tok" "$T/pull.out" "$T/pull2.out" "$T/push.out" "$T/mount.out" "$T/bad.out" && leaked=1
done < "$T/token/issued"
check "no access token in output or debug logs" test -z "$leaked"
finish
