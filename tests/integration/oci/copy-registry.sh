#!/bin/bash
# copy through a loopback registry: oci -> docker -> oci keeps the digest; docker -> docker.
. "$TOP_SRCDIR/tests/lib/common.sh"
C=$COCO_IMG
start_registry r
D=$(mkimage "$T/src:v1" --layer 'f:a=1\n' --layer 'r:b=300000')
check "oci -> docker" "$C" copy -q --dest-tls-verify=false "oci:$T/src:v1" "docker://$REG_r/test/a:v1"
check "docker -> oci" "$C" copy -q --src-tls-verify=false "docker://$REG_r/test/a:v1" "oci:$T/back:v1"
check "digest kept" test "$(json_get "$T/back/index.json" "j['manifests'][0]['digest']")" = "$D"
check "inspect docker" "$C" inspect --tls-verify=false "docker://$REG_r/test/a:v1"
check "docker -> docker" "$C" copy -q --src-tls-verify=false --dest-tls-verify=false "docker://$REG_r/test/a:v1" "docker://$REG_r/test/b:v2"
check "skopeo pulls what we pushed" $SKOPEO copy -q --src-tls-verify=false "docker://$REG_r/test/b:v2" "oci:$T/sk:v1"
check "skopeo sees the same digest" test "$(json_get "$T/sk/index.json" "j['manifests'][0]['digest']")" = "$D"
finish
