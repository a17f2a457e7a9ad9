/*
 * The operations layer's side of broker/ (image_broker.c): resource URIs
 * named where files are expected are fetched here and handed on as
 * bytes; keyrings open CoCo annotation packets through the key resolver
 * and the trust broker.  trust/ and crypt/ never see the broker.  Not
 * installed.
 */
#ifndef COCO_IMAGE_BROKER_H
#define COCO_IMAGE_BROKER_H

#include "base.h"

/* Make coco_read_named() reach the broker on this context and give the
 * broker's KBS client crypt/'s JWE decryption (every operation calls it
 * before reading what the user named). */
void coco_op_broker_attach(cocoimg_ctx *ctx);

/* Install the packet calls (resolver with one call per kid and context,
 * then the broker chain) on a keyring. */
void coco_op_keyring_attach(cocoimg_keyring *kr);

/*
 * The keyring an operation decrypts with: `given` when not NULL, else,
 * when the context has a source of resources (resources file, resource
 * callback, CDH, KBS), a new empty keyring that opens CoCo packets
 * through it (*owned: free it), else NULL.
 */
int coco_op_keyring(cocoimg_ctx *ctx, cocoimg_keyring *given, cocoimg_keyring **kr,
                    cocoimg_keyring **owned);

#endif
