/* coco-img verify IMAGE [--policy FILE] [--registries.d DIR]: evaluate the
 * trust policy for IMAGE; or, cosign-style without a policy file,
 * verify IMAGE --key PUB | --certificate-identity[-regexp] ID
 * --certificate-oidc-issuer[-regexp] ISS --trusted-root FILE.  Exit 0
 * accepted, 3 rejected, 2 bad policy, registries.d or flags, 1 when
 * signatures or the image could not be read. */
#include "cli.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char *js(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static void print_text(const char *report)
{
	json_t *j = json_loads(report, 0, NULL);
	if (!j)
		return;
	const char *verdict = js(j, "verdict");
	printf("%s: %s (%s, policy scope %s)\n",
	       !strcmp(verdict, "accepted") ? "Accepted" :
	       !strcmp(verdict, "lookup-failed") ? "Signature lookup failed" : "Rejected",
	       js(j, "image"), js(j, "manifest_digest"), js(j, "scope"));
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(j, "requirements"), i, r) {
		const char *msg = js(r, "message");
		const char *reason = js(r, "reason");
		printf("  requirement %zu %s: %s%s%s%s\n", i, js(r, "type"), js(r, "outcome"),
		       *reason ? " (" : "", reason, *reason ? ")" : "");
		if (*msg)
			printf("    %s\n", msg);
	}
	json_decref(j);
}

enum { OPT_REQENC = 1 };

static cocoimg_verify_blob_options o = COCOIMG_VERIFY_BLOB_OPTIONS_INIT;
static bool cosign_mode;

static int handler(cli_state *st, int id, const char *v)
{
	if (id == OPT_REQENC)
		return cli_require_encrypted(st);
	cosign_mode = true;        /* every other flag is a cosign one */
	return cli_cosign_flag("verify", &o, id, v);
}

static int run(cli_state *st)
{
	const char *image = st->positional[0];
	char *report = NULL;
	const char *pol = cocoimg_ctx_get(st->ctx, "policy");
	if (cosign_mode && pol && *pol)
		return cli_usage("verify: --policy cannot be combined with --key, --certificate-* or "
		                 "--trusted-root");
	int rc = cosign_mode ? cocoimg_verify_cosign(st->ctx, image, &o, &report)
	                     : cocoimg_verify(st->ctx, image, NULL, &report);
	return cli_report_exit(st, rc, report, print_text);
}

static const cli_opt opts[] = {
	CLI_COSIGN_OPTS("without a policy: the public key (PEM) the cosign signature must verify with",
	                "without a policy: expected certificate identity (SAN)",
	                "without a policy: expected OIDC issuer of the certificate",
	                "sigstore trusted_root.json (Fulcio CAs, Rekor and CT keys)",
	                "do not require a Rekor SET (a certificate is then checked at the current time)"),
	{ "require-encrypted", CLI_FLAG, OPT_REQENC, "refuse (exit 3) an image with a layer that is not encrypted", NULL },
	{ NULL, 0, 0, NULL, NULL },
};

const cli_command cli_cmd_verify = {
	"verify", "IMAGE",
	"Evaluate the trust policy (containers-policy.json) for IMAGE, or verify its cosign "
	"signatures with --key / --certificate-identity, and print the verdict",
	CLI_GROUP_REGISTRY | CLI_GROUP_OUTPUT | CLI_GROUP_POLICY | CLI_GROUP_MANIFESTS, opts, handler, 1, 1, run,
};
