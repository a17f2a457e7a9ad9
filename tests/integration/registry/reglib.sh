# Helpers shared by the registry integration tests (sourced after common.sh).
REGTOOL=${1:?regtool path}
# Loopback only: never let a CI proxy see this traffic.
unset http_proxy https_proxy HTTPS_PROXY HTTP_PROXY all_proxy ALL_PROXY
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
# Fast retries in tests.
export COCOIMG_RETRY_BASE_MS=${COCOIMG_RETRY_BASE_MS:-200}

# The manifest digest skopeo sees for a reference (raw bytes).
sk_digest() { $SKOPEO inspect --raw "$@" | sha256sum | sed 's/^/sha256:/; s/ .*//'; }

# The digest of the manifest an OCI layout's index.json points at for TAG.
oci_digest() {
    "$PY" - "$1" "${2:-}" <<'PYEOF'
import json, sys
idx = json.load(open(sys.argv[1] + "/index.json"))
tag = sys.argv[2]
for m in idx["manifests"]:
    if not tag or m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
        print(m["digest"]); break
PYEOF
}

# Every blob a layout references exists and has the right digest.
oci_blobs_ok() {
    "$PY" - "$1" <<'PYEOF'
import hashlib, json, os, sys
root = sys.argv[1]
def blob(d):
    p = os.path.join(root, "blobs", *d.split(":"))
    data = open(p, "rb").read()
    assert "sha256:" + hashlib.sha256(data).hexdigest() == d, d
    return data
def walk(d, mt):
    j = json.loads(blob(d))
    for m in j.get("manifests", []):
        walk(m["digest"], m["mediaType"])
    if "config" in j:
        blob(j["config"]["digest"])
        for l in j["layers"]:
            blob(l["digest"])
for m in json.load(open(os.path.join(root, "index.json")))["manifests"]:
    walk(m["digest"], m["mediaType"])
PYEOF
}
