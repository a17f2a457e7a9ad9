#!/usr/bin/python3
"""Build the benchmark images as OCI layouts.

usage: mkbench.py model DIR [--big-mib N] [--small N]
       mkbench.py tree  DIR SRCDIR...
       mkbench.py small DIR

model: one layer with an incompressible N MiB file (a stand-in for model
       weights) and a second layer with N small files, gzip-compressed
       (the random data barely compresses: like real weights).
tree:  one gzip layer holding the given directory trees (e.g. a compiler
       installation): compressible binaries.
small: the demo's size, about 1.4 MB compressed: a busybox-like base layer
       (one ~1.2 MB binary, /bin/bash standing in for busybox, 300 links
       to it, a skeleton /etc) and an application layer with a few files.
"""
import hashlib, json, os, subprocess, sys, tarfile, io

def blob_from_stream(layout, cmd):
    """Run cmd (producing a compressed tar on stdout) into a blob; return
    (digest, size, diff_id) where diff_id is computed with `tee` + sha256."""
    tmp = os.path.join(layout, "blobs", "sha256", "tmp")
    os.makedirs(os.path.dirname(tmp), exist_ok=True)
    with open(tmp, "wb") as f:
        subprocess.run(["bash", "-o", "pipefail", "-c", cmd], stdout=f, check=True)
    h = hashlib.sha256()
    size = 0
    with open(tmp, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
            size += len(b)
    d = "sha256:" + h.hexdigest()
    os.rename(tmp, os.path.join(layout, "blobs", "sha256", d[7:]))
    # diff_id: sha256 of the uncompressed tar
    out = subprocess.run(["bash", "-o", "pipefail", "-c",
                          "gzip -dc %s | sha256sum" % os.path.join(layout, "blobs", "sha256", d[7:])],
                         stdout=subprocess.PIPE, check=True).stdout.split()[0].decode()
    return d, size, "sha256:" + out

def put(layout, data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", d[7:]), "wb") as f:
        f.write(data)
    return d

def finish(layout, layers):
    cfg = {"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
           "config": {}, "rootfs": {"type": "layers", "diff_ids": [l[2] for l in layers]}}
    cb = json.dumps(cfg).encode()
    man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                      "digest": put(layout, cb), "size": len(cb)},
           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                       "digest": l[0], "size": l[1]} for l in layers]}
    mb = json.dumps(man).encode()
    idx = {"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": put(layout, mb),
        "size": len(mb), "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(idx, f)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')

def small_tree(work):
    base = os.path.join(work, "base")
    for d in ("bin", "sbin", "etc", "dev", "proc", "sys", "tmp", "root", "var/log", "usr/bin"):
        os.makedirs(os.path.join(base, d), exist_ok=True)
    subprocess.run(["cp", "/bin/bash", os.path.join(base, "bin/busybox")], check=True)
    for i in range(300):
        where = ("bin", "sbin", "usr/bin")[i % 3]
        os.symlink("/bin/busybox", os.path.join(base, where, "app%03d" % i))
    files = {"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n",
             "etc/group": "root:x:0:\nnogroup:x:65534:\n", "etc/hostname": "small\n",
             "etc/motd": "hello from a confidential container\n"}
    for p, t in files.items():
        with open(os.path.join(base, p), "w") as f:
            f.write(t)
    app = os.path.join(work, "app/app")
    os.makedirs(app, exist_ok=True)
    with open(os.path.join(app, "config.json"), "w") as f:
        json.dump({"listen": ":8080", "workers": 2}, f)
    with open(os.path.join(app, "run.sh"), "w") as f:
        f.write("#!/bin/sh\nexec /app/server --config /app/config.json\n")
    subprocess.run(["bash", "-c", "head -c 768K /dev/urandom > %s/server.bin" % app], check=True)

def main():
    kind, layout = sys.argv[1], sys.argv[2]
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    work = layout + ".src"
    os.makedirs(work, exist_ok=True)
    layers = []
    if kind == "model":
        mib = 1024
        small = 15000
        a = sys.argv[3:]
        if "--big-mib" in a:
            mib = int(a[a.index("--big-mib") + 1])
        if "--small" in a:
            small = int(a[a.index("--small") + 1])
        os.makedirs(os.path.join(work, "m/models"), exist_ok=True)
        subprocess.run(["bash", "-c", "head -c %dM /dev/urandom > %s/m/models/weights.bin" % (mib, work)], check=True)
        sd = os.path.join(work, "s/app/data")
        for i in range(small):
            d = os.path.join(sd, "d%03d" % (i // 100))
            if i % 100 == 0:
                os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "f%05d.txt" % i), "w") as f:
                f.write(("file %d\n" % i) * (1 + i % 50))
        layers.append(blob_from_stream(layout, "tar -C %s/m -cf - --sort=name . | gzip -1 -n" % work))
        layers.append(blob_from_stream(layout, "tar -C %s/s -cf - --sort=name . | gzip -6 -n" % work))
    elif kind == "small":
        small_tree(work)
        layers.append(blob_from_stream(layout, "tar -C %s/base -cf - --sort=name --owner=0 --group=0 . | gzip -6 -n" % work))
        layers.append(blob_from_stream(layout, "tar -C %s/app -cf - --sort=name --owner=0 --group=0 . | gzip -6 -n" % work))
    else:
        srcs = " ".join(sys.argv[3:])
        layers.append(blob_from_stream(layout, "tar -C / -cf - --sort=name %s | gzip -6 -n" %
                                       " ".join(s.lstrip("/") for s in sys.argv[3:])))
    subprocess.run(["rm", "-rf", work], check=True)
    finish(layout, layers)

main()
