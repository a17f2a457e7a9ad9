/*
 * rescb: unpack an image with every resource supplied by the runtime's
 * resource callback (cocoimg_ctx_set_resource_cb), the way a runtime with
 * its own KBS client would.  The callback serves the entries of an
 * offline_fs_kbc-shaped JSON file it reads itself and counts its calls.
 *
 *   rescb RESOURCES IMAGE ROOTFS POLICY-URI AUTH-URI REGD-URI CERT-DIR [KEY]
 *
 * Prints "calls URI N" for every URI asked; exit status as coco-img's.
 * When ROOTFS is oci:DIR:TAG the image is copied there decrypted instead
 * (cocoimg_copy in decrypt mode with no keyring: the callback's keys).
 */
#include <cocoimg.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SEEN 32

typedef struct served {
	json_t *res;
	char *seen[MAX_SEEN];
	int calls[MAX_SEEN];
	int n;
} served;

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

/* Standard base64 into out (capacity len * 3 / 4 + 3); returns length. */
static size_t b64dec(const char *in, unsigned char *out)
{
	size_t n = 0;
	unsigned acc = 0;
	int bits = 0;
	for (; *in && *in != '='; in++) {
		int v = b64val((unsigned char)*in);
		if (v < 0)
			continue;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	return n;
}

static void count(served *s, const char *uri)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->seen[i], uri)) {
			s->calls[i]++;
			return;
		}
	if (s->n < MAX_SEEN) {
		s->seen[s->n] = strdup(uri);
		s->calls[s->n++] = 1;
	}
}

static int resource_cb(const char *uri, cocoimg_resource *res, void *payload)
{
	served *s = payload;
	count(s, uri);
	if (strncmp(uri, "kbs:///", 7))
		return 1;
	const char *b64 = json_string_value(json_object_get(s->res, uri + 7));
	if (!b64) {
		cocoimg_resource_set_message(res, "this runtime has no such resource");
		return 1;
	}
	unsigned char *buf = malloc(strlen(b64) + 4);
	if (!buf)
		return 1;
	size_t n = b64dec(b64, buf);
	int rc = cocoimg_resource_set_data(res, buf, n);
	memset(buf, 0, n);
	free(buf);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 8) {
		fprintf(stderr, "usage: rescb RESOURCES IMAGE ROOTFS POLICY AUTH REGD CERT-DIR [KEY]\n");
		return 2;
	}
	served s;
	memset(&s, 0, sizeof(s));
	s.res = json_load_file(argv[1], 0, NULL);
	if (!s.res)
		return 2;
	cocoimg_ctx *ctx;
	if (cocoimg_ctx_new(&ctx))
		return 1;
	cocoimg_ctx_set(ctx, "policy", argv[4]);
	cocoimg_ctx_set(ctx, "authfile", argv[5]);
	cocoimg_ctx_set(ctx, "registries.d", argv[6]);
	cocoimg_ctx_set(ctx, "cert-dir", argv[7]);
	cocoimg_ctx_set_resource_cb(ctx, resource_cb, &s);
	cocoimg_keyring *kr = NULL;
	int rc = 0;
	if (argc > 8) {
		cocoimg_keyring_new(&kr);
		rc = cocoimg_keyring_add_decryption_key(ctx, kr, argv[8]);
	}
	cocoimg_unpack_options o = COCOIMG_UNPACK_OPTIONS_INIT;
	o.verify = 1;
	o.keyring = kr;   /* NULL: the library makes one that asks the callback */
	cocoimg_copy_options co = COCOIMG_COPY_OPTIONS_INIT;
	co.crypt_mode = COCOIMG_CRYPT_DECRYPT;
	co.keys = kr;     /* likewise */
	if (!rc && !strncmp(argv[3], "oci:", 4))
		rc = cocoimg_copy(ctx, argv[2], argv[3], &co, NULL);
	else if (!rc)
		rc = cocoimg_unpack(ctx, argv[2], argv[3], &o, NULL);
	if (rc)
		fprintf(stderr, "rescb: %s\n", cocoimg_ctx_last_error(ctx));
	for (int i = 0; i < s.n; i++) {
		printf("calls %s %d\n", s.seen[i], s.calls[i]);
		free(s.seen[i]);
	}
	cocoimg_keyring_free(kr);
	cocoimg_ctx_free(ctx);
	json_decref(s.res);
	return cocoimg_error_exit_code(rc);
}
