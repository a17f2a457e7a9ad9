#!/bin/bash
# coco-img login / logout against docker-registry with htpasswd (TLS) and
# with token auth: the credentials are checked before anything is written;
# auth.json entries as skopeo writes them (skopeo reads ours, we read its);
# REGISTRY_AUTH_FILE and ${XDG_RUNTIME_DIR}/containers/auth.json; a prompt
# on a terminal (driven through script) that does not echo the password.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/integration/registry/reglib.sh"
C="$COCO_IMG"
mkimage "$T/img:v1" --layer "f:a=hello" >/dev/null
start_registry B tls htpasswd || exit 1
B=$REG_B
mkdir -p "$T/certs" && cp "$T/ca/ca.crt" "$T/certs/"
$SKOPEO copy -q --dest-cert-dir "$T/certs" --dest-creds alice:s3cret "oci:$T/img:v1" "docker://$B/sk/img:v1" >/dev/null || exit 1
AF="$T/auth.json"
b64() { printf %s "$1" | base64; }
entry() { json_get "$1" "j['auths']['$2']['auth']"; }

# ---- htpasswd ----
echo s3cret | $C login --cert-dir "$T/certs" --authfile "$AF" -u alice --password-stdin "$B" > "$T/out" 2>&1
check "login --password-stdin" test $? -eq 0
check "login says so" grep -q "Login Succeeded" "$T/out"
check "auth.json entry" test "$(entry "$AF" "$B")" = "$(b64 alice:s3cret)"
check "auth.json is 0600" test "$(stat -c %a "$AF")" = 600
check "we pull with it" $C copy -q --src-cert-dir "$T/certs" --src-authfile "$AF" "docker://$B/sk/img:v1" "oci:$T/p1:v1"
check "skopeo pulls with it" $SKOPEO inspect --cert-dir "$T/certs" --authfile "$AF" "docker://$B/sk/img:v1"
cp "$AF" "$T/before.json"
$C login --cert-dir "$T/certs" --authfile "$AF" --username alice --password Wr0ngPassw0rd "$B" > "$T/wrong" 2>&1
check "wrong password exits 1" test $? -eq 1
check "wrong password: one line naming the registry" sh -c "test \$(wc -l < '$T/wrong') = 1 && grep -q '^coco-img: login: .*$B' '$T/wrong'"
check "wrong password never printed" sh -c "! grep -q Wr0ngPassw0rd '$T/wrong'"
check "wrong password: file unchanged" cmp "$AF" "$T/before.json"
check "wrong password: nothing written to a new file" expect_rc 1 $C login --cert-dir "$T/certs" --authfile "$T/new.json" -u alice -p nope "$B"
check "no new file" test ! -e "$T/new.json"
check "untrusted TLS fails" expect_rc 1 $C login --authfile "$T/new.json" -u alice -p s3cret "$B"
# other entries stay; skopeo's file is ours to update
$SKOPEO login --cert-dir "$T/certs" --authfile "$T/sk.json" -u alice -p s3cret "$B" >/dev/null 2>&1 || exit 1
"$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); j["auths"]["other.example"]={"auth":"eDp5"}; json.dump(j,open(sys.argv[1],"w"))' "$T/sk.json"
check "login into skopeo's file" $C login -q --cert-dir "$T/certs" --authfile "$T/sk.json" -u alice -p s3cret "$B"
check "other entries kept" test "$(entry "$T/sk.json" other.example)" = eDp5
check "same entry as skopeo's" test "$(entry "$T/sk.json" "$B")" = "$(b64 alice:s3cret)"
check "docker:// prefix and trailing / dropped" $C login -q --cert-dir "$T/certs" --authfile "$T/pfx.json" -u alice -p s3cret "docker://$B/"
check "... key is HOST:PORT" test "$(entry "$T/pfx.json" "$B")" = "$(b64 alice:s3cret)"

# ---- where the file goes ----
check "REGISTRY_AUTH_FILE" env REGISTRY_AUTH_FILE="$T/env.json" $C login -q --cert-dir "$T/certs" -u alice -p s3cret "$B"
check "... written there" test "$(entry "$T/env.json" "$B")" = "$(b64 alice:s3cret)"
mkdir -p "$T/xdg"
check "XDG_RUNTIME_DIR" env -u REGISTRY_AUTH_FILE XDG_RUNTIME_DIR="$T/xdg" $C login -q --cert-dir "$T/certs" -u alice -p s3cret "$B"
check "... containers/auth.json there" test "$(entry "$T/xdg/containers/auth.json" "$B")" = "$(b64 alice:s3cret)"
check "... and used by copy" env -u REGISTRY_AUTH_FILE XDG_RUNTIME_DIR="$T/xdg" $C copy -q --src-cert-dir "$T/certs" "docker://$B/sk/img:v1" "oci:$T/p2:v1"

# ---- logout ----
check "logout" sh -c "'$C' logout --authfile '$T/sk.json' '$B' | grep -q 'Removed login credentials for $B'"
check "... entry gone" "$PY" -c 'import json,sys; sys.exit(sys.argv[2] in json.load(open(sys.argv[1]))["auths"])' "$T/sk.json" "$B"
check "... others kept" test "$(entry "$T/sk.json" other.example)" = eDp5
check "logout again: not logged in" expect_rc 1 $C logout --authfile "$T/sk.json" "$B"
check "skopeo sees the logout" expect_rc 1 $SKOPEO inspect --cert-dir "$T/certs" --authfile "$T/sk.json" "docker://$B/sk/img:v1"
check "logout --all" $C logout -q --authfile "$T/sk.json" --all
check "... no entries" test "$(json_get "$T/sk.json" "len(j['auths'])")" = 0
check "logout: REGISTRY or --all" expect_rc 2 $C logout --authfile "$T/sk.json"
check "logout: a missing file" expect_rc 1 $C logout --authfile "$T/none.json" "$B"

# ---- usage ----
check "--password-stdin needs --username" expect_rc 2 sh -c "echo x | '$C' login --authfile '$T/u.json' --password-stdin '$B'"
check "no terminal, no password" expect_rc 2 sh -c "'$C' login --authfile '$T/u.json' -u alice '$B' < /dev/null"

# ---- a prompt on a terminal (script gives coco-img a pty) ----
# type each answer once its prompt is on the terminal, as a user does
typist() {
    wait_for_log "$T/tty.out" 'Username:' 20 >/dev/null && printf 'alice\n'
    wait_for_log "$T/tty.out" 'Password:' 20 >/dev/null && printf 's3cret\n'
    sleep 1
}
: > "$T/tty.out"
typist | script -qfec "'$C' login --cert-dir '$T/certs' --authfile '$T/tty.json' '$B'" /dev/null > "$T/tty.out" 2>&1
check "prompted login" test "$(entry "$T/tty.json" "$B")" = "$(b64 alice:s3cret)"
check "asked for the user name" grep -q "Username:" "$T/tty.out"
check "asked for the password" grep -q "Password:" "$T/tty.out"
check "password not echoed" sh -c "! grep -q s3cret '$T/tty.out'"

# ---- token auth ----
"$PY" "$TOP_SRCDIR/tests/integration/registry/token_server.py" "$T/token" &
_PIDS="$_PIDS $!"
wait_for_log "$T/token/port" '[0-9]+' 20 >/dev/null || exit 1
start_registry K "token=http://127.0.0.1:$(cat "$T/token/port")/token" || exit 1
K=$REG_K
check "token: login" $C login -q --tls-verify=false --authfile "$T/tok.json" -u alice -p s3cret "$K"
check "token: entry" test "$(entry "$T/tok.json" "$K")" = "$(b64 alice:s3cret)"
check "token: push with it" $C copy -q --dest-tls-verify=false --dest-authfile "$T/tok.json" "oci:$T/img:v1" "docker://$K/co/img:v1"
check "token: wrong password exits 1" expect_rc 1 $C login --tls-verify=false --authfile "$T/tok2.json" -u alice -p nope "$K"
check "token: nothing written" test ! -e "$T/tok2.json"
finish
