# Helpers shared by the crypt integration scripts (sourced after common.sh).
V="$TOP_SRCDIR/tests/data/ocicrypt-vectors"
K="$T/keys"
mkdir -p "$K"

# Fresh test keys: RSA (PKCS#1 PEM + SPKI), EC P-256 (SEC1 PEM, PKCS#8 PEM,
# SPKI), a second RSA key, and a self-signed certificate for PKCS7.
make_keys() {
    openssl genrsa -traditional -out "$K/rsa.pem" 2048 2>/dev/null
    openssl rsa -in "$K/rsa.pem" -pubout -out "$K/rsa.pub" 2>/dev/null
    openssl genrsa -traditional -out "$K/rsa2.pem" 2048 2>/dev/null
    openssl rsa -in "$K/rsa2.pem" -pubout -out "$K/rsa2.pub" 2>/dev/null
    openssl ecparam -name prime256v1 -genkey -noout -out "$K/ec.sec1.pem" 2>/dev/null
    openssl pkcs8 -topk8 -nocrypt -in "$K/ec.sec1.pem" -out "$K/ec.pem" 2>/dev/null
    openssl ec -in "$K/ec.sec1.pem" -pubout -out "$K/ec.pub" 2>/dev/null
    openssl ecparam -name secp384r1 -genkey -noout -out "$K/ec384.sec1.pem" 2>/dev/null
    openssl pkcs8 -topk8 -nocrypt -in "$K/ec384.sec1.pem" -out "$K/ec384.pem" 2>/dev/null
    openssl ec -in "$K/ec384.sec1.pem" -pubout -out "$K/ec384.pub" 2>/dev/null
    openssl req -x509 -new -key "$K/rsa2.pem" -subj "/CN=coco-img pkcs7 test" -days 2 \
        -set_serial 4243 -out "$K/rsa2.crt" 2>/dev/null
}

# layers DIR[:TAG] -> one line per layer: "mediaType digest"
layers() {
    "$PY" - "$1" <<'PY'
import json, sys
spec = sys.argv[1]
d, _, tag = spec.partition(":")
idx = json.load(open(d + "/index.json"))
ms = idx["manifests"]
if tag:
    ms = [m for m in ms if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
h = ms[0]["digest"].split(":")[1]
m = json.load(open(d + "/blobs/sha256/" + h))
for l in m["layers"]:
    print(l["mediaType"], l["digest"])
PY
}

# same_layers A B: the layer lists (types and digests) are identical
same_layers() {
    layers "$1" > "$T/l1" && layers "$2" > "$T/l2" && diff "$T/l1" "$T/l2"
}

# n_encrypted DIR: how many layers are +encrypted
n_encrypted() { layers "$1" | grep -c '+encrypted '; }

# expect_encrypted DIR N
expect_encrypted() {
    _n=$(n_encrypted "$1")
    [ "$_n" -eq "$2" ] || { echo "expected $2 encrypted layers, got $_n" >&2; layers "$1" >&2; return 1; }
}

# absent PATH: nothing was written
absent() { [ ! -e "$1" ] || { echo "$1 exists" >&2; ls -la "$1" >&2; return 1; }; }

# grep_layers DIR PATTERN
grep_layers() { layers "$1" | grep -q -- "$2"; }
