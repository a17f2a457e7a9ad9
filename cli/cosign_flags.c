/* The cosign verification flags shared by verify and verify-blob: each
 * command lists them in its own option table (with its own help) under
 * the CLI_COSIGN_* ids and hands them here. */
#include "cli.h"

static int once(const char *cmd, const char **slot, const char *v, const char *flag)
{
	if (*slot)
		return cli_usage("%s: %s given twice", cmd, flag);
	*slot = v;
	return 0;
}

int cli_cosign_flag(const char *cmd, cocoimg_verify_blob_options *o, int id, const char *v)
{
	switch (id) {
	case CLI_COSIGN_KEY: return once(cmd, &o->key_path, v, "--key");
	case CLI_COSIGN_ID: return once(cmd, &o->identity, v, "--certificate-identity");
	case CLI_COSIGN_ID_RE:
		return once(cmd, &o->identity_regexp, v, "--certificate-identity-regexp");
	case CLI_COSIGN_ISS: return once(cmd, &o->issuer, v, "--certificate-oidc-issuer");
	case CLI_COSIGN_ISS_RE:
		return once(cmd, &o->issuer_regexp, v, "--certificate-oidc-issuer-regexp");
	case CLI_COSIGN_ROOT: return once(cmd, &o->trusted_root_path, v, "--trusted-root");
	case CLI_COSIGN_NOTLOG: o->insecure_ignore_tlog = 1; return 0;
	case CLI_COSIGN_NOSCT: o->insecure_ignore_sct = 1; return 0;
	}
	return cli_usage("%s: unhandled option", cmd);
}
