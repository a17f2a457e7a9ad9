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

enum { OPT_BUNDLE = 1, OPT_KEY, OPT_ID, OPT_ID_RE, OPT_ISS, OPT_ISS_RE, OPT_ROOT, OPT_NOTLOG, OPT_NOSCT };

static cocoimg_verify_blob_options o = COCOIMG_VERIFY_BLOB_OPTIONS_INIT;

static int once(const char **slot, const char *v, const char *flag)
{
	if (*slot)
		return cli_usage("verify-blob: %s given twice", flag);
	*slot = v;
	return 0;
}

static int handler(cli_state *st, int id, const char *v)
{
	(void)st;
	switch (id) {
	case OPT_BUNDLE: return once(&o.bundle_path, v, "--bundle");
	case OPT_KEY: return once(&o.key_path, v, "--key");
	case OPT_ID: return once(&o.identity, v, "--certificate-identity");
	case OPT_ID_RE: return once(&o.identity_regexp, v, "--certificate-identity-regexp");
	case OPT_ISS: return once(&o.issuer, v, "--certificate-oidc-issuer");
	case OPT_ISS_RE: return once(&o.issuer_regexp, v, "--certificate-oidc-issuer-regexp");
	case OPT_ROOT: return once(&o.trusted_root_path, v, "--trusted-root");
	case OPT_NOTLOG: o.insecure_ignore_tlog = 1; return 0;
	case OPT_NOSCT: o.insecure_ignore_sct = 1; return 0;
	}
	return cli_usage("verify-blob: unhandled option");
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
	if (report && !(rc && st->json)) {   /* a failure's JSON comes with its error */
		if (st->json)
			printf("%s\n", report);
		else
			print_text(report);
		fflush(stdout);
	}
	int ec = rc ? cli_fail_report(st, rc, NULL, report) : EXIT_OK;
	cocoimg_free(report);
	return ec;
}

static const cli_opt opts[] = {
	{ "bundle", CLI_VALUE, OPT_BUNDLE, "Sigstore bundle (v0.1 to v0.3, JSON)", "FILE" },
	{ "key", CLI_VALUE, OPT_KEY, "public key (PEM) the bundle must be signed with", "FILE" },
	{ "certificate-identity", CLI_VALUE, OPT_ID, "expected certificate identity (SAN)", "ID" },
	{ "certificate-identity-regexp", CLI_VALUE, OPT_ID_RE, "... as a regular expression", "RE" },
	{ "certificate-oidc-issuer", CLI_VALUE, OPT_ISS, "expected OIDC issuer of the certificate", "URL" },
	{ "certificate-oidc-issuer-regexp", CLI_VALUE, OPT_ISS_RE, "... as a regular expression", "RE" },
	{ "trusted-root", CLI_VALUE, OPT_ROOT, "sigstore trusted_root.json (Fulcio, Rekor, CT, TSA keys)", "FILE" },
	{ "insecure-ignore-tlog", CLI_FLAG, OPT_NOTLOG, "with --key: do not require a transparency log entry", NULL },
	{ "insecure-ignore-sct", CLI_FLAG, OPT_NOSCT, "keyless: do not require an embedded SCT", NULL },
	{ NULL, 0, 0, NULL, NULL },
};

const cli_command cli_cmd_verify_blob = {
	"verify-blob", "ARTIFACT",
	"Verify a Sigstore bundle for ARTIFACT (a file or sha256:HEX), as cosign verify-blob",
	CLI_GROUP_OUTPUT, opts, handler, 1, 1, run,
};
