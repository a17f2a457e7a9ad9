// Verify a Sigstore bundle for an image with sigstore-js (@sigstore/verify,
// @sigstore/bundle, and @sigstore/protobuf-specs for a trusted root),
// independent of coco-img.
//
// Without --root, as `cosign verify --key PUB --insecure-ignore-tlog`
// takes a key-signed bundle that has no log entry: the trust material is
// the key alone, and no transparency-log entry, timestamp or SCT is
// required.
// With --root ROOT.json, as `cosign verify` without any tlog-skipping
// option: the trusted root names the Rekor log key, the Fulcio CA and the
// CT log key, and the verifier keeps its default thresholds (one verified
// log entry: SET, inclusion proof and signed checkpoint; for a
// certificate, one verified SCT and the chain at the log's integrated
// time).
//
// Either way the bundle must be a v0.3 bundle; its signer must be the key
// PUB (looked up by the bundle's hint, base64(SHA-256(SPKI DER)))
// or a certificate with the SAN IDENTITY and the OIDC issuer ISSUER; and,
// since sigstore-js does not look inside a DSSE payload, the payload must
// be cosign's image statement: an in-toto statement whose predicateType is
// https://sigstore.dev/cosign/sign/v1 and whose one subject has the sha256
// digest DIGEST.
//
// usage: node sigstore_verify.js NODE_MODULES BUNDLE sha256:HEX [--root ROOT.json]
//             (--key PUB.pem | --identity SAN --issuer ISSUER)
// Prints "verified" and exits 0, or prints why and exits 1.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const [modules, bundlePath, digest, ...rest] = process.argv.slice(2);
const { bundleFromJSON } = require(path.join(modules, '@sigstore/bundle'));
const { Verifier, toSignedEntity, toTrustMaterial } = require(path.join(modules, '@sigstore/verify'));

function fail(msg) {
  console.log('refused: ' + msg);
  process.exit(1);
}

const opt = {};
for (let i = 0; i < rest.length; i += 2) opt[rest[i]] = rest[i + 1];

let bundle;
try {
  bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
} catch (e) {
  fail('bundle: ' + e.message);
}
if (bundle.mediaType !== 'application/vnd.dev.sigstore.bundle.v0.3+json')
  fail('media type ' + bundle.mediaType);

const keys = {};
if (opt['--key']) {
  const spki = crypto.createPublicKey(fs.readFileSync(opt['--key'])).export({ type: 'spki', format: 'der' });
  keys[crypto.createHash('sha256').update(spki).digest('base64')] = { rawBytes: spki };
}
let verifier;
if (opt['--root']) {
  const { TrustedRoot } = require(path.join(modules, '@sigstore/protobuf-specs'));
  const root = TrustedRoot.fromJSON(JSON.parse(fs.readFileSync(opt['--root'], 'utf8')));
  verifier = new Verifier(toTrustMaterial(root, keys));
} else {
  const empty = { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] };
  verifier = new Verifier(toTrustMaterial(empty, keys),
                          { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
}
const policy = opt['--identity']
  ? { subjectAlternativeName: opt['--identity'], extensions: { issuer: opt['--issuer'] } }
  : undefined;
try {
  verifier.verify(toSignedEntity(bundle), policy);
} catch (e) {
  fail((e.code || 'error') + ': ' + e.message);
}
if (opt['--key'] && bundle.verificationMaterial.content.$case !== 'publicKey') fail('not key-signed');
if (opt['--identity'] && bundle.verificationMaterial.content.$case !== 'certificate') fail('not keyless');

if (bundle.content.$case !== 'dsseEnvelope') fail('not a DSSE envelope');
const env = bundle.content.dsseEnvelope;
if (env.payloadType !== 'application/vnd.in-toto+json') fail('payload type ' + env.payloadType);
const st = JSON.parse(Buffer.from(env.payload).toString('utf8'));
if (st._type !== 'https://in-toto.io/Statement/v1') fail('statement type ' + st._type);
if (st.predicateType !== 'https://sigstore.dev/cosign/sign/v1') fail('predicate type ' + st.predicateType);
if (!Array.isArray(st.subject) || st.subject.length !== 1) fail('not one subject');
if ('sha256:' + st.subject[0].digest.sha256 !== digest) fail('subject is ' + JSON.stringify(st.subject[0].digest));
console.log('verified');
