/*
 * libcocoimg crypt/: internals of the provider key wrapper (provider.c)
 * and of the confidential-containers annotation packet (coco.c), shared
 * between those two files, their unit tests and fuzz targets.  Not
 * installed.
 */
#ifndef COCO_CRYPT_COCO_H
#define COCO_CRYPT_COCO_H

#include "../base.h"

#define COCO_KP_ANNOTATION_PREFIX "org.opencontainers.image.enc.keys.provider."
#define COCO_AA_PROVIDER "attestation-agent"
#define COCO_AA_ANNOTATION COCO_KP_ANNOTATION_PREFIX COCO_AA_PROVIDER

/* ---- provider.c ------------------------------------------------------ */

/* True if kr holds a provider:attestation-agent decryption key: the
 * provider wrapper then also handles local CoCo keys for that annotation
 * (local first), and coco_kw_coco stands aside. */
bool coco_kw_provider_handles_aa(const cocoimg_keyring *kr);

/* ---- coco.c ---------------------------------------------------------- */

typedef struct coco_packet {
	char *version;             /* NULL when absent ("0.1.0" implied) */
	char *kid;
	char *provider;            /* NULL when absent ("kbs" implied) */
	char *wrap_type;           /* as written; NULL if absent */
	coco_buf wrapped;
	coco_buf iv;
	bool has_iv;
} coco_packet;

/*
 * Parse a decoded annotation packet (current four-field form, CDH's
 * versioned form, and the historical forms of ocicrypt.md 7.6).
 * COCOIMG_EBADIMAGE with a message when it is not a packet.
 */
int coco_packet_parse(cocoimg_ctx *ctx, const unsigned char *data, size_t len,
                      coco_packet *out);
void coco_packet_clear(coco_packet *p);

/* Resource path "repo/type/tag" of a KBS kid (kbs://HOST/r/t/tag,
 * kbs+PLUGIN://..., historical SCHEME://HOST/r/t/tag, /r/t/tag).
 * Returns NULL if it has no such path.  strict: only kbs / kbs+PLUGIN
 * URIs with exactly three segments (what a guest accepts). */
char *coco_kid_resource_path(const char *kid, bool strict);

/*
 * Try a key-encryption key on a packet: 0 opened (the private options
 * appended to opts), 1 wrong key or a packet this build cannot open,
 * < 0 an error (COCOIMG_ENOMEM, COCOIMG_EINTERNAL; no message).
 */
int coco_packet_try_kek(const coco_packet *pk, const unsigned char *kek, size_t len,
                        coco_buf *opts);

/*
 * Open pk with the KEK the key resolver gave for its kid, then wipe and
 * free kek: 0 opened (opts appended), COCOIMG_ENOKEY ("key resolver:
 * wrong key" appended to notes), other failures recorded on ctx.
 */
int coco_packet_open_resolved(cocoimg_ctx *ctx, const coco_packet *pk, coco_buf *kek,
                              coco_buf *opts, coco_buf *notes);

/*
 * Ask the keyring's key resolver callback for the KEK of kid: 0 with the
 * key appended to kek (wipe it), COCOIMG_ENOKEY with a note appended to
 * notes (the callback said COCOIMG_ENOKEY, or kr has no resolver),
 * COCOIMG_ECANCELLED (any other non-zero answer; recorded on ctx).
 */
int coco_packet_resolver_kek(cocoimg_ctx *ctx, cocoimg_keyring *kr, const char *kid,
                             coco_buf *kek, coco_buf *notes);

/*
 * How a packet the keyring's own coco: and coco-keys: keys did not open
 * reaches the key sources outside crypt/ (the key resolver and the trust
 * broker).  The operations layer installs it on every keyring
 * (image_broker.c); without it only the resolver callback is asked.
 *  open: raw is the packet's decoded JSON.  0 opened (opts appended);
 *        COCOIMG_ENOKEY with what was tried appended to notes;
 *        COCOIMG_ECANCELLED and other errors recorded on ctx.
 */
typedef struct coco_packet_ops {
	int (*open)(cocoimg_ctx *ctx, void *payload, cocoimg_keyring *kr, const coco_packet *pk,
	            const unsigned char *raw, size_t len, coco_buf *opts, coco_buf *notes);
} coco_packet_ops;

/* Install the packet calls of a keyring (ops NULL removes them). */
void coco_keyring_set_packet_ops(cocoimg_keyring *kr, const coco_packet_ops *ops, void *payload);

/* True if kr holds anything that opens packets (coco-keys files, coco:
 * KEKs, a resolver callback, or packet calls to the trust broker). */
bool coco_keyring_has_local_coco(const cocoimg_keyring *kr);

/*
 * Open the comma-separated annotation value with the keyring's local
 * CoCo keys and resolver.  0 with *opts; COCOIMG_ENOKEY appending what
 * was tried; COCOIMG_EBADIMAGE for an element that is not base64.
 */
int coco_packet_unwrap_local(cocoimg_ctx *ctx, cocoimg_keyring *kr, const char *value,
                             coco_buf *opts, coco_buf *tried);

#endif /* COCO_CRYPT_COCO_H */

