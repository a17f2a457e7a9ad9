/*
 * Operations-layer glue to the trust broker (see image_broker.h).
 *
 * CoCo annotation packets a keyring's own coco-keys:/coco: keys do not
 * open are tried, in order, with the keyring's key resolver callback (its
 * answer kept per kid and context) and then with the broker's chain
 * (resources file, resource callback, CDH, KBS), which keeps its own
 * answers per resource and context.
 */
#include "image_broker.h"
#include "broker/broker.h"
#include "crypt/coco.h"
#include "crypt/crypt.h"

#include <stdlib.h>
#include <string.h>

static int read_uri(cocoimg_ctx *ctx, const char *uri, const char *what, int err_code,
                    coco_buf *out)
{
	return coco_broker_get(ctx, uri, 0, what, err_code, out);
}

void coco_op_broker_attach(cocoimg_ctx *ctx)
{
	if (ctx) {
		ctx->read_uri = read_uri;
		ctx->open_jwe = coco_jwe_decrypt_one;
	}
}

/* ---- packets ------------------------------------------------------------ */

static int try_kek(void *arg, const unsigned char *kek, size_t len, coco_buf *opts)
{
	return coco_packet_try_kek(arg, kek, len, opts);
}

/* The resolver's KEK for kid, asked once per context: 0 (kek filled),
 * ENOKEY (note added), ECANCELLED / ENOMEM recorded. */
static int resolver_kek(cocoimg_ctx *ctx, cocoimg_keyring *kr, const char *kid, coco_buf *kek,
                        coco_buf *notes)
{
	char *key = coco_asprintf("key resolver\n%s", kid);
	if (!key)
		return coco_oom(ctx);
	int mrc = 0;
	const char *why = NULL;
	int rc = coco_broker_memo_lookup(ctx, key, kek, &mrc, &why);
	if (rc == 1) {
		if (mrc)
			coco_tried_note(notes, "%s", why ? why : "key resolver: no key");
		free(key);
		return mrc ? COCOIMG_ENOKEY : 0;
	}
	coco_buf n2 = COCO_BUF_INIT;
	if (!rc)
		rc = coco_packet_resolver_kek(ctx, kr, kid, kek, &n2);
	if (rc == COCOIMG_ENOMEM)
		rc = coco_oom(ctx);
	else if (rc == COCOIMG_ECANCELLED)
		;   /* recorded: the operation stops, nothing is kept */
	else if (coco_broker_memo_store(ctx, key, kek->data, kek->len, rc,
	                                n2.len ? coco_buf_cstr(&n2) : NULL))
		rc = COCOIMG_ENOMEM;
	if (rc == COCOIMG_ENOKEY && n2.len)
		coco_tried_note(notes, "%s", coco_buf_cstr(&n2));
	coco_buf_free(&n2);
	free(key);
	return rc;
}

static int packet_open(cocoimg_ctx *ctx, void *payload, cocoimg_keyring *kr, const coco_packet *pk,
                       const unsigned char *raw, size_t len, coco_buf *opts, coco_buf *notes)
{
	(void)payload;
	if (kr->resolver) {
		coco_buf kek = COCO_BUF_INIT;
		int rc = resolver_kek(ctx, kr, pk->kid, &kek, notes);
		if (!rc)
			rc = coco_packet_open_resolved(ctx, pk, &kek, opts, notes);
		coco_buf_wipe_free(&kek);
		if (rc != COCOIMG_ENOKEY)
			return rc;
	}
	coco_op_broker_attach(ctx);
	return coco_broker_open_packet(ctx, pk->kid, raw, len, try_kek, (void *)pk, opts, notes);
}

static const coco_packet_ops packet_ops = { .open = packet_open };

void coco_op_keyring_attach(cocoimg_keyring *kr)
{
	if (kr)
		coco_keyring_set_packet_ops(kr, &packet_ops, NULL);
}

int coco_op_keyring(cocoimg_ctx *ctx, cocoimg_keyring *given, cocoimg_keyring **kr,
                    cocoimg_keyring **owned)
{
	*owned = NULL;
	*kr = given;
	if (given || !coco_broker_configured(ctx))
		return 0;
	int rc = cocoimg_keyring_new(owned);
	if (rc)
		return coco_oom(ctx);
	*kr = *owned;
	return 0;
}
