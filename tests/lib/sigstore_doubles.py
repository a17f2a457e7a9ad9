#!/usr/bin/python3
"""Strict local doubles of the Sigstore services a signer talks to.

    sigstore_doubles.py init DIR
        our own log key (Rekor), CT log key, Fulcio CA (root + intermediate)
        and OIDC issuer key, written to DIR, plus DIR/root.json: a
        trusted_root.json naming them (protobuf-specs TrustedRoot v0.1),
        DIR/rekor.pub and DIR/fulcio-chain.pem (intermediate + root).
    sigstore_doubles.py serve DIR PORTFILE LOGFILE [--misbehave WHAT]
        one HTTP server on 127.0.0.1 (port written to PORTFILE) answering
          POST /api/v1/log/entries   Rekor v1
          POST /api/v2/signingCert   Fulcio v2
        and appending one line per request to LOGFILE.  WHAT makes the log
        lie, to test what the signer checks: "other-entry" (the answer logs
        another signature) or "bad-proof" (a wrong inclusion proof).
    sigstore_doubles.py token DIR [--sub S] [--email E] [--aud A]
                        [--iss I] [--exp SECONDS] [--foreign-key]
        prints an OIDC identity token (a JWT, ES256) of our issuer.

Protocols, as published (read at these revisions):
  - Rekor v1: sigstore/rekor openapi.yaml (createLogEntry: 201 with
    {UUID: LogEntry}, ETag, Location; 409 for an entry already logged),
    pkg/types/hashedrekord/v0.0.1 and pkg/types/dsse/v0.0.1 (the JSON
    schemas and the canonicalized bodies: dsse's envelopeHash is SHA-256 of
    the proposed envelope string, payloadHash of the decoded payload,
    signatures sorted, each with its verifier's PEM), the SET over the
    RFC 8785 canonical JSON {body, integratedTime, logID, logIndex}, the
    checkpoint as a signed note (transparency-dev/formats log/README.md:
    origin, size, base64 root, extension lines, blank line, signature
    lines "\u2014 NAME base64(keyhash[:4] || sig)"), RFC 6962 section 2.1
    Merkle hashing (leaf 0x00, node 0x01) and audit paths.
  - Fulcio v2: sigstore/fulcio fulcio.proto (POST /api/v2/signingCert,
    CreateSigningCertificateRequest {credentials.oidcIdentityToken,
    publicKeyRequest {publicKey {algorithm, content PEM},
    proofOfPossession}}, answered with
    signedCertificateEmbeddedSct.chain.certificates, PEM, leaf first);
    docs/oid-info.md (issuer 1.3.6.1.4.1.57264.1.1 raw, .1.8 DER
    UTF8String); the proof of possession is the signature over the
    token's subject (its "email" claim for e-mail tokens, else "sub"),
    as sigstore-go's pkg/sign/certificate.go makes it; RFC 6962 section
    3.3 for the embedded SCT over the precertificate.
  - OIDC tokens (RFC 7519, OpenID Connect Core 1.0 section 2): signature
    by the issuer's key, iss, aud "sigstore", exp, iat checked.

Built with Debian's python3-cryptography; reuses mini_sigstore.py's CA,
SCT and Merkle helpers.
"""
import base64
import hashlib
import http.server
import json
import os
import sys
import threading
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mini_sigstore as ms  # noqa: E402

from cryptography import x509  # noqa: E402
from cryptography.exceptions import InvalidSignature  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier  # noqa: E402

PEM = serialization.Encoding.PEM
ISSUER = "https://oidc.local.test"
ORIGIN = "rekor.local"
TREE_ID = 3141592653589793
INTOTO = "application/vnd.in-toto+json"


def b64d(s):
    if not isinstance(s, str):
        raise ValueError("not a base64 string")
    return base64.b64decode(s, validate=True)


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64url_d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def write_key(path, k):
    with open(path, "wb") as f:
        f.write(k.private_bytes(PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()))


def read_key(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), None)


def read_cert(path):
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


# ---------------------------------------------------------------- init

def init(d):
    os.makedirs(d, exist_ok=True)
    ca = ms.CA("local fulcio")
    log, ct, idp = ms.newkey(), ms.newkey(), ms.newkey()
    for name, k in (("log.key", log), ("ct.key", ct), ("issuer.key", idp),
                    ("ca-root.key", ca.root_key), ("ca.key", ca.key)):
        write_key(os.path.join(d, name), k)
    with open(os.path.join(d, "ca-root.pem"), "wb") as f:
        f.write(ca.root.public_bytes(PEM))
    with open(os.path.join(d, "ca.pem"), "wb") as f:
        f.write(ca.cert.public_bytes(PEM))
    with open(os.path.join(d, "fulcio-chain.pem"), "wb") as f:
        f.write(ca.cert.public_bytes(PEM) + ca.root.public_bytes(PEM))
    with open(os.path.join(d, "rekor.pub"), "wb") as f:
        f.write(log.public_key().public_bytes(PEM, ms.SPKI))
    logobj = types.SimpleNamespace(key=log, log_id=hashlib.sha256(ms.spki(log)).digest())
    ms.write(d, "root", ms.root_json(ca, logobj, ct, ms.BASE - 20 * 86400))


class State:
    def __init__(self, d, misbehave):
        self.log_key = read_key(os.path.join(d, "log.key"))
        self.log_id = hashlib.sha256(ms.spki(self.log_key)).digest()
        self.ct_key = read_key(os.path.join(d, "ct.key"))
        self.issuer_pub = read_key(os.path.join(d, "issuer.key")).public_key()
        self.ca_key = read_key(os.path.join(d, "ca.key"))
        self.ca = read_cert(os.path.join(d, "ca.pem"))
        self.root = read_cert(os.path.join(d, "ca-root.pem"))
        self.misbehave = misbehave
        self.lock = threading.Lock()
        # a log that already holds a few entries, so proofs have a path
        self.leaves = [ms.leaf_hash(b"earlier entry %d" % i) for i in range(5)]
        self.logged = {}


class Refused(Exception):
    def __init__(self, code, msg):
        Exception.__init__(self, msg)
        self.code = code


def need(cond, msg, code=400):
    if not cond:
        raise Refused(code, msg)


def exact_keys(obj, keys, what):
    need(isinstance(obj, dict) and set(obj) == set(keys),
         "%s: members must be exactly %s" % (what, sorted(keys)))


# ---------------------------------------------------------------- Rekor v1

def load_verifier(pem):
    """A PEM public key or certificate -> (public key, canonical PEM)."""
    text = pem.decode("ascii")
    if "-----BEGIN CERTIFICATE-----" in text:
        cert = x509.load_pem_x509_certificate(pem)
        return cert.public_key(), cert.public_bytes(PEM)
    need("-----BEGIN PUBLIC KEY-----" in text, "verifier is neither a certificate nor a key")
    k = serialization.load_pem_public_key(pem)
    return k, k.public_bytes(PEM, ms.SPKI)


def verify_prehashed(k, sig, digest):
    if isinstance(k, ec.EllipticCurvePublicKey):
        k.verify(sig, digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
    elif isinstance(k, rsa.RSAPublicKey):
        k.verify(sig, digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
    else:
        raise Refused(400, "hashedrekord: key type not supported over a SHA-256 digest")


def verify_data(k, sig, data):
    if isinstance(k, ec.EllipticCurvePublicKey):
        k.verify(sig, data, ec.ECDSA(hashes.SHA256()))
    elif isinstance(k, rsa.RSAPublicKey):
        k.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(k, ed25519.Ed25519PublicKey):
        k.verify(sig, data)
    else:
        raise InvalidSignature()


def hashedrekord(spec):
    exact_keys(spec, ["data", "signature"], "hashedrekord spec")
    exact_keys(spec["data"], ["hash"], "spec.data")
    h = spec["data"]["hash"]
    exact_keys(h, ["algorithm", "value"], "spec.data.hash")
    need(h["algorithm"] == "sha256", "hash algorithm must be sha256")
    digest = bytes.fromhex(h["value"])
    need(len(digest) == 32 and h["value"] == h["value"].lower(), "hash value: 64 hex digits")
    sig = spec["signature"]
    exact_keys(sig, ["content", "publicKey"], "spec.signature")
    exact_keys(sig["publicKey"], ["content"], "spec.signature.publicKey")
    raw = b64d(sig["content"])
    k, canon_pem = load_verifier(b64d(sig["publicKey"]["content"]))
    try:
        verify_prehashed(k, raw, digest)
    except InvalidSignature:
        raise Refused(400, "hashedrekord: the signature does not verify over the digest")
    return {"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
        "data": {"hash": {"algorithm": "sha256", "value": h["value"]}},
        "signature": {"content": ms.b64(raw), "publicKey": {"content": ms.b64(canon_pem)}}}}


def dsse(spec):
    exact_keys(spec, ["proposedContent"], "dsse spec")
    pc = spec["proposedContent"]
    exact_keys(pc, ["envelope", "verifiers"], "spec.proposedContent")
    need(isinstance(pc["envelope"], str), "envelope must be a string")
    need(isinstance(pc["verifiers"], list) and pc["verifiers"], "verifiers: at least one")
    env = json.loads(pc["envelope"])
    need(set(env) <= {"payload", "payloadType", "signatures"}, "envelope: unknown members")
    need(env.get("payloadType") == INTOTO, "envelope payloadType must be " + INTOTO)
    payload = b64d(env["payload"])
    keys = [load_verifier(b64d(v)) for v in pc["verifiers"]]
    pae = ms.pae(env["payloadType"], payload)
    sigs = []
    need(isinstance(env.get("signatures"), list) and env["signatures"], "envelope: no signatures")
    for s in env["signatures"]:
        raw = b64d(s["sig"])
        for k, canon_pem in keys:
            try:
                verify_data(k, raw, pae)
            except InvalidSignature:
                continue
            sigs.append({"signature": ms.b64(raw), "verifier": ms.b64(canon_pem)})
            break
        else:
            raise Refused(400, "dsse: a signature no verifier verifies")
    sigs.sort(key=lambda s: s["signature"])
    return {"apiVersion": "0.0.1", "kind": "dsse", "spec": {
        "envelopeHash": {"algorithm": "sha256",
                         "value": hashlib.sha256(pc["envelope"].encode()).hexdigest()},
        "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
        "signatures": sigs}}


def checkpoint(st, size, root):
    note = "%s - %d\n%d\n%s\nTimestamp: %d\n" % (ORIGIN, TREE_ID, size, ms.b64(root),
                                                  time.time_ns())
    sig = ms.sign(st.log_key, note.encode())
    return note + "\n\u2014 %s %s\n" % (ORIGIN, ms.b64(st.log_id[:4] + sig))


def rekor_entry(st, proposed):
    need(isinstance(proposed, dict), "not a JSON object")
    exact_keys(proposed, ["apiVersion", "kind", "spec"], "proposed entry")
    need(proposed["apiVersion"] == "0.0.1", "apiVersion must be 0.0.1")
    kinds = {"hashedrekord": hashedrekord, "dsse": dsse}
    need(proposed["kind"] in kinds, "kind %r not accepted" % proposed["kind"])
    body = ms.canon(kinds[proposed["kind"]](proposed["spec"]))
    if st.misbehave == "other-entry":
        other = json.loads(body)
        sig = other["spec"].get("signature") or other["spec"]["signatures"][0]
        key = "content" if "content" in sig else "signature"
        sig[key] = ms.b64(ms.sign(st.log_key, b"another signature"))
        body = ms.canon(other)
    with st.lock:
        lh = ms.leaf_hash(body)
        uuid = "%016x%s" % (TREE_ID, lh.hex())
        if uuid in st.logged:
            raise Refused(409, "an equivalent entry already exists in the transparency log "
                               "with UUID " + uuid)
        st.leaves.append(lh)
        idx, size = len(st.leaves) - 1, len(st.leaves)
        root = ms.mth(st.leaves)
        proof = ms.path(idx, st.leaves)
        st.logged[uuid] = idx
    if st.misbehave == "bad-proof":
        proof = [hashlib.sha256(p).digest() for p in proof]
    t = int(time.time())
    set_payload = ms.canon({"body": ms.b64(body), "integratedTime": t,
                            "logID": st.log_id.hex(), "logIndex": idx})
    entry = {"body": ms.b64(body), "integratedTime": t, "logID": st.log_id.hex(),
             "logIndex": idx, "verification": {
                 "inclusionProof": {"checkpoint": checkpoint(st, size, root),
                                    "hashes": [h.hex() for h in proof], "logIndex": idx,
                                    "rootHash": root.hex(), "treeSize": size},
                 "signedEntryTimestamp": ms.b64(ms.sign(st.log_key, set_payload))}}
    return uuid, {uuid: entry}, "%s %s %d" % (proposed["kind"], proposed["apiVersion"], idx)


# ---------------------------------------------------------------- OIDC + Fulcio v2

def jwt_claims(st, token, now):
    need(isinstance(token, str) and token.count(".") == 2, "identity token: not a JWT", 401)
    h64, c64, s64 = token.split(".")
    header = json.loads(b64url_d(h64))
    need(header.get("alg") == "ES256", "identity token: alg must be ES256", 401)
    sig = b64url_d(s64)
    need(len(sig) == 64, "identity token: ES256 signature must be 64 bytes", 401)
    der = utils.encode_dss_signature(int.from_bytes(sig[:32], "big"),
                                     int.from_bytes(sig[32:], "big"))
    try:
        st.issuer_pub.verify(der, (h64 + "." + c64).encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise Refused(401, "identity token: signature does not verify with the issuer's key")
    c = json.loads(b64url_d(c64))
    need(c.get("iss") == ISSUER, "identity token: unknown issuer", 401)
    aud = c.get("aud")
    need(aud == "sigstore" or (isinstance(aud, list) and "sigstore" in aud),
         "identity token: audience is not sigstore", 401)
    need(isinstance(c.get("exp"), int) and c["exp"] > now, "identity token: expired", 401)
    need(isinstance(c.get("iat"), int) and c["iat"] <= now + 60, "identity token: iat", 401)
    need(isinstance(c.get("sub"), str) and c["sub"], "identity token: no sub", 401)
    return c


def leaf_builder(st, pub, nb, na, san, issuer, serial):
    v2 = issuer.encode()
    b = (x509.CertificateBuilder()
         .subject_name(x509.Name([]))
         .issuer_name(st.ca.subject)
         .public_key(pub)
         .serial_number(serial)
         .not_valid_before(ms.ts(nb)).not_valid_after(ms.ts(na))
         .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False,
                                      False), critical=True)
         .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]),
                        critical=False)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
             st.ca_key.public_key()), critical=False)
         .add_extension(san, critical=True)
         .add_extension(x509.UnrecognizedExtension(
             ObjectIdentifier("1.3.6.1.4.1.57264.1.1"), v2), critical=False)
         .add_extension(x509.UnrecognizedExtension(
             ObjectIdentifier("1.3.6.1.4.1.57264.1.8"), b"\x0c" + ms.der_len(len(v2)) + v2),
             critical=False))
    return b


def issue(st, pub, claims):
    now = int(time.time())
    nb, na = now - 1, now + 600          # Fulcio's ten minutes
    if claims.get("email") and claims.get("email_verified") is True:
        san = x509.SubjectAlternativeName([x509.RFC822Name(claims["email"])])
    else:
        san = x509.SubjectAlternativeName([x509.UniformResourceIdentifier(claims["sub"])])
    serial = x509.random_serial_number()
    # RFC 6962 3.2: the SCT signs the precertificate's TBS, which is the
    # final certificate's without the SCT list (the poison removed)
    tbs = leaf_builder(st, pub, nb, na, san, claims["iss"], serial).sign(
        st.ca_key, hashes.SHA256()).tbs_certificate_bytes
    ext = ms.sct_list(st.ct_key, st.ca, tbs, now * 1000)
    cert = leaf_builder(st, pub, nb, na, san, claims["iss"], serial).add_extension(
        x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2"), ext),
        critical=False).sign(st.ca_key, hashes.SHA256())
    return cert


def fulcio(st, req):
    need(isinstance(req, dict), "not a JSON object")
    exact_keys(req, ["credentials", "publicKeyRequest"], "request")
    exact_keys(req["credentials"], ["oidcIdentityToken"], "credentials")
    claims = jwt_claims(st, req["credentials"]["oidcIdentityToken"], int(time.time()))
    pkr = req["publicKeyRequest"]
    exact_keys(pkr, ["publicKey", "proofOfPossession"], "publicKeyRequest")
    exact_keys(pkr["publicKey"], ["algorithm", "content"], "publicKeyRequest.publicKey")
    need(pkr["publicKey"]["algorithm"] == "ECDSA", "algorithm must be ECDSA (an EC key)")
    pub = serialization.load_pem_public_key(pkr["publicKey"]["content"].encode())
    need(isinstance(pub, ec.EllipticCurvePublicKey), "the public key is not an EC key")
    subject = claims["email"] if claims.get("email") else claims["sub"]
    try:
        pub.verify(b64d(pkr["proofOfPossession"]), subject.encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise Refused(400, "proof of possession: not a signature over the token's subject")
    cert = issue(st, pub, claims)
    chain = [c.public_bytes(PEM).decode() for c in (cert, st.ca, st.root)]
    return {"signedCertificateEmbeddedSct": {"chain": {"certificates": chain}}}, \
        "signingCert %s" % subject


# ---------------------------------------------------------------- HTTP

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def note(self, line):
        with open(self.server.logfile, "a") as f:
            f.write(line + "\n")

    def answer(self, code, obj, headers=()):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.note("GET %s 404" % self.path)
        self.answer(404, {"code": 404, "message": "not found"})

    def do_POST(self):
        st = self.server.state
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n)
        try:
            need(self.headers.get("Content-Type", "").split(";")[0] == "application/json",
                 "Content-Type must be application/json", 415)
            try:
                req = json.loads(data)
            except ValueError:
                raise Refused(400, "the body is not JSON")
            if self.path == "/api/v1/log/entries":
                uuid, ans, what = rekor_entry(st, req)
                self.note("rekor %s" % what)
                self.answer(201, ans, [("ETag", uuid),
                                       ("Location", "/api/v1/log/entries/" + uuid)])
            elif self.path == "/api/v2/signingCert":
                ans, what = fulcio(st, req)
                self.note("fulcio %s" % what)
                self.answer(201, ans)
            else:
                raise Refused(404, "no such endpoint " + self.path)
        except Refused as e:
            self.note("refused %d %s %s" % (e.code, self.path, e))
            self.answer(e.code, {"code": e.code, "message": str(e)})
        except (ValueError, KeyError, TypeError) as e:
            self.note("refused 400 %s %s" % (self.path, e))
            self.answer(400, {"code": 400, "message": "malformed request: %s" % e})


def serve(d, portfile, logfile, misbehave=None):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.state = State(d, misbehave)
    srv.logfile = logfile
    open(logfile, "a").close()
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(portfile + ".tmp", portfile)
    srv.serve_forever()


def token(d, args):
    opts = {"--sub": "dev-sub-1234", "--email": None, "--aud": "sigstore", "--iss": ISSUER,
            "--exp": "300"}
    foreign = False
    i = 0
    while i < len(args):
        if args[i] == "--foreign-key":
            foreign = True
            i += 1
            continue
        opts[args[i]] = args[i + 1]
        i += 2
    now = int(time.time())
    claims = {"iss": opts["--iss"], "sub": opts["--sub"], "aud": opts["--aud"],
              "iat": now - 5, "exp": now + int(opts["--exp"])}
    if opts["--email"]:
        claims["email"] = opts["--email"]
        claims["email_verified"] = True
    k = ms.newkey() if foreign else read_key(os.path.join(d, "issuer.key"))
    h64 = b64url(json.dumps({"alg": "ES256", "typ": "JWT", "kid": "test"}).encode())
    c64 = b64url(json.dumps(claims).encode())
    r, s = utils.decode_dss_signature(k.sign((h64 + "." + c64).encode(),
                                             ec.ECDSA(hashes.SHA256())))
    print(h64 + "." + c64 + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big")))


def main():
    cmd, d = sys.argv[1], sys.argv[2]
    if cmd == "init":
        init(d)
    elif cmd == "serve":
        mis = sys.argv[6] if len(sys.argv) > 6 and sys.argv[5] == "--misbehave" else None
        serve(d, sys.argv[3], sys.argv[4], mis)
    elif cmd == "token":
        token(d, sys.argv[3:])
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
