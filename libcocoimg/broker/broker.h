/*
 * libcocoimg broker/: the chain of resource sources of a context
 * (broker.c).  Not installed.  Used by the operations layer only: trust/
 * and crypt/ never include this, they receive bytes.
 *
 * A resource URI (resource_uri.h) is resolved by asking the sources in
 * order, first match wins:
 *   1. the offline_fs_kbc resources file (ctx option "resources");
 *   2. the runtime's resource callback (cocoimg_ctx_set_resource_cb);
 *   3. the confidential-data-hub (GetResource; UnwrapKey for packets);
 *   4. a KBS.
 * Every answer of every source (content or refusal) is kept for the life
 * of the context, so a resource is fetched once per source and context.
 * Contents are wiped when dropped.  Thread-safe: one fetch at a time per
 * context.
 */
#ifndef COCO_BROKER_BROKER_H
#define COCO_BROKER_BROKER_H

#include "resource_uri.h"

/*
 * One source of the chain.  label names it in messages ("resources file
 * /etc/r.json", "resource callback", "CDH unix:///run/cdh.sock", "KBS
 * https://kbs:8080").
 *  get:    0 with the content appended to out; COCOIMG_ENOTFOUND when the
 *          source does not have it, or another negative code when the
 *          source failed: then a short reason is appended to why (never
 *          content) and the next source is asked; COCOIMG_ECANCELLED and
 *          COCOIMG_ENOMEM stop the chain.
 *  unwrap: optional (CDH): open a CoCo annotation packet (its JSON, kid
 *          already in the normal form kbs:///R/T/G) and append the
 *          plaintext to out; same returns as get.  Sources with unwrap
 *          are not asked for a packet's key with get.
 *  free:   release self (may be NULL).
 */
typedef struct coco_broker_source {
	char *label;
	void *self;
	int (*get)(void *self, cocoimg_ctx *ctx, const coco_ruri *r, coco_buf *out, coco_buf *why);
	int (*unwrap)(void *self, cocoimg_ctx *ctx, const unsigned char *packet, size_t len,
	              coco_buf *out, coco_buf *why);
	void (*free)(void *self);
} coco_broker_source;

/*
 * Resolve `uri` (parsed with coco_ruri_parse flags) to its content,
 * appended to out (wipe it after use).  `what` names the use in messages
 * ("policy", "auth file", "cosign key of policy ..."): on failure the
 * error is err_code with "WHAT URI: not found or not released: SOURCE:
 * reason; ..." (or "no source of resources is configured"); a URI that
 * does not parse is COCOIMG_EINVAL prefixed with what.
 */
int coco_broker_get(cocoimg_ctx *ctx, const char *uri, unsigned flags, const char *what,
                    int err_code, coco_buf *out);

/* Does the context have any source at all (resources file, callback,
 * CDH, KBS)?  Errors loading the resources file are reported by get. */
bool coco_broker_configured(cocoimg_ctx *ctx);

/* Tries a key-encryption key on a packet: 0 opened (plaintext appended
 * to opts), 1 wrong key, < 0 an error. */
typedef int (*coco_broker_try_kek)(void *arg, const unsigned char *kek, size_t len,
                                   coco_buf *opts);

/*
 * Open a CoCo annotation packet (its decoded JSON `packet`, key id `kid`)
 * through the chain: sources with unwrap receive the packet with its kid
 * rewritten to kbs:///R/T/G; the others are asked for the kid's resource,
 * and try_kek tests what they give.  0 opened; COCOIMG_ENOKEY with what
 * each source answered appended to tried ("; "-separated, no message
 * recorded); COCOIMG_ECANCELLED / COCOIMG_ENOMEM recorded on ctx.
 */
int coco_broker_open_packet(cocoimg_ctx *ctx, const char *kid, const unsigned char *packet,
                            size_t len, coco_broker_try_kek try_kek, void *arg, coco_buf *opts,
                            coco_buf *tried);

/*
 * The context's memo of secrets fetched elsewhere (the keyring's key
 * resolver): lookup returns 1 with the remembered answer (content
 * appended to out, or *rc non-zero with *why, borrowed until the context
 * is freed), 0 when key was never stored.  store remembers data (copied)
 * or a refusal (rc != 0, why).  COCOIMG_ENOMEM.
 */
int coco_broker_memo_lookup(cocoimg_ctx *ctx, const char *key, coco_buf *out, int *rc,
                            const char **why);
int coco_broker_memo_store(cocoimg_ctx *ctx, const char *key, const unsigned char *data,
                           size_t len, int rc, const char *why);

#endif /* COCO_BROKER_BROKER_H */
