#!/usr/bin/python3
"""Push one cosign legacy signature to a registry (plain HTTP, no auth).

    push_sig.py REGISTRY DIGEST SIG.json...

Each SIG.json is {"repo", "payload" (base64), "annotations"} (as
mini_sigstore.py legacy writes them); the signatures of one repository
become the layers of its attachment sha256-<hex>.sig, laid out as cosign
(go-containerregistry) pushes it: an OCI manifest, cosign's config blob,
one application/vnd.dev.cosign.simplesigning.v1+json layer per signature
with the annotations on the layer descriptor.
"""
import base64
import hashlib
import json
import sys
import urllib.request

SIMPLE = "application/vnd.dev.cosign.simplesigning.v1+json"
OCI = "application/vnd.oci.image.manifest.v1+json"


def req(method, url, data=None, ctype=None):
    r = urllib.request.Request(url, data=data, method=method)
    if ctype:
        r.add_header("Content-Type", ctype)
    with urllib.request.urlopen(r) as resp:
        return resp.headers


def put_blob(reg, name, data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    loc = req("POST", "http://%s/v2/%s/blobs/uploads/" % (reg, name))["Location"]
    if loc.startswith("/"):
        loc = "http://" + reg + loc
    sep = "&" if "?" in loc else "?"
    req("PUT", loc + sep + "digest=" + d, data, "application/octet-stream")
    return {"digest": d, "size": len(data)}


def main():
    reg, digest = sys.argv[1], sys.argv[2]
    by_repo = {}
    for p in sys.argv[3:]:
        s = json.load(open(p))
        by_repo.setdefault(s["repo"].split("/", 1)[1], []).append(s)
    for name, sigs in by_repo.items():
        layers = []
        for s in sigs:
            layers.append(dict(put_blob(reg, name, base64.b64decode(s["payload"])),
                               mediaType=SIMPLE, annotations=s["annotations"]))
        cfg = json.dumps({"architecture": "", "created": "0001-01-01T00:00:00Z",
                          "history": [{"created": "0001-01-01T00:00:00Z"}], "os": "",
                          "rootfs": {"type": "layers",
                                     "diff_ids": [l["digest"] for l in layers]},
                          "config": {}}, separators=(",", ":")).encode()
        man = {"schemaVersion": 2, "mediaType": OCI,
               "config": dict(put_blob(reg, name, cfg),
                              mediaType="application/vnd.oci.image.config.v1+json"),
               "layers": layers}
        tag = digest.replace(":", "-") + ".sig"
        req("PUT", "http://%s/v2/%s/manifests/%s" % (reg, name, tag),
            json.dumps(man, separators=(",", ":")).encode(), OCI)


if __name__ == "__main__":
    main()
