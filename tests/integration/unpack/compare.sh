#!/bin/bash
# The rootfs coco-img makes equals umoci's for images with whiteouts, opaque
# directories, hardlinks, symlinks, fifos, ownership and modes, for each
# compression, and for layers written by umoci itself (no end blocks).
. "$TOP_SRCDIR/tests/lib/common.sh"
CANON="$PY $TOP_SRCDIR/tests/integration/unpack/canon.py"
if [ "$(id -u)" -eq 0 ]; then UMOCI_FLAGS=""; CANON_FLAGS=""; else UMOCI_FLAGS="--rootless"; CANON_FLAGS="--no-owner"; fi

L1='d:etc,f:etc/passwd=root:x:0:0,f:etc/group=root:x:0,m:4755,f:bin/su=su,m:2755,f:bin/sg=sg,m:1777,d:tmp,m:0755,d:usr,d:usr/lib,l:lib=usr/lib,f:usr/lib/libc.so=libc,h:usr/lib/libc.so.6=usr/lib/libc.so,h:libc-root=usr/lib/libc.so,p:run/fifo,o:1000:1000,d:home/user,m:0600,f:home/user/.profile=p,o:0:0,m:0755,d:opt/app,f:opt/app/a=a,d:opt/app/sub,f:opt/app/sub/deep=d,f:opt/app/b=b,d:var,l:var/run=/run,f:rm/me=x,f:rm/keep=k,d:rmdir,f:rmdir/x=x,m:0700,d:private,f:private/f=f,m:0755,f:shared=s,h:shared2=shared,d:dir2file,f:dir2file/x=x,f:file2dir=f,l:link2dir=etc'
L2='f:lib/new.so=new,f:opt/app/c=c,f:opt/app/.wh..wh..opq,f:rm/.wh.me,f:.wh.rmdir,o:5:6,m:0640,f:etc/passwd=changed,o:0:0,m:0555,d:etc,m:0644,f:var/run/pid=1,f:shared=new-shared,f:dir2file=nowfile,d:file2dir,f:file2dir/in=in,d:link2dir,f:samelayer=s,f:.wh.samelayer,f:.wh.nothing'
L3='f:usr/lib/.wh.libc.so,m:0444,f:readonly=r,m:0755,d:opt/app/sub,f:opt/app/sub/new=n'

compare() { # NAME IMAGE-REF(oci:DIR:TAG) umoci-image(DIR:TAG)
    rm -rf "$T/c-$1" "$T/u-$1"
    "$COCO_IMG" unpack -q "$2" "$T/c-$1" || return 1
    umoci unpack $UMOCI_FLAGS --image "$3" "$T/u-$1" >/dev/null 2>"$T/umoci.err" || { cat "$T/umoci.err"; return 1; }
    $CANON "$T/c-$1" $CANON_FLAGS > "$T/c-$1.txt"
    $CANON "$T/u-$1/rootfs" $CANON_FLAGS > "$T/u-$1.txt"
    diff -u "$T/u-$1.txt" "$T/c-$1.txt"
}
for comp in gzip zstd none; do
    mkimage "$T/img-$comp:t" --compress $comp --layer "$L1" --layer "$L2" --layer "$L3" >/dev/null
done
# umoci 0.4.7 reads neither zstd layers nor Docker manifests: compare those
# with umoci's result for the same layers in an OCI gzip image
for comp in gzip zstd none; do
    check "same tree as umoci ($comp)" compare $comp "oci:$T/img-$comp:t" "$T/img-gzip:t"
done
mkimage "$T/img-docker:t" --docker --layer "$L1" --layer "$L2" >/dev/null
mkimage "$T/img-docker-ref:t" --layer "$L1" --layer "$L2" >/dev/null
check "same tree as umoci (docker media types)" compare docker "oci:$T/img-docker:t" "$T/img-docker-ref:t"

# umoci insert writes layers without padding/end blocks (spec 10.x)
cp -r "$T/img-gzip" "$T/img-umoci"
mkdir -p "$T/ins/sub"; printf 'odd-sized\n' > "$T/ins/sub/file"; printf 'x%.0s' $(seq 1 1049) > "$T/ins/big"
umoci insert --image "$T/img-umoci:t" "$T/ins" /inserted >/dev/null 2>&1
check "umoci-inserted layer (no end blocks)" compare umoci "oci:$T/img-umoci:t" "$T/img-umoci:t"
check "inserted content" test "$(cat "$T/c-umoci/inserted/sub/file")" = odd-sized

# spot checks on the coco-img tree
R="$T/c-gzip"
check "setuid kept"           test "$(stat -c %a "$R/bin/su")" = 4755
check "sticky kept"           test "$(stat -c %a "$R/tmp")" = 1777
check "write through lib -> usr/lib" test -f "$R/usr/lib/new.so"
check "absolute symlink re-rooted"   test -f "$R/run/pid"
check "opaque dir"            test "$(ls "$R/opt/app" | tr '\n' ' ')" = "c sub "
check "whiteouts"             test ! -e "$R/rm/me" -a -e "$R/rm/keep" -a ! -e "$R/rmdir"
check "same-layer whiteout spares" test -f "$R/samelayer"
check "hardlink shares inode" test "$(stat -c %i "$R/usr/lib/libc.so.6")" = "$(stat -c %i "$R/libc-root")"
check "fifo"                  test -p "$R/run/fifo"
if [ "$(id -u)" -eq 0 ]; then
    check "ownership"         test "$(stat -c %u:%g "$R/home/user/.profile")" = 1000:1000
fi
# unprivileged (as nobody): read-only and search-only directories of lower
# layers still take whiteouts and new entries; modes are restored at the end
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
    NB="setpriv --reuid=65534 --regid=65534 --clear-groups"
    RL1='m:0555,d:ro,m:0444,f:ro/f=f,m:0755,d:w,f:w/x=x,m:0700,d:priv,f:priv/p=p,p:fifo,m:0111,d:xonly,m:0644,f:xonly/in=i,m:4755,f:suid=s'
    RL2='f:ro/.wh.f,f:ro/g=g,f:priv/q=q,f:.wh.w,f:xonly/new=n,m:0000,d:zero,f:zero/z=z'
    chmod 755 "$T"; mkdir -p "$T/nb"; chown 65534 "$T/nb"
    mkimage "$T/rl:t" --layer "$RL1" --layer "$RL2" >/dev/null; chmod -R a+rX "$T/rl"
    rootless_same() {
        $NB "$COCO_IMG" unpack -q "oci:$T/rl:t" "$T/nb/c" || return 1
        $NB env HOME="$T/nb" umoci unpack --rootless --image "$T/rl:t" "$T/nb/u" >/dev/null 2>&1 || return 1
        $CANON "$T/nb/c" --no-owner > "$T/nb-c.txt"; $CANON "$T/nb/u/rootfs" --no-owner > "$T/nb-u.txt"
        diff -u "$T/nb-u.txt" "$T/nb-c.txt"
    }
    check "rootless: same tree as umoci --rootless" rootless_same
    chmod -R u+rwx "$T/nb" 2>/dev/null
fi

check "json report" sh -c "\"$COCO_IMG\" unpack --output json --stats oci:$T/img-zstd:t $T/json-root > $T/report.json"
check "report fields" $PY -c "
import json; j=json.load(open('$T/report.json'))
assert j['manifest_digest'].startswith('sha256:') and len(j['layers']) == 3
assert all(l['diff_id'].startswith('sha256:') for l in j['layers'])
assert set(j['stats']) >= {'network_ns','digest_ns','decrypt_ns','decompress_ns','write_ns'}"
finish
