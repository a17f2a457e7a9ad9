#!/bin/bash
# htpasswd (Basic) auth over TLS: --creds, --authfile, $REGISTRY_AUTH_FILE,
# the containers-auth.json search path, a wrong password (exit 1, clear
# message, the password never printed), no credentials.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/integration/registry/reglib.sh"

start_registry B tls htpasswd || exit 1
R=$REG_B
mkdir -p "$T/certs" && cp "$T/ca/ca.crt" "$T/certs/"
mkimage "$T/img:v1" --layer "f:a=hello,r:big=1500000" >/dev/null
$SKOPEO copy -q --dest-cert-dir "$T/certs" --dest-creds alice:s3cret "oci:$T/img:v1" "docker://$R/test/a:v1" >/dev/null || exit 1
WANT=$(oci_digest "$T/img" v1)
CD="cert-dir=$T/certs"
export HOME="$T/home" XDG_RUNTIME_DIR="$T/run" XDG_CONFIG_HOME="$T/cfg"
unset REGISTRY_AUTH_FILE DOCKER_CONFIG
mkdir -p "$HOME" "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME"

check "pull with creds" $REGTOOL copy "docker://$R/test/a:v1" "oci:$T/o1:v1" "$CD" creds=alice:s3cret
check "digest" test "$(oci_digest "$T/o1" v1)" = "$WANT"
check "push with creds" $REGTOOL copy "oci:$T/img:v1" "docker://$R/test/b:v1" "$CD" creds=alice:s3cret
check "skopeo sees the push" test "$(sk_digest --cert-dir "$T/certs" --creds alice:s3cret "docker://$R/test/b:v1")" = "$WANT"

printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$R" "$(printf alice:s3cret | base64)" > "$T/auth.json"
check "pull with authfile" $REGTOOL copy "docker://$R/test/a:v1" "oci:$T/o2:v1" "$CD" authfile="$T/auth.json"
check "pull with REGISTRY_AUTH_FILE" env REGISTRY_AUTH_FILE="$T/auth.json" $REGTOOL copy "docker://$R/test/a:v1" "oci:$T/o3:v1" "$CD"
printf '{"auths":{"%s/test":{"auth":"%s"}}}\n' "$R" "$(printf alice:s3cret | base64)" > "$T/ns.json"
check "namespaced key matches" $REGTOOL copy "docker://$R/test/a:v1" "oci:$T/o4:v1" "$CD" authfile="$T/ns.json"
mkdir -p "$XDG_RUNTIME_DIR/containers"
cp "$T/auth.json" "$XDG_RUNTIME_DIR/containers/auth.json"
check "pull with XDG_RUNTIME_DIR/containers/auth.json" $REGTOOL copy "docker://$R/test/a:v1" "oci:$T/o5:v1" "$CD"
rm "$XDG_RUNTIME_DIR/containers/auth.json"
mkdir -p "$HOME/.docker"
printf '{"auths":{"https://%s/v1/":{"auth":"%s"}}}\n' "$R" "$(printf alice:s3cret | base64)" > "$HOME/.docker/config.json"
check "pull with ~/.docker/config.json (URL key)" $REGTOOL copy "docker://$R/test/a:v1" "oci:$T/o6:v1" "$CD"
rm "$HOME/.docker/config.json"

$REGTOOL copy "docker://$R/test/a:v1" "oci:$T/bad:v1" "$CD" creds=alice:WrongPassword99 > "$T/bad.out" 2>&1
check "wrong password: exit 1" test $? -eq 1
check "wrong password: says authentication failed" grep -qi "authentication to $R failed" "$T/bad.out"
check "wrong password: not printed" sh -c "! grep -q WrongPassword99 '$T/bad.out'"
check "wrong password: nothing written" test ! -e "$T/bad/index.json"
$REGTOOL copy "oci:$T/img:v1" "docker://$R/test/c:v1" "$CD" creds=alice:WrongPassword99 > "$T/badpush.out" 2>&1
check "wrong password push: exit 1" test $? -eq 1
check "wrong password push: not printed" sh -c "! grep -q WrongPassword99 '$T/badpush.out'"
$REGTOOL copy "docker://$R/test/a:v1" "oci:$T/none:v1" "$CD" > "$T/none.out" 2>&1
check "no credentials: exit 1" test $? -eq 1
check "no credentials: says so" grep -q "requires authentication" "$T/none.out"
check "missing --authfile: exit 2" expect_rc 2 $REGTOOL copy "docker://$R/test/a:v1" "oci:$T/o7:v1" "$CD" authfile="$T/nope.json"
finish
