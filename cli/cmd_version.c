/* coco-img version */
#include "cli.h"

static int run(cli_state *st)
{
	(void)st;
	char *libs = cocoimg_library_versions();
	printf("coco-img %s\nlibcocoimg %s\n%s", cocoimg_version(), cocoimg_version(), libs ? libs : "");
	cocoimg_free(libs);
	return EXIT_OK;
}

static const cli_opt opts[] = { { NULL, 0, 0, NULL, NULL } };

const cli_command cli_cmd_version = {
	"version", "", "print the version of coco-img and of each library it links",
	0, opts, NULL, 0, 0, run,
};
