#!/bin/bash
# Keys, policy and credentials from the trust broker without a KBS: the
# offline_fs_kbc resources file (--resources) and a runtime's resource
# callback (rescb.c), against a loopback docker-registry with basic auth
# over TLS.  End-to-end unpack with the policy, the cosign key, the
# registries.d file, the KEK and the registry credentials all fetched;
# one fetch per resource; every kid form (kbs:///, kbs://HOST:PORT/,
# /R/T/G, R/T/G) through --resources, coco:KID:KEKFILE, coco-keys:FILE
# and coco-keys:DIR; --require-encrypted; unknown resources give the exit
# of what was fetched and no layer blob is requested; the upstream
# offline_fs_kbc sample files used as they are.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/broker.sh"
RESCB=$(realpath "${1:?rescb path}")
private_env
DATA="$TOP_SRCDIR/tests/data/broker"
cd "$T" || exit 1

broker_registry || exit 1

# keys and images (broker.sh), and the plaintext one pushed too
broker_images || exit 1
$SKOPEO copy -q $SK oci:src:v1 "docker://$R/app/plain:v1" || exit 1
LAYERS=$(layer_digests "$T/lost")
PLAIN_LAYERS=$(layer_digests "$T/src")

# the resources
printf '{"default":[{"type":"reject"}],"transports":{"docker":{"%s/app":[{"type":"sigstoreSigned","keyPath":"kbs:///default/cosign-public-key/test","signedIdentity":{"type":"matchRepository"}}]}}}\n' "$R" > policy.json
printf '{"default":[{"type":"reject"}],"transports":{"docker":{"%s/app":[{"type":"sigstoreSigned","keyPath":"kbs:///default/cosign-public-key/test"}]}}}\n' "$R" > policy-default-id.json
printf '{"default":[{"type":"insecureAcceptAnything"}]}\n' > open-policy.json
printf 'docker:\n  %s:\n    use-sigstore-attachments: true\n' "$R" > sig.yaml
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$R" "$(printf alice:s3cret | base64)" > auth.json
resources_json res.json default/security-policy/test=policy.json default/security-policy/default-id=policy-default-id.json \
    default/security-policy/open=open-policy.json default/cosign-public-key/test=cosign.pub \
    default/sigstore-config/test=sig.yaml default/credential/test=auth.json default/key/app1=kek.bin \
    default/ca/registry="$T/ca/ca.crt"
POL=kbs:///default/security-policy/test
AUTH=kbs:///default/credential/test
REGD=kbs:///default/sigstore-config/test
UNPACK="$COCO_IMG unpack -q --cert-dir $T/certs --resources $T/res.json"

# 1. everything from the resources file
check "unpack: policy, cosign key, registries.d, KEK and credentials from --resources" \
    $UNPACK --policy $POL --authfile $AUTH --registries.d $REGD "docker://$R/app/enc:v1" "$T/root1"
check "unpack: the files are there" test "$(cat "$T/root1/etc/a")" = alpha -a "$(cat "$T/root1/etc/b")" = beta
check "host part of the URI ignored (kbs://HOST:PORT/...)" \
    $UNPACK --policy kbs://kbs.example:8080/default/security-policy/test --authfile kbs://10.0.0.1:1/default/credential/test \
    --registries.d $REGD "docker://$R/app/enc:v1" "$T/root1b"
check "verify with a fetched policy and key" \
    "$COCO_IMG" verify -q --cert-dir "$T/certs" --resources "$T/res.json" --policy $POL --authfile $AUTH --registries.d $REGD "docker://$R/app/enc:v1"

# 2. the same through the resource callback, one call per resource
"$RESCB" "$T/res.json" "docker://$R/app/enc:v1" "$T/root2" $POL $AUTH $REGD "$T/certs" > cb.out 2> cb.err
check "callback: unpack succeeds" test $? -eq 0
check "callback: the files are there" test "$(cat "$T/root2/etc/b" 2>/dev/null)" = beta
check "callback: the KEK asked once for two layers" grep -qx "calls kbs:///default/key/app1 1" cb.out
check "callback: policy, key, auth and registries.d asked once each" sh -c \
    "grep -qx 'calls $POL 1' cb.out && grep -qx 'calls $AUTH 1' cb.out && grep -qx 'calls $REGD 1' cb.out && grep -qx 'calls kbs:///default/cosign-public-key/test 1' cb.out"
"$RESCB" "$T/res.json" "docker://$R/app/lost:v1" "$T/root2b" kbs:///default/security-policy/open $AUTH $REGD "$T/certs" > cb2.out 2> cb2.err
check "callback: an unknown key resource is exit 4" test $? -eq 4
check "callback: the message names the URI, the source and its answer" \
    grep -q "kbs:///default/key/gone.*resource callback: this runtime has no such resource" cb2.err
check "callback: nothing at ROOTFS" test ! -e "$T/root2b"
"$RESCB" "$T/res.json" "docker://$R/app/enc:v1" "oci:$T/cbdec:v1" $POL $AUTH $REGD "$T/certs" > cb3.out 2> cb3.err
check "callback: cocoimg_copy decrypts with no keyring" test $? -eq 0
check "callback: copy asked the KEK once for two layers" grep -qx "calls kbs:///default/key/app1 1" cb3.out
check "callback: the copy has no encrypted layer" plain_layers "$T/cbdec"
check "(the check sees encrypted layers)" expect_rc 1 plain_layers "$T/enc"
check "copy --resources: credentials and KEK from the file, decrypted" \
    "$COCO_IMG" copy -q --cert-dir "$T/certs" --resources "$T/res.json" --authfile $AUTH "docker://$R/app/enc:v1" "oci:$T/cdec:v1"
check "copy --resources: no encrypted layer left" plain_layers "$T/cdec"

# 3. failures: the exit code of what was fetched, the URI and source named
$UNPACK --policy kbs:///default/security-policy/none --authfile $AUTH --registries.d $REGD "docker://$R/app/enc:v1" "$T/r3" > f1.out 2>&1
check "unknown policy resource: exit 3" test $? -eq 3
check "unknown policy resource: names URI and source" grep -q "policy kbs:///default/security-policy/none: not found or not released: resources file $T/res.json: no entry" f1.out
$UNPACK --policy $POL --authfile kbs:///default/credential/none --registries.d $REGD "docker://$R/app/enc:v1" "$T/r4" > f2.out 2>&1
check "unknown credential resource: exit 1" test $? -eq 1
check "unknown credential resource: names the URI" grep -q "kbs:///default/credential/none" f2.out
: > "$T/mark"; MARK=$(wc -l < "$REGLOG")
$UNPACK --authfile $AUTH "docker://$R/app/lost:v1" "$T/r5" > f3.out 2>&1
check "unknown key resource: exit 4" test $? -eq 4
check "unknown key resource: names the kid and the source" grep -q "kbs:///default/key/gone.*resources file.*no entry \"default/key/gone\"" f3.out
check "unknown key resource: nothing at ROOTFS" test ! -e "$T/r5"
# (layers may start downloading while the keys are opened; nothing is left)
check "unknown key resource: no staging directory left" sh -c "! ls -a '$T' | grep -q '^\.r5\.coco-unpack'"
check "unknown key resource: the manifest was fetched (the log is read)" sh -c "tail -n +$((MARK + 1)) '$REGLOG' | grep -q 'manifests/v1'"
check "plugin URIs are refused (exit 2)" expect_rc 2 $UNPACK --authfile $AUTH --policy kbs+pkcs11:///default/security-policy/test "docker://$R/app/enc:v1" "$T/r6"
$UNPACK --authfile $AUTH --policy kbs+pkcs11:///a/b/c "docker://$R/app/enc:v1" "$T/r6" > f4.out 2>&1
check "plugin URIs: the message says so" grep -q "kbs+pkcs11:// names a KBS plugin" f4.out
"$COCO_IMG" verify --cert-dir "$T/certs" --resources "$T/res.json" --policy kbs:///default/security-policy/default-id --authfile $AUTH --registries.d $REGD "docker://$R/app/enc:v1" > f5.out 2>&1
check "cosign's repository-only identity under the default rule: exit 3" test $? -eq 3
check "... and the message suggests matchRepository" grep -q '"signedIdentity": {"type": "matchRepository"}' f5.out

# 3b. --ca-cert: the registry's CA as a resource (no --cert-dir), or a file
CACOPY="$COCO_IMG copy -q --resources $T/res.json --authfile $AUTH"
check "--ca-cert kbs:///: the registry's CA from the resources file" \
    $CACOPY --ca-cert kbs:///default/ca/registry "docker://$R/app/plain:v1" "oci:$T/ca1:v1"
check "--ca-cert kbs:///: unpack too" \
    "$COCO_IMG" unpack -q --resources "$T/res.json" --authfile $AUTH --ca-cert kbs:///default/ca/registry "docker://$R/app/enc:v1" "$T/ca2"
check "--ca-cert FILE" $CACOPY --ca-cert "$T/ca/ca.crt" "docker://$R/app/plain:v1" "oci:$T/ca3:v1"
$CACOPY "docker://$R/app/plain:v1" "oci:$T/ca4:v1" > f9.out 2>&1
check "without a CA: exit 1" test $? -eq 1
check "without a CA: the hint names --ca-cert" grep -q -- "--ca-cert" f9.out
$CACOPY --ca-cert kbs:///default/ca/none "docker://$R/app/plain:v1" "oci:$T/ca5:v1" > f10.out 2>&1
check "--ca-cert, unknown resource: exit 1" test $? -eq 1
check "--ca-cert, unknown resource: names the URI and the source" grep -q "CA file kbs:///default/ca/none: not found or not released: resources file" f10.out
check "--ca-cert, missing file: exit 2" expect_rc 2 $CACOPY --ca-cert "$T/nothing.crt" "docker://$R/app/plain:v1" "oci:$T/ca6:v1"
check "--ca-cert, not PEM: exit 2" expect_rc 2 $CACOPY --ca-cert "$T/auth.json" "docker://$R/app/plain:v1" "oci:$T/ca7:v1"

# 4. --require-encrypted
MARK=$(wc -l < "$REGLOG")
$UNPACK --require-encrypted --authfile $AUTH "docker://$R/app/plain:v1" "$T/r7" > f6.out 2>&1
check "--require-encrypted, plaintext image: exit 3" test $? -eq 3
check "--require-encrypted: nothing at ROOTFS" test ! -e "$T/r7"
check "--require-encrypted: says which layer" grep -q "is not encrypted" f6.out
check "--require-encrypted: no layer blob requested" sh -c "! tail -n +$((MARK + 1)) '$REGLOG' | grep -E 'blobs/($PLAIN_LAYERS)'"
check "--require-encrypted, encrypted image: fine" \
    $UNPACK --require-encrypted --authfile $AUTH "docker://$R/app/enc:v1" "$T/r8"
# copy, decrypt and verify: refused before the destination exists
COPY="$COCO_IMG copy -q --cert-dir $T/certs --resources $T/res.json --authfile $AUTH"
MARK=$(wc -l < "$REGLOG")
$COPY --require-encrypted "docker://$R/app/plain:v1" "docker://$R/app/copied:v1" > f7.out 2>&1
check "copy --require-encrypted, plaintext image: exit 3" test $? -eq 3
check "copy --require-encrypted: says which layer" grep -q "app/plain:v1: layer sha256:.* is not encrypted" f7.out
check "copy --require-encrypted: nothing sent to the destination" sh -c "! tail -n +$((MARK + 1)) '$REGLOG' | grep -q 'app/copied'"
check "copy --require-encrypted: no layer blob requested" sh -c "! tail -n +$((MARK + 1)) '$REGLOG' | grep -E 'blobs/($PLAIN_LAYERS)'"
check "copy --require-encrypted, to a layout: exit 3" expect_rc 3 $COPY --require-encrypted oci:src:v1 "oci:$T/rq2:v1"
check "copy --require-encrypted: no layout made" test ! -e "$T/rq2"
check "copy --require-encrypted, encrypted image: copied as it is" \
    "$COCO_IMG" copy -q --require-encrypted oci:enc:v1 "oci:$T/rq3:v1"
check "copy --require-encrypted, encrypted image: the copy is encrypted" expect_rc 1 plain_layers "$T/rq3"
check "decrypt --require-encrypted, plaintext image: exit 3" expect_rc 3 "$COCO_IMG" decrypt -q --resources "$T/res.json" --require-encrypted oci:src:v1 "oci:$T/rq4:v1"
check "decrypt --require-encrypted: no layout made" test ! -e "$T/rq4"
check "decrypt --require-encrypted, encrypted image: decrypted" "$COCO_IMG" decrypt -q --resources "$T/res.json" --require-encrypted oci:enc:v1 "oci:$T/rq5:v1"
check "decrypt --require-encrypted: the result is plaintext" plain_layers "$T/rq5"
VERIFY="$COCO_IMG verify -q --cert-dir $T/certs --resources $T/res.json --authfile $AUTH --policy kbs:///default/security-policy/open"
$VERIFY --require-encrypted "docker://$R/app/plain:v1" > f8.out 2>&1
check "verify --require-encrypted, plaintext image: exit 3" test $? -eq 3
check "verify --require-encrypted: says which layer" grep -q "is not encrypted" f8.out
check "verify without --require-encrypted: accepted" $VERIFY "docker://$R/app/plain:v1"
check "verify --require-encrypted, encrypted image: accepted" $VERIFY --require-encrypted "docker://$R/app/enc:v1"
# an index whose arm64 instance is plaintext: every copied image counts
"$COCO_IMG" copy -q oci:enc:v1 oci:mix:amd || exit 1
mkimage "$T/mix:arm" --platform linux/arm64 >/dev/null
mkimage "$T/mix:multi" --index-of "$T/mix:amd" "$T/mix:arm" >/dev/null
check "copy --multi-arch all --require-encrypted, one plaintext instance: exit 3" \
    expect_rc 3 "$COCO_IMG" copy -q --multi-arch all --require-encrypted oci:mix:multi "oci:$T/rq6:v1"
check "... no layout made" test ! -e "$T/rq6"
check "copy --multi-arch index-only --require-encrypted: exit 3 too" \
    expect_rc 3 "$COCO_IMG" copy -q --multi-arch index-only --require-encrypted oci:mix:multi "oci:$T/rq7:v1"
check "copy --require-encrypted of the index, this platform's (encrypted) instance: copied" \
    "$COCO_IMG" copy -q --platform linux/amd64 --require-encrypted oci:mix:multi "oci:$T/rq8:v1"

# 5. every kid form, through each local source
rekid() { # SRC DST KID : copy an OCI layout, rewriting the kid of every CoCo packet
    "$PY" - "$T/$1" "$T/$2" "$3" <<'PY'
import base64, hashlib, json, os, shutil, sys
src, dst, kid = sys.argv[1:]
shutil.rmtree(dst, ignore_errors=True); shutil.copytree(src, dst)
idx = json.load(open(dst + "/index.json"))
md = idx["manifests"][0]
m = json.load(open(dst + "/blobs/sha256/" + md["digest"][7:]))
A = "org.opencontainers.image.enc.keys.provider.attestation-agent"
for l in m["layers"]:
    p = json.loads(base64.b64decode(l["annotations"][A]))
    p["kid"] = kid
    l["annotations"][A] = base64.b64encode(json.dumps(p, separators=(",", ":")).encode()).decode()
raw = json.dumps(m, separators=(",", ":")).encode()
d = hashlib.sha256(raw).hexdigest()
open(dst + "/blobs/sha256/" + d, "wb").write(raw)
md["digest"] = "sha256:" + d; md["size"] = len(raw)
json.dump(idx, open(dst + "/index.json", "w"))
PY
}
mkdir -p keydir/default/key && cp kek.bin keydir/default/key/app1
resources_json keys.json default/key/app1=kek.bin
n=0
for kid in kbs:///default/key/app1 kbs://kbs.example:8080/default/key/app1 /default/key/app1 default/key/app1; do
    n=$((n + 1))
    rekid enc kid$n "$kid" || exit 1
    for how in "--resources $T/res.json" "--decryption-key coco:kbs:///default/key/app1:$T/kek.bin" \
               "--decryption-key coco-keys:$T/keys.json" "--decryption-key coco-keys:$T/keydir"; do
        out="$T/kr$n-$(echo "$how" | md5sum | cut -c1-8)"
        check "kid $kid opens with $how" sh -c "'$COCO_IMG' unpack -q $how oci:$T/kid$n:v1 '$out' && test \"\$(cat '$out/etc/a')\" = alpha"
    done
done
# verdictd's flat layout: the file named by a kid without slashes
rekid enc flat 84688df7-2c0c-40fa-956b-29d8e74d16c0 || exit 1
mkdir -p flatdir && cp kek.bin flatdir/84688df7-2c0c-40fa-956b-29d8e74d16c0
check "coco-keys:DIR: a key file named by a plain kid" "$COCO_IMG" unpack -q --decryption-key "coco-keys:$T/flatdir" "oci:$T/flat:v1" "$T/rflat"
check "coco-keys:DIR: a wrong directory is exit 4" expect_rc 4 "$COCO_IMG" unpack -q --decryption-key "coco-keys:$T/keydir" "oci:$T/flat:v1" "$T/rflat2"
check "a private key as a resource URI that is not there: exit 4" \
    expect_rc 4 "$COCO_IMG" unpack -q --resources "$T/res.json" --decryption-key kbs:///default/key/private "oci:$T/enc:v1" "$T/rpk"

# 6. the upstream offline_fs_kbc sample files, as they are
check "upstream resources file: its policy (kbs:///default/security-policy/test) accepts an oci: image" \
    "$COCO_IMG" verify -q --resources "$DATA/aa-offline_fs_kbc-resources.json" --policy kbs:///default/security-policy/test "oci:$T/src:v1"
"$PY" -c 'import base64,json,sys; sys.stdout.buffer.write(base64.b64decode(json.load(open(sys.argv[1]))["default/key/key_id1"]))' \
    "$DATA/aa-offline_fs_kbc-keys.json" > upkek.bin
"$COCO_IMG" encrypt -q oci:src:v1 oci:up:v1 --encryption-key "coco:kbs:///default/key/key_id1:$T/upkek.bin" || exit 1
check "upstream keys file as coco-keys:FILE" "$COCO_IMG" unpack -q --decryption-key "coco-keys:$DATA/aa-offline_fs_kbc-keys.json" "oci:$T/up:v1" "$T/rup1"
check "upstream keys file as --resources (CDH's offline-fs KBC reads both files)" \
    "$COCO_IMG" unpack -q --resources "$DATA/aa-offline_fs_kbc-keys.json" "oci:$T/up:v1" "$T/rup2"
check "upstream resources file has no key_id1: exit 4" \
    expect_rc 4 "$COCO_IMG" unpack -q --resources "$DATA/aa-offline_fs_kbc-resources.json" "oci:$T/up:v1" "$T/rup3"
check "secrets never printed" sh -c "! grep -rq \"\$(base64 < '$T/kek.bin')\" '$T'/*.out '$T'/*.err"
finish
