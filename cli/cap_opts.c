/* coco-img: the --max-* options, one per cap context key (SECURITY.md),
 * each on the commands whose operation checks that cap. */
#include "cli.h"

#include <string.h>

/* Every option below sets the ctx key of its own name. */
enum { ID_CAP_END = CLI_ID_CAP + 16 };

/* what a registry exchange costs: every command that talks to one */
static const cli_opt registry_caps[] = {
	{ "max-token-size", CLI_VALUE, CLI_ID_CAP + 0, "cap on a registry's bearer token response (default 1M)", "SIZE" },
	{ "max-error-body", CLI_VALUE, CLI_ID_CAP + 1, "bytes of a registry error body read before the transfer is ended (default 64K)", "SIZE" },
	{ NULL, 0, 0, NULL, NULL },
};

/* commands that read image manifests and indexes */
static const cli_opt manifest_caps[] = {
	{ "max-manifest-size", CLI_VALUE, CLI_ID_CAP + 2, "cap on a manifest or index (default 4M)", "SIZE" },
	{ "max-layers", CLI_VALUE, CLI_ID_CAP + 3, "cap on the number of layers of an image (default 1000)", "N" },
	{ NULL, 0, 0, NULL, NULL },
};

/* commands that read image configs */
static const cli_opt config_caps[] = {
	{ "max-config-size", CLI_VALUE, CLI_ID_CAP + 4, "cap on an image config (default 4M)", "SIZE" },
	{ NULL, 0, 0, NULL, NULL },
};

/* commands that evaluate a trust policy (signatures are fetched) */
static const cli_opt policy_caps[] = {
	{ "max-signature-size", CLI_VALUE, CLI_ID_CAP + 5, "cap on one signature: a lookaside file or a cosign signature layer (default 4M)", "SIZE" },
	{ "max-signature-payload-size", CLI_VALUE, CLI_ID_CAP + 10, "cap on what an OpenPGP signature's compressed data inflates to (default 4M)", "SIZE" },
	{ NULL, 0, 0, NULL, NULL },
};

/* unpack: what applying layers may write, and the spool */
static const cli_opt apply_caps[] = {
	{ "max-layer-size", CLI_VALUE, CLI_ID_CAP + 6, "cap on the unpacked size of one layer (default 32G)", "SIZE" },
	{ "max-image-size", CLI_VALUE, CLI_ID_CAP + 7, "cap on the unpacked size of all layers (default 64G)", "SIZE" },
	{ "max-entries", CLI_VALUE, CLI_ID_CAP + 8, "cap on the files, directories and links of all layers (default 4000000)", "N" },
	{ "max-spool-size", CLI_VALUE, CLI_ID_CAP + 9, "cap on the layers downloaded ahead of their turn into the tmpdir, together (default 1G; 0: none)", "SIZE" },
	{ NULL, 0, 0, NULL, NULL },
};

size_t cli_cap_tables(unsigned groups, const cli_opt **out)
{
	static const struct { unsigned group; const cli_opt *opts; } all[] = {
		{ CLI_GROUP_APPLY, apply_caps },
		{ CLI_GROUP_MANIFESTS, manifest_caps },
		{ CLI_GROUP_CONFIGS, config_caps },
		{ CLI_GROUP_POLICY, policy_caps },
		{ CLI_GROUP_REGISTRY, registry_caps },
	};
	size_t n = 0;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (groups & all[i].group)
			out[n++] = all[i].opts;
	return n;
}

bool cli_cap_id(int id)
{
	return id >= CLI_ID_CAP && id < ID_CAP_END;
}
