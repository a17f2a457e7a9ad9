#!/usr/bin/python3
"""A strict ttrpc test double of confidential-data-hub (CDH) and of the
attestation agent (AA), on a unix socket.

Written from the published definitions, not from their code:
  containerd/ttrpc PROTOCOL.md and request.proto: frames of a 10-byte
    header (uint32 BE data length <= 4 MiB, uint32 BE stream id, odd for
    client streams, uint8 type 1 request / 2 response, uint8 flags) and the
    protobuf Request {service=1, method=2, payload=3, timeout_nano=4,
    metadata=5} / Response {status=1 google.rpc.Status {code=1,
    message=2}, payload=2}.
  confidential-containers/guest-components
    confidential-data-hub/hub/protos/api.proto (commit 15a3b37f):
      api.GetResourceService/GetResource
        GetResourceRequest {string ResourcePath=1} -> {bytes Resource=1}
    confidential-data-hub/hub/protos/keyprovider.proto (commit 739ed686):
      keyprovider.KeyProviderService/UnWrapKey
        {bytes KeyProviderKeyWrapProtocolInput=1} -> {bytes ...Output=1}
        carrying the ocicrypt keyprovider JSON (op "keyunwrap",
        keyunwrapparams.annotation = base64 of the CoCo annotation packet);
        the answer is {"keyunwrapresults": {"optsdata": [bytes]}} as the
        Rust CDH serialises it.  Only kbs:// kids are accepted (CDH parses
        the kid as a resource URI); the KEK is the resource the kid names,
        the packet is AES-256-GCM (tag after the ciphertext).
    attestation-agent/protos/attestation-agent.proto (commit 03ed98fe):
      attestation_agent.AttestationAgentService/GetTeeType {} -> {tee=1}
      .../GetEvidence {bytes RuntimeData=1} -> {bytes Evidence=1}
        (sample evidence {"svn": "1", "report_data": base64(runtime data)},
        as the AA's sample attester makes it).

Strict: a frame that is not a request, has flags, an even or non-increasing
stream id, a Request without service or method, an unknown service or
method, or a message missing its required field is answered with a ttrpc
error status (INVALID_ARGUMENT 3 / UNIMPLEMENTED 12); a length over 4 MiB
closes the connection.  A missing resource is answered INTERNAL (13) with
CDH's wording; --not-found-status changes the code.

Each request is appended to --log as one JSON line: {"stream", "service",
"method", "status", "detail"}.  Options: --socket PATH, --role cdh|aa|both,
--resources DIR (DIR/R/T/G files), --tee NAME (default sample).
The line "READY" is printed on stdout once the socket listens.
"""
import argparse
import base64
import json
import os
import socket
import socketserver
import struct
import sys
import threading

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAX = 4 << 20
OK, INVALID_ARGUMENT, NOT_FOUND, UNIMPLEMENTED, INTERNAL = 0, 3, 5, 12, 13


class RpcError(Exception):
    def __init__(self, code, msg):
        super().__init__(msg)
        self.code = code
        self.msg = msg


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_bytes(num, data):
    return varint(num << 3 | 2) + varint(len(data)) + data


def field_uint(num, v):
    return varint(num << 3) + varint(v)


def read_varint(buf, off):
    v = shift = 0
    while True:
        if off >= len(buf) or shift > 63:
            raise RpcError(INVALID_ARGUMENT, "malformed varint")
        b = buf[off]
        off += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, off


def parse(buf):
    """Fields of a protobuf message: {num: [(wire, value)]}."""
    fields = {}
    off = 0
    while off < len(buf):
        key, off = read_varint(buf, off)
        num, wire = key >> 3, key & 7
        if num == 0:
            raise RpcError(INVALID_ARGUMENT, "field number 0")
        if wire == 0:
            val, off = read_varint(buf, off)
        elif wire == 2:
            n, off = read_varint(buf, off)
            if off + n > len(buf):
                raise RpcError(INVALID_ARGUMENT, "truncated field")
            val, off = bytes(buf[off:off + n]), off + n
        elif wire in (1, 5):
            n = 8 if wire == 1 else 4
            val, off = bytes(buf[off:off + n]), off + n
        else:
            raise RpcError(INVALID_ARGUMENT, "unsupported wire type")
        fields.setdefault(num, []).append((wire, val))
    return fields


def get_bytes(fields, num, what, required=True):
    vals = fields.get(num)
    if not vals:
        if required:
            raise RpcError(INVALID_ARGUMENT, "missing field " + what)
        return b""
    wire, val = vals[-1]
    if wire != 2:
        raise RpcError(INVALID_ARGUMENT, "field %s has the wrong type" % what)
    return val


class Double:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.not_found = args.not_found_status

    def log(self, entry):
        with self.lock, open(self.args.log, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def resource(self, uri):
        if not uri.startswith("kbs://"):
            raise RpcError(INTERNAL, "get resource failed: not a kbs:// resource uri")
        rest = uri[len("kbs://"):]
        path = rest[rest.index("/") + 1:] if "/" in rest else ""
        parts = path.split("/")
        if len(parts) != 3 or any(p in ("", ".", "..") for p in parts):
            raise RpcError(INTERNAL, "get resource failed: malformed resource uri")
        f = os.path.join(self.args.resources or "/nonexistent", *parts)
        if not os.path.isfile(f):
            raise RpcError(self.not_found, "get resource failed: resource not found")
        with open(f, "rb") as fh:
            return fh.read()

    def get_resource(self, payload):
        uri = get_bytes(parse(payload), 1, "ResourcePath").decode()
        return field_bytes(1, self.resource(uri)), uri

    def unwrap_key(self, payload):
        raw = get_bytes(parse(payload), 1, "KeyProviderKeyWrapProtocolInput")
        try:
            req = json.loads(raw)
            assert req["op"] == "keyunwrap"
            packet = json.loads(base64.b64decode(req["keyunwrapparams"]["annotation"]))
            kid = packet["kid"]
            wrapped = base64.b64decode(packet["wrapped_data"])
            iv = base64.b64decode(packet["iv"])
            assert packet.get("wrap_type", "A256GCM") == "A256GCM"
        except Exception:
            raise RpcError(INTERNAL, "unwrap key failed: malformed keyprovider input")
        kek = self.resource(kid)
        try:
            opts = AESGCM(kek).decrypt(iv, wrapped, None)
        except Exception:
            raise RpcError(INTERNAL, "unwrap key failed: decryption failed")
        out = json.dumps({"keyunwrapresults": {"optsdata": list(opts)}}).encode()
        return field_bytes(1, out), kid

    def get_tee_type(self, payload):
        if payload:
            parse(payload)
        return field_bytes(1, self.args.tee.encode()), ""

    def get_evidence(self, payload):
        rd = get_bytes(parse(payload), 1, "RuntimeData")
        ev = {"svn": "1", "report_data": base64.b64encode(rd).decode()}
        return field_bytes(1, json.dumps(ev).encode()), "%d bytes" % len(rd)

    def methods(self):
        cdh = {("api.GetResourceService", "GetResource"): self.get_resource,
               ("keyprovider.KeyProviderService", "UnWrapKey"): self.unwrap_key}
        aa = {("attestation_agent.AttestationAgentService", "GetTeeType"): self.get_tee_type,
              ("attestation_agent.AttestationAgentService", "GetEvidence"): self.get_evidence}
        role = self.args.role
        return {**(cdh if role in ("cdh", "both") else {}), **(aa if role in ("aa", "both") else {})}


def response(stream, code, msg, payload):
    status = (field_uint(1, code) if code else b"") + (field_bytes(2, msg.encode()) if msg else b"")
    body = field_bytes(1, status) + (field_bytes(2, payload) if payload else b"")
    return struct.pack(">IIBB", len(body), stream, 2, 0) + body


def recv_exact(sock, n):
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        dbl = self.server.double
        last = 0
        while True:
            hdr = recv_exact(self.request, 10)
            if hdr is None:
                return
            length, stream, mtype, flags = struct.unpack(">IIBB", hdr)
            if length > MAX:
                dbl.log({"stream": stream, "status": "closed", "detail": "frame too large"})
                return
            data = recv_exact(self.request, length)
            if data is None:
                return
            entry = {"stream": stream, "service": None, "method": None}
            try:
                if mtype != 1 or flags:
                    raise RpcError(INVALID_ARGUMENT, "not a unary request frame")
                if stream % 2 == 0 or stream <= last:
                    raise RpcError(INVALID_ARGUMENT, "bad stream id %d" % stream)
                last = stream
                req = parse(data)
                service = get_bytes(req, 1, "service").decode()
                method = get_bytes(req, 2, "method").decode()
                entry.update(service=service, method=method)
                payload = get_bytes(req, 3, "payload", required=False)
                fn = dbl.methods().get((service, method))
                if fn is None:
                    raise RpcError(UNIMPLEMENTED, "%s/%s: not implemented" % (service, method))
                out, detail = fn(payload)
                entry.update(status=OK, detail=detail)
                answer = response(stream, OK, "", out)
            except RpcError as e:
                entry.update(status=e.code, detail=e.msg)
                answer = response(stream, e.code, e.msg, b"")
            # logged before answering, so that a client reading the log
            # after its call sees its own request
            dbl.log(entry)
            self.request.sendall(answer)


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True)
    ap.add_argument("--role", choices=("cdh", "aa", "both"), default="both")
    ap.add_argument("--resources")
    ap.add_argument("--tee", default="sample")
    ap.add_argument("--log", required=True)
    ap.add_argument("--not-found-status", type=int, default=INTERNAL)
    args = ap.parse_args()
    if os.path.exists(args.socket):
        os.unlink(args.socket)
    srv = Server(args.socket, Handler)
    srv.double = Double(args)
    print("READY", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
