/*
 * --ca-cert FILE (ctx option ca-cert, per side): a PEM bundle of CA
 * certificates added to the roots trusted for a registry's TLS, as a
 * --cert-dir's *.crt files are.  FILE may be a resource URI
 * (kbs:///R/T/G), read through the operation's resource reader.
 */
#include "registry.h"
#include "../base.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#define CA_FILE_MAX (4 << 20)

/* How many PEM certificates b holds (OpenSSL reads them). */
static size_t count_certs(const coco_buf *b)
{
	BIO *bio = BIO_new_mem_buf(b->data, (int)b->len);
	size_t n = 0;
	X509 *x;
	while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		X509_free(x);
		n++;
	}
	BIO_free(bio);
	return n;
}

int coco_tls_ca_file(cocoimg_ctx *ctx, const char *side, coco_buf *extra)
{
	const char *path = coco_opt(ctx, side, "ca-cert");
	if (!path || !*path)
		return 0;
	coco_buf b = COCO_BUF_INIT;
	int rc = coco_read_named(ctx, path, CA_FILE_MAX, "CA file", COCOIMG_EIO, &b,
	                         COCOIMG_ECONFIG);
	if (!rc && !count_certs(&b))
		rc = coco_seterr(ctx, COCOIMG_ECONFIG, "CA file %s: no PEM certificate in it", path);
	if (!rc && (coco_buf_append(extra, b.data, b.len) || coco_buf_putc(extra, '\n')))
		rc = coco_oom(ctx);
	coco_buf_free(&b);
	return rc;
}
