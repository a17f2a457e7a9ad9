/* coco-img encrypt / decrypt (placeholder until crypt lands) */
#include "cli.h"

static int run(cli_state *st)
{
	(void)st;
	return cli_error(EXIT_FAIL, "%s: not implemented yet", st->cmd);
}

int cli_build_keyring(cli_state *st, cocoimg_keyring **out, bool want_recipients)
{
	(void)st; (void)want_recipients;
	*out = NULL;
	return 0;
}

static const cli_opt opts[] = { { NULL, 0, 0, NULL, NULL } };

const cli_command cli_cmd_encrypt = {
	"encrypt", "SRC DST", "(not implemented yet)", 0, opts, NULL, 0, 99, run,
};
const cli_command cli_cmd_decrypt = {
	"decrypt", "SRC DST", "(not implemented yet)", 0, opts, NULL, 0, 99, run,
};
