#!/usr/bin/python3
"""Make small OCI image layouts for tests, deterministically.

usage: mkimage.py DIR[:TAG] [--layer SPEC]... [--compress gzip|zstd|none]
                  [--docker] [--platform os/arch[/variant]] [--index-of DIR ...]

A layer SPEC is a comma-separated list of entries:
  f:PATH=TEXT        regular file with TEXT (\\n escapes allowed)
  r:PATH=SIZE        regular file of SIZE pseudo-random bytes (seeded by PATH)
  z:PATH=SIZE        regular file of SIZE zero bytes (a decompression bomb)
  d:PATH             directory
  l:PATH=TARGET      symlink
  h:PATH=TARGET      hardlink
  p:PATH             fifo
  m:MODE             mode (octal) for the following entries (default 0644 / 0755)
  o:UID:GID          owner for the following entries
  x:NAME=VALUE       xattr NAME (a pax SCHILY.xattr record) on the next entry only
With no --layer, one layer with a couple of files is made.
Several calls with the same DIR and different tags add manifests to it.
"""
import argparse, gzip, hashlib, io, json, os, random, subprocess, sys, tarfile, time

def blob(layout, data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    p = os.path.join(layout, "blobs", "sha256", d[7:])
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data)
    return d

def make_tar(spec):
    bio = io.BytesIO()
    mode = None
    uid = gid = 0
    xattrs = {}
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for ent in spec.split(","):
            if not ent:
                continue
            kind, _, rest = ent.partition(":")
            if kind == "m":
                mode = int(rest, 8); continue
            if kind == "o":
                u, g = rest.split(":"); uid, gid = int(u), int(g); continue
            if kind == "x":
                k, _, v = rest.partition("="); xattrs["SCHILY.xattr." + k] = v; continue
            path, _, val = rest.partition("=")
            ti = tarfile.TarInfo(path)
            ti.mtime = 1700000000
            ti.uid, ti.gid = uid, gid
            ti.uname = ti.gname = ""
            ti.pax_headers, xattrs = xattrs, {}
            data = None
            if kind == "f":
                data = val.encode().decode("unicode_escape").encode("latin-1")
                ti.type = tarfile.REGTYPE; ti.mode = 0o644 if mode is None else mode
            elif kind == "r":
                n = int(val); rnd = random.Random(path)
                data = rnd.randbytes(n)
                ti.type = tarfile.REGTYPE; ti.mode = 0o644 if mode is None else mode
            elif kind == "z":
                data = bytes(int(val))
                ti.type = tarfile.REGTYPE; ti.mode = 0o644 if mode is None else mode
            elif kind == "d":
                ti.type = tarfile.DIRTYPE; ti.mode = 0o755 if mode is None else mode
            elif kind == "l":
                ti.type = tarfile.SYMTYPE; ti.linkname = val; ti.mode = 0o777
            elif kind == "h":
                ti.type = tarfile.LNKTYPE; ti.linkname = val; ti.mode = 0o644 if mode is None else mode
            elif kind == "p":
                ti.type = tarfile.FIFOTYPE; ti.mode = 0o644 if mode is None else mode
            else:
                sys.exit("bad entry " + ent)
            if data is not None:
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))
            else:
                tf.addfile(ti)
    return bio.getvalue()

def compress(data, how):
    if how == "gzip":
        return gzip.compress(data, mtime=0)
    if how == "zstd":
        return subprocess.run(["zstd", "-q", "-c", "-3"], input=data, stdout=subprocess.PIPE, check=True).stdout
    return data

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dest")
    ap.add_argument("--layer", action="append")
    ap.add_argument("--compress", default="gzip")
    ap.add_argument("--docker", action="store_true")
    ap.add_argument("--platform", default="linux/amd64")
    ap.add_argument("--index-of", nargs="*", help="make DEST an index of the tagged manifests (DIR:TAG ...)")
    a = ap.parse_args()
    layout, _, tag = a.dest.partition(":")
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    ipath = os.path.join(layout, "index.json")
    index = json.load(open(ipath)) if os.path.exists(ipath) else {"schemaVersion": 2, "manifests": []}

    if a.index_of is not None:
        mans = []
        for ref in a.index_of:
            d, _, t = ref.partition(":")
            src = json.load(open(os.path.join(d, "index.json")))
            m = [m for m in src["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == t][0]
            m = dict(m); m.pop("annotations", None)
            mb = open(os.path.join(d, "blobs", "sha256", m["digest"][7:]), "rb").read()
            cfg = json.loads(mb)["config"]
            cb = json.load(open(os.path.join(d, "blobs", "sha256", cfg["digest"][7:]), "rb"))
            m["platform"] = {"architecture": cb["architecture"], "os": cb["os"]}
            if cb.get("variant"): m["platform"]["variant"] = cb["variant"]
            mans.append(m)
        body = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": mans}).encode()
        d = blob(layout, body)
        desc = {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": d, "size": len(body)}
    else:
        specs = a.layer or ["d:etc,f:etc/hello=hello world\\n,f:README=test image\\n"]
        mt_layer = {
            ("gzip", False): "application/vnd.oci.image.layer.v1.tar+gzip",
            ("zstd", False): "application/vnd.oci.image.layer.v1.tar+zstd",
            ("none", False): "application/vnd.oci.image.layer.v1.tar",
            ("gzip", True): "application/vnd.docker.image.rootfs.diff.tar.gzip",
            ("none", True): "application/vnd.docker.image.rootfs.diff.tar",
        }[(a.compress, a.docker)]
        layers, diff_ids = [], []
        for s in specs:
            t = make_tar(s)
            diff_ids.append("sha256:" + hashlib.sha256(t).hexdigest())
            c = compress(t, a.compress)
            layers.append({"mediaType": mt_layer, "digest": blob(layout, c), "size": len(c)})
        pl = a.platform.split("/")
        cfg = {"created": "2023-11-14T22:13:20Z", "architecture": pl[1], "os": pl[0],
               "config": {"Env": ["PATH=/usr/bin:/bin"], "Cmd": ["/bin/sh"]},
               "rootfs": {"type": "layers", "diff_ids": diff_ids},
               "history": [{"created": "2023-11-14T22:13:20Z", "created_by": "mkimage.py"}]}
        if len(pl) > 2: cfg["variant"] = pl[2]
        cb = json.dumps(cfg).encode()
        man = {"schemaVersion": 2,
               "mediaType": "application/vnd.docker.distribution.manifest.v2+json" if a.docker else "application/vnd.oci.image.manifest.v1+json",
               "config": {"mediaType": "application/vnd.docker.container.image.v1+json" if a.docker else "application/vnd.oci.image.config.v1+json",
                          "digest": blob(layout, cb), "size": len(cb)},
               "layers": layers}
        body = json.dumps(man).encode()
        desc = {"mediaType": man["mediaType"], "digest": blob(layout, body), "size": len(body)}
    if tag:
        desc["annotations"] = {"org.opencontainers.image.ref.name": tag}
        index["manifests"] = [m for m in index["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != tag]
    index["manifests"].append(desc)
    with open(ipath, "w") as f:
        json.dump(index, f)
    print(desc["digest"])

main()
