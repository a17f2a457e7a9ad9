// Verify a Sigstore bundle for an image with sigstore-js (@sigstore/verify,
// @sigstore/bundle), independent of coco-img, the way `cosign verify --key
// PUB --insecure-ignore-tlog` accepts a key-signed bundle without a log
// entry: the bundle must parse and validate as a v0.3 bundle, its public
// key hint must name PUB (the key is looked up by the hint:
// base64(SHA-256(SPKI DER))), the DSSE signature must verify with PUB, and
// no transparency-log entry, timestamp or SCT is required.  sigstore-js
// does not look inside a DSSE payload, so the image binding is checked
// here as cosign does it: an in-toto statement whose predicateType is
// https://sigstore.dev/cosign/sign/v1 and whose one subject has the
// sha256 digest DIGEST.
//
// usage: node sigstore_verify.js NODE_MODULES BUNDLE PUB.pem sha256:HEX
// Prints "verified" and exits 0, or prints why and exits 1.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const [modules, bundlePath, pubPath, digest] = process.argv.slice(2);
const { bundleFromJSON } = require(path.join(modules, '@sigstore/bundle'));
const { Verifier, toSignedEntity, toTrustMaterial } = require(path.join(modules, '@sigstore/verify'));

function fail(msg) {
  console.log('refused: ' + msg);
  process.exit(1);
}

let bundle;
try {
  bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
} catch (e) {
  fail('bundle: ' + e.message);
}
if (bundle.mediaType !== 'application/vnd.dev.sigstore.bundle.v0.3+json')
  fail('media type ' + bundle.mediaType);

const spki = crypto.createPublicKey(fs.readFileSync(pubPath)).export({ type: 'spki', format: 'der' });
const hint = crypto.createHash('sha256').update(spki).digest('base64');
const trustedRoot = { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] };
const material = toTrustMaterial(trustedRoot, { [hint]: { rawBytes: spki } });
const verifier = new Verifier(material, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
try {
  verifier.verify(toSignedEntity(bundle));
} catch (e) {
  fail((e.code || 'error') + ': ' + e.message);
}

if (bundle.content.$case !== 'dsseEnvelope') fail('not a DSSE envelope');
const env = bundle.content.dsseEnvelope;
if (env.payloadType !== 'application/vnd.in-toto+json') fail('payload type ' + env.payloadType);
const st = JSON.parse(Buffer.from(env.payload).toString('utf8'));
if (st._type !== 'https://in-toto.io/Statement/v1') fail('statement type ' + st._type);
if (st.predicateType !== 'https://sigstore.dev/cosign/sign/v1') fail('predicate type ' + st.predicateType);
if (!Array.isArray(st.subject) || st.subject.length !== 1) fail('not one subject');
if ('sha256:' + st.subject[0].digest.sha256 !== digest) fail('subject is ' + JSON.stringify(st.subject[0].digest));
console.log('verified');
