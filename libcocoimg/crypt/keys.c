/*
 * Keyring and key files: recipients (jwe:PUBKEY, pkcs7:CERT, provider:,
 * coco:) and decryption keys (FILE[:PASSWORD], provider:, coco-keys:).
 *
 * Accepted private keys: PEM or DER, PKCS#1, PKCS#8 (also encrypted),
 * SEC1, legacy encrypted PEM ("Proc-Type: 4,ENCRYPTED"), JWK (RSA/EC).
 * This is a superset of what ocicrypt reads (it refuses PEM SEC1 and
 * encrypted PKCS#8).  Error messages name the file, never its contents.
 */
#include "crypt.h"
#include "../api.h"
#include "../base.h"
#include "../json.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_KEYFILE (1024 * 1024)

int coco_keyring_alloc(cocoimg_keyring **out)
{
	if (!out)
		return COCOIMG_EINVAL;
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : COCOIMG_ENOMEM;
}

void coco_keyring_set_provider_ops(cocoimg_keyring *kr, const coco_provider_ops *ops,
                                   void *payload)
{
	kr->provider_ops = ops;
	kr->provider_payload = ops ? payload : NULL;
}

void coco_key_clear(coco_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	X509_free(k->cert);
	COCO_FREE_SECRETS(k->provider_opts);
	if (k->kek)
		coco_free_secret(k->kek, k->kek_len);
	if (k->keys) {
		/* The keys file maps resource paths to base64 KEKs: wipe the
		 * values in place before jansson frees them. */
		const char *name;
		json_t *v;
		json_object_foreach(k->keys, name, v) {
			if (json_is_string(v))
				coco_wipe((void *)json_string_value(v), json_string_length(v));
		}
		json_decref(k->keys);
	}
	COCO_FREE_FIELDS(k->label, k->provider, k->kid, k->keys_dir, k->jwk_kid, k->jwk_alg);
	memset(k, 0, sizeof(*k));
}

void cocoimg_keyring_free(cocoimg_keyring *kr)
{
	if (!kr)
		return;
	COCO_FREE_ARRAY(kr->keys, kr->n_keys, coco_key_clear);
	free(kr);
}

int coco_keyring_push(cocoimg_ctx *ctx, cocoimg_keyring *kr, coco_key *k)
{
	coco_key *n = k->label ? realloc(kr->keys, (kr->n_keys + 1) * sizeof(*n)) : NULL;
	if (!n) {
		coco_key_clear(k);
		return coco_oom(ctx);
	}
	kr->keys = n;
	kr->keys[kr->n_keys++] = *k;
	memset(k, 0, sizeof(*k));
	return 0;
}

bool coco_keyring_has_recipients(const cocoimg_keyring *kr)
{
	for (size_t i = 0; kr && i < kr->n_keys; i++)
		if (kr->keys[i].recipient)
			return true;
	return false;
}

char **coco_kw_annotation_if(cocoimg_keyring *kr, bool (*is_recipient)(const coco_key *k),
                             const char *name)
{
	for (size_t i = 0; i < kr->n_keys; i++) {
		if (is_recipient(&kr->keys[i])) {
			char **v = calloc(2, sizeof(char *));
			if (v && !(v[0] = coco_strdup(name))) {
				free(v);
				v = NULL;
			}
			return v;
		}
	}
	return NULL;
}

void coco_tried_note(coco_buf *tried, const char *fmt, ...)
{
	if (!tried)
		return;
	if (tried->len && coco_buf_append(tried, "; ", 2))
		return;
	char line[768];             /* one note; the whole message is bounded by ctx */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	coco_buf_append(tried, line, strlen(line));
	coco_buf_cstr(tried);
}

/* ---- files ---- */

static bool looks_pem(const coco_buf *b)
{
	return memmem(b->data, b->len, "-----BEGIN ", 11) != NULL;
}

static bool looks_json(const coco_buf *b)
{
	for (size_t i = 0; i < b->len; i++) {
		unsigned char c = b->data[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		return c == '{';
	}
	return false;
}

static int read_keyfile(cocoimg_ctx *ctx, const char *path, coco_buf *out)
{
	if (coco_name_is_uri(path))   /* a key released by the trust broker */
		return coco_read_named(ctx, path, MAX_KEYFILE, "decryption key", COCOIMG_ENOKEY, out,
		                       COCOIMG_EINVAL);
	int rc = coco_read_file(ctx, path, MAX_KEYFILE, out, COCOIMG_EINVAL);
	if (rc && rc != COCOIMG_ENOMEM)
		return coco_seterr(ctx, rc == COCOIMG_EINVAL ? COCOIMG_EINVAL : rc,
		                   "cannot read key file %s", path);
	return rc;
}

static json_t *load_jwk(const coco_buf *b)
{
	json_error_t e;
	json_t *j = json_loadb((const char *)b->data, b->len, 0, &e);
	if (j && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static void jwk_meta(json_t *jwk, coco_key *k)
{
	json_t *kid = json_object_get(jwk, "kid");
	json_t *alg = json_object_get(jwk, "alg");
	if (json_is_string(kid))
		k->jwk_kid = coco_strdup(json_string_value(kid));
	if (json_is_string(alg))
		k->jwk_alg = coco_strdup(json_string_value(alg));
}

static void wipe_jwk(json_t *jwk)
{
	static const char *const secret[] = { "d", "p", "q", "dp", "dq", "qi", "k" };
	for (size_t i = 0; jwk && i < COCO_ARRAY_SIZE(secret); i++) {
		json_t *v = json_object_get(jwk, secret[i]);
		if (json_is_string(v))
			coco_wipe((void *)json_string_value(v), json_string_length(v));
	}
	json_decref(jwk);
}

/* The key of a JWK file (public or private half); its kid and alg go to k. */
static EVP_PKEY *pkey_from_jwk(const coco_buf *b, bool priv, coco_key *k)
{
	json_t *jwk = load_jwk(b);
	EVP_PKEY *pk = coco_jwk_to_pkey(jwk, priv);
	if (pk)
		jwk_meta(jwk, k);
	wipe_jwk(jwk);
	return pk;
}

static X509 *parse_cert(const coco_buf *b)
{
	X509 *c = NULL;
	if (looks_pem(b)) {
		BIO *bio = BIO_new_mem_buf(b->data, (int)b->len);
		c = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
	} else {
		const unsigned char *p = b->data;
		c = d2i_X509(NULL, &p, (long)b->len);
	}
	ERR_clear_error();
	return c;
}

/* A public key file: JWK, or PEM / DER SubjectPublicKeyInfo, or a
 * certificate (its key). */
static EVP_PKEY *parse_public_key(const coco_buf *b, coco_key *k)
{
	if (looks_json(b))
		return pkey_from_jwk(b, false, k);
	EVP_PKEY *pk = NULL;
	if (looks_pem(b)) {
		BIO *bio = BIO_new_mem_buf(b->data, (int)b->len);
		pk = bio ? PEM_read_bio_PUBKEY_ex(bio, NULL, NULL, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
	} else {
		const unsigned char *p = b->data;
		pk = d2i_PUBKEY(NULL, &p, (long)b->len);
	}
	if (!pk) {
		X509 *c = parse_cert(b);
		if (c)
			pk = X509_get_pubkey(c);
		X509_free(c);
	}
	return pk;
}

int coco_load_public_key(cocoimg_ctx *ctx, const char *path, coco_key *k)
{
	coco_buf b = COCO_BUF_INIT;
	int rc = read_keyfile(ctx, path, &b);
	if (rc)
		return rc;
	EVP_PKEY *pk = parse_public_key(&b, k);
	coco_buf_free(&b);
	ERR_clear_error();
	if (!pk)
		return coco_seterr(ctx, COCOIMG_ECONFIG,
		                   "%s: not a public key (expected PEM or DER SubjectPublicKeyInfo, "
		                   "or a JWK)", path);
	if (!EVP_PKEY_is_a(pk, "RSA") && !EVP_PKEY_is_a(pk, "EC")) {
		EVP_PKEY_free(pk);
		return coco_seterr(ctx, COCOIMG_ECONFIG, "%s: only RSA and EC keys can be JWE recipients",
		                   path);
	}
	k->pkey = pk;
	return 0;
}

int coco_load_cert(cocoimg_ctx *ctx, const char *path, coco_key *k)
{
	coco_buf b = COCO_BUF_INIT;
	int rc = read_keyfile(ctx, path, &b);
	if (rc)
		return rc;
	X509 *c = parse_cert(&b);
	coco_buf_free(&b);
	if (!c)
		return coco_seterr(ctx, COCOIMG_ECONFIG, "%s: not an X.509 certificate (PEM or DER)",
		                   path);
	EVP_PKEY *pk = X509_get_pubkey(c);
	if (!pk || !EVP_PKEY_is_a(pk, "RSA")) {
		EVP_PKEY_free(pk);
		X509_free(c);
		return coco_seterr(ctx, COCOIMG_ECONFIG,
		                   "%s: pkcs7 recipients need a certificate with an RSA key", path);
	}
	k->cert = c;
	k->pkey = pk;
	return 0;
}

typedef struct {
	const char *pw;
	size_t len;
	bool asked;
} pw_state;

static int pem_pw_cb(char *buf, int size, int rwflag, void *u)
{
	pw_state *s = u;
	(void)rwflag;
	s->asked = true;
	if (!s->pw || s->len > (size_t)size)
		return -1;
	memcpy(buf, s->pw, s->len);
	return (int)s->len;
}

static int ossl_pw_cb(char *pass, size_t size, size_t *len, const OSSL_PARAM params[], void *u)
{
	pw_state *s = u;
	(void)params;
	s->asked = true;
	if (!s->pw || s->len > size)
		return 0;
	memcpy(pass, s->pw, s->len);
	*len = s->len;
	return 1;
}

int coco_load_private(cocoimg_ctx *ctx, const char *path, const char *password, size_t pwlen,
                      coco_key *k)
{
	coco_buf b = COCO_BUF_INIT;
	int rc = read_keyfile(ctx, path, &b);
	if (rc)
		return rc;
	EVP_PKEY *pk = NULL;
	X509 *cert = NULL;
	pw_state pws = { password, pwlen, false };
	if (looks_json(&b)) {
		pk = pkey_from_jwk(&b, true, k);
	} else if (looks_pem(&b)) {
		BIO *bio = BIO_new_mem_buf(b.data, (int)b.len);
		pk = bio ? PEM_read_bio_PrivateKey_ex(bio, NULL, pem_pw_cb, &pws, NULL, NULL) : NULL;
		BIO_free(bio);
		cert = parse_cert(&b);
	} else {
		OSSL_DECODER_CTX *d = OSSL_DECODER_CTX_new_for_pkey(&pk, "DER", NULL, NULL,
		                                                    EVP_PKEY_KEYPAIR, NULL, NULL);
		if (d && OSSL_DECODER_CTX_set_passphrase_cb(d, ossl_pw_cb, &pws)) {
			const unsigned char *p = b.data;
			size_t l = b.len;
			if (!OSSL_DECODER_from_data(d, &p, &l))
				pk = NULL;
		}
		OSSL_DECODER_CTX_free(d);
		if (!pk)
			cert = parse_cert(&b);
	}
	coco_buf_wipe_free(&b);
	ERR_clear_error();
	if (!pk && cert) {
		/* a certificate given as a decryption key: pkcs7 needs it next to
		 * the private key */
		k->kind = COCO_KEY_CERT;
		k->cert = cert;
		k->pkey = X509_get_pubkey(cert);
		return 0;
	}
	if (!pk) {
		if (pws.asked && !password)
			return coco_seterr(ctx, COCOIMG_EINVAL,
			                   "%s: the private key is encrypted: give its password as "
			                   "%s:PASSWORD (or :file=PATH, :fd=N)", path, path);
		if (pws.asked)
			return coco_seterr(ctx, COCOIMG_EINVAL,
			                   "%s: cannot decrypt the private key: wrong password?", path);
		return coco_seterr(ctx, COCOIMG_ECONFIG,
		                   "%s: not a private key or certificate (expected PEM or DER "
		                   "PKCS#1, PKCS#8, SEC1, or a JWK)", path);
	}
	if (!EVP_PKEY_is_a(pk, "RSA") && !EVP_PKEY_is_a(pk, "EC")) {
		EVP_PKEY_free(pk);
		X509_free(cert);
		/* a well-formed key of a type no layer recipient can use
		 * (X25519, Ed25519...): "no usable key" */
		return coco_seterr(ctx, COCOIMG_ENOKEY,
		                   "%s: no usable key: only RSA and EC private keys open encrypted "
		                   "layers", path);
	}
	k->kind = COCO_KEY_PRIVATE;
	k->pkey = pk;
	k->cert = cert;
	return 0;
}

/* ---- specs ---- */

static bool is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
}

/* The password part of FILE:PASSWORD: pass=X, file=PATH, fd=N or X
 * (containers/ocicrypt helpers/parse_helpers.go). */
/* A password read from a file or descriptor ends at its line end (ocicrypt
 * keeps a trailing newline; keys written by tools rarely have one). */
static void chomp(coco_buf *pw)
{
	while (pw->len && (pw->data[pw->len - 1] == '\n' || pw->data[pw->len - 1] == '\r'))
		pw->len--;
}

/* fd=N: one read of the password from an inherited descriptor. */
static int password_from_fd(cocoimg_ctx *ctx, const char *file, const char *num, coco_buf *pw)
{
	char *end = NULL;
	long fd = strtol(num, &end, 10);
	if (!end || *end || fd < 0 || fd > 65535)
		return coco_seterr(ctx, COCOIMG_EINVAL, "%s: bad password file descriptor", file);
	unsigned char tmp[1024];
	ssize_t n = read((int)fd, tmp, sizeof(tmp));
	if (n < 0)
		return coco_seterr(ctx, COCOIMG_EINVAL, "%s: cannot read the password file descriptor",
		                   file);
	int rc = coco_buf_append(pw, tmp, (size_t)n) ? coco_oom(ctx) : 0;
	coco_wipe(tmp, sizeof(tmp));
	if (!rc)
		chomp(pw);
	return rc;
}

static int password_of(cocoimg_ctx *ctx, const char *file, const char *spec, coco_buf *pw)
{
	if (!strncmp(spec, "fd=", 3))
		return password_from_fd(ctx, file, spec + 3, pw);
	if (!strncmp(spec, "file=", 5)) {
		int rc = coco_read_file(ctx, spec + 5, 64 * 1024, pw, COCOIMG_EINVAL);
		if (rc && rc != COCOIMG_ENOMEM)
			return coco_seterr(ctx, COCOIMG_EINVAL, "cannot read the password file for %s",
			                   file);
		if (!rc)
			chomp(pw);
		return rc;
	}
	if (!strncmp(spec, "pass=", 5))
		spec += 5;
	return coco_buf_append(pw, spec, strlen(spec)) ? coco_oom(ctx) : 0;
}

/*
 * URI:PASSWORD: a resource URI's password follows the first colon of its
 * path (after kbs://AUTHORITY/), as resource names hold no colon (Trustee
 * serves REPO/TYPE/TAG of [A-Za-z0-9_.-] only).  *pwspec NULL: none.
 */
static char *split_uri_password(const char *spec, const char **pwspec)
{
	*pwspec = NULL;
	const char *p = strstr(spec, "://");
	p = p ? strchr(p + 3, '/') : NULL;
	const char *c = p ? strchr(p, ':') : NULL;
	if (!c)
		return coco_strdup(spec);
	*pwspec = c + 1;
	return coco_strndup(spec, (size_t)(c - spec));
}

static int add_private_file(cocoimg_ctx *ctx, cocoimg_keyring *kr, const char *spec)
{
	char *file = NULL;
	const char *pwspec = NULL;
	/* Split FILE:PASSWORD only if the whole spec is not a file: at the
	 * first colon whose prefix names an existing file. */
	if (coco_name_is_uri(spec)) {
		file = split_uri_password(spec, &pwspec);
	} else if (is_file(spec)) {
		file = coco_strdup(spec);
	} else {
		for (const char *c = strchr(spec, ':'); c; c = strchr(c + 1, ':')) {
			char *f = coco_strndup(spec, (size_t)(c - spec));
			if (!f)
				return coco_oom(ctx);
			if (is_file(f)) {
				file = f;
				pwspec = c + 1;
				break;
			}
			free(f);
		}
		if (!file) {
			/* name only what cannot be a password: the part before
			 * the first colon */
			const char *c = strchr(spec, ':');
			return coco_seterr(ctx, COCOIMG_EINVAL, "decryption key file %.*s does not exist",
			                   c ? (int)(c - spec) : (int)strlen(spec), spec);
		}
	}
	if (!file)
		return coco_oom(ctx);
	coco_buf pw = COCO_BUF_INIT;
	int rc = pwspec ? password_of(ctx, file, pwspec, &pw) : 0;
	coco_key k;
	memset(&k, 0, sizeof(k));
	if (!rc)
		rc = coco_load_private(ctx, file, pwspec ? (const char *)pw.data : NULL,
		                       pwspec ? pw.len : 0, &k);
	coco_buf_wipe_free(&pw);
	if (!rc) {
		k.recipient = false;
		k.label = file;
		file = NULL;
		rc = coco_keyring_push(ctx, kr, &k);
	}
	coco_key_clear(&k);
	free(file);
	return rc;
}

int coco_keyring_add_decryption_key(cocoimg_ctx *ctx, cocoimg_keyring *kr, const char *spec)
{
	if (!kr || !spec || !*spec)
		return coco_seterr(ctx, COCOIMG_EINVAL, "empty decryption key");
	if (!strncmp(spec, "provider:", 9))
		return coco_keyring_add_provider(ctx, kr, spec + 9, false);
	if (!strncmp(spec, "coco-keys:", 10) || !strncmp(spec, "coco:", 5))
		return coco_keyring_add_coco(ctx, kr, spec, false);
	return add_private_file(ctx, kr, spec);
}

int cocoimg_keyring_add_recipient(cocoimg_ctx *ctx, cocoimg_keyring *kr, const char *spec)
{
	COCO_API_ENTER(ctx);
	if (!kr || !spec)
		return coco_seterr(ctx, COCOIMG_EINVAL, "no keyring or no recipient given");
	coco_key k;
	memset(&k, 0, sizeof(k));
	int rc;
	if (!strncmp(spec, "jwe:", 4)) {
		k.kind = COCO_KEY_PUBLIC;
		rc = coco_load_public_key(ctx, spec + 4, &k);
	} else if (!strncmp(spec, "pkcs7:", 6)) {
		k.kind = COCO_KEY_CERT;
		rc = coco_load_cert(ctx, spec + 6, &k);
	} else if (!strncmp(spec, "provider:", 9)) {
		return coco_keyring_add_provider(ctx, kr, spec + 9, true);
	} else if (!strncmp(spec, "coco:", 5)) {
		return coco_keyring_add_coco(ctx, kr, spec, true);
	} else if (!strncmp(spec, "pgp:", 4) || !strncmp(spec, "pkcs11:", 7)) {
		return coco_seterr(ctx, COCOIMG_EINVAL,
		                   "recipient %.*s: pgp and pkcs11 recipients are not supported",
		                   (int)strcspn(spec, ":"), spec);
	} else {
		return coco_seterr(ctx, COCOIMG_EINVAL,
		                   "recipient \"%.200s\": expected jwe:PUBKEY, pkcs7:CERT, "
		                   "provider:NAME[:OPTS] or coco:KID:KEKFILE", spec);
	}
	if (!rc) {
		k.recipient = true;
		k.label = coco_strdup(spec);
		rc = coco_keyring_push(ctx, kr, &k);
	}
	coco_key_clear(&k);
	return rc;
}
