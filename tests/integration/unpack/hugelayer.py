#!/usr/bin/python3
"""Make an OCI layout with one huge layer of zeros, cheaply.

usage: hugelayer.py zstd DIR:TAG GIB    a zstd layer unpacking to GIB GiB
       hugelayer.py tar DIR:TAG MIB     an uncompressed layer of MIB MiB,
                                        stored as a sparse file
       hugelayer.py archive FILE GIB    a gzip-compressed oci-archive whose
                                        one blob is GIB GiB of zeros

zstd: the tar holds files of 1 GiB of zeros each, written as one zstd
frame by hand: a raw block for each tar header and RLE blocks (128 KiB
of one byte in 4 bytes) for the zeros, so 8 GiB take 256 KiB, which the
fetch section reads at once.  The config's diff_id is NOT the layer's
(hashing GIB GiB would take longer than the tests that use it): an
unpack of it fails only at the very end, after writing everything, so
the tests stop it before.

archive: the gzip stream is built from members (one compressed once and
repeated), as a gzip file may hold several; the blob is not what any
manifest names (the archive is only there to be extracted).

tar: a correct image (digest and diff_id are the hash of the blob, which
is computed; about 3 s per GiB).
"""
import hashlib, json, os, sys

BLOCK = 512
GIB = 1 << 30
MIB = 1 << 20


def header(name, size):
    h = bytearray(BLOCK)
    h[0:len(name)] = name.encode()
    h[100:108] = b"%07o\0" % 0o644
    h[108:116] = b"%07o\0" % 0
    h[116:124] = b"%07o\0" % 0
    h[124:136] = b"%011o\0" % size
    h[136:148] = b"%011o\0" % 1700000000
    h[148:156] = b" " * 8
    h[156:157] = b"0"
    h[257:265] = b"ustar\x0000"
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def put_blob(layout, path_or_bytes, digest):
    p = os.path.join(layout, "blobs", "sha256", digest[7:])
    os.makedirs(os.path.dirname(p), exist_ok=True)
    if isinstance(path_or_bytes, bytes):
        with open(p, "wb") as f:
            f.write(path_or_bytes)
    else:
        os.rename(path_or_bytes, p)
    return p


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def zstd_layer(tmp, gib):
    """The compressed layer in file tmp; returns (digest, size)."""
    blk = 128 * 1024

    def block(last, typ, size):
        return (int(last) | typ << 1 | size << 3).to_bytes(3, "little")
    rle = block(False, 1, blk) + b"\0"
    # magic, frame header: no content size, no checksum, a 128 KiB window
    out = [(0xFD2FB528).to_bytes(4, "little"), bytes([0x00, 0x38])]
    for i in range(gib):
        out.append(block(False, 0, BLOCK) + header("zero%d" % i, GIB))
        out.append(rle * (GIB // blk))
    out.append(block(True, 1, 2 * BLOCK) + b"\0")
    data = b"".join(out)
    with open(tmp, "wb") as f:
        f.write(data)
    return sha(data), len(data)


def archive(path, gib):
    """The oci-archive: oci-layout, index.json, one blob of zeros."""
    import gzip
    zeros = gzip.compress(bytes(64 * MIB), compresslevel=9, mtime=0)

    def entry(name, data):
        pad = bytes((BLOCK - len(data) % BLOCK) % BLOCK)
        return gzip.compress(header(name, len(data)) + data + pad, mtime=0)
    with open(path, "wb") as f:
        f.write(entry("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'))
        f.write(entry("index.json", b'{"schemaVersion":2,"manifests":[]}'))
        f.write(gzip.compress(header("blobs/sha256/" + "0" * 64, gib * GIB), mtime=0))
        for _ in range(gib * GIB // (64 * MIB)):
            f.write(zeros)
        f.write(gzip.compress(bytes(2 * BLOCK), mtime=0))


def tar_layer(tmp, mib):
    """The uncompressed layer as a sparse file; returns (digest, size)."""
    n = mib * MIB
    with open(tmp, "wb") as f:
        f.write(header("zero", n))
        f.truncate(BLOCK + n + 2 * BLOCK)
    h = hashlib.sha256()
    with open(tmp, "rb") as f:
        while True:
            b = f.read(8 * MIB)
            if not b:
                break
            h.update(b)
    return "sha256:" + h.hexdigest(), BLOCK + n + 2 * BLOCK


def main():
    kind, dest, amount = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if kind == "archive":
        return archive(dest, amount)
    layout, _, tag = dest.partition(":")
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    tmp = os.path.join(layout, "layer.tmp")
    if kind == "zstd":
        digest, size = zstd_layer(tmp, amount)
        mt = "application/vnd.oci.image.layer.v1.tar+zstd"
        diff_id = sha(b"not this layer's diff_id")
    else:
        digest, size = tar_layer(tmp, amount)
        mt = "application/vnd.oci.image.layer.v1.tar"
        diff_id = digest
    put_blob(layout, tmp, digest)
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                      "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    put_blob(layout, cfg, sha(cfg))
    man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                 "digest": sha(cfg), "size": len(cfg)},
                      "layers": [{"mediaType": mt, "digest": digest, "size": size}]}).encode()
    put_blob(layout, man, sha(man))
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha(man),
            "size": len(man), "annotations": {"org.opencontainers.image.ref.name": tag}}]}, f)


if __name__ == "__main__":
    main()
