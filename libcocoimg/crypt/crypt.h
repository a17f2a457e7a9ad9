/*
 * libcocoimg crypt/: internal interfaces shared by the files of this
 * module (layer cipher, key wrappers, keyring).  Not installed.
 *
 * A layer's symmetric key and options (the "private options" JSON, see
 * ocicrypt.md 3.2) are wrapped once per scheme and stored in an
 * annotation per scheme.  Each scheme is a coco_keywrapper.
 */
#ifndef COCO_CRYPT_H
#define COCO_CRYPT_H

#include "../base.h"
#include "../json.h"
#include "../jwk.h"
#include "../oci/oci.h"
#include "../pipeline.h"
#include "../stream.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

/* ---- keyring ---------------------------------------------------------- */

typedef enum coco_key_kind {
	COCO_KEY_PUBLIC = 0,       /* jwe: public key (recipient) */
	COCO_KEY_CERT = 1,         /* pkcs7: certificate (recipient, and needed to decrypt) */
	COCO_KEY_PRIVATE = 2,      /* private key (JWE, PKCS7 with a cert) */
	COCO_KEY_PROVIDER = 3,     /* provider:NAME[:OPTS] (recipient or decryption) */
	COCO_KEY_COCO_KEK = 4,     /* coco:KID:KEKFILE (recipient) */
	COCO_KEY_COCO_KEYS = 5     /* coco-keys:FILE (KBS path -> KEK map) or coco-keys:DIR
	                              (a raw key per file named by its kid) (decryption) */
} coco_key_kind;

typedef struct coco_key {
	coco_key_kind kind;
	bool recipient;            /* true: --encryption-key, false: --decryption-key */
	char *label;               /* for messages: the spec without any password */
	EVP_PKEY *pkey;            /* PUBLIC / PRIVATE / from CERT */
	X509 *cert;                /* CERT */
	char *provider;            /* PROVIDER: name */
	char *provider_opts;       /* PROVIDER: the part after NAME: (may be NULL) */
	char *kid;                 /* COCO_KEK: KBS resource URI */
	unsigned char *kek;        /* COCO_KEK: 32 bytes (wiped on free) */
	size_t kek_len;
	json_t *keys;              /* COCO_KEYS: the parsed keys file */
	char *keys_dir;            /* COCO_KEYS from coco-keys:DIR: one raw key per file */
	char *jwk_kid;             /* PUBLIC/PRIVATE from a JWK: its "kid" (may be NULL) */
	char *jwk_alg;             /* PUBLIC from a JWK: its "alg" (may be NULL) */
} coco_key;

/*
 * Key resolution callback for CoCo packets: a runtime maps a KBS key id
 * (kid, e.g. "kbs:///default/key/app1") to the KEK bytes.  Public API type
 * lives in include/cocoimg/crypt.h.
 */
/*
 * How the provider key wrapper (provider.c) reaches ocicrypt keyproviders.
 * crypt/ never runs a provider itself: the operations layer installs these
 * calls in every keyring it creates (image_crypt.c, backed by
 * broker/keyprovider.c).  Every call records its errors on ctx naming the
 * provider (never key material).
 *  open:   look provider NAME up; *handle for invoke/close.  COCOIMG_EINVAL
 *          when it is not configured, COCOIMG_ECONFIG for a bad config.
 *  invoke: one wrap (data = private options, out receives the wrapped
 *          annotation bytes) or unwrap (data = one decoded annotation
 *          element, out receives the private options) with the keys'
 *          OPTS strings as params (NULL = "Enabled").  Appends to out;
 *          on failure out is left as it was.
 *  close:  free the handle (NULL-safe).
 */
typedef struct coco_provider_ops {
	int (*open)(cocoimg_ctx *ctx, void *payload, const char *name, void **handle);
	int (*invoke)(cocoimg_ctx *ctx, void *handle, bool wrap, const char *const *params,
	              size_t n_params, const unsigned char *data, size_t len, coco_buf *out);
	void (*close)(void *handle);
} coco_provider_ops;

struct cocoimg_keyring {
	coco_key *keys;
	size_t n_keys;
	void *resolver;            /* cocoimg_key_resolver_cb, see crypt.h public */
	void *resolver_payload;
	bool resolver_v2;          /* resolver is a cocoimg_key_resolver2_cb */
	const coco_provider_ops *provider_ops;  /* NULL: no keyprovider support */
	void *provider_payload;
	const struct coco_packet_ops *packet_ops;  /* see coco.h; NULL: resolver only */
	void *packet_payload;
};

/* keys.c: an empty keyring without provider calls (the public
 * cocoimg_keyring_new() in image_crypt.c adds them). */
int coco_keyring_alloc(cocoimg_keyring **out);
/* Install the keyprovider calls of a keyring (ops NULL removes them). */
void coco_keyring_set_provider_ops(cocoimg_keyring *kr, const coco_provider_ops *ops,
                                   void *payload);

/* keys.c: cocoimg_keyring_add_decryption_key() without the operations
 * layer's set-up (image_crypt.c makes resource URIs readable first). */
int coco_keyring_add_decryption_key(cocoimg_ctx *ctx, cocoimg_keyring *kr, const char *spec);

/* keys.c: add *k to kr, taking it whole: on success it is moved (*k
 * zeroed), on failure (no label, no memory: "out of memory" recorded) it
 * is cleared. */
int coco_keyring_push(cocoimg_ctx *ctx, cocoimg_keyring *kr, coco_key *k);
/* Free what a key owns, wiping secrets. */
void coco_key_clear(coco_key *k);

/* provider.c: parse "provider:NAME[:OPTS]" (the text after "provider:"
 * is passed whole) and add it to kr as a recipient or decryption key.
 * The provider must be known to the keyring's provider calls (the
 * keyprovider config, ctx option "keyprovider-config" /
 * $OCICRYPT_KEYPROVIDER_CONFIG): COCOIMG_EINVAL otherwise. */
int coco_keyring_add_provider(cocoimg_ctx *ctx, cocoimg_keyring *kr, const char *spec,
                              bool recipient);
/* coco.c: parse "coco:KID:KEKFILE" (recipient) or "coco-keys:FILE"
 * (decryption) and add it to kr. */
int coco_keyring_add_coco(cocoimg_ctx *ctx, cocoimg_keyring *kr, const char *spec,
                          bool recipient);

/* keys.c: load key files.  Errors name the file, never its contents:
 * COCOIMG_ECONFIG for a malformed file, COCOIMG_EINVAL for a missing
 * one or a wrong password. */
int coco_load_public_key(cocoimg_ctx *ctx, const char *path, coco_key *k);
int coco_load_cert(cocoimg_ctx *ctx, const char *path, coco_key *k);
/* A private key (PEM/DER, PKCS#1/PKCS#8/SEC1, optionally encrypted, or
 * a JWK) or, for pkcs7, a certificate given as a decryption key. */
int coco_load_private(cocoimg_ctx *ctx, const char *path, const char *password,
                      size_t pwlen, coco_key *k);
/* JWK forms of keys, thumbprints: ../jwk.h. */

/* keys.c: append "; " (when needed) and a note to a "tried" list. */
void coco_tried_note(coco_buf *tried, const char *fmt, ...) COCO_PRINTF(2, 3);

/* ---- layer cipher (layercipher.c) -------------------------------------- */

#define COCO_ANN_ENC_PREFIX "org.opencontainers.image.enc."
#define COCO_ANN_PUBOPTS "org.opencontainers.image.enc.pubopts"
#define COCO_ANN_KEYS_PREFIX "org.opencontainers.image.enc.keys."
#define COCO_LAYER_CIPHER "AES_256_CTR_HMAC_SHA256"

/* The options of one encrypted layer: private (symkey, nonce, digest)
 * and public (hmac).  Wipe with coco_layer_opts_clear. */
typedef struct coco_layer_opts {
	unsigned char symkey[32];
	unsigned char nonce[16];
	unsigned char hmac[32];
	bool have_symkey, have_nonce, have_hmac;
	char *digest;              /* PLBCO "digest" (may be "") */
} coco_layer_opts;

void coco_layer_opts_clear(coco_layer_opts *o);
/* Fresh random key and nonce. */
int coco_layer_opts_generate(cocoimg_ctx *ctx, coco_layer_opts *o, const char *digest);
/* Private options JSON exactly as Go's json.Marshal writes it:
 * {"symkey":..,"digest":..,"cipheroptions":{"nonce":..}}.  out is a
 * secret: coco_buf_wipe_free it. */
int coco_privopts_encode(const coco_layer_opts *o, coco_buf *out);
/* Parse private options (any member order; symkey 32 bytes, nonce 16). */
int coco_privopts_parse(cocoimg_ctx *ctx, const unsigned char *json, size_t len,
                        const char *what, coco_layer_opts *o);
/* Public options JSON ({"cipher":..,"hmac":..,"cipheroptions":{}}) and
 * its parser for the base64 annotation value.  A nonce in the public
 * cipheroptions wins over the private one (as in Go and Rust). */
char *coco_pubopts_encode(const unsigned char hmac[32]);
int coco_pubopts_parse(cocoimg_ctx *ctx, const char *b64, const char *what,
                       coco_layer_opts *o);
/*
 * Streaming AES-256-CTR + HMAC-SHA256 (over the ciphertext).  Encrypt:
 * after finish, coco_layer_stage_hmac() gives the HMAC.  Decrypt: finish
 * compares the HMAC in constant time and fails with COCOIMG_EDIGEST naming
 * `what` before finishing next.  Keys are copied and wiped on destroy.
 */
int coco_layer_encrypt_stage_new(cocoimg_ctx *ctx, const coco_layer_opts *o,
                                 coco_stage *next, coco_stage **out);
int coco_layer_decrypt_stage_new(cocoimg_ctx *ctx, const coco_layer_opts *o,
                                 const char *what, coco_stage *next, coco_stage **out);
void coco_layer_stage_hmac(coco_stage *s, unsigned char hmac[32]);
/* An encrypting stage on a CPU with the SHA extensions also computes the
 * sha256 of the ciphertext it passes on, in the HMAC's pass (sha2x.h):
 * after finish, its digest string and byte count (COCOIMG_EINTERNAL when
 * the stage has none). */
bool coco_layer_stage_has_out_digest(const coco_stage *s);
/* Before any byte: a decrypting stage on a CPU with the SHA extensions
 * also hashes the ciphertext it reads, in the HMAC's pass, and at finish
 * hands the digest to fn(arg, digest, count) before it compares the HMAC
 * (fn's error is the stage's).  false (nothing changes) where it cannot:
 * the caller keeps its own digest then. */
bool coco_layer_stage_digest_to(coco_stage *s, coco_digest_sink fn, void *arg);
/* The above for a verify stage upstream of the decrypting stage s: when
 * both can (a sha256 blob, the SHA extensions), the verify stage is
 * deferred and takes s's digest.  Before any byte. */
void coco_layer_stage_feed_verify(coco_stage *s, coco_stage *verify);
/* A decrypting stage with no next stage and nothing written yet: decrypt
 * the whole layer b[0..n) in place, then finish (the HMAC over the
 * ciphertext checked, COCOIMG_EDIGEST as finish() fails).  On any failure
 * b is wiped: no plaintext of a layer that failed its check is left. */
int coco_layer_stage_decrypt_in_place(coco_stage *s, unsigned char *b, size_t n);
int coco_layer_stage_out_digest(coco_stage *s, char digest[COCO_DIGEST_STRLEN],
                                uint64_t *count);

/* ---- unwrapping a layer (transform.c) ---------------------------------- */

/*
 * Open an encrypted layer's options with kr: pubopts + the first
 * keys.* annotation element a key opens.  COCOIMG_ENOKEY (message names
 * the layer `what`, the schemes and key labels tried), COCOIMG_EBADIMAGE
 * for malformed pubopts.  *privopts (optional) receives the unwrapped
 * private options bytes (secret).
 */
int coco_crypt_unwrap_layer(cocoimg_ctx *ctx, cocoimg_keyring *kr, const coco_desc *d,
                            const char *what, coco_layer_opts *o, coco_buf *privopts);
/* Does kr hold at least one recipient? */
bool coco_keyring_has_recipients(const cocoimg_keyring *kr);

/* ---- a layer during a copy (transform.c) -------------------------------- */

/*
 * What happens to one layer: crypt/ decides and computes, the operation
 * (image_crypt.c) moves the bytes.  Encrypt and decrypt are
 *   coco_crypt_*_begin -> the operation opens the destination sink ->
 *   coco_crypt_chain_build -> the operation streams the source blob into
 *   the chain -> coco_crypt_layer_done with what the sink stored.
 */
typedef enum coco_crypt_action {
	COCO_CRYPT_COPY = 0,       /* copy the blob and descriptor unchanged */
	COCO_CRYPT_ENCRYPT = 1,
	COCO_CRYPT_DECRYPT = 2,
	COCO_CRYPT_REWRAP = 3      /* already encrypted: same blob, new key annotations */
} coco_crypt_action;

/*
 * The action for layer idx of n under opts (crypt_mode, encrypt_layers);
 * *selected: an --encrypt-layer selection includes it.  COCOIMG_EINVAL
 * for out-of-range indices.
 */
int coco_crypt_plan_layer(cocoimg_ctx *ctx, const cocoimg_copy_options *opts,
                          const coco_desc *in, size_t idx, size_t n,
                          coco_crypt_action *action, bool *selected);

/*
 * Before anything is written: every already encrypted layer that will get
 * the keyring's recipients must be opened by one of its decryption keys,
 * else COCOIMG_ENOKEY naming the layer (adding a recipient cannot be done
 * without the layer key; nothing is left half-done).  0 when opts does not
 * add recipients.
 */
int coco_crypt_check_rewraps(cocoimg_ctx *ctx, const cocoimg_copy_options *opts,
                             const coco_desc *layers, size_t n);

/* One layer being encrypted or decrypted.  in, what and kr are borrowed
 * and must outlive it. */
typedef struct coco_crypt_layer coco_crypt_layer;

/* Encrypt: check the layer can be encrypted, make a fresh key and wrap it
 * for every recipient of kr (before any data moves, so an unusable
 * recipient fails fast).  Errors name the layer `what`. */
int coco_crypt_encrypt_begin(cocoimg_ctx *ctx, cocoimg_keyring *kr, const coco_desc *in,
                             const char *what, coco_crypt_layer **out);
/* Decrypt: unwrap the layer key with kr (see coco_crypt_unwrap_layer). */
int coco_crypt_decrypt_begin(cocoimg_ctx *ctx, cocoimg_keyring *kr, const coco_desc *in,
                             const char *what, coco_crypt_layer **out);
/*
 * The stages from the source blob to the sink already in pl: size +
 * digest check of the source bytes, then the cipher, with two thread
 * split points.  The pipeline owns them; the source writes into its head.
 * Returns the first constructor error (the pipeline keeps what was built).
 */
int coco_crypt_chain_build(coco_crypt_layer *l, coco_pipe *pl);
/* After coco_crypt_chain_build: does the chain's cipher compute the
 * digest of the bytes it passes to the sink?  Then the operation lets the
 * sink take it (coco_dest_blob_digest_from with coco_crypt_layer_out_digest
 * and l) instead of hashing the stream a second time. */
bool coco_crypt_layer_has_out_digest(const coco_crypt_layer *l);
int coco_crypt_layer_out_digest(void *l, char digest[COCO_DIGEST_STRLEN], uint64_t *count);
/*
 * After the chain finished and the sink stored digest/size: the new
 * descriptor (*out_desc, new reference; media type with or without
 * "+encrypted", encryption annotations added or dropped) and the report
 * fields ("action": "encrypt" with "schemes" and "recipients", or
 * "decrypt"; docs/json.md).
 */
int coco_crypt_layer_done(cocoimg_ctx *ctx, coco_crypt_layer *l, const char *digest,
                          uint64_t size, json_t **out_desc, json_t *report);
void coco_crypt_layer_free(coco_crypt_layer *l);

/*
 * An already encrypted layer during encrypt: remove opts->remove_recipients
 * and (selected) add the keyring's recipients by unwrapping its key.  The
 * blob stays as is; *out_desc receives the descriptor with the new key
 * annotations, report "action": "rewrap", "recipients_added" (with
 * "schemes"), "recipients_removed".
 */
int coco_crypt_rewrap(cocoimg_ctx *ctx, const cocoimg_copy_options *opts, const coco_desc *in,
                      bool selected, const char *what, json_t **out_desc, json_t *report);

/* ---- key wrappers ------------------------------------------------------ */

typedef struct coco_keywrapper {
	const char *scheme;        /* "jwe", "pkcs7", "provider", "coco" */
	/*
	 * Annotation prefix this wrapper owns: an exact name
	 * ("org.opencontainers.image.enc.keys.jwe") or, when prefix is true,
	 * a prefix ("org.opencontainers.image.enc.keys.provider.").
	 */
	const char *annotation;
	bool prefix;
	/*
	 * Wrap opts (the private options JSON) for every recipient of this
	 * scheme in kr whose annotation is `annotation_name` (for prefix
	 * wrappers, the full name).  *value receives the annotation value
	 * (comma-separated base64), or NULL when kr has no recipient here.
	 * Called once per distinct annotation name the keyring produces: see
	 * annotations() below.
	 */
	int (*wrap)(cocoimg_ctx *ctx, cocoimg_keyring *kr, const char *annotation_name,
	            const unsigned char *opts, size_t len, char **value);
	/*
	 * The annotation names this wrapper will write for kr (NULL-terminated
	 * array, caller frees with free() of each and the array); NULL when
	 * none.  Exact wrappers return their one name if kr has a recipient.
	 */
	char **(*annotations)(cocoimg_keyring *kr);
	/*
	 * Try to unwrap.  0 and *opts filled on success; COCOIMG_ENOKEY if no
	 * key of kr opens it: append a short description of what was tried
	 * (scheme, key label, provider name, kid; never key material) to
	 * `tried`, separated by "; ".  Other codes for malformed annotations
	 * (COCOIMG_EBADIMAGE) or internal failures.
	 */
	int (*unwrap)(cocoimg_ctx *ctx, cocoimg_keyring *kr, const char *annotation_name,
	              const char *value, coco_buf *opts, coco_buf *tried);
} coco_keywrapper;

/* For an exact wrapper's annotations(): {name, NULL} when a key of kr
 * satisfies is_recipient, else NULL (also when out of memory). */
char **coco_kw_annotation_if(cocoimg_keyring *kr, bool (*is_recipient)(const coco_key *k),
                             const char *name);

/* The registered wrappers, in the order decryption tries them. */
extern const coco_keywrapper coco_kw_jwe, coco_kw_pkcs7, coco_kw_provider, coco_kw_coco;

/* The wrappers available in this build, NULL-terminated (jwe, pkcs7,
 * coco, provider). */
const coco_keywrapper *const *coco_keywrappers(void);

/* jwe.c / pkcs7.c helpers for recipient removal and inspect. */
/* Drop the JWE recipients whose kid is in kids (n) from one annotation
 * element (raw JWE bytes).  *out: NULL when nothing is left, else the new
 * JWE bytes (possibly unchanged).  *removed counts dropped recipients. */
int coco_jwe_remove(cocoimg_ctx *ctx, const unsigned char *jwe, size_t len,
                    const char *const *kids, size_t n, coco_buf *out, bool *empty,
                    size_t *removed);
/* Recipient count and kids (array of strings, may be empty) of a JWE. */
int coco_jwe_describe(const unsigned char *jwe, size_t len, size_t *recipients, json_t *kids);
/* Parse one JWE and (pk != NULL) try pk on every recipient: 0 with the
 * plaintext appended to out, COCOIMG_ENOKEY, COCOIMG_EBADIMAGE. */
int coco_jwe_decrypt_one(const unsigned char *data, size_t len, EVP_PKEY *pk, coco_buf *out);
/* Same for a PKCS7 envelope, removal by certificate issuer+serial. */
int coco_pkcs7_remove(cocoimg_ctx *ctx, const unsigned char *der, size_t len, X509 *const *certs,
                      size_t n, coco_buf *out, bool *empty, size_t *removed);
int coco_pkcs7_describe(const unsigned char *der, size_t len, size_t *recipients);
/* Parse one DER envelope and try the keyring's RSA private keys (with
 * their certificates): 0 with the plaintext appended to out,
 * COCOIMG_ENOKEY, COCOIMG_EBADIMAGE. */
int coco_pkcs7_decrypt_one(const unsigned char *der, size_t len, cocoimg_keyring *kr,
                           coco_buf *out);

/*
 * hooks.c: a decrypting stage for an encrypted layer descriptor: unwraps
 * the layer key with the keyring (COCOIMG_ENOKEY with a message naming the
 * layer and what was tried), then decrypts bytes into next, checking the
 * HMAC at finish (COCOIMG_EDIGEST).  *plain_media_type receives the
 * media type without "+encrypted" (caller frees).
 */
int coco_crypt_decrypt_stage_new(cocoimg_ctx *ctx, cocoimg_keyring *kr, const coco_desc *d,
                                 coco_stage *next, coco_stage **out, char **plain_media_type);

/* hooks.c: describe an encrypted layer for inspect (cipher, schemes, key
 * ids of CoCo packets; never key material).  Returns a new JSON object. */
json_t *coco_crypt_describe_layer(cocoimg_ctx *ctx, const coco_desc *d);

#endif
