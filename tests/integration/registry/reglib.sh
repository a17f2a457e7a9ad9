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

# raw_push LAYOUT TAG HOST:PORT REPO:TAG : push one manifest and its blobs
# as they are (any media type) over plain http with urllib, independent of
# the code under test and of skopeo's media-type rules.
raw_push() {
    "$PY" - "$@" <<'PYEOF'
import json, os, sys, urllib.request
lay, tag, reg, dst = sys.argv[1:5]
repo, _, dtag = dst.rpartition(":")
idx = json.load(open(lay + "/index.json"))
m = [m for m in idx["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag][0]
def blob(d): return open(os.path.join(lay, "blobs", *d.split(":")), "rb").read()
def req(method, url, data=None, ct=None):
    r = urllib.request.Request(url, data=data, method=method)
    if ct: r.add_header("Content-Type", ct)
    return urllib.request.urlopen(r)
man = blob(m["digest"]); j = json.loads(man)
for d in [j["config"]] + j["layers"]:
    loc = req("POST", f"http://{reg}/v2/{repo}/blobs/uploads/", b"").headers["Location"]
    if loc.startswith("/"): loc = f"http://{reg}" + loc
    req("PUT", loc + ("&" if "?" in loc else "?") + "digest=" + d["digest"], blob(d["digest"]), "application/octet-stream")
req("PUT", f"http://{reg}/v2/{repo}/manifests/{dtag}", man, m["mediaType"])
PYEOF
}
