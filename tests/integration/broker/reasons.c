/*
 * reasons: a runtime-style program on the public API alone, whose key
 * resolver (version 2) and evidence callback say why they refuse
 * (cocoimg_key_reply_set_message, cocoimg_evidence_set_message).  It
 * decrypts IMAGE into the layout DST with cocoimg_copy and prints the
 * outcome as "rc NAME" and "msg MESSAGE".
 *
 *   reasons resolver MODE IMAGE DST [KEKFILE]
 *       MODE: nokey (COCOIMG_ENOKEY with a reason), stop (another value
 *       with a reason), key (the 32 bytes of KEKFILE), v1 (a version 1
 *       resolver saying COCOIMG_ENOKEY)
 *   reasons evidence MODE KBS_URL IMAGE DST
 *       MODE: tee (refuses to name its TEE), evidence (names "sample",
 *       then refuses the evidence), both with a reason
 */
#include <cocoimg.h>

#include <stdio.h>
#include <string.h>

static unsigned char kek[32];

static int resolver2(const char *kid, cocoimg_key_reply *reply, void *payload)
{
	const char *mode = payload;
	if (!strcmp(mode, "key"))
		return cocoimg_key_reply_set_key(reply, kek, sizeof(kek));
	if (!strcmp(mode, "nokey")) {
		cocoimg_key_reply_set_message(reply, "vault says: kid not provisioned for this node");
		return COCOIMG_ENOKEY;
	}
	char msg[300];
	snprintf(msg, sizeof(msg), "tenant quota exhausted for %s\n(second line)", kid);
	cocoimg_key_reply_set_message(reply, msg);
	return 7;
}

static int resolver1(const char *kid, unsigned char *key, size_t *key_len, void *payload)
{
	(void)kid, (void)key, (void)key_len, (void)payload;
	return COCOIMG_ENOKEY;
}

static int evidence(const unsigned char *report_data, size_t len, cocoimg_evidence *ev,
                    void *payload)
{
	const char *mode = payload;
	(void)len;
	if (!strcmp(mode, "tee")) {
		cocoimg_evidence_set_message(ev, "no TEE device: /dev/tdx_guest is missing");
		return 1;
	}
	if (cocoimg_evidence_set_tee(ev, "sample"))
		return 1;
	if (!report_data)
		return 0;
	cocoimg_evidence_set_message(ev, "quote generation service unreachable");
	return 1;
}

static int decrypt(cocoimg_ctx *ctx, cocoimg_keyring *kr, const char *image, const char *dst)
{
	cocoimg_copy_options o = COCOIMG_COPY_OPTIONS_INIT;
	o.crypt_mode = COCOIMG_CRYPT_DECRYPT;
	o.keys = kr;
	char ref[4200];
	snprintf(ref, sizeof(ref), "oci:%s", dst);
	return cocoimg_copy(ctx, image, ref, &o, NULL);
}

static int run_resolver(cocoimg_ctx *ctx, char **argv, int argc)
{
	const char *mode = argv[2];
	if (!strcmp(mode, "key")) {
		FILE *f = argc > 5 ? fopen(argv[5], "rb") : NULL;
		size_t n = f ? fread(kek, 1, sizeof(kek), f) : 0;
		if (f)
			fclose(f);
		if (n != sizeof(kek))
			return COCOIMG_EINVAL;
	}
	cocoimg_keyring *kr = NULL;
	int rc = cocoimg_keyring_new(&kr);
	if (!rc)
		rc = !strcmp(mode, "v1") ? cocoimg_keyring_set_resolver(kr, resolver1, NULL)
		                         : cocoimg_keyring_set_resolver2(kr, resolver2, (void *)mode);
	if (!rc)
		rc = decrypt(ctx, kr, argv[3], argv[4]);
	cocoimg_keyring_free(kr);
	return rc;
}

static int run_evidence(cocoimg_ctx *ctx, char **argv)
{
	int rc = cocoimg_ctx_set(ctx, "kbs", argv[3]);
	if (!rc)
		rc = cocoimg_ctx_set_evidence_cb(ctx, evidence, argv[2]);
	if (!rc)
		rc = decrypt(ctx, NULL, argv[4], argv[5]);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 5 || (strcmp(argv[1], "resolver") && strcmp(argv[1], "evidence")) ||
	    (!strcmp(argv[1], "evidence") && argc < 6)) {
		fprintf(stderr, "usage: reasons resolver MODE IMAGE DST [KEKFILE] | "
		                "reasons evidence MODE KBS_URL IMAGE DST\n");
		return 2;
	}
	cocoimg_ctx *ctx = NULL;
	if (cocoimg_ctx_new(&ctx))
		return 1;
	int rc = !strcmp(argv[1], "resolver") ? run_resolver(ctx, argv, argc) : run_evidence(ctx, argv);
	printf("rc %s\nmsg %s\n", rc == COCOIMG_ENOKEY ? "ENOKEY" : rc == COCOIMG_ECANCELLED ? "ECANCELLED"
	                          : rc ? cocoimg_strerror(rc) : "OK",
	       cocoimg_ctx_last_error(ctx));
	cocoimg_ctx_free(ctx);
	return rc ? cocoimg_error_exit_code(rc) : 0;
}
