#!/usr/bin/python3
"""A hostile registry on 127.0.0.1 for the hang and message tests.

usage: hostile_registry.py MODE PORTFILE [LOGFILE]

/v2/ answers 200 (except in token mode); every other request is answered
as MODE says:
  chunked500   500 with a chunked body that never ends
  big404       404 announcing a 1 GiB body, sent as fast as it is read
  trickle      200 manifest announcing 64 KiB, sent 4 bytes a second
  bigheader    200 with a 1 MiB response header
  token        a Bearer challenge; /token grants a token that every
               request then refuses with 401 again
  bigtoken     a Bearer challenge; /token answers with an 8 KiB token
The port chosen by the kernel is written to PORTFILE; each request is
logged to LOGFILE as "METHOD PATH -> STATUS".
"""
import socket, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE, PORTFILE = sys.argv[1], sys.argv[2]
LOGFILE = sys.argv[3] if len(sys.argv) > 3 else None
lock = threading.Lock()


def log(line):
    if LOGFILE:
        with lock, open(LOGFILE, "a") as f:
            f.write(line + "\n")


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def head(self, status, headers):
        log(f"{self.command} {self.path} -> {status}")
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()

    def plain(self, status, body=b"{}", extra=()):
        self.head(status, [("Content-Type", "application/json"),
                           ("Content-Length", str(len(body)))] + list(extra))
        self.wfile.write(body)

    def chunked500(self):
        self.head(500, [("Content-Type", "text/plain"), ("Transfer-Encoding", "chunked")])
        chunk = b"x" * 8192
        while True:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))

    def big404(self):
        self.head(404, [("Content-Type", "text/plain"), ("Content-Length", str(1 << 30))])
        block = b"not found\n" * 6554
        sent = 0
        while sent < (1 << 30):
            n = min(len(block), (1 << 30) - sent)
            self.wfile.write(block[:n])
            sent += n

    def trickle(self):
        self.head(200, [("Content-Type", "application/vnd.oci.image.manifest.v1+json"),
                        ("Content-Length", "65536")])
        while True:
            self.wfile.write(b"    ")
            self.wfile.flush()
            time.sleep(1)

    def bigheader(self):
        self.head(200, [("Content-Type", "application/json"), ("X-Padding", "p" * (1 << 20)),
                        ("Content-Length", "2")])
        self.wfile.write(b"{}")

    def token(self):
        if self.path.startswith("/token"):
            return self.plain(200, b'{"token":"granted-but-refused","expires_in":300}')
        host = self.headers.get("Host")
        chal = f'Bearer realm="http://{host}/token",service="hostile",scope="repository:x/y:pull"'
        self.plain(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                   [("WWW-Authenticate", chal)])

    def bigtoken(self):
        if self.path.startswith("/token"):
            return self.plain(200, b'{"token":"%s","expires_in":300}' % (b"t" * 8192))
        return self.token()

    def do_GET(self):
        try:
            if MODE in ("token", "bigtoken"):
                return getattr(self, MODE)()
            if self.path == "/v2/":
                return self.plain(200)
            getattr(self, MODE)()
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass

    do_HEAD = do_GET


class S(ThreadingHTTPServer):
    daemon_threads = True


srv = S(("127.0.0.1", 0), H)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
