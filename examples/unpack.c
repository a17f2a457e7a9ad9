/*
 * Pull, verify, decrypt and unpack an image with libcocoimg, the way a
 * container runtime would:
 *
 *   unpack IMAGE ROOTFS [--key PRIVATE_KEY]... [--policy POLICY.json]
 *
 * IMAGE is docker://..., oci:DIR[:TAG] or oci-archive:FILE[:TAG].  The
 * rootfs appears only when every digest, HMAC and diff_id checked out.
 * Build: cc unpack.c $(pkg-config --cflags --libs libcocoimg)
 */
#include <cocoimg.h>

#include <stdio.h>
#include <string.h>

static int progress(const cocoimg_progress *p, void *payload)
{
	(void)payload;
	if (p->finished)
		fprintf(stderr, "%s %s: %llu bytes\n", p->what, p->digest,
		        (unsigned long long)p->done);
	return 0; /* non-zero would stop the unpack (COCOIMG_ECANCELLED) */
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s IMAGE ROOTFS [--key FILE]... [--policy FILE]\n", argv[0]);
		return 2;
	}
	cocoimg_ctx *ctx;
	cocoimg_keyring *keys;
	if (cocoimg_ctx_new(&ctx) || cocoimg_keyring_new(&keys))
		return 1;
	cocoimg_ctx_set_progress(ctx, progress, NULL);

	/* or: cocoimg_unpack_options opts = COCOIMG_UNPACK_OPTIONS_INIT; */
	cocoimg_unpack_options opts;
	int rc = cocoimg_unpack_options_init(&opts, COCOIMG_UNPACK_OPTIONS_VERSION);
	opts.keyring = keys;
	for (int i = 3; i + 1 < argc && !rc; i += 2) {
		if (!strcmp(argv[i], "--key"))
			rc = cocoimg_keyring_add_decryption_key(ctx, keys, argv[i + 1]);
		else if (!strcmp(argv[i], "--policy"))
			opts.policy = argv[i + 1];   /* verified before any layer is fetched */
	}

	char *report = NULL;
	if (!rc)
		rc = cocoimg_unpack(ctx, argv[1], argv[2], &opts, &report);
	if (rc)
		fprintf(stderr, "unpack: %s\n", cocoimg_ctx_last_error(ctx));
	else
		printf("%s\n", report);   /* manifest, config and layer digests */

	cocoimg_free(report);
	cocoimg_keyring_free(keys);
	cocoimg_ctx_free(ctx);
	return rc ? cocoimg_error_exit_code(rc) : 0;
}
