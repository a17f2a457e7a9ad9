/*
 * Confidential-containers annotation packets (ocicrypt.md section 7).
 *
 * CoCo images carry the layer's private options wrapped with a
 * key-encryption key (KEK) that the guest fetches from a KBS after
 * attestation.  The wrapped form is a small JSON "annotation packet"
 *
 *   {"kid":"kbs:///default/key/app1","wrapped_data":"<b64>",
 *    "iv":"<b64>","wrap_type":"A256GCM"}
 *
 * base64-encoded into annotation
 * org.opencontainers.image.enc.keys.provider.attestation-agent, exactly
 * as the coco_keyprovider gRPC server produces it.  Here:
 *  - coco:KID:KEKFILE writes such a packet with no keyprovider process;
 *  - coco-keys:FILE (offline_fs_kbc keys file: resource path -> base64
 *    KEK) opens packets locally;
 *  - a runtime can plug its own KBS/attestation client in with
 *    cocoimg_keyring_set_resolver() (kid in, KEK out).
 * Reading accepts the versioned CDH form and the historical forms of
 * ocicrypt.md 7.6 (number arrays, key_url/wrapped_key, old wrap_type
 * spellings).
 */
#include "coco.h"
#include "crypt.h"
#include "../base.h"
#include "../json.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define COCO_KEK_LEN 32
#define COCO_GCM_IV_LEN 12
#define COCO_GCM_TAG_LEN 16
#define COCO_MAX_KEYS_FILE (4 * 1024 * 1024)
#define COCO_RESOLVER_BUF 64

typedef enum { WRAP_GCM, WRAP_CTR, WRAP_UNKNOWN } wrap_alg;

/* ------------------------------------------------------------------ */
/* Key ids                                                             */
/* ------------------------------------------------------------------ */

/* URI scheme characters (RFC 3986 plus '_' as seen in the wild). */
static bool scheme_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '-' || c == '.' || c == '_'))
			return false;
	}
	return n > 0;
}

/* Where the resource path of a kid starts (after SCHEME://HOST), or NULL.
 * strict: only kbs and kbs+PLUGIN URIs. */
static const char *kid_path(const char *kid, bool strict)
{
	const char *sep = strstr(kid, "://");
	if (!sep)
		return strict ? NULL : kid;
	size_t sl = (size_t)(sep - kid);
	if (!scheme_ok(kid, sl))
		return NULL;
	if (strict && !((sl == 3 && !strncmp(kid, "kbs", 3)) || (sl > 4 && !strncmp(kid, "kbs+", 4))))
		return NULL;
	return strchr(sep + 3, '/');   /* skip the KBS host[:port] */
}

static bool has_controls_or_space(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return true;
	return false;
}

char *coco_kid_resource_path(const char *kid, bool strict)
{
	const char *p = kid ? kid_path(kid, strict) : NULL;
	if (!p || (strict && has_controls_or_space(kid)))
		return NULL;
	if (*p == '/')
		p++;
	size_t len = strcspn(p, "?#");
	size_t slashes = 0;
	for (size_t i = 0; i < len; i++)
		slashes += p[i] == '/';
	/* <repository>/<type>/<tag>, exactly three segments */
	if (slashes != 2 || !len)
		return NULL;
	return coco_strndup(p, len);
}

/* ------------------------------------------------------------------ */
/* Packet parsing                                                      */
/* ------------------------------------------------------------------ */

void coco_packet_clear(coco_packet *p)
{
	if (!p)
		return;
	COCO_FREE_FIELDS(p->version, p->kid, p->provider, p->wrap_type);
	coco_buf_free(&p->wrapped);
	coco_buf_free(&p->iv);
	memset(p, 0, sizeof(*p));
}

static int packet_str(cocoimg_ctx *ctx, json_t *doc, const char *key, char **out)
{
	json_t *v = json_object_get(doc, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "CoCo annotation packet: \"%s\" must be a "
		                   "string", key);
	/* These strings end up in messages and logs: no control characters
	 * (a kid is a URI, the others are short names). */
	for (const char *c = json_string_value(v); *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return coco_seterr(ctx, COCOIMG_EBADIMAGE, "CoCo annotation packet: \"%s\" "
			                   "contains control characters", key);
	*out = coco_strdup(json_string_value(v));
	return *out ? 0 : coco_oom(ctx);
}

/* The string members, with the historical spellings: "key_url" (2021
 * sample-KBC packets; *legacy) and "algorithm" (EAA-era packets). */
static int packet_strings(cocoimg_ctx *ctx, json_t *doc, coco_packet *out, bool *legacy)
{
	int rc;
	*legacy = false;
	if ((rc = packet_str(ctx, doc, "version", &out->version)) ||
	    (rc = packet_str(ctx, doc, "kid", &out->kid)) ||
	    (rc = packet_str(ctx, doc, "provider", &out->provider)) ||
	    (rc = packet_str(ctx, doc, "wrap_type", &out->wrap_type)))
		return rc;
	if (!out->kid) {
		if ((rc = packet_str(ctx, doc, "key_url", &out->kid)))
			return rc;
		*legacy = out->kid != NULL;
	}
	if (!out->wrap_type && (rc = packet_str(ctx, doc, "algorithm", &out->wrap_type)))
		return rc;
	if (!out->kid)
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "CoCo annotation packet: missing \"kid\"");
	return 0;
}

/* "wrapped_data" ("wrapped_key" in legacy packets): non-empty bytes. */
static int packet_wrapped(cocoimg_ctx *ctx, json_t *doc, bool legacy, coco_packet *out)
{
	json_t *w = json_object_get(doc, "wrapped_data");
	if (!w && legacy)
		w = json_object_get(doc, "wrapped_key");
	if (!w || json_is_null(w))
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "CoCo annotation packet (kid %s): missing "
		                   "\"wrapped_data\"", out->kid);
	int rc = coco_json_bytes(w, &out->wrapped);
	if (!rc && !out->wrapped.len)
		rc = COCOIMG_EINVAL;
	if (rc)
		return coco_seterr(ctx, rc == COCOIMG_ENOMEM ? rc : COCOIMG_EBADIMAGE, "CoCo "
		                   "annotation packet (kid %s): \"wrapped_data\" must be non-empty "
		                   "base64 or a byte array", out->kid);
	return 0;
}

/* "iv" (legacy packets without one used a fixed nonce). */
static int packet_iv_read(cocoimg_ctx *ctx, json_t *doc, bool legacy, coco_packet *out)
{
	json_t *iv = json_object_get(doc, "iv");
	if (iv && !json_is_null(iv)) {
		int rc = coco_json_bytes(iv, &out->iv);
		if (rc)
			return coco_seterr(ctx, rc == COCOIMG_ENOMEM ? rc : COCOIMG_EBADIMAGE, "CoCo "
			                   "annotation packet (kid %s): \"iv\" must be base64 or a byte "
			                   "array", out->kid);
		out->has_iv = true;
	} else if (legacy) {
		/* the 2021 sample KBC used this fixed nonce */
		if (coco_buf_append(&out->iv, "unique nonce", 12))
			return coco_oom(ctx);
		out->has_iv = true;
	}
	return 0;
}

/* KBS packets (the default provider) are AES with an IV. */
static int packet_iv_required(cocoimg_ctx *ctx, const coco_packet *out)
{
	if ((!out->provider || !strcasecmp(out->provider, "kbs")) && !out->has_iv)
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "CoCo annotation packet (kid %s): missing "
		                   "\"iv\"", out->kid);
	return 0;
}

/* CDH's versioned form adds two objects we do not use. */
static int packet_objects(cocoimg_ctx *ctx, json_t *doc, const coco_packet *out)
{
	json_t *ps = json_object_get(doc, "provider_settings");
	json_t *an = json_object_get(doc, "annotations");
	if ((ps && !json_is_object(ps) && !json_is_null(ps)) ||
	    (an && !json_is_object(an) && !json_is_null(an)))
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "CoCo annotation packet (kid %s): "
		                   "\"provider_settings\" and \"annotations\" must be objects", out->kid);
	return 0;
}

int coco_packet_parse(cocoimg_ctx *ctx, const unsigned char *data, size_t len, coco_packet *out)
{
	memset(out, 0, sizeof(*out));
	json_error_t je;
	json_t *doc = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &je);
	if (!doc)
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "CoCo annotation packet: invalid JSON at "
		                   "line %d column %d", je.line, je.column);
	bool legacy = false;
	int rc = 0;
	if (!json_is_object(doc))
		rc = coco_seterr(ctx, COCOIMG_EBADIMAGE, "CoCo annotation packet: not a JSON object");
	if (!rc)
		rc = packet_strings(ctx, doc, out, &legacy);
	if (!rc)
		rc = packet_wrapped(ctx, doc, legacy, out);
	if (!rc)
		rc = packet_iv_read(ctx, doc, legacy, out);
	if (!rc)
		rc = packet_objects(ctx, doc, out);
	if (!rc)
		rc = packet_iv_required(ctx, out);
	json_decref(doc);
	if (rc)
		coco_packet_clear(out);
	return rc;
}

static wrap_alg packet_alg(const coco_packet *p)
{
	const char *t = p->wrap_type;
	if (!t || !strcmp(t, "A256GCM") || !strcasecmp(t, "aes_256_gcm") ||
	    !strcasecmp(t, "aes-256-gcm") || !strcmp(t, "AES"))
		return WRAP_GCM;  /* no wrap_type: sample KBC, always GCM */
	if (!strcmp(t, "A256CTR") || !strcasecmp(t, "aes_256_ctr") || !strcasecmp(t, "aes-256-ctr"))
		return WRAP_CTR;
	return WRAP_UNKNOWN;
}

/* ------------------------------------------------------------------ */
/* AES-256-GCM / CTR with the KEK                                      */
/* ------------------------------------------------------------------ */

/* AES-256-GCM, the tag after the ciphertext: 1 when not authentic. */
static int gcm_unwrap(EVP_CIPHER_CTX *c, const coco_packet *p, const unsigned char *kek,
                      size_t inl, unsigned char *dst, size_t *got)
{
	const unsigned char *in = p->wrapped.data;
	int n1 = 0, n2 = 0;
	if (!EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) ||
	    !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, (int)p->iv.len, NULL) ||
	    !EVP_DecryptInit_ex(c, NULL, NULL, kek, p->iv.data) ||
	    !EVP_DecryptUpdate(c, dst, &n1, in, (int)inl) ||
	    !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, COCO_GCM_TAG_LEN, (void *)(in + inl))) {
		coco_wipe(dst, (size_t)n1);
		return COCOIMG_EINTERNAL;
	}
	if (EVP_DecryptFinal_ex(c, dst + n1, &n2) != 1) {
		coco_wipe(dst, (size_t)n1);
		return 1;
	}
	*got = (size_t)n1 + (size_t)n2;
	return 0;
}

/* AES-256-CTR has no integrity: a wrong KEK shows as garbage, so the
 * result must at least be a JSON object (else 1). */
static int ctr_unwrap(EVP_CIPHER_CTX *c, const coco_packet *p, const unsigned char *kek,
                      size_t inl, unsigned char *dst, size_t *got)
{
	int n1 = 0, n2 = 0;
	if (!EVP_DecryptInit_ex(c, EVP_aes_256_ctr(), NULL, kek, p->iv.data) ||
	    !EVP_DecryptUpdate(c, dst, &n1, p->wrapped.data, (int)inl) ||
	    !EVP_DecryptFinal_ex(c, dst + n1, &n2)) {
		coco_wipe(dst, (size_t)n1);
		return COCOIMG_EINTERNAL;
	}
	*got = (size_t)n1 + (size_t)n2;
	json_t *j = json_loadb((const char *)dst, *got, 0, NULL);
	bool obj = json_is_object(j);
	json_decref(j);
	if (!obj) {
		coco_wipe(dst, *got);
		return 1;
	}
	return 0;
}

/* 0 = opened (plaintext appended to out), 1 = wrong key / not
 * authentic, <0 = error (ENOMEM, EINTERNAL). */
static int packet_open(const coco_packet *p, wrap_alg alg, const unsigned char *kek,
                       size_t kek_len, coco_buf *out)
{
	size_t inl = p->wrapped.len;
	bool gcm = alg == WRAP_GCM;
	if (kek_len != COCO_KEK_LEN || p->iv.len != (gcm ? COCO_GCM_IV_LEN : 16) ||
	    (gcm && inl < COCO_GCM_TAG_LEN))
		return 1;
	if (gcm)
		inl -= COCO_GCM_TAG_LEN;
	if (inl > INT32_MAX)
		return 1;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	if (!c || coco_buf_reserve(out, inl + 32)) {
		EVP_CIPHER_CTX_free(c);
		return COCOIMG_ENOMEM;
	}
	size_t got = 0;
	unsigned char *dst = out->data + out->len;
	int rc = gcm ? gcm_unwrap(c, p, kek, inl, dst, &got) : ctr_unwrap(c, p, kek, inl, dst, &got);
	EVP_CIPHER_CTX_free(c);
	if (!rc)
		out->len += got;
	return rc;
}

/* Seal opts for one recipient into a base64 packet. */
static int packet_seal(cocoimg_ctx *ctx, const coco_key *k, const unsigned char *opts,
                       size_t len, char **b64_packet)
{
	unsigned char iv[COCO_GCM_IV_LEN];
	coco_buf ct = COCO_BUF_INIT;
	int rc = 0;
	*b64_packet = NULL;
	if (RAND_bytes(iv, sizeof(iv)) != 1)
		return coco_seterr(ctx, COCOIMG_EINTERNAL, "no random bytes for the CoCo packet IV");
	if (len > INT32_MAX || coco_buf_reserve(&ct, len + COCO_GCM_TAG_LEN + 16))
		return coco_oom(ctx);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n1 = 0, n2 = 0;
	if (!c || !EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) ||
	    !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, COCO_GCM_IV_LEN, NULL) ||
	    !EVP_EncryptInit_ex(c, NULL, NULL, k->kek, iv) ||
	    !EVP_EncryptUpdate(c, ct.data, &n1, opts, (int)len) ||
	    !EVP_EncryptFinal_ex(c, ct.data + n1, &n2) ||
	    !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, COCO_GCM_TAG_LEN, ct.data + n1 + n2)) {
		EVP_CIPHER_CTX_free(c);
		coco_buf_free(&ct);
		return coco_seterr(ctx, COCOIMG_EINTERNAL, "AES-256-GCM failed sealing the CoCo packet");
	}
	EVP_CIPHER_CTX_free(c);
	ct.len = (size_t)n1 + (size_t)n2 + COCO_GCM_TAG_LEN;
	/* Field order and compact form as coco_keyprovider (serde) writes. */
	char *wd = coco_b64_encode(ct.data, ct.len);
	char *ivb = coco_b64_encode(iv, sizeof(iv));
	json_t *j = json_object();
	char *txt = NULL;
	if (!wd || !ivb || !j || json_object_set_new(j, "kid", json_string(k->kid)) ||
	    json_object_set_new(j, "wrapped_data", json_string(wd)) ||
	    json_object_set_new(j, "iv", json_string(ivb)) ||
	    json_object_set_new(j, "wrap_type", json_string("A256GCM")) ||
	    !(txt = coco_json_dump(j)) ||
	    !(*b64_packet = coco_b64_encode((const unsigned char *)txt, strlen(txt))))
		rc = coco_oom(ctx);
	json_decref(j);
	free(txt);
	free(wd);
	free(ivb);
	coco_buf_free(&ct);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Keyring entries                                                     */
/* ------------------------------------------------------------------ */

bool coco_keyring_has_local_coco(const cocoimg_keyring *kr)
{
	if (!kr)
		return false;
	if (kr->resolver || kr->packet_ops)
		return true;
	for (size_t i = 0; i < kr->n_keys; i++)
		if (kr->keys[i].kind == COCO_KEY_COCO_KEYS || kr->keys[i].kind == COCO_KEY_COCO_KEK)
			return true;
	return false;
}

/* coco-keys:DIR: verdictd's layout, one raw key per file named by its kid
 * (read when a packet asks for it). */
static int add_keys_dir(cocoimg_ctx *ctx, cocoimg_keyring *kr, const char *dir)
{
	coco_key k;
	memset(&k, 0, sizeof(k));
	k.kind = COCO_KEY_COCO_KEYS;
	k.keys_dir = coco_strdup(dir);
	k.label = coco_asprintf("coco-keys:%s", dir);
	if (!k.keys_dir) {
		coco_key_clear(&k);
		return coco_oom(ctx);
	}
	return coco_keyring_push(ctx, kr, &k);
}

static int add_keys_file(cocoimg_ctx *ctx, cocoimg_keyring *kr, const char *path)
{
	if (!*path)
		return coco_seterr(ctx, COCOIMG_EINVAL, "coco-keys: expected coco-keys:FILE or "
		                   "coco-keys:DIR");
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return add_keys_dir(ctx, kr, path);
	json_t *doc;  /* jansson's text may quote the keys: position only */
	int rc = coco_json_load_file(ctx, path, COCO_MAX_KEYS_FILE, "CoCo keys file", false, &doc);
	if (rc)
		return rc;
	if (!json_is_object(doc)) {
		json_decref(doc);
		return coco_seterr(ctx, COCOIMG_ECONFIG, "CoCo keys file %s: expected a JSON object "
		                   "mapping resource paths to base64 keys", path);
	}
	const char *name;
	json_t *v;
	json_object_foreach(doc, name, v) {
		coco_buf tmp = COCO_BUF_INIT;
		int bad = !json_is_string(v) || coco_json_bytes(v, &tmp);
		coco_buf_wipe_free(&tmp);
		if (bad) {
			rc = coco_seterr(ctx, COCOIMG_ECONFIG, "CoCo keys file %s: the value of \"%s\" "
			                 "is not a base64 string", path, name);
			json_decref(doc);
			return rc;
		}
	}
	coco_key k;
	memset(&k, 0, sizeof(k));
	k.kind = COCO_KEY_COCO_KEYS;
	k.recipient = false;
	k.keys = doc;
	k.label = coco_asprintf("coco-keys:%s", path);
	return coco_keyring_push(ctx, kr, &k);
}

static int add_kek(cocoimg_ctx *ctx, cocoimg_keyring *kr, const char *spec, bool recipient)
{
	/* KID:KEKFILE, split at the last ':' since the KID is a URI. */
	const char *colon = strrchr(spec, ':');
	if (!colon || colon == spec || !colon[1])
		return coco_seterr(ctx, COCOIMG_EINVAL, "coco key: expected coco:KID:KEKFILE "
		                   "(e.g. coco:kbs:///default/key/app1:/path/kek.bin)");
	coco_key k;
	memset(&k, 0, sizeof(k));
	k.kind = COCO_KEY_COCO_KEK;
	k.recipient = recipient;
	k.kid = coco_strndup(spec, (size_t)(colon - spec));
	if (!k.kid)
		return coco_oom(ctx);
	char *path = coco_kid_resource_path(k.kid, true);
	if (!path) {
		int rc = coco_seterr(ctx, COCOIMG_EINVAL, "coco key: KID \"%s\" is not a KBS resource "
		                     "URI kbs://[HOST]/REPOSITORY/TYPE/TAG (what CoCo guests accept)",
		                     k.kid);
		coco_key_clear(&k);
		return rc;
	}
	free(path);
	const char *file = colon + 1;
	coco_buf raw = COCO_BUF_INIT;
	int rc = coco_read_file(ctx, file, 4096, &raw, COCOIMG_ECONFIG);
	if (rc) {
		coco_buf_wipe_free(&raw);
		coco_key_clear(&k);
		return coco_preferr(ctx, COCOIMG_ECONFIG, "coco KEK file");
	}
	if (raw.len != COCO_KEK_LEN) {
		size_t got = raw.len;
		coco_buf_wipe_free(&raw);
		coco_key_clear(&k);
		return coco_seterr(ctx, COCOIMG_ECONFIG, "coco KEK file %s: expected %d raw bytes, "
		                   "found %zu", file, COCO_KEK_LEN, got);
	}
	k.kek = malloc(COCO_KEK_LEN);
	k.kek_len = COCO_KEK_LEN;
	if (k.kek)
		memcpy(k.kek, raw.data, COCO_KEK_LEN);
	coco_buf_wipe_free(&raw);
	k.label = coco_asprintf("coco:%s", k.kid);
	if (!k.kek) {
		coco_key_clear(&k);
		return coco_oom(ctx);
	}
	return coco_keyring_push(ctx, kr, &k);
}

int coco_keyring_add_coco(cocoimg_ctx *ctx, cocoimg_keyring *kr, const char *spec,
                          bool recipient)
{
	if (!spec)
		return coco_seterr(ctx, COCOIMG_EINVAL, "coco key: empty");
	if (!strncmp(spec, "coco-keys:", 10)) {
		if (recipient)
			return coco_seterr(ctx, COCOIMG_EINVAL, "coco-keys:FILE is a decryption key; "
			                   "encrypt with coco:KID:KEKFILE");
		return add_keys_file(ctx, kr, spec + 10);
	}
	if (!strncmp(spec, "coco:", 5))
		return add_kek(ctx, kr, spec + 5, recipient);
	/* Prefix already stripped by the caller. */
	return recipient ? add_kek(ctx, kr, spec, true) : add_keys_file(ctx, kr, spec);
}

COCOIMG_API int cocoimg_keyring_set_resolver(cocoimg_keyring *kr, cocoimg_key_resolver_cb cb,
                                            void *payload)
{
	if (!kr)
		return COCOIMG_EINVAL;
	kr->resolver = cb ? (void *)cb : NULL;
	kr->resolver_payload = cb ? payload : NULL;
	kr->resolver_v2 = false;
	return 0;
}

COCOIMG_API int cocoimg_keyring_set_resolver2(cocoimg_keyring *kr, cocoimg_key_resolver2_cb cb,
                                             void *payload)
{
	if (!kr)
		return COCOIMG_EINVAL;
	kr->resolver = cb ? (void *)cb : NULL;
	kr->resolver_payload = cb ? payload : NULL;
	kr->resolver_v2 = cb != NULL;
	return 0;
}

/* What a key resolver answered (either version). */
struct cocoimg_key_reply {
	unsigned char key[COCO_RESOLVER_BUF];
	size_t len;                /* 0: no key set */
	char msg[256];             /* its reason, "" if none */
};

COCOIMG_API int cocoimg_key_reply_set_key(cocoimg_key_reply *reply, const void *key, size_t len)
{
	if (!reply || !key || !len || len > sizeof(reply->key))
		return COCOIMG_EINVAL;
	coco_wipe(reply->key, sizeof(reply->key));
	memcpy(reply->key, key, len);
	reply->len = len;
	return 0;
}

COCOIMG_API void cocoimg_key_reply_set_message(cocoimg_key_reply *reply, const char *message)
{
	if (reply)
		coco_message_copy(reply->msg, sizeof(reply->msg), message);
}

/* ------------------------------------------------------------------ */
/* Unwrapping                                                          */
/* ------------------------------------------------------------------ */

/* Can this build open the packet at all?  0, or COCOIMG_ENOKEY with the
 * reason in tried; *alg the key wrap algorithm. */
static int packet_usable(const coco_packet *pk, wrap_alg *alg, coco_buf *tried)
{
	if (pk->provider && strcasecmp(pk->provider, "kbs")) {
		coco_tried_note(tried, "CoCo packet kid %s (KMS provider \"%s\" needs a keyprovider)",
		                pk->kid, pk->provider);
		return COCOIMG_ENOKEY;
	}
	if (pk->version && strcmp(pk->version, "0.1.0")) {
		coco_tried_note(tried, "CoCo packet kid %s (unsupported packet version \"%s\")",
		                pk->kid, pk->version);
		return COCOIMG_ENOKEY;
	}
	*alg = packet_alg(pk);
	if (*alg == WRAP_UNKNOWN) {
		coco_tried_note(tried, "CoCo packet kid %s (unsupported wrap_type \"%s\")", pk->kid,
		                pk->wrap_type);
		return COCOIMG_ENOKEY;
	}
	/* CDH (aes-gcm crate) takes a 96-bit nonce only; CTR needs a full
	 * 16-byte counter block. */
	size_t want_iv = *alg == WRAP_GCM ? COCO_GCM_IV_LEN : 16;
	if (pk->iv.len != want_iv) {
		coco_tried_note(tried, "CoCo packet kid %s (iv is %zu bytes, %s needs %zu)", pk->kid,
		                pk->iv.len, *alg == WRAP_GCM ? "AES-256-GCM" : "AES-256-CTR", want_iv);
		return COCOIMG_ENOKEY;
	}
	return 0;
}

/* A coco-keys file entry for the packet (by resource path, else by kid):
 * like packet_open, plus 2 when the file has no usable entry (noted). */
static int open_with_keys_file(const coco_key *k, const coco_packet *pk, wrap_alg alg,
                               const char *path, coco_buf *opts, coco_buf *notes)
{
	json_t *v = path ? json_object_get(k->keys, path) : NULL;
	if (!v)
		v = json_object_get(k->keys, pk->kid);
	if (!v) {
		coco_tried_note(notes, "%s: no entry %s", k->label, path ? path : pk->kid);
		return 2;
	}
	coco_buf kek = COCO_BUF_INIT;
	int r = 2;
	if (coco_json_bytes(v, &kek) == COCOIMG_ENOMEM)
		r = COCOIMG_ENOMEM;
	else if (kek.len != COCO_KEK_LEN)
		coco_tried_note(notes, "%s: entry %s is %zu bytes, not a 32-byte key", k->label,
		                path ? path : pk->kid, kek.len);
	else if ((r = packet_open(pk, alg, kek.data, kek.len, opts)) == 1)
		coco_tried_note(notes, "%s: wrong key", k->label);
	coco_buf_wipe_free(&kek);
	return r;
}

/* A relative name made of segments that stay inside a directory. */
static bool safe_rel(const char *p)
{
	if (!*p || *p == '/')
		return false;
	for (const char *seg = p; seg; ) {
		const char *sl = strchr(seg, '/');
		size_t n = sl ? (size_t)(sl - seg) : strlen(seg);
		if (!n || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return false;
		seg = sl ? sl + 1 : NULL;
	}
	return true;
}

/* coco-keys:DIR: the file DIR/REPO/TYPE/TAG for a resource kid, or
 * DIR/KID for a kid without '/' (verdictd's names).  Like packet_open,
 * plus 2 when there is no usable file (noted). */
static int open_with_keys_dir(const coco_key *k, const coco_packet *pk, wrap_alg alg,
                              const char *path, coco_buf *opts, coco_buf *notes)
{
	const char *name = path && safe_rel(path) ? path
	                   : !strchr(pk->kid, '/') && safe_rel(pk->kid) ? pk->kid : NULL;
	if (!name) {
		coco_tried_note(notes, "%s: no file for kid %s", k->label, pk->kid);
		return 2;
	}
	char *file = coco_asprintf("%s/%s", k->keys_dir, name);
	coco_buf kek = COCO_BUF_INIT;
	int r = 2;
	if (!file)
		r = COCOIMG_ENOMEM;
	else if (coco_read_file(NULL, file, 4096, &kek, COCOIMG_ENOTFOUND))
		coco_tried_note(notes, "%s: no readable file %s", k->label, name);
	else if (kek.len != COCO_KEK_LEN)
		coco_tried_note(notes, "%s: %s is %zu bytes, not a 32-byte key", k->label, name,
		                kek.len);
	else if ((r = packet_open(pk, alg, kek.data, kek.len, opts)) == 1)
		coco_tried_note(notes, "%s: wrong key", k->label);
	coco_buf_wipe_free(&kek);
	free(file);
	return r;
}

/* Does a coco:KID:KEKFILE key name the packet's kid (any kid form)? */
static bool kek_matches(const coco_key *k, const coco_packet *pk, const char *path)
{
	if (!k->kid)
		return false;
	if (!strcmp(k->kid, pk->kid))
		return true;
	char *kp = path ? coco_kid_resource_path(k->kid, false) : NULL;
	bool same = kp && !strcmp(kp, path);
	free(kp);
	return same;
}

/* The keyring's coco: KEKs and coco-keys files: 0 opened, ENOKEY, <0. */
static int open_with_keyring(cocoimg_ctx *ctx, cocoimg_keyring *kr, const coco_packet *pk,
                             wrap_alg alg, coco_buf *opts, coco_buf *notes)
{
	char *path = coco_kid_resource_path(pk->kid, false);
	int rc = COCOIMG_ENOKEY;
	for (size_t i = 0; i < kr->n_keys && rc == COCOIMG_ENOKEY; i++) {
		coco_key *k = &kr->keys[i];
		int r = 1;
		if (k->kind == COCO_KEY_COCO_KEK && kek_matches(k, pk, path)) {
			r = packet_open(pk, alg, k->kek, k->kek_len, opts);
			if (r == 1)
				coco_tried_note(notes, "%s: wrong key", k->label);
		} else if (k->kind == COCO_KEY_COCO_KEYS && k->keys) {
			r = open_with_keys_file(k, pk, alg, path, opts, notes);
		} else if (k->kind == COCO_KEY_COCO_KEYS && k->keys_dir) {
			r = open_with_keys_dir(k, pk, alg, path, opts, notes);
		}
		if (r == 0)
			rc = 0;
		else if (r < 0)
			rc = coco_seterr(ctx, r, "opening CoCo packet kid %s failed", pk->kid);
	}
	free(path);
	return rc;
}

int coco_packet_try_kek(const coco_packet *pk, const unsigned char *kek, size_t len,
                        coco_buf *opts)
{
	wrap_alg alg = packet_alg(pk);
	return alg == WRAP_UNKNOWN ? 1 : packet_open(pk, alg, kek, len, opts);
}

/* Ask the keyring's resolver (either version) for kid's key into *r;
 * its return value. */
static int call_resolver(cocoimg_keyring *kr, const char *kid, cocoimg_key_reply *r)
{
	memset(r, 0, sizeof(*r));
	if (kr->resolver_v2)
		return ((cocoimg_key_resolver2_cb)kr->resolver)(kid, r, kr->resolver_payload);
	r->len = sizeof(r->key);
	int cr = ((cocoimg_key_resolver_cb)kr->resolver)(kid, r->key, &r->len, kr->resolver_payload);
	if (cr)
		r->len = 0;
	return cr;
}

/* The runtime's key resolver callback returns 0 (key written), ENOKEY (no
 * key for this id), or anything else: stop (ECANCELLED).  Its reason
 * (version 2) goes into the note or the message. */
int coco_packet_resolver_kek(cocoimg_ctx *ctx, cocoimg_keyring *kr, const char *kid,
                             coco_buf *kek, coco_buf *notes)
{
	if (!kr->resolver)
		return COCOIMG_ENOKEY;
	cocoimg_key_reply r;
	int rc = COCOIMG_ENOKEY;
	int cr = call_resolver(kr, kid, &r);
	const char *sep = r.msg[0] ? ": " : "";
	if (cr == COCOIMG_ENOKEY)
		coco_tried_note(notes, "key resolver: no key%s%s", sep, r.msg);
	else if (cr && r.msg[0])
		rc = coco_seterr(ctx, COCOIMG_ECANCELLED,
		                 "key resolver stopped the operation at kid %s: %s", kid, r.msg);
	else if (cr)
		rc = coco_seterr(ctx, COCOIMG_ECANCELLED,
		                 "key resolver stopped the operation at kid %s (it returned %d)", kid, cr);
	else if (!r.len && kr->resolver_v2)
		coco_tried_note(notes, "key resolver: gave no key%s%s", sep, r.msg);
	else if (!r.len || r.len > sizeof(r.key))
		coco_tried_note(notes, "key resolver: key length %zu out of range", r.len);
	else
		rc = coco_buf_append(kek, r.key, r.len) ? COCOIMG_ENOMEM : 0;
	coco_wipe(r.key, sizeof(r.key));
	return rc;
}

void coco_keyring_set_packet_ops(cocoimg_keyring *kr, const coco_packet_ops *ops, void *payload)
{
	kr->packet_ops = ops;
	kr->packet_payload = ops ? payload : NULL;
}

int coco_packet_open_resolved(cocoimg_ctx *ctx, const coco_packet *pk, coco_buf *kek,
                              coco_buf *opts, coco_buf *notes)
{
	int r = coco_packet_try_kek(pk, kek->data, kek->len, opts);
	coco_buf_wipe_free(kek);
	if (r == 1)
		coco_tried_note(notes, "key resolver: wrong key");
	return r == 0 ? 0 : r == 1 ? COCOIMG_ENOKEY
	       : coco_seterr(ctx, r, "opening CoCo packet kid %s failed", pk->kid);
}

/* The runtime's key resolver callback: 0 opened, ENOKEY, ECANCELLED, <0. */
static int open_with_resolver(cocoimg_ctx *ctx, cocoimg_keyring *kr, const coco_packet *pk,
                              coco_buf *opts, coco_buf *notes)
{
	coco_buf kek = COCO_BUF_INIT;
	int rc = coco_packet_resolver_kek(ctx, kr, pk->kid, &kek, notes);
	if (!rc)
		return coco_packet_open_resolved(ctx, pk, &kek, opts, notes);
	coco_buf_wipe_free(&kek);
	return rc == COCOIMG_ENOMEM ? coco_oom(ctx) : rc;
}

/* Try one packet with every local source. 0 opened; ENOKEY (tried
 * filled); ECANCELLED from the resolver; ENOMEM/EINTERNAL. */
static int open_packet(cocoimg_ctx *ctx, cocoimg_keyring *kr, const coco_packet *pk,
                       const coco_buf *raw, coco_buf *opts, coco_buf *tried)
{
	wrap_alg alg;
	int rc = packet_usable(pk, &alg, tried);
	if (rc)
		return rc;
	coco_buf notes = COCO_BUF_INIT;
	rc = open_with_keyring(ctx, kr, pk, alg, opts, &notes);
	if (rc == COCOIMG_ENOKEY && kr->packet_ops)
		rc = kr->packet_ops->open(ctx, kr->packet_payload, kr, pk, raw->data, raw->len, opts,
		                          &notes);
	else if (rc == COCOIMG_ENOKEY && kr->resolver)
		rc = open_with_resolver(ctx, kr, pk, opts, &notes);
	if (rc == COCOIMG_ENOKEY)
		coco_tried_note(tried, "its CoCo recipient with key id %s (%s)", pk->kid,
		                notes.len ? coco_buf_cstr(&notes)
		                          : "a different key source would open it: --decryption-key "
		                            "coco-keys:FILE, --resources, --cdh or --kbs, or a key "
		                            "resolver; none was given");
	coco_buf_free(&notes);
	return rc;
}

int coco_packet_unwrap_local(cocoimg_ctx *ctx, cocoimg_keyring *kr, const char *value,
                             coco_buf *opts, coco_buf *tried)
{
	char first_kid[256] = "";
	size_t idx = 0;
	for (const char *e = value; e && *e; idx++) {
		const char *comma = strchr(e, ',');
		size_t el = comma ? (size_t)(comma - e) : strlen(e);
		coco_buf raw = COCO_BUF_INIT;
		if (el == 0 || coco_b64_decode(e, el, &raw))
			return coco_seterr(ctx, COCOIMG_EBADIMAGE, "annotation " COCO_AA_ANNOTATION
			                   ": element %zu is not base64", idx + 1);
		coco_packet pk;
		int rc = coco_packet_parse(ctx, raw.data, raw.len, &pk);
		e = comma ? comma + 1 : NULL;
		if (rc) {
			coco_buf_free(&raw);
			if (rc == COCOIMG_ENOMEM)
				return rc;
			coco_tried_note(tried, "CoCo packet %zu (%s)", idx + 1, cocoimg_ctx_last_error(ctx));
			continue;
		}
		if (!*first_kid)
			snprintf(first_kid, sizeof(first_kid), "%s", pk.kid);
		size_t before = opts->len;
		rc = open_packet(ctx, kr, &pk, &raw, opts, tried);
		coco_buf_free(&raw);
		coco_packet_clear(&pk);
		if (rc == 0)
			return 0;
		if (opts->data)   /* NULL while nothing was ever appended */
			coco_wipe(opts->data + before, opts->len - before);
		opts->len = before;
		if (rc != COCOIMG_ENOKEY)
			return rc;
	}
	if (*first_kid)
		return coco_seterr(ctx, COCOIMG_ENOKEY, "no key opens the CoCo packet for kid %s",
		                   first_kid);
	return coco_seterr(ctx, COCOIMG_ENOKEY, "no CoCo packet could be opened");
}

/* ------------------------------------------------------------------ */
/* The key wrapper                                                     */
/* ------------------------------------------------------------------ */

static bool is_coco_recipient(const coco_key *k)
{
	return k->kind == COCO_KEY_COCO_KEK && k->recipient;
}

static char **kw_coco_annotations(cocoimg_keyring *kr)
{
	return coco_kw_annotation_if(kr, is_coco_recipient, COCO_AA_ANNOTATION);
}

static int kw_coco_wrap(cocoimg_ctx *ctx, cocoimg_keyring *kr, const char *annotation_name,
                        const unsigned char *opts, size_t len, char **value)
{
	*value = NULL;
	if (strcmp(annotation_name, COCO_AA_ANNOTATION))
		return 0;
	coco_buf out = COCO_BUF_INIT;
	for (size_t i = 0; i < kr->n_keys; i++) {
		coco_key *k = &kr->keys[i];
		if (k->kind != COCO_KEY_COCO_KEK || !k->recipient || !k->kek ||
		    k->kek_len != COCO_KEK_LEN)
			continue;
		char *b = NULL;
		int rc = packet_seal(ctx, k, opts, len, &b);
		if (!rc && ((out.len && coco_buf_putc(&out, ',')) || coco_buf_append(&out, b, strlen(b))))
			rc = coco_oom(ctx);
		free(b);
		if (rc) {
			coco_buf_free(&out);
			return rc;
		}
	}
	if (!out.len)
		return 0;
	*value = coco_buf_cstr(&out);
	return *value ? 0 : coco_oom(ctx);
}

static int kw_coco_unwrap(cocoimg_ctx *ctx, cocoimg_keyring *kr, const char *annotation_name,
                          const char *value, coco_buf *opts, coco_buf *tried)
{
	/* With a provider:attestation-agent key the provider wrapper tries
	 * the local keys first and then the provider (keyprovider.c). */
	if (strcmp(annotation_name, COCO_AA_ANNOTATION) || !coco_keyring_has_local_coco(kr) ||
	    coco_kw_provider_handles_aa(kr))
		return COCOIMG_ENOKEY;
	return coco_packet_unwrap_local(ctx, kr, value, opts, tried);
}

const coco_keywrapper coco_kw_coco = {
	.scheme = "coco",
	.annotation = COCO_AA_ANNOTATION,
	.prefix = false,
	.wrap = kw_coco_wrap,
	.annotations = kw_coco_annotations,
	.unwrap = kw_coco_unwrap,
};
