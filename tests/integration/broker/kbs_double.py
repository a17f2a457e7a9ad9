#!/usr/bin/python3
"""A strict test double of a Key Broker Service (KBS).

Written from the published protocol, not from Trustee's code:
  confidential-containers/trustee kbs/docs/kbs_attestation_protocol.md
  (trustee commit 78962cd416dcc8a32f9377e0066a28fe21420f69, 2026-08-21),
  with the facts that document leaves out taken from the same commit's
  kbs/src/attestation/backend.rs, attestation-service/src/lib.rs and
  deps/verifier/src/sample/mod.rs, and from guest-components commit
  8246e5e0977f6322f0a1b0f77e0739cf1c3e1f74
  (attestation-agent/kbs_protocol/src/client/rcar_client.rs):

  POST /kbs/v0/auth    Request {version "0.4.0" exactly, tee, extra-params}
                       -> Challenge {nonce (base64 of 32 random bytes),
                          extra-params ""} and Set-Cookie kbs-session-id
  POST /kbs/v0/attest  (Cookie kbs-session-id required)
                       Attestation {runtime-data {nonce, tee-pubkey},
                       tee-evidence {primary_evidence, additional_evidence}}
                       The report data must be HASH(JCS({"tee-pubkey",
                       "nonce", "additional-evidence"})), HASH sha384 unless
                       the challenge selected another; sample evidence is
                       {"svn", "report_data": base64(report data)}.
                       -> {"token": JWT}
  GET /kbs/v0/resource/R/T/G  (Authorization: Bearer TOKEN required here;
                       Trustee also takes the session cookie alone, this
                       double does not so that a client that skips the token
                       fails) -> JWE flattened JSON {protected,
                       encrypted_key, iv, ciphertext, tag}, A256GCM, the
                       key wrapped with ECDH-ES+A256KW (P-256) or
                       RSA-OAEP-256 to the tee-pubkey the token certifies.
  Failures answer 401 with {"type": ".../ERROR", "detail"} as Trustee does
  (a missing resource is 401 too, unless --missing-status says otherwise).

Only the sample TEE is accepted, or with --tee snp only SEV-SNP evidence
(snp_shape.py: the shape Trustee's SNP verifier reads, re-encoded and
checked against the test's stand-in signature; REPORT_DATA is the hash
zero-padded to 64 bytes, as that verifier compares it), or with --tee tdx
only TDX evidence (tdx_shape.py: the quote's stand-in signature checked,
the cc_eventlog parsed strictly and replayed into RTMR0..3, which must
equal the quote's; a successful replay is logged as "eventlog replayed").
Every request is appended as one JSON line
to --log: {"method", "path", "status", "cookie", "bearer", "event"}.
The first line on stdout is "PORT N".

Options: --tls CERT KEY (HTTPS), --resources DIR (DIR/R/T/G files),
--expire-after N (a token serves N resource GETs, then is refused),
--refuse-attestation, --select-hash sha256|sha384|sha512,
--missing-status 401|404, --token-exp SECONDS (the JWT's exp claim),
--tee sample|snp|tdx.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import secrets
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import snp_shape  # noqa: E402
import tdx_shape  # noqa: E402

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_wrap
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash

ERR = "https://github.com/confidential-containers/kbs/errors/"
HASHES = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s):
    if not isinstance(s, str) or "=" in s:
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jcs(v):
    """RFC 8785 for the values runtime data holds (objects, strings)."""
    if isinstance(v, str):
        out = ['"']
        for ch in v:
            o = ord(ch)
            if ch == '"':
                out.append('\\"')
            elif ch == "\\":
                out.append("\\\\")
            elif ch in "\b\f\n\r\t":
                out.append({"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
            elif o < 0x20:
                out.append("\\u%04x" % o)
            else:
                out.append(ch)
        out.append('"')
        return "".join(out)
    if isinstance(v, dict):
        keys = sorted(v, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(jcs(k) + ":" + jcs(v[k]) for k in keys) + "}"
    raise ValueError("runtime data holds only objects and strings")


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.sessions = {}     # id -> dict(nonce, hash, tee, attested)
        self.tokens = {}       # token -> dict(uses, jwk)
        self.secret = secrets.token_bytes(32)

    def log(self, rec):
        with self.lock, open(self.args.log, "a") as f:
            f.write(json.dumps(rec) + "\n")

    def make_token(self, jwk):
        hdr = b64u(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        now = int(time.time())
        claims = {"iat": now, "exp": now + self.args.token_exp, "iss": "kbs-double",
                  "tee-pubkey": jwk}
        body = b64u(json.dumps(claims).encode())
        sig = b64u(hmac.new(self.secret, (hdr + "." + body).encode(), "sha256").digest())
        tok = hdr + "." + body + "." + sig
        self.tokens[tok] = {"uses": self.args.expire_after, "jwk": jwk}
        return tok


def check_jwk(jwk):
    """The TEE key: EC P-256 for ECDH-ES+A256KW or RSA for RSA-OAEP-256."""
    if not isinstance(jwk, dict) or not all(isinstance(x, str) for x in jwk.values()):
        raise ValueError("tee-pubkey is not a JWK of strings")
    if jwk.get("kty") == "EC":
        if set(jwk) != {"kty", "crv", "alg", "x", "y"} or jwk["crv"] != "P-256" \
                or jwk["alg"] != "ECDH-ES+A256KW":
            raise ValueError("EC tee-pubkey must be {kty, crv P-256, alg ECDH-ES+A256KW, x, y}")
        x, y = unb64u(jwk["x"]), unb64u(jwk["y"])
        if len(x) != 32 or len(y) != 32:
            raise ValueError("P-256 coordinates are 32 bytes")
        return ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"),
                                             ec.SECP256R1()).public_key()
    if jwk.get("kty") == "RSA":
        if set(jwk) != {"kty", "alg", "n", "e"} or jwk["alg"] != "RSA-OAEP-256":
            raise ValueError("RSA tee-pubkey must be {kty, alg RSA-OAEP-256, n, e}")
        n, e = int.from_bytes(unb64u(jwk["n"]), "big"), int.from_bytes(unb64u(jwk["e"]), "big")
        if n.bit_length() < 2048:
            raise ValueError("RSA tee-pubkey under 2048 bits")
        return rsa.RSAPublicNumbers(e, n).public_key()
    raise ValueError("tee-pubkey kty is neither EC nor RSA")


def seal(jwk, plaintext):
    """A JWE (flattened JSON) for the TEE key, as Trustee's kbs/src/jwe builds it."""
    pub = check_jwk(jwk)
    cek = AESGCM.generate_key(256)
    if jwk["kty"] == "EC":
        eph = ec.generate_private_key(ec.SECP256R1())
        z = eph.exchange(ec.ECDH(), pub)
        otherinfo = (len(b"ECDH-ES+A256KW").to_bytes(4, "big") + b"ECDH-ES+A256KW" +
                     (0).to_bytes(4, "big") + (0).to_bytes(4, "big") + (256).to_bytes(4, "big"))
        kek = ConcatKDFHash(hashes.SHA256(), 32, otherinfo).derive(z)
        ek = aes_key_wrap(kek, cek)
        n = eph.public_key().public_numbers()
        header = {"alg": "ECDH-ES+A256KW", "enc": "A256GCM",
                  "epk": {"crv": "P-256", "kty": "EC", "x": b64u(n.x.to_bytes(32, "big")),
                          "y": b64u(n.y.to_bytes(32, "big"))}}
    else:
        ek = pub.encrypt(cek, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()),
                                           algorithm=hashes.SHA256(), label=None))
        header = {"alg": "RSA-OAEP-256", "enc": "A256GCM"}
    protected = b64u(json.dumps(header, separators=(",", ":")).encode())
    iv = secrets.token_bytes(12)
    ct = AESGCM(cek).encrypt(iv, plaintext, protected.encode())
    return {"protected": protected, "encrypted_key": b64u(ek), "iv": b64u(iv),
            "ciphertext": b64u(ct[:-16]), "tag": b64u(ct[-16:])}


class Refused(Exception):
    def __init__(self, status, kind, detail):
        super().__init__(detail)
        self.status, self.kind, self.detail = status, kind, detail


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None

    def log_message(self, *a):
        pass

    def cookie(self):
        for part in (self.headers.get("Cookie") or "").split(";"):
            k, _, v = part.strip().partition("=")
            if k == "kbs-session-id":
                return v
        return None

    def bearer(self):
        a = self.headers.get("Authorization") or ""
        return a[7:] if a.startswith("Bearer ") else None

    def reply(self, status, body, cookie=None, event=""):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if cookie:
            self.send_header("Set-Cookie", "kbs-session-id=%s; Path=/kbs/v0; HttpOnly" % cookie)
        self.end_headers()
        self.wfile.write(data)
        self.state.log({"method": self.command, "path": self.path, "status": status,
                        "cookie": self.cookie() is not None, "bearer": self.bearer() is not None,
                        "event": event})

    def body_json(self):
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
            raise Refused(401, "SerdeError", "Content-Type is not application/json")
        n = int(self.headers.get("Content-Length") or "0")
        try:
            return json.loads(self.rfile.read(n))
        except ValueError:
            raise Refused(401, "SerdeError", "body is not JSON")

    def dispatch(self, fn):
        try:
            fn()
        except Refused as r:
            self.reply(r.status, {"type": ERR + r.kind, "detail": r.detail}, event=r.detail)

    def do_POST(self):
        routes = {"/kbs/v0/auth": self.auth, "/kbs/v0/attest": self.attest}
        self.dispatch(routes.get(self.path, self.unknown))

    def do_GET(self):
        self.dispatch(self.resource if self.path.startswith("/kbs/v0/resource/") else self.unknown)

    def unknown(self):
        n = int(self.headers.get("Content-Length") or "0")
        self.rfile.read(n)
        raise Refused(404, "InvalidRequestPath", "no such endpoint")

    def auth(self):
        req = self.body_json()
        if not isinstance(req, dict) or set(req) != {"version", "tee", "extra-params"}:
            raise Refused(401, "SerdeError", "Request must be {version, tee, extra-params}")
        if req["version"] != "0.4.0":
            raise Refused(401, "AttestationError", "KBS Client Protocol Version Mismatch")
        if req["tee"] != self.state.args.tee:
            raise Refused(401, "AttestationError", "this double verifies the %s TEE only"
                          % self.state.args.tee)
        st = self.state
        sid = secrets.token_hex(16)
        nonce = base64.b64encode(secrets.token_bytes(32)).decode()
        sel = st.args.select_hash
        with st.lock:
            st.sessions[sid] = {"nonce": nonce, "hash": sel or "sha384", "attested": False}
        extra = {"selected-hash-algorithm": sel} if sel else ""
        self.reply(200, {"nonce": nonce, "extra-params": extra}, cookie=sid, event="challenge")

    def attest(self):
        st = self.state
        sid = self.cookie()
        with st.lock:
            sess = st.sessions.get(sid) if sid else None
        if sess is None:
            self.body_json()
            raise Refused(401, "AttestationError", "no session cookie from /auth")
        att = self.body_json()
        try:
            rt = att["runtime-data"]
            ev = att["tee-evidence"]
            if not isinstance(rt, dict) or set(rt) != {"nonce", "tee-pubkey"}:
                raise ValueError("runtime-data must be {nonce, tee-pubkey}")
            check_jwk(rt["tee-pubkey"])
            add = ev["additional_evidence"]
            prim = ev["primary_evidence"]
            if not isinstance(add, str) or not isinstance(prim, dict):
                raise ValueError("tee-evidence must be {primary_evidence, additional_evidence}")
            notes = []
            if st.args.tee == "snp":
                got = snp_shape.report_data(prim)
            elif st.args.tee == "tdx":
                got = tdx_shape.report_data(prim, notes)
            elif set(prim) != {"svn", "report_data"} or not isinstance(prim["report_data"], str):
                raise ValueError("not sample evidence {svn, report_data}")
            else:
                got = base64.b64decode(prim["report_data"], validate=True)
        except (KeyError, TypeError, ValueError) as e:
            raise Refused(401, "AttestationError", "malformed Attestation: %s" % e)
        if rt["nonce"] != sess["nonce"]:
            raise Refused(401, "AttestationError", "nonce is not the session's")
        want = HASHES[sess["hash"]](jcs({"tee-pubkey": rt["tee-pubkey"], "nonce": sess["nonce"],
                                         "additional-evidence": add}).encode()).digest()
        if st.args.tee != "sample":   # REPORT_DATA: the hash zero-padded to 64 bytes
            want = want.ljust(64, b"\0")
        if got != want:
            raise Refused(401, "AttestationError", "REPORT_DATA does not bind nonce and tee-pubkey")
        for n in notes:
            st.log({"event": n})
        if st.args.refuse_attestation:
            raise Refused(401, "PolicyDeny", "attestation policy denies this guest")
        with st.lock:
            sess["attested"] = True
            tok = st.make_token(rt["tee-pubkey"])
        self.reply(200, {"token": tok}, cookie=sid, event="attested")

    def resource(self):
        st = self.state
        tok = self.bearer()
        with st.lock:
            rec = st.tokens.get(tok) if tok else None
            if rec is not None and rec["uses"] is not None:
                if rec["uses"] <= 0:
                    rec = "expired"
                else:
                    rec["uses"] -= 1
        if rec is None:
            raise Refused(401, "TokenNotFound", "no valid Bearer token")
        if rec == "expired":
            raise Refused(401, "TokenVerifierError", "token expired")
        parts = self.path[len("/kbs/v0/resource/"):].split("/")
        if len(parts) != 3 or any(p in ("", ".", "..") or "%" in p for p in parts):
            raise Refused(404, "InvalidRequestPath", "resource path is not R/T/G")
        path = os.path.join(st.args.resources or "/nonexistent", *parts)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            raise Refused(st.args.missing_status, "PolicyDeny",
                          "resource not found or not released")
        self.reply(200, seal(rec["jwk"], data), event="released")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--resources")
    ap.add_argument("--log", required=True)
    ap.add_argument("--expire-after", type=int, default=None)
    ap.add_argument("--refuse-attestation", action="store_true")
    ap.add_argument("--select-hash", choices=sorted(HASHES))
    ap.add_argument("--missing-status", type=int, default=401, choices=(401, 403, 404))
    ap.add_argument("--token-exp", type=int, default=3600)
    ap.add_argument("--tee", choices=("sample", "snp", "tdx"), default="sample")
    args = ap.parse_args()
    Handler.state = State(args)
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
