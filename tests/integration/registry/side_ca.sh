#!/bin/bash
# --src-ca-cert / --dest-ca-cert (cli.md: the --src-/--dest- forms of the
# TLS options on copy, encrypt and decrypt): two TLS registries, each with
# a certificate from its own private CA; each side trusts only the CA it
# is given, a side form overrides --ca-cert for its side, and a side CA
# may be a resource URI.
. "$TOP_SRCDIR/tests/lib/common.sh"

# registry A with CA A, then registry B with a fresh CA B (make_ca writes
# $T/ca; the registry has read its certificate once it listens)
start_registry A tls || exit 1
mv "$T/ca" "$T/caA"
start_registry B tls || exit 1
mv "$T/ca" "$T/caB"
A=$REG_A B=$REG_B
CAA=$T/caA/ca.crt CAB=$T/caB/ca.crt
mkdir -p "$T/certsA" "$T/certsB"
cp "$CAA" "$T/certsA/ca.crt"
cp "$CAB" "$T/certsB/ca.crt"

mkimage "$T/img:v1" --layer "f:etc/a=alpha,r:big=300000" >/dev/null
$SKOPEO copy -q --dest-cert-dir "$T/certsA" "oci:$T/img:v1" "docker://$A/side/img:v1" >/dev/null || exit 1
digest_at() { $SKOPEO inspect --cert-dir "$2" --format '{{.Digest}}' "docker://$1"; }
layers_at() { $SKOPEO inspect --cert-dir "$2" --raw "docker://$1" | "$PY" -c 'import json,sys; print(" ".join(l["mediaType"] + "@" + l["digest"] for l in json.load(sys.stdin)["layers"]))'; }
WANT=$(digest_at "$A/side/img:v1" "$T/certsA")
WANT_LAYERS=$(layers_at "$A/side/img:v1" "$T/certsA")

# run_err NAME WANT_RC CMD...: stderr into $T/NAME.err, exit status checked
run_err() {
    _n=$1 _want=$2; shift 2
    "$@" >/dev/null 2>"$T/$_n.err"; _rc=$?
    [ "$_rc" -eq "$_want" ] || { echo "exit $_rc, wanted $_want" >&2; cat "$T/$_n.err" >&2; return 1; }
}
says() { grep -q -F -- "$2" "$T/$1.err" || { echo "no \"$2\" in:" >&2; cat "$T/$1.err" >&2; return 1; }; }
COPY="$COCO_IMG copy -q --retry-times 0"

check "copy A -> B: --src-ca-cert A, --dest-ca-cert B" \
    $COPY --src-ca-cert "$CAA" --dest-ca-cert "$CAB" "docker://$A/side/img:v1" "docker://$B/side/img:v1"
check "B holds the same manifest" test "$(digest_at "$B/side/img:v1" "$T/certsB")" = "$WANT"

check "only --src-ca-cert: the destination is untrusted (exit 1)" run_err nodest 1 \
    $COPY --src-ca-cert "$CAA" "docker://$A/side/img:v1" "docker://$B/side/nodest:v1"
check "untrusted destination: the message names the certificate" says nodest "certificate"
check "nothing reached B" expect_rc 1 digest_at "$B/side/nodest:v1" "$T/certsB"
check "each side trusts only its own CA: --src-ca-cert B fails" run_err swapped 1 \
    $COPY --src-ca-cert "$CAB" --dest-ca-cert "$CAA" "docker://$A/side/img:v1" "docker://$B/side/swapped:v1"
check "only --dest-ca-cert: the source is untrusted (exit 1)" run_err nosrc 1 \
    $COPY --dest-ca-cert "$CAB" "docker://$A/side/img:v1" "docker://$B/side/nosrc:v1"

# --ca-cert serves both sides; a side form overrides it for its side
check "--ca-cert A with --dest-ca-cert B" \
    $COPY --ca-cert "$CAA" --dest-ca-cert "$CAB" "docker://$A/side/img:v1" "docker://$B/side/over:v1"
check "--ca-cert B with --src-ca-cert A" \
    $COPY --ca-cert "$CAB" --src-ca-cert "$CAA" "docker://$A/side/img:v1" "docker://$B/side/over2:v1"
check "--ca-cert A alone: B is untrusted" run_err both 1 \
    $COPY --ca-cert "$CAA" "docker://$A/side/img:v1" "docker://$B/side/both:v1"

# a side CA as a resource URI (the offline_fs_kbc resources file)
"$PY" - "$T/res.json" "$CAA" "$CAB" <<'PY'
import base64, json, sys
rd = lambda p: base64.b64encode(open(p, "rb").read()).decode()
json.dump({"default/ca/a": rd(sys.argv[2]), "default/ca/b": rd(sys.argv[3])}, open(sys.argv[1], "w"))
PY
check "--src-ca-cert / --dest-ca-cert kbs:///R/T/G" \
    $COPY --resources "$T/res.json" --src-ca-cert kbs:///default/ca/a --dest-ca-cert kbs:///default/ca/b \
    "docker://$A/side/img:v1" "docker://$B/side/uri:v1"
check "--dest-ca-cert kbs:///, unknown resource: exit 1" run_err nores 1 \
    $COPY --resources "$T/res.json" --src-ca-cert "$CAA" --dest-ca-cert kbs:///default/ca/none \
    "docker://$A/side/img:v1" "docker://$B/side/nores:v1"
check "unknown resource: the URI is named" says nores "kbs:///default/ca/none"

# encrypt and decrypt take the side forms too
openssl genrsa -out "$T/k.pem" 2048 2>/dev/null
openssl rsa -in "$T/k.pem" -pubout -out "$T/k.pub" 2>/dev/null
check "encrypt A -> B with side CAs" \
    "$COCO_IMG" encrypt -q --src-ca-cert "$CAA" --dest-ca-cert "$CAB" --encryption-key "jwe:$T/k.pub" \
    "docker://$A/side/img:v1" "docker://$B/side/enc:v1"
check "decrypt B -> A with side CAs" \
    "$COCO_IMG" decrypt -q --src-ca-cert "$CAB" --dest-ca-cert "$CAA" --decryption-key "$T/k.pem" \
    "docker://$B/side/enc:v1" "docker://$A/side/dec:v1"
check "the encrypted image's layers are encrypted" sh -c "echo '$(layers_at "$B/side/enc:v1" "$T/certsB")' | grep -q '+encrypted@'"
check "the decrypted image has the original layers" test "$(layers_at "$A/side/dec:v1" "$T/certsA")" = "$WANT_LAYERS"
check "decrypt without the destination's CA: exit 1" run_err decnodest 1 \
    "$COCO_IMG" decrypt -q --retry-times 0 --src-ca-cert "$CAB" --decryption-key "$T/k.pem" \
    "docker://$B/side/enc:v1" "docker://$A/side/dec2:v1"
finish
