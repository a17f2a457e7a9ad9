/*
 * The ocicrypt layer cipher AES_256_CTR_HMAC_SHA256 (ocicrypt.md section 3):
 * AES-256-CTR with the 16-byte nonce as the whole initial counter block,
 * HMAC-SHA256 with the same key over the ciphertext, and the public /
 * private option documents exactly as containers/ocicrypt writes them.
 */
#include "crypt.h"
#include "../base.h"
#include "../digest.h"
#include "../json.h"
#include "../sha2x.h"
#include "../stream.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

void coco_layer_opts_clear(coco_layer_opts *o)
{
	if (!o)
		return;
	free(o->digest);
	coco_wipe(o, sizeof(*o));
	o->digest = NULL;
}

int coco_layer_opts_generate(cocoimg_ctx *ctx, coco_layer_opts *o, const char *digest)
{
	memset(o, 0, sizeof(*o));
	if (RAND_priv_bytes(o->symkey, sizeof(o->symkey)) != 1 ||
	    RAND_bytes(o->nonce, sizeof(o->nonce)) != 1)
		return coco_seterr(ctx, COCOIMG_EINTERNAL, "random number generator failed");
	o->have_symkey = o->have_nonce = true;
	o->digest = coco_strdup(digest ? digest : "");
	if (!o->digest)
		return coco_oom(ctx);
	return 0;
}

/* Go-compatible JSON string (see coco_json_go_string). */
static int go_json_string(coco_buf *b, const char *s)
{
	return coco_json_go_string(b, s, strlen(s));
}

int coco_privopts_encode(const coco_layer_opts *o, coco_buf *out)
{
	char *k = coco_b64_encode(o->symkey, sizeof(o->symkey));
	char *n = coco_b64_encode(o->nonce, sizeof(o->nonce));
	int rc = COCOIMG_ENOMEM;
	if (!k || !n)
		goto done;
	/* Go struct order: symkey, digest, cipheroptions */
	if (coco_buf_appendf(out, "{\"symkey\":\"%s\",\"digest\":", k) ||
	    go_json_string(out, o->digest ? o->digest : "") ||
	    coco_buf_appendf(out, ",\"cipheroptions\":{\"nonce\":\"%s\"}}", n))
		goto done;
	rc = 0;
done:
	if (k)
		coco_free_secret(k, strlen(k));
	free(n);
	return rc;
}

char *coco_pubopts_encode(const unsigned char hmac[32])
{
	char *h = coco_b64_encode(hmac, 32);
	if (!h)
		return NULL;
	char *s = coco_asprintf("{\"cipher\":\"" COCO_LAYER_CIPHER "\",\"hmac\":\"%s\","
	                        "\"cipheroptions\":{}}", h);
	free(h);
	return s;
}

/* Decode a base64 JSON member into a fixed-size field. */
static int b64_member(cocoimg_ctx *ctx, json_t *obj, const char *key, unsigned char *dst,
                      size_t want, bool *have, const char *what, const char *doc)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: %s: \"%s\" is not a string", what,
		                   doc, key);
	coco_buf b = COCO_BUF_INIT;
	int rc = coco_b64_decode(json_string_value(v), json_string_length(v), &b);
	if (rc == COCOIMG_ENOMEM)
		return rc;
	if (rc || b.len != want) {
		coco_buf_wipe_free(&b);
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: %s: \"%s\" must be %zu bytes of base64",
		                   what, doc, key, want);
	}
	memcpy(dst, b.data, want);
	coco_buf_wipe_free(&b);
	*have = true;
	return 0;
}

int coco_privopts_parse(cocoimg_ctx *ctx, const unsigned char *json, size_t len,
                        const char *what, coco_layer_opts *o)
{
	json_error_t jerr;
	json_t *j = json_loadb((const char *)json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j || !json_is_object(j)) {
		json_decref(j);
		return coco_seterr(ctx, COCOIMG_EBADIMAGE,
		                   "%s: the unwrapped layer options are not a JSON object", what);
	}
	int rc = b64_member(ctx, j, "symkey", o->symkey, 32, &o->have_symkey, what,
	                    "private options");
	json_t *co = json_object_get(j, "cipheroptions");
	if (!rc && co && !json_is_null(co)) {
		if (!json_is_object(co))
			rc = coco_seterr(ctx, COCOIMG_EBADIMAGE,
			                 "%s: private options: cipheroptions is not an object", what);
		else if (!o->have_nonce)
			rc = b64_member(ctx, co, "nonce", o->nonce, 16, &o->have_nonce, what,
			                "private options");
	}
	json_t *d = json_object_get(j, "digest");
	if (!rc && d && !json_is_null(d)) {
		if (!json_is_string(d)) {
			rc = coco_seterr(ctx, COCOIMG_EBADIMAGE,
			                 "%s: private options: digest is not a string", what);
		} else {
			free(o->digest);
			o->digest = coco_strdup(json_string_value(d));
			if (!o->digest)
				rc = coco_oom(ctx);
		}
	}
	if (!rc && !o->have_symkey)
		rc = coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: private options have no symkey", what);
	/* Wipe jansson's copies of the key before freeing. */
	json_t *sk = json_object_get(j, "symkey");
	if (json_is_string(sk))
		coco_wipe((void *)json_string_value(sk), json_string_length(sk));
	json_decref(j);
	return rc;
}

int coco_pubopts_parse(cocoimg_ctx *ctx, const char *b64, const char *what, coco_layer_opts *o)
{
	coco_buf raw = COCO_BUF_INIT;
	json_t *j = NULL;
	int rc;
	if (!b64)
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: encrypted layer has no %s annotation",
		                   what, COCO_ANN_PUBOPTS);
	rc = coco_b64_decode(b64, strlen(b64), &raw);
	if (rc)
		return rc == COCOIMG_ENOMEM ? coco_oom(ctx) : coco_seterr(ctx, COCOIMG_EBADIMAGE,
		                                   "%s: %s is not base64", what, COCO_ANN_PUBOPTS);
	json_error_t jerr;
	j = json_loadb((const char *)raw.data, raw.len, 0, &jerr);
	coco_buf_free(&raw);
	if (!j || !json_is_object(j)) {
		json_decref(j);
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: %s is not a JSON object", what,
		                   COCO_ANN_PUBOPTS);
	}
	json_t *c = json_object_get(j, "cipher");
	if (!json_is_string(c) || !*json_string_value(c)) {
		rc = coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: public options name no cipher", what);
		goto out;
	}
	if (strcmp(json_string_value(c), COCO_LAYER_CIPHER)) {
		rc = coco_seterr(ctx, COCOIMG_EUNSUPPORTED, "%s: unsupported layer cipher \"%.64s\"",
		                 what, json_string_value(c));
		goto out;
	}
	rc = b64_member(ctx, j, "hmac", o->hmac, 32, &o->have_hmac, what, "public options");
	if (!rc && !o->have_hmac)
		rc = coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: public options have no hmac", what);
	json_t *co = json_object_get(j, "cipheroptions");
	if (!rc && json_is_object(co) && json_object_get(co, "nonce")) {
		/* a public nonce takes precedence (GetOpt order in Go and Rust) */
		o->have_nonce = false;
		rc = b64_member(ctx, co, "nonce", o->nonce, 16, &o->have_nonce, what,
		                "public options");
	}
out:
	json_decref(j);
	return rc;
}

/* ---- the stages ---- */

typedef struct {
	coco_stage base;
	EVP_CIPHER_CTX *cipher;
	EVP_MAC_CTX *mac;
	unsigned char *buf;        /* made by the first write */
	size_t buf_len;            /* its size */
	size_t bufsz;              /* the most it grows to */
	bool decrypt;
	unsigned char expected[32];
	unsigned char result[32];
	char *what;
	/* with the SHA extensions, the HMAC and the digest of the ciphertext
	 * in one pass (sha2x.h) instead of mac: always when encrypting, when
	 * decrypting if a verify stage takes the digest (digest_to) */
	bool dual;
	bool x_ready;              /* x is initialised */
	coco_sha2x x;
	unsigned char out_digest[32];
	uint64_t out_count;
	coco_digest_sink digest_to;
	void *digest_arg;
} layer_stage;

/* Encrypt in_ into out (n bytes), the HMAC (and with dual the digest)
 * over the ciphertext, a few cache-sized pieces at a time so the hash
 * reads what the cipher just wrote from the cache.  Decrypt: the same
 * over the input.  false when OpenSSL fails. */
static bool crypt_piece(layer_stage *l, const unsigned char *in, unsigned char *out, size_t n)
{
	const size_t piece = 64 * 1024;
	for (size_t off = 0; off < n; off += piece) {
		size_t k = n - off < piece ? n - off : piece;
		int outl = 0;
		if (l->decrypt && l->dual)
			coco_sha2x_update(&l->x, in + off, k);
		else if (l->decrypt && !EVP_MAC_update(l->mac, in + off, k))
			return false;
		if (!EVP_CipherUpdate(l->cipher, out + off, &outl, in + off, (int)k) ||
		    (size_t)outl != k)
			return false;
		if (l->decrypt)
			continue;
		if (l->dual)
			coco_sha2x_update(&l->x, out + off, k);
		else if (!EVP_MAC_update(l->mac, out + off, k))
			return false;
	}
	l->out_count += n;
	return true;
}

static int layer_write(coco_stage *s, const unsigned char *b, size_t n)
{
	layer_stage *l = (layer_stage *)s;
	/* the output buffer when first needed (decrypting in place needs
	 * none), and only as large as the writes: a small layer's decrypt
	 * must not fault in and wipe pages it never used */
	size_t want = n < l->bufsz ? n : l->bufsz;
	if (want > l->buf_len) {
		unsigned char *nb = malloc(want);
		if (!nb)
			return coco_oom(s->ctx);
		if (l->buf)
			coco_free_secret(l->buf, l->buf_len);
		l->buf = nb;
		l->buf_len = want;
		coco_prefault(nb, want);
	}
	while (n) {
		size_t chunk = n < l->buf_len ? n : l->buf_len;
		uint64_t t0 = coco_now_ns();
		if (!crypt_piece(l, b, l->buf, chunk))
			return coco_seterr(s->ctx, COCOIMG_EINTERNAL, "%s: layer cipher failed", l->what);
		s->nsec += coco_now_ns() - t0;
		int rc = coco_stage_forward(s, l->buf, chunk);
		if (rc)
			return rc;
		b += chunk;
		n -= chunk;
	}
	return 0;
}

static int layer_finish(coco_stage *s)
{
	layer_stage *l = (layer_stage *)s;
	size_t outl = 32;
	uint64_t t0 = coco_now_ns();
	bool ok = l->dual ? !coco_sha2x_final(&l->x, l->result, l->out_digest)
	                  : EVP_MAC_final(l->mac, l->result, &outl, sizeof(l->result));
	s->nsec += coco_now_ns() - t0;
	if (!ok || outl != 32)
		return coco_seterr(s->ctx, COCOIMG_EINTERNAL, "%s: HMAC failed", l->what);
	/* the blob's digest before the HMAC: a changed blob fails as one */
	if (l->digest_to) {
		char digest[COCO_DIGEST_STRLEN] = "sha256:";
		coco_hex_encode(l->out_digest, 32, digest + 7);
		int rc = l->digest_to(l->digest_arg, digest, l->out_count);
		if (rc)
			return rc;
	}
	if (l->decrypt && !coco_ct_equal(l->result, l->expected, 32))
		return coco_seterr(s->ctx, COCOIMG_EDIGEST,
		                   "%s: HMAC mismatch: the encrypted layer was modified or the "
		                   "layer key is wrong", l->what);
	return coco_stage_finish_next(s);
}

static void layer_destroy(coco_stage *s)
{
	layer_stage *l = (layer_stage *)s;
	EVP_CIPHER_CTX_free(l->cipher);
	EVP_MAC_CTX_free(l->mac);
	if (l->buf)
		coco_free_secret(l->buf, l->buf_len);
	free(l->what);
	/* keys, nonce and HMAC state; the stage header goes with them */
	coco_wipe(l, sizeof(*l));
}

/* One type for both directions; each stage's name ("encrypt" or
 * "decrypt", what --stats counts) is set when it is made. */
COCO_STAGE_TYPE(layer_type, "encrypt", layer_stage, layer_write, layer_finish, layer_destroy);

void coco_layer_stage_hmac(coco_stage *s, unsigned char hmac[32])
{
	memcpy(hmac, ((layer_stage *)s)->result, 32);
}

int coco_layer_stage_out_digest(coco_stage *s, char digest[COCO_DIGEST_STRLEN], uint64_t *count)
{
	layer_stage *l = (layer_stage *)s;
	if (!l->dual || l->decrypt)
		return COCOIMG_EINTERNAL;
	memcpy(digest, "sha256:", 7);
	coco_hex_encode(l->out_digest, 32, digest + 7);
	*count = l->out_count;
	return 0;
}

bool coco_layer_stage_has_out_digest(const coco_stage *s)
{
	const layer_stage *l = (const layer_stage *)s;
	return l->dual && !l->decrypt;
}

int coco_layer_stage_decrypt_in_place(coco_stage *s, unsigned char *b, size_t n)
{
	layer_stage *l = (layer_stage *)s;
	if (!l->decrypt || s->next || l->out_count)
		return coco_seterr(s->ctx, COCOIMG_EINTERNAL, "%s: not a fresh decrypting stage",
		                   l->what);
	uint64_t t0 = coco_now_ns();
	/* crypt_piece hashes each piece before the cipher overwrites it */
	bool ok = crypt_piece(l, b, b, n);
	s->nsec += coco_now_ns() - t0;
	int rc = ok ? layer_finish(s)
	            : coco_seterr(s->ctx, COCOIMG_EINTERNAL, "%s: layer cipher failed", l->what);
	if (rc)
		coco_wipe(b, n);
	return rc;
}

bool coco_layer_stage_digest_to(coco_stage *s, coco_digest_sink fn, void *arg)
{
	layer_stage *l = (layer_stage *)s;
	if (!l->decrypt || l->out_count || l->dual || !l->x_ready)
		return false;
	l->dual = true;
	l->digest_to = fn;
	l->digest_arg = arg;
	return true;
}

void coco_layer_stage_feed_verify(coco_stage *s, coco_stage *verify)
{
	if (coco_verify_stage_can_defer(verify) &&
	    coco_layer_stage_digest_to(s, coco_verify_stage_check, verify))
		coco_verify_stage_defer(verify);
}

static int layer_stage_new(cocoimg_ctx *ctx, const coco_layer_opts *o, bool decrypt,
                           const char *what, coco_stage *next, coco_stage **out)
{
	if (!o->have_symkey || !o->have_nonce)
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: layer options lack %s",
		                   what ? what : "layer", o->have_symkey ? "a nonce" : "a key");
	layer_stage *l = coco_stage_new(ctx, &layer_type, next);
	if (!l)
		return coco_oom(ctx);
	l->base.name = decrypt ? "decrypt" : "encrypt";
	l->decrypt = decrypt;
	l->bufsz = COCO_BUFSZ;
	l->what = coco_strdup(what ? what : "layer");
	l->cipher = EVP_CIPHER_CTX_new();
	l->mac = NULL;
	if (decrypt)
		memcpy(l->expected, o->hmac, 32);
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (mac) {
		l->mac = EVP_MAC_CTX_new(mac);
		EVP_MAC_free(mac);
	}
	if (!l->what || !l->cipher || !l->mac) {
		coco_stage_free(&l->base);
		return coco_oom(ctx);
	}
	char md[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, md, 0),
		OSSL_PARAM_construct_end(),
	};
	l->x_ready = coco_sha2x_available() && coco_sha2x_init(&l->x, o->symkey, 32) == 0;
	l->dual = !decrypt && l->x_ready;
	if (!EVP_MAC_init(l->mac, o->symkey, 32, params) ||
	    !EVP_CipherInit_ex(l->cipher, EVP_aes_256_ctr(), NULL, o->symkey, o->nonce,
	                       decrypt ? 0 : 1)) {
		coco_stage_free(&l->base);
		return coco_seterr(ctx, COCOIMG_EINTERNAL, "cannot set up the layer cipher");
	}
	*out = &l->base;
	return 0;
}

int coco_layer_encrypt_stage_new(cocoimg_ctx *ctx, const coco_layer_opts *o, coco_stage *next,
                                 coco_stage **out)
{
	return layer_stage_new(ctx, o, false, "layer", next, out);
}

int coco_layer_decrypt_stage_new(cocoimg_ctx *ctx, const coco_layer_opts *o, const char *what,
                                 coco_stage *next, coco_stage **out)
{
	if (!o->have_hmac)
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "%s: no HMAC in the public options",
		                   what ? what : "layer");
	return layer_stage_new(ctx, o, true, what, next, out);
}
