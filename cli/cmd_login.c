/* coco-img login REGISTRY / logout REGISTRY: auth.json entries as skopeo
 * writes and removes them.  The file: --authfile, else $REGISTRY_AUTH_FILE,
 * else ${XDG_RUNTIME_DIR}/containers/auth.json, else
 * /run/containers/UID/auth.json.  login checks the credentials against the
 * registry (cocoimg_registry_login) before anything is written. */
#define _DEFAULT_SOURCE        /* explicit_bzero */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

enum { ID_USER = 1, ID_PASS, ID_PASS_STDIN, ID_ALL };

static struct {
	const char *user, *pass;
	bool pass_stdin, all;
} cfg;

static int handler(cli_state *st, int id, const char *v)
{
	(void)st;
	switch (id) {
	case ID_USER: cfg.user = v; break;
	case ID_PASS: cfg.pass = v; break;
	case ID_PASS_STDIN: cfg.pass_stdin = true; break;
	case ID_ALL: cfg.all = true; break;
	}
	return 0;
}

/* The auth file to write, in *path (caller frees). */
static int authfile_path(cli_state *st, char **path)
{
	const char *f = cocoimg_ctx_get(st->ctx, "authfile");
	if (!f || !*f)
		f = getenv("REGISTRY_AUTH_FILE");
	const char *x = getenv("XDG_RUNTIME_DIR");
	char buf[4096];
	if (f && *f)
		snprintf(buf, sizeof(buf), "%s", f);
	else if (x && *x)
		snprintf(buf, sizeof(buf), "%s/containers/auth.json", x);
	else
		snprintf(buf, sizeof(buf), "/run/containers/%u/auth.json", (unsigned)getuid());
	*path = strdup(buf);
	return *path ? 0 : cli_error_as(COCOIMG_ENOMEM, "out of memory");
}

/* REGISTRY as the key of "auths": without docker:// and a trailing /. */
static char *registry_key(const char *r)
{
	if (!strncmp(r, "docker://", 9))
		r += 9;
	char *k = strdup(r);
	size_t n = k ? strlen(k) : 0;
	while (n && k[n - 1] == '/')
		k[--n] = 0;
	return k;
}

/* The file's JSON object (a new one when the file does not exist). */
static int load_auth(const char *path, json_t **out)
{
	*out = NULL;
	if (access(path, F_OK) && errno == ENOENT) {
		*out = json_object();
		return *out ? 0 : cli_error_as(COCOIMG_ENOMEM, "out of memory");
	}
	json_error_t e;
	json_t *j = json_load_file(path, 0, &e);
	if (!json_is_object(j)) {
		json_decref(j);
		return cli_error_as(COCOIMG_ECONFIG, "authfile %s: not a JSON object (%s)", path, e.text);
	}
	*out = j;
	return 0;
}

/* mkdir -p the parent of path, 0700 for what is created. */
static int make_parent(const char *path)
{
	char d[4096];
	snprintf(d, sizeof(d), "%s", path);
	for (char *p = d + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(d, 0700) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return 0;
}

/* Write j to path through a temporary file and rename, mode 0600. */
static int save_auth(const char *path, json_t *j)
{
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path);
	int fd = make_parent(path) ? -1 : mkstemp(tmp);
	if (fd < 0)
		return cli_error_as(COCOIMG_EIO, "authfile %s: %s", path, strerror(errno));
	char *s = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	size_t n = s ? strlen(s) : 0;
	bool ok = s && fchmod(fd, 0600) == 0 && write(fd, s, n) == (ssize_t)n &&
	          write(fd, "\n", 1) == 1 && fsync(fd) == 0;
	int err = errno;
	if (s)
		explicit_bzero(s, n);
	free(s);
	if (close(fd))
		ok = false;
	if (ok && rename(tmp, path) == 0)
		return 0;
	err = ok ? errno : err;
	unlink(tmp);
	return cli_error_as(COCOIMG_EIO, "authfile %s: %s", path, strerror(err));
}

static char *base64(const char *in, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((n + 2) / 3 * 4 + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned char)in[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)in[i + 2];
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	out[o] = 0;
	return out;
}

/* One line from stdin into buf (no newline); echo off when asked and
 * stdin is a terminal.  -1 at end of input. */
static int read_line(const char *prompt, bool secret, char *buf, size_t size)
{
	struct termios old, quiet;
	bool tty = isatty(0);
	/* echo goes off before the prompt shows, so nothing typed is echoed */
	bool off = secret && tty && tcgetattr(0, &old) == 0;
	if (off) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(0, TCSANOW, &quiet);
	}
	if (prompt && tty) {
		fprintf(stderr, "%s", prompt);
		fflush(stderr);
	}
	char *got = fgets(buf, (int)size, stdin);
	if (off) {
		tcsetattr(0, TCSANOW, &old);
		fprintf(stderr, "\n");
	}
	if (!got)
		return -1;
	buf[strcspn(buf, "\r\n")] = 0;
	return 0;
}

static char user_buf[256], pass_buf[1024];

/* User name and password from the flags, stdin or the terminal. */
static int get_creds(void)
{
	if (cfg.pass_stdin && cfg.pass)
		return cli_usage("login: --password and --password-stdin cannot be given together");
	if (cfg.pass_stdin && !cfg.user)
		return cli_usage("login: --password-stdin needs --username");
	if (!cfg.user) {
		if (!isatty(0))
			return cli_usage("login: give --username (no terminal to ask on)");
		if (read_line("Username: ", false, user_buf, sizeof(user_buf)) || !*user_buf)
			return cli_usage("login: no user name given");
		cfg.user = user_buf;
	}
	if (!cfg.pass) {
		if (!cfg.pass_stdin && !isatty(0))
			return cli_usage("login: give --password or --password-stdin (no terminal to ask on)");
		if (read_line(cfg.pass_stdin ? NULL : "Password: ", true, pass_buf, sizeof(pass_buf)) ||
		    !*pass_buf)
			return cli_usage("login: no password given");
		cfg.pass = pass_buf;
	}
	if (!*cfg.user || strchr(cfg.user, ':'))
		return cli_usage("login: a user name is not empty and has no ':'");
	return 0;
}

/* auths[key] = {"auth": base64(user:password)} in the file at path. */
static int store(const char *path, const char *key, const char *creds)
{
	json_t *j;
	int rc = load_auth(path, &j);
	if (rc)
		return rc;
	json_t *auths = json_object_get(j, "auths");
	if (!json_is_object(auths)) {
		auths = json_object();
		json_object_set_new(j, "auths", auths);
	}
	char *b = base64(creds, strlen(creds));
	json_t *entry = b ? json_pack("{s:s}", "auth", b) : NULL;
	if (b)
		explicit_bzero(b, strlen(b));
	free(b);
	rc = entry && !json_object_set(auths, key, entry) ? save_auth(path, j)
	                                                   : cli_error_as(COCOIMG_ENOMEM, "out of memory");
	char *v = entry ? (char *)json_string_value(json_object_get(entry, "auth")) : NULL;
	if (v)
		explicit_bzero(v, strlen(v));
	json_decref(entry);
	json_decref(j);
	return rc;
}

/* --output json: {"registry", "authfile"} (logout --all: {"all": true,
 * "authfile"}), docs/json.md. */
static void print_result(const char *registry, const char *authfile, bool all)
{
	json_t *j = json_pack("{s:s}", "authfile", authfile);
	if (all)
		json_object_set_new(j, "all", json_true());
	else
		json_object_set_new(j, "registry", json_string(registry));
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (s)
		printf("%s\n", s);
	free(s);
	json_decref(j);
}

static int run_login(cli_state *st)
{
	const char *registry = st->positional[0];
	int rc = get_creds();
	if (rc)
		return rc;
	size_t n = strlen(cfg.user) + strlen(cfg.pass) + 2;
	char *creds = malloc(n);
	char *key = registry_key(registry);
	char *path = NULL;
	if (!creds || !key)
		rc = cli_error_as(COCOIMG_ENOMEM, "out of memory");
	if (!rc) {
		snprintf(creds, n, "%s:%s", cfg.user, cfg.pass);
		rc = authfile_path(st, &path);
	}
	/* check the credentials against the registry, then write them */
	if (!rc && cocoimg_ctx_set(st->ctx, "creds", creds))
		rc = cli_fail(st, COCOIMG_EINVAL, "login");
	int lrc = rc ? 0 : cocoimg_registry_login(st->ctx, key);
	if (lrc)
		rc = cli_fail(st, lrc, "login");
	if (!rc)
		rc = store(path, key, creds);
	if (!rc && st->json)
		print_result(key, path, false);
	else if (!rc && !st->quiet)
		printf("Login Succeeded!\n");
	if (creds)
		explicit_bzero(creds, n);
	free(creds);
	explicit_bzero(pass_buf, sizeof(pass_buf));
	free(key);
	free(path);
	return rc;
}

static int run_logout(cli_state *st)
{
	if (cfg.all == (st->n_positional == 1))
		return cli_usage("logout: give REGISTRY or --all");
	char *path = NULL;
	int rc = authfile_path(st, &path);
	json_t *j = NULL;
	if (!rc && access(path, F_OK) && !cfg.all)
		rc = cli_error_as(COCOIMG_ENOTFOUND, "not logged into %s", st->positional[0]);
	if (!rc)
		rc = load_auth(path, &j);
	char *key = rc || cfg.all ? NULL : registry_key(st->positional[0]);
	if (!rc && cfg.all) {
		json_object_set_new(j, "auths", json_object());
		json_object_del(j, "credHelpers");
		rc = save_auth(path, j);
	} else if (!rc) {
		json_t *auths = json_object_get(j, "auths");
		if (!key || !json_object_get(auths, key))
			rc = cli_error_as(COCOIMG_ENOTFOUND, "not logged into %s", st->positional[0]);
		else if (!json_object_del(auths, key))
			rc = save_auth(path, j);
	}
	if (!rc && st->json)
		print_result(key, path, cfg.all);
	else if (!rc && !st->quiet)
		printf(cfg.all ? "Removed login credentials for all registries\n"
		               : "Removed login credentials for %s\n", key);
	json_decref(j);
	free(key);
	free(path);
	return rc;
}

static const cli_opt login_opts[] = {
	{ "username", CLI_VALUE, ID_USER, "user name (asked on a terminal when not given); also -u", "USER" },
	{ "password", CLI_VALUE, ID_PASS, "password (asked on a terminal, without echo, when not given); also -p", "PASSWORD" },
	{ "password-stdin", CLI_FLAG, ID_PASS_STDIN, "read the password from stdin", NULL },
	{ NULL, 0, 0, NULL, NULL },
};

static const cli_opt logout_opts[] = {
	{ "all", CLI_FLAG, ID_ALL, "remove the credentials of every registry; also -a", NULL },
	{ NULL, 0, 0, NULL, NULL },
};

const cli_command cli_cmd_login = {
	"login", "REGISTRY",
	"Check a user name and password against REGISTRY (HOST[:PORT]) and store them in the\n"
	"auth file (--authfile, else $REGISTRY_AUTH_FILE, else ${XDG_RUNTIME_DIR}/containers/auth.json)",
	CLI_GROUP_REGISTRY | CLI_GROUP_OUTPUT, login_opts, handler, 1, 1, run_login,
};

const cli_command cli_cmd_logout = {
	"logout", "REGISTRY",
	"Remove the credentials of REGISTRY (or, with --all, of every registry) from the auth file",
	CLI_GROUP_REGISTRY | CLI_GROUP_OUTPUT, logout_opts, handler, 0, 1, run_logout,
};
