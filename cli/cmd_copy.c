/* coco-img copy SRC DST: copy an image between locations, optionally
 * encrypting or decrypting layers on the way. */
#include "cli.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

enum { ID_ENC = 1, ID_LAYER, ID_REMOVE, ID_MULTI, ID_REQENC, ID_ALL, ID_DIGESTFILE, ID_INSECURE };

static struct {
	int *layers;
	size_t n_layers;
	const char **remove;
	int n_remove;
	cocoimg_multi_arch multi;
	const char *digestfile;
	bool insecure_policy;      /* --insecure-policy: no policy check */
} cfg;

static int handler(cli_state *st, int id, const char *v)
{
	switch (id) {
	case ID_ENC:
		return cli_push_arg(&st->enc_keys, &st->n_enc_keys, v);
	case ID_LAYER: {
		char *end;
		errno = 0;
		long n = strtol(v, &end, 10);
		if (!*v || *end || errno || n < INT_MIN || n > INT_MAX)
			return cli_usage("copy: --encrypt-layer takes a layer index, not \"%s\"", v);
		int *a = realloc(cfg.layers, (cfg.n_layers + 1) * sizeof(*a));
		if (!a)
			return cli_error_as(COCOIMG_ENOMEM, "out of memory");
		a[cfg.n_layers++] = (int)n;
		cfg.layers = a;
		return 0;
	}
	case ID_REMOVE:
		return cli_push_arg(&cfg.remove, &cfg.n_remove, v);
	case ID_ALL:
		cfg.multi = COCOIMG_MULTI_ARCH_ALL;
		return 0;
	case ID_DIGESTFILE:
		cfg.digestfile = v;
		return 0;
	case ID_INSECURE:
		cfg.insecure_policy = true;
		return 0;
	case ID_MULTI:
		if (!strcmp(v, "system"))
			cfg.multi = COCOIMG_MULTI_ARCH_SYSTEM;
		else if (!strcmp(v, "all"))
			cfg.multi = COCOIMG_MULTI_ARCH_ALL;
		else if (!strcmp(v, "index-only"))
			cfg.multi = COCOIMG_MULTI_ARCH_INDEX_ONLY;
		else
			return cli_usage("copy: --multi-arch must be system, all or index-only, not \"%s\"", v);
		return 0;
	case ID_REQENC:
		return cli_require_encrypted(st);
	}
	return cli_usage("copy: internal: unhandled option");
}

static void print_summary(cli_state *st, const char *src, const char *dst, const char *report)
{
	json_t *j = json_loads(report, 0, NULL);
	if (!j) {
		printf("Copied %s to %s\n", src, dst);
		return;
	}
	const char *dg = cli_report_top_digest(j);
	json_t *layers = json_object_get(j, "layers");
	json_t *insts = json_object_get(j, "manifests");
	printf("Copied %s to %s\n", src, dst);
	printf("  %s  %s\n", json_object_get(j, "index_digest") ? "index   " : "manifest", dg ? dg : "?");
	if (json_is_array(insts))
		printf("  instances %zu\n", json_array_size(insts));
	if (json_is_array(layers)) {
		size_t i, skipped = 0, enc = 0;
		json_t *l;
		json_array_foreach(layers, i, l) {
			if (json_is_true(json_object_get(l, "skipped")))
				skipped++;
			if (json_is_true(json_object_get(l, "encrypted")))
				enc++;
		}
		printf("  layers    %zu (%zu already present, %zu encrypted)\n", json_array_size(layers),
		       skipped, enc);
	}
	printf("  copied    %lld bytes\n", (long long)json_integer_value(json_object_get(j, "bytes_copied")));
	json_t *stats = json_object_get(j, "stats");
	if (st->stats && json_is_object(stats)) {
		const char *k;
		json_t *v;
		printf("  time per stage:\n");
		json_object_foreach(stats, k, v)
			printf("    %-11.*s %10.3f ms\n", (int)(strlen(k) - (strstr(k, "_ns") ? 3 : 0)), k,
			       (double)json_integer_value(v) / 1e6);
	}
	json_decref(j);
}

/* skopeo's --digestfile: the digest alone, no newline. */
static int write_digestfile(const char *file, const char *report)
{
	json_t *j = json_loads(report ? report : "{}", 0, NULL);
	const char *dg = cli_report_top_digest(j);
	FILE *f = dg ? fopen(file, "w") : NULL;
	int ok = f && fputs(dg, f) >= 0;
	if (f && fclose(f))
		ok = 0;
	int ec = ok ? EXIT_OK
	       : dg ? cli_error_as(COCOIMG_EIO, "--digestfile %s: %s", file, strerror(errno))
	            : cli_error_as(COCOIMG_EINTERNAL, "--digestfile %s: the copy reported no "
	                           "manifest digest", file);
	json_decref(j);
	return ec;
}

static int run(cli_state *st)
{
	const char *src = st->positional[0], *dst = st->positional[1];
	if (cfg.n_layers && !st->n_enc_keys)
		return cli_usage("copy: --encrypt-layer needs --encryption-key");
	cocoimg_copy_options o = COCOIMG_COPY_OPTIONS_INIT;
	o.multi_arch = cfg.multi;
	o.collect_stats = st->stats;
	o.encrypt_layers = cfg.layers;
	o.n_encrypt_layers = cfg.n_layers;
	o.remove_recipients = cfg.remove;
	o.n_remove_recipients = (size_t)cfg.n_remove;
	/* skopeo: the source is checked against the policy (here only when
	 * --policy is given, cli.md); --insecure-policy skips the check */
	o.verify = cocoimg_ctx_get(st->ctx, "policy") && !cfg.insecure_policy;
	if (st->n_enc_keys || cfg.n_remove)
		o.crypt_mode = COCOIMG_CRYPT_ENCRYPT;
	else if (st->n_dec_keys || cli_broker_given(st))
		o.crypt_mode = COCOIMG_CRYPT_DECRYPT;   /* keys from the trust broker, as unpack */
	cocoimg_keyring *kr = NULL;
	if (o.crypt_mode != COCOIMG_CRYPT_NONE) {
		int ec = cli_build_keyring(st, &kr, st->n_enc_keys > 0);
		if (ec)
			return ec;
		o.keys = kr;
	}
	cli_setup_progress(st);
	char *report = NULL;
	int rc = cocoimg_copy(st->ctx, src, dst, &o, &report);
	int ec = EXIT_OK;
	if (rc)
		ec = cli_fail(st, rc, NULL);
	else if (cfg.digestfile)
		ec = write_digestfile(cfg.digestfile, report);
	if (ec) {
		/* reported */
	} else if (st->json) {
		printf("%s\n", report);
	} else if (!st->quiet) {
		print_summary(st, src, dst, report);
	}
	cocoimg_free(report);
	cocoimg_keyring_free(kr);
	free(cfg.layers);
	free(cfg.remove);
	return ec;
}

static const cli_opt opts[] = {
	{ "encryption-key", CLI_VALUE, ID_ENC,
	  "encrypt layers for RECIPIENT: jwe:PUB.pem, pkcs7:CERT.pem, provider:NAME[:OPTS], coco:KID:KEKFILE (repeatable; also --recipient)",
	  "RECIPIENT" },
	{ "recipient", CLI_VALUE, ID_ENC, NULL, "RECIPIENT" },
	{ "encrypt-layer", CLI_VALUE, ID_LAYER, "encrypt only layer N (negative counts from the end; repeatable)", "N" },
	{ "remove-recipient", CLI_VALUE, ID_REMOVE, "drop RECIPIENT from already encrypted layers (repeatable)", "RECIPIENT" },
	{ "multi-arch", CLI_VALUE, ID_MULTI, "for an index: system (default), all, index-only", "MODE" },
	{ "require-encrypted", CLI_FLAG, ID_REQENC, CLI_REQUIRE_ENCRYPTED_HELP, NULL },
	{ "all", CLI_FLAG, ID_ALL, "copy the index and every instance (= --multi-arch all); also -a", NULL },
	{ "digestfile", CLI_VALUE, ID_DIGESTFILE, "after copying, write the digest of the manifest written to FILE", "FILE" },
	{ "insecure-policy", CLI_FLAG, ID_INSECURE, "do not check the source against the --policy given", NULL },
	{ NULL, 0, 0, NULL, NULL },
};

const cli_command cli_cmd_copy = {
	"copy", "SRC DST",
	"Copy an image between docker://, oci: and oci-archive: locations, verifying every blob;\n"
	"encrypt layers with --encryption-key, decrypt them with --decryption-key (or with the\n"
	"keys --resources, --cdh or --kbs release: given any of them, copy decrypts every\n"
	"encrypted layer, and a layer whose key they do not hold fails with exit 4).",
	CLI_GROUP_REGISTRY | CLI_GROUP_SIDES | CLI_GROUP_OUTPUT | CLI_GROUP_KEYS | CLI_GROUP_MANIFESTS |
		CLI_GROUP_CONFIGS | CLI_GROUP_POLICY,
	opts, handler, 2, 2, run,
};
