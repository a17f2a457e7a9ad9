// Make a key-signed Sigstore bundle with @sigstore/sign (an independent
// implementation; the test setup installs it, pinned, outside the tree).
//
//   node sigstore_sign_bundle.js NODE_MODULES KEY.pem dsse SUBJECT_DIGEST OUT [PREDICATE_TYPE]
//       DSSE bundle (v0.3, DSSEBundleBuilder) of an in-toto v1 statement
//       as cosign v3 signs an image: one subject {"digest": {"sha256": HEX}},
//       predicate type https://sigstore.dev/cosign/sign/v1 unless given,
//       predicate {}
//   node sigstore_sign_bundle.js NODE_MODULES KEY.pem message FILE OUT
//       message-signature bundle (MessageSignatureBundleBuilder) over FILE
//
// No witnesses: the bundle carries no transparency-log entry and no
// timestamp (what a key-signed bundle without Rekor is).
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const [nm, keyFile, mode, what, out, predicateType] = process.argv.slice(2);
const sign = require(path.join(nm, '@sigstore/sign'));
const { bundleToJSON } = require(path.join(nm, '@sigstore/bundle'));

const key = crypto.createPrivateKey(fs.readFileSync(keyFile));
const pub = crypto.createPublicKey(key);
const hint = crypto.createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('base64');
const signer = {
  sign: async (data) => ({
    signature: crypto.sign('sha256', data, key),
    key: { $case: 'publicKey', publicKey: pub.export({ type: 'spki', format: 'pem' }), hint },
  }),
};

async function main() {
  let bundle;
  if (mode === 'dsse') {
    const statement = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ digest: { [what.split(':')[0]]: what.split(':')[1] } }],
      predicateType: predicateType || 'https://sigstore.dev/cosign/sign/v1',
      predicate: {},
    };
    const b = new sign.DSSEBundleBuilder({ signer, witnesses: [] });
    bundle = await b.create({ data: Buffer.from(JSON.stringify(statement)), type: 'application/vnd.in-toto+json' });
  } else if (mode === 'message') {
    const b = new sign.MessageSignatureBundleBuilder({ signer, witnesses: [] });
    bundle = await b.create({ data: fs.readFileSync(what) });
  } else {
    throw new Error('mode must be dsse or message');
  }
  fs.writeFileSync(out, JSON.stringify(bundleToJSON(bundle)));
}
main().catch((e) => { console.error(e); process.exit(1); });
