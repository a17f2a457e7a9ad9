"""Spoil one part of a Sigstore bundle (JSON), for the tests that check
that verifiers refuse it.

usage: tamper_bundle.py IN OUT WHAT, WHAT one of
  payload      the DSSE statement's subject digest set to zeros
  payloadtype  the DSSE payload type changed to application/json
  signature    one bit of the DSSE signature flipped
  certificate  one bit of the leaf certificate flipped
  set          one bit of the first tlog entry's SET flipped
  checkpoint   one bit of the signature on its checkpoint flipped
  proof        one bit of the first hash of its inclusion proof flipped
  body         its canonicalized body naming another payload hash
  time         its integrated time moved by one second
"""
import base64
import json
import sys


def flip(s, i=-5):
    r = bytearray(base64.b64decode(s))
    r[i] ^= 1
    return base64.b64encode(bytes(r)).decode()


def b64json(obj, **kw):
    return base64.b64encode(json.dumps(obj, separators=(",", ":"), **kw).encode()).decode()


def checkpoint(e):
    cp = e["inclusionProof"]["checkpoint"]
    note, sigs = cp["envelope"].split("\n\n", 1)
    name, sig = sigs.rstrip("\n").rsplit(" ", 1)
    cp["envelope"] = note + "\n\n" + name + " " + flip(sig) + "\n"


def body(e):
    b = json.loads(base64.b64decode(e["canonicalizedBody"]))
    b["spec"]["payloadHash"]["value"] = "0" * 64
    e["canonicalizedBody"] = b64json(b, sort_keys=True)


def payload(env):
    st = json.loads(base64.b64decode(env["payload"]))
    st["subject"][0]["digest"]["sha256"] = "0" * 64
    env["payload"] = b64json(st)


def main():
    src, dst, what = sys.argv[1:4]
    b = json.load(open(src))
    env = b.get("dsseEnvelope")
    vm = b["verificationMaterial"]
    entry = (vm.get("tlogEntries") or [None])[0]
    if what == "payload":
        payload(env)
    elif what == "payloadtype":
        env["payloadType"] = "application/json"
    elif what == "signature":
        s = env["signatures"][0]
        s["sig"] = flip(s["sig"])
    elif what == "certificate":
        vm["certificate"]["rawBytes"] = flip(vm["certificate"]["rawBytes"], 200)
    elif what == "set":
        p = entry["inclusionPromise"]
        p["signedEntryTimestamp"] = flip(p["signedEntryTimestamp"])
    elif what == "checkpoint":
        checkpoint(entry)
    elif what == "proof":
        h = entry["inclusionProof"]["hashes"]
        h[0] = flip(h[0], 0)
    elif what == "body":
        body(entry)
    elif what == "time":
        entry["integratedTime"] = str(int(entry["integratedTime"]) + 1)
    else:
        sys.exit("tamper_bundle.py: unknown part " + what)
    json.dump(b, open(dst, "w"))


main()
