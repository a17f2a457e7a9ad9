/* coco-img sign IMAGE --key FILE [--passphrase-file FILE] [--sign-identity REF]
 * [--recursive]: a cosign-compatible signature in the image's repository.
 * An encrypted key's passphrase: --passphrase-file, else COSIGN_PASSWORD,
 * else a prompt on the terminal (only when the key is encrypted). */
#include "cli.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_KEY = 1, OPT_PASSFILE, OPT_IDENTITY, OPT_RECURSIVE };

static const char *key_path, *pass_path, *identity;
static int recursive;

static int handler(cli_state *st, int id, const char *v)
{
	(void)st;
	switch (id) {
	case OPT_KEY:
		if (key_path)
			return cli_usage("sign: --key given twice");
		key_path = v;
		return 0;
	case OPT_PASSFILE: pass_path = v; return 0;
	case OPT_IDENTITY: identity = v; return 0;
	case OPT_RECURSIVE: recursive = 1; return 0;
	}
	return cli_usage("sign: unhandled option");
}

static void print_text(const char *report)
{
	json_t *j = json_loads(report, 0, NULL);
	json_t *sigs = j ? json_object_get(j, "signatures") : NULL;
	size_t i;
	json_t *e;
	json_array_foreach(sigs, i, e) {
		const char *d = json_string_value(json_object_get(e, "digest"));
		const char *id = json_string_value(json_object_get(e, "identity"));
		const char *att = json_string_value(json_object_get(e, "attachment"));
		bool added = json_is_true(json_object_get(e, "added"));
		printf("%s %s for %s in %s\n", added ? "Signed" : "Already signed", d ? d : "?",
		       id ? id : "?", att ? att : "?");
	}
	json_decref(j);
}

static int run(cli_state *st)
{
	if (!key_path)
		return cli_usage("sign: --key FILE is required");
	cocoimg_sign_options o = COCOIMG_SIGN_OPTIONS_INIT;
	o.key_path = key_path;
	o.passphrase_file = pass_path;
	o.sign_identity = identity;
	o.recursive = recursive;
	char *pass = NULL;
	const char *env = getenv("COSIGN_PASSWORD");
	if (!pass_path && env) {
		o.passphrase = env;
	} else if (!pass_path && cocoimg_key_needs_passphrase(st->ctx, key_path) == 1) {
		int prc = cli_passphrase_prompt(false, &pass);
		if (prc)
			return prc;
		o.passphrase = pass;
	}
	char *report = NULL;
	int rc = cocoimg_sign(st->ctx, st->positional[0], &o, &report);
	cli_passphrase_free(pass);
	if (rc)
		return cli_fail(st, rc, st->positional[0]);
	if (st->json)
		printf("%s\n", report);
	else
		print_text(report);
	cocoimg_free(report);
	return EXIT_OK;
}

static const cli_opt opts[] = {
	{ "key", CLI_VALUE, OPT_KEY, "private key: PEM (PKCS#8, SEC1) or cosign's encrypted format", "FILE" },
	{ "passphrase-file", CLI_VALUE, OPT_PASSFILE, "file whose first line is the key's passphrase (else COSIGN_PASSWORD, else a prompt)", "FILE" },
	{ "sign-identity", CLI_VALUE, OPT_IDENTITY, "identity to sign for (default: the repository, as cosign)", "REF" },
	{ "recursive", CLI_FLAG, OPT_RECURSIVE, "for an index, also sign every manifest it lists", NULL },
	{ NULL, 0, 0, NULL, NULL },
};

const cli_command cli_cmd_sign = {
	"sign", "IMAGE", "Write a cosign-compatible signature (sha256-<hex>.sig attachment) for IMAGE",
	CLI_GROUP_REGISTRY | CLI_GROUP_OUTPUT, opts, handler, 1, 1, run,
};
