#!/bin/bash
# docker:// over plain http (--tls-verify=false): pull and push against
# Debian's docker-registry, compared with skopeo; by tag and by digest;
# not-found errors; cross-repository mount; https-only without the flag.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/integration/registry/reglib.sh"

start_registry A || exit 1
R=$REG_A
mkimage "$T/img:v1" --layer "f:a=hello,r:big=3000000" --layer "f:b=world" >/dev/null
$SKOPEO copy -q --dest-tls-verify=false "oci:$T/img:v1" "docker://$R/test/a:v1" >/dev/null || exit 1
WANT=$(sk_digest --tls-verify=false "docker://$R/test/a:v1")

check "pull by tag" $REGTOOL copy "docker://$R/test/a:v1" "oci:$T/out:v1" tls-verify=false
check "pulled manifest digest = skopeo's" test "$(oci_digest "$T/out" v1)" = "$WANT"
check "pulled blobs verify" oci_blobs_ok "$T/out"
check "manifest digest via get_manifest" sh -c "$REGTOOL digest docker://$R/test/a:v1 tls-verify=false | grep -q '^$WANT '"
check "pull by digest" $REGTOOL copy "docker://$R/test/a@$WANT" "oci:$T/out2:d" tls-verify=false
check "by-digest digest" test "$(oci_digest "$T/out2" d)" = "$WANT"

check "push" $REGTOOL copy "oci:$T/img:v1" "docker://$R/test/b:v1" tls-verify=false
check "pushed manifest digest = source" test "$(sk_digest --tls-verify=false "docker://$R/test/b:v1")" = "$(oci_digest "$T/img" v1)"
check "skopeo pulls what we pushed" $SKOPEO copy -q --src-tls-verify=false "docker://$R/test/b:v1" "oci:$T/sk:v1"
check "skopeo's copy has the same manifest" test "$(oci_digest "$T/sk" v1)" = "$(oci_digest "$T/img" v1)"
check "push again (blobs exist: HEAD)" $REGTOOL copy "oci:$T/img:v1" "docker://$R/test/b:v2" tls-verify=false

$REGTOOL copy "docker://$R/test/a:v1" "docker://$R/test/c:v1" tls-verify=false > /dev/null 2> "$T/mount.err"
check "registry to registry copy" test $? -eq 0
check "cross-repository mount used" grep -q "^mounted" "$T/mount.err"
check "mounted image readable by skopeo" test "$(sk_digest --tls-verify=false "docker://$R/test/c:v1")" = "$WANT"

check "missing tag: exit 1" expect_rc 1 $REGTOOL copy "docker://$R/test/a:nope" "oci:$T/x:1" tls-verify=false
$REGTOOL copy "docker://$R/test/a:nope" "oci:$T/x:1" tls-verify=false 2> "$T/nf.err"
check "missing tag message names the manifest" grep -q "manifest $R/test/a:nope not found (MANIFEST_UNKNOWN" "$T/nf.err"
check "missing repo: exit 1" expect_rc 1 $REGTOOL copy "docker://$R/no/such:v1" "oci:$T/x:1" tls-verify=false
check "nothing written on failure" test ! -e "$T/x/index.json"
check "plain http needs --tls-verify=false" expect_rc 1 $REGTOOL copy "docker://$R/test/a:v1" "oci:$T/y:1"
check "HTTP/1.1 over plain http" sh -c "REGTOOL_DEBUG=1 $REGTOOL digest docker://$R/test/a:v1 tls-verify=false 2>&1 | grep -q 'http, HTTP/1.1'"
# a registry named with a port is asked over plain http first: no TLS attempt
REGTOOL_DEBUG=1 $REGTOOL digest "docker://$R/test/a:v1" tls-verify=false > "$T/ping.out" 2>&1
check "host:port, tls-verify=false: no https attempt before http" sh -c "grep -q 'http, HTTP/1.1' '$T/ping.out' && ! grep -q 'failed, trying' '$T/ping.out'"
# one context, one registry on both sides: the destination's client takes
# the source's ping answer (one GET /v2/ in the registry's log)
lines=$(wc -l < "$T/registry-A/log")
REGTOOL_DEBUG=1 $REGTOOL copy "docker://$R/test/a:v1" "docker://$R/test/p:v1" tls-verify=false > "$T/memo.out" 2>&1
check "same registry twice in one context: the second client says so" grep -q 'as pinged before' "$T/memo.out"
check "same registry twice in one context: one GET /v2/" test \
    "$(tail -n +$((lines + 1)) "$T/registry-A/log" | grep -c 'response completed.*http.request.uri=/v2/ ')" -le 1
check "coco_http_get" sh -c "$REGTOOL get http://$R/v2/ | head -1 | grep -qx 200"
finish
