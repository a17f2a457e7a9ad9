#!/bin/bash
# Bounded memory: a 1 GiB layer (random, uncompressed tar) is pushed by
# coco-img copy (checked with skopeo), then pulled back with coco-img
# copy; max RSS stays under 64 MiB both ways (/usr/bin/time -f %M).
# BIGBLOB_MIB overrides the size.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/integration/registry/reglib.sh"

MIB=${BIGBLOB_MIB:-1024}
start_registry G || exit 1
R=$REG_G
I="tls-verify=false"
mkdir -p "$T/big/rootfs"
head -c "${MIB}M" /dev/urandom > "$T/big/rootfs/blob"
tar -C "$T/big/rootfs" -cf "$T/big/layer.tar" blob
rm -f "$T/big/rootfs/blob"
"$PY" - "$T/big" <<'PYEOF'
import hashlib, json, os, sys
d = sys.argv[1]
os.makedirs(d + "/img/blobs/sha256", exist_ok=True)
h = hashlib.sha256(); n = 0
with open(d + "/layer.tar", "rb") as f:
    while True:
        b = f.read(1 << 20)
        if not b: break
        h.update(b); n += len(b)
ld = h.hexdigest()
os.rename(d + "/layer.tar", d + "/img/blobs/sha256/" + ld)
def put(obj):
    b = json.dumps(obj).encode(); x = hashlib.sha256(b).hexdigest()
    open(d + "/img/blobs/sha256/" + x, "wb").write(b); return "sha256:" + x, len(b)
cd, cs = put({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": ["sha256:" + ld]}, "config": {}})
md, ms = put({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
              "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
              "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "sha256:" + ld, "size": n}]})
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms,
           "annotations": {"org.opencontainers.image.ref.name": "v1"}}]}, open(d + "/img/index.json", "w"))
open(d + "/img/oci-layout", "w").write('{"imageLayoutVersion": "1.0.0"}')
PYEOF
WANT=$(oci_digest "$T/big/img" v1)

# our push first (skopeo would gzip the uncompressed layer on the way: slow)
/usr/bin/time -f %M -o "$T/push.rss" "$COCO_IMG" copy -q --dest-tls-verify=false "oci:$T/big/img:v1" "docker://$R/test/big:v1"
check "push of a ${MIB} MiB layer (streamed PATCH)" test $? -eq 0
echo "# push max RSS: $(cat "$T/push.rss") KiB"
check "push max RSS < 64 MiB" test "$(tail -1 "$T/push.rss")" -lt 65536
check "pushed manifest digest (skopeo)" test "$(sk_digest --tls-verify=false "docker://$R/test/big:v1")" = "$WANT"

/usr/bin/time -f %M -o "$T/pull.rss" "$COCO_IMG" copy -q --src-tls-verify=false "docker://$R/test/big:v1" "oci:$T/out:v1"
check "pull of a ${MIB} MiB layer" test $? -eq 0
check "pulled digest" test "$(oci_digest "$T/out" v1)" = "$WANT"
echo "# pull max RSS: $(cat "$T/pull.rss") KiB"
check "pull max RSS < 64 MiB" test "$(tail -1 "$T/pull.rss")" -lt 65536
L=$("$PY" -c 'import json,sys; m=json.load(open(sys.argv[1]+"/blobs/sha256/"+sys.argv[2][7:])); print(m["layers"][0]["digest"][7:])' "$T/big/img" "$WANT")
check "pulled layer intact" cmp "$T/out/blobs/sha256/$L" "$T/big/img/blobs/sha256/$L"
finish
