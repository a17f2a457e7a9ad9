#!/bin/bash
# docker:// over TLS with a private CA: --cert-dir (ca.crt), SSL_CERT_FILE,
# an untrusted certificate fails clearly, --tls-verify=false accepts it,
# HTTPS_PROXY is honoured and NO_PROXY bypasses it.
. "$TOP_SRCDIR/tests/lib/common.sh"
. "$TOP_SRCDIR/tests/integration/registry/reglib.sh"

start_registry S tls || exit 1
R=$REG_S
mkimage "$T/img:v1" --layer "f:a=hello,r:big=2500000" >/dev/null
mkdir -p "$T/certs"
cp "$T/ca/ca.crt" "$T/certs/ca.crt"
$SKOPEO copy -q --dest-cert-dir "$T/certs" "oci:$T/img:v1" "docker://$R/test/a:v1" >/dev/null || exit 1
WANT=$(oci_digest "$T/img" v1)

check "pull with cert-dir" $REGTOOL copy "docker://$R/test/a:v1" "oci:$T/o1:v1" cert-dir="$T/certs"
check "digest (cert-dir)" test "$(oci_digest "$T/o1" v1)" = "$WANT"
check "HTTP/2 over TLS" sh -c "REGTOOL_DEBUG=1 $REGTOOL digest docker://$R/test/a:v1 cert-dir=$T/certs 2>&1 | grep -q 'https, HTTP/2'"
check "push with cert-dir" $REGTOOL copy "oci:$T/img:v1" "docker://$R/test/b:v1" cert-dir="$T/certs"
check "skopeo sees the push" test "$(sk_digest --cert-dir "$T/certs" "docker://$R/test/b:v1")" = "$WANT"
check "pull with SSL_CERT_FILE" env SSL_CERT_FILE="$T/ca/ca.crt" $REGTOOL copy "docker://$R/test/a:v1" "oci:$T/o2:v1"
check "digest (SSL_CERT_FILE)" test "$(oci_digest "$T/o2" v1)" = "$WANT"

$REGTOOL copy "docker://$R/test/a:v1" "oci:$T/o3:v1" 2> "$T/untrusted.err"
check "untrusted CA: exit 1" test $? -eq 1
check "untrusted CA: message says why" grep -qi "certificate" "$T/untrusted.err"
check "nothing written" test ! -e "$T/o3/index.json"
check "tls-verify=false accepts it" $REGTOOL copy "docker://$R/test/a:v1" "oci:$T/o4:v1" tls-verify=false
REGTOOL_DEBUG=1 $REGTOOL digest "docker://$R/test/a:v1" tls-verify=false > "$T/ping.out" 2>&1
check "tls-verify=false on a TLS port: plain http first, then https" sh -c \
    "grep -q 'http failed, trying https' '$T/ping.out' && grep -q 'https, HTTP/2' '$T/ping.out'"

# HTTPS_PROXY: a CONNECT proxy that records what went through it.
cat > "$T/connect_proxy.py" <<'PYEOF'
import socket, sys, threading
log = open(sys.argv[2], "a", buffering=1)
def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d: break
            b.sendall(d)
    except OSError: pass
    finally:
        try: b.shutdown(socket.SHUT_WR)
        except OSError: pass
def handle(c):
    req = b""
    while b"\r\n\r\n" not in req:
        d = c.recv(4096)
        if not d: return
        req += d
    line = req.split(b"\r\n")[0].decode()
    log.write(line + "\n")
    host, port = line.split()[1].rsplit(":", 1)
    u = socket.create_connection((host, int(port)))
    c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    threading.Thread(target=pipe, args=(u, c), daemon=True).start()
    pipe(c, u)
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    c, _ = s.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
PYEOF
"$PY" "$T/connect_proxy.py" "$T/proxy.port" "$T/proxy.log" &
_PIDS="$_PIDS $!"
wait_for_log "$T/proxy.port" '[0-9]+' >/dev/null
PP=$(cat "$T/proxy.port")
check "pull through HTTPS_PROXY" env -u NO_PROXY -u no_proxy HTTPS_PROXY="http://127.0.0.1:$PP" \
    $REGTOOL copy "docker://$R/test/a:v1" "oci:$T/o5:v1" cert-dir="$T/certs"
check "the proxy saw CONNECT" grep -q "CONNECT $R" "$T/proxy.log"
: > "$T/proxy.log"
check "NO_PROXY bypasses it" env NO_PROXY=127.0.0.1 HTTPS_PROXY="http://127.0.0.1:$PP" \
    $REGTOOL copy "docker://$R/test/a:v1" "oci:$T/o6:v1" cert-dir="$T/certs"
check "the proxy saw nothing" test ! -s "$T/proxy.log"
check "ctx proxy option overrides the environment" env -u NO_PROXY -u no_proxy \
    $REGTOOL copy "docker://$R/test/a:v1" "oci:$T/o7:v1" cert-dir="$T/certs" proxy="http://127.0.0.1:$PP"
check "the proxy saw CONNECT again" grep -q "CONNECT $R" "$T/proxy.log"
finish
