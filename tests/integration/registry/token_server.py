#!/usr/bin/python3
"""A tiny bearer-token server for docker-registry's `auth: token` mode.

usage: token_server.py DIR [--access-token-only] [--log FILE]

DIR holds signer.key / signer.crt (made here if missing; the registry's
rootcertbundle points at signer.crt).  Listens on 127.0.0.1 with a
kernel-chosen port and writes it to DIR/port.

GET /token?service=S&scope=repository:NAME:ACTIONS[&scope=...][&account=U]
  Basic alice:s3cret  -> the requested actions (pull, push) on every scope
  no Authorization    -> pull only (anonymous)
  anything else       -> 401
The answer is a JWS (RS256, x5c header with the signing certificate) with
claims iss=test-issuer, aud=S, access=[...]; the body carries both "token"
and "access_token" (or only "access_token" with --access-token-only or
while the file DIR/access-token-only exists).
Each request is logged as one line: "account scopes authorized".

POST /token (OAuth2, application/x-www-form-urlencoded)
  grant_type=refresh_token&refresh_token=R&client_id=C[&service=S][&scope=..]
  R equal to the contents of DIR/refresh-token -> alice (pull, push);
  another R -> 400 invalid_grant; other grants or no client_id -> 400.
  "scope" may be repeated and each value may hold several space-separated
  scopes.  The answer carries only "access_token".  Logged as
  "POST alice|BAD scopes client_id=C service=S fields=NAME,NAME..."; the
  issued access tokens are appended to DIR/issued (for leak checks).
"""
import base64, json, os, subprocess, sys, threading, time, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

D = sys.argv[1]
ACCESS_ONLY = "--access-token-only" in sys.argv
LOG = sys.argv[sys.argv.index("--log") + 1] if "--log" in sys.argv else None
USERS = {"alice": "s3cret"}

os.makedirs(D, exist_ok=True)
kp, cp = os.path.join(D, "signer.key"), os.path.join(D, "signer.crt")
if not os.path.exists(cp):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", kp, "-out", cp, "-subj", "/CN=test-token-signer"],
                   check=True, capture_output=True)
KEY = serialization.load_pem_private_key(open(kp, "rb").read(), None)
CERT = x509.load_pem_x509_certificate(open(cp, "rb").read())
X5C = base64.b64encode(CERT.public_bytes(serialization.Encoding.DER)).decode()
lock = threading.Lock()


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def sign(claims):
    head = b64u(json.dumps({"typ": "JWT", "alg": "RS256", "x5c": [X5C]}).encode())
    body = b64u(json.dumps(claims).encode())
    sig = KEY.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{body}.{b64u(sig)}"


class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        u = urlparse(self.path)
        if u.path != "/token":
            self.send_error(404)
            return
        q = parse_qs(u.query)
        user = None
        auth = self.headers.get("Authorization")
        if auth:
            try:
                scheme, val = auth.split(" ", 1)
                name, _, pw = base64.b64decode(val).decode().partition(":")
                assert scheme.lower() == "basic" and USERS.get(name) == pw
                user = name
            except Exception:
                self.log_line("BAD", q)
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}')
                return
        access = []
        for sc in q.get("scope", []):
            for one in sc.split(" "):
                parts = one.split(":")
                if len(parts) < 3 or parts[0] != "repository":
                    continue
                name, acts = ":".join(parts[1:-1]), parts[-1].split(",")
                allowed = [a for a in acts if a == "pull" or (user and a == "push")]
                access.append({"type": "repository", "name": name, "actions": allowed})
        now = int(time.time())
        tok = sign({"iss": "test-issuer", "sub": user or "", "aud": q.get("service", [""])[0],
                    "exp": now + 300, "nbf": now - 10, "iat": now, "jti": str(uuid.uuid4()),
                    "access": access})
        self.log_line(user or "-", q)
        body = {"access_token": tok, "expires_in": 300,
                "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))}
        if not (ACCESS_ONLY or os.path.exists(os.path.join(D, "access-token-only"))):
            body["token"] = tok
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        u = urlparse(self.path)
        if u.path != "/token":
            self.send_error(404)
            return
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(min(n, 1 << 20)).decode("utf-8", "replace")
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        f = parse_qs(raw, keep_blank_values=True)
        rp = os.path.join(D, "refresh-token")
        want = open(rp).read().strip() if os.path.exists(rp) else None
        scopes = [one for sc in f.get("scope", []) for one in sc.split(" ") if one]
        who = "BAD"
        err = None
        if ctype != "application/x-www-form-urlencoded":
            err = "invalid_request"
        elif f.get("grant_type") != ["refresh_token"] or not f.get("client_id", [""])[0]:
            err = "invalid_request"
        elif want is None or f.get("refresh_token") != [want]:
            err = "invalid_grant"
        else:
            who = "alice"
        if LOG:
            with lock, open(LOG, "a") as lf:
                lf.write(f"POST {who} {' '.join(scopes)} client_id={f.get('client_id', [''])[0]} "
                         f"service={f.get('service', [''])[0]} fields={','.join(sorted(f))}\n")
        if err:
            data = json.dumps({"error": err, "error_description": "refresh token refused"}).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        access = []
        for one in scopes:
            parts = one.split(":")
            if len(parts) < 3 or parts[0] != "repository":
                continue
            access.append({"type": "repository", "name": ":".join(parts[1:-1]),
                           "actions": [a for a in parts[-1].split(",") if a in ("pull", "push")]})
        now = int(time.time())
        tok = sign({"iss": "test-issuer", "sub": who, "aud": f.get("service", [""])[0],
                    "exp": now + 300, "nbf": now - 10, "iat": now, "jti": str(uuid.uuid4()),
                    "access": access})
        with lock, open(os.path.join(D, "issued"), "a") as tf:
            tf.write(tok + "\n")
        data = json.dumps({"access_token": tok, "token_type": "Bearer", "expires_in": 300,
                           "scope": " ".join(scopes)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_line(self, who, q):
        if LOG:
            with lock, open(LOG, "a") as f:
                f.write(f"{who} {' '.join(q.get('scope', []))} account={q.get('account', [''])[0]}\n")


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(os.path.join(D, "port.tmp"), "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(os.path.join(D, "port.tmp"), os.path.join(D, "port"))
srv.serve_forever()
