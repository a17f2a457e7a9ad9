#!/bin/bash
# Multi-platform images: an OCI index with linux/amd64 and linux/arm64
# pushed by skopeo; the platform picks the instance; --all copies the
# whole index both ways; Docker schema2 manifests pull and push unchanged.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/integration/registry/reglib.sh"

start_registry M || exit 1
R=$REG_M
I="tls-verify=false"
mkimage "$T/m:amd" --platform linux/amd64 --layer "f:arch=amd64" >/dev/null
mkimage "$T/m:arm" --platform linux/arm64 --layer "f:arch=arm64" >/dev/null
mkimage "$T/m:multi" --index-of "$T/m:amd" "$T/m:arm" >/dev/null
$SKOPEO copy -q --all --dest-tls-verify=false "oci:$T/m:multi" "docker://$R/test/multi:v1" >/dev/null || exit 1
AMD=$(oci_digest "$T/m" amd); ARM=$(oci_digest "$T/m" arm); IDX=$(oci_digest "$T/m" multi)

check "--platform linux/arm64 picks arm64" $REGTOOL copy "docker://$R/test/multi:v1" "oci:$T/a:v1" --platform linux/arm64 $I
check "arm64 digest" test "$(oci_digest "$T/a" v1)" = "$ARM"
check "--platform linux/amd64 picks amd64" $REGTOOL copy "docker://$R/test/multi:v1" "oci:$T/b:v1" --platform linux/amd64 $I
check "amd64 digest" test "$(oci_digest "$T/b" v1)" = "$AMD"
if [ "$(uname -m)" = x86_64 ]; then
    check "default = this machine (amd64)" $REGTOOL copy "docker://$R/test/multi:v1" "oci:$T/c:v1" $I
    check "default digest" test "$(oci_digest "$T/c" v1)" = "$AMD"
fi
$REGTOOL copy "docker://$R/test/multi:v1" "oci:$T/d:v1" --platform linux/s390x $I > "$T/none.out" 2>&1
check "missing platform: exit 1" test $? -eq 1
check "missing platform: lists what exists" grep -q "arm64" "$T/none.out"
check "--all pulls the index" $REGTOOL copy "docker://$R/test/multi:v1" "oci:$T/e:v1" --all $I
check "--all: index digest" test "$(oci_digest "$T/e" v1)" = "$IDX"
check "--all: every blob present" oci_blobs_ok "$T/e"
check "--all pushes the index" $REGTOOL copy "oci:$T/m:multi" "docker://$R/test/pushed:v1" --all $I
check "pushed index digest (skopeo)" test "$(sk_digest --tls-verify=false "docker://$R/test/pushed:v1")" = "$IDX"
check "skopeo copies the pushed index back" $SKOPEO copy -q --all --src-tls-verify=false "docker://$R/test/pushed:v1" "oci:$T/f:v1"
check "skopeo's copy verifies" oci_blobs_ok "$T/f"
check "instance by digest" $REGTOOL copy "docker://$R/test/pushed@$ARM" "oci:$T/g:v1" $I
check "instance digest" test "$(oci_digest "$T/g" v1)" = "$ARM"

mkimage "$T/dk:v1" --docker --layer "f:x=docker" >/dev/null
raw_push "$T/dk" v1 "$R" test/docker:v1 || exit 1
DK=$(sk_digest --tls-verify=false "docker://$R/test/docker:v1")
check "Docker schema2: pull keeps the bytes" $REGTOOL copy "docker://$R/test/docker:v1" "oci:$T/h:v1" $I
check "Docker schema2 digest" test "$(oci_digest "$T/h" v1)" = "$DK"
check "Docker schema2: media type" sh -c "$REGTOOL digest docker://$R/test/docker:v1 $I | grep -q 'application/vnd.docker.distribution.manifest.v2+json'"
check "Docker schema2: push keeps the bytes" $REGTOOL copy "oci:$T/h:v1" "docker://$R/test/docker2:v1" $I
check "Docker schema2 pushed digest" test "$(sk_digest --tls-verify=false "docker://$R/test/docker2:v1")" = "$DK"
finish
