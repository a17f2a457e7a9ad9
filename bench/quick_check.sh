#!/bin/bash
# CI check of the benchmark harness: bench/run.sh --quick (tiny images,
# one round; its numbers mean nothing) must succeed and print every line
# of its summary.
out=$(bash "$(dirname "$0")/run.sh" --quick 2>&1)
rc=$?
echo "$out"
[ "$rc" = 0 ] || { echo "bench/run.sh --quick exited $rc"; exit 1; }
missing=0
for want in "sources, registry storage, destinations:" \
    "unpack-model-coco" "unpack-tree-coco" "unpack-small-skopeo" "unpack-small-coco" \
    "encrypt-model-coco" "push-model-plain" "push-model-encrypting" "verify-keyless-coco" \
    "unpack-model   wall" "unpack-tree    wall" "unpack-small   wall" "encrypt-model  wall" \
    "unpack-small, coco-img wall" "encrypting push / plain push" "keyless verification" \
    "coco-img version" "# result:" "process start (exec to main)" "library init" \
    "key parsing" "registry ping" "manifest round trip" "config + layers fetched" \
    "layers applied" "second unpack, warm context" "through the CLI" \
    "cli-unpack-small threads=" "lib-unpack-small threads=" "dynamic loader, coco-img version" \
    "stage sum"; do
    grep -qF -- "$want" <<< "$out" || { echo "missing line: $want"; missing=1; }
done
exit $missing
