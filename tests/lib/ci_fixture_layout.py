#!/usr/bin/python3
"""Turn one of containers/image's dir: signature fixtures into an OCI layout.

    ci_fixture_layout.py FIXTURE_DIR LAYOUT_DIR

FIXTURE_DIR holds manifest.json and signature-N files in containers/image's
dir: layout, sigstore signatures in its stored form
(0x00 "sigstore-json" '\\n' {"mimeType", "payload", "annotations"}).
LAYOUT_DIR becomes an OCI layout with the manifest tagged "latest" and a
sigstore attachment tagged sha256-<hex>.sig holding one layer per
signature: the payload as the blob, the mimeType as the layer's media type
and the annotations as the layer's annotations, as cosign pushes them.
Only the manifest is stored, not its config or layers (verification reads
nothing else).
"""
import base64
import hashlib
import json
import os
import sys

MAGIC = b"\x00sigstore-json\n"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def put_blob(layout, data):
    h = hashlib.sha256(data).hexdigest()
    d = os.path.join(layout, "blobs", "sha256")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, h), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + h, "size": len(data)}


def signatures(fixture):
    n = 1
    while True:
        p = os.path.join(fixture, "signature-%d" % n)
        if not os.path.exists(p):
            return
        blob = open(p, "rb").read()
        if blob.startswith(MAGIC):
            yield json.loads(blob[len(MAGIC):])
        n += 1


def main():
    fixture, layout = sys.argv[1], sys.argv[2]
    os.makedirs(layout, exist_ok=True)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    manifest = open(os.path.join(fixture, "manifest.json"), "rb").read()
    mt = json.loads(manifest).get("mediaType", OCI_MANIFEST)
    desc = dict(put_blob(layout, manifest), mediaType=mt,
                annotations={"org.opencontainers.image.ref.name": "latest"})
    entries = [desc]
    layers = []
    for s in signatures(fixture):
        layer = dict(put_blob(layout, base64.b64decode(s["payload"])), mediaType=s["mimeType"])
        if s.get("annotations"):
            layer["annotations"] = s["annotations"]
        layers.append(layer)
    if layers:
        config = dict(put_blob(layout, b"{}"), mediaType="application/vnd.oci.image.config.v1+json")
        att = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config,
                          "layers": layers}, separators=(",", ":")).encode()
        tag = desc["digest"].replace(":", "-") + ".sig"
        entries.append(dict(put_blob(layout, att), mediaType=OCI_MANIFEST,
                            annotations={"org.opencontainers.image.ref.name": tag}))
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                   "manifests": entries}, f)


if __name__ == "__main__":
    main()
