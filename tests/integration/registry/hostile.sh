#!/bin/bash
# A hostile registry (hostile_registry.py on loopback): every case must end
# with a clean error (exit 1) and a message saying what the registry did,
# never hang.  Timeouts are configured short so that the test stays fast;
# `timeout 120` only guards against a hang.
. "$TOP_SRCDIR/tests/lib/common.sh"
REGTOOL=$1
export COCOIMG_RETRY_BASE_MS=10

inspect() { # MODE OUT [ARGS...]
    _m=$1 _o=$2; shift 2
    timeout 120 "$COCO_IMG" inspect "docker://$H/x/y:t" --tls-verify=false "$@" >"$T/$_o" 2>&1
}

start_hostile chunked500
inspect chunked500 c500.out --retry-times 1
check "endless chunked 500: exit 1" test $? -eq 1
check "endless chunked 500: the status is reported" grep -q "HTTP 500" "$T/c500.out"
check "endless chunked 500: one request per attempt (retried once)" \
    test "$(grep -c 'manifests/t -> 500' "$T/chunked500.log")" -eq 2

start_hostile big404
inspect big404 b404.out --retry-times 0
check "1 GiB 404: exit 1" test $? -eq 1
check "1 GiB 404: reported as not found" grep -q "not found" "$T/b404.out"

start_hostile trickle
inspect trickle trickle1.out --retry-times 0 --command-timeout 2s
check "trickled manifest, --command-timeout 2s: exit 1" test $? -eq 1
check "trickle: the command timeout is named" grep -q "command timeout (2s)" "$T/trickle1.out"
COCOIMG_STALL_TIMEOUT=1 inspect trickle trickle2.out --retry-times 0
check "trickled manifest below the minimum rate: exit 1" test $? -eq 1
check "trickle: too slow is named" grep -qi "too slow" "$T/trickle2.out"
timeout 120 "$REGTOOL" digest "docker://$H/x/y:t" tls-verify=false retry-times=0 \
    metadata-timeout=1500ms stall-timeout=60s >"$T/trickle3.out" 2>&1
check "trickled manifest past metadata-timeout: exit 1" test $? -eq 1
check "trickle: timed out" grep -qi "timed out" "$T/trickle3.out"
check "bad command-timeout: exit 2" expect_rc 2 "$COCO_IMG" inspect "docker://$H/x/y:t" --command-timeout 5parsecs

start_hostile bigheader
inspect bigheader hdr.out --retry-times 0
check "1 MiB header: exit 1" test $? -eq 1
check "1 MiB header: not reported as out of memory" sh -c "! grep -qi 'out of memory' '$T/hdr.out'"
check "1 MiB header: says the header was too large" grep -q "header too large" "$T/hdr.out"

start_hostile token
inspect token tok.out --retry-times 0
check "refused token: exit 1" test $? -eq 1
check "refused token: says the token was refused" grep -q "refused the token" "$T/tok.out"
check "refused token: not 'no credentials'" sh -c "! grep -q 'no credentials were found' '$T/tok.out'"
check "refused token: the token never appears" sh -c "! grep -q 'granted-but-refused' '$T/tok.out'"
finish
