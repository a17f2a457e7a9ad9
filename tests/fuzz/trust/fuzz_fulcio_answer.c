/* Fuzz what keyless signing reads from outside: the certificate
 * authority's answer (a chain for a fixed key nobody else holds, so no
 * input may be accepted) and the claims of an identity token. */
#include "base.h"
#include "trust/fulcio_request.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static EVP_PKEY *k;
	if (!k)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	cocoimg_ctx *ctx;
	if (!k || cocoimg_ctx_new(&ctx))
		return 0;
	X509 *leaf = NULL;
	STACK_OF(X509) *chain = NULL;
	if (coco_fulcio_answer_parse(ctx, data, size, k, &leaf, &chain) == 0)
		abort(); /* nobody else has this fresh key */
	if (leaf || chain)
		abort(); /* a failure hands nothing back */
	char *subject = NULL;
	if (coco_oidc_token_subject(ctx, (const char *)data, size, &subject) == 0 &&
	    (!subject || !*subject))
		abort();
	free(subject);
	cocoimg_ctx_free(ctx);
	return 0;
}
