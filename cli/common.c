/* coco-img: argument parsing, error printing and progress display. */
#include "cli.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
	ID_AUTHFILE = 1000, ID_CREDS, ID_CERTDIR, ID_TLSVERIFY, ID_PLATFORM, ID_RETRY,
	ID_REGD, ID_POLICY, ID_OUTPUT, ID_QUIET, ID_STATS, ID_DECKEY, ID_ENCKEY,
	ID_KP_TIMEOUT, ID_CMD_TIMEOUT, ID_RESOURCES, ID_KBS, ID_KBS_CERT, ID_ATTESTER, ID_CDH,
	ID_DEBUG, ID_TMPDIR, ID_USERNAME, ID_PASSWORD, ID_NOCREDS,
	ID_CACERT, ID_THREADS,
	ID_SIDE_BASE = 1100,       /* + side*10 + field */
};

static const cli_opt registry_opts[] = {
	{ "authfile", CLI_VALUE, ID_AUTHFILE, "registry credentials file (containers-auth.json)", "FILE" },
	{ "creds", CLI_VALUE, ID_CREDS, "registry credentials", "USER[:PASSWORD]" },
	{ "username", CLI_VALUE, ID_USERNAME, "registry user name (with --password)", "USER" },
	{ "password", CLI_VALUE, ID_PASSWORD, "registry password (with --username)", "PASSWORD" },
	{ "no-creds", CLI_FLAG, ID_NOCREDS, "access the registry anonymously (no credentials from any file)", NULL },
	{ "cert-dir", CLI_VALUE, ID_CERTDIR, "directory with ca.crt, client .cert/.key", "DIR" },
	{ "ca-cert", CLI_VALUE, ID_CACERT, "PEM CA certificates trusted for registries besides the system's (a file or kbs:///R/T/G)", "FILE" },
	{ "tls-verify", CLI_BOOL, ID_TLSVERIFY, "verify TLS certificates; false also allows http (default true)", NULL },
	{ "platform", CLI_VALUE, ID_PLATFORM, "platform to select from an index (default: this machine)", "OS/ARCH[/VARIANT]" },
	{ "retry-times", CLI_VALUE, ID_RETRY, "retries on network errors (default 3)", "N" },
	{ "command-timeout", CLI_VALUE, ID_CMD_TIMEOUT, "time limit for the whole command, e.g. 90s or 10m (default none)", "DURATION" },
	{ NULL, 0, 0, NULL, NULL },
};

/* field k of side_opts: ID_SIDE_BASE + side * 10 + k */
static const char *side_fields[] = { "authfile", "creds", "cert-dir", "tls-verify", "username",
                                     "password", "no-creds", "ca-cert" };
static const cli_opt side_opts[] = {
	{ "src-authfile", CLI_VALUE, ID_SIDE_BASE + 0, "source credentials file", "FILE" },
	{ "src-creds", CLI_VALUE, ID_SIDE_BASE + 1, "source registry credentials", "USER[:PASSWORD]" },
	{ "src-cert-dir", CLI_VALUE, ID_SIDE_BASE + 2, "source certificate directory", "DIR" },
	{ "src-tls-verify", CLI_BOOL, ID_SIDE_BASE + 3, "verify source TLS (default true)", NULL },
	{ "src-username", CLI_VALUE, ID_SIDE_BASE + 4, "source registry user name", "USER" },
	{ "src-password", CLI_VALUE, ID_SIDE_BASE + 5, "source registry password", "PASSWORD" },
	{ "src-no-creds", CLI_FLAG, ID_SIDE_BASE + 6, "access the source registry anonymously", NULL },
	{ "src-ca-cert", CLI_VALUE, ID_SIDE_BASE + 7, "PEM CA certificates trusted for the source registry (a file or kbs:///R/T/G)", "FILE" },
	{ "dest-authfile", CLI_VALUE, ID_SIDE_BASE + 10, "destination credentials file", "FILE" },
	{ "dest-creds", CLI_VALUE, ID_SIDE_BASE + 11, "destination registry credentials", "USER[:PASSWORD]" },
	{ "dest-cert-dir", CLI_VALUE, ID_SIDE_BASE + 12, "destination certificate directory", "DIR" },
	{ "dest-tls-verify", CLI_BOOL, ID_SIDE_BASE + 13, "verify destination TLS (default true)", NULL },
	{ "dest-username", CLI_VALUE, ID_SIDE_BASE + 14, "destination registry user name", "USER" },
	{ "dest-password", CLI_VALUE, ID_SIDE_BASE + 15, "destination registry password", "PASSWORD" },
	{ "dest-no-creds", CLI_FLAG, ID_SIDE_BASE + 16, "access the destination registry anonymously", NULL },
	{ "dest-ca-cert", CLI_VALUE, ID_SIDE_BASE + 17, "PEM CA certificates trusted for the destination registry (a file or kbs:///R/T/G)", "FILE" },
	{ NULL, 0, 0, NULL, NULL },
};

static const cli_opt output_opts[] = {
	{ "output", CLI_VALUE, ID_OUTPUT, "output format: text (default) or json", "FORMAT" },
	{ "quiet", CLI_FLAG, ID_QUIET, "no progress display", NULL },
	{ "stats", CLI_FLAG, ID_STATS, "report time per stage (network, digest, decrypt, decompress, write)", NULL },
	{ NULL, 0, 0, NULL, NULL },
};

static const cli_opt policy_opts[] = {
	{ "policy", CLI_VALUE, ID_POLICY, "trust policy (default /etc/containers/policy.json)", "FILE" },
	{ "registries.d", CLI_VALUE, ID_REGD, "registries.d directory (default /etc/containers/registries.d), or one YAML file as kbs:///R/T/G", "DIR" },
	{ "resources", CLI_VALUE, ID_RESOURCES, "offline_fs_kbc resources file: kbs:///R/T/G resources (policy, keys, auth file) are read from it first", "FILE" },
	{ "cdh", CLI_VALUE, ID_CDH, "confidential-data-hub socket (unix:///PATH or PATH): kbs:///R/T/G resources and CoCo layer keys, asked before the KBS", "SOCKET" },
	{ "kbs", CLI_VALUE, ID_KBS, "Key Broker Service that releases kbs:///R/T/G resources after attestation", "URL" },
	{ "kbs-cert", CLI_VALUE, ID_KBS_CERT, "CA certificate (PEM) trusted for the KBS's HTTPS", "FILE" },
	{ "attester", CLI_VALUE, ID_ATTESTER, "evidence for the KBS: tsm (configfs-tsm), aa:SOCKET (attestation agent) or sample (tests only); default tsm when the kernel has it", "NAME" },
	{ NULL, 0, 0, NULL, NULL },
};

static const cli_opt key_opts[] = {
	{ "decryption-key", CLI_VALUE, ID_DECKEY, "decryption key: FILE[:PASSWORD], kbs:///R/T/G[:PASSWORD], provider:NAME[:OPTS], coco:KID:KEKFILE, coco-keys:FILE|DIR (repeatable; also --key)", "KEY" },
	{ "resources", CLI_VALUE, ID_RESOURCES, NULL, "FILE" },
	{ "cdh", CLI_VALUE, ID_CDH, NULL, "SOCKET" },
	{ "kbs", CLI_VALUE, ID_KBS, NULL, "URL" },
	{ "kbs-cert", CLI_VALUE, ID_KBS_CERT, NULL, "FILE" },
	{ "attester", CLI_VALUE, ID_ATTESTER, NULL, "NAME" },
	{ "key", CLI_VALUE, ID_DECKEY, NULL, "KEY" },
	{ "keyprovider-timeout", CLI_VALUE, ID_KP_TIMEOUT, "seconds to wait for a keyprovider (default 60)", "SECONDS" },
	{ NULL, 0, 0, NULL, NULL },
};

/* Accepted by every command, before or after its name. */
static const cli_opt global_opts[] = {
	{ "debug", CLI_FLAG, ID_DEBUG, "log requests, retries and decisions to stderr (never secrets)", NULL },
	{ "tmpdir", CLI_VALUE, ID_TMPDIR, "directory for spooled blobs (default $TMPDIR, else /var/tmp)", "DIR" },
	{ "threads", CLI_VALUE, ID_THREADS, "most threads the command runs at once, its own included: 1 starts none besides it (default auto: as the usable CPUs allow)", "N" },
	{ "help", CLI_FLAG, -1, "show this help", NULL },
	{ NULL, 0, 0, NULL, NULL },
};

/* One line on stderr, and the JSON error object under --output json. */
__attribute__((format(printf, 3, 0)))
static int report(int code, const char *kind, const char *fmt, va_list ap)
{
	char line[1200];
	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "coco-img: %s\n", line);
	cli_json_error(code, kind, line, NULL);
	return code;
}

int cli_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = report(EXIT_USAGE, "inval", fmt, ap);
	va_end(ap);
	return rc;
}

int cli_error_as(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = report(cocoimg_error_exit_code(err), cocoimg_error_kind(err), fmt, ap);
	va_end(ap);
	return rc;
}

int cli_fail(cli_state *st, int rc, const char *what)
{
	return cli_fail_report(st, rc, what, NULL);
}

int cli_report_exit(cli_state *st, int rc, char *report, void (*print_text)(const char *report))
{
	if (report && !(rc && st->json)) {
		if (st->json)
			printf("%s\n", report);
		else
			print_text(report);
		fflush(stdout);
	}
	int ec = rc ? cli_fail_report(st, rc, NULL, report) : EXIT_OK;
	cocoimg_free(report);
	return ec;
}

int cli_fail_report(cli_state *st, int rc, const char *what, const char *json_report)
{
	int sig = cli_interrupted();
	if (sig) {
		const char *name = sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal";
		char line[128];
		snprintf(line, sizeof(line), "interrupted by %s: stopped, partial output removed", name);
		fprintf(stderr, "coco-img: %s\n", line);
		cli_json_error(128 + sig, "cancelled", line, json_report);
		return 128 + sig;
	}
	const char *msg = cocoimg_ctx_last_error(st->ctx);
	if (!msg || !*msg)
		msg = cocoimg_strerror(rc);
	/* keep it to one line */
	char line[1200];
	snprintf(line, sizeof(line), "%s", msg);
	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (what && *what)
		fprintf(stderr, "coco-img: %s: %s\n", what, line);
	else
		fprintf(stderr, "coco-img: %s\n", line);
	int code = cocoimg_error_exit_code(rc);
	char full[1400];
	snprintf(full, sizeof(full), "%s%s%s", what && *what ? what : "", what && *what ? ": " : "", line);
	cli_json_error(code, cocoimg_error_kind(rc), full, json_report);
	return code;
}

int cli_parse_bool(const char *s)
{
	/* Go's strconv.ParseBool */
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcmp(s, yes[i]))
			return 1;
		if (!strcmp(s, no[i]))
			return 0;
	}
	return -1;
}

static const cli_opt *find_in(const cli_opt *t, const char *name, size_t len)
{
	for (; t && t->name; t++)
		if (strlen(t->name) == len && !strncmp(t->name, name, len))
			return t;
	return NULL;
}

static const cli_opt *find_opt(const cli_command *cmd, const char *name, size_t len)
{
	const cli_opt *o = find_in(cmd->opts, name, len);
	if (!o && (cmd->groups & CLI_GROUP_REGISTRY))
		o = find_in(registry_opts, name, len);
	if (!o && (cmd->groups & CLI_GROUP_SIDES))
		o = find_in(side_opts, name, len);
	if (!o && (cmd->groups & CLI_GROUP_OUTPUT))
		o = find_in(output_opts, name, len);
	if (!o && (cmd->groups & CLI_GROUP_POLICY))
		o = find_in(policy_opts, name, len);
	if (!o && (cmd->groups & CLI_GROUP_KEYS))
		o = find_in(key_opts, name, len);
	const cli_opt *caps[CLI_CAP_TABLES];
	size_t nc = cli_cap_tables(cmd->groups, caps);
	for (size_t i = 0; !o && i < nc; i++)
		o = find_in(caps[i], name, len);
	if (!o)
		o = find_in(global_opts, name, len);
	return o;
}

const cli_opt *cli_find_opt(const cli_command *cmd, const char *name, size_t len)
{
	return find_opt(cmd, name, len);
}

/* The options of table t; a group's option the command has its own of
 * (own, the command's table) is shown once, as the command's. */
static void print_opts(const cli_opt *table, const cli_opt *own)
{
	for (const cli_opt *t = table; t && t->name; t++) {
		if (!t->help || (table != own && find_in(own, t->name, strlen(t->name))))
			continue;
		char left[64];
		if (t->arg == CLI_VALUE)
			snprintf(left, sizeof(left), "--%s %s", t->name, t->metavar ? t->metavar : "VALUE");
		else if (t->arg == CLI_BOOL)
			snprintf(left, sizeof(left), "--%s[=BOOL]", t->name);
		else
			snprintf(left, sizeof(left), "--%s", t->name);
		printf("  %-34s %s\n", left, t->help);
	}
}

/* Whether the command has options of its own to list under "Options:". */
static bool has_own_opts(const cli_command *cmd)
{
	enum { OWN = CLI_GROUP_KEYS | CLI_GROUP_POLICY | CLI_GROUP_REGISTRY | CLI_GROUP_SIDES |
	             CLI_GROUP_OUTPUT };
	for (const cli_opt *t = cmd->opts; t && t->name; t++)
		if (t->help)
			return true;
	return (cmd->groups & OWN) != 0;
}

void cli_print_help(const cli_command *cmd)
{
	printf("Usage: coco-img %s [OPTIONS]%s%s\n\n%s\n", cmd->name, *cmd->synopsis ? " " : "",
	       cmd->synopsis, cmd->summary);
	if (has_own_opts(cmd))
		printf("\nOptions:\n");
	print_opts(cmd->opts, cmd->opts);
	if (cmd->groups & CLI_GROUP_KEYS)
		print_opts(key_opts, cmd->opts);
	if (cmd->groups & CLI_GROUP_POLICY)
		print_opts(policy_opts, cmd->opts);
	if (cmd->groups & CLI_GROUP_REGISTRY)
		print_opts(registry_opts, cmd->opts);
	if (cmd->groups & CLI_GROUP_SIDES)
		print_opts(side_opts, cmd->opts);
	if (cmd->groups & CLI_GROUP_OUTPUT)
		print_opts(output_opts, cmd->opts);
	const cli_opt *caps[CLI_CAP_TABLES];
	size_t nc = cli_cap_tables(cmd->groups, caps);
	if (nc)
		printf("\nCaps against a hostile registry or image (sizes take K, M, G suffixes):\n");
	for (size_t i = 0; i < nc; i++)
		print_opts(caps[i], cmd->opts);
	printf("\nGlobal options (also before the command name):\n");
	print_opts(global_opts, cmd->opts);
	const char *ex = cli_examples(cmd->name);
	if (ex)
		printf("\nExamples:\n%s", ex);
}

int cli_push_arg(const char ***arr, int *n, const char *v)
{
	const char **a = realloc(*arr, (size_t)(*n + 1) * sizeof(*a));
	if (!a)
		return cli_error_as(COCOIMG_ENOMEM, "out of memory");
	a[(*n)++] = v;
	*arr = a;
	return 0;
}

static int set(cli_state *st, const char *key, const char *value)
{
	int rc = cocoimg_ctx_set(st->ctx, key, value);
	if (rc)
		return cli_usage("%s", cocoimg_ctx_last_error(st->ctx));
	return 0;
}

static int apply_common(cli_state *st, const cli_opt *o, const char *v)
{
	switch (o->id) {
	case ID_AUTHFILE: return set(st, "authfile", v);
	case ID_CREDS: return cli_creds_option(0, CLI_CREDS_CREDS, v);
	case ID_USERNAME: return cli_creds_option(0, CLI_CREDS_USER, v);
	case ID_PASSWORD: return cli_creds_option(0, CLI_CREDS_PASS, v);
	case ID_NOCREDS: return cli_creds_option(0, CLI_CREDS_NONE, v);
	case ID_CERTDIR: return set(st, "cert-dir", v);
	case ID_TLSVERIFY: return set(st, "tls-verify", v);
	case ID_PLATFORM: return set(st, "platform", v);
	case ID_RETRY: return set(st, "retry-times", v);
	case ID_REGD: return set(st, "registries.d", v);
	case ID_POLICY: return set(st, "policy", v);
	case ID_KP_TIMEOUT: return set(st, "keyprovider-timeout", v);
	case ID_CMD_TIMEOUT: return set(st, "command-timeout", v);
	case ID_RESOURCES: return set(st, "resources", v);
	case ID_KBS: return set(st, "kbs", v);
	case ID_KBS_CERT: return set(st, "kbs-cert", v);
	case ID_ATTESTER: return set(st, "attester", v);
	case ID_CDH: return set(st, "cdh", v);
	case ID_CACERT: return set(st, "ca-cert", v);
	case ID_OUTPUT:
		if (!strcmp(v, "json"))
			st->json = true;
		else if (!strcmp(v, "text"))
			st->json = false;
		else
			return cli_usage("--output must be text or json, not \"%s\"", v);
		cli_set_json_errors(st->json);
		return 0;
	case ID_DEBUG: cli_set_debug(st->ctx); return 0;
	case ID_TMPDIR: return set(st, "tmpdir", v);
	case ID_THREADS: return set(st, "threads", v);
	case ID_QUIET: st->quiet = true; return 0;
	case ID_STATS: st->stats = true; return 0;
	case ID_DECKEY: return cli_push_arg(&st->dec_keys, &st->n_dec_keys, v);
	case ID_ENCKEY: return cli_push_arg(&st->enc_keys, &st->n_enc_keys, v);
	default:
		if (cli_cap_id(o->id))
			return set(st, o->name, v);
		if (o->id >= ID_SIDE_BASE && o->id < ID_SIDE_BASE + 20) {
			int k = o->id - ID_SIDE_BASE;
			static const enum cli_creds_field cf[] = { 0, CLI_CREDS_CREDS, 0, 0, CLI_CREDS_USER,
			                                           CLI_CREDS_PASS, CLI_CREDS_NONE };
			if (k % 10 == 1 || (k % 10 >= 4 && k % 10 <= 6))
				return cli_creds_option(1 + k / 10, cf[k % 10], v);
			char key[64];
			snprintf(key, sizeof(key), "%s.%s", k >= 10 ? "dest" : "src", side_fields[k % 10]);
			return set(st, key, v);
		}
	}
	return cli_usage("internal: unhandled option --%s", o->name);
}

/* Errors found while parsing are JSON too when --output json comes later. */
static void prescan_output(const cli_command *cmd, int argc, char **argv)
{
	if (!(cmd->groups & CLI_GROUP_OUTPUT))
		return;
	for (int i = 0; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--output=json") ||
		    (!strcmp(argv[i], "--output") && i + 1 < argc && !strcmp(argv[i + 1], "json")))
			cli_set_json_errors(true);
}

/* -h, -q, -a: the long option of that name, where the command has it. */
static const char *short_name(const char *a)
{
	static const char *const shorts[][2] = { { "-h", "help" }, { "-q", "quiet" }, { "-a", "all" },
	                                         { "-u", "username" }, { "-p", "password" } };
	for (size_t i = 0; i < sizeof(shorts) / sizeof(shorts[0]); i++)
		if (!strcmp(a, shorts[i][0]))
			return shorts[i][1];
	return NULL;
}

/* The value of option o at argv[*i] ("=V" part eq, or the next word);
 * NULL for a flag given =false.  *rc gets an exit code on errors. */
static const char *opt_value(const cli_command *cmd, const cli_opt *o, const char *eq, int argc,
                             char **argv, int *i, int *rc)
{
	*rc = 0;
	if (o->arg == CLI_VALUE) {
		if (eq)
			return eq + 1;
		if (*i + 1 < argc)
			return argv[++*i];
		*rc = cli_usage("%s: flag --%s needs a value", cmd->name, o->name);
		return NULL;
	}
	/* --x, --x=BOOL; a flag given =false is not given */
	int b = eq ? cli_parse_bool(eq + 1) : 1;
	if (b < 0)
		*rc = cli_usage("%s: flag --%s takes true or false (1, 0, t, f, TRUE, FALSE, True, "
		                "False), not \"%s\"", cmd->name, o->name, eq + 1);
	if (b < 0 || (o->arg == CLI_FLAG && !b))
		return NULL;
	return b ? "true" : "false";
}

/* The option at argv[*i]: 0, -1 (help printed) or an exit code. */
static int parse_opt(const cli_command *cmd, cli_state *st, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	const char *name = a[1] == '-' ? a + 2 : short_name(a);
	if (!name)
		return cli_usage("%s: unknown flag %s (see coco-img %s --help)", cmd->name, a, cmd->name);
	const char *eq = a[1] == '-' ? strchr(name, '=') : NULL;
	size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
	const cli_opt *o = find_opt(cmd, name, nlen);
	if (!o)
		return cli_usage("%s: unknown flag %s%.*s (see coco-img %s --help)", cmd->name,
		                 a[1] == '-' ? "--" : "", a[1] == '-' ? (int)nlen : (int)strlen(a),
		                 a[1] == '-' ? name : a, cmd->name);
	int rc;
	const char *val = opt_value(cmd, o, eq, argc, argv, i, &rc);
	if (rc || !val)
		return rc;
	if (o->id == -1) {
		cli_print_help(cmd);
		return -1;
	}
	return o->id >= 1000 ? apply_common(st, o, val) : cmd->handler(st, o->id, val);
}

int cli_parse(const cli_command *cmd, cli_state *st, int argc, char **argv)
{
	st->cmd = cmd->name;
	prescan_output(cmd, argc, argv);
	st->positional = calloc((size_t)argc + 1, sizeof(char *));
	if (!st->positional)
		return cli_error_as(COCOIMG_ENOMEM, "out of memory");
	bool only_pos = false;
	for (int i = 0; i < argc; i++) {
		char *a = argv[i];
		if (only_pos || a[0] != '-' || !strcmp(a, "-")) {
			st->positional[st->n_positional++] = a;
		} else if (!strcmp(a, "--")) {
			only_pos = true;
		} else {
			int rc = parse_opt(cmd, st, argc, argv, &i);
			if (rc)
				return rc;
		}
	}
	if (st->n_positional < cmd->min_pos || st->n_positional > cmd->max_pos)
		return cli_usage("%s: expected %s (see coco-img %s --help)", cmd->name, cmd->synopsis,
		                 cmd->name);
	int rc = cli_creds_apply(st);
	if (rc)
		return rc;
	st->progress = !st->quiet && !st->json && isatty(2);
	return 0;
}
