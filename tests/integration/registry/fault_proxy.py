#!/usr/bin/python3
"""A fault-injecting HTTP forwarder to put in front of a registry.

usage: fault_proxy.py UPSTREAM_HOST:PORT PORTFILE LOGFILE [--basic USER:PASS]

Clients talk to the proxy as if it were the registry (Host is passed on,
so the registry's absolute Locations point back at the proxy).  Faults are
set with GET /__fault?kind=K&match=SUBSTRING[&count=N] (count 0 = always)
and cleared with GET /__fault?kind=clear.  Kinds, applied to a response
whose request path contains SUBSTRING:
  cut    send the headers and half the body, then close the connection
  503    answer 503 Service Unavailable (JSON error body)
  429    answer 429 with Retry-After: 1
  flip   flip one byte in the middle of the body
  stall  send half the body, then stop sending (without closing) for 60 s
  reset  close the connection without answering
  redirect  answer 307 to the proxy's "storage" listener (another port, so
         another origin), which serves the same bytes from upstream and logs
         whether an Authorization header came along
With --basic the proxy itself demands Basic credentials (401 with a
Basic challenge otherwise), as a registry with htpasswd would.  The
storage port is written to PORTFILE.storage.
Each request is logged: "METHOD PATH range=RANGE -> STATUS [fault]".
"""
import http.client, json, socket, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

UP_HOST, UP_PORT = sys.argv[1].rsplit(":", 1)
PORTFILE, LOGFILE = sys.argv[2], sys.argv[3]
BASIC = sys.argv[sys.argv.index("--basic") + 1] if "--basic" in sys.argv else None
STORAGE_PORT = [0]
faults = []          # [kind, match, remaining] ; remaining None = always
lock = threading.Lock()
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
       "proxy-authorization", "proxy-authenticate"}


def log(line):
    with lock, open(LOGFILE, "a") as f:
        f.write(line + "\n")


def take_fault(path):
    with lock:
        for f in faults:
            if f[1] in path:
                if f[2] is None:
                    return f[0]
                if f[2] > 0:
                    f[2] -= 1
                    return f[0]
    return None


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def control(self):
        q = parse_qs(urlparse(self.path).query)
        kind = q.get("kind", [""])[0]
        with lock:
            if kind == "clear":
                faults.clear()
            else:
                n = int(q.get("count", ["1"])[0])
                faults.append([kind, q.get("match", [""])[0], n if n > 0 else None])
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def handle_any(self):
        if self.path.startswith("/__fault"):
            return self.control()
        body = None
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                n = int(self.rfile.readline().split(b";")[0], 16)
                if n == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(n))
                self.rfile.readline()
            body = b"".join(chunks)
        elif self.headers.get("Content-Length"):
            body = self.rfile.read(int(self.headers["Content-Length"]))
        rng = self.headers.get("Range", "")
        if self.path.startswith("/storage/"):
            log(f"STORAGE {self.path} auth={'yes' if self.headers.get('Authorization') else 'no'}")
            self.path = self.path[len("/storage"):]
            fault = None
        else:
            if BASIC:
                want = "Basic " + __import__("base64").b64encode(BASIC.encode()).decode()
                if self.headers.get("Authorization") != want:
                    log(f"{self.command} {self.path} -> 401")
                    data = b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}'
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="proxy"')
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
            fault = take_fault(self.path) if self.command in ("GET", "HEAD") else None
        if fault == "redirect":
            log(f"{self.command} {self.path} range={rng} -> 307 redirect")
            self.send_response(307)
            self.send_header("Location", f"http://127.0.0.1:{STORAGE_PORT[0]}/storage{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if fault == "reset":
            log(f"{self.command} {self.path} range={rng} -> reset")
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault in ("503", "429"):
            log(f"{self.command} {self.path} range={rng} -> {fault} fault")
            data = b'{"errors":[{"code":"UNAVAILABLE","message":"injected"}]}'
            self.send_response(int(fault))
            if fault == "429":
                self.send_header("Retry-After", "1")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        conn = http.client.HTTPConnection(UP_HOST, int(UP_PORT), timeout=120)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        if body is not None:
            hdrs["Content-Length"] = str(len(body))
        conn.request(self.command, self.path, body=body, headers=hdrs)
        r = conn.getresponse()
        self.send_response(r.status, r.reason)
        for k, v in r.getheaders():
            if k.lower() not in HOP and k.lower() != "content-length":
                self.send_header(k, v)
        length = r.getheader("Content-Length")
        if self.command == "HEAD" or r.status in (204, 304):
            if length is not None:
                self.send_header("Content-Length", length)
            self.end_headers()
            conn.close()
            log(f"{self.command} {self.path} range={rng} -> {r.status}")
            return
        data = r.read()
        conn.close()
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        log(f"{self.command} {self.path} range={rng} -> {r.status}" + (f" {fault}" if fault else ""))
        if fault == "cut" and len(data) > 1:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault == "stall" and len(data) > 1:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            time.sleep(60)
            self.close_connection = True
            return
        if fault == "flip" and data:
            b = bytearray(data)
            b[len(b) // 2] ^= 0x01
            data = bytes(b)
        self.wfile.write(data)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True


srv = Server(("127.0.0.1", 0), H)
storage = Server(("127.0.0.1", 0), H)
STORAGE_PORT[0] = storage.server_address[1]
threading.Thread(target=storage.serve_forever, daemon=True).start()
with open(PORTFILE + ".storage", "w") as f:
    f.write(str(STORAGE_PORT[0]))
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
