/* coco-img: shared CLI plumbing.  Commands parse arguments, call one
 * library operation, and print. */
#ifndef COCO_CLI_H
#define COCO_CLI_H

#include <cocoimg.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

/* Exit statuses (cli.md). */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_REJECTED = 3, EXIT_NOKEY = 4 };

/* Option kinds for the table-driven parser. */
enum cli_arg { CLI_FLAG = 0, CLI_VALUE = 1, CLI_BOOL = 2 /* --x or --x=true|false */ };

typedef struct cli_opt {
	const char *name;          /* without leading dashes */
	enum cli_arg arg;
	int id;                    /* passed to the handler */
	const char *help;          /* one line; NULL hides it */
	const char *metavar;       /* for --help */
} cli_opt;

/* Common option groups a command can include (ids >= 1000 are handled by
 * cli_common_apply; commands use ids below 1000). */
enum {
	CLI_GROUP_REGISTRY = 1,    /* --authfile --creds --cert-dir --tls-verify ... */
	CLI_GROUP_SIDES = 2,       /* --src-* / --dest-* forms (copy, encrypt, decrypt) */
	CLI_GROUP_OUTPUT = 4,      /* --output --quiet --stats */
	CLI_GROUP_POLICY = 8,      /* --policy --registries.d */
	CLI_GROUP_KEYS = 16,       /* --decryption-key/--key, keyprovider options */
	/* caps (cap_opts.c); REGISTRY brings --max-token-size and
	 * --max-error-body, POLICY --max-signature-size */
	CLI_GROUP_MANIFESTS = 32,  /* reads manifests: --max-manifest-size --max-layers */
	CLI_GROUP_CONFIGS = 64,    /* reads image configs: --max-config-size */
	CLI_GROUP_APPLY = 128,     /* applies layers: --max-layer-size ... --max-spool-size */
};

/* The --max-* options (cap_opts.c): each sets the ctx key of its name.
 * cli_cap_tables puts the tables (at most CLI_CAP_TABLES) that groups
 * bring into out and returns how many; cli_cap_id: is id one of them? */
enum { CLI_ID_CAP = 1200, CLI_CAP_TABLES = 5 };
size_t cli_cap_tables(unsigned groups, const cli_opt **out);
bool cli_cap_id(int id);

typedef struct cli_state {
	cocoimg_ctx *ctx;
	const char *cmd;
	bool json;                 /* --output json */
	bool quiet;
	bool stats;
	bool progress;             /* stderr is a tty and not quiet */
	char **positional;
	int n_positional;
	/* collected key specs (--decryption-key / --key), in order */
	const char **dec_keys;
	int n_dec_keys;
	/* collected recipient specs (--encryption-key / --recipient) */
	const char **enc_keys;
	int n_enc_keys;
} cli_state;

/* Command-specific handler: return 0, or an exit code (after printing). */
typedef int (*cli_handler)(cli_state *st, int id, const char *value);

typedef struct cli_command {
	const char *name;
	const char *synopsis;      /* "SRC DST" */
	const char *summary;       /* one line */
	unsigned groups;
	const cli_opt *opts;       /* terminated by {NULL} */
	cli_handler handler;
	int min_pos, max_pos;
	int (*run)(cli_state *st);
} cli_command;

/* Parse argv for cmd; returns 0 or an exit code (help printed = -1). */
int cli_parse(const cli_command *cmd, cli_state *st, int argc, char **argv);

/* The examples of a command's --help (help_examples.c), or NULL. */
const char *cli_examples(const char *cmd);
/* Print the help of cmd (its options, the global ones, examples). */
void cli_print_help(const cli_command *cmd);
/* The option called name[0..len) for cmd (its own, its groups', the
 * global ones), or NULL. */
const cli_opt *cli_find_opt(const cli_command *cmd, const char *name, size_t len);
/* Go's strconv.ParseBool: 1 for 1/t/T/TRUE/true/True, 0 for
 * 0/f/F/FALSE/false/False, -1 otherwise. */
int cli_parse_bool(const char *s);

/* Options before the command name (global_args.c): finds the command in
 * argv and returns 0 with a new argv (command's arguments, options from
 * before the name first) in *out and *out_argc; or an exit code (message
 * printed); or one of these: */
enum {
	CLI_SPLIT_USAGE = -1,      /* print the usage on stdout, exit 0 */
	CLI_SPLIT_DONE = -2,       /* help printed, exit 0 */
	CLI_SPLIT_NO_COMMAND = -3, /* print the usage on stderr, exit 2 */
};
int cli_split_global(const cli_command *const *cmds, size_t n_cmds, int argc, char **argv,
                     const cli_command **cmd, char ***out, int *out_argc);

/* Registry credentials (creds.c): --creds, --username/--password and
 * --no-creds of one side (0 both, 1 src, 2 dest) are collected while
 * parsing and checked and applied once, with skopeo's rules. */
enum cli_creds_field { CLI_CREDS_CREDS, CLI_CREDS_USER, CLI_CREDS_PASS, CLI_CREDS_NONE };
int cli_creds_option(int side, enum cli_creds_field f, const char *value);
int cli_creds_apply(cli_state *st);

/* Log messages on stderr (log.c): warnings, and debug ones with --debug
 * or COCO_IMG_DEBUG set. */
void cli_setup_log(cocoimg_ctx *ctx);
void cli_set_debug(cocoimg_ctx *ctx);

/* Print "coco-img: MESSAGE" for a library error and return its exit code. */
int cli_fail(cli_state *st, int rc, const char *what);
/* Print a verification report and return the exit status (common.c):
 * the report as JSON under --output json, else through print_text; a
 * failure under --output json prints it with the error instead.  Frees
 * report. */
int cli_report_exit(cli_state *st, int rc, char *report, void (*print_text)(const char *report));
/* Append v to an option's list of values (*n counts them); EXIT_FAIL,
 * reported as kind nomem, when out of memory. */
int cli_push_arg(const char ***arr, int *n, const char *v);
/* Print "coco-img: ..." and return EXIT_USAGE. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "coco-img: ..." and return the exit status of the library error
 * err (COCOIMG_EIO, COCOIMG_ENOMEM, ...), whose JSON error.kind it reports:
 * out of memory is ENOMEM, a file or stdout that cannot be written EIO. */
__attribute__((format(printf, 2, 3))) int cli_error_as(int err, const char *fmt, ...);

/* As cli_fail; under --output json the JSON report (may be NULL) is printed
 * with an "error" member added, so stdout holds one object. */
int cli_fail_report(cli_state *st, int rc, const char *what, const char *json_report);

/* JSON errors (json_error.c): on once --output json is seen; then every
 * failure prints {"error":{"code","kind","message"}} (merged into report). */
void cli_set_json_errors(bool on);
void cli_json_error(int code, const char *kind, const char *message, const char *report);
/* The digest a report's reference now names: index_digest when the top
 * document is an index, else manifest_digest (docs/json.md); NULL if none. */
const char *cli_report_top_digest(json_t *report);

/* The cosign verification flags of verify and verify-blob (cosign_flags.c):
 * --key, --certificate-identity[-regexp], --certificate-oidc-issuer[-regexp],
 * --trusted-root, --insecure-ignore-tlog, --insecure-ignore-sct.  Each
 * command lists them with its own help under these ids. */
enum { CLI_COSIGN_KEY = 900, CLI_COSIGN_ID, CLI_COSIGN_ID_RE, CLI_COSIGN_ISS, CLI_COSIGN_ISS_RE,
       CLI_COSIGN_ROOT, CLI_COSIGN_NOTLOG, CLI_COSIGN_NOSCT };
/* Their rows in a command's option table, the help of --key,
 * --certificate-identity, --certificate-oidc-issuer, --trusted-root and
 * --insecure-ignore-tlog being the command's own. */
#define CLI_COSIGN_OPTS(key_help, id_help, issuer_help, root_help, notlog_help)                   \
	{ "key", CLI_VALUE, CLI_COSIGN_KEY, key_help, "FILE" },                                    \
	{ "certificate-identity", CLI_VALUE, CLI_COSIGN_ID, id_help, "ID" },                       \
	{ "certificate-identity-regexp", CLI_VALUE, CLI_COSIGN_ID_RE,                              \
	  "... as a regular expression", "RE" },                                                   \
	{ "certificate-oidc-issuer", CLI_VALUE, CLI_COSIGN_ISS, issuer_help, "URL" },              \
	{ "certificate-oidc-issuer-regexp", CLI_VALUE, CLI_COSIGN_ISS_RE,                          \
	  "... as a regular expression", "RE" },                                                   \
	{ "trusted-root", CLI_VALUE, CLI_COSIGN_ROOT, root_help, "FILE" },                         \
	{ "insecure-ignore-tlog", CLI_FLAG, CLI_COSIGN_NOTLOG, notlog_help, NULL },                \
	{ "insecure-ignore-sct", CLI_FLAG, CLI_COSIGN_NOSCT,                                       \
	  "keyless: do not require an embedded SCT", NULL }
/* Record flag id (value v) in o; one given twice is a usage error naming
 * cmd. */
int cli_cosign_flag(const char *cmd, cocoimg_verify_blob_options *o, int id, const char *v);

/* SIGINT/SIGTERM become cocoimg_ctx_cancel(ctx) (interrupt.c). */
void cli_cancel_on_signals(cocoimg_ctx *ctx);
int cli_interrupted(void);     /* the signal caught, or 0 */

/* Install the stderr progress display (only when st->progress). */
void cli_setup_progress(cli_state *st);

/* Add the collected --decryption-key / --encryption-key specs to a
 * keyring (defined in cmd_crypt.c). Returns 0 or exit code. */
int cli_build_keyring(cli_state *st, cocoimg_keyring **out, bool want_recipients);
/* A trust broker given (--resources, --cdh, --kbs)?  Then CoCo layer keys
 * come from it and no --decryption-key is needed (cmd_crypt.c). */
bool cli_broker_given(cli_state *st);
/* --require-encrypted: set the ctx option of that name (cmd_crypt.c). */
int cli_require_encrypted(cli_state *st);
#define CLI_REQUIRE_ENCRYPTED_HELP \
	"refuse (exit 3) an image with a layer that is not encrypted, before anything is written"

/* Passphrases of signing keys (cmd_keys.c).  cli_passphrase_get: the
 * first line of pass_file if given, else COSIGN_PASSWORD, else
 * cli_passphrase_prompt: asked on the terminal on stdin without echo
 * (twice when confirm), refused (exit 2) when stdin is no terminal.
 * Returns 0 or an exit code (printed); free *out with cli_passphrase_free. */
int cli_passphrase_get(const char *pass_file, bool confirm, char **out);
int cli_passphrase_prompt(bool confirm, char **out);
void cli_passphrase_free(char *p);

/* Commands (one file each). */
extern const cli_command cli_cmd_copy, cli_cmd_encrypt, cli_cmd_decrypt, cli_cmd_verify,
	cli_cmd_unpack, cli_cmd_inspect, cli_cmd_sign, cli_cmd_version, cli_cmd_verify_blob,
	cli_cmd_generate_key_pair, cli_cmd_login, cli_cmd_logout;

#endif
