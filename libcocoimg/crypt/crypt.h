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

#include "../internal.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

/* ---- keyring ---------------------------------------------------------- */

typedef enum coco_key_kind {
	COCO_KEY_PUBLIC = 0,       /* jwe: public key (recipient) */
	COCO_KEY_CERT = 1,         /* pkcs7: certificate (recipient, and needed to decrypt) */
	COCO_KEY_PRIVATE = 2,      /* private key (JWE, PKCS7 with a cert) */
	COCO_KEY_PROVIDER = 3,     /* provider:NAME[:OPTS] (recipient or decryption) */
	COCO_KEY_COCO_KEK = 4,     /* coco:KID:KEKFILE (recipient) */
	COCO_KEY_COCO_KEYS = 5     /* coco-keys:FILE: KBS path -> KEK map (decryption) */
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
} coco_key;

/*
 * Key resolution callback for CoCo packets: a runtime maps a KBS key id
 * (kid, e.g. "kbs:///default/key/app1") to the KEK bytes.  Public API type
 * lives in include/cocoimg/crypt.h.
 */
struct cocoimg_keyring {
	coco_key *keys;
	size_t n_keys;
	void *resolver;            /* cocoimg_key_resolver_cb, see crypt.h public */
	void *resolver_payload;
};

/* keyring.c / keys.c (crypt core): take ownership of *k (zeroed after). */
int coco_keyring_push(cocoimg_keyring *kr, coco_key *k);
/* Free what a key owns, wiping secrets. */
void coco_key_clear(coco_key *k);

/* keyprovider.c: parse "provider:NAME[:OPTS]" (the text after "provider:"
 * is passed whole) and add it to kr as a recipient or decryption key.
 * The provider must exist in the keyprovider config (ctx option
 * "keyprovider-config" / $OCICRYPT_KEYPROVIDER_CONFIG): COCOIMG_EINVAL
 * otherwise. */
int coco_keyring_add_provider(cocoimg_ctx *ctx, cocoimg_keyring *kr, const char *spec,
                              bool recipient);
/* coco.c: parse "coco:KID:KEKFILE" (recipient) or "coco-keys:FILE"
 * (decryption) and add it to kr. */
int coco_keyring_add_coco(cocoimg_ctx *ctx, cocoimg_keyring *kr, const char *spec,
                          bool recipient);

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

/* The registered wrappers, in the order decryption tries them. */
extern const coco_keywrapper coco_kw_jwe, coco_kw_pkcs7, coco_kw_provider, coco_kw_coco;

#endif
