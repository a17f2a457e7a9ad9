#!/bin/bash
# Benchmark: coco-img against skopeo + umoci on a loopback docker-registry.
#
#   bench/run.sh [--rounds N] [--big-mib N] [--smoke]
#
# Builds a release coco-img (build-bench/), makes two images (a "model"
# image: a large incompressible file + 15k small files; a "tree" image: a
# compiler installation, compressible binaries, gzip), encrypts them with
# skopeo (JWE, RSA) into a loopback registry, then alternates, round after
# round:
#   unpack : skopeo copy --decryption-key + umoci unpack   vs  coco-img unpack
#   encrypt: skopeo copy --encryption-key (oci -> oci)     vs  coco-img encrypt
# Destinations are on a tmpfs (a fresh mount when permitted, else /dev/shm),
# like a TEE guest that unpacks into RAM.  Prints wall, CPU (user+sys) and
# peak RSS of each run, the medians, and the ratios.
#
# --smoke: tiny images, one round: checks the harness works (CI runs this).
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD
ROUNDS=3
BIG=1024
SMALL=15000
SMOKE=0
while [ $# -gt 0 ]; do
    case $1 in
    --rounds) ROUNDS=$2; shift 2;;
    --big-mib) BIG=$2; shift 2;;
    --smoke) SMOKE=1; ROUNDS=1; BIG=4; SMALL=200; shift;;
    *) echo "usage: bench/run.sh [--rounds N] [--big-mib N] [--smoke]" >&2; exit 2;;
    esac
done

if [ -n "${COCO_IMG:-}" ]; then
    COCO=$COCO_IMG
else
    scripts/install-deps.sh
    [ -f build-bench/build.ninja ] || meson setup build-bench -Dbuildtype=release -Dtests=false -Dwerror=false >/dev/null
    ninja -C build-bench >/dev/null
    COCO=$TOP/build-bench/cli/coco-img
fi

W=$(mktemp -d /var/tmp/coco-bench.XXXXXX)
PIDS=""
MNT=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    [ -n "$MNT" ] && umount "$MNT" 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT

# Destination on tmpfs.
FS="$W/tmpfs"
mkdir -p "$FS"
if mount -t tmpfs -o size=12g tmpfs "$FS" 2>/dev/null; then
    MNT=$FS
    FSDESC="fresh tmpfs mount"
else
    FS=$(mktemp -d /dev/shm/coco-bench.XXXXXX)
    FSDESC="/dev/shm (tmpfs; mount not permitted)"
fi

# Registry on loopback, storage on disk.
mkdir -p "$W/reg"
cat > "$W/reg/config.yml" <<YML
version: 0.1
log: {level: info}
storage: {filesystem: {rootdirectory: $W/reg/data}}
http: {addr: 127.0.0.1:0}
YML
docker-registry serve "$W/reg/config.yml" > "$W/reg/log" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 100); do grep -q 'listening on' "$W/reg/log" && break; sleep 0.1; done
REG=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$W/reg/log" | head -1 | sed 's/listening on //')
[ -n "$REG" ] || { cat "$W/reg/log"; exit 1; }

echo "# coco-img benchmark  $(date -u +%FT%TZ)  $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB"
echo "# destination: $FSDESC; registry: docker-registry on $REG"
echo "# coco-img: $($COCO version | head -1); $(skopeo --version); umoci $(umoci --version | awk '{print $3}')"

POL="$W/policy.json"
echo '{"default":[{"type":"insecureAcceptAnything"}]}' > "$POL"
SKOPEO="skopeo --policy $POL"
openssl genrsa -out "$W/priv.pem" 2048 2>/dev/null
openssl rsa -in "$W/priv.pem" -pubout -out "$W/pub.pem" 2>/dev/null

echo "# building images..."
/usr/bin/python3 bench/mkbench.py model "$W/model" --big-mib "$BIG" --small "$SMALL"
if [ "$SMOKE" = 1 ]; then
    /usr/bin/python3 bench/mkbench.py tree "$W/tree" /usr/share/doc/skopeo
else
    /usr/bin/python3 bench/mkbench.py tree "$W/tree" /usr/lib/llvm-14 /usr/lib/gcc
fi
for img in model tree; do
    $SKOPEO copy -q --dest-tls-verify=false --encryption-key "jwe:$W/pub.pem" \
        "oci:$W/$img:latest" "docker://$REG/bench/$img:enc"
    echo "# $img: $(du -sh "$W/$img/blobs" | cut -f1) of blobs"
done

RES="$W/results"
: > "$RES"
# measure LABEL CMD... : run with /usr/bin/time, append "LABEL wall cpu rss_kib"
measure() {
    local label=$1; shift
    sync
    /usr/bin/time -f "%e %U %S %M" -o "$W/time.out" "$@" > "$W/cmd.out" 2>&1 || {
        echo "FAILED: $label: $*" >&2; cat "$W/cmd.out" >&2; return 1; }
    read -r wall usr sys rss < "$W/time.out"
    echo "$label $wall $(echo "$usr + $sys" | bc) $rss" >> "$RES"
    printf '  %-22s wall %7.2fs  cpu %7.2fs  rss %7.1f MiB\n' "$label" "$wall" \
        "$(echo "$usr + $sys" | bc)" "$(echo "$rss / 1024" | bc -l)"
}
# The skopeo+umoci pair is one run: time both under one shell.
pair_cmd() {
    echo "$SKOPEO copy -q --src-tls-verify=false --decryption-key $W/priv.pem \
        docker://$REG/bench/$1:enc oci:$FS/oci:latest && \
        umoci unpack --image $FS/oci:latest $FS/bundle >/dev/null"
}

for r in $(seq "$ROUNDS"); do
    echo "# round $r"
    for img in model tree; do
        rm -rf "$FS/oci" "$FS/bundle"
        measure "unpack-$img-skopeo" bash -c "$(pair_cmd "$img")"
        rm -rf "$FS/oci" "$FS/bundle"
        measure "unpack-$img-coco" "$COCO" unpack -q --tls-verify=false \
            --decryption-key "$W/priv.pem" "docker://$REG/bench/$img:enc" "$FS/rootfs"
        rm -rf "$FS/rootfs"
    done
    measure "encrypt-model-skopeo" $SKOPEO copy -q --encryption-key "jwe:$W/pub.pem" \
        "oci:$W/model:latest" "oci:$FS/enc1:latest"
    rm -rf "$FS/enc1"
    measure "encrypt-model-coco" "$COCO" encrypt -q --encryption-key "jwe:$W/pub.pem" \
        "oci:$W/model:latest" "oci:$FS/enc2:latest"
    rm -rf "$FS/enc2"
done

# Where coco-img's time goes (one extra run with --stats).
echo "# coco-img unpack --stats (model image):"
"$COCO" unpack -q --stats --output json --tls-verify=false --decryption-key "$W/priv.pem" \
    "docker://$REG/bench/model:enc" "$FS/rootfs" > "$W/stats.json" 2>&1 || true
/usr/bin/python3 - "$W/stats.json" <<'PY' || true
import json, sys
try:
    j = json.load(open(sys.argv[1]))
except Exception as e:
    print("  (no stats:", e, ")"); sys.exit(0)
st = j.get("stats", {})
wall = st.get("total_ns", 0)
for k in ("network_ns", "digest_ns", "decrypt_ns", "decompress_ns", "write_ns"):
    print("  %-12s %8.2fs" % (k[:-3], st.get(k, 0) / 1e9))
busy = sum(st.get(k, 0) for k in ("digest_ns", "decrypt_ns", "decompress_ns", "write_ns"))
if wall:
    print("  total %.2fs; CPU stages %.2fs; if perfectly spread over 2 cores: %.2fs (%.0f%% of total)" %
          (wall / 1e9, busy / 1e9, busy / 2e9, 100 * busy / 2 / wall))
PY
rm -rf "$FS/rootfs"

echo "# medians and ratios (skopeo+umoci / coco-img; higher is better):"
/usr/bin/python3 - "$RES" <<'PY'
import sys, statistics
rows = {}
for line in open(sys.argv[1]):
    l, w, c, r = line.split()
    rows.setdefault(l, []).append((float(w), float(c), int(r)))
def med(l, i):
    return statistics.median(x[i] for x in rows[l])
targets = {"unpack-model": 6.0, "unpack-tree": 4.0, "encrypt-model": 4.0}
ok = True
for job, tgt in targets.items():
    a, b = job + "-skopeo", job + "-coco"
    if a not in rows or b not in rows:
        continue
    wr = med(a, 0) / max(med(b, 0), 1e-9)
    cr = med(a, 1) / max(med(b, 1), 1e-9)
    rss = max(x[2] for x in rows[b]) / 1024
    flag = "meets" if wr >= tgt and (not job.startswith("unpack") or rss < 64) else "BELOW"
    if flag == "BELOW":
        ok = False
    print("  %-14s wall %6.2fs vs %6.2fs  x%5.2f (target x%.0f)  cpu x%5.2f  coco peak rss %6.1f MiB  %s" %
          (job, med(a, 0), med(b, 0), wr, tgt, cr, rss, flag))
print("# result:", "all targets met" if ok else "some targets not met")
PY
