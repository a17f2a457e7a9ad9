/* coco-img encrypt / decrypt, and the keyring builder shared with copy. */
#include "cli.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

enum { ID_ENCKEY = 1, ID_ENCLAYER, ID_REMOVE, ID_MULTI, ID_ALL, ID_REQENC, ID_PLATFORM };

static int *enc_layers;
static size_t n_enc_layers;
static const char **removes;
static int n_removes;
static cocoimg_multi_arch multi;
static char **platforms;       /* --platform A,B (repeatable), split */
static size_t n_platforms;

/* ctr-enc's --platform: a comma-separated list, also repeated. */
static int add_platforms(cli_state *st, const char *v)
{
	const char *p = v;
	do {
		size_t n = strcspn(p, ",");
		if (!n)
			return cli_usage("%s: --platform takes OS/ARCH[/VARIANT][,OS/ARCH...], not \"%s\"",
			                 st->cmd, v);
		char **a = realloc(platforms, (n_platforms + 1) * sizeof(*a));
		if (!a)
			return cli_error_as(COCOIMG_ENOMEM, "out of memory");
		platforms = a;
		if (!(platforms[n_platforms] = strndup(p, n)))
			return cli_error_as(COCOIMG_ENOMEM, "out of memory");
		n_platforms++;
		p += n;
	} while (*p++ == ',');
	return 0;
}

/* One --platform without --all picks that image of an index (as skopeo
 * and every other command); a list, or --all with --platform, keeps the
 * whole index and processes only the instances listed (ctr-enc). */
static int apply_platforms(cli_state *st, cocoimg_copy_options *o)
{
	if (n_platforms == 1 && multi != COCOIMG_MULTI_ARCH_ALL) {
		if (cocoimg_ctx_set(st->ctx, "platform", platforms[0]))
			return cli_usage("%s", cocoimg_ctx_last_error(st->ctx));
		return 0;
	}
	if (n_platforms) {
		o->multi_arch = COCOIMG_MULTI_ARCH_ALL;
		o->platforms = (const char *const *)platforms;
		o->n_platforms = n_platforms;
	}
	return 0;
}

static void free_platforms(void)
{
	for (size_t i = 0; i < n_platforms; i++)
		free(platforms[i]);
	free(platforms);
	platforms = NULL;
	n_platforms = 0;
}

static int handler(cli_state *st, int id, const char *v)
{
	switch (id) {
	case ID_ENCKEY:
		return cli_push_arg(&st->enc_keys, &st->n_enc_keys, v);
	case ID_ENCLAYER: {
		char *end = NULL;
		errno = 0;
		long n = strtol(v, &end, 10);
		if (!*v || !end || *end || errno || n > INT_MAX || n < INT_MIN)
			return cli_usage("%s: --encrypt-layer takes a layer index (negative counts from "
			                 "the end), not \"%s\"", st->cmd, v);
		int *a = realloc(enc_layers, (n_enc_layers + 1) * sizeof(*a));
		if (!a)
			return cli_error_as(COCOIMG_ENOMEM, "out of memory");
		a[n_enc_layers++] = (int)n;
		enc_layers = a;
		return 0;
	}
	case ID_REMOVE:
		return cli_push_arg(&removes, &n_removes, v);
	case ID_ALL:
		multi = COCOIMG_MULTI_ARCH_ALL;
		return 0;
	case ID_MULTI:
		if (!strcmp(v, "system") || !strcmp(v, "all")) {
			multi = !strcmp(v, "all") ? COCOIMG_MULTI_ARCH_ALL : COCOIMG_MULTI_ARCH_SYSTEM;
			return 0;
		}
		return cli_usage("%s: --multi-arch must be system or all, not \"%s\"", st->cmd, v);
	case ID_REQENC:
		return cli_require_encrypted(st);
	case ID_PLATFORM:
		return add_platforms(st, v);
	}
	return cli_usage("internal: unhandled option");
}

bool cli_broker_given(cli_state *st)
{
	return cocoimg_ctx_get(st->ctx, "resources") || cocoimg_ctx_get(st->ctx, "cdh") ||
	       cocoimg_ctx_get(st->ctx, "kbs");
}

int cli_require_encrypted(cli_state *st)
{
	if (cocoimg_ctx_set(st->ctx, "require-encrypted", "true"))
		return cli_usage("%s", cocoimg_ctx_last_error(st->ctx));
	return 0;
}

int cli_build_keyring(cli_state *st, cocoimg_keyring **out, bool want_recipients)
{
	*out = NULL;
	/* With a trust broker CoCo packets open through it: an empty keyring
	 * is enough. */
	bool broker = cli_broker_given(st);
	if (!st->n_dec_keys && !(want_recipients && st->n_enc_keys) && !broker)
		return 0;
	cocoimg_keyring *kr;
	if (cocoimg_keyring_new(&kr))
		return cli_error_as(COCOIMG_ENOMEM, "out of memory");
	for (int i = 0; i < st->n_dec_keys; i++) {
		int rc = cocoimg_keyring_add_decryption_key(st->ctx, kr, st->dec_keys[i]);
		if (rc) {
			cocoimg_keyring_free(kr);
			return cli_fail(st, rc, "--decryption-key");
		}
	}
	for (int i = 0; want_recipients && i < st->n_enc_keys; i++) {
		int rc = cocoimg_keyring_add_recipient(st->ctx, kr, st->enc_keys[i]);
		if (rc) {
			cocoimg_keyring_free(kr);
			return cli_fail(st, rc, "--encryption-key");
		}
	}
	*out = kr;
	return 0;
}

static const char *str_of(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void print_rewrap(json_t *l, const char *name)
{
	json_t *add = json_object_get(l, "recipients_added");
	json_t *rm = json_object_get(l, "recipients_removed");
	printf("layer %s already encrypted", name);
	if (json_array_size(add))
		printf(": added %zu recipient%s", json_array_size(add), json_array_size(add) == 1 ? "" : "s");
	if (json_is_integer(rm))
		printf("%s removed %lld recipient entr%s", json_array_size(add) ? "," : ":",
		       (long long)json_integer_value(rm), json_integer_value(rm) == 1 ? "y" : "ies");
	printf("\n");
}

/* One layer's line; true when this run encrypted or decrypted it. */
static bool print_layer(json_t *l, size_t i, bool encrypt)
{
	const char *d = str_of(l, "source_digest");
	if (!d)
		d = str_of(l, "digest");
	char idx[32];
	snprintf(idx, sizeof(idx), "#%zu", i);
	const char *name = d ? d : idx;
	const char *action = str_of(l, "action");
	action = action ? action : "copy";
	const char *to = str_of(l, "digest");
	if (!strcmp(action, "encrypt")) {
		json_t *rc = json_object_get(l, "recipients");
		printf("encrypted layer %s%s%s for %zu recipient%s\n", name, to ? " -> " : "", to ? to : "",
		       json_array_size(rc), json_array_size(rc) == 1 ? "" : "s");
		return true;
	}
	if (!strcmp(action, "decrypt")) {
		printf("decrypted layer %s%s%s\n", name, to ? " -> " : "", to ? to : "");
		return true;
	}
	if (!strcmp(action, "rewrap"))
		print_rewrap(l, name);
	else
		printf(encrypt ? "layer %s left unencrypted\n" : "layer %s was not encrypted\n", name);
	return false;
}

/* Human-readable summary of what happened to each layer. */
static void print_text(cli_state *st, const char *report, bool encrypt)
{
	json_error_t e;
	json_t *r = json_loads(report ? report : "{}", 0, &e);
	json_t *layers = json_object_get(r, "layers");
	size_t i, n_done = 0, n = json_array_size(layers);
	json_t *l;
	json_array_foreach(layers, i, l)
		n_done += print_layer(l, i, encrypt);
	const char *md = cli_report_top_digest(r);
	const char *what = str_of(r, "index_digest") ? "index " : "manifest ";
	printf("%s %zu of %zu layer%s%s%s%s\n", encrypt ? "encrypted" : "decrypted", n_done, n,
	       n == 1 ? "" : "s", md ? "; " : "", md ? what : "", md ? md : "");
	json_decref(r);
	(void)st;
}

static int run(cli_state *st, bool encrypt)
{
	if (encrypt && !st->n_enc_keys && !n_removes)
		return cli_usage("encrypt: give at least one --encryption-key (or --remove-recipient)");
	if (!encrypt && !st->n_dec_keys && !cli_broker_given(st))
		return cli_usage("decrypt: give at least one --decryption-key (or --resources / --cdh / --kbs)");
	cocoimg_keyring *kr = NULL;
	int rc = cli_build_keyring(st, &kr, encrypt);
	if (rc)
		return rc;
	cocoimg_copy_options o = COCOIMG_COPY_OPTIONS_INIT;
	o.crypt_mode = encrypt ? COCOIMG_CRYPT_ENCRYPT : COCOIMG_CRYPT_DECRYPT;
	o.multi_arch = multi;
	o.keys = kr;
	o.encrypt_layers = enc_layers;
	o.n_encrypt_layers = n_enc_layers;
	o.remove_recipients = removes;
	o.n_remove_recipients = (size_t)n_removes;
	o.collect_stats = st->stats;
	char *report = NULL;
	rc = apply_platforms(st, &o);
	if (rc) {
		/* reported */
	} else if ((rc = cocoimg_copy(st->ctx, st->positional[0], st->positional[1], &o, &report))) {
		rc = cli_fail(st, rc, NULL);
	} else if (st->json) {
		printf("%s\n", report ? report : "{}");
	} else {
		print_text(st, report, encrypt);
	}
	cocoimg_free(report);
	cocoimg_keyring_free(kr);
	free(enc_layers);
	free(removes);
	free_platforms();
	enc_layers = NULL;
	removes = NULL;
	n_enc_layers = 0;
	n_removes = 0;
	return rc;
}

static int run_encrypt(cli_state *st) { return run(st, true); }
static int run_decrypt(cli_state *st) { return run(st, false); }

static const cli_opt enc_opts[] = {
	{ "encryption-key", CLI_VALUE, ID_ENCKEY,
	  "recipient: jwe:PUBKEY, pkcs7:CERT, provider:NAME[:OPTS], coco:KID:KEKFILE (repeatable; also --recipient)",
	  "RECIPIENT" },
	{ "recipient", CLI_VALUE, ID_ENCKEY, NULL, "RECIPIENT" },
	{ "encrypt-layer", CLI_VALUE, ID_ENCLAYER,
	  "encrypt only layer N (0-based; negative counts from the end; repeatable; default all)",
	  "N" },
	{ "remove-recipient", CLI_VALUE, ID_REMOVE,
	  "drop a recipient from already encrypted layers: jwe:PUBKEY, pkcs7:CERT, provider:NAME, "
	  "coco:KID (does not revoke a key already handed out; repeatable)", "RECIPIENT" },
	{ "multi-arch", CLI_VALUE, ID_MULTI, "for an index: system (default: the instance for --platform) or all (the index and every instance)", "MODE" },
	{ "all", CLI_FLAG, ID_ALL, "keep the index and encrypt every instance (= --multi-arch all); also -a, --all-platforms", NULL },
	{ "all-platforms", CLI_FLAG, ID_ALL, NULL, NULL },
	{ "platform", CLI_VALUE, ID_PLATFORM, "one platform: take that image of an index; a list (comma-separated or repeated), or --all with --platform: keep the index and encrypt only the instances listed, copying the others as they are (ctr-enc)", "PLATFORM[,...]" },
	{ NULL, 0, 0, NULL, NULL },
};

static const cli_opt dec_opts[] = {
	{ "multi-arch", CLI_VALUE, ID_MULTI, "for an index: system (default: the instance for --platform) or all (the index and every instance)", "MODE" },
	{ "all", CLI_FLAG, ID_ALL, "keep the index and decrypt every instance (= --multi-arch all); also -a, --all-platforms", NULL },
	{ "all-platforms", CLI_FLAG, ID_ALL, NULL, NULL },
	{ "require-encrypted", CLI_FLAG, ID_REQENC, CLI_REQUIRE_ENCRYPTED_HELP, NULL },
	{ "platform", CLI_VALUE, ID_PLATFORM, "one platform: take that image of an index; a list (comma-separated or repeated), or --all with --platform: keep the index and decrypt only the instances listed, copying the others as they are (ctr-enc)", "PLATFORM[,...]" },
	{ NULL, 0, 0, NULL, NULL },
};

const cli_command cli_cmd_encrypt = {
	"encrypt", "SRC DST",
	"encrypt an image's layers for recipients (JWE, PKCS7, keyprovider, CoCo)",
	CLI_GROUP_REGISTRY | CLI_GROUP_SIDES | CLI_GROUP_OUTPUT | CLI_GROUP_KEYS | CLI_GROUP_MANIFESTS |
		CLI_GROUP_CONFIGS,
	enc_opts, handler, 2, 2, run_encrypt,
};

const cli_command cli_cmd_decrypt = {
	"decrypt", "SRC DST", "decrypt every encrypted layer of an image (exit 4 if a key is missing)",
	CLI_GROUP_REGISTRY | CLI_GROUP_SIDES | CLI_GROUP_OUTPUT | CLI_GROUP_KEYS | CLI_GROUP_MANIFESTS |
		CLI_GROUP_CONFIGS,
	dec_opts, handler, 2, 2, run_decrypt,
};
