#!/usr/bin/python3
"""Attach artifacts to an image the way cosign v3 does, independently of
the code under test (tests only).

  referrers_tool.py make LAYOUT SUBJECT ARTIFACT_TYPE LAYER_MT FILE [--in-index] [--tag]
      write into the OCI layout LAYOUT a referrer manifest of SUBJECT (a
      manifest digest whose blob is in LAYOUT, or "sha256:X:MT:SIZE" for a
      subject kept elsewhere): artifactType ARTIFACT_TYPE, the empty config
      (application/vnd.oci.empty.v1+json, "{}"), one layer FILE of media
      type LAYER_MT, cosign's annotations; print its digest.  --in-index
      lists it in index.json untagged; --tag adds it to the referrers
      tag-schema index (tag sha256-<hex>) in index.json.
  referrers_tool.py push LAYOUT MANIFEST HOST:PORT REPO [--tag]
      push the referrer manifest MANIFEST (a digest in LAYOUT) with its
      blobs by digest over plain http; --tag also adds it to the registry's
      referrers tag-schema index (created when missing), as a client does
      on a registry without the referrers API (distribution-spec v1.1.0).
"""
import hashlib
import json
import os
import sys
import urllib.error
import urllib.request

MANIFEST_MT = "application/vnd.oci.image.manifest.v1+json"
INDEX_MT = "application/vnd.oci.image.index.v1+json"
EMPTY_MT = "application/vnd.oci.empty.v1+json"
REFNAME = "org.opencontainers.image.ref.name"


def put_blob(layout, data):
    d = hashlib.sha256(data).hexdigest()
    bdir = os.path.join(layout, "blobs", "sha256")
    os.makedirs(bdir, exist_ok=True)
    with open(os.path.join(bdir, d), "wb") as f:
        f.write(data)
    return "sha256:" + d


def get_blob(layout, digest):
    with open(os.path.join(layout, "blobs", *digest.split(":")), "rb") as f:
        return f.read()


def tag_of(digest):
    alg, hexd = digest.split(":", 1)
    return "%s-%s" % (alg[:32], hexd[:64])


def desc_of(data, m):
    d = {"mediaType": m.get("mediaType", MANIFEST_MT), "digest": "sha256:" + hashlib.sha256(data).hexdigest(),
         "size": len(data)}
    if m.get("artifactType"):
        d["artifactType"] = m["artifactType"]
    if m.get("annotations"):
        d["annotations"] = m["annotations"]
    return d


def add_to_index(index, desc):
    if not any(e["digest"] == desc["digest"] for e in index["manifests"]):
        index["manifests"].append(desc)


def subject_desc(layout, subject):
    parts = subject.split(":")
    if len(parts) == 4:
        return {"mediaType": parts[2], "digest": parts[0] + ":" + parts[1], "size": int(parts[3])}
    data = get_blob(layout, subject)
    return {"mediaType": json.loads(data).get("mediaType", MANIFEST_MT), "digest": subject, "size": len(data)}


def make(layout, subject, artifact_type, layer_mt, path, flags):
    payload = open(path, "rb").read()
    cfg = put_blob(layout, b"{}")
    layer = put_blob(layout, payload)
    m = {"schemaVersion": 2, "mediaType": MANIFEST_MT, "artifactType": artifact_type,
         "config": {"mediaType": EMPTY_MT, "digest": cfg, "size": 2},
         "layers": [{"mediaType": layer_mt, "digest": layer, "size": len(payload),
                     "annotations": {"org.opencontainers.image.title": layer.replace(":", "-") + ".sigstore.json"}}],
         "subject": subject_desc(layout, subject),
         "annotations": {"dev.sigstore.bundle.content": "dsse-envelope",
                         "dev.sigstore.bundle.predicateType": "https://sigstore.dev/cosign/sign/v1",
                         "org.opencontainers.image.created": "2026-12-06T23:00:00Z"}}
    data = json.dumps(m, separators=(",", ":")).encode()
    mdig = put_blob(layout, data)
    ipath = os.path.join(layout, "index.json")
    index = json.load(open(ipath))
    if "--in-index" in flags:
        add_to_index(index, desc_of(data, m))
    if "--tag" in flags:
        tag = tag_of(m["subject"]["digest"])
        old = [e for e in index["manifests"] if e.get("annotations", {}).get(REFNAME) == tag]
        tix = json.loads(get_blob(layout, old[0]["digest"])) if old else \
            {"schemaVersion": 2, "mediaType": INDEX_MT, "manifests": []}
        add_to_index(tix, desc_of(data, m))
        tdata = json.dumps(tix, separators=(",", ":")).encode()
        index["manifests"] = [e for e in index["manifests"] if e not in old]
        index["manifests"].append({"mediaType": INDEX_MT, "digest": put_blob(layout, tdata),
                                   "size": len(tdata), "annotations": {REFNAME: tag}})
    with open(ipath, "w") as f:
        json.dump(index, f)
    print(mdig)


def req(method, url, data=None, ctype=None, accept=None):
    r = urllib.request.Request(url, data=data, method=method)
    if ctype:
        r.add_header("Content-Type", ctype)
    if accept:
        r.add_header("Accept", accept)
    return urllib.request.urlopen(r)


def push_blob(reg, repo, data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    loc = req("POST", "http://%s/v2/%s/blobs/uploads/" % (reg, repo), b"").headers["Location"]
    if loc.startswith("/"):
        loc = "http://" + reg + loc
    req("PUT", loc + ("&" if "?" in loc else "?") + "digest=" + d, data, "application/octet-stream")


def push(layout, mdig, reg, repo, flags):
    data = get_blob(layout, mdig)
    m = json.loads(data)
    for d in [m["config"]] + m["layers"]:
        push_blob(reg, repo, get_blob(layout, d["digest"]))
    req("PUT", "http://%s/v2/%s/manifests/%s" % (reg, repo, mdig), data, MANIFEST_MT)
    if "--tag" not in flags:
        return
    turl = "http://%s/v2/%s/manifests/%s" % (reg, repo, tag_of(m["subject"]["digest"]))
    try:
        tix = json.loads(req("GET", turl, accept=INDEX_MT).read())
    except urllib.error.HTTPError as e:
        if e.code != 404:
            raise
        tix = {"schemaVersion": 2, "mediaType": INDEX_MT, "manifests": []}
    add_to_index(tix, desc_of(data, m))
    req("PUT", turl, json.dumps(tix, separators=(",", ":")).encode(), INDEX_MT)


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(*sys.argv[2:7], sys.argv[7:])
    elif sys.argv[1] == "push":
        push(*sys.argv[2:6], sys.argv[6:])
    else:
        sys.exit("usage: see the docstring")
