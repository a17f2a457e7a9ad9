/* coco-img generate-key-pair [--output-key-prefix NAME] [--passphrase-file
 * FILE]: cosign.key (cosign's encrypted format) and cosign.pub, as
 * `cosign generate-key-pair` writes them; and the passphrase of a signing
 * key, shared with sign: --passphrase-file, else COSIGN_PASSWORD, else a
 * prompt on the terminal.
 *
 * Differences from cosign, on purpose: without COSIGN_PASSWORD and without
 * a terminal on stdin, cosign reads the passphrase from piped stdin (all
 * of it, newline included); coco-img refuses and names the two ways to
 * give one.  KMS, k8s://, github:// and gitlab:// key stores are cosign's,
 * not ours. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#define MAX_PASSPHRASE 4096

static void wipe_free(char *s)
{
	if (!s)
		return;
	volatile char *p = s;
	while (*p)
		*p++ = 0;
	free(s);
}

/* One line from the terminal on stdin with echo off ('\n' ends it, a '\r'
 * before it is dropped, as Go's term.ReadPassword).  NULL on failure. */
static char *read_hidden_line(const char *prompt)
{
	struct termios old, quiet;
	if (tcgetattr(STDIN_FILENO, &old))
		return NULL;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ICANON | ISIG;
	quiet.c_iflag |= ICRNL;
	/* echo off before the prompt shows, so nothing typed after it echoes */
	if (tcsetattr(STDIN_FILENO, TCSANOW, &quiet))
		return NULL;
	fputs(prompt, stderr);
	fflush(stderr);
	char *buf = calloc(1, MAX_PASSPHRASE + 1);
	size_t n = 0;
	bool ok = buf != NULL;
	while (ok) {
		char c;
		ssize_t r = read(STDIN_FILENO, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || c == '\n')
			break;
		if (n == MAX_PASSPHRASE)
			ok = false;
		else
			buf[n++] = c;
	}
	tcsetattr(STDIN_FILENO, TCSANOW, &old);
	fputc('\n', stderr);
	if (ok && n && buf[n - 1] == '\r')
		buf[--n] = 0;
	if (!ok) {
		wipe_free(buf);
		return NULL;
	}
	return buf;
}

int cli_passphrase_prompt(bool confirm, char **out)
{
	*out = NULL;
	if (!isatty(STDIN_FILENO))
		return cli_usage("a passphrase is needed and stdin is not a terminal to ask on: give "
		                 "it with --passphrase-file FILE or the COSIGN_PASSWORD variable");
	char *pw = read_hidden_line("Enter password for private key: ");
	if (!pw)
		return cli_error_as(COCOIMG_EIO, "cannot read the passphrase from the terminal");
	if (confirm) {
		char *again = read_hidden_line("Enter password for private key again: ");
		bool same = again && !strcmp(pw, again);
		wipe_free(again);
		if (!same) {
			wipe_free(pw);
			return cli_usage("passwords do not match");
		}
	}
	*out = pw;
	return 0;
}

int cli_passphrase_get(const char *pass_file, bool confirm, char **out)
{
	*out = NULL;
	if (pass_file) {
		FILE *f = fopen(pass_file, "re");
		if (!f)
			return cli_usage("cannot open passphrase file %s: %s", pass_file, strerror(errno));
		char *line = NULL;
		size_t cap = 0;
		ssize_t n = getline(&line, &cap, f);
		int err = n < 0 && ferror(f) ? errno : 0;
		fclose(f);
		if (err) {      /* a directory, an I/O error: not an empty passphrase */
			free(line);     /* nothing was read into it */
			return cli_error_as(COCOIMG_EIO, "cannot read passphrase file %s: %s", pass_file,
			                    strerror(err));
		}
		if (n < 0) {
			free(line);
			line = strdup("");
		} else if (n > 0 && line[n - 1] == '\n') {
			line[n - 1] = 0;
		}
		if (!line)
			return cli_error_as(COCOIMG_ENOMEM, "out of memory");
		*out = line;
		return 0;
	}
	const char *env = getenv("COSIGN_PASSWORD");
	if (env) {
		*out = strdup(env);
		return *out ? 0 : cli_error_as(COCOIMG_ENOMEM, "out of memory");
	}
	return cli_passphrase_prompt(confirm, out);
}

void cli_passphrase_free(char *p)
{
	wipe_free(p);
}

/* ---- generate-key-pair ---- */

enum { OPT_PREFIX = 1, OPT_PASSFILE };

static const char *prefix = "cosign", *gen_pass_path;

static int handler(cli_state *st, int id, const char *v)
{
	(void)st;
	switch (id) {
	case OPT_PREFIX:
		if (!*v)
			return cli_usage("generate-key-pair: --output-key-prefix must not be empty");
		prefix = v;
		return 0;
	case OPT_PASSFILE: gen_pass_path = v; return 0;
	}
	return cli_usage("generate-key-pair: unhandled option");
}

/* cosign's ui.ConfirmContinue: a line from stdin, "y" (any case) goes on. */
static bool confirm_overwrite(const char *path)
{
	fprintf(stderr, "WARNING: File %s already exists. Overwrite?\n"
	                "Are you sure you would like to continue? [y/N] ", path);
	fflush(stderr);
	char line[16] = "";
	if (!fgets(line, sizeof(line), stdin))
		return false;
	line[strcspn(line, "\r\n")] = 0;
	return !strcmp(line, "y") || !strcmp(line, "Y");
}

/* Write all of data to fd and sync it: 0 or an errno value. */
static int write_sync(int fd, const char *data)
{
	size_t n = strlen(data), off = 0;
	while (off < n) {
		ssize_t w = write(fd, data + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? errno : EIO;
		off += (size_t)w;
	}
	return fsync(fd) ? errno : 0;
}

/* Write a whole file through PATH.tmp-PID and rename (mode as given). */
static int write_file(const char *path, const char *data, mode_t mode)
{
	size_t len = strlen(path) + 32;
	char *tmp = malloc(len);
	if (!tmp)
		return cli_error_as(COCOIMG_ENOMEM, "out of memory");
	snprintf(tmp, len, "%s.tmp-%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	int err = fd < 0 ? errno : write_sync(fd, data);
	if (fd >= 0 && close(fd) && !err)
		err = errno;
	if (!err && rename(tmp, path))
		err = errno;
	if (err && fd >= 0)
		unlink(tmp);
	free(tmp);
	if (err)
		return cli_error_as(COCOIMG_EIO, "cannot write %s: %s", path, strerror(err));
	return 0;
}

static int write_pair(cli_state *st, const char *key_path, const char *pub_path, const char *priv,
                      const char *pub)
{
	int rc = write_file(key_path, priv, 0600);
	if (rc)
		return rc;
	if (!st->json && !st->quiet)
		fprintf(stderr, "Private key written to %s\n", key_path);
	if ((rc = write_file(pub_path, pub, 0644)))
		return rc;
	if (st->json) {
		json_t *j = json_pack("{s:s,s:s}", "private_key", key_path, "public_key", pub_path);
		char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
		if (s)
			printf("%s\n", s);
		free(s);
		json_decref(j);
	} else if (!st->quiet) {
		fprintf(stderr, "Public key written to %s\n", pub_path);
	}
	return EXIT_OK;
}

static int run(cli_state *st)
{
	size_t len = strlen(prefix) + 5;
	char *key_path = malloc(len), *pub_path = malloc(len);
	char *pass = NULL, *priv = NULL, *pub = NULL;
	int rc = EXIT_OK;
	if (!key_path || !pub_path) {
		rc = cli_error_as(COCOIMG_ENOMEM, "out of memory");
		goto out;
	}
	snprintf(key_path, len, "%s.key", prefix);
	snprintf(pub_path, len, "%s.pub", prefix);
	/* cosign's order: the passphrase (asked twice), the key, then the
	 * question about an existing key file */
	if ((rc = cli_passphrase_get(gen_pass_path, true, &pass)))
		goto out;
	int lrc = cocoimg_generate_key_pair(st->ctx, pass, &priv, &pub);
	if (lrc) {
		rc = cli_fail(st, lrc, "generate-key-pair");
		goto out;
	}
	if (access(key_path, F_OK) == 0 && !confirm_overwrite(key_path)) {
		rc = cli_error_as(COCOIMG_ECANCELLED, "user declined the prompt: %s left as it was", key_path);
		goto out;
	}
	rc = write_pair(st, key_path, pub_path, priv, pub);
out:
	cli_passphrase_free(pass);
	cocoimg_free(priv);
	cocoimg_free(pub);
	free(key_path);
	free(pub_path);
	return rc;
}

static const cli_opt opts[] = {
	{ "output-key-prefix", CLI_VALUE, OPT_PREFIX, "write NAME.key and NAME.pub (default: cosign)", "NAME" },
	{ "passphrase-file", CLI_VALUE, OPT_PASSFILE, "file whose first line is the passphrase (else COSIGN_PASSWORD, else a prompt)", "FILE" },
	{ NULL, 0, 0, NULL, NULL },
};

const cli_command cli_cmd_generate_key_pair = {
	"generate-key-pair", "", "Write cosign.key (cosign's encrypted format) and cosign.pub",
	CLI_GROUP_OUTPUT, opts, handler, 0, 0, run,
};
