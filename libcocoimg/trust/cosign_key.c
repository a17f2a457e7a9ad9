/*
 * Private keys for `coco-img sign`: PEM PKCS#8 / SEC1 / PKCS#1 through
 * OpenSSL, and cosign's own encrypted format:
 *
 *   -----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----   (or ... COSIGN ...)
 *   base64 of {"kdf":{"name":"scrypt","params":{"N":..,"r":8,"p":1},"salt":B64},
 *              "cipher":{"name":"nacl/secretbox","nonce":B64},"ciphertext":B64}
 *
 * key = scrypt(passphrase, salt, N, r, p, 32); plaintext = secretbox_open
 * (XSalsa20-Poly1305, tag first) = PKCS#8 DER.  libsodium does both.
 */
#include "trust.h"
#include "sigstore.h"
#include "../base.h"
#include "../json.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if HAVE_SODIUM
#include <sodium.h>
#endif

/* Key and passphrase files are small; read them into one exactly-sized
 * allocation so no stray copies of the secret are left behind. */
#define MAX_SECRET_FILE (1024 * 1024)

static int read_secret_file(cocoimg_ctx *ctx, const char *path, const char *what,
                            unsigned char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return coco_seterr(ctx, COCOIMG_EINVAL, "cannot open %s %s: %s", what, path,
		                   strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_SECRET_FILE) {
		close(fd);
		return coco_seterr(ctx, COCOIMG_EINVAL, "%s %s: not a regular file of at most %d bytes",
		                   what, path, MAX_SECRET_FILE);
	}
	size_t cap = (size_t)st.st_size;
	unsigned char *b = malloc(cap + 1);
	if (!b) {
		close(fd);
		return coco_oom(ctx);
	}
	size_t n = 0;
	while (n < cap) {
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			coco_free_secret(b, cap + 1);
			return coco_seterr(ctx, COCOIMG_EIO, "cannot read %s %s: %s", what, path,
			                   strerror(e));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	b[n] = 0;
	*out = b;
	*len = n;
	return 0;
}

int coco_passphrase_read_file(cocoimg_ctx *ctx, const char *path, char **out)
{
	unsigned char *b;
	size_t len;
	int rc = read_secret_file(ctx, path, "passphrase file", &b, &len);
	if (rc)
		return rc;
	/* the first line, without its '\n' (a '\r' stays, as in Go) */
	unsigned char *nl = memchr(b, '\n', len);
	size_t plen = nl ? (size_t)(nl - b) : len;
	char *p = malloc(plen + 1);
	if (!p) {
		coco_free_secret(b, len + 1);
		return coco_oom(ctx);
	}
	memcpy(p, b, plen);
	p[plen] = 0;
	coco_free_secret(b, len + 1);
	*out = p;
	return 0;
}

/* ------------------------------------------------------------------ */
/* cosign's encrypted container                                        */
/* ------------------------------------------------------------------ */

void coco_cosign_encrypted_clear(coco_cosign_encrypted *e)
{
	if (!e)
		return;
	coco_buf_free(&e->salt);
	coco_buf_free(&e->nonce);
	coco_buf_wipe_free(&e->ciphertext);
	memset(e, 0, sizeof(*e));
}

static int enc_err(cocoimg_ctx *ctx, const char *what, const char *why)
{
	return coco_seterr(ctx, COCOIMG_ECONFIG, "%s: malformed encrypted cosign key: %s", what,
	                   why);
}

/* A Go []byte member: a standard base64 string (padding required). */
static int b64_member(cocoimg_ctx *ctx, json_t *o, const char *key, const char *what,
                      coco_buf *out)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_string(v))
		return coco_seterr(ctx, COCOIMG_ECONFIG,
		                   "%s: malformed encrypted cosign key: \"%s\" must be a base64 string",
		                   what, key);
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (n % 4 || coco_b64_decode(s, n, out))
		return coco_seterr(ctx, COCOIMG_ECONFIG,
		                   "%s: malformed encrypted cosign key: \"%s\" is not valid base64", what,
		                   key);
	return 0;
}

/* The kdf and cipher: scrypt and nacl/secretbox.  NULL or what is wrong. */
static const char *enc_algorithms(json_t *kdf, json_t *cipher)
{
	json_t *kname = json_object_get(kdf, "name");
	json_t *cname = json_object_get(cipher, "name");
	if (!json_is_object(kdf) || !json_is_object(cipher) ||
	    !json_is_object(json_object_get(kdf, "params")))
		return "kdf, kdf.params and cipher must be objects";
	if (!json_is_string(kname) || strcmp(json_string_value(kname), "scrypt"))
		return "unknown kdf name (scrypt expected)";
	if (!json_is_string(cname) || strcmp(json_string_value(cname), "nacl/secretbox"))
		return "unknown cipher name (nacl/secretbox expected)";
	return NULL;
}

/* The scrypt parameters: the sets current go-securesystemslib / go-tuf
 * accept (legacy 2^15, standard 2^16, OWASP 2^17; r=8, p=1): anything
 * else could be a denial of service.  NULL or what is wrong. */
static const char *enc_scrypt_params(json_t *params, coco_cosign_encrypted *out)
{
	json_t *jn = json_object_get(params, "N"), *jr = json_object_get(params, "r"),
	       *jp = json_object_get(params, "p");
	if (!json_is_integer(jn) || !json_is_integer(jr) || !json_is_integer(jp))
		return "scrypt parameters N, r, p must be integers";
	out->n = (int64_t)json_integer_value(jn);
	out->r = (int64_t)json_integer_value(jr);
	out->p = (int64_t)json_integer_value(jp);
	if (!((out->n == 32768 || out->n == 65536 || out->n == 131072) && out->r == 8 &&
	      out->p == 1))
		return "unexpected scrypt parameters";
	return NULL;
}

/*
 * go-securesystemslib decodes with encoding/json (unknown members ignored);
 * we also ignore unknown members but insist on the types of the known ones.
 */
int coco_cosign_encrypted_parse(cocoimg_ctx *ctx, const void *data, size_t len,
                                const char *what, coco_cosign_encrypted *out)
{
	memset(out, 0, sizeof(*out));
	json_t *j = NULL;
	int rc = coco_json_parse(ctx, data, len, what, COCOIMG_ECONFIG, &j);
	if (rc)
		return rc;
	json_t *kdf = json_object_get(j, "kdf");
	json_t *cipher = json_object_get(j, "cipher");
	const char *why = enc_algorithms(kdf, cipher);
	if (!why)
		why = enc_scrypt_params(json_object_get(kdf, "params"), out);
	rc = why ? enc_err(ctx, what, why) : 0;
	if (!rc)
		rc = b64_member(ctx, kdf, "salt", what, &out->salt);
	if (!rc)
		rc = b64_member(ctx, cipher, "nonce", what, &out->nonce);
	if (!rc)
		rc = b64_member(ctx, j, "ciphertext", what, &out->ciphertext);
	if (!rc && out->nonce.len != 24)
		rc = enc_err(ctx, what, "incorrect nonce size");
	if (!rc && out->ciphertext.len < 16)
		rc = enc_err(ctx, what, "ciphertext too short");
	json_decref(j);
	if (rc)
		coco_cosign_encrypted_clear(out);
	return rc;
}

static int decrypt_cosign(cocoimg_ctx *ctx, const unsigned char *body, size_t body_len,
                          const char *passphrase, const char *what, EVP_PKEY **out)
{
	coco_cosign_encrypted e;
	int rc = coco_cosign_encrypted_parse(ctx, body, body_len, what, &e);
	if (rc)
		return rc;
#if HAVE_SODIUM
	unsigned char key[32];
	unsigned char *plain = NULL;
	size_t plain_len = e.ciphertext.len - 16;
	if (sodium_init() < 0) {
		rc = coco_seterr(ctx, COCOIMG_EINTERNAL, "libsodium initialisation failed");
		goto out;
	}
	/* scrypt with scrypt's own cost parameters */
	const char *pw = passphrase ? passphrase : "";
	if (crypto_pwhash_scryptsalsa208sha256_ll((const uint8_t *)pw, strlen(pw), e.salt.data,
	                                          e.salt.len, (uint64_t)e.n, (uint32_t)e.r,
	                                          (uint32_t)e.p, key, sizeof(key)) != 0) {
		rc = coco_seterr(ctx, COCOIMG_ENOMEM, "%s: scrypt key derivation failed", what);
		goto out;
	}
	plain = malloc(plain_len ? plain_len : 1);
	if (!plain) {
		rc = coco_oom(ctx);
		goto out;
	}
	if (crypto_secretbox_open_easy(plain, e.ciphertext.data, e.ciphertext.len, e.nonce.data,
	                               key) != 0) {
		if (!passphrase)
			rc = coco_seterr(ctx, COCOIMG_ECONFIG,
			                 "%s is encrypted and no passphrase was given (--passphrase-file "
			                 "or COSIGN_PASSWORD)", what);
		else
			rc = coco_seterr(ctx, COCOIMG_ECONFIG,
			                 "cannot decrypt key %s: wrong passphrase or corrupted key", what);
		goto out;
	}
	const unsigned char *p = plain;
	EVP_PKEY *k = d2i_AutoPrivateKey(NULL, &p, (long)plain_len);
	if (!k || p != plain + plain_len) {
		EVP_PKEY_free(k);
		rc = coco_seterr(ctx, COCOIMG_ECONFIG, "%s: the decrypted key is not PKCS#8 DER", what);
		goto out;
	}
	*out = k;
out:
	coco_wipe(key, sizeof(key));
	coco_free_secret(plain, plain_len ? plain_len : 1);
#else
	(void)passphrase;
	(void)out;
	rc = coco_seterr(ctx, COCOIMG_EUNSUPPORTED,
	                 "%s: cosign encrypted keys need libsodium, which this build lacks", what);
#endif
	coco_cosign_encrypted_clear(&e);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Loading                                                             */
/* ------------------------------------------------------------------ */

typedef struct {
	const char *pass;
	bool asked;
} pw_state;

static int pem_pw_cb(char *buf, int size, int rwflag, void *u)
{
	(void)rwflag;
	pw_state *st = u;
	st->asked = true;
	if (!st->pass)
		return -1;
	size_t n = strlen(st->pass);
	if (n > (size_t)size)
		return -1;
	memcpy(buf, st->pass, n);
	return (int)n;
}

static int check_signing_key(cocoimg_ctx *ctx, EVP_PKEY *k, const char *what)
{
	switch (EVP_PKEY_get_base_id(k)) {
	case EVP_PKEY_RSA:
		if (EVP_PKEY_get_bits(k) < 2048)
			return coco_seterr(ctx, COCOIMG_ECONFIG,
			                   "%s: RSA keys shorter than 2048 bits are not accepted", what);
		return 0;
	case EVP_PKEY_ED25519:
		return 0;
	case EVP_PKEY_EC: {
		char curve[64];
		size_t clen = 0;
		if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, curve,
		                                   sizeof(curve), &clen) &&
		    (!strcmp(curve, "prime256v1") || !strcmp(curve, "secp384r1") ||
		     !strcmp(curve, "secp521r1")))
			return 0;
		return coco_seterr(ctx, COCOIMG_ECONFIG,
		                   "%s: unsupported elliptic curve (P-256, P-384 or P-521 needed)", what);
	}
	default:
		return coco_seterr(ctx, COCOIMG_ECONFIG,
		                   "%s: unsupported key type (ECDSA, RSA or Ed25519 needed)", what);
	}
}

int coco_cosign_privkey_encrypted(const unsigned char *pem, size_t len)
{
	coco_pem_block blk;
	int enc = 0;
	if (coco_pem_first_block(pem, len, &blk) == 0)
		enc = !strcmp(blk.name, "ENCRYPTED SIGSTORE PRIVATE KEY") ||
		      !strcmp(blk.name, "ENCRYPTED COSIGN PRIVATE KEY") ||
		      !strcmp(blk.name, "ENCRYPTED PRIVATE KEY") ||
		      (blk.header && strstr(blk.header, "Proc-Type: 4,ENCRYPTED"));
	coco_pem_block_free(&blk, true);
	return enc;
}

int coco_cosign_privkey_load(cocoimg_ctx *ctx, const unsigned char *pem, size_t len,
                             const char *passphrase, const char *what, EVP_PKEY **out)
{
	*out = NULL;
	if (len > INT32_MAX)
		return coco_seterr(ctx, COCOIMG_ECONFIG, "%s: too large", what);
	coco_pem_block blk;
	BIO *bio = NULL;
	int rc = coco_pem_first_block(pem, len, &blk);
	if (rc == COCOIMG_ENOMEM)
		return coco_oom(ctx);
	if (rc) {
		rc = coco_seterr(ctx, COCOIMG_ECONFIG, "%s: no PEM private key found", what);
		goto out;
	}
	if (!strcmp(blk.name, "ENCRYPTED SIGSTORE PRIVATE KEY") ||
	    !strcmp(blk.name, "ENCRYPTED COSIGN PRIVATE KEY")) {
		rc = decrypt_cosign(ctx, blk.der, (size_t)blk.len, passphrase, what, out);
	} else {
		/* let OpenSSL handle PKCS#8 (plain or encrypted), SEC1 and
		 * PKCS#1 from the start of the data again */
		bio = BIO_new_mem_buf(pem, (int)len);
		pw_state st = { passphrase, false };
		*out = bio ? PEM_read_bio_PrivateKey_ex(bio, NULL, pem_pw_cb, &st, NULL, NULL) : NULL;
		if (!*out) {
			if (st.asked && !passphrase)
				rc = coco_seterr(ctx, COCOIMG_ECONFIG,
				                 "%s is encrypted: give its passphrase with --passphrase-file",
				                 what);
			else if (st.asked)
				rc = coco_seterr(ctx, COCOIMG_ECONFIG,
				                 "cannot decrypt key %s: wrong passphrase or corrupted key",
				                 what);
			else
				rc = coco_seterr(ctx, COCOIMG_ECONFIG,
				                 "%s: not a usable private key (PEM block \"%.40s\")", what,
				                 blk.name);
		}
	}
	if (!rc && *out && (rc = check_signing_key(ctx, *out, what))) {
		EVP_PKEY_free(*out);
		*out = NULL;
	}
out:
	coco_pem_block_free(&blk, true);
	BIO_free(bio);
	ERR_clear_error();
	return rc;
}
