#!/bin/bash
# Mutual TLS: docker-registry with `http.tls.clientcas` refuses clients
# without a certificate; coco-img with a cert dir holding ca.crt +
# client.cert + client.key pulls and pushes (a streamed PATCH layer too),
# and skopeo with the same directory agrees byte for byte.  A certificate
# from an unknown CA, a broken certificate file and half pairs fail with
# a clear message; the client pair in a cert dir combines with CAs from
# SSL_CERT_FILE; /etc/containers/certs.d/HOST:PORT is found without
# --cert-dir.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/integration/registry/reglib.sh"
C="$COCO_IMG"
export COCOIMG_RETRY_BASE_MS=50

make_ca
# A separate CA for client certificates (EC keys, unlike the server's RSA).
(
    cd "$T/ca"
    ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2"
    openssl req -x509 $ec -keyout cca.key -out cca.crt -subj /CN=coco-test-client-ca >/dev/null 2>&1
    openssl req $ec -keyout client.key -out client.csr -subj /CN=coco-test-client >/dev/null 2>&1
    printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n' > cext
    openssl x509 -req -in client.csr -CA cca.crt -CAkey cca.key -CAcreateserial -days 2 \
        -extfile cext -out client.cert >/dev/null 2>&1
    # self-signed: unknown to the registry
    openssl req -x509 $ec -keyout rogue.key -out rogue.cert -subj /CN=rogue >/dev/null 2>&1
) || exit 1

# The registry (start_registry has no clientcas option).
D="$T/registry-M"; mkdir -p "$D/data"
cat > "$D/config.yml" <<EOF
version: 0.1
log: {level: info}
storage: {filesystem: {rootdirectory: $D/data}, delete: {enabled: true}}
http:
  addr: 127.0.0.1:0
  tls:
    certificate: $T/ca/server.crt
    key: $T/ca/server.key
    clientcas: [$T/ca/cca.crt]
EOF
docker-registry serve "$D/config.yml" > "$D/log" 2>&1 &
_PIDS="$_PIDS $!"
R=$(wait_for_log "$D/log" 'listening on 127\.0\.0\.1:[0-9]+' 10) || exit 1
R=${R#listening on }

# cert dirs: good pair, CA only, unknown pair, broken file, half pairs,
# the pair without a CA
mk() { mkdir -p "$T/$1"; [ "${2:-}" = ca ] && cp "$T/ca/ca.crt" "$T/$1/ca.crt"; return 0; }
mk good ca; cp "$T/ca/client.cert" "$T/ca/client.key" "$T/good/"
mk noclient ca
mk rogue ca; cp "$T/ca/rogue.cert" "$T/rogue/client.cert"; cp "$T/ca/rogue.key" "$T/rogue/client.key"
mk broken ca; echo "not a certificate" > "$T/broken/client.cert"; cp "$T/ca/client.key" "$T/broken/"
mk nokey ca; cp "$T/ca/client.cert" "$T/nokey/"
mk nocert ca; cp "$T/ca/client.key" "$T/nocert/"
mk paironly; cp "$T/ca/client.cert" "$T/ca/client.key" "$T/paironly/"

mkimage "$T/img:v1" --layer "f:a=hello,r:big=2500000" --layer "f:b=world" >/dev/null
IMG=$(oci_digest "$T/img" v1)
$SKOPEO copy -q --dest-cert-dir "$T/good" "oci:$T/img:v1" "docker://$R/sk/img:v1" >/dev/null || exit 1
SK=$(sk_digest --cert-dir "$T/good" "docker://$R/sk/img:v1")

# ---- refused without a client certificate ----
$C copy -q --src-cert-dir "$T/noclient" "docker://$R/sk/img:v1" "oci:$T/n1:v1" 2> "$T/n1.err"
check "no client cert: exit 1" test $? -eq 1
# (retries are logged as warnings, one per retry: the error is one line)
check "no client cert: one line naming the certificate" \
    sh -c "test \$(grep -vc 'warning' '$T/n1.err') = 1 && grep -v warning '$T/n1.err' | grep -qi 'certificate'"
check "no client cert: nothing written" test ! -e "$T/n1/index.json"
check "no client cert: skopeo is refused too" expect_rc 1 $SKOPEO inspect --raw --cert-dir "$T/noclient" "docker://$R/sk/img:v1"

# ---- with the client certificate ----
check "pull with --src-cert-dir" $C copy -q --src-cert-dir "$T/good" "docker://$R/sk/img:v1" "oci:$T/p1:v1"
check "pull: digest = skopeo's" test "$(oci_digest "$T/p1" v1)" = "$SK"
check "pull: blobs verify" oci_blobs_ok "$T/p1"
check "push with --dest-cert-dir (streamed layer)" \
    $C copy -q --dest-cert-dir "$T/good" "oci:$T/img:v1" "docker://$R/co/img:v1"
check "push: skopeo sees the source digest" test "$(sk_digest --cert-dir "$T/good" "docker://$R/co/img:v1")" = "$IMG"
check "push: skopeo pulls it" $SKOPEO copy -q --src-cert-dir "$T/good" "docker://$R/co/img:v1" "oci:$T/s1:v1"
check "push: skopeo's copy verifies" oci_blobs_ok "$T/s1"
check "registry to registry with --cert-dir" \
    $C copy -q --cert-dir "$T/good" "docker://$R/co/img:v1" "docker://$R/co/other:v1"
check "registry to registry: digest" test "$(sk_digest --cert-dir "$T/good" "docker://$R/co/other:v1")" = "$IMG"
check "inspect with --cert-dir" sh -c "$C inspect --cert-dir '$T/good' 'docker://$R/co/img:v1' | grep -q '$IMG'"
check "library back end (regtool)" $REGTOOL copy "docker://$R/sk/img:v1" "oci:$T/p2:v1" cert-dir="$T/good"
check "client pair in the cert dir + CA from SSL_CERT_FILE" \
    env SSL_CERT_FILE="$T/ca/ca.crt" $C copy -q --src-cert-dir "$T/paironly" "docker://$R/sk/img:v1" "oci:$T/p3:v1"
check "pair only, no CA anywhere: untrusted server, exit 1" \
    expect_rc 1 $C copy -q --src-cert-dir "$T/paironly" "docker://$R/sk/img:v1" "oci:$T/p4:v1"

# ---- wrong or broken client certificates ----
$C copy -q --src-cert-dir "$T/rogue" "docker://$R/sk/img:v1" "oci:$T/r1:v1" 2> "$T/r1.err"
check "unknown client cert: exit 1" test $? -eq 1
check "unknown client cert: message says the registry refused it" \
    sh -c "test \$(grep -vc 'warning' '$T/r1.err') = 1 && grep -v warning '$T/r1.err' | grep -qi 'refused the TLS client certificate'"
check "unknown client cert: no CA hint" sh -c "! grep -q 'trust its CA' '$T/r1.err'"
check "unknown client cert: nothing written" test ! -e "$T/r1/index.json"
check "unknown client cert: push refused too" \
    expect_rc 1 $C copy -q --dest-cert-dir "$T/rogue" "oci:$T/img:v1" "docker://$R/co/rogue:v1"
check "unknown client cert: skopeo agrees" expect_rc 1 $SKOPEO inspect --raw --cert-dir "$T/rogue" "docker://$R/sk/img:v1"
$C copy -q --src-cert-dir "$T/broken" "docker://$R/sk/img:v1" "oci:$T/b1:v1" 2> "$T/b1.err"
check "broken client cert file: exit 1" test $? -eq 1
check "broken client cert file: names the file" grep -q "$T/broken/client.cert" "$T/b1.err"
check "broken client cert file: no CA hint" sh -c "! grep -q 'trust its CA' '$T/b1.err'"
$C copy -q --src-cert-dir "$T/nokey" "docker://$R/sk/img:v1" "oci:$T/k1:v1" 2> "$T/k1.err"
check ".cert without .key: exit 2" test $? -eq 2
check ".cert without .key: names the missing key" grep -q "missing key $T/nokey/client.key" "$T/k1.err"
$C copy -q --src-cert-dir "$T/nocert" "docker://$R/sk/img:v1" "oci:$T/k2:v1" 2> "$T/k2.err"
check ".key without .cert: exit 2" test $? -eq 2
check ".key without .cert: names the missing certificate" grep -q "missing client certificate $T/nocert/client.cert" "$T/k2.err"
check "private key never printed" sh -c "! grep -q 'PRIVATE KEY' '$T/n1.err' '$T/r1.err' '$T/b1.err' '$T/k1.err' '$T/k2.err'"

# ---- the per-host directory /etc/containers/certs.d/HOST:PORT ----
# Only where the test may create it (root in the test container); the
# port is kernel-chosen, so the directory is ours alone; removed on exit.
HD="/etc/containers/certs.d/$R"
if [ ! -e "$HD" ] && mkdir -p "$HD" 2>/dev/null; then
    trap 'rm -rf "$HD"; cleanup' EXIT
    cp "$T/good/ca.crt" "$T/good/client.cert" "$T/good/client.key" "$HD/"
    check "certs.d/HOST:PORT without --cert-dir: pull" \
        env -u SSL_CERT_FILE HOME="$T/home" $C copy -q "docker://$R/sk/img:v1" "oci:$T/h1:v1"
    check "certs.d: digest" test "$(oci_digest "$T/h1" v1)" = "$SK"
    check "certs.d: push" env HOME="$T/home" $C copy -q "oci:$T/img:v1" "docker://$R/co/hd:v1"
    check "certs.d: skopeo agrees" test "$(sk_digest "docker://$R/co/hd:v1")" = "$IMG"
    check "--cert-dir replaces the certs.d search" \
        expect_rc 1 $C copy -q --src-cert-dir "$T/noclient" "docker://$R/sk/img:v1" "oci:$T/h2:v1"
else
    echo "ok - certs.d checks skipped (cannot create $HD)"
fi
finish
