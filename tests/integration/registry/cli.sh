#!/bin/bash
# coco-img copy / inspect with docker:// against docker-registry in the
# four setups (plain http, TLS with a private CA, htpasswd, bearer tokens),
# compared with skopeo both ways; faults through the fault proxy;
# multi-arch; wrong password.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/integration/registry/reglib.sh"
C="$COCO_IMG"
export COCOIMG_RETRY_BASE_MS=100

mkimage "$T/img:v1" --layer "f:a=hello,r:big=2500000" --layer "f:b=world" >/dev/null
IMG=$(oci_digest "$T/img" v1)
# layer digests of a layout's tagged manifest
layers() { "$PY" -c 'import json,sys; r=sys.argv[1]; m=json.load(open(r+"/blobs/sha256/"+sys.argv[2][7:])); print(" ".join(l["digest"] for l in m["layers"]))' "$1" "$2"; }

# ---- plain http ----
start_registry A || exit 1
A=$REG_A
$SKOPEO copy -q --dest-tls-verify=false "oci:$T/img:v1" "docker://$A/sk/img:v1" >/dev/null || exit 1
SK=$(sk_digest --tls-verify=false "docker://$A/sk/img:v1")
check "http: pull what skopeo pushed" $C copy -q --src-tls-verify=false "docker://$A/sk/img:v1" "oci:$T/p1:v1"
check "http: manifest digest = skopeo's" test "$(oci_digest "$T/p1" v1)" = "$SK"
check "http: layer digests = skopeo's" test "$(layers "$T/p1" "$SK")" = "$(layers "$T/img" "$IMG")"
check "http: blobs verify" oci_blobs_ok "$T/p1"
check "http: push" $C copy -q --dest-tls-verify=false "oci:$T/img:v1" "docker://$A/co/img:v1"
check "http: skopeo pulls our push" $SKOPEO copy -q --src-tls-verify=false "docker://$A/co/img:v1" "oci:$T/s1:v1"
check "http: skopeo's manifest digest = source" test "$(oci_digest "$T/s1" v1)" = "$IMG"
check "http: registry to registry" $C copy -q --tls-verify=false "docker://$A/co/img:v1" "docker://$A/co/other:v1"
check "http: copied digest" test "$(sk_digest --tls-verify=false "docker://$A/co/other:v1")" = "$IMG"
check "http: to oci-archive" $C copy -q --src-tls-verify=false "docker://$A/co/img:v1" "oci-archive:$T/a.tar:v1"
check "http: from oci-archive" $C copy -q --dest-tls-verify=false "oci-archive:$T/a.tar:v1" "docker://$A/co/fromtar:v1"
check "http: by digest" $C copy -q --src-tls-verify=false "docker://$A/co/img@$IMG" "oci:$T/p2:v1"
$C inspect --tls-verify=false "docker://$A/co/img:v1" > "$T/inspect.out" 2>&1
check "http: inspect docker://" grep -q "$IMG" "$T/inspect.out"
$C copy -q --src-tls-verify=false "docker://$A/co/img:nope" "oci:$T/nf:v1" 2> "$T/nf.err"
check "http: missing tag exits 1" test $? -eq 1
check "http: one clear line" sh -c "test \$(wc -l < '$T/nf.err') = 1 && grep -q '^coco-img: .*not found' '$T/nf.err'"
check "http: nothing written" test ! -e "$T/nf/index.json"
check "http: https is the default" expect_rc 1 $C copy -q "docker://$A/co/img:v1" "oci:$T/nf2:v1"

# ---- TLS with a private CA ----
start_registry S tls || exit 1
S=$REG_S
mkdir -p "$T/certs" && cp "$T/ca/ca.crt" "$T/certs/"
$SKOPEO copy -q --dest-cert-dir "$T/certs" "oci:$T/img:v1" "docker://$S/sk/img:v1" >/dev/null || exit 1
check "tls: pull with --src-cert-dir" $C copy -q --src-cert-dir "$T/certs" "docker://$S/sk/img:v1" "oci:$T/t1:v1"
check "tls: digest" test "$(oci_digest "$T/t1" v1)" = "$IMG"
check "tls: pull with SSL_CERT_FILE" env SSL_CERT_FILE="$T/ca/ca.crt" $C copy -q "docker://$S/sk/img:v1" "oci:$T/t2:v1"
check "tls: push with --dest-cert-dir" $C copy -q --dest-cert-dir "$T/certs" "oci:$T/img:v1" "docker://$S/co/img:v1"
check "tls: skopeo sees it" test "$(sk_digest --cert-dir "$T/certs" "docker://$S/co/img:v1")" = "$IMG"
check "tls: untrusted CA fails" expect_rc 1 $C copy -q "docker://$S/sk/img:v1" "oci:$T/t3:v1"
check "tls: --tls-verify=false" $C copy -q --tls-verify=false "docker://$S/sk/img:v1" "oci:$T/t4:v1"

# ---- htpasswd ----
start_registry B tls htpasswd || exit 1
B=$REG_B
$SKOPEO copy -q --dest-cert-dir "$T/certs" --dest-creds alice:s3cret "oci:$T/img:v1" "docker://$B/sk/img:v1" >/dev/null || exit 1
check "basic: --creds" $C copy -q --cert-dir "$T/certs" --creds alice:s3cret "docker://$B/sk/img:v1" "oci:$T/b1:v1"
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$B" "$(printf alice:s3cret | base64)" > "$T/auth.json"
check "basic: --authfile" $C copy -q --src-cert-dir "$T/certs" --src-authfile "$T/auth.json" "docker://$B/sk/img:v1" "oci:$T/b2:v1"
check "basic: push with --dest-creds" $C copy -q --dest-cert-dir "$T/certs" --dest-creds alice:s3cret "oci:$T/img:v1" "docker://$B/co/img:v1"
check "basic: skopeo sees it" test "$(sk_digest --cert-dir "$T/certs" --creds alice:s3cret "docker://$B/co/img:v1")" = "$IMG"
$C copy -q --cert-dir "$T/certs" --creds alice:Wr0ngPassw0rd "docker://$B/sk/img:v1" "oci:$T/b3:v1" > "$T/wrong.out" 2>&1
check "basic: wrong password exits 1" test $? -eq 1
check "basic: wrong password message" grep -q "^coco-img: .*authentication to $B failed" "$T/wrong.out"
check "basic: password not printed" sh -c "! grep -q Wr0ngPassw0rd '$T/wrong.out'"
check "basic: nothing written" test ! -e "$T/b3/index.json"

# ---- bearer tokens ----
"$PY" "$TOP_SRCDIR/tests/integration/registry/token_server.py" "$T/token" &
_PIDS="$_PIDS $!"
wait_for_log "$T/token/port" '[0-9]+' 20 >/dev/null || exit 1
start_registry K "token=http://127.0.0.1:$(cat "$T/token/port")/token" || exit 1
K=$REG_K
$SKOPEO copy -q --dest-tls-verify=false --dest-creds alice:s3cret "oci:$T/img:v1" "docker://$K/sk/img:v1" >/dev/null || exit 1
check "token: anonymous pull" $C copy -q --src-tls-verify=false "docker://$K/sk/img:v1" "oci:$T/k1:v1"
check "token: digest" test "$(oci_digest "$T/k1" v1)" = "$IMG"
check "token: anonymous push refused" expect_rc 1 $C copy -q --dest-tls-verify=false "oci:$T/img:v1" "docker://$K/co/anon:v1"
check "token: push with --dest-creds" $C copy -q --dest-tls-verify=false --dest-creds alice:s3cret "oci:$T/img:v1" "docker://$K/co/img:v1"
check "token: skopeo sees it" test "$(sk_digest --tls-verify=false --creds alice:s3cret "docker://$K/co/img:v1")" = "$IMG"

# ---- faults (proxy in front of A) ----
"$PY" "$TOP_SRCDIR/tests/integration/registry/fault_proxy.py" "$A" "$T/proxy.port" "$T/proxy.log" &
_PIDS="$_PIDS $!"
wait_for_log "$T/proxy.port" '[0-9]+' 20 >/dev/null || exit 1
P=127.0.0.1:$(cat "$T/proxy.port")
fault() { curl -sf "http://$P/__fault?kind=$1&match=$2&count=${3:-1}" >/dev/null; }
L1=$(layers "$T/img" "$IMG" | cut -d' ' -f1)
fault cut "$L1"
check "fault: blob cut halfway resumes" $C copy -q --src-tls-verify=false "docker://$P/co/img:v1" "oci:$T/f1:v1"
check "fault: Range request seen" grep -q "blobs/$L1 range=bytes=[1-9][0-9]*- -> 206" "$T/proxy.log"
check "fault: cut result verifies" oci_blobs_ok "$T/f1"
fault 503 "$L1"
check "fault: 503 once is retried" $C copy -q --src-tls-verify=false "docker://$P/co/img:v1" "oci:$T/f2:v1"
fault flip "$L1" 0
$C copy -q --src-tls-verify=false "docker://$P/co/img:v1" "oci:$T/f3:v1" 2> "$T/flip.err"
check "fault: flipped byte exits 1" test $? -eq 1
check "fault: flipped byte names the layer" grep -q "$L1" "$T/flip.err"
check "fault: flipped byte writes nothing" test ! -e "$T/f3"
fault clear x

# ---- multi-arch ----
mkimage "$T/m:amd" --platform linux/amd64 --layer "f:arch=amd64" >/dev/null
mkimage "$T/m:arm" --platform linux/arm64 --layer "f:arch=arm64" >/dev/null
mkimage "$T/m:multi" --index-of "$T/m:amd" "$T/m:arm" >/dev/null
$SKOPEO copy -q --all --dest-tls-verify=false "oci:$T/m:multi" "docker://$A/sk/multi:v1" >/dev/null || exit 1
check "multi: --platform linux/arm64" $C copy -q --src-tls-verify=false --platform linux/arm64 "docker://$A/sk/multi:v1" "oci:$T/m1:v1"
check "multi: arm64 instance" test "$(oci_digest "$T/m1" v1)" = "$(oci_digest "$T/m" arm)"
check "multi: --multi-arch all" $C copy -q --src-tls-verify=false --multi-arch all "docker://$A/sk/multi:v1" "oci:$T/m2:v1"
check "multi: index digest" test "$(oci_digest "$T/m2" v1)" = "$(oci_digest "$T/m" multi)"
check "multi: all blobs" oci_blobs_ok "$T/m2"
check "multi: push the index" $C copy -q --dest-tls-verify=false --multi-arch all "oci:$T/m:multi" "docker://$A/co/multi:v1"
check "multi: skopeo sees the index" test "$(sk_digest --tls-verify=false "docker://$A/co/multi:v1")" = "$(oci_digest "$T/m" multi)"
finish
