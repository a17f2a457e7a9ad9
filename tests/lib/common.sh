# Shared helpers for the integration tests (sourced by tests/integration/*.sh).
#
# Each test script is one meson test.  Inside, `check NAME CMD...` runs a
# sub-check and the script fails if any check failed.  Everything runs in a
# private temporary directory on loopback; servers started here are killed
# on exit.
set -u

: "${COCO_IMG:?COCO_IMG must point at the coco-img binary}"
: "${TOP_SRCDIR:?}"
PY=/usr/bin/python3            # Debian's interpreter (has grpcio, cryptography)
LIB="$TOP_SRCDIR/tests/lib"

T=$(mktemp -d "${TMPDIR:-/tmp}/coco-test.XXXXXX")
_PIDS=""
_FAILED=0
_PASSED=0
cleanup() {
    for p in $_PIDS; do kill "$p" 2>/dev/null; done
    for p in $_PIDS; do wait "$p" 2>/dev/null; done
    if [ "$_FAILED" -eq 0 ] || [ -z "${KEEP_TMP:-}" ]; then rm -rf "$T"; else echo "kept $T" >&2; fi
}
trap cleanup EXIT

# An insecure policy for skopeo so that it never reads /etc/containers.
printf '{"default":[{"type":"insecureAcceptAnything"}]}\n' > "$T/insecure-policy.json"
SKOPEO="skopeo --policy $T/insecure-policy.json --registries.d $T/no-registries.d"
mkdir -p "$T/no-registries.d"

# check NAME CMD... : run CMD, record pass/fail, show output on failure.
check() {
    _name=$1; shift
    if "$@" >"$T/check.out" 2>&1; then
        _PASSED=$((_PASSED + 1)); echo "ok - $_name"
    else
        _FAILED=$((_FAILED + 1)); echo "not ok - $_name"; sed 's/^/    /' "$T/check.out" | tail -40
    fi
}
# expect_rc RC CMD... : succeed iff CMD exits with RC.
expect_rc() {
    _want=$1; shift
    "$@"; _rc=$?
    if [ "$_rc" -ne "$_want" ]; then echo "exit status $_rc, wanted $_want" >&2; return 1; fi
    return 0
}
# finish: exit status for meson.
finish() {
    echo "# $_PASSED passed, $_FAILED failed"
    [ "$_FAILED" -eq 0 ]
}

# wait_for_log FILE REGEX [SECONDS] -> prints the first match
wait_for_log() {
    _i=0
    while [ $_i -lt $((${3:-10} * 20)) ]; do
        if _m=$(grep -o -E "$2" "$1" 2>/dev/null | head -1) && [ -n "$_m" ]; then echo "$_m"; return 0; fi
        sleep 0.05; _i=$((_i + 1))
    done
    echo "timeout waiting for /$2/ in $1" >&2; cat "$1" >&2; return 1
}

# start_registry NAME [tls] [htpasswd] [token REALM]
#   Starts Debian's docker-registry on 127.0.0.1 with a kernel-chosen port.
#   Sets REG_<NAME>=127.0.0.1:PORT.  TLS uses $T/ca/ (see make_ca).
start_registry() {
    _n=$1; shift
    _d="$T/registry-$_n"; mkdir -p "$_d/data"
    {
        echo "version: 0.1"
        echo "log: {level: info}"
        echo "storage: {filesystem: {rootdirectory: $_d/data}, delete: {enabled: true}}"
        echo "http:"
        echo "  addr: 127.0.0.1:0"
        for opt in "$@"; do
            case $opt in
            tls) make_ca; echo "  tls: {certificate: $T/ca/server.crt, key: $T/ca/server.key}";;
            esac
        done
        for opt in "$@"; do
            case $opt in
            htpasswd) htpasswd -Bbn alice s3cret > "$_d/htpasswd"
                      echo "auth: {htpasswd: {realm: test-realm, path: $_d/htpasswd}}";;
            token=*) echo "auth: {token: {realm: ${opt#token=}, service: test-registry, issuer: test-issuer, rootcertbundle: $T/token/signer.crt}}";;
            esac
        done
    } > "$_d/config.yml"
    docker-registry serve "$_d/config.yml" > "$_d/log" 2>&1 &
    _PIDS="$_PIDS $!"
    _addr=$(wait_for_log "$_d/log" 'listening on 127\.0\.0\.1:[0-9]+' 10) || return 1
    eval "REG_$_n=${_addr#listening on }"
}

# registry_copies PREFIX NAME...: start docker-registry R (REG is its
# 127.0.0.1:PORT), make the image $T/img:v1 and copy it to
# docker://$REG/PREFIX/NAME:v1 for each NAME; D is its manifest digest.
registry_copies() {
    _p=$1; shift
    start_registry R || return 1
    REG=$REG_R
    mkimage "$T/img:v1" >/dev/null || return 1
    for _c; do
        $SKOPEO copy -q --dest-tls-verify=false "oci:$T/img:v1" "docker://$REG/$_p/$_c:v1" || return 1
    done
    D=$($SKOPEO inspect --tls-verify=false --format '{{.Digest}}' "docker://$REG/$_p/$1:v1")
}

# start_hostile MODE: the hostile registry double
# (tests/integration/registry/hostile_registry.py) misbehaving as MODE on
# 127.0.0.1; sets H to its 127.0.0.1:PORT, logs to $T/MODE.log.
start_hostile() {
    rm -f "$T/$1.port"
    "$PY" "$TOP_SRCDIR/tests/integration/registry/hostile_registry.py" "$1" "$T/$1.port" "$T/$1.log" &
    _PIDS="$_PIDS $!"
    wait_for_log "$T/$1.port" '[0-9]+' 20 >/dev/null || exit 1
    H=127.0.0.1:$(cat "$T/$1.port")
}

# make_ca: a private CA and a server cert for 127.0.0.1/localhost in $T/ca.
make_ca() {
    [ -f "$T/ca/server.crt" ] && return 0
    mkdir -p "$T/ca"
    (
        cd "$T/ca"
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout ca.key -out ca.crt \
            -subj /CN=coco-test-ca >/dev/null 2>&1
        openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
            -subj /CN=127.0.0.1 >/dev/null 2>&1
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' > ext
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
            -days 2 -extfile ext -out server.crt >/dev/null 2>&1
    )
}

# mkimage DIR[:TAG] [options...] : make an OCI layout with tests/lib/mkimage.py
mkimage() { "$PY" "$LIB/mkimage.py" "$@"; }

# sha256 of a file, bare hex
sha256() { sha256sum "$1" | cut -d' ' -f1; }

# private_env: loopback traffic only (no proxy may see it), and a HOME and
# XDG directories of the test's own, with no auth file from the caller.
private_env() {
    unset http_proxy https_proxy HTTPS_PROXY HTTP_PROXY all_proxy ALL_PROXY
    export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
    export HOME="$T/home" XDG_RUNTIME_DIR="$T/run" XDG_CONFIG_HOME="$T/cfg"
    unset REGISTRY_AUTH_FILE DOCKER_CONFIG
    mkdir -p "$HOME" "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME"
}

# layer_digests DIR: the layer digests of the first manifest of the OCI
# layout DIR, joined with | (for grep -E).
layer_digests() { "$PY" -c 'import json,sys; d=sys.argv[1]; i=json.load(open(d+"/index.json")); m=json.load(open(d+"/blobs/sha256/"+i["manifests"][0]["digest"][7:])); print("|".join(l["digest"] for l in m["layers"]))' "$1"; }
# plain_layers DIR: succeeds when no layer of that manifest is encrypted.
plain_layers() { "$PY" -c 'import json,sys; d=sys.argv[1]; i=json.load(open(d+"/index.json")); m=json.load(open(d+"/blobs/sha256/"+i["manifests"][0]["digest"][7:])); sys.exit(any("encrypted" in l["mediaType"] for l in m["layers"]))' "$1"; }

# resources_json OUT PATH=FILE... : an offline_fs_kbc resources (or keys)
# file mapping each PATH to the base64 of FILE.
resources_json() {
    _o=$1; shift
    "$PY" - "$_o" "$@" <<'PY'
import base64, json, sys
out = {}
for a in sys.argv[2:]:
    p, f = a.split("=", 1)
    out[p] = base64.b64encode(open(f, "rb").read()).decode()
json.dump(out, open(sys.argv[1], "w"), indent=2)
PY
}

# json_get FILE EXPR : evaluate a python expression on the JSON in FILE (as j)
json_get() { "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
