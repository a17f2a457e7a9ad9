/*
 * libcocoimg broker/: a minimal unary ttrpc client over unix sockets and
 * the protobuf pieces it needs.  Written from containerd/ttrpc PROTOCOL.md
 * (frame header, stream ids, message types) and its request.proto
 * (Request, Response, google.rpc.Status); see ttrpc.h.
 */
#include "ttrpc.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ---- ttrpc messages ----------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

int coco_ttrpc_header_parse(const unsigned char h[COCO_TTRPC_HEADER], uint32_t *len,
                            uint32_t *stream, uint8_t *type, uint8_t *flags)
{
	*len = be32(h);
	*stream = be32(h + 4);
	*type = h[8];
	*flags = h[9];
	return *len > COCO_TTRPC_MAX ? COCOIMG_EBADIMAGE : 0;
}

int coco_ttrpc_request_encode(uint32_t stream, const char *service, const char *method,
                              const unsigned char *payload, size_t len, uint64_t timeout_ns,
                              coco_buf *out)
{
	size_t start = out->len;
	unsigned char hdr[COCO_TTRPC_HEADER] = { 0 };
	if (len > COCO_TTRPC_MAX)
		return COCOIMG_EINVAL;
	if (coco_buf_append(out, hdr, sizeof(hdr)) ||
	    coco_pb_put_bytes(out, 1, service, strlen(service)) ||
	    coco_pb_put_bytes(out, 2, method, strlen(method)) ||
	    coco_pb_put_bytes(out, 3, payload, len) ||
	    (timeout_ns && coco_pb_put_uint(out, 4, timeout_ns))) {
		out->len = start;
		return COCOIMG_ENOMEM;
	}
	size_t msg = out->len - start - COCO_TTRPC_HEADER;
	if (msg > COCO_TTRPC_MAX) {
		out->len = start;
		return COCOIMG_EINVAL;
	}
	put_be32(out->data + start, (uint32_t)msg);
	put_be32(out->data + start + 4, stream);
	out->data[start + 8] = COCO_TTRPC_REQUEST;
	out->data[start + 9] = 0;
	return 0;
}

/* google.rpc.Status {code=1 int32, message=2 string, details=3}. */
static int status_decode(const unsigned char *data, size_t len, coco_ttrpc_response *out)
{
	coco_pb_reader r = { data, len, 0 };
	coco_pb_field f;
	int got;
	while ((got = coco_pb_next(&r, &f)) > 0) {
		if (f.num == 1 && f.wire == 0) {
			out->code = (int32_t)(uint32_t)f.v;
		} else if (f.num == 2 && f.wire == 2) {
			out->msg = f.data;
			out->msg_len = f.len;
		} else if (f.num <= 2) {
			return COCOIMG_EBADIMAGE;
		}
	}
	return got < 0 ? COCOIMG_EBADIMAGE : 0;
}

int coco_ttrpc_response_decode(const unsigned char *data, size_t len, coco_ttrpc_response *out)
{
	coco_pb_reader r = { data, len, 0 };
	coco_pb_field f;
	int got;
	memset(out, 0, sizeof(*out));
	while ((got = coco_pb_next(&r, &f)) > 0) {
		if ((f.num == 1 || f.num == 2) && f.wire != 2)
			return COCOIMG_EBADIMAGE;
		if (f.num == 1 && status_decode(f.data, f.len, out))
			return COCOIMG_EBADIMAGE;
		if (f.num == 2) {
			out->payload = f.data;
			out->payload_len = f.len;
		}
	}
	return got < 0 ? COCOIMG_EBADIMAGE : 0;
}

/* ---- the call ------------------------------------------------------------ */

char *coco_ttrpc_socket_path(cocoimg_ctx *ctx, const char *addr)
{
	const char *p = addr;
	if (!strncmp(addr, "unix://", 7))
		p = addr + 7;
	if (!*p || *p == '@' || strlen(p) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		coco_seterr(ctx, COCOIMG_EINVAL,
		            "%s: not a unix socket address (unix:///PATH or PATH)", addr);
		return NULL;
	}
	char *s = coco_strdup(p);
	if (!s)
		coco_oom(ctx);
	return s;
}

typedef struct call {
	cocoimg_ctx *ctx;
	const char *path;
	const char *service;
	const char *method;
	int fd;
	uint64_t deadline;         /* coco_now_ns() value, 0: none */
} call;

static int call_err(call *c, int code, const char *what)
{
	return coco_seterr(c->ctx, code, "ttrpc %s/%s at %s: %s", c->service, c->method, c->path,
	                   what);
}

/* Wait for fd to be ready for events within the deadline. */
static int call_wait(call *c, short events)
{
	int ms = -1;
	if (c->deadline) {
		uint64_t now = coco_now_ns();
		if (now >= c->deadline)
			return call_err(c, COCOIMG_ENET, "timed out");
		ms = (int)((c->deadline - now) / 1000000) + 1;
	}
	struct pollfd pfd = { c->fd, events, 0 };
	int n;
	do {
		/* in slices, so that a stop request is seen */
		int stop = coco_check_stop(c->ctx);
		if (stop)
			return stop;
		int slice = ms < 0 || ms > COCO_STOP_SLICE_MS ? COCO_STOP_SLICE_MS : ms;
		n = poll(&pfd, 1, slice);
		if (n == 0 && ms >= 0)
			ms -= slice;
	} while ((n < 0 && errno == EINTR) || (n == 0 && ms != 0));
	if (n == 0)
		return call_err(c, COCOIMG_ENET, "timed out");
	if (n < 0)
		return call_err(c, COCOIMG_ENET, strerror(errno));
	return 0;
}

static int call_connect(call *c)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, c->path, strlen(c->path));
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return call_err(c, COCOIMG_ENET, strerror(errno));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		char msg[160];
		snprintf(msg, sizeof(msg), "cannot connect: %s", strerror(errno));
		return call_err(c, COCOIMG_ENET, msg);
	}
	return 0;
}

static int call_send(call *c, const unsigned char *p, size_t n)
{
	while (n) {
		int rc = call_wait(c, POLLOUT);
		if (rc)
			return rc;
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (w < 0)
			return call_err(c, COCOIMG_ENET, strerror(errno));
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int call_recv(call *c, unsigned char *p, size_t n)
{
	while (n) {
		int rc = call_wait(c, POLLIN);
		if (rc)
			return rc;
		ssize_t r = recv(c->fd, p, n, MSG_DONTWAIT);
		if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (r < 0)
			return call_err(c, COCOIMG_ENET, strerror(errno));
		if (r == 0)
			return call_err(c, COCOIMG_ENET, "connection closed before the response");
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Read the response frame into msg. */
static int call_read_response(call *c, coco_buf *msg)
{
	unsigned char h[COCO_TTRPC_HEADER];
	uint32_t len, stream;
	uint8_t type, flags;
	int rc = call_recv(c, h, sizeof(h));
	if (rc)
		return rc;
	if (coco_ttrpc_header_parse(h, &len, &stream, &type, &flags))
		return call_err(c, COCOIMG_EBADIMAGE, "response frame larger than 4 MiB");
	if (type != COCO_TTRPC_RESPONSE || stream != 1 || flags)
		return call_err(c, COCOIMG_EBADIMAGE, "unexpected frame (not the response of stream 1)");
	if (coco_buf_reserve(msg, len ? len : 1))
		return coco_oom(c->ctx);
	rc = call_recv(c, msg->data, len);
	if (!rc)
		msg->len = len;
	return rc;
}

static int status_code_error(int64_t code)
{
	switch (code) {
	case 5:
		return COCOIMG_ENOTFOUND;
	case 7:
	case 16:
		return COCOIMG_EAUTH;
	case 12:
		return COCOIMG_EUNSUPPORTED;
	default:
		return COCOIMG_ENET;
	}
}

/* Record a non-OK status: the peer's message, printable ASCII only and
 * shortened (it names the failure, not secrets, in CDH and the AA). */
static int call_status(call *c, const coco_ttrpc_response *r)
{
	char text[200];
	size_t n = 0;
	for (size_t i = 0; i < r->msg_len && n + 1 < 120; i++) {
		unsigned char ch = r->msg[i];
		text[n++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	text[n] = 0;
	char what[260];
	snprintf(what, sizeof(what), "status %lld%s%s%s", (long long)r->code, n ? " (" : "",
	         text, n ? ")" : "");
	return call_err(c, status_code_error(r->code), what);
}

static int call_run(call *c, const unsigned char *payload, size_t len, long timeout_ms,
                    coco_buf *out)
{
	coco_buf req = COCO_BUF_INIT, msg = COCO_BUF_INIT;
	uint64_t tns = timeout_ms > 0 ? (uint64_t)timeout_ms * 1000000u : 0;
	int rc = coco_ttrpc_request_encode(1, c->service, c->method, payload, len, tns, &req);
	if (rc == COCOIMG_EINVAL)
		rc = call_err(c, rc, "request larger than 4 MiB");
	else if (rc)
		rc = coco_oom(c->ctx);
	if (!rc)
		rc = call_connect(c);
	if (!rc)
		rc = call_send(c, req.data, req.len);
	if (!rc)
		rc = call_read_response(c, &msg);
	coco_ttrpc_response resp;
	if (!rc && coco_ttrpc_response_decode(msg.data, msg.len, &resp))
		rc = call_err(c, COCOIMG_EBADIMAGE, "malformed response");
	if (!rc && resp.code)
		rc = call_status(c, &resp);
	if (!rc && resp.payload_len && coco_buf_append(out, resp.payload, resp.payload_len))
		rc = coco_oom(c->ctx);
	coco_buf_wipe_free(&req);
	coco_buf_wipe_free(&msg);
	return rc;
}

int coco_ttrpc_call(cocoimg_ctx *ctx, const char *path, const char *service, const char *method,
                    const unsigned char *payload, size_t len, long timeout_ms, coco_buf *out)
{
	call c = { ctx, path, service, method, -1, 0 };
	if (timeout_ms > 0)
		c.deadline = coco_now_ns() + (uint64_t)timeout_ms * 1000000u;
	int rc = call_run(&c, payload, len, timeout_ms, out);
	if (c.fd >= 0)
		close(c.fd);
	return rc;
}
