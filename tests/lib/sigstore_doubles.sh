# The local Sigstore services (tests/lib/sigstore_doubles.py), sourced after
# common.sh (it sources npm_peers.sh).
#
# sigstore_init DIR: our own Fulcio CA, Rekor key, CT key and OIDC issuer
#   key, and DIR/root.json naming them.
# start_sigstore NAME DIR [--misbehave WHAT]: serves Rekor v1 and Fulcio
#   v2 on 127.0.0.1; sets SIGSTORE_<NAME>=http://127.0.0.1:PORT and logs
#   the requests to $T/sigstore-NAME.log.
# sigstore_token DIR [ARGS...]: prints an identity token of our issuer.
# sigstore_signing_setup: how the signing tests start: loopback traffic
#   bypasses any proxy, @sigstore/verify is installed (sigstore_js_peer),
#   our services are made in S=$T/sigstore (ROOT is their trusted root)
#   and served as A.
. "$LIB/npm_peers.sh"
sigstore_init() { "$PY" "$LIB/sigstore_doubles.py" init "$1"; }
sigstore_token() { "$PY" "$LIB/sigstore_doubles.py" token "$@"; }
start_sigstore() {
    _n=$1 _d=$2; shift 2
    rm -f "$T/sigstore-$_n.port"
    "$PY" "$LIB/sigstore_doubles.py" serve "$_d" "$T/sigstore-$_n.port" "$T/sigstore-$_n.log" "$@" &
    _PIDS="$_PIDS $!"
    for _ in $(seq 200); do [ -s "$T/sigstore-$_n.port" ] && break; sleep 0.05; done
    [ -s "$T/sigstore-$_n.port" ] || { echo "sigstore double $_n did not start" >&2; return 1; }
    eval "SIGSTORE_$_n=http://127.0.0.1:$(cat "$T/sigstore-$_n.port")"
}
sigstore_signing_setup() {
    unset http_proxy https_proxy HTTPS_PROXY HTTP_PROXY all_proxy ALL_PROXY
    export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
    sigstore_js_peer
    S=$T/sigstore
    sigstore_init "$S" || return 1
    start_sigstore A "$S" || return 1
    ROOT=$S/root.json
}
