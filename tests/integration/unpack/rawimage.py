#!/usr/bin/python3
"""Build OCI layouts from hand-made tar layers, including hostile ones.

usage:
  rawimage.py DIR:TAG [--compress gzip|zstd|none] LAYER...
      LAYER is a file holding a tar stream (used byte for byte), or
      "scenario:NAME[:ARG]" for a built-in layer (see SCENARIOS below).
      Options: --bad-diff-id N (config lists a wrong diff_id for layer N),
               --level N (gzip level, default 6),
               --docker (Docker media types).
  rawimage.py --tar OUT scenario:NAME[:ARG]   write just the tar

Scenarios take ARG = an absolute directory outside the rootfs (the canary
area) where relevant.
"""
import gzip, hashlib, json, os, subprocess, sys

BLOCK = 512

def header(name, size=0, typ=b"0", link="", mode=0o644, uid=0, gid=0, mtime=1700000000,
           size_field=None):
    """A raw ustar header block (name and link must fit; use pax() otherwise)."""
    def num(v, n):
        return (b"%0*o" % (n - 1, v)) + b"\0"
    nb = name.encode() if isinstance(name, str) else name
    lb = link.encode() if isinstance(link, str) else link
    prefix = b""
    if len(nb) > 100:
        cut = nb.rfind(b"/", 0, 156)
        prefix, nb = nb[:cut], nb[cut + 1:]
    h = bytearray(BLOCK)
    h[0:len(nb)] = nb
    h[100:108] = num(mode, 8)
    h[108:116] = num(uid, 8)
    h[116:124] = num(gid, 8)
    h[124:136] = size_field if size_field is not None else num(size, 12)
    h[136:148] = num(mtime, 12)
    h[148:156] = b" " * 8
    h[156:157] = typ
    h[157:157 + len(lb)] = lb
    h[257:263] = b"ustar\0"
    h[263:265] = b"00"
    h[345:345 + len(prefix)] = prefix
    csum = sum(h)
    h[148:156] = b"%06o\0 " % csum
    return bytes(h)

def pad(data):
    return data + b"\0" * ((BLOCK - len(data) % BLOCK) % BLOCK)

def pax(records, name="PaxHeader"):
    body = b""
    for k, v in records.items():
        v = v if isinstance(v, bytes) else str(v).encode()
        rec = b" " + k.encode() + b"=" + v + b"\n"
        n = len(rec) + 1
        while len(str(n).encode()) + len(rec) != n:
            n += 1
        body += str(n).encode() + rec
    return header(name, len(body), b"x") + pad(body)

def ent(name, data=b"", typ=b"0", link="", mode=None, **kw):
    if mode is None:
        mode = 0o755 if typ == b"5" else 0o777 if typ == b"2" else 0o644
    out = b""
    recs = {}
    if len(name.encode()) > 100 and (len(name.encode()) > 255 or "/" not in name):
        recs["path"] = name
        name = name[:99]
    if len(link.encode()) > 100:
        recs["linkpath"] = link
        link = link[:99]
    if recs:
        out += pax(recs)
    return out + header(name, len(data), typ, link, mode, **kw) + pad(data)

def end():
    return b"\0" * (2 * BLOCK)

def f(name, text, **kw): return ent(name, text.encode() if isinstance(text, str) else text, **kw)
def d(name, **kw): return ent(name, typ=b"5", **kw)
def l(name, target, **kw): return ent(name, typ=b"2", link=target, **kw)
def h(name, target, **kw): return ent(name, typ=b"1", link=target, **kw)

def scenario(name, arg):
    out = arg or "/nonexistent-outside"
    if name == "dotdot":
        return (f("../dotdot.txt", "x") + f("../../../../../../../../" + out.lstrip("/") + "/dd.txt", "x")
                + f("a/../../up.txt", "x") + end())
    if name == "absolute":
        return f(out + "/abs.txt", "x") + f("/etc/abs-passwd", "x") + end()
    if name == "symlink-write":
        return (l("escape", "../outside") + f("escape/pwned.txt", "x")
                + l("escape_abs", out) + f("escape_abs/pwned.txt", "x")
                + l("rel", "../../../../../../../../../" + out.lstrip("/")) + f("rel/pwned.txt", "x")
                + end())
    if name == "symlink-chain":
        return (l("c1", "c2") + l("c2", "sub/../../c3") + l("c3", "/../.." + out)
                + f("c1/pwned.txt", "x") + l("loop1", "loop2") + l("loop2", "loop1") + end())
    if name == "symlink-loop-write":
        return l("loop1", "loop2") + l("loop2", "loop1") + f("loop1/x", "x") + end()
    if name == "symlink-then-replace":
        # a symlink to outside, then a regular file replacing it, then a dir
        return (l("victim", out + "/canary.txt") + f("victim", "replaced")
                + l("vdir", out) + d("vdir") + f("vdir/inside.txt", "x") + end())
    if name == "hardlink-out":
        return h("hl", "../secret") + end()
    if name == "hardlink-out-abs":
        return h("hl", out + "/canary.txt") + end()
    if name == "hardlink-via-symlink":
        return l("s", out) + h("hl", "s/canary.txt") + end()
    if name == "whiteout-out":
        return f("a/.wh...", "") + end()
    if name == "whiteout-via-symlink":
        return l("s", out) + f("s/.wh.canary.txt", "") + f("s/.wh..wh..opq", "") + end()
    if name == "longname":
        return f("d/" + "x" * 300, "long") + f("/".join(["n"] * 3000), "deep") + end()
    if name == "longcomp":
        return f("a" * 5000, "x") + end()
    if name == "hugesize":
        return header("huge", size_field=b"\x80" + b"\0" * 3 + b"\xff" * 8, typ=b"0") + b"abc"
    if name == "hugesize-octal":
        return header("huge", size=0o77777777777) + b"abc" * 100
    if name == "devices":
        return ent("dev/null", typ=b"3", mode=0o666) + ent("dev/sda", typ=b"4", mode=0o660) + end()
    if name == "root-file":
        return f("./", "x") + end()
    if name == "truncated-data":
        return f("a", "0123456789" * 100)[:BLOCK + 300]
    if name == "nodes":
        return ent("fifo", typ=b"6") + ent("weird", typ=b"Z") + end()
    raise SystemExit("unknown scenario " + name)

def tar_bytes(spec):
    if spec.startswith("scenario:"):
        parts = spec.split(":", 2)
        return scenario(parts[1], parts[2] if len(parts) > 2 else None)
    with open(spec, "rb") as fh:
        return fh.read()

def blob(layout, data):
    dg = "sha256:" + hashlib.sha256(data).hexdigest()
    p = os.path.join(layout, "blobs", "sha256", dg[7:])
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as fh:
        fh.write(data)
    return dg

def retarget(layout, tag, fn):
    """Rewrite the manifest tagged `tag` through fn(manifest) and re-point
    index.json at the new manifest blob."""
    ip = os.path.join(layout, "index.json")
    index = json.load(open(ip))
    for m in index["manifests"]:
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            man = json.load(open(os.path.join(layout, "blobs", "sha256", m["digest"][7:])))
            fn(man)
            mb = json.dumps(man).encode()
            m["digest"], m["size"] = blob(layout, mb), len(mb)
    with open(ip, "w") as fh:
        json.dump(index, fh)

def tamper(layout, tag, n, offset):
    """Flip one byte of layer n at offset (negative: from the end) and
    rewrite its digest and the manifest, so only later checks (HMAC,
    diff_id) can notice."""
    def fn(man):
        l = man["layers"][n]
        data = bytearray(open(os.path.join(layout, "blobs", "sha256", l["digest"][7:]), "rb").read())
        data[offset] ^= 0x01
        l["digest"], l["size"] = blob(layout, bytes(data)), len(data)
    retarget(layout, tag, fn)

def main():
    a = sys.argv[1:]
    if a[0] == "--tamper-layer":
        layout, _, tag = a[1].partition(":")
        tamper(layout, tag, int(a[2]), int(a[3]))
        return
    if a[0] == "--tar":
        with open(a[1], "wb") as fh:
            fh.write(tar_bytes(a[2]))
        return
    dest = a.pop(0)
    comp, bad, docker, level = "gzip", -1, False, 6
    layers = []
    while a:
        x = a.pop(0)
        if x == "--compress": comp = a.pop(0)
        elif x == "--bad-diff-id": bad = int(a.pop(0))
        elif x == "--docker": docker = True
        elif x == "--level": level = int(a.pop(0))
        else: layers.append(x)
    layout, _, tag = dest.partition(":")
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(layout, "oci-layout"), "w") as fh:
        fh.write('{"imageLayoutVersion":"1.0.0"}')
    suffix = {"gzip": "+gzip", "zstd": "+zstd", "none": ""}[comp]
    mt = "application/vnd.oci.image.layer.v1.tar" + suffix
    if docker:
        mt = "application/vnd.docker.image.rootfs.diff.tar" + (".gzip" if comp == "gzip" else "")
    descs, diff_ids = [], []
    for i, spec in enumerate(layers):
        t = tar_bytes(spec)
        diff_ids.append("sha256:" + hashlib.sha256(t if i != bad else t + b"x").hexdigest())
        if comp == "gzip": c = gzip.compress(t, compresslevel=level, mtime=0)
        elif comp == "zstd": c = subprocess.run(["zstd", "-q", "-c"], input=t, stdout=subprocess.PIPE, check=True).stdout
        else: c = t
        descs.append({"mediaType": mt, "digest": blob(layout, c), "size": len(c)})
    cfg = {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids},
           "config": {}}
    cb = json.dumps(cfg).encode()
    man = {"schemaVersion": 2,
           "mediaType": "application/vnd.docker.distribution.manifest.v2+json" if docker else "application/vnd.oci.image.manifest.v1+json",
           "config": {"mediaType": "application/vnd.docker.container.image.v1+json" if docker else "application/vnd.oci.image.config.v1+json",
                      "digest": blob(layout, cb), "size": len(cb)},
           "layers": descs}
    mb = json.dumps(man).encode()
    desc = {"mediaType": man["mediaType"], "digest": blob(layout, mb), "size": len(mb),
            "annotations": {"org.opencontainers.image.ref.name": tag}}
    ip = os.path.join(layout, "index.json")
    index = json.load(open(ip)) if os.path.exists(ip) else {"schemaVersion": 2, "manifests": []}
    index["manifests"] = [m for m in index["manifests"]
                          if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != tag]
    index["manifests"].append(desc)
    with open(ip, "w") as fh:
        json.dump(index, fh)
    print(desc["digest"])

main()
