#!/usr/bin/python3
"""A strict little registry with the OCI referrers API, on 127.0.0.1.

It follows OCI distribution-spec v1.1.0 ("Listing Referrers"): for
GET /v2/<name>/referrers/<digest> it answers 200 with an image index
(Content-Type application/vnd.oci.image.index.v1+json) of the manifests
whose subject is <digest> (an empty list when there are none, never 404),
each descriptor carrying the manifest's artifactType (its own, else its
config's media type) and annotations; a malformed digest is 400
DIGEST_INVALID.  Long lists come in pages of PAGE entries, each page but
the last naming the next with `Link: <URL>; rel="next"`.  In mode "filter"
an artifactType query is applied and announced with
`OCI-Filters-Applied: artifactType`; in mode "nofilter" the query is
ignored, as the spec allows, and the client has to filter.

Manifests and blobs are served by digest from the blobs/sha256 directory
of an OCI layout (LAYOUT); a manifest by tag is 404 MANIFEST_UNKNOWN, so a
client that falls back to the referrers tag schema while the API exists is
seen in the log.  Every request is logged as "METHOD PATH -> STATUS".

usage: referrers_double.py LAYOUT MODE PAGE PORTFILE LOGFILE
"""
import hashlib
import http.server
import json
import os
import re
import sys
import urllib.parse

LAYOUT, MODE, PAGE, PORTFILE, LOGFILE = sys.argv[1:6]
PAGE = int(PAGE)
DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")
NAME_RE = r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*"
INDEX_MT = "application/vnd.oci.image.index.v1+json"


def blob(digest):
    path = os.path.join(LAYOUT, "blobs", "sha256", digest.split(":", 1)[1])
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def referrers_of(subject):
    out = []
    bdir = os.path.join(LAYOUT, "blobs", "sha256")
    for name in sorted(os.listdir(bdir)):
        data = open(os.path.join(bdir, name), "rb").read()
        try:
            m = json.loads(data)
        except ValueError:
            continue
        if not isinstance(m, dict) or (m.get("subject") or {}).get("digest") != subject:
            continue
        d = {"mediaType": m.get("mediaType", "application/vnd.oci.image.manifest.v1+json"),
             "digest": "sha256:" + hashlib.sha256(data).hexdigest(), "size": len(data)}
        at = m.get("artifactType") or (m.get("config") or {}).get("mediaType")
        if at:
            d["artifactType"] = at
        if m.get("annotations"):
            d["annotations"] = m["annotations"]
        out.append(d)
    return out


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, status, body=b"", ctype="application/json", headers=()):
        with open(LOGFILE, "a") as f:
            f.write("%s %s -> %d\n" % (self.command, self.path, status))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, code, msg):
        self.send(status, json.dumps({"errors": [{"code": code, "message": msg}]}).encode())

    def referrers(self, name, digest, query):
        if not DIGEST_RE.match(digest):
            return self.error(400, "DIGEST_INVALID", "invalid digest")
        q = urllib.parse.parse_qs(query)
        refs = referrers_of(digest)
        headers = []
        at = q.get("artifactType", [None])[0]
        if at is not None and MODE == "filter":
            refs = [r for r in refs if r.get("artifactType") == at]
            headers.append(("OCI-Filters-Applied", "artifactType"))
        start = int(q.get("last", ["0"])[0])
        page = refs[start:start + PAGE]
        if start + PAGE < len(refs):
            nq = {"last": str(start + PAGE)}
            if at is not None:
                nq["artifactType"] = at
            headers.append(("Link", '</v2/%s/referrers/%s?%s>; rel="next"'
                            % (name, digest, urllib.parse.urlencode(nq))))
        body = json.dumps({"schemaVersion": 2, "mediaType": INDEX_MT, "manifests": page})
        self.send(200, body.encode(), INDEX_MT, headers)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        if path == "/v2/":
            return self.send(200, b"{}")
        m = re.match(r"^/v2/(%s)/referrers/([^/]+)$" % NAME_RE, path)
        if m:
            return self.referrers(m.group(1), m.group(2), url.query)
        m = re.match(r"^/v2/(%s)/(manifests|blobs)/([^/]+)$" % NAME_RE, path)
        if m:
            ref = m.group(3)
            data = blob(ref) if DIGEST_RE.match(ref) else None
            if data is None:
                code = "MANIFEST_UNKNOWN" if m.group(2) == "manifests" else "BLOB_UNKNOWN"
                return self.error(404, code, "unknown")
            ctype = "application/octet-stream"
            if m.group(2) == "manifests":
                ctype = json.loads(data).get("mediaType", "application/vnd.oci.image.manifest.v1+json")
            return self.send(200, data, ctype, [("Docker-Content-Digest", ref)])
        return self.error(404, "NOT_FOUND", "no such route")

    do_HEAD = do_GET


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
