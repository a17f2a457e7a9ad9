/*
 * libcocoimg trust/: internal interfaces between the policy engine
 * (policy.c, identity rules, simple signing / OpenPGP) and the cosign
 * code (cosign.c, signing).  Not installed.
 */
#ifndef COCO_TRUST_H
#define COCO_TRUST_H

#include "../internal.h"

#include <openssl/evp.h>

/* One cosign signature as found in a sigstore attachment (one layer of the
 * sha256-<hex>.sig manifest), already fetched and digest-checked. */
typedef struct coco_sigstore_sig {
	coco_buf payload;          /* the layer blob: simple-signing JSON */
	char *signature_b64;       /* annotation dev.cosignproject.cosign/signature */
	char *cert_pem;            /* dev.sigstore.cosign/certificate (may be NULL) */
	char *chain_pem;           /* dev.sigstore.cosign/chain (may be NULL) */
	char *bundle_json;         /* dev.sigstore.cosign/bundle (may be NULL) */
} coco_sigstore_sig;

void coco_sigstore_sigs_free(coco_sigstore_sig *sigs, size_t n);

/*
 * cosign.c: fetch the sigstore attachments of the image manifest `digest`
 * from the same repository as src (tag "sha256-<hex>.sig").  No
 * attachment is not an error: *n = 0.  A failed lookup is
 * COCOIMG_ESIGLOOKUP.  Sources that cannot hold attachments (oci: layouts
 * without that tag) give *n = 0.
 */
int coco_cosign_fetch(cocoimg_ctx *ctx, coco_src *src, const char *digest,
                      coco_sigstore_sig **out, size_t *n);

/*
 * cosign.c: verify one signature with any of keys (public keys from the
 * policy).  On success 0, and the payload's claimed manifest digest and
 * docker reference (malloc'd).  COCOIMG_EPOLICY with a reason when the
 * cryptographic check or payload format fails.
 */
int coco_cosign_verify(cocoimg_ctx *ctx, const coco_sigstore_sig *sig, EVP_PKEY *const *keys,
                       size_t n_keys, char **manifest_digest, char **docker_reference);

/* cosign.c: load public keys (PEM, several per file allowed) for a
 * sigstoreSigned requirement.  COCOIMG_ECONFIG on malformed key data. */
int coco_pubkeys_load_pem(cocoimg_ctx *ctx, const unsigned char *pem, size_t len,
                          EVP_PKEY ***keys, size_t *n);
void coco_pubkeys_free(EVP_PKEY **keys, size_t n);

#endif
