#!/bin/bash
# Benchmark: coco-img against skopeo + umoci on a loopback docker-registry.
#
#   bench/run.sh [--rounds N] [--big-mib N] [--smoke] [--rt]
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
# --rt: run the registry and every measured command under SCHED_FIFO
#       (chrt -f), so that other load on the machine does not distort the
#       wall times; both sides get the same treatment.
#
# At the end, per job, the distance from the physical limit: one extra
# coco-img run with --stats gives the time of each stage (network, digest,
# decrypt/encrypt, decompress, write); their sum spread over all cores is
# what the job would take with perfect overlap; that and the process CPU
# time / cores are printed beside the measured median wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD
ROUNDS=3
BIG=1024
SMALL=15000
SMOKE=0
RT=""
while [ $# -gt 0 ]; do
    case $1 in
    --rounds) ROUNDS=$2; shift 2;;
    --big-mib) BIG=$2; shift 2;;
    --smoke) SMOKE=1; ROUNDS=1; BIG=4; SMALL=200; shift;;
    --rt) RT="chrt -f 30"; shift;;
    *) echo "usage: bench/run.sh [--rounds N] [--big-mib N] [--smoke] [--rt]" >&2; exit 2;;
    esac
done

if [ -n "$RT" ] && ! chrt -f 30 true 2>/dev/null; then
    echo "# --rt: SCHED_FIFO not permitted here; measuring without it" >&2
    RT=""
fi
NCPU=$(nproc)

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
$RT docker-registry serve "$W/reg/config.yml" > "$W/reg/log" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 100); do grep -q 'listening on' "$W/reg/log" && break; sleep 0.1; done
REG=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$W/reg/log" | head -1 | sed 's/listening on //')
[ -n "$REG" ] || { cat "$W/reg/log"; exit 1; }

echo "# coco-img benchmark  $(date -u +%FT%TZ)  $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB"
echo "# destination: $FSDESC; registry: docker-registry on $REG${RT:+; measured under $RT}"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
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
    $RT /usr/bin/time -f "%e %U %S %M" -o "$W/time.out" "$@" > "$W/cmd.out" 2>&1 || {
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

# Where coco-img's time goes: one extra run of each job with --stats.
# stats_run JOB COMMAND ARGS...: coco-img COMMAND --stats --output json
# ARGS; the report into $W/stats-JOB.json, the times into $W/stats-JOB.time
stats_run() {
    local job=$1 sub=$2; shift 2
    sync
    $RT /usr/bin/time -f "%e %U %S %M" -o "$W/stats-$job.time" \
        "$COCO" "$sub" --stats --output json "$@" \
        > "$W/stats-$job.json" 2> "$W/stats-$job.err" || {
        echo "  (stats run of $job failed: $(tail -1 "$W/stats-$job.err"))"; }
}
stats_run unpack-model unpack -q --tls-verify=false --decryption-key "$W/priv.pem" \
    "docker://$REG/bench/model:enc" "$FS/rootfs"
rm -rf "$FS/rootfs"
stats_run unpack-tree unpack -q --tls-verify=false --decryption-key "$W/priv.pem" \
    "docker://$REG/bench/tree:enc" "$FS/rootfs"
rm -rf "$FS/rootfs"
stats_run encrypt-model encrypt -q --encryption-key "jwe:$W/pub.pem" \
    "oci:$W/model:latest" "oci:$FS/enc2:latest"
rm -rf "$FS/enc2"

echo "# medians and ratios (skopeo+umoci / coco-img; higher is better):"
/usr/bin/python3 - "$RES" "$NCPU" "$W" <<'PY'
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

# Distance from the physical limit (coco-img, from its --stats run).
ncpu, wdir = int(sys.argv[2]), sys.argv[3]
print("# coco-img per-stage times (--stats run) and the physical limit on %d cores:" % ncpu)
print("#   stages: wall time inside each stage, summed over threads; limit = stage")
print("#   sum / cores (perfect overlap); cpu/cores = process CPU time / cores")
import json, os
for job in ("unpack-model", "unpack-tree", "encrypt-model"):
    p = os.path.join(wdir, "stats-%s.json" % job)
    try:
        t = open(p).read()
        st = json.loads(t[:t.rindex("}") + 1]).get("stats", {})
        wall_s, usr, sys_, _ = open(os.path.join(wdir, "stats-%s.time" % job)).read().split()[-4:]
    except Exception as e:
        print("  %-14s (no stats: %s)" % (job, e))
        continue
    def g(k):
        return st.get(k + "_ns", st.get(k, 0)) / 1e9
    names = ("network", "digest", "decrypt", "encrypt", "decompress", "write")
    parts = ["%s %.2f" % (n, g(n)) for n in names if g(n) > 0]
    busy = sum(g(n) for n in names)
    cpu = float(usr) + float(sys_)
    wall = med(job + "-coco", 0) if job + "-coco" in rows else float(wall_s)
    lim = busy / ncpu
    print("  %-14s %s" % (job, ", ".join(parts)))
    print("  %-14s stage sum %.2fs -> limit %.2fs; cpu %.2fs -> cpu/cores %.2fs; median wall %.2fs"
          " = x%.2f the stage limit, x%.2f cpu/cores" %
          ("", busy, lim, cpu, cpu / ncpu, wall, wall / max(lim, 1e-9), wall / max(cpu / ncpu, 1e-9)))
PY
