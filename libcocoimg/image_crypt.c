/*
 * The operations layer's side of crypt/: keyrings get their way to the
 * ocicrypt keyproviders here (crypt/ only sees coco_provider_ops; the
 * client lives in broker/keyprovider.c).
 */
#include "broker/keyprovider.h"
#include "crypt/crypt.h"

static const coco_provider_ops keyprovider_ops = {
	.open = coco_kp_open,
	.invoke = coco_kp_invoke,
	.close = coco_kp_close,
};

COCOIMG_API int cocoimg_keyring_new(cocoimg_keyring **out)
{
	int rc = coco_keyring_alloc(out);
	if (!rc)
		coco_keyring_set_provider_ops(*out, &keyprovider_ops, NULL);
	return rc;
}
