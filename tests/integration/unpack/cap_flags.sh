#!/bin/bash
# Every cap as a coco-img flag (--max-NAME, the ctx key of the same name):
# lowered on a command that checks it, each refuses with the cap and its
# key named and leaves nothing behind; the flags are listed by --help
# exactly on the commands that check them; a malformed value exits 2.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/lib/caps.sh"
export COCOIMG_RETRY_BASE_MS=10
C=$COCO_IMG
CAP_RUN=$C

opts_of() { "$C" help "$1" | awk '$1 ~ /^--max-/ { print $1 }' | sort | tr '\n' ' '; }
# has CMD FLAGS...: CMD takes every flag; lacks CMD FLAGS...: none of them
has() { _o=" $(opts_of "$1")"; shift; for f; do case "$_o" in *" $f "*) ;; *) echo "no $f"; return 1 ;; esac; done; }
lacks() { _o=" $(opts_of "$1")"; shift; for f; do case "$_o" in *" $f "*) echo "has $f"; return 1 ;; esac; done; }

# ---- which commands take which flags ----
FETCH="--max-error-body --max-token-size"
READ="$FETCH --max-config-size --max-layers --max-manifest-size"
APPLY="--max-entries --max-image-size --max-layer-size --max-spool-size"
SIG="--max-signature-payload-size --max-signature-size"
check "unpack: every cap" has unpack $READ $APPLY $SIG
for c in copy encrypt decrypt inspect sign; do
    check "$c: the caps of what it reads" has $c $READ
    check "$c: no unpack caps" lacks $c $APPLY
done
check "inspect: no signature caps" lacks inspect $SIG
check "sign: no signature caps" lacks sign $SIG
check "verify: manifests, signatures, registry" has verify $FETCH --max-layers --max-manifest-size $SIG
check "verify: no unpack or config caps" lacks verify $APPLY --max-config-size
check "login: registry caps only" test "$(opts_of login)" = "$FETCH "
check "verify-blob: none" test -z "$(opts_of verify-blob)"
check "inspect --max-layer-size: unknown flag (exit 2)" expect_rc 2 "$C" inspect --max-layer-size 1M oci:/nonexistent

mkimage "$T/img:t" --layer "f:a=1,f:b=2,f:c=3" --layer "f:d=4" >/dev/null || exit 1
mkimage "$T/bomb:t" --compress gzip --layer "z:bomb=16777216" >/dev/null || exit 1

# ---- manifest, layers, config ----
refused "unpack --max-manifest-size" 1 man1.out "over the 200-byte cap \(max-manifest-size\)" \
    unpack -q "oci:$T/img:t" "$T/r" --max-manifest-size 200
check "no rootfs after the refusal" test ! -e "$T/r"
refused "copy --max-manifest-size=200" 1 man2.out "over the 200-byte cap \(max-manifest-size\)" \
    copy -q "oci:$T/img:t" "oci:$T/out:t" --max-manifest-size=200
refused "copy --max-layers 1" 1 nl1.out "2 layers, more than the cap of 1 \(max-layers\)" \
    copy -q "oci:$T/img:t" "oci:$T/out:t" --max-layers 1
refused "inspect --max-config-size 100" 1 cfg1.out \
    "[0-9]+ bytes, over the 100-byte cap \(max-config-size\)" inspect "oci:$T/img:t" --max-config-size 100
refused "unpack --max-config-size 100" 1 cfg2.out "over the 100-byte cap \(max-config-size\)" \
    unpack -q "oci:$T/img:t" "$T/r" --max-config-size 100

# ---- signature: a cosign signature layer ----
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out "$T/ec.pem"
openssl pkey -in "$T/ec.pem" -pubout -out "$T/ec.pub"
"$C" sign -q --key "$T/ec.pem" --sign-identity example.com/app "oci:$T/img:t" >/dev/null || exit 1
printf '{"default":[{"type":"reject"}],"transports":{"oci":{"":[{"type":"sigstoreSigned","keyPath":"%s","signedIdentity":{"type":"exactRepository","dockerRepository":"example.com/app"}}]}}}\n' \
    "$T/ec.pub" > "$T/policy.json"
check "signed image verifies with the default caps" "$C" verify -q --policy "$T/policy.json" "oci:$T/img:t"
refused "verify --max-signature-size 100" 1 sig1.out \
    "signature layer sha256:[0-9a-f]{64}: [0-9]+ bytes, over the 100-byte cap \(max-signature-size\)" \
    verify --policy "$T/policy.json" --max-signature-size 100 "oci:$T/img:t"
refused "unpack --policy --max-signature-size 100" 1 sig2.out "over the 100-byte cap \(max-signature-size\)" \
    unpack -q --policy "$T/policy.json" --max-signature-size 100 "oci:$T/img:t" "$T/r"
check "no rootfs after the signature refusal" test ! -e "$T/r"

# ---- token and error body: the hostile registry ----
start_hostile bigtoken
refused "inspect --max-token-size 4K" 1 tok.out "larger than the 4096-byte cap \(max-token-size\)" \
    inspect --tls-verify=false --retry-times 0 --max-token-size 4K "docker://$H/x/y:t"
start_hostile chunked500
refused "inspect --max-error-body 100" 1 eb.out \
    "HTTP 500 .*its error body was cut at the 100-byte cap \(max-error-body\)" \
    inspect --tls-verify=false --retry-times 0 --max-error-body 100 "docker://$H/x/y:t"

# ---- unpacked bytes and entries ----
refused "unpack --max-layer-size 1M" 1 lay.out \
    "unpacks to more than the per-layer cap of 1048576 bytes \(max-layer-size\)" \
    unpack -q "oci:$T/bomb:t" "$T/r" --max-layer-size 1M
refused "unpack --max-image-size 4M" 1 img.out "per-image cap of 4194304 bytes \(max-image-size\)" \
    unpack -q "oci:$T/bomb:t" "$T/r" --max-image-size 4M
refused "unpack --max-entries 3" 1 ent.out "more than the cap of 3 entries \(max-entries\)" \
    unpack -q "oci:$T/img:t" "$T/r" --max-entries 3
check "no rootfs and no staging after the refusals" sh -c "test ! -e '$T/r' && ! ls -a '$T' | grep -q coco-unpack"

# ---- the spool: a layer over --max-spool-size is streamed in its turn ----
start_registry r || exit 1
# layers over 1 MiB (smaller ones may be held in memory instead)
mkimage "$T/four:t" --layer "r:a=1500000" --layer "r:b=1500000" --layer "r:c=1500000" >/dev/null || exit 1
$SKOPEO copy -q --dest-tls-verify=false "oci:$T/four:t" "docker://$REG_r/x/four:t" || exit 1
check "unpack --max-spool-size 1M: succeeds" sh -c "'$C' --debug unpack -q --tls-verify=false --parallel 3 \
    --max-spool-size 1M 'docker://$REG_r/x/four:t' '$T/sp' > '$T/sp.log' 2>&1"
check "--max-spool-size 1M: the later layers are streamed, the cap named" \
    test "$(grep -c 'more than the spool may hold (max-spool-size 1048576)' "$T/sp.log")" -ge 2
check "--max-spool-size 1M: nothing spooled ahead" sh -c "! grep -q 'spooled ahead in' '$T/sp.log'"

# ---- values are validated ----
refused "--max-config-size 2G: out of range" 2 bad1.out \
    "max-config-size takes a size such as 512K, 4M or 2G from 1 to 1G, not \"2G\"" \
    inspect --max-config-size 2G "oci:$T/img:t"
for f in "--max-layers 0" "--max-entries 12k" "--max-token-size -1" "--max-error-body 17M" \
         "--max-spool-size lots" "--max-manifest-size="; do
    # shellcheck disable=SC2086
    refused "$f: refused" 2 bad.out "max-[a-z-]+ takes" unpack $f "oci:$T/img:t" "$T/r"
done
check "raised caps: the image unpacks" "$C" unpack -q "oci:$T/img:t" "$T/ok" --max-manifest-size 1G \
    --max-config-size 64M --max-layers 5000 --max-entries 10 --max-layer-size 1T --max-image-size 2T
finish
