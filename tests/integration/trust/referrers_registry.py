#!/usr/bin/python3
"""A small writable registry WITH the OCI 1.1 referrers API, on 127.0.0.1.

What distribution-spec v1.1.0 asks of such a registry when a manifest with
a `subject` is pushed: it answers the PUT with `OCI-Subject: <digest of the
subject>` and lists the manifest in GET /v2/<name>/referrers/<subject>
(200, an image index; never 404).  A client that sees OCI-Subject must not
write the referrers tag schema, so every manifest PUT is logged as
"PUT <name> <reference> subject=<digest|->" and the test checks that no
"sha256-..." tag was pushed.

Blob uploads: POST /v2/<name>/blobs/uploads/ (202 + Location), PATCH
(appends), PUT ?digest= (checks it, 201).  Everything is kept in memory.

usage: referrers_registry.py PORTFILE LOGFILE
"""
import hashlib
import http.server
import json
import os
import re
import sys
import threading
import urllib.parse
import uuid

PORTFILE, LOGFILE = sys.argv[1:3]
NAME = r"([a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)"
INDEX_MT = "application/vnd.oci.image.index.v1+json"
blobs, manifests, tags, uploads = {}, {}, {}, {}
lock = threading.Lock()


def log(line):
    with open(LOGFILE, "a") as f:
        f.write(line + "\n")


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send(self, status, body=b"", ctype="application/json", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, code):
        self.send(status, json.dumps({"errors": [{"code": code, "message": code}]}).encode())

    def referrers(self, name, digest):
        out = []
        for d, (mt, data) in sorted(manifests.items()):
            m = json.loads(data)
            if (m.get("subject") or {}).get("digest") != digest:
                continue
            e = {"mediaType": mt, "digest": d, "size": len(data)}
            at = m.get("artifactType") or (m.get("config") or {}).get("mediaType")
            if at:
                e["artifactType"] = at
            if m.get("annotations"):
                e["annotations"] = m["annotations"]
            out.append(e)
        body = json.dumps({"schemaVersion": 2, "mediaType": INDEX_MT, "manifests": out}).encode()
        self.send(200, body, INDEX_MT)

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        if path == "/v2/":
            return self.send(200, b"{}")
        m = re.match(r"^/v2/%s/referrers/(sha256:[a-f0-9]{64})$" % NAME, path)
        if m:
            return self.referrers(m.group(1), m.group(2))
        m = re.match(r"^/v2/%s/manifests/([^/]+)$" % NAME, path)
        if m:
            ref = m.group(2)
            d = ref if ref.startswith("sha256:") else tags.get((m.group(1), ref))
            if d not in manifests:
                return self.error(404, "MANIFEST_UNKNOWN")
            mt, data = manifests[d]
            return self.send(200, data, mt, [("Docker-Content-Digest", d)])
        m = re.match(r"^/v2/%s/blobs/(sha256:[a-f0-9]{64})$" % NAME, path)
        if m:
            if m.group(2) not in blobs:
                return self.error(404, "BLOB_UNKNOWN")
            return self.send(200, blobs[m.group(2)], "application/octet-stream",
                             [("Docker-Content-Digest", m.group(2))])
        return self.error(404, "NOT_FOUND")

    do_HEAD = do_GET

    def do_POST(self):
        m = re.match(r"^/v2/%s/blobs/uploads/$" % NAME, urllib.parse.urlsplit(self.path).path)
        if not m:
            return self.error(404, "NOT_FOUND")
        self.body()
        u = uuid.uuid4().hex
        uploads[u] = b""
        self.send(202, b"", headers=[("Location", "/v2/%s/blobs/uploads/%s" % (m.group(1), u)),
                                     ("Range", "0-0")])

    def do_PATCH(self):
        m = re.match(r"^/v2/%s/blobs/uploads/([a-f0-9]+)$" % NAME, urllib.parse.urlsplit(self.path).path)
        if not m or m.group(2) not in uploads:
            return self.error(404, "BLOB_UPLOAD_UNKNOWN")
        data = self.chunked() if self.headers.get("Transfer-Encoding") == "chunked" else self.body()
        uploads[m.group(2)] += data
        n = len(uploads[m.group(2)])
        self.send(202, b"", headers=[("Location", self.path), ("Range", "0-%d" % max(n - 1, 0))])

    def chunked(self):
        out = b""
        while True:
            n = int(self.rfile.readline().strip().split(b";")[0], 16)
            if n == 0:
                self.rfile.readline()
                return out
            out += self.rfile.read(n)
            self.rfile.readline()

    def do_PUT(self):
        url = urllib.parse.urlsplit(self.path)
        m = re.match(r"^/v2/%s/blobs/uploads/([a-f0-9]+)$" % NAME, url.path)
        if m:
            data = uploads.pop(m.group(2), None)
            if data is None:
                return self.error(404, "BLOB_UPLOAD_UNKNOWN")
            data += self.body()
            d = urllib.parse.parse_qs(url.query).get("digest", [""])[0]
            if sha(data) != d:
                return self.error(400, "DIGEST_INVALID")
            blobs[d] = data
            return self.send(201, b"", headers=[("Location", "/v2/%s/blobs/%s" % (m.group(1), d)),
                                                ("Docker-Content-Digest", d)])
        m = re.match(r"^/v2/%s/manifests/([^/]+)$" % NAME, url.path)
        if not m:
            return self.error(404, "NOT_FOUND")
        data = self.body()
        d = sha(data)
        subject = (json.loads(data).get("subject") or {}).get("digest")
        with lock:
            manifests[d] = (self.headers.get("Content-Type"), data)
            if not m.group(2).startswith("sha256:"):
                tags[(m.group(1), m.group(2))] = d
        log("PUT %s %s subject=%s" % (m.group(1), m.group(2), subject or "-"))
        headers = [("Docker-Content-Digest", d), ("Location", "/v2/%s/manifests/%s" % (m.group(1), d))]
        if subject:
            headers.append(("OCI-Subject", subject))
        self.send(201, b"", headers=headers)


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
