/* coco-img inspect IMAGE: manifest, config, layers, encryption details. */
#include "cli.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static void print_list(const char *label, json_t *a)
{
	if (!json_is_array(a) || !json_array_size(a))
		return;
	size_t i;
	json_t *v;
	printf("%-13s", label);
	json_array_foreach(a, i, v) printf("%s%s", i ? " " : "", json_string_value(v) ? json_string_value(v) : "");
	printf("\n");
}

/* One readable line per encrypted layer: cipher, schemes, recipient count,
 * and key ids (KBS resource ids of CoCo packets, JWE kids).  Never keys. */
static void print_array_line(const char *label, json_t *a)
{
	if (!json_is_array(a) || !json_array_size(a))
		return;
	printf("      %s:", label);
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) printf("%s %s", i ? "," : "", json_string_value(v) ? json_string_value(v) : "?");
	printf("\n");
}

static void print_encryption(json_t *e)
{
	const char *cipher = json_string_value(json_object_get(e, "cipher"));
	printf("      encrypted: %s", cipher ? cipher : "unknown cipher");
	json_t *n = json_object_get(e, "recipients");
	if (json_is_integer(n))
		printf(", %lld recipient%s", (long long)json_integer_value(n),
		       json_integer_value(n) == 1 ? "" : "s");
	printf("\n");
	print_array_line("schemes", json_object_get(e, "schemes"));
	print_array_line("CoCo key ids", json_object_get(e, "coco_kids"));
	print_array_line("JWE key ids", json_object_get(e, "jwe_kids"));
}

static void print_map(const char *label, json_t *m)
{
	if (!json_is_object(m) || !json_object_size(m))
		return;
	printf("%s:\n", label);
	const char *k;
	json_t *v;
	json_object_foreach(m, k, v) printf("  %s: %s\n", k, json_string_value(v) ? json_string_value(v) : "");
}

static void print_platform(json_t *p)
{
	printf("%s/%s%s%s", str(p, "os"), str(p, "architecture"), *str(p, "variant") ? "/" : "", str(p, "variant"));
}

static void print_text(json_t *j)
{
	json_t *ms = json_object_get(j, "manifests");
	bool list = json_is_array(ms);
	printf("%-13s%s\n", "Name:", str(j, "image"));
	printf("%-13s%s\n", "Digest:", str(j, list ? "index_digest" : "manifest_digest"));
	printf("%-13s%s\n", "MediaType:", str(j, list ? "index_media_type" : "manifest_media_type"));
	if (list) {
		printf("Manifests:\n");
		size_t i;
		json_t *m;
		json_array_foreach(ms, i, m) {
			printf("  %s  ", str(m, "manifest_digest"));
			json_t *p = json_object_get(m, "platform");
			if (json_is_object(p))
				print_platform(p);
			else
				printf("(no platform)");
			printf("\n");
		}
		print_map("Annotations", json_object_get(j, "annotations"));
		return;
	}
	if (*str(j, "index_digest"))
		printf("%-13s%s\n", "Index:", str(j, "index_digest"));
	json_t *p = json_object_get(j, "platform");
	if (json_is_object(p)) {
		printf("%-13s", "Platform:");
		print_platform(p);
		printf("\n");
	}
	json_t *c = json_object_get(j, "config");
	printf("%-13s%s\n", "Config:", str(j, "config_digest"));
	if (*str(c, "created"))
		printf("%-13s%s\n", "Created:", str(c, "created"));
	print_list("Entrypoint:", json_object_get(c, "entrypoint"));
	print_list("Cmd:", json_object_get(c, "cmd"));
	json_t *env = json_object_get(c, "env");
	if (json_is_array(env) && json_array_size(env)) {
		printf("Env:\n");
		size_t i;
		json_t *v;
		json_array_foreach(env, i, v) printf("  %s\n", json_string_value(v) ? json_string_value(v) : "");
	}
	print_map("Labels", json_object_get(c, "labels"));
	json_t *layers = json_object_get(j, "layers");
	printf("Layers:\n");
	size_t i;
	json_t *l;
	json_array_foreach(layers, i, l) {
		printf("  %s  %10lld  %s\n", str(l, "digest"), (long long)json_integer_value(json_object_get(l, "size")),
		       str(l, "media_type"));
		json_t *e = json_object_get(l, "encryption");
		if (json_is_true(json_object_get(l, "encrypted")) && json_is_object(e))
			print_encryption(e);
	}
	print_map("Annotations", json_object_get(j, "annotations"));
}

enum { ID_RAW = 1, ID_CONFIG };
static bool raw, config;

static int handler(cli_state *st, int id, const char *v)
{
	(void)st;
	(void)v;
	if (id == ID_RAW)
		raw = true;
	else
		config = true;
	return 0;
}

/* --raw: the manifest (or index) as fetched; --config: the image config,
 * indented, or as fetched with --raw too (skopeo inspect). */
static int run_raw(cli_state *st)
{
	char *bytes = NULL;
	size_t len = 0;
	int rc;
	if (config) {
		rc = cocoimg_image_fetch_config(st->ctx, st->positional[0], NULL, NULL, &bytes);
		len = bytes ? strlen(bytes) : 0;
	} else {
		rc = cocoimg_image_fetch_manifest(st->ctx, st->positional[0], &bytes, &len, NULL, NULL);
	}
	if (rc)
		return cli_fail(st, rc, NULL);
	json_t *j = config && !raw ? json_loadb(bytes, len, 0, NULL) : NULL;
	if (j) {
		char *s = json_dumps(j, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
		if (s)
			printf("%s\n", s);
		free(s);
		json_decref(j);
	} else {
		fwrite(bytes, 1, len, stdout);
	}
	cocoimg_free(bytes);
	return EXIT_OK;
}

static int run(cli_state *st)
{
	if (raw || config)
		return run_raw(st);
	char *report = NULL;
	int rc = cocoimg_inspect(st->ctx, st->positional[0], &report);
	if (rc)
		return cli_fail(st, rc, NULL);
	if (st->json) {
		printf("%s\n", report);
	} else {
		json_t *j = json_loads(report, 0, NULL);
		if (j)
			print_text(j);
		json_decref(j);
	}
	cocoimg_free(report);
	return EXIT_OK;
}

static const cli_opt opts[] = {
	{ "raw", CLI_FLAG, ID_RAW, "print the manifest or index as fetched, byte for byte (with --config: the config blob)", NULL },
	{ "config", CLI_FLAG, ID_CONFIG, "print the image config (of the instance for --platform), indented", NULL },
	{ NULL, 0, 0, NULL, NULL },
};

const cli_command cli_cmd_inspect = {
	"inspect", "IMAGE",
	"Show an image's manifest, platform, config and layers, and for encrypted layers\n"
	"the cipher and recipient schemes (never key material).  For an index, list its\n"
	"instances; with --platform, inspect the selected one.",
	CLI_GROUP_REGISTRY | CLI_GROUP_OUTPUT | CLI_GROUP_MANIFESTS | CLI_GROUP_CONFIGS, opts, handler, 1, 1, run,
};
