/* coco-img: command dispatch. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const cli_command *const commands[] = {
	&cli_cmd_copy, &cli_cmd_encrypt, &cli_cmd_decrypt, &cli_cmd_verify, &cli_cmd_verify_blob, &cli_cmd_unpack,
	&cli_cmd_inspect, &cli_cmd_sign, &cli_cmd_generate_key_pair, &cli_cmd_version,
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: coco-img COMMAND [OPTIONS] ARGS...\n\n"
	           "Encrypted and signed OCI container images.\n\nCommands:\n");
	static const char *const brief[][2] = {
		{ "copy", "copy an image between locations (encrypting or decrypting on the way)" },
		{ "encrypt", "encrypt layers for recipients (JWE, PKCS7, keyprovider, CoCo)" },
		{ "decrypt", "decrypt every encrypted layer (exit 4 if a key is missing)" },
		{ "verify", "evaluate the trust policy for an image and print the verdict" },
		{ "verify-blob", "verify a Sigstore bundle for a file or digest (cosign verify-blob)" },
		{ "unpack", "verify, pull, decrypt and unpack an image into a root filesystem" },
		{ "inspect", "show manifest, config, layers and encryption details" },
		{ "sign", "write a cosign-compatible signature for an image" },
		{ "generate-key-pair", "write cosign.key (encrypted) and cosign.pub, as cosign does" },
		{ "version", "print the versions of coco-img and its libraries" },
	};
	for (size_t i = 0; i < sizeof(brief) / sizeof(brief[0]); i++)
		fprintf(f, "  %-17s %s\n", brief[i][0], brief[i][1]);
	fprintf(f, "\nImage locations: docker://[HOST[:PORT]/]REPO[:TAG][@DIGEST], oci:DIR[:TAG],\n"
	           "oci-archive:FILE[:TAG].  Run 'coco-img COMMAND --help' for a command's options.\n");
}

static void log_cb(cocoimg_log_level lvl, const char *msg, void *payload)
{
	(void)payload;
	fprintf(stderr, "coco-img: %s%s\n", lvl == COCOIMG_LOG_WARN ? "warning: " : "", msg);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr), EXIT_USAGE;
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version"))
		argv[1] = "version";
	const cli_command *cmd = NULL;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i]->name))
			cmd = commands[i];
	if (!cmd)
		return cli_usage("unknown command \"%s\" (see coco-img --help)", argv[1]);

	cli_state st;
	memset(&st, 0, sizeof(st));
	if (cocoimg_ctx_new(&st.ctx))
		return cli_error(EXIT_FAIL, "out of memory");
	cocoimg_ctx_set_log(st.ctx, log_cb, getenv("COCO_IMG_DEBUG") ? COCOIMG_LOG_DEBUG : COCOIMG_LOG_WARN, NULL);
	int rc = cli_parse(cmd, &st, argc - 2, argv + 2);
	if (rc == -1)
		rc = EXIT_OK;
	else if (rc == 0) {
		if (cmd == &cli_cmd_unpack || cmd == &cli_cmd_copy || cmd == &cli_cmd_encrypt ||
		    cmd == &cli_cmd_decrypt)
			cli_cancel_on_signals();
		cli_setup_progress(&st);
		rc = cmd->run(&st);
	}
	free(st.positional);
	free(st.dec_keys);
	free(st.enc_keys);
	cocoimg_ctx_free(st.ctx);
	return rc;
}
