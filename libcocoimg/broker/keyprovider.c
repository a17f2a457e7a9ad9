/*
 * broker/: the ocicrypt keyprovider protocol client (ocicrypt.md section 6).
 *
 * A keyprovider is an external program ("cmd": JSON request on stdin,
 * JSON answer on stdout) or a gRPC server ("grpc": unary calls
 * /keyprovider.KeyProviderService/WrapKey and UnWrapKey whose messages
 * carry the same JSON in protobuf field 1) that wraps and unwraps the
 * layer's private options.  Providers are named in the JSON file that
 * $OCICRYPT_KEYPROVIDER_CONFIG (or ctx "keyprovider-config") points at.
 *
 * crypt/ never calls this file: the provider key wrapper
 * (crypt/provider.c) reaches it through the coco_provider_ops that the
 * operations layer (image_crypt.c) installs in every keyring.
 *
 * Deliberate differences from containers/ocicrypt (Go):
 *  - only the provider's own parameters are sent (Go sends the whole
 *    encrypt/decrypt config, including other schemes' private keys);
 *  - a provider's stderr is never copied verbatim into messages: only a
 *    short, redacted line (it may echo its input, which holds the key).
 */
#include "keyprovider.h"
#include "pb.h"
#include "../base.h"
#include "../json.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define KP_MAX_CONFIG (1024 * 1024)
#define KP_STDERR_KEEP 2048

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */


/*
 * Make text from a provider (stderr line, grpc-message) safe to show:
 * one line, printable ASCII, at most 200 characters, and every long run
 * that looks like encoded data (base64/hex with letters and digits)
 * replaced by "[...]" since a provider may echo key material.
 */
/* Length of the run of base64/hex-like characters at the start of in;
 * *mixed when it holds both digits and letters. */
static size_t encoded_run(const char *in, size_t len, bool *mixed)
{
	bool digit = false, alpha = false;
	size_t j = 0;
	for (; j < len; j++) {
		unsigned char d = (unsigned char)in[j];
		if (d >= '0' && d <= '9')
			digit = true;
		else if ((d >= 'a' && d <= 'z') || (d >= 'A' && d <= 'Z'))
			alpha = true;
		else if (d != '+' && d != '/' && d != '=' && d != '_' && d != '-')
			break;
	}
	*mixed = digit && alpha;
	return j;
}

static void redact_line(const char *in, size_t len, char *out, size_t outsz)
{
	size_t o = 0, i = 0;
	while (i < len && (in[i] == '\n' || in[i] == '\r' || in[i] == ' '))
		i++;  /* the first non-empty line */
	while (i < len && o + 6 < outsz && o < 200 && in[i] != '\n' && in[i] != '\r') {
		bool mixed;
		size_t j = i + encoded_run(in + i, len - i, &mixed);
		if (j - i >= 20 && mixed) {
			memcpy(out + o, "[...]", 5);
			o += 5;
		} else if (j == i) {
			unsigned char c = (unsigned char)in[i];
			out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
			j = i + 1;
		} else {
			for (size_t k = i; k < j && o + 1 < outsz && o < 200; k++)
				out[o++] = in[k];
		}
		i = j;
	}
	out[o] = 0;
}

/* Overwrite what a parsed byte field held (strings in place, integers
 * set to zero) before the document is freed. */
static void json_bytes_wipe(json_t *v)
{
	if (json_is_string(v)) {
		coco_wipe((void *)json_string_value(v), json_string_length(v));
	} else if (json_is_array(v)) {
		size_t n = json_array_size(v);
		for (size_t i = 0; i < n; i++) {
			json_t *e = json_array_get(v, i);
			if (json_is_integer(e))
				json_integer_set(e, 0);
		}
	}
}

/* ------------------------------------------------------------------ */
/* Configuration                                                       */
/* ------------------------------------------------------------------ */

void coco_kp_provider_clear(coco_kp_provider *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->cmd_path);
	if (p->cmd_args) {
		for (char **a = p->cmd_args; *a; a++)
			free(*a);
		free(p->cmd_args);
	}
	free(p->grpc);
	memset(p, 0, sizeof(*p));
}

static const char *kp_config_path(cocoimg_ctx *ctx)
{
	const char *path = coco_opt(ctx, NULL, "keyprovider-config");
	if (!path || !*path)
		path = getenv("OCICRYPT_KEYPROVIDER_CONFIG");
	return path && *path ? path : NULL;
}

/* A JSON string without NUL bytes, non-empty. */
static bool plain_string(json_t *v)
{
	return json_is_string(v) && *json_string_value(v) &&
	       strlen(json_string_value(v)) == json_string_length(v);
}

/* The "cmd" form: {"path": "...", "args": ["..."]}. */
static int parse_cmd_form(cocoimg_ctx *ctx, const char *path, const char *name, json_t *cmd,
                          coco_kp_provider *out)
{
	json_t *jp = json_is_object(cmd) ? json_object_get(cmd, "path") : NULL;
	json_t *ja = json_is_object(cmd) ? json_object_get(cmd, "args") : NULL;
	if (!plain_string(jp) || (ja && !json_is_null(ja) && !json_is_array(ja)))
		return coco_seterr(ctx, COCOIMG_ECONFIG, "keyprovider config %s: provider \"%s\": "
		                   "\"cmd\" needs a \"path\" string and an optional \"args\" array",
		                   path, name);
	size_t na = json_is_array(ja) ? json_array_size(ja) : 0;
	out->cmd_path = coco_strdup(json_string_value(jp));
	out->cmd_args = calloc(na + 1, sizeof(char *));
	if (!out->cmd_path || !out->cmd_args)
		return coco_oom(ctx);
	for (size_t i = 0; i < na; i++) {
		json_t *a = json_array_get(ja, i);
		if (!json_is_string(a) || strlen(json_string_value(a)) != json_string_length(a))
			return coco_seterr(ctx, COCOIMG_ECONFIG, "keyprovider config %s: provider "
			                   "\"%s\": \"args\" must hold strings", path, name);
		if (!(out->cmd_args[i] = coco_strdup(json_string_value(a))))
			return coco_oom(ctx);
	}
	return 0;
}

/* The "grpc" form: an address string (cleartext only). */
static int parse_grpc_form(cocoimg_ctx *ctx, const char *path, const char *name, json_t *p,
                           json_t *grpc, coco_kp_provider *out)
{
	if (!plain_string(grpc))
		return coco_seterr(ctx, COCOIMG_ECONFIG, "keyprovider config %s: provider \"%s\": "
		                   "\"grpc\" must be an address string", path, name);
	json_t *tls = json_object_get(p, "grpc-tls");
	if (tls && !json_is_null(tls))
		return coco_seterr(ctx, COCOIMG_EUNSUPPORTED, "keyprovider \"%s\": \"grpc-tls\" is "
		                   "not supported (cleartext gRPC only)", name);
	out->grpc = coco_strdup(json_string_value(grpc));
	return out->grpc ? 0 : coco_oom(ctx);
}

/* One provider entry: how it is invoked. */
static int parse_provider(cocoimg_ctx *ctx, const char *path, const char *name, json_t *p,
                          coco_kp_provider *out)
{
	if (!json_is_object(p))
		return coco_seterr(ctx, COCOIMG_ECONFIG, "keyprovider config %s: provider \"%s\" must "
		                   "be an object", path, name);
	json_t *cmd = json_object_get(p, "cmd");
	json_t *grpc = json_object_get(p, "grpc");
	int rc;
	/* Go and Rust both prefer cmd when several forms are given. */
	if (cmd && !json_is_null(cmd))
		rc = parse_cmd_form(ctx, path, name, cmd, out);
	else if (grpc && !json_is_null(grpc))
		rc = parse_grpc_form(ctx, path, name, p, grpc, out);
	else if (json_object_get(p, "ttrpc") || json_object_get(p, "native"))
		rc = coco_seterr(ctx, COCOIMG_EUNSUPPORTED, "keyprovider \"%s\": only the \"cmd\" and "
		                 "\"grpc\" invocation forms are supported", name);
	else
		rc = coco_seterr(ctx, COCOIMG_ECONFIG, "keyprovider config %s: provider \"%s\" has "
		                 "neither \"cmd\" nor \"grpc\"", path, name);
	if (!rc && !(out->name = coco_strdup(name)))
		rc = coco_oom(ctx);
	return rc;
}

int coco_kp_lookup(cocoimg_ctx *ctx, const char *name, coco_kp_provider *out)
{
	memset(out, 0, sizeof(*out));
	const char *path = kp_config_path(ctx);
	if (!path)
		return coco_seterr(ctx, COCOIMG_EINVAL,
		                   "keyprovider \"%s\": no keyprovider configuration (set "
		                   "OCICRYPT_KEYPROVIDER_CONFIG)", name);
	json_t *doc;
	int rc = coco_json_load_file(ctx, path, KP_MAX_CONFIG, "keyprovider config", true, &doc);
	if (rc)
		return rc;
	json_t *provs = json_is_object(doc) ? json_object_get(doc, "key-providers") : NULL;
	json_t *p = json_object_get(provs, name);
	if (!json_is_object(provs))
		rc = coco_seterr(ctx, COCOIMG_ECONFIG, "keyprovider config %s: expected an object with "
		                 "a \"key-providers\" object", path);
	else if (!p)
		rc = coco_seterr(ctx, COCOIMG_EINVAL, "keyprovider \"%s\" is not configured in %s",
		                 name, path);
	else
		rc = parse_provider(ctx, path, name, p, out);
	json_decref(doc);
	if (rc)
		coco_kp_provider_clear(out);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Request and response                                                */
/* ------------------------------------------------------------------ */

static int append_b64(coco_buf *out, const unsigned char *data, size_t len)
{
	char *b = coco_b64_encode(data ? data : (const unsigned char *)"", len);
	if (!b)
		return COCOIMG_ENOMEM;
	size_t bl = strlen(b);
	int rc = coco_buf_putc(out, '"') || coco_buf_append(out, b, bl) || coco_buf_putc(out, '"');
	coco_free_secret(b, bl);
	return rc ? COCOIMG_ENOMEM : 0;
}

/* The provider name as a JSON string (escaped by jansson). */
static int append_json_string(coco_buf *out, const char *s)
{
	json_t *j = json_string(s);
	char *t = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	json_decref(j);
	if (!t)
		return COCOIMG_ENOMEM;
	int rc = coco_buf_append(out, t, strlen(t));
	free(t);
	return rc ? COCOIMG_ENOMEM : 0;
}

/*
 * Go's encoding of config.EncryptConfig / DecryptConfig: capitalised
 * field names, parameters as lists of base64 strings.  Built by hand so
 * that the secret parts never sit in jansson's unwiped allocations.
 */
static int append_params(coco_buf *out, const char *name, const char *const *params,
                         size_t n_params)
{
	if (coco_buf_appendf(out, "{\"Parameters\":{") || append_json_string(out, name) ||
	    coco_buf_appendf(out, ":["))
		return COCOIMG_ENOMEM;
	for (size_t i = 0; i < n_params; i++) {
		const char *v = params[i] ? params[i] : "Enabled";
		if ((i && coco_buf_putc(out, ',')) ||
		    append_b64(out, (const unsigned char *)v, strlen(v)))
			return COCOIMG_ENOMEM;
	}
	return coco_buf_appendf(out, "]}}") ? COCOIMG_ENOMEM : 0;
}

int coco_kp_build_request(const char *name, const char *const *params, size_t n_params,
                          bool wrap, const unsigned char *data, size_t len, coco_buf *out)
{
	/* One shape for both: HEAD CONFIG MID base64(data) TAIL, where the
	 * config is the encryption config (keywrap, data the options) or the
	 * decryption config (keyunwrap, data the annotation), the other
	 * half of the message null. */
	const char *head = wrap ? "{\"op\":\"keywrap\",\"keywrapparams\":{\"ec\":"
	                        : "{\"op\":\"keyunwrap\",\"keywrapparams\":{\"ec\":null,"
	                          "\"optsdata\":null},\"keyunwrapparams\":{\"dc\":";
	const char *mid = wrap ? ",\"optsdata\":" : ",\"annotation\":";
	const char *tail = wrap ? "},\"keyunwrapparams\":{\"dc\":null,\"annotation\":null}}" : "}}";
	int rc = coco_buf_appendf(out, "%s", head) || append_params(out, name, params, n_params);
	/* skopeo combines configs, so Go sends an empty DecryptConfig object
	 * in the encryption config (not null, which the Rust servers reject). */
	if (!rc && wrap && out->len && out->data[out->len - 1] == '}') {
		out->len--;
		rc = coco_buf_appendf(out, ",\"DecryptConfig\":{\"Parameters\":{}}}");
	}
	if (rc || coco_buf_appendf(out, "%s", mid) || append_b64(out, data, len) ||
	    coco_buf_appendf(out, "%s", tail))
		return COCOIMG_ENOMEM;
	coco_buf_cstr(out);
	return 0;
}

int coco_kp_parse_response(cocoimg_ctx *ctx, const char *name, bool wrap,
                           const unsigned char *data, size_t len, coco_buf *out)
{
	json_error_t je;
	/* jansson's error text quotes the input: not shown (it may be key
	 * material), only the position. */
	json_t *doc = json_loadb((const char *)data, len, 0, &je);
	if (!doc)
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "keyprovider \"%s\": answer is not valid "
		                   "JSON (line %d column %d)", name, je.line, je.column);
	const char *outer = wrap ? "keywrapresults" : "keyunwrapresults";
	const char *field = wrap ? "annotation" : "optsdata";
	int rc = 0;
	json_t *res = json_is_object(doc) ? json_object_get(doc, outer) : NULL;
	json_t *v = json_is_object(res) ? json_object_get(res, field) : NULL;
	if (!json_is_object(doc)) {
		rc = coco_seterr(ctx, COCOIMG_EBADIMAGE, "keyprovider \"%s\": answer is not a JSON "
		                 "object", name);
	} else if (!v || json_is_null(v)) {
		rc = coco_seterr(ctx, COCOIMG_EBADIMAGE, "keyprovider \"%s\": answer has no %s.%s",
		                 name, outer, field);
	} else {
		size_t before = out->len;
		rc = coco_json_bytes(v, out);
		if (rc == COCOIMG_ENOMEM)
			rc = coco_oom(ctx);
		else if (rc)
			rc = coco_seterr(ctx, COCOIMG_EBADIMAGE, "keyprovider \"%s\": %s.%s must be "
			                 "base64 or an array of byte values", name, outer, field);
		else if (out->len == before)
			rc = coco_seterr(ctx, COCOIMG_EBADIMAGE, "keyprovider \"%s\": answer has an empty "
			                 "%s.%s", name, outer, field);
		if (rc) {
			if (out->data)   /* NULL while nothing was ever appended */
				coco_wipe(out->data + before, out->len - before);
			out->len = before;
		}
	}
	if (v)
		json_bytes_wipe(v);
	json_decref(doc);
	return rc;
}

/* ------------------------------------------------------------------ */
/* gRPC framing (length-prefixed message, protobuf with bytes field 1) */
/* ------------------------------------------------------------------ */

int coco_grpc_frame_encode(const unsigned char *json, size_t len, coco_buf *out)
{
	size_t vl = 1;
	for (uint64_t v = len; v >= 0x80; v >>= 7)
		vl++;
	uint64_t msg = (len ? 1 + vl + len : 0); /* proto3 omits an empty bytes field */
	if (msg > 0xffffffffu)
		return COCOIMG_EINVAL;
	unsigned char hdr[5] = { 0, (unsigned char)(msg >> 24), (unsigned char)(msg >> 16),
	                         (unsigned char)(msg >> 8), (unsigned char)msg };
	if (coco_buf_append(out, hdr, 5))
		return COCOIMG_ENOMEM;
	if (!len)
		return 0;
	return coco_pb_put_bytes(out, 1, json, len);
}

int coco_grpc_frame_decode(const unsigned char *data, size_t len, const unsigned char **json,
                           size_t *json_len)
{
	*json = NULL;
	*json_len = 0;
	if (len < 5 || data[0] != 0)  /* compressed messages were not negotiated */
		return COCOIMG_EBADIMAGE;
	uint64_t ml = ((uint64_t)data[1] << 24) | ((uint64_t)data[2] << 16) |
	              ((uint64_t)data[3] << 8) | data[4];
	if (ml != len - 5)
		return COCOIMG_EBADIMAGE;
	/* field 1 (bytes): the last occurrence wins, as protobuf says; other
	 * fields are skipped */
	coco_pb_reader r = { data + 5, (size_t)ml, 0 };
	coco_pb_field f;
	int got;
	while ((got = coco_pb_next(&r, &f)) > 0) {
		if (f.num == 1 && f.wire == 2) {
			*json = f.data;
			*json_len = f.len;
		}
	}
	return got < 0 ? COCOIMG_EBADIMAGE : 0;
}

/* ------------------------------------------------------------------ */
/* Invocation: cmd                                                     */
/* ------------------------------------------------------------------ */

static long kp_timeout_ms(cocoimg_ctx *ctx)
{
	long s = coco_opt_long(ctx, NULL, "keyprovider-timeout", 60);
	if (s <= 0)
		return 0;
	if (s > 1000000)
		s = 1000000;
	return s * 1000;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/*
 * A cmd provider runs as a child process with the request on its stdin;
 * its stdout (bounded) is the answer, the start of its stderr explains a
 * failure.  The steps: start the child with clean descriptors, exchange
 * (feed stdin, read stdout and stderr until both close or the deadline
 * passes), reap it, and say what the outcome means.
 */

/* Our ends of the child's stdin, stdout and stderr (-1 once closed). */
typedef struct kp_child {
	pid_t pid;
	int in, out, err;
} kp_child;

/* One request and what came back. */
typedef struct kp_exchange {
	const unsigned char *req;
	size_t req_len, sent;
	coco_buf *resp;
	char errbuf[KP_STDERR_KEEP];   /* the start of stderr; wiped after use */
	size_t errlen;
	int64_t deadline;              /* mono_ms(); 0 = none */
	bool timed_out, too_big;
} kp_exchange;

static char **cmd_argv(const coco_kp_provider *p)
{
	size_t nargs = 0;
	while (p->cmd_args && p->cmd_args[nargs])
		nargs++;
	char **argv = calloc(nargs + 2, sizeof(char *));
	if (!argv)
		return NULL;
	argv[0] = p->cmd_path;
	for (size_t i = 0; i < nargs; i++)
		argv[i + 1] = p->cmd_args[i];
	return argv;
}

/* Spawn with the pipes as stdin/stdout/stderr and nothing else inherited. */
static int spawn_child(cocoimg_ctx *ctx, const coco_kp_provider *p, char **argv,
                       const int pin[2], const int pout[2], const int perr[2], pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
	posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
	posix_spawn_file_actions_adddup2(&fa, perr[1], 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
	/* Descriptors the caller or another thread opened without
	 * O_CLOEXEC (sockets, layout locks, key files) stay with us. */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
	/* Own process group, so a timeout kills whatever the provider
	 * started too; default signal handling in the child. */
	sigset_t none, dfl;
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
	                                POSIX_SPAWN_SETSIGDEF);
	int se = posix_spawn(pid, p->cmd_path, &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (se)
		return coco_seterr(ctx, COCOIMG_EIO, "keyprovider \"%s\": cannot run %s: %s", p->name,
		                   p->cmd_path, strerror(se));
	return 0;
}

/* Pipes and the child; our ends non-blocking.  On failure nothing is
 * left open. */
static int start_child(cocoimg_ctx *ctx, const coco_kp_provider *p, kp_child *c)
{
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
	*c = (kp_child){ .pid = -1, .in = -1, .out = -1, .err = -1 };
	char **argv = cmd_argv(p);
	if (!argv)
		return coco_oom(ctx);
	int rc;
	if (pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC) || pipe2(perr, O_CLOEXEC))
		rc = coco_seterr(ctx, COCOIMG_EIO, "keyprovider \"%s\": pipe: %s", p->name,
		                 strerror(errno));
	else
		rc = spawn_child(ctx, p, argv, pin, pout, perr, &c->pid);
	free(argv);
	close_fd(&pin[0]);
	close_fd(&pout[1]);
	close_fd(&perr[1]);
	if (rc) {
		close_fd(&pin[1]);
		close_fd(&pout[0]);
		close_fd(&perr[0]);
		return rc;
	}
	c->in = pin[1];
	c->out = pout[0];
	c->err = perr[0];
	fcntl(c->in, F_SETFL, O_NONBLOCK);
	fcntl(c->out, F_SETFL, O_NONBLOCK);
	fcntl(c->err, F_SETFL, O_NONBLOCK);
	return 0;
}

/* Writing to a provider that exited must not kill us with SIGPIPE: block
 * it on this thread while we talk to the child, then consume any instance
 * we caused. */
typedef struct sigpipe_guard {
	sigset_t pipeset, oldset;
	bool was_pending;
} sigpipe_guard;

static void sigpipe_block(sigpipe_guard *g)
{
	sigemptyset(&g->pipeset);
	sigaddset(&g->pipeset, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &g->pipeset, &g->oldset);
	sigset_t pend;
	sigpending(&pend);
	g->was_pending = sigismember(&pend, SIGPIPE);
}

static void sigpipe_restore(sigpipe_guard *g)
{
	if (!g->was_pending) {
		struct timespec zero = { 0, 0 };
		sigset_t pend;
		sigpending(&pend);
		if (sigismember(&pend, SIGPIPE))
			sigtimedwait(&g->pipeset, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &g->oldset, NULL);
}

static void feed_stdin(kp_child *c, kp_exchange *x)
{
	ssize_t w = write(c->in, x->req + x->sent, x->req_len - x->sent);
	if (w > 0)
		x->sent += (size_t)w;
	if ((w < 0 && errno != EAGAIN && errno != EINTR) || x->sent == x->req_len)
		close_fd(&c->in); /* EPIPE: the provider stopped reading */
}

/* 0 (x->too_big past COCO_KP_MAX_RESPONSE) or COCOIMG_ENOMEM. */
static int read_stdout(cocoimg_ctx *ctx, kp_child *c, kp_exchange *x)
{
	coco_buf *resp = x->resp;
	if (coco_buf_reserve(resp, 65536))
		return coco_oom(ctx);
	ssize_t r = read(c->out, resp->data + resp->len, resp->cap - resp->len - 1);
	if (r > 0) {
		resp->len += (size_t)r;
		x->too_big = resp->len > COCO_KP_MAX_RESPONSE;
	} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
		close_fd(&c->out);
	}
	return 0;
}

/* Keep the first KP_STDERR_KEEP bytes of stderr, drain the rest. */
static void read_stderr(kp_child *c, kp_exchange *x)
{
	char tmp[4096];
	ssize_t r = read(c->err, tmp, sizeof(tmp));
	if (r > 0) {
		size_t take = (size_t)r;
		if (take > sizeof(x->errbuf) - x->errlen)
			take = sizeof(x->errbuf) - x->errlen;
		memcpy(x->errbuf + x->errlen, tmp, take);
		x->errlen += take;
		coco_wipe(tmp, (size_t)r);
	} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
		close_fd(&c->err);
	}
}

/* Wait for the child's pipes (closed ones, fd -1, are ignored by poll)
 * until the deadline: poll's result, or 0 with x->timed_out. */
static int poll_child(const kp_child *c, kp_exchange *x, struct pollfd fds[3])
{
	fds[0] = (struct pollfd){ .fd = c->in, .events = POLLOUT };
	fds[1] = (struct pollfd){ .fd = c->out, .events = POLLIN };
	fds[2] = (struct pollfd){ .fd = c->err, .events = POLLIN };
	int wait_ms = -1;
	if (x->deadline) {
		int64_t left = x->deadline - mono_ms();
		if (left <= 0) {
			x->timed_out = true;
			return 0;
		}
		wait_ms = (int)left;
	}
	/* in slices, so that a stop request is seen */
	if (wait_ms < 0 || wait_ms > COCO_STOP_SLICE_MS)
		wait_ms = COCO_STOP_SLICE_MS;
	return poll(fds, 3, wait_ms);
}

/* Feed stdin and read stdout/stderr until the child closes both outputs,
 * the deadline passes or the answer is too big. */
static int exchange(cocoimg_ctx *ctx, const coco_kp_provider *p, kp_child *c, kp_exchange *x)
{
	if (x->req_len == 0)
		close_fd(&c->in);
	while (c->out >= 0 || c->err >= 0) {
		struct pollfd fds[3];
		int n = poll_child(c, x, fds);
		if (x->timed_out)
			return 0;
		int stop = coco_check_stop(ctx);
		if (stop)
			return stop;       /* the child is killed by the caller */
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return coco_seterr(ctx, COCOIMG_EIO, "keyprovider \"%s\": poll: %s", p->name,
			                   strerror(errno));
		if (fds[0].revents && c->in >= 0)
			feed_stdin(c, x);
		if (fds[1].revents && c->out >= 0) {
			int rc = read_stdout(ctx, c, x);
			if (rc || x->too_big)
				return rc;
		}
		if (fds[2].revents && c->err >= 0)
			read_stderr(c, x);
	}
	return 0;
}

static void kill_and_reap(pid_t pid, int *status)
{
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
}

/* Collect the child's exit status.  Once its output closed it is exiting;
 * the wait is still bounded by the deadline (then x->timed_out). */
static void reap(const kp_child *c, kp_exchange *x, bool kill_now, int *status)
{
	if (kill_now) {
		kill_and_reap(c->pid, status);
		return;
	}
	for (;;) {
		pid_t w = waitpid(c->pid, status, WNOHANG);
		if (w == c->pid || (w < 0 && errno != EINTR))
			return;
		if (x->deadline && mono_ms() >= x->deadline) {
			x->timed_out = true;
			kill_and_reap(c->pid, status);
			return;
		}
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

/* What the run means: 0, or an error naming the provider with a short,
 * redacted line of its stderr. */
static int cmd_outcome(cocoimg_ctx *ctx, const coco_kp_provider *p, const kp_exchange *x,
                       int status, long tmo)
{
	char why[256];
	redact_line(x->errbuf, x->errlen, why, sizeof(why));
	if (x->timed_out)
		return coco_seterr(ctx, COCOIMG_EIO, "keyprovider \"%s\": %s timed out after %ld s "
		                   "(keyprovider-timeout)", p->name, p->cmd_path, tmo / 1000);
	if (x->too_big)
		return coco_seterr(ctx, COCOIMG_EIO, "keyprovider \"%s\": %s wrote more than %d bytes",
		                   p->name, p->cmd_path, COCO_KP_MAX_RESPONSE);
	if (WIFSIGNALED(status))
		return coco_seterr(ctx, COCOIMG_EIO, "keyprovider \"%s\": %s killed by signal %d%s%s",
		                   p->name, p->cmd_path, WTERMSIG(status), *why ? ": " : "", why);
	if (WIFEXITED(status) && WEXITSTATUS(status))
		return coco_seterr(ctx, COCOIMG_EIO, "keyprovider \"%s\": %s exited with status %d%s%s",
		                   p->name, p->cmd_path, WEXITSTATUS(status), *why ? ": " : "", why);
	return 0;
}

static int run_cmd(cocoimg_ctx *ctx, const coco_kp_provider *p, const unsigned char *req,
                   size_t req_len, coco_buf *resp)
{
	long tmo = kp_timeout_ms(ctx);
	kp_child c;
	int rc = start_child(ctx, p, &c);
	if (rc)
		return rc;
	kp_exchange x = { .req = req, .req_len = req_len, .resp = resp };
	sigpipe_guard g;
	sigpipe_block(&g);
	x.deadline = tmo ? mono_ms() + tmo : 0;
	rc = exchange(ctx, p, &c, &x);
	close_fd(&c.in);
	close_fd(&c.out);
	close_fd(&c.err);
	int status = 0;
	reap(&c, &x, x.timed_out || x.too_big || rc, &status);
	sigpipe_restore(&g);
	if (!rc)
		rc = cmd_outcome(ctx, p, &x, status, tmo);
	coco_wipe(x.errbuf, sizeof(x.errbuf));
	return rc;
}

/* ------------------------------------------------------------------ */
/* Invocation: grpc (unary call over cleartext HTTP/2 via libcurl)     */
/* ------------------------------------------------------------------ */


struct grpc_rx {
	coco_buf *body;
	bool too_big;
	int status;                /* grpc-status, -1 = none seen */
	char message[256];         /* grpc-message, percent-decoded, redacted */
};

static size_t grpc_write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct grpc_rx *rx = ud;
	size_t n = size * nmemb;
	if (rx->body->len + n > COCO_KP_MAX_RESPONSE + 5) {
		rx->too_big = true;
		return 0;
	}
	return coco_buf_append(rx->body, ptr, n) ? 0 : n;
}

/* grpc-status: a decimal code; anything unparseable is UNKNOWN (2). */
static int parse_grpc_status(const char *v, size_t n)
{
	size_t i = 0;
	while (i < n && v[i] == ' ')
		i++;
	int code = 0;
	bool any = false;
	while (i < n && v[i] >= '0' && v[i] <= '9' && code < 100000) {
		code = code * 10 + (v[i++] - '0');
		any = true;
	}
	return any ? code : 2;
}

/* grpc-message: percent-decoded, then redacted into out. */
static void parse_grpc_message(const char *v, size_t n, char *out, size_t outsz)
{
	char dec[512];
	size_t o = 0, i = 0;
	while (i < n && v[i] == ' ')
		i++;
	for (; i < n && o + 1 < sizeof(dec); i++) {
		unsigned char byte;
		if (v[i] == '%' && i + 2 < n && coco_hex_decode(v + i + 1, 2, &byte) == 0) {
			dec[o++] = (char)byte;
			i += 2;
		} else {
			dec[o++] = v[i];
		}
	}
	redact_line(dec, o, out, outsz);
	coco_wipe(dec, sizeof(dec));
}

static size_t grpc_header_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct grpc_rx *rx = ud;
	size_t n = size * nmemb;
	/* Headers and, with HTTP/2, trailers arrive here line by line. */
	if (n > 12 && !strncasecmp(ptr, "grpc-status:", 12))
		rx->status = parse_grpc_status(ptr + 12, n - 12);
	else if (n > 13 && !strncasecmp(ptr, "grpc-message:", 13))
		parse_grpc_message(ptr + 13, n - 13, rx->message, sizeof(rx->message));
	return n;
}

static const char *grpc_code_name(int s)
{
	static const char *const names[] = {
		"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
		"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
		"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
		"UNAUTHENTICATED",
	};
	return s >= 0 && (size_t)s < COCO_ARRAY_SIZE(names) ? names[s] : "status";
}

/* The request URL (and, for unix://PATH, the socket) of a gRPC provider. */
static int grpc_target(cocoimg_ctx *ctx, const coco_kp_provider *p, const char *method,
                       char **url, char **unix_path)
{
	const char *addr = p->grpc;
	*url = *unix_path = NULL;
	if (!strncmp(addr, "unix://", 7)) {
		*unix_path = coco_strdup(addr + 7);
		*url = coco_asprintf("http://localhost/keyprovider.KeyProviderService/%s", method);
		return *url && *unix_path ? 0 : coco_oom(ctx);
	}
	if (!strncmp(addr, "http://", 7))
		addr += 7;
	else if (!strncmp(addr, "tcp://", 6))
		addr += 6;
	else if (strstr(addr, "://"))
		return coco_seterr(ctx, COCOIMG_EUNSUPPORTED, "keyprovider \"%s\": unsupported "
		                   "gRPC address scheme in \"%s\"", p->name, p->grpc);
	size_t al = strlen(addr);
	while (al && addr[al - 1] == '/')
		al--;
	*url = coco_asprintf("http://%.*s/keyprovider.KeyProviderService/%s", (int)al, addr, method);
	return *url ? 0 : coco_oom(ctx);
}

/* The request headers of a gRPC call; NULL when out of memory. */
static struct curl_slist *grpc_headers(void)
{
	static const char *const lines[] = {
		"Content-Type: application/grpc", "TE: trailers", "Expect:", "Accept:",
	};
	struct curl_slist *hdrs = NULL;
	for (size_t i = 0; i < COCO_ARRAY_SIZE(lines); i++) {
		struct curl_slist *t = curl_slist_append(hdrs, lines[i]);
		if (!t) {
			curl_slist_free_all(hdrs);
			return NULL;
		}
		hdrs = t;
	}
	return hdrs;
}

/* A unary call over cleartext HTTP/2 (prior knowledge), no proxy. */
static void grpc_setup(cocoimg_ctx *ctx, CURL *h, const char *url, const char *unix_path,
                       const coco_buf *body, struct curl_slist *hdrs, struct grpc_rx *rx,
                       char *cerr)
{
	long tmo = kp_timeout_ms(ctx);
	curl_easy_setopt(h, CURLOPT_URL, url);
	if (unix_path)
		curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, unix_path);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTP);
#endif
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)body->data);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "coco-img/" COCOIMG_VERSION_STRING);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, grpc_write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, rx);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, grpc_header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, rx);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	if (tmo)
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, tmo);
	coco_curl_watch_stop(h, ctx);
}

/* What the transfer means: 0 with the answer's JSON alone in resp, or an
 * error naming the provider. */
static int grpc_outcome(cocoimg_ctx *ctx, const coco_kp_provider *p, const char *method,
                        CURLcode cc, long http, const struct grpc_rx *rx, const char *cerr,
                        coco_buf *resp)
{
	if (cc == CURLE_ABORTED_BY_CALLBACK && coco_check_stop(ctx))
		return COCOIMG_ECANCELLED;  /* recorded */
	if (rx->too_big)
		return coco_seterr(ctx, COCOIMG_ENET, "keyprovider \"%s\": gRPC answer larger than %d "
		                   "bytes", p->name, COCO_KP_MAX_RESPONSE);
	if (cc != CURLE_OK)
		return coco_seterr(ctx, COCOIMG_ENET, "keyprovider \"%s\": gRPC call to %s failed: %s",
		                   p->name, p->grpc, *cerr ? cerr : curl_easy_strerror(cc));
	if (http != 200)
		return coco_seterr(ctx, COCOIMG_ENET, "keyprovider \"%s\": gRPC server %s answered "
		                   "HTTP %ld", p->name, p->grpc, http);
	if (rx->status < 0)
		return coco_seterr(ctx, COCOIMG_ENET, "keyprovider \"%s\": gRPC answer from %s without "
		                   "grpc-status", p->name, p->grpc);
	if (rx->status != 0)
		return coco_seterr(ctx, COCOIMG_ENET, "keyprovider \"%s\": %s failed with gRPC %s "
		                   "(%d)%s%s", p->name, method, grpc_code_name(rx->status), rx->status,
		                   *rx->message ? ": " : "", rx->message);
	const unsigned char *msg;
	size_t ml;
	if (coco_grpc_frame_decode(resp->data, resp->len, &msg, &ml))
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "keyprovider \"%s\": malformed gRPC "
		                   "answer message", p->name);
	memmove(resp->data, msg ? msg : resp->data, ml);
	coco_wipe(resp->data + ml, resp->len - ml);
	resp->len = ml;
	return 0;
}

static int run_grpc(cocoimg_ctx *ctx, const coco_kp_provider *p, bool wrap,
                    const unsigned char *req, size_t req_len, coco_buf *resp)
{
	const char *method = wrap ? "WrapKey" : "UnWrapKey";
	char *unix_path = NULL, *url = NULL;
	coco_buf body = COCO_BUF_INIT;
	struct curl_slist *hdrs = NULL;
	CURL *h = NULL;
	int rc = grpc_target(ctx, p, method, &url, &unix_path);
	if (rc)
		goto out;
	if (coco_grpc_frame_encode(req, req_len, &body)) {
		rc = coco_oom(ctx);
		goto out;
	}
	if ((rc = coco_curl_global_init(ctx)))
		goto out;
	h = curl_easy_init();
	hdrs = grpc_headers();
	if (!h || !hdrs) {
		rc = coco_oom(ctx);
		goto out;
	}
	struct grpc_rx rx = { .body = resp, .status = -1 };
	char cerr[CURL_ERROR_SIZE] = "";
	grpc_setup(ctx, h, url, unix_path, &body, hdrs, &rx, cerr);
	CURLcode cc = curl_easy_perform(h);
	long http = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http);
	rc = grpc_outcome(ctx, p, method, cc, http, &rx, cerr, resp);
out:
	if (h)
		curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	coco_buf_wipe_free(&body);
	free(url);
	free(unix_path);
	return rc;
}

int coco_kp_call(cocoimg_ctx *ctx, const coco_kp_provider *p, bool wrap,
                 const unsigned char *req, size_t req_len, coco_buf *resp)
{
	int rc;
	if (p->cmd_path)
		rc = run_cmd(ctx, p, req, req_len, resp);
	else if (p->grpc)
		rc = run_grpc(ctx, p, wrap, req, req_len, resp);
	else
		rc = coco_seterr(ctx, COCOIMG_EINTERNAL, "keyprovider \"%s\": no invocation method",
		                 p->name ? p->name : "?");
	if (rc) {
		coco_wipe(resp->data, resp->len);
		resp->len = 0;
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* The calls installed in keyrings (coco_provider_ops, image_crypt.c)  */
/* ------------------------------------------------------------------ */

int coco_kp_open(cocoimg_ctx *ctx, void *payload, const char *name, void **handle)
{
	(void)payload;
	*handle = NULL;
	coco_kp_provider *p = calloc(1, sizeof(*p));
	if (!p)
		return coco_oom(ctx);
	int rc = coco_kp_lookup(ctx, name, p);
	if (rc) {
		free(p);
		return rc;
	}
	*handle = p;
	return 0;
}

int coco_kp_invoke(cocoimg_ctx *ctx, void *handle, bool wrap, const char *const *params,
                   size_t n_params, const unsigned char *data, size_t len, coco_buf *out)
{
	const coco_kp_provider *p = handle;
	coco_buf req = COCO_BUF_INIT, resp = COCO_BUF_INIT;
	int rc;
	if (coco_kp_build_request(p->name, params, n_params, wrap, data, len, &req))
		rc = coco_oom(ctx);
	else
		rc = coco_kp_call(ctx, p, wrap, req.data, req.len, &resp);
	if (!rc)
		rc = coco_kp_parse_response(ctx, p->name, wrap, resp.data, resp.len, out);
	coco_buf_wipe_free(&req);
	coco_buf_wipe_free(&resp);
	return rc;
}

void coco_kp_close(void *handle)
{
	coco_kp_provider_clear(handle);
	free(handle);
}
