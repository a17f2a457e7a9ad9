/*
 * Key files for `coco-img sign`: whether a private key needs a passphrase,
 * and new key pairs in cosign's formats (trust/cosign_keygen.c makes the
 * bytes; writing the files is the caller's).
 */
#include "api.h"
#include "base.h"
#include "trust/trust.h"

#include <stdlib.h>

#define MAX_KEY_FILE (1024 * 1024)

COCOIMG_API int cocoimg_key_needs_passphrase(cocoimg_ctx *ctx, const char *key_path)
{
	COCO_API_ENTER(ctx);
	if (!key_path)
		return coco_seterr(ctx, COCOIMG_EINVAL, "a key file is needed");
	coco_buf b = COCO_BUF_INIT;
	int rc = coco_read_file(ctx, key_path, MAX_KEY_FILE, &b, COCOIMG_EINVAL);
	if (rc)
		return rc;
	int enc = coco_cosign_privkey_encrypted(b.data, b.len);
	coco_buf_wipe_free(&b);
	return enc;
}

COCOIMG_API int cocoimg_generate_key_pair(cocoimg_ctx *ctx, const char *passphrase,
                                          char **private_pem, char **public_pem)
{
	COCO_API_ENTER(ctx);
	if (!private_pem || !public_pem)
		return coco_seterr(ctx, COCOIMG_EINVAL, "generate-key-pair: output pointers are needed");
	return coco_cosign_keypair_generate(ctx, passphrase, private_pem, public_pem);
}
