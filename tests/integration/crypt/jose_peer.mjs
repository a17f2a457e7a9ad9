// An independent JOSE peer for the crypt tests: npm "jose" (pinned by the
// test, installed outside the source tree; its directory in JOSE_MODULE).
//
//   node jose_peer.mjs produce KEYDIR PLAINFILE
//       one JSON line per JWE variant: {"tag","key","want","jwe"}; jwe is
//       the JSON serialization (an object) or the compact string; want is
//       "open" or "refuse" (what ocicrypt's go-jose v4 does with it)
//   node jose_peer.mjs open KEYFILE JWEFILE
//       open a JWE (JSON or compact) with ocicrypt's algorithm list; the
//       plaintext on stdout, exit 0; a refusal: its reason on stderr, exit 3
import { createPrivateKey, createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const jose = await import(pathToFileURL(`${process.env.JOSE_MODULE}/dist/webapi/index.js`).href);

// ocicrypt's key management list (its jwe keywrapper); content
// encryption: what go-jose v4 implements
const KEY_ALGS = ["RSA-OAEP", "RSA-OAEP-256", "ECDH-ES+A128KW", "ECDH-ES+A192KW", "ECDH-ES+A256KW"];
const ENC_ALGS = ["A128GCM", "A192GCM", "A256GCM", "A128CBC-HS256", "A192CBC-HS384", "A256CBC-HS512"];

const pub = (dir, n) => createPublicKey(readFileSync(`${dir}/${n}`));

async function flattened(plain, alg, enc, key, extra = {}, crit = undefined) {
	return new jose.FlattenedEncrypt(plain)
		.setProtectedHeader({ alg, enc, ...extra })
		.encrypt(key, crit ? { crit } : undefined);
}

async function general(plain, enc, recips) {
	const g = new jose.GeneralEncrypt(plain).setProtectedHeader({ enc });
	for (const [alg, key] of recips)
		g.addRecipient(key).setUnprotectedHeader({ alg });
	return g.encrypt();
}

async function produce(dir, plainFile) {
	const plain = readFileSync(plainFile);
	const rsa = pub(dir, "rsa.pub"), rsa2 = pub(dir, "rsa2.pub");
	const ec = pub(dir, "ec.pub"), ec384 = pub(dir, "ec384.pub"), ec521 = pub(dir, "ec521.pub");
	const out = [];
	const add = (tag, key, want, jwe) => out.push({ tag, key, want, jwe });
	// what ocicrypt writes: RSA-OAEP for RSA keys, ECDH-ES+A256KW for EC
	// keys, A256GCM content; and every other pair it accepts
	add("jose-oaep-a256gcm", "rsa.pem", "open", await flattened(plain, "RSA-OAEP", "A256GCM", rsa));
	add("jose-a256kw-p256", "ec.pem", "open", await flattened(plain, "ECDH-ES+A256KW", "A256GCM", ec));
	add("jose-oaep256-a256gcm", "rsa.pem", "open", await flattened(plain, "RSA-OAEP-256", "A256GCM", rsa));
	add("jose-a128kw-p256", "ec.pem", "open", await flattened(plain, "ECDH-ES+A128KW", "A256GCM", ec));
	add("jose-a192kw-p384", "ec384.pem", "open", await flattened(plain, "ECDH-ES+A192KW", "A256GCM", ec384));
	add("jose-a256kw-p521", "ec521.pem", "open", await flattened(plain, "ECDH-ES+A256KW", "A256GCM", ec521));
	for (const enc of ENC_ALGS.filter((e) => e !== "A256GCM"))
		add(`jose-oaep256-${enc.toLowerCase()}`, "rsa2.pem", "open",
		    await flattened(plain, "RSA-OAEP-256", enc, rsa2));
	const g = await general(plain, "A256GCM", [["RSA-OAEP", rsa2], ["ECDH-ES+A256KW", ec]]);
	add("jose-general-rsa", "rsa2.pem", "open", g);
	add("jose-general-ec", "ec.pem", "open", g);
	const c = await new jose.CompactEncrypt(plain).setProtectedHeader({ alg: "RSA-OAEP-256", enc: "A256GCM" })
		.encrypt(rsa);
	add("jose-compact", "rsa.pem", "open", c);
	// refused by go-jose v4 (and so by ocicrypt)
	add("jose-refuse-crit", "rsa.pem", "refuse",
	    await flattened(plain, "RSA-OAEP-256", "A256GCM", rsa, { crit: ["exp"], exp: 4102444800 },
	                    { exp: true }));
	add("jose-refuse-direct", "ec384.pem", "refuse", await flattened(plain, "ECDH-ES", "A256GCM", ec384));
	add("jose-refuse-pbes2", "rsa.pem", "refuse",
	    await general(plain, "A256GCM", [["PBES2-HS256+A128KW", new TextEncoder().encode("a password")],
	                                     ["RSA-OAEP-256", rsa]]));
	for (const v of out)
		process.stdout.write(JSON.stringify(v) + "\n");
}

async function open(keyFile, jweFile) {
	const key = createPrivateKey(readFileSync(keyFile));
	const text = readFileSync(jweFile, "utf8").trim();
	const opts = { keyManagementAlgorithms: KEY_ALGS, contentEncryptionAlgorithms: ENC_ALGS };
	try {
		let r;
		if (!text.startsWith("{"))
			r = await jose.compactDecrypt(text, key, opts);
		else {
			const j = JSON.parse(text);
			r = j.recipients ? await jose.generalDecrypt(j, key, opts)
			                 : await jose.flattenedDecrypt(j, key, opts);
		}
		process.stdout.write(Buffer.from(r.plaintext));
	} catch (e) {
		process.stderr.write(`refused: ${e.code || e.name}: ${e.message}\n`);
		process.exit(3);
	}
}

const [mode, a, b] = process.argv.slice(2);
if (mode === "produce")
	await produce(a, b);
else if (mode === "open")
	await open(a, b);
else {
	process.stderr.write("usage: jose_peer.mjs produce KEYDIR PLAINFILE | open KEYFILE JWEFILE\n");
	process.exit(2);
}
