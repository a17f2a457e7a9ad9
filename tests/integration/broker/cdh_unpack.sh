#!/bin/bash
# Keys, policy and credentials from the confidential-data-hub: the ttrpc
# double (ttrpc_double.py, strict, written from containerd/ttrpc
# PROTOCOL.md and guest-components' protos) serves GetResource for the
# policy, the cosign public key, the registries.d file and the registry
# credentials, and UnWrapKey for the layer key's packet, to `coco-img
# unpack --cdh SOCKET` against a loopback docker-registry with basic auth
# over TLS (bare /R/T/G kids rewritten for CDH: int/broker/ttrpc).  Then the KBS double
# with evidence from the attestation agent (`--attester aa:SOCKET`).
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/broker.sh"
private_env
TTRPC="$TOP_SRCDIR/tests/integration/broker/ttrpc_double.py"
KBSD="$TOP_SRCDIR/tests/integration/broker/kbs_double.py"
cd "$T" || exit 1

broker_registry || exit 1

# start_ttrpc NAME ROLE: socket $T/NAME.sock, log $T/NAME.log
start_ttrpc() {
    "$PY" "$TTRPC" --socket "$T/$1.sock" --role "$2" --resources "$T/res" --log "$T/$1.log" \
        > "$T/$1.out" 2>&1 &
    _PIDS="$_PIDS $!"
    wait_for_log "$T/$1.out" '^READY' 10 > /dev/null
}

broker_images || exit 1
broker_resource_tree res
# here only enc must be signed: the rest of $R/app is accepted
printf '{"default":[{"type":"reject"}],"transports":{"docker":{"%s/app/enc":[{"type":"sigstoreSigned","keyPath":"kbs:///default/cosign-public-key/test","signedIdentity":{"type":"matchRepository"}}],"%s/app":[{"type":"insecureAcceptAnything"}]}}}\n' "$R" "$R" > res/default/security-policy/test
ALL=$BROKER_ALL
UNPACK="$COCO_IMG unpack -q --cert-dir $T/certs"

start_ttrpc cdh cdh || exit 1
$UNPACK --cdh "unix://$T/cdh.sock" $ALL "docker://$R/app/enc:v1" "$T/root1" > u1.out 2>&1
check "unpack --cdh: policy, cosign key, registries.d, credentials and KEK from CDH" test $? -eq 0
check "unpack --cdh: the files are there" test "$(cat "$T/root1/etc/b" 2>/dev/null)" = beta
for r in security-policy/test cosign-public-key/test sigstore-config/test credential/test; do
    check "GetResource kbs:///default/$r" grep -q "\"GetResource\", \"status\": 0, \"detail\": \"kbs:///default/$r\"" cdh.log
done
check "the KEK through UnWrapKey, not GetResource" grep -q '"UnWrapKey", "status": 0, "detail": "kbs:///default/key/app1"' cdh.log
check "(the KEK is never asked with GetResource)" sh -c "! grep -q 'GetResource.*default/key/app1' cdh.log"


MARK=$(wc -l < "$REGLOG")
$UNPACK --cdh "$T/cdh.sock" $ALL "docker://$R/app/lost:v1" "$T/root3" > u3.out 2>&1
check "unknown KEK at CDH: exit 4" test $? -eq 4
check "unknown KEK: names the kid and CDH" grep -q "kbs:///default/key/gone.*CDH" u3.out
check "unknown KEK: nothing at ROOTFS" test ! -e "$T/root3"
$UNPACK --cdh "$T/nobody.sock" --creds alice:s3cret --policy kbs:///default/security-policy/test "docker://$R/app/enc:v1" "$T/root4" > u4.out 2>&1
check "CDH unreachable for the policy: exit 3" test $? -eq 3
check "CDH unreachable: nothing at ROOTFS" test ! -e "$T/root4"

# decrypt needs no --decryption-key with --cdh
check "decrypt --cdh" "$COCO_IMG" decrypt -q --cdh "$T/cdh.sock" oci:enc:v1 oci:dec:v1
check "decrypt --cdh: no encrypted layer left" plain_layers "$T/dec"
# copy too: --cdh alone switches it to decrypting, the key through UnWrapKey
: > cdh.log
check "copy --cdh: decrypts without --decryption-key" "$COCO_IMG" copy -q --cdh "$T/cdh.sock" oci:enc:v1 oci:cdec:v1
check "copy --cdh: no encrypted layer left" plain_layers "$T/cdec"
check "copy --cdh: the KEK through UnWrapKey" grep -q '"UnWrapKey", "status": 0, "detail": "kbs:///default/key/app1"' cdh.log
check "copy --cdh: the copy unpacks with no key" "$COCO_IMG" unpack -q oci:cdec:v1 "$T/root7"
check "copy --cdh: the files are right" test "$(cat "$T/root7/etc/b" 2>/dev/null)" = beta
check "copy without a key or a broker still copies encrypted" "$COCO_IMG" copy -q oci:enc:v1 oci:cenc:v1
check "(that copy kept its encrypted layers)" expect_rc 1 plain_layers "$T/cenc"

# the KBS with evidence from the attestation agent
start_ttrpc aa aa || exit 1
mkdir -p kbsres && cp -r res/default kbsres/
"$PY" "$KBSD" --resources "$T/kbsres" --log "$T/kbs.log" > kbs.out 2>&1 &
_PIDS="$_PIDS $!"
P=$(wait_for_log kbs.out '^PORT [0-9]+' 10) || exit 1
KBS="http://127.0.0.1:${P#PORT }"
$UNPACK --kbs "$KBS" --attester "aa:unix://$T/aa.sock" $ALL "docker://$R/app/enc:v1" "$T/root5" > u5.out 2>&1
check "unpack --kbs --attester aa:SOCKET" test $? -eq 0
check "aa: the files are there" test "$(cat "$T/root5/etc/a" 2>/dev/null)" = alpha
check "aa: one GetEvidence" test "$(grep -c '"GetEvidence", "status": 0' aa.log)" = 1
check "aa: one attestation" test "$(grep -c '"path": "/kbs/v0/attest", "status": 200' kbs.log)" = 1
check "aa: no sample warning" sh -c "! grep -q 'sample TEE' u5.out"
check "aa: an AA that is not there: exit 4" expect_rc 4 $UNPACK --kbs "$KBS" --attester "aa:$T/none.sock" --creds alice:s3cret "docker://$R/app/enc:v1" "$T/root6"
check "no secret printed" sh -c "! grep -q \"\$(base64 < kek.bin)\" u*.out"
finish
