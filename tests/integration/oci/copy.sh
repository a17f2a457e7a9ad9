#!/bin/bash
# copy between oci: and oci-archive:, digests compared with the source and
# with what skopeo writes for the same copy; inspect text and JSON.
. "$TOP_SRCDIR/tests/lib/common.sh"
C=$COCO_IMG
SRC_DG=$(mkimage "$T/src:v1" --layer 'd:etc,f:etc/a=hello\n' --layer 'r:big=2000000' --compress gzip)
mkimage "$T/dk" --docker --layer 'f:x=docker\n' >/dev/null

entry() { json_get "$1/index.json" "[m['digest'] for m in j['manifests'] if m.get('annotations',{}).get('org.opencontainers.image.ref.name')=='$2'][0]"; }
same_tree() { diff -r "$1/blobs" "$2/blobs" >/dev/null; }

check "oci -> oci" "$C" copy -q "oci:$T/src:v1" "oci:$T/d1:t"
check "manifest digest preserved" test "$(entry "$T/d1" t)" = "$SRC_DG"
check "oci-layout written" grep -q imageLayoutVersion "$T/d1/oci-layout"
check "skopeo oci -> oci" $SKOPEO copy -q "oci:$T/src:v1" "oci:$T/s1:t"
check "same blobs as skopeo" same_tree "$T/d1" "$T/s1"
check "same digest as skopeo" test "$(entry "$T/d1" t)" = "$(entry "$T/s1" t)"
check "no temp files left" test -z "$(find "$T/d1" -name '.tmp*')"

check "json report" sh -c "'$C' copy --output json 'oci:$T/src:v1' 'oci:$T/d1:t' > '$T/rep.json'"
check "report: manifest digest" test "$(json_get "$T/rep.json" "j['manifest_digest']")" = "$SRC_DG"
check "report: layers skipped on re-copy" test "$(json_get "$T/rep.json" "all(l['skipped'] for l in j['layers'])")" = True
check "report: nothing copied again" test "$(json_get "$T/rep.json" "j['bytes_copied']")" = 0
check "stats" sh -c "'$C' copy --output json --stats 'oci:$T/src:v1' 'oci:$T/d2' > '$T/st.json'"
check "stats fields" test "$(json_get "$T/st.json" "sorted(j['stats'])")" = "['decompress_ns', 'decrypt_ns', 'digest_ns', 'network_ns', 'total_ns', 'write_ns']"
check "untagged destination entry" test "$(json_get "$T/d2/index.json" "'annotations' in j['manifests'][0]")" = False
check "human summary" sh -c "'$C' copy 'oci:$T/src:v1' 'oci:$T/d3:x' | grep -q 'sha256:'"

# adding to an existing layout; re-tagging moves the name
check "second tag in the same layout" "$C" copy -q "oci:$T/dk" "oci:$T/d1:other"
check "both tags present" test "$(json_get "$T/d1/index.json" "len(j['manifests'])")" = 2
check "original tag still readable" "$C" inspect "oci:$T/d1:t"

# Docker schema2 source converted to OCI exactly as skopeo does
check "docker schema2 -> oci" "$C" copy -q "oci:$T/dk" "oci:$T/dk1:t"
check "skopeo docker schema2 -> oci" $SKOPEO copy -q "oci:$T/dk" "oci:$T/dk2:t"
check "converted manifest digest equals skopeo's" test "$(entry "$T/dk1" t)" = "$(entry "$T/dk2" t)"
check "converted blobs equal skopeo's" same_tree "$T/dk1" "$T/dk2"
check "converted media type" test "$(json_get "$T/dk1/index.json" "j['manifests'][0]['mediaType']")" = application/vnd.oci.image.manifest.v1+json

# oci-archive round trips
check "oci -> oci-archive" "$C" copy -q "oci:$T/src:v1" "oci-archive:$T/a.tar:v1"
check "archive members" sh -c "tar tf '$T/a.tar' | grep -qx oci-layout && tar tf '$T/a.tar' | grep -qx index.json && tar tf '$T/a.tar' | grep -q '^blobs/sha256/'"
check "no working files next to the archive" test -z "$(ls -A "$T" | grep -e '^\.a\.tar' -e 'a\.tar\.tmp')"
check "oci-archive -> oci" "$C" copy -q "oci-archive:$T/a.tar:v1" "oci:$T/rt:v1"
check "round trip keeps the digest" test "$(entry "$T/rt" v1)" = "$SRC_DG"
check "round trip keeps the blobs" same_tree "$T/rt" "$T/s1"
check "skopeo reads our archive" $SKOPEO copy -q "oci-archive:$T/a.tar:v1" "oci:$T/sk-rt:v1"
check "skopeo sees the same digest" test "$(entry "$T/sk-rt" v1)" = "$SRC_DG"
check "skopeo writes an archive" $SKOPEO copy -q "oci:$T/src:v1" "oci-archive:$T/s.tar:v1"
check "we read skopeo's archive" "$C" copy -q "oci-archive:$T/s.tar:v1" "oci:$T/from-sk:v1"
check "digest from skopeo's archive" test "$(entry "$T/from-sk" v1)" = "$SRC_DG"
check "oci-archive -> oci-archive" "$C" copy -q "oci-archive:$T/a.tar:v1" "oci-archive:$T/b.tar"
check "archive replaced atomically" "$C" copy -q "oci:$T/dk" "oci-archive:$T/b.tar:x"
check "replaced archive holds one image" test "$("$C" inspect --output json "oci-archive:$T/b.tar" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["manifest_media_type"])')" = application/vnd.oci.image.manifest.v1+json
# the destination through a symbolic link: the file it names is written,
# the link stays; a node that is not a regular file is refused untouched
mkdir -p "$T/arch" && echo old > "$T/arch/real.tar" && mkfifo "$T/arch/fifo"
ln -s "$T/arch/real.tar" "$T/arch/link.tar" && ln -s "$T/arch/missing.tar" "$T/arch/dangling.tar"
check "oci-archive through a symlink" "$C" copy -q "oci:$T/src:v1" "oci-archive:$T/arch/link.tar:v1"
check "symlink: still a link, the target holds the archive" sh -c "test -L '$T/arch/link.tar' && test -s '$T/arch/real.tar'"
check "symlink: the archive reads back" sh -c "'$C' inspect 'oci-archive:$T/arch/real.tar:v1' | grep -q '$SRC_DG'"
not_regular() {
    "$C" copy -q "oci:$T/src:v1" "oci-archive:$1:v1" 2> "$T/nr.err" && return 1
    cat "$T/nr.err"; grep -q "not a regular file" "$T/nr.err"
}
check "oci-archive onto a pipe is refused" not_regular "$T/arch/fifo"
check "oci-archive through a link to nothing is refused" sh -c "! '$C' copy -q 'oci:$T/src:v1' 'oci-archive:$T/arch/dangling.tar:v1' && test -L '$T/arch/dangling.tar'"
check "the pipe is still a pipe, nothing left beside it" sh -c "test -p '$T/arch/fifo' && test \"\$(ls -A '$T/arch' | wc -l)\" -eq 4"
# a private device node (root only), never the system's /dev/null
if mknod "$T/null" c 1 3 2>/dev/null; then
    check "oci-archive onto a device is refused" not_regular "$T/null"
    check "the device is still a device" test -c "$T/null"
fi

# inspect
check "inspect text" sh -c "'$C' inspect 'oci:$T/src:v1' | grep -q '^Digest: *$SRC_DG'"
check "inspect text platform" sh -c "'$C' inspect 'oci:$T/src:v1' | grep -q '^Platform: *linux/amd64'"
check "inspect json" sh -c "'$C' inspect --output json 'oci:$T/src:v1' > '$T/i.json'"
check "inspect json fields" test "$(json_get "$T/i.json" "(j['manifest_digest'], len(j['layers']), j['config']['os'], j['layers'][0]['encrypted'], j['config']['cmd'])")" = "('$SRC_DG', 2, 'linux', False, ['/bin/sh'])"
check "inspect archive" sh -c "'$C' inspect 'oci-archive:$T/a.tar:v1' | grep -q '$SRC_DG'"
check "inspect by position" sh -c "'$C' inspect 'oci:$T/d1:@1' | grep -q MediaType"
finish
