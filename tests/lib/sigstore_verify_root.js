// Verify a Sigstore bundle for an image with sigstore-js (@sigstore/verify,
// @sigstore/bundle, @sigstore/protobuf-specs), independent of coco-img, the
// way `cosign verify` does without any tlog-skipping option: the trusted
// root (trusted_root.json) names the Rekor log key, the Fulcio CA and the
// CT log key; the verifier's default thresholds are kept (one verified
// transparency-log entry: SET, inclusion proof and signed checkpoint; for a
// certificate, one verified SCT and the chain at the log's integrated
// time).  Then the signer must be KEY (a key-signed bundle, looked up by
// its hint) or carry the SAN IDENTITY and the OIDC issuer ISSUER
// (keyless), and the DSSE payload must be cosign's image statement for
// DIGEST (sigstore-js does not look inside the payload).
//
// usage: node sigstore_verify_root.js NODE_MODULES BUNDLE ROOT.json sha256:HEX
//             (--key PUB.pem | --identity SAN --issuer ISSUER)
// Prints "verified" and exits 0, or prints why and exits 1.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const [modules, bundlePath, rootPath, digest, ...rest] = process.argv.slice(2);
const { bundleFromJSON } = require(path.join(modules, '@sigstore/bundle'));
const { TrustedRoot } = require(path.join(modules, '@sigstore/protobuf-specs'));
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
const root = TrustedRoot.fromJSON(JSON.parse(fs.readFileSync(rootPath, 'utf8')));
const keys = {};
if (opt['--key']) {
  const spki = crypto.createPublicKey(fs.readFileSync(opt['--key'])).export({ type: 'spki', format: 'der' });
  keys[crypto.createHash('sha256').update(spki).digest('base64')] = { rawBytes: spki };
}
const verifier = new Verifier(toTrustMaterial(root, keys));
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
