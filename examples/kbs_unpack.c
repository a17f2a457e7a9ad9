/*
 * Unpack an image whose keys, policy and registry credentials a Key
 * Broker Service releases after attestation, the way a confidential
 * guest's runtime would, with its own evidence source:
 *
 *   kbs_unpack KBS_URL IMAGE ROOTFS [POLICY_URI [AUTH_URI [REGISTRIES_D_URI]]]
 *
 * e.g. kbs_unpack https://kbs:8080 docker://reg/app:v1 /run/rootfs \
 *          kbs:///default/security-policy/test kbs:///default/credential/test \
 *          kbs:///default/sigstore-config/test
 *
 * The evidence callback here produces the KBS protocol's *sample* TEE
 * evidence ({"svn", "report_data"}), which proves nothing: a real runtime
 * asks its TEE (TDX quote, SNP report, an attestation agent) for evidence
 * over report_data instead.  KBS_CA=FILE trusts a private CA for HTTPS.
 * Build: cc kbs_unpack.c $(pkg-config --cflags --libs libcocoimg)
 */
#include <cocoimg.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void b64(const unsigned char *in, size_t len, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[o++] = t[v >> 18 & 63];
		out[o++] = t[v >> 12 & 63];
		out[o++] = i + 1 < len ? t[v >> 6 & 63] : '=';
		out[o++] = i + 2 < len ? t[v & 63] : '=';
	}
	out[o] = 0;
}

/* The library asks for the TEE name (report_data NULL), then for evidence
 * binding report_data (the KBS nonce and the TEE key it generated). */
static int evidence(const unsigned char *report_data, size_t len, cocoimg_evidence *ev,
                    void *payload)
{
	(void)payload;
	if (cocoimg_evidence_set_tee(ev, "sample"))
		return 1;
	if (!report_data)
		return 0;
	char rd[128], json[256];
	if (len > 64)
		return 1;
	b64(report_data, len, rd);
	int n = snprintf(json, sizeof(json), "{\"svn\":\"1\",\"report_data\":\"%s\"}", rd);
	return cocoimg_evidence_set_data(ev, json, (size_t)n);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s KBS_URL IMAGE ROOTFS [POLICY_URI [AUTH_URI [REGD_URI]]]\n",
		        argv[0]);
		return 2;
	}
	cocoimg_ctx *ctx;
	if (cocoimg_ctx_new(&ctx))
		return 1;
	int rc = cocoimg_ctx_set(ctx, "kbs", argv[1]);
	if (!rc && getenv("KBS_CA"))
		rc = cocoimg_ctx_set(ctx, "kbs-cert", getenv("KBS_CA"));
	if (!rc && argc > 5)   /* registry credentials released by the KBS */
		rc = cocoimg_ctx_set(ctx, "authfile", argv[5]);
	if (!rc && argc > 6)   /* where signatures are (registries.d, one YAML) */
		rc = cocoimg_ctx_set(ctx, "registries.d", argv[6]);
	if (!rc)
		rc = cocoimg_ctx_set_evidence_cb(ctx, evidence, NULL);

	/* No keyring: encrypted layers open with their key ids, fetched from
	 * the KBS (one attestation for everything this context fetches). */
	cocoimg_unpack_options opts = COCOIMG_UNPACK_OPTIONS_INIT;
	if (argc > 4)
		opts.policy = argv[4];   /* kbs:///...: fetched, then verified first */
	if (!rc)
		rc = cocoimg_ctx_set(ctx, "require-encrypted", "true");
	if (!rc)
		rc = cocoimg_unpack(ctx, argv[2], argv[3], &opts, NULL);
	if (rc)
		fprintf(stderr, "kbs_unpack: %s\n", cocoimg_ctx_last_error(ctx));
	cocoimg_ctx_free(ctx);
	return rc ? cocoimg_error_exit_code(rc) : 0;
}
