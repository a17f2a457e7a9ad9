/* coco-img: command dispatch. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const cli_command *const commands[] = {
	&cli_cmd_copy, &cli_cmd_encrypt, &cli_cmd_decrypt, &cli_cmd_verify, &cli_cmd_verify_blob, &cli_cmd_unpack,
	&cli_cmd_inspect, &cli_cmd_sign, &cli_cmd_generate_key_pair, &cli_cmd_login, &cli_cmd_logout,
	&cli_cmd_version,
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: coco-img [OPTIONS] COMMAND [OPTIONS] ARGS...\n\n"
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
		{ "login", "check credentials against a registry and store them in auth.json" },
		{ "logout", "remove a registry's credentials from auth.json" },
		{ "version", "print the versions of coco-img and its libraries" },
	};
	for (size_t i = 0; i < sizeof(brief) / sizeof(brief[0]); i++)
		fprintf(f, "  %-17s %s\n", brief[i][0], brief[i][1]);
	fprintf(f, "\nGlobal options (before or after the command name):\n"
	           "  --debug          log requests, retries and decisions to stderr (never secrets)\n"
	           "  --tmpdir DIR     directory for spooled blobs (default $TMPDIR, else /var/tmp)\n"
	           "  --threads N      most threads a command runs at once, its own included: 1 starts\n"
	           "                   none besides it (default auto: as the usable CPUs allow)\n"
	           "Any option of the command may also come before its name.\n"
	           "\nImage locations: docker://[HOST[:PORT]/]REPO[:TAG][@DIGEST], oci:DIR[:TAG],\n"
	           "oci-archive:FILE[:TAG].  Run 'coco-img help COMMAND' or 'coco-img COMMAND --help'\n"
	           "for a command's options.\n"
	           "\nExamples:\n"
	           "  coco-img copy docker://registry.example.com/app:1.0 oci:app:1.0\n"
	           "  coco-img encrypt --encryption-key jwe:pub.pem oci:app:1.0 oci:app-enc:1.0\n"
	           "  coco-img unpack --decryption-key priv.pem oci:app-enc:1.0 ./rootfs\n"
	           "  coco-img help unpack\n");
}

/* A command that succeeded but whose output did not all reach stdout (a
 * full disk, a closed pipe) fails: a script must not take half a report or
 * a truncated manifest for the whole. */
static int stdout_status(int rc)
{
	errno = 0;
	bool flush_failed = fflush(stdout) != 0;
	int err = flush_failed ? errno : 0;
	if (rc != EXIT_OK || !(flush_failed || ferror(stdout)))
		return rc;
	return cli_error_as(COCOIMG_EIO, "writing to stdout failed: %s", strerror(err ? err : EIO));
}

int main(int argc, char **argv)
{
	const cli_command *cmd;
	char **args;
	int nargs;
	int rc = cli_split_global(commands, sizeof(commands) / sizeof(commands[0]), argc, argv, &cmd,
	                          &args, &nargs);
	if (rc == CLI_SPLIT_USAGE || rc == CLI_SPLIT_NO_COMMAND) {
		usage(rc == CLI_SPLIT_USAGE ? stdout : stderr);
		return stdout_status(rc == CLI_SPLIT_USAGE ? EXIT_OK : EXIT_USAGE);
	}
	if (rc)
		return stdout_status(rc == CLI_SPLIT_DONE ? EXIT_OK : rc);

	cli_state st;
	memset(&st, 0, sizeof(st));
	if (cocoimg_ctx_new(&st.ctx)) {
		free(args);
		return cli_error_as(COCOIMG_ENOMEM, "out of memory");
	}
	cli_setup_log(st.ctx);
	rc = cli_parse(cmd, &st, nargs, args);
	if (rc == -1)
		rc = EXIT_OK;
	else if (rc == 0) {
		if (cmd == &cli_cmd_unpack || cmd == &cli_cmd_copy || cmd == &cli_cmd_encrypt ||
		    cmd == &cli_cmd_decrypt)
			cli_cancel_on_signals(st.ctx);
		cli_setup_progress(&st);
		rc = cmd->run(&st);
	}
	free(args);
	free(st.positional);
	free(st.dec_keys);
	free(st.enc_keys);
	cocoimg_ctx_free(st.ctx);
	return stdout_status(rc);
}
