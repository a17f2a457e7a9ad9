#!/bin/bash
# Benchmark: coco-img against skopeo + umoci on a loopback docker-registry.
#
#   bench/run.sh [--rounds N] [--big-mib N] [--quick] [--rt]
#
# Builds a release coco-img (build-bench/), makes three images (a "model"
# image: a large incompressible file + 15k small files; a "tree" image: a
# compiler installation, compressible binaries, gzip; a "small" image of
# the demo's size, ~1.4 MB: a busybox-like base layer + an application
# layer), encrypts them with skopeo (JWE, RSA) into a loopback registry,
# then alternates, round after round:
#   unpack : skopeo copy --decryption-key + umoci unpack   vs  coco-img unpack
#   encrypt: skopeo copy --encryption-key (oci -> oci)     vs  coco-img encrypt
#   push   : coco-img encrypt oci -> registry  vs  coco-img copy oci -> registry
#            (an encrypting push against a plain push of the same image)
#   verify : coco-img verify of a keyless-signed image (Fulcio certificate,
#            Rekor SET; the setup of tests/integration/trust/keyless_registry)
# Source layouts, registry storage and destinations are on one tmpfs (a
# fresh mount when permitted, else /dev/shm, else disk, said in the
# header), like a TEE guest that unpacks into RAM.  Prints wall, CPU
# (user+sys) and peak RSS of each run, the medians, and the ratios.
# Then the small image's breakdown: where its milliseconds go (process
# start, library init, key parsing, registry round trips, layers), from
# bench/podstart (a program linking the library, with the library's debug
# log time-stamped), and counters from strace (threads started, TCP
# connections, TLS handshakes, spool files, shared libraries).
#
# --quick (or --smoke): tiny images, one round: checks the harness works and
#       prints every line (CI runs this; its numbers mean nothing).
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
    --smoke|--quick) SMOKE=1; ROUNDS=1; BIG=4; SMALL=200; shift;;
    --rt) RT="chrt -f 30"; shift;;
    *) echo "usage: bench/run.sh [--rounds N] [--big-mib N] [--quick] [--rt]" >&2; exit 2;;
    esac
done

if [ -n "$RT" ] && ! chrt -f 30 true 2>/dev/null; then
    echo "# --rt: SCHED_FIFO not permitted here; measuring without it" >&2
    RT=""
fi
NCPU=$(nproc)

if [ -n "${COCO_IMG:-}" ]; then
    COCO=$COCO_IMG
    PODSTART=${COCO_PODSTART:-$(dirname "$COCO")/../bench/podstart}
else
    scripts/install-deps.sh
    [ -f build-bench/build.ninja ] || meson setup build-bench -Dbuildtype=release -Dtests=false -Dwerror=false >/dev/null
    ninja -C build-bench >/dev/null
    COCO=$TOP/build-bench/cli/coco-img
    PODSTART=$TOP/build-bench/bench/podstart
fi

# Everything (sources, registry storage, destinations) on one tmpfs: a
# fresh mount when permitted, else /dev/shm when it has room, else disk.
NEED_GIB=$(( SMOKE ? 1 : (BIG * 6 / 1024 + 4) ))
PIDS=""
MNT=""
TOPW=$(mktemp -d /var/tmp/coco-bench.XXXXXX)
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    for p in $PIDS; do wait "$p" 2>/dev/null || true; done
    rm -rf "$W" 2>/dev/null || true
    [ -n "$MNT" ] && umount "$MNT" 2>/dev/null || true
    rm -rf "$TOPW"
}
trap cleanup EXIT
W="$TOPW"
if mount -t tmpfs -o size=${NEED_GIB}g tmpfs "$TOPW" 2>/dev/null; then
    MNT=$TOPW
    FSDESC="one fresh tmpfs mount (${NEED_GIB} GiB)"
elif [ "$(df -k --output=avail /dev/shm 2>/dev/null | tail -1)" -gt $((NEED_GIB * 1024 * 1024)) ] 2>/dev/null; then
    W=$(mktemp -d /dev/shm/coco-bench.XXXXXX)
    FSDESC="/dev/shm (tmpfs; mount not permitted)"
else
    FSDESC="DISK $TOPW (no tmpfs mount permitted and /dev/shm too small: times include the disk)"
fi
FS="$W/fs"
mkdir -p "$FS"

# Registry on loopback, storage on the same tmpfs.
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
echo "# sources, registry storage, destinations: $FSDESC; registry: docker-registry on $REG${RT:+; measured under $RT}"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# coco-img: $($COCO version | head -1); $(skopeo --version); umoci $(umoci --version | awk '{print $3}')"

POL="$W/policy.json"
echo '{"default":[{"type":"insecureAcceptAnything"}]}' > "$POL"
SKOPEO="skopeo --policy $POL"
openssl genrsa -out "$W/priv.pem" 2048 2>/dev/null
openssl rsa -in "$W/priv.pem" -pubout -out "$W/pub.pem" 2>/dev/null

# A keyless-signed image (issue #12's "verification of a keyless image on
# a loopback registry stays under 100 ms"): the setup of
# tests/integration/trust/keyless_registry.sh, our own Fulcio CA, Rekor and
# CT keys (tests/lib/mini_sigstore.py), the cosign legacy signature pushed
# as cosign lays it out (tests/lib/push_sig.py).
keyless_setup() {
    local K="$W/keyless" d
    mkdir -p "$K/regd"
    /usr/bin/python3 tests/lib/mkimage.py "$K/img:v1" >/dev/null
    $SKOPEO copy -q --dest-tls-verify=false "oci:$K/img:v1" "docker://$REG/keyless/good:v1"
    d=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG/keyless/good:v1")
    skopeo inspect --tls-verify=false --raw "docker://$REG/keyless/good:v1" > "$K/manifest.json"
    /usr/bin/python3 tests/lib/mini_sigstore.py legacy "$K/ms" "$d" "$REG" "$K/manifest.json" >/dev/null
    /usr/bin/python3 tests/lib/push_sig.py "$REG" "$d" "$K/ms/sig-good.json" >/dev/null
    printf 'default-docker:\n  use-sigstore-attachments: true\n' > "$K/regd/default.yaml"
    printf '{"default":[{"type":"reject"}],"transports":{"docker":{"":[{"type":"sigstoreSigned","fulcio":{"caPath":"%s","oidcIssuer":"https://issuer.example.com","subjectEmail":"dev@example.com"},"rekorPublicKeyPath":"%s","signedIdentity":{"type":"matchRepository"}}]}}}\n' \
        "$K/ms/fulcio-root.pem" "$K/ms/rekor.pub" > "$K/policy.json"
    KEYLESS_VERIFY="$COCO verify --tls-verify=false --registries.d $K/regd --policy $K/policy.json docker://$REG/keyless/good:v1"
    $KEYLESS_VERIFY >/dev/null || { echo "keyless verification failed in the setup" >&2; exit 1; }
}

echo "# building images..."
/usr/bin/python3 bench/mkbench.py model "$W/model" --big-mib "$BIG" --small "$SMALL"
if [ "$SMOKE" = 1 ]; then
    /usr/bin/python3 bench/mkbench.py tree "$W/tree" /usr/share/doc/skopeo
else
    /usr/bin/python3 bench/mkbench.py tree "$W/tree" /usr/lib/llvm-14 /usr/lib/gcc
fi
/usr/bin/python3 bench/mkbench.py small "$W/small"
for img in model tree small; do
    $SKOPEO copy -q --dest-tls-verify=false --encryption-key "jwe:$W/pub.pem" \
        "oci:$W/$img:latest" "docker://$REG/bench/$img:enc"
    echo "# $img: $(du -sh "$W/$img/blobs" | cut -f1) of blobs"
done
keyless_setup

RES="$W/results"
: > "$RES"
# measure LABEL CMD... : run with /usr/bin/time, append "LABEL wall cpu rss_kib"
# (wall from the shell's microsecond clock; cpu and rss from time(1), whose
# cpu times have 10 ms steps)
measure() {
    local label=$1; shift
    sync
    local t0=$EPOCHREALTIME
    $RT /usr/bin/time -f "%e %U %S %M" -o "$W/time.out" "$@" > "$W/cmd.out" 2>&1 || {
        echo "FAILED: $label: $*" >&2; cat "$W/cmd.out" >&2; return 1; }
    local t1=$EPOCHREALTIME
    read -r wall usr sys rss < "$W/time.out"
    # time(1)'s wall clock has 10 ms steps: the shell's clock instead
    wall=$(echo "${t1/,/.} - ${t0/,/.}" | bc)
    echo "$label $wall $(echo "$usr + $sys" | bc) $rss" >> "$RES"
    printf '  %-22s wall %8.3fs  cpu %7.2fs  rss %7.1f MiB\n' "$label" "$wall" \
        "$(echo "$usr + $sys" | bc)" "$(echo "$rss / 1024" | bc -l)"
}
# The skopeo+umoci pair is one run: time both under one shell.
pair_cmd() {
    echo "$SKOPEO copy -q --src-tls-verify=false --decryption-key $W/priv.pem \
        docker://$REG/bench/$1:enc oci:$FS/oci:latest && \
        umoci unpack --image $FS/oci:latest $FS/bundle >/dev/null"
}

# push JOB CMD...: a measured push into a fresh repository, then its blobs
# leave the registry's storage again (the tmpfs holds one copy at a time)
push_measure() {
    local before="$W/blobs.before"
    ls "$W/reg/data/docker/registry/v2/blobs/sha256/"*/ > "$before" 2>/dev/null || true
    measure "$@"
    ls "$W/reg/data/docker/registry/v2/blobs/sha256/"*/ 2>/dev/null | sort |
        comm -13 <(sort "$before") - | while read -r d; do
            [ -n "$d" ] && rm -rf "$W/reg/data/docker/registry/v2/blobs/sha256/${d:0:2}/$d"
        done
    rm -rf "$W/reg/data/docker/registry/v2/repositories/bench/push-"*
}

for r in $(seq "$ROUNDS"); do
    echo "# round $r"
    for img in model tree small; do
        rm -rf "$FS/oci" "$FS/bundle"
        measure "unpack-$img-skopeo" bash -c "$(pair_cmd "$img")"
        rm -rf "$FS/oci" "$FS/bundle"
        measure "unpack-$img-coco" "$COCO" unpack -q --tls-verify=false \
            --decryption-key "$W/priv.pem" "docker://$REG/bench/$img:enc" "$FS/rootfs"
        rm -rf "$FS/rootfs"
    done
    measure "version-coco" "$COCO" version
    rm -rf "$FS"/pod.*
    $RT "$PODSTART" --t0 "$EPOCHREALTIME" --repeat 2 --set tls-verify=false \
        "docker://$REG/bench/small:enc" "$FS/pod" "$W/priv.pem" > "$W/pod-$r.txt" 2>&1 || {
        echo "FAILED: podstart"; cat "$W/pod-$r.txt"; exit 1; }
    rm -rf "$FS"/pod.*
    measure "encrypt-model-skopeo" $SKOPEO copy -q --encryption-key "jwe:$W/pub.pem" \
        "oci:$W/model:latest" "oci:$FS/enc1:latest"
    rm -rf "$FS/enc1"
    measure "encrypt-model-coco" "$COCO" encrypt -q --encryption-key "jwe:$W/pub.pem" \
        "oci:$W/model:latest" "oci:$FS/enc2:latest"
    rm -rf "$FS/enc2"
    push_measure "push-model-plain" "$COCO" copy -q --dest-tls-verify=false \
        "oci:$W/model:latest" "docker://$REG/bench/push-plain$r:v1"
    push_measure "push-model-encrypting" "$COCO" encrypt -q --dest-tls-verify=false \
        --encryption-key "jwe:$W/pub.pem" "oci:$W/model:latest" "docker://$REG/bench/push-enc$r:v1"
    measure "verify-keyless-coco" $KEYLESS_VERIFY
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

# Counters of the small image's unpack, which load does not distort: the
# threads started, TCP connections, TLS handshakes (ClientHello records),
# spool files (O_TMPFILE), shared objects loaded (strace, one untimed run
# each), the requests the registry served (its log), and the dynamic
# loader's own statistics for `coco-img version`.
# counters LABEL CMD...: one line "LABEL key=value ..." into $W/counters
: > "$W/counters"
counters() {
    local label=$1; shift
    local n0 n1
    n0=$(grep -c 'response completed' "$W/reg/log" || true)
    # (an ASan build's LeakSanitizer cannot run under ptrace)
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
        strace -f -qq -e trace=clone,clone3,connect,openat,sendto,sendmsg -o "$W/strace.out" "$@" \
        > /dev/null 2>&1 || { echo "  (counters of $label failed)"; return 0; }
    n1=$(grep -c 'response completed' "$W/reg/log" || true)
    echo "$label threads=$(grep -cE '^[0-9]+ +clone3?\(' "$W/strace.out")" \
        "connections=$(grep -c ' connect(.*AF_INET' "$W/strace.out")" \
        "tls_handshakes=$(grep -cE 'send(to|msg)\([0-9]+, "\\26\\3' "$W/strace.out")" \
        "spool_files=$(grep -c 'O_TMPFILE' "$W/strace.out")" \
        "shared_objects=$(grep -cE 'openat\(.*\.so[.0-9]*", O_RDONLY\|O_CLOEXEC\) = [0-9]' "$W/strace.out")" \
        "registry_requests=$((n1 - n0))" >> "$W/counters"
}
if command -v strace >/dev/null; then
    rm -rf "$FS/rootfs"
    counters cli-unpack-small "$COCO" unpack -q --tls-verify=false --decryption-key "$W/priv.pem" \
        "docker://$REG/bench/small:enc" "$FS/rootfs"
    rm -rf "$FS/rootfs" "$FS"/pod.*
    counters lib-unpack-small "$PODSTART" --set tls-verify=false \
        "docker://$REG/bench/small:enc" "$FS/pod" "$W/priv.pem"
    rm -rf "$FS"/pod.*
    counters cli-version "$COCO" version
else
    echo "cli-unpack-small (strace not installed: no counters)" >> "$W/counters"
fi
LD_DEBUG=statistics "$COCO" version 2> "$W/ld.stats" > /dev/null || true

echo "# medians and ratios (skopeo+umoci / coco-img; higher is better):"
/usr/bin/python3 - "$RES" "$NCPU" "$W" "$ROUNDS" <<'PY'
import sys, statistics, json, os, re
rows = {}
for line in open(sys.argv[1]):
    l, w, c, r = line.split()
    rows.setdefault(l, []).append((float(w), float(c), int(r)))
ncpu, wdir, rounds = int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
def med(l, i):
    return statistics.median(x[i] for x in rows[l])
# issue #15's targets: ratio of medians, and coco-img's peak RSS
targets = {"unpack-model": 10.0, "unpack-tree": 6.0, "unpack-small": 10.0, "encrypt-model": 8.0}
ok = True
for job, tgt in targets.items():
    a, b = job + "-skopeo", job + "-coco"
    if a not in rows or b not in rows:
        continue
    wr = med(a, 0) / max(med(b, 0), 1e-9)
    cr = med(a, 1) / max(med(b, 1), 1e-9)
    rss = max(x[2] for x in rows[b]) / 1024
    flag = "meets" if wr >= tgt and rss < 32 else "BELOW"
    ok = ok and flag == "meets"
    print("  %-14s wall %7.3fs vs %7.3fs  x%5.2f (target x%.0f)  cpu x%5.2f  coco peak rss %5.1f MiB  %s" %
          (job, med(a, 0), med(b, 0), wr, tgt, cr, rss, flag))
def line(label, value, target, good):
    global ok
    ok = ok and good
    print("  %-40s %-26s %-18s %s" % (label, value, target, "meets" if good else "BELOW"))
if "unpack-small-coco" in rows:
    t = med("unpack-small-coco", 0)
    line("unpack-small, coco-img wall", "%.0f ms" % (t * 1e3), "(target < 50 ms)", t < 0.050)
if "push-model-plain" in rows and "push-model-encrypting" in rows:
    p, e = med("push-model-plain", 0), med("push-model-encrypting", 0)
    line("encrypting push / plain push (model)", "%.2fs / %.2fs = x%.2f" % (e, p, e / max(p, 1e-9)),
         "(target <= x1.15)", e / max(p, 1e-9) <= 1.15)
if "verify-keyless-coco" in rows:
    t = med("verify-keyless-coco", 0)
    line("keyless verification (loopback registry)", "%.0f ms (cpu %.0f ms)" %
         (t * 1e3, med("verify-keyless-coco", 1) * 1e3), "(target < 100 ms)", t < 0.100)
if "version-coco" in rows:
    print("  %-40s %.0f ms (cpu %.0f ms)" % ("coco-img version", med("version-coco", 0) * 1e3,
                                            med("version-coco", 1) * 1e3))
print("# result:", "all targets met" if ok else "some targets not met")

# Where the small image's milliseconds go (bench/podstart: a program that
# links the library; medians over the rounds; "warm" is a second unpack
# with the same context).
def pod_round(path):
    ev = []
    for l in open(path):
        m = re.match(r"^(-?[0-9.]+) (\S+)(?: (.*))?$", l.rstrip("\n"))
        if m:
            ev.append((float(m.group(1)), m.group(2), m.group(3) or ""))
    def first(kind, pat="", after=-1e9):
        for t, k, d in ev:
            if k == kind and t >= after and re.search(pat, d):
                return t
        return None
    t = {}
    t["main"], t["ctx"], t["key"] = first("main"), first("ctx"), first("key")
    u1, u2, end = first("unpack", "^1$"), first("unpack", "^2$"), first("end")
    ping = first("log", r"^registry \S+: http")
    man = first("log", r"/manifests/\S+: HTTP 2")
    gets = [x for x in ev if x[1] == "log" and re.search(r"/blobs/\S+: HTTP 2", x[2]) and x[0] <= u1]
    applied = [x[0] for x in ev if x[1] == "progress" and " apply " in x[2] and x[0] <= u1]
    r = {"process start (exec to main)": t["main"],
         "library init (cocoimg_ctx_new)": t["ctx"] - t["main"],
         "key parsing (RSA private key)": t["key"] - t["ctx"],
         "registry ping (connect, scheme probe)": ping - t["key"],
         "manifest round trip": man - ping,
         "config + layers fetched (last GET)": (max(g[0] for g in gets) if gets else man) - man,
         "layers applied (after the last GET)": max(applied + [u1]) - max([man] + [g[0] for g in gets]),
         "unpack total (cocoimg_unpack)": u1 - t["key"],
         "second unpack, warm context": (u2 - u1) if u2 else float("nan"),
         "teardown (frees)": end - (u2 or u1),
         "total (exec to end)": end}
    return r
pods = []
for i in range(1, rounds + 1):
    p = os.path.join(wdir, "pod-%d.txt" % i)
    try:
        pods.append(pod_round(p))
    except Exception as e:
        print("  (podstart round %d unreadable: %s)" % (i, e))
if pods:
    print("# small image (%s rounds): where the milliseconds go, through the library (bench/podstart):" % len(pods))
    for k in pods[0]:
        print("  %-44s %8.2f ms" % (k, statistics.median(p[k] for p in pods)))
if "unpack-small-coco" in rows and "version-coco" in rows:
    print("  %-44s %8.2f ms (of which `coco-img version`, exec to exit: %.2f ms)" %
          ("through the CLI: coco-img unpack, wall", med("unpack-small-coco", 0) * 1e3,
           med("version-coco", 0) * 1e3))
try:
    print("# counters (strace, registry log; load does not change them):")
    for l in open(os.path.join(wdir, "counters")):
        print("  " + l.rstrip())
    st = open(os.path.join(wdir, "ld.stats")).read()
    tot = re.search(r"total startup time in dynamic loader: (\d+) cycles", st)
    rel = re.search(r"time needed for relocation: (\d+) cycles", st)
    nrel = re.search(r"number of relocations: (\d+)", st)
    if tot:
        print("  dynamic loader, coco-img version: %.1f Mcycles startup (relocation %.1f Mcycles, %s relocations)" %
              (int(tot.group(1)) / 1e6, int(rel.group(1)) / 1e6 if rel else 0, nrel.group(1) if nrel else "?"))
except OSError as e:
    print("  (no counters: %s)" % e)

# Distance from the physical limit (coco-img, from its --stats run).
print("# coco-img per-stage times (--stats run) and the physical limit on %d cores:" % ncpu)
print("#   stages: wall time inside each stage, summed over threads; limit = stage")
print("#   sum / cores (perfect overlap); cpu/cores = process CPU time / cores")
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
