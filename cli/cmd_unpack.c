/* coco-img unpack (placeholder until its module lands) */
#include "cli.h"

static int run(cli_state *st)
{
	(void)st;
	return cli_error(EXIT_FAIL, "unpack: not implemented yet");
}

static const cli_opt opts[] = { { NULL, 0, 0, NULL, NULL } };

const cli_command cli_cmd_unpack = {
	"unpack", "ARGS...", "(not implemented yet)", 0, opts, NULL, 0, 99, run,
};
