/* coco-img sign IMAGE --key FILE [--passphrase-file FILE] [--sign-identity REF]
 * [--recursive] [--bundle-format legacy|v3] [--rekor-url URL], or keyless
 * (--fulcio-url URL --identity-token TOKEN|@FILE instead of --key): a cosign-compatible signature
 * in the image's repository: the legacy .sig attachment (default), or
 * cosign v3's Sigstore bundle attached as a referrer (--bundle-format=v3,
 * or cosign's spelling --new-bundle-format[=true]); with --rekor-url the
 * signature is logged in that Rekor and the entry attached with it.
 * An encrypted key's passphrase: --passphrase-file, else COSIGN_PASSWORD,
 * else a prompt on the terminal (only when the key is encrypted). */
#include "cli.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TOKEN_MAX (64 * 1024)

enum { OPT_KEY = 1, OPT_PASSFILE, OPT_IDENTITY, OPT_RECURSIVE, OPT_FORMAT, OPT_NEWFORMAT,
       OPT_REKOR, OPT_FULCIO, OPT_TOKEN };

static const char *key_path, *pass_path, *identity, *rekor_url, *fulcio_url, *token_arg;
static int recursive, format = COCOIMG_SIGN_LEGACY;

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
	case OPT_FORMAT:
		if (!strcmp(v, "legacy"))
			format = COCOIMG_SIGN_LEGACY;
		else if (!strcmp(v, "v3"))
			format = COCOIMG_SIGN_BUNDLE_V3;
		else
			return cli_usage("sign: --bundle-format takes legacy or v3, not \"%s\"", v);
		return 0;
	case OPT_NEWFORMAT:
		format = !strcmp(v, "true") ? COCOIMG_SIGN_BUNDLE_V3 : COCOIMG_SIGN_LEGACY;
		return 0;
	case OPT_REKOR: rekor_url = v; return 0;
	case OPT_FULCIO: fulcio_url = v; return 0;
	case OPT_TOKEN: token_arg = v; return 0;
	}
	return cli_usage("sign: unhandled option");
}

static void print_entry(json_t *e)
{
	const char *d = json_string_value(json_object_get(e, "signed_digest"));
	const char *fmt = json_string_value(json_object_get(e, "format"));
	if (fmt && !strcmp(fmt, "sigstore-bundle")) {
		const char *r = json_string_value(json_object_get(e, "referrer_digest"));
		const char *tag = json_string_value(json_object_get(e, "referrers_tag"));
		printf("Signed %s (Sigstore bundle, cosign v3) as referrer %s%s%s\n", d ? d : "?",
		       r ? r : "?", tag ? ", listed in " : "", tag ? tag : "");
		return;
	}
	const char *id = json_string_value(json_object_get(e, "identity"));
	const char *att = json_string_value(json_object_get(e, "attachment"));
	bool added = json_is_true(json_object_get(e, "added"));
	printf("%s %s for %s in %s\n", added ? "Signed" : "Already signed", d ? d : "?",
	       id ? id : "?", att ? att : "?");
}

static void print_text(const char *report)
{
	json_t *j = json_loads(report, 0, NULL);
	json_t *sigs = j ? json_object_get(j, "signatures") : NULL;
	size_t i;
	json_t *e;
	json_array_foreach(sigs, i, e)
		print_entry(e);
	json_decref(j);
}

/* --identity-token: TOKEN, @FILE, or (as cosign) the path of a file
 * holding it; surrounding white space dropped.  A secret: free with
 * cli_passphrase_free. */
static int read_token(const char *arg, char **out)
{
	struct stat sb;
	const char *path = arg[0] == '@' ? arg + 1 : stat(arg, &sb) == 0 ? arg : NULL;
	char *t = NULL;
	if (path) {
		FILE *f = fopen(path, "re");
		if (!f)
			return cli_usage("sign: cannot open identity token file %s: %s", path,
			                 strerror(errno));
		t = calloc(1, TOKEN_MAX + 1);
		size_t n = t ? fread(t, 1, TOKEN_MAX + 1, f) : 0;
		int err = t && ferror(f) ? errno : 0;
		fclose(f);
		if (!t)
			return cli_error_as(COCOIMG_ENOMEM, "out of memory");
		if (err) {
			cli_passphrase_free(t);
			return cli_error_as(COCOIMG_EIO, "sign: cannot read identity token file %s: %s",
			                    path, strerror(err));
		}
		if (n > TOKEN_MAX) {
			cli_passphrase_free(t);
			return cli_usage("sign: identity token file %s is larger than 64 KiB", path);
		}
	} else if (!(t = strdup(arg))) {
		return cli_error_as(COCOIMG_ENOMEM, "out of memory");
	}
	size_t n = strlen(t), s = strspn(t, " \t\r\n");
	while (n > s && strchr(" \t\r\n", t[n - 1]))
		t[--n] = 0;
	memmove(t, t + s, n - s + 1);
	*out = t;
	return 0;
}

/* Which signer: a key, or keyless (certificate authority + token). */
static int signer_flags_check(void)
{
	if (fulcio_url && key_path)
		return cli_usage("sign: --key and --fulcio-url exclude each other (keyless signing "
		                 "makes its own key)");
	if (!fulcio_url && !key_path)
		return cli_usage("sign: --key FILE, or --fulcio-url URL with --identity-token, is "
		                 "required");
	if (fulcio_url && !token_arg)
		return cli_usage("sign: keyless signing (--fulcio-url) needs --identity-token "
		                 "TOKEN|@FILE");
	if (fulcio_url && !rekor_url)
		return cli_usage("sign: keyless signing (--fulcio-url) needs --rekor-url URL");
	if (token_arg && !fulcio_url)
		return cli_usage("sign: --identity-token is for keyless signing (--fulcio-url)");
	return 0;
}

static int run(cli_state *st)
{
	int frc = signer_flags_check();
	if (frc)
		return frc;
	if (identity && format == COCOIMG_SIGN_BUNDLE_V3)
		return cli_usage("sign: --sign-identity is for legacy signatures; a v3 bundle names no "
		                 "identity (its subject is the manifest digest)");
	cocoimg_sign_options o = COCOIMG_SIGN_OPTIONS_INIT;
	o.key_path = key_path;
	o.passphrase_file = pass_path;
	o.sign_identity = identity;
	o.recursive = recursive;
	o.bundle_format = format;
	o.rekor_url = rekor_url;
	o.fulcio_url = fulcio_url;
	char *pass = NULL, *token = NULL;
	if (token_arg) {
		int trc = read_token(token_arg, &token);
		if (trc)
			return trc;
		o.identity_token = token;
	}
	const char *env = getenv("COSIGN_PASSWORD");
	if (!pass_path && env) {
		o.passphrase = env;
	} else if (key_path && !pass_path &&
	           cocoimg_key_needs_passphrase(st->ctx, key_path) == 1) {
		int prc = cli_passphrase_prompt(false, &pass);
		if (prc) {
			cli_passphrase_free(token);
			return prc;
		}
		o.passphrase = pass;
	}
	char *report = NULL;
	int rc = cocoimg_sign(st->ctx, st->positional[0], &o, &report);
	cli_passphrase_free(pass);
	cli_passphrase_free(token);
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
	{ "bundle-format", CLI_VALUE, OPT_FORMAT, "legacy: the sha256-<hex>.sig attachment (default); v3: a Sigstore bundle attached as an OCI 1.1 referrer, as cosign v3", "FORMAT" },
	{ "fulcio-url", CLI_VALUE, OPT_FULCIO, "keyless: a fresh key certified by this Fulcio (v2 API) for the identity token; needs --rekor-url", "URL" },
	{ "identity-token", CLI_VALUE, OPT_TOKEN, "keyless: the OIDC identity token, @FILE, or the path of a file holding it", "TOKEN" },
	{ "rekor-url", CLI_VALUE, OPT_REKOR, "log the signature in this Rekor (v1 API) and attach its entry; without it there is no log entry and cosign verifies with --insecure-ignore-tlog", "URL" },
	{ "new-bundle-format", CLI_BOOL, OPT_NEWFORMAT, "cosign's spelling: true is --bundle-format=v3", NULL },
	{ NULL, 0, 0, NULL, NULL },
};

const cli_command cli_cmd_sign = {
	"sign", "IMAGE", "Write a cosign-compatible signature (.sig attachment, or a v3 Sigstore bundle) for IMAGE",
	CLI_GROUP_REGISTRY | CLI_GROUP_OUTPUT | CLI_GROUP_MANIFESTS | CLI_GROUP_CONFIGS, opts, handler, 1, 1, run,
};
