/* coco-img: options before the command name.  `coco-img --debug --policy P
 * copy SRC DST` is `coco-img copy --debug --policy P SRC DST`: any option
 * of the command may come first.  To find the command name, an option's
 * value is skipped when some command's option of that name takes one. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* 1: --name takes a value (as "--name V"), 0: it does not, -1: no command
 * knows it. */
static int arity(const cli_command *const *cmds, size_t n, const char *a)
{
	if (a[1] != '-')
		return 0;              /* short options (-h, -q, -a) take no value */
	const char *name = a + 2;
	const char *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	for (size_t i = 0; i < n; i++) {
		const cli_opt *o = cli_find_opt(cmds[i], name, len);
		if (o)
			return o->arg == CLI_VALUE && !eq;
	}
	return -1;
}

static const cli_command *lookup(const cli_command *const *cmds, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(name, cmds[i]->name))
			return cmds[i];
	return NULL;
}

/* Index of the command name in argv, or argc when there is none; an
 * exit code in *err for an unknown option or a missing value. */
static int find_name(const cli_command *const *cmds, size_t n, int argc, char **argv, int *err)
{
	*err = 0;
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--output=json") ||
		    (!strcmp(argv[i], "--output") && i + 1 < argc && !strcmp(argv[i + 1], "json")))
			cli_set_json_errors(true);
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || !a[1])
			break;
		if (!strcmp(a, "--help") || !strcmp(a, "-h") || !strcmp(a, "--version"))
			continue;
		int k = arity(cmds, n, a);
		if (k < 0) {
			*err = cli_usage("unknown flag %s (see coco-img --help)", a);
			break;
		}
		if (k && ++i >= argc) {
			*err = cli_usage("flag %s needs a value", a);
			break;
		}
	}
	return i;
}

static bool seen(int argc, char **argv, const char *flag)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], flag))
			return true;
	return false;
}

int cli_split_global(const cli_command *const *cmds, size_t n_cmds, int argc, char **argv,
                     const cli_command **cmd, char ***out, int *out_argc)
{
	*cmd = NULL;
	*out = NULL;
	int err;
	int at = find_name(cmds, n_cmds, argc, argv, &err);
	if (err)
		return err;
	const char *name = at < argc ? argv[at] : NULL;
	if (!name && seen(at, argv, "--version"))
		name = "version";
	if (!name)                 /* coco-img [--help]: the caller prints usage */
		return seen(at, argv, "--help") || seen(at, argv, "-h") ? CLI_SPLIT_USAGE
		                                                         : CLI_SPLIT_NO_COMMAND;
	if (!strcmp(name, "help")) {
		if (at + 1 >= argc || !strcmp(argv[at + 1], "--help") || !strcmp(argv[at + 1], "-h"))
			return CLI_SPLIT_USAGE;
		const cli_command *c = lookup(cmds, n_cmds, argv[at + 1]);
		if (!c)
			return cli_usage("help: unknown command \"%s\" (see coco-img --help)", argv[at + 1]);
		cli_print_help(c);
		return CLI_SPLIT_DONE;
	}
	*cmd = lookup(cmds, n_cmds, name);
	if (!*cmd)
		return cli_usage("unknown command \"%s\" (see coco-img --help)", name);
	char **v = calloc((size_t)argc + 1, sizeof(*v));
	if (!v)
		return cli_error_as(COCOIMG_ENOMEM, "out of memory");
	int k = 0;
	for (int i = 1; i < at; i++)
		if (strcmp(argv[i], "--version"))
			v[k++] = argv[i];
	for (int i = at + 1; i < argc; i++)
		v[k++] = argv[i];
	*out = v;
	*out_argc = k;
	return 0;
}
