/* coco-img unpack IMAGE ROOTFS: pull, verify, decrypt and apply every layer. */
#include "cli.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_PARALLEL = 1, OPT_ROOTLESS, OPT_REQUIRE_ENC };

static bool rootless;

static int handler(cli_state *st, int id, const char *value)
{
	switch (id) {
	case OPT_PARALLEL: {
		char *end;
		long n = strtol(value, &end, 10);
		if (!*value || *end || n < 1 || n > 32)
			return cli_usage("unpack: --parallel takes a number from 1 to 32, not \"%s\"", value);
		if (cocoimg_ctx_set(st->ctx, "parallel", value))
			return cli_usage("%s", cocoimg_ctx_last_error(st->ctx));
		return 0;
	}
	case OPT_ROOTLESS:
		rootless = true;
		return 0;
	case OPT_REQUIRE_ENC:
		return cli_require_encrypted(st);
	}
	return cli_usage("unpack: unhandled option");
}

static double ms(json_t *stats, const char *key)
{
	return (double)json_integer_value(json_object_get(stats, key)) / 1e6;
}

static void print_text(const char *report, bool stats)
{
	json_t *j = json_loads(report, 0, NULL);
	if (!j)
		return;
	printf("Unpacked %s to %s\n", json_string_value(json_object_get(j, "image")),
	       json_string_value(json_object_get(j, "rootfs")));
	printf("  manifest %s\n", json_string_value(json_object_get(j, "manifest_digest")));
	printf("  config   %s\n", json_string_value(json_object_get(j, "config_digest")));
	json_t *layers = json_object_get(j, "layers");
	size_t i;
	json_t *l;
	json_array_foreach(layers, i, l) {
		printf("  layer %zu  %s%s\n           diff_id %s\n", i,
		       json_string_value(json_object_get(l, "digest")),
		       json_is_true(json_object_get(l, "encrypted")) ? " (encrypted)" : "",
		       json_string_value(json_object_get(l, "diff_id")));
	}
	json_t *s = json_object_get(j, "stats");
	if (stats && s) {
		printf("  time (ms): network %.1f  digest %.1f  decrypt %.1f  decompress %.1f  write %.1f  total %.1f\n",
		       ms(s, "network_ns"), ms(s, "digest_ns"), ms(s, "decrypt_ns"),
		       ms(s, "decompress_ns"), ms(s, "write_ns"), ms(s, "total_ns"));
		printf("  %lld blob bytes, %lld tar bytes, %lld entries\n",
		       (long long)json_integer_value(json_object_get(s, "blob_bytes")),
		       (long long)json_integer_value(json_object_get(s, "tar_bytes")),
		       (long long)json_integer_value(json_object_get(s, "entries")));
	}
	json_decref(j);
}

static int run(cli_state *st)
{
	const char *image = st->positional[0], *rootfs = st->positional[1];
	cocoimg_keyring *kr = NULL;
	int rc = cli_build_keyring(st, &kr, false);
	if (rc)
		return rc;
	cocoimg_unpack_options o = COCOIMG_UNPACK_OPTIONS_INIT;
	o.keyring = kr;
	o.verify = cocoimg_ctx_get(st->ctx, "policy") != NULL;
	o.collect_stats = st->stats;
	o.flags = rootless ? COCOIMG_UNPACK_ROOTLESS : 0;
	cli_setup_progress(st);
	char *report = NULL;
	rc = cocoimg_unpack(st->ctx, image, rootfs, &o, &report);
	cocoimg_keyring_free(kr);
	if (rc) {
		/* under --output json the failure report (the policy's verdict
		 * on a rejection) is printed with the error */
		rc = cli_fail_report(st, rc, NULL, report);
		cocoimg_free(report);
		return rc;
	}
	if (st->json)
		printf("%s\n", report ? report : "{}");
	else if (!st->quiet && report)
		print_text(report, st->stats);
	cocoimg_free(report);
	return EXIT_OK;
}

static const cli_opt opts[] = {
	{ "parallel", CLI_VALUE, OPT_PARALLEL, "concurrent layer downloads (default 3)", "N" },
	{ "rootless", CLI_FLAG, OPT_ROOTLESS, "do not chown or create device nodes, even as root", NULL },
	{ "require-encrypted", CLI_FLAG, OPT_REQUIRE_ENC, "refuse (exit 3) an image with a layer that is not encrypted, before any layer is fetched", NULL },
	{ NULL, 0, 0, NULL, NULL },
};

const cli_command cli_cmd_unpack = {
	"unpack", "IMAGE ROOTFS",
	"pull (or read), verify, decrypt and apply every layer of IMAGE to the directory ROOTFS\n"
	"(which must not exist or be empty), in one streaming pass; ROOTFS appears only\n"
	"when everything checked out",
	CLI_GROUP_REGISTRY | CLI_GROUP_OUTPUT | CLI_GROUP_KEYS | CLI_GROUP_POLICY | CLI_GROUP_MANIFESTS |
		CLI_GROUP_CONFIGS | CLI_GROUP_APPLY,
	opts, handler, 2, 2, run,
};
