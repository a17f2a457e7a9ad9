/*
 * inspect: print the manifest digest, platform and layers of an image,
 * using only the public libcocoimg API.
 *
 *   cc inspect.c $(pkg-config --cflags --libs libcocoimg) -o inspect
 *   ./inspect oci:/path/to/layout:tag
 *   ./inspect docker://registry.example.com/app:1.0
 */
#include <cocoimg.h>

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s IMAGE\n", argv[0]);
		return 2;
	}
	cocoimg_ctx *ctx;
	if (cocoimg_ctx_new(&ctx) != 0)
		return 1;
	char *canonical = NULL;
	int rc = cocoimg_reference_normalize(ctx, argv[1], &canonical);
	if (rc == 0) {
		printf("reference: %s\n", canonical);
		char *digest = NULL;
		rc = cocoimg_image_resolve(ctx, argv[1], NULL, &digest, NULL);
		if (rc == 0)
			printf("manifest for this platform: %s\n", digest);
		cocoimg_free(digest);
	}
	if (rc == 0) {
		char *report = NULL;
		rc = cocoimg_inspect(ctx, argv[1], &report);
		if (rc == 0)
			printf("%s\n", report); /* a JSON document, see cocoimg/image.h */
		cocoimg_free(report);
	}
	cocoimg_free(canonical);
	if (rc != 0)
		fprintf(stderr, "inspect: %s\n", cocoimg_ctx_last_error(ctx));
	int status = cocoimg_error_exit_code(rc);
	cocoimg_ctx_free(ctx);
	printf("libcocoimg %s\n", cocoimg_version());
	return status;
}
