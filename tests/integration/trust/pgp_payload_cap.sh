#!/bin/bash
# max-signature-payload-size: what the compressed data of an OpenPGP
# (simple signing) signature inflates to.  gpg signs (and compresses) a
# valid payload padded with JSON whitespace; the cap set at exactly the
# inflated size accepts it, one byte less refuses it naming the cap; by
# default (4 MiB) a payload inflating to 5 MiB is refused while skopeo
# (containers/image 5.23, no bound of its own) accepts it, and a raised cap
# accepts it too.
. "$TOP_SRCDIR/tests/lib/common.sh"
start_registry r || exit 1
REG=$REG_r
export GNUPGHOME="$T/gnupg"
mkdir -p "$GNUPGHOME" && chmod 700 "$GNUPGHOME"
gpg --batch --passphrase '' --quick-gen-key "Signer <s@example.com>" ed25519 sign never 2>/dev/null
FPR=$(gpg --with-colons --list-keys s@example.com | awk -F: '/^fpr/ {print $10; exit}')
gpg --export "$FPR" > "$T/s.gpg"
mkimage "$T/img:t" >/dev/null || exit 1
$SKOPEO copy -q --dest-tls-verify=false "oci:$T/img:t" "docker://$REG/x/img:t" || exit 1
D=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG/x/img:t")
SIGDIR="$T/sigs/x/img@${D/:/=}"
mkdir -p "$T/regd" "$T/regd-skopeo" "$SIGDIR"
printf 'default-docker:\n  lookaside: file://%s/sigs\n' "$T" > "$T/regd/default.yaml"
printf 'default-docker:\n  sigstore: file://%s/sigs\n' "$T" > "$T/regd-skopeo/default.yaml"
printf '{"default":[{"type":"reject"}],"transports":{"docker":{"":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"%s"}]}}}\n' \
    "$T/s.gpg" > "$T/policy.json"

# sign PAD: a gpg-signed (compressed) payload with PAD bytes of whitespace
# as signature-1; prints the size its compressed packet inflates to
sign() {
    "$PY" - "$REG/x/img:t" "$D" "$1" > "$T/payload.json" <<'PY'
import json, sys
ref, digest, pad = sys.argv[1], sys.argv[2], int(sys.argv[3])
crit = json.dumps({"identity": {"docker-reference": ref}, "image": {"docker-manifest-digest": digest},
                   "type": "atomic container signature"})
sys.stdout.write('{"critical":' + crit + "," + " " * pad + '"optional":{"creator":"pgp_payload_cap"}}')
PY
    gpg --batch --yes -u "$FPR" --compress-algo zlib --output "$SIGDIR/signature-1" --sign "$T/payload.json" || return 1
    "$PY" - "$SIGDIR/signature-1" <<'PY'
import sys, zlib
b = open(sys.argv[1], "rb").read()
ctb = b[0]
assert ctb & 0x80
if ctb & 0x40:                       # new format
    tag, o = ctb & 0x3F, 1
    l0 = b[o]
    assert l0 < 224 or l0 == 255, "partial lengths not expected here"
    if l0 < 192: n, o = l0, o + 1
    elif l0 < 224: n, o = ((l0 - 192) << 8) + b[o + 1] + 192, o + 2
    else: n, o = int.from_bytes(b[o + 1:o + 5], "big"), o + 5
else:                                # old format
    tag, lt, o = (ctb >> 2) & 0xF, ctb & 3, 1
    if lt == 3: n = len(b) - o
    else:
        k = (1, 2, 4)[lt]
        n, o = int.from_bytes(b[o:o + k], "big"), o + k
assert tag == 8, "not a compressed data packet: %d" % tag
algo, body = b[o], b[o + 1:o + n]
out = zlib.decompressobj(-15 if algo == 1 else 15).decompress(body)
print(len(out))
PY
}
V() { "$COCO_IMG" verify --tls-verify=false --registries.d "$T/regd" --policy "$T/policy.json" "$@" "docker://$REG/x/img:t"; }

N=$(sign 100000) || exit 1
check "the padded payload inflates to more than 100000 bytes ($N)" test "$N" -gt 100000
check "cap at exactly the inflated size ($N): accepted (exit 0)" V -q --max-signature-payload-size "$N"
V --max-signature-payload-size $((N - 1)) > "$T/below.out" 2>&1
check "cap one byte below ($((N - 1))): rejected (exit 3)" test $? -eq 3
check "the rejection names the cap and its key" grep -q "invalid OpenPGP signature: the data it inflates to: larger than the $((N - 1))-byte cap (max-signature-payload-size)" "$T/below.out"
check "default cap: a 100 KB payload is accepted" V -q
check "skopeo accepts the same signature" skopeo --policy "$T/policy.json" --registries.d "$T/regd-skopeo" \
    copy -q --remove-signatures --src-tls-verify=false "docker://$REG/x/img:t" "oci:$T/sk1:t"

N=$(sign 5242880) || exit 1
check "a 5 MiB payload: the signature stays small" test "$(stat -c %s "$SIGDIR/signature-1")" -lt 65536
V > "$T/default.out" 2>&1
check "5 MiB payload, default cap: rejected (exit 3)" test $? -eq 3
check "5 MiB payload: the 4 MiB default named" grep -q "larger than the 4194304-byte cap (max-signature-payload-size)" "$T/default.out"
check "5 MiB payload: skopeo (no bound) accepts it" skopeo --policy "$T/policy.json" --registries.d "$T/regd-skopeo" \
    copy -q --remove-signatures --src-tls-verify=false "docker://$REG/x/img:t" "oci:$T/sk2:t"
check "5 MiB payload, --max-signature-payload-size 8M: accepted" V -q --max-signature-payload-size 8M
check "ctx key validated: 2G is refused (exit 2)" expect_rc 2 V --max-signature-payload-size 2G
finish
