/* coco-img verify-blob ARTIFACT --bundle BUNDLE [--key PUB |
 * --certificate-identity[-regexp] ID --certificate-oidc-issuer[-regexp] ISS]
 * [--trusted-root FILE] [--insecure-ignore-tlog]: cosign verify-blob for a
 * Sigstore bundle.  ARTIFACT is a file or sha256:HEX.  Exit 0 verified,
 * 3 refused, 2 bad input (unreadable bundle, trusted root or flags), 1
 * other failures. */
#include "cli.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_BUNDLE = 1 };

static cocoimg_verify_blob_options o = COCOIMG_VERIFY_BLOB_OPTIONS_INIT;

static int handler(cli_state *st, int id, const char *v)
{
	(void)st;
	if (id != OPT_BUNDLE)
		return cli_cosign_flag("verify-blob", &o, id, v);
	if (o.bundle_path)
		return cli_usage("verify-blob: --bundle given twice");
	o.bundle_path = v;
	return 0;
}

static void print_text(const char *report)
{
	json_t *j = json_loads(report, 0, NULL);
	if (!j)
		return;
	const char *art = json_string_value(json_object_get(j, "artifact"));
	if (json_is_true(json_object_get(j, "verified"))) {
		const char *id = json_string_value(json_object_get(j, "identity"));
		const char *iss = json_string_value(json_object_get(j, "issuer"));
		printf("Verified OK: %s", art ? art : "");
		if (id)
			printf(" (signed by %s, issuer %s)", id, iss ? iss : "?");
		printf("\n");
	} else {
		const char *chk = json_string_value(json_object_get(j, "failed_check"));
		printf("Refused: %s (failed check: %s)\n", art ? art : "", chk ? chk : "?");
	}
	json_decref(j);
}

static int run(cli_state *st)
{
	if (!o.bundle_path)
		return cli_usage("verify-blob: --bundle FILE is required");
	char *report = NULL;
	int rc = cocoimg_verify_blob(st->ctx, st->positional[0], &o, &report);
	return cli_report_exit(st, rc, report, print_text);
}

static const cli_opt opts[] = {
	{ "bundle", CLI_VALUE, OPT_BUNDLE, "Sigstore bundle (v0.1 to v0.3, JSON)", "FILE" },
	CLI_COSIGN_OPTS("public key (PEM) the bundle must be signed with",
	                "expected certificate identity (SAN)",
	                "expected OIDC issuer of the certificate",
	                "sigstore trusted_root.json (Fulcio, Rekor, CT, TSA keys)",
	                "with --key: do not require a transparency log entry"),
	{ NULL, 0, 0, NULL, NULL },
};

const cli_command cli_cmd_verify_blob = {
	"verify-blob", "ARTIFACT",
	"Verify a Sigstore bundle for ARTIFACT (a file or sha256:HEX), as cosign verify-blob",
	CLI_GROUP_OUTPUT, opts, handler, 1, 1, run,
};
