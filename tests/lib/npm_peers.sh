# npm packages used as independent peers by the integration tests
# (sourced after common.sh).  They are installed by the test itself, at
# pinned versions, outside the source tree: under $COCO_TEST_NPM_DIR
# (default ${XDG_CACHE_HOME:-$HOME/.cache}/coco-img-tests/npm), one
# directory per set, reused by later runs.  Needs node and npm (Debian's
# nodejs package) and the npm registry the first time.
#
# sigstore_js_peer: @sigstore/verify 2.1.1 (the newest release that runs on
# Debian 12's nodejs 18: 3.x needs node 20.17, 4.x node 22) with its
# dependencies pinned; sets NM to their node_modules, and
# NV ARGS... runs tests/lib/sigstore_verify.js with them.  When they cannot
# be installed, the test ends with a failed check.
#
# npm_peer NAME PKG@VERSION... : prints the set's node_modules directory,
# installing it first when missing; non-zero (npm's output on stderr) when
# it cannot be installed.
npm_peer() {
    _set=$1; shift
    _root=${COCO_TEST_NPM_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/coco-img-tests/npm}
    _dir=$_root/$_set
    mkdir -p "$_root" || return 1
    (
        flock 9
        if [ ! -f "$_dir/.installed" ]; then
            rm -rf "$_dir" && mkdir -p "$_dir" &&
            printf '{"name":"coco-img-test-peers","private":true}\n' > "$_dir/package.json" &&
            timeout 600 npm install --prefix "$_dir" --no-audit --no-fund --ignore-scripts \
                --save-exact --loglevel=error "$@" >&2 &&
            touch "$_dir/.installed"
        fi
    ) 9>"$_root/.$_set.lock" || return 1
    echo "$_dir/node_modules"
}

sigstore_js_peer() {
    if ! NM=$(npm_peer sigstore-verify-2.1.1 @sigstore/verify@2.1.1 @sigstore/bundle@3.1.0 \
              @sigstore/core@2.0.0 @sigstore/protobuf-specs@0.4.3); then
        check "install @sigstore/verify 2.1.1 from npm" false
        finish; exit
    fi
}
NV() { node "$LIB/sigstore_verify.js" "$NM" "$@"; }
