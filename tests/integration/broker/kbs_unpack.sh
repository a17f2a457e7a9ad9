#!/bin/bash
# Keys, policy and credentials released by a KBS after attestation: the
# KBS double (kbs_double.py, the sample TEE, strict) serves the policy,
# the cosign public key, the registries.d file, the registry credentials
# and the KEK to `coco-img unpack --kbs URL --attester sample` against a
# loopback docker-registry with basic auth over TLS.  One attestation for
# all of them; a token that expires gives one re-attestation; a refused
# attestation is exit 4 with nothing at ROOTFS; an unknown key resource
# is exit 4 and no layer blob is requested; HTTPS with and without
# --kbs-cert; the resources file wins over the KBS (first match).
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/broker.sh"
EXAMPLE=${1:+$(realpath "$1")}
private_env
DOUBLE="$TOP_SRCDIR/tests/integration/broker/kbs_double.py"
cd "$T" || exit 1

broker_registry || exit 1

# start_kbs NAME [double options...]: sets KBS_<NAME>=URL, log $T/kbs-NAME.log
start_kbs() {
    _n=$1; shift
    "$PY" "$DOUBLE" --resources "$T/kbsres" --log "$T/kbs-$_n.log" "$@" > "$T/kbs-$_n.out" 2>&1 &
    _PIDS="$_PIDS $!"
    _p=$(wait_for_log "$T/kbs-$_n.out" '^PORT [0-9]+' 10) || return 1
    _s=http; case " $* " in *" --tls "*) _s=https;; esac
    eval "KBS_$_n=$_s://127.0.0.1:${_p#PORT }"
}
attests() { grep -c '"path": "/kbs/v0/attest", "status": 200' "$T/kbs-$1.log"; }

broker_images || exit 1
broker_resource_tree kbsres
ALL=$BROKER_ALL
UNPACK="$COCO_IMG unpack -q --cert-dir $T/certs --attester sample"

start_kbs A || exit 1
$UNPACK --kbs "$KBS_A" $ALL "docker://$R/app/enc:v1" "$T/root1" > u1.out 2>&1
check "unpack: policy, cosign key, registries.d, credentials and KEK from the KBS" test $? -eq 0
check "unpack: the files are there" test "$(cat "$T/root1/etc/b" 2>/dev/null)" = beta
check "one attestation for five resources" test "$(attests A)" = 1
check "five resource GETs" test "$(grep -c '"path": "/kbs/v0/resource/' "$T/kbs-A.log")" = 5
check "the sample attester warns" grep -q "sample TEE proves nothing" u1.out

: > "$T/kbs-A.log"
$UNPACK --kbs "$KBS_A" --creds alice:s3cret "docker://$R/app/lost:v1" "$T/root2" > u2.out 2>&1
check "unknown key resource: exit 4" test $? -eq 4
check "unknown key resource: names the kid and the KBS" grep -q "kbs:///default/key/gone.*KBS $KBS_A" u2.out
check "unknown key resource: nothing at ROOTFS" test ! -e "$T/root2"
# The first layers download while the keys are fetched (a KBS round trip
# costs more than a small layer), so blob requests may have started; none
# of them may leave anything behind.
check "unknown key resource: no staging directory left" sh -c "! ls -a '$T' | grep -q '^\.root2\.coco-unpack'"
$UNPACK --kbs "$KBS_A" --authfile kbs:///default/credential/test --policy kbs:///default/security-policy/none "docker://$R/app/enc:v1" "$T/root3" > u3.out 2>&1
check "unknown policy resource: exit 3" test $? -eq 3

start_kbs X --refuse-attestation || exit 1
$UNPACK --kbs "$KBS_X" --creds alice:s3cret "docker://$R/app/enc:v1" "$T/root4" > u4.out 2>&1
check "attestation refused: exit 4" test $? -eq 4
check "attestation refused: nothing at ROOTFS" test ! -e "$T/root4"
check "attestation refused: the message names the KBS" grep -q "KBS $KBS_X" u4.out

start_kbs E --expire-after 3 || exit 1
$UNPACK --kbs "$KBS_E" $ALL "docker://$R/app/enc:v1" "$T/root5" > u5.out 2>&1
check "token expiry: unpack succeeds" test $? -eq 0
check "token expiry: exactly one re-attestation" test "$(attests E)" = 2

start_kbs T --tls "$T/ca/server.crt" "$T/ca/server.key" || exit 1
check "HTTPS KBS with --kbs-cert" $UNPACK --kbs "$KBS_T" --kbs-cert "$T/ca/ca.crt" $ALL "docker://$R/app/enc:v1" "$T/root6"
check "HTTPS KBS without its CA: exit 4" expect_rc 4 $UNPACK --kbs "$KBS_T" --creds alice:s3cret "docker://$R/app/enc:v1" "$T/root7"
check "without its CA: nothing at ROOTFS" test ! -e "$T/root7"

# a runtime with its own evidence callback (examples/kbs_unpack.c)
if [ -n "$EXAMPLE" ]; then
    : > "$T/kbs-A.log"
    check "example: unpack with the evidence callback" \
        env SSL_CERT_FILE="$T/ca/ca.crt" "$EXAMPLE" "$KBS_A" "docker://$R/app/enc:v1" "$T/root9" kbs:///default/security-policy/test kbs:///default/credential/test \
        kbs:///default/sigstore-config/test
    check "example: the files are there" test "$(cat "$T/root9/etc/a" 2>/dev/null)" = alpha
    check "example: one attestation" test "$(attests A)" = 1
fi

# decrypt needs no --decryption-key with --kbs
check "decrypt --kbs: layers decrypted" "$COCO_IMG" decrypt -q --kbs "$KBS_A" --attester sample oci:enc:v1 oci:dec:v1
check "decrypt --kbs: no encrypted layer left" plain_layers "$T/dec"
check "(the check sees encrypted layers)" expect_rc 1 plain_layers "$T/enc"
# copy too: --kbs alone switches it to decrypting (one attestation)
: > "$T/kbs-A.log"
check "copy --kbs: decrypts without --decryption-key" "$COCO_IMG" copy -q --kbs "$KBS_A" --attester sample oci:enc:v1 oci:cdec:v1
check "copy --kbs: no encrypted layer left" plain_layers "$T/cdec"
check "copy --kbs: one attestation" test "$(attests A)" = 1
check "copy --kbs: the copy unpacks with no key" "$COCO_IMG" unpack -q oci:cdec:v1 "$T/root10"
check "copy --kbs: the files are right" test "$(cat "$T/root10/etc/b" 2>/dev/null)" = beta
check "copy --kbs, unknown key: exit 4" expect_rc 4 "$COCO_IMG" copy -q --kbs "$KBS_A" --attester sample oci:lost:v1 oci:clost:v1
check "copy --kbs, unknown key: nothing written" test ! -e "$T/clost/index.json"
# --kbs there only for the registry credentials: copy still decrypts (cli.md
# has no "credentials only" mode; README says so), so an image whose key
# the KBS does not hold is exit 4; credentials from a file keep it encrypted
check "copy --kbs for the credentials only, key not in the KBS: exit 4" expect_rc 4 \
    "$COCO_IMG" copy -q --cert-dir "$T/certs" --kbs "$KBS_A" --attester sample \
    --authfile kbs:///default/credential/test "docker://$R/app/lost:v1" oci:clost2:v1
check "... nothing written" test ! -e "$T/clost2/index.json"
check "the same copy with the credentials from a file" "$COCO_IMG" copy -q --cert-dir "$T/certs" \
    --authfile kbsres/default/credential/test "docker://$R/app/lost:v1" oci:clost3:v1
check "... keeps the layers encrypted" expect_rc 1 plain_layers "$T/clost3"

# a password-protected private key released by the KBS: URI:PASSWORD
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out priv.pem 2>/dev/null
openssl pkey -in priv.pem -pubout -out pub.pem
openssl pkcs8 -topk8 -v2 aes-256-cbc -passout pass:pk8-s3cret -in priv.pem -out kbsres/default/key/priv
printf 'pk8-s3cret\n' > pw.txt
"$COCO_IMG" encrypt -q oci:src:v1 oci:jwe:v1 --encryption-key "jwe:$T/pub.pem" || exit 1
DEC="$COCO_IMG decrypt -q --kbs $KBS_A --attester sample"
check "decrypt with kbs:///R/T/G:pass=PASSWORD (encrypted PKCS#8 from the KBS)" \
    $DEC --decryption-key kbs:///default/key/priv:pass=pk8-s3cret oci:jwe:v1 oci:jdec1:v1
check "... the result is plaintext" plain_layers "$T/jdec1"
check "kbs:///R/T/G:PASSWORD (bare password)" $DEC --decryption-key kbs:///default/key/priv:pk8-s3cret oci:jwe:v1 oci:jdec2:v1
check "kbs:///R/T/G:file=PATH" $DEC --decryption-key "kbs:///default/key/priv:file=$T/pw.txt" oci:jwe:v1 oci:jdec3:v1
check "kbs://HOST:PORT/R/T/G:PASSWORD (the host's colon is not the password's)" \
    $DEC --decryption-key kbs://kbs.example:8080/default/key/priv:pk8-s3cret oci:jwe:v1 oci:jdec4:v1
$DEC --decryption-key kbs:///default/key/priv:bad-pw-7 oci:jwe:v1 oci:jdec5:v1 > pw1.out 2>&1
check "wrong password: refused (exit 2, as for a key file)" test $? -eq 2
check "wrong password: names the URI, not the password" sh -c "grep -q 'kbs:///default/key/priv' pw1.out && ! grep -q bad-pw-7 pw1.out"
check "wrong password: nothing written" test ! -e "$T/jdec5"
check "no password for an encrypted key: refused (exit 2)" expect_rc 2 $DEC --decryption-key kbs:///default/key/priv oci:jwe:v1 oci:jdec6:v1
check "the password is never printed" sh -c "! grep -q pk8-s3cret pw1.out"

# first match wins: a resources file entry is used, the KBS is not asked
"$PY" -c 'import base64,json,sys; json.dump({"default/key/app1": base64.b64encode(open(sys.argv[1],"rb").read()).decode()}, open(sys.argv[2],"w"))' kek.bin res.json
: > "$T/kbs-A.log"
check "resources file first: unpack" $UNPACK --resources "$T/res.json" --kbs "$KBS_A" --creds alice:s3cret "docker://$R/app/enc:v1" "$T/root8"
check "resources file first: the KBS was not asked" test ! -s "$T/kbs-A.log"
check "no secret printed" sh -c "! grep -q \"\$(base64 < kek.bin)\" u*.out"
finish
