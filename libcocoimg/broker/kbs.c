/*
 * A KBS client: the Trustee attestation protocol (RCAR: request,
 * challenge, attestation, response), then resource GETs (see kbs.h).
 *
 * Facts taken from the reference sources (they win over any summary):
 * - confidential-containers/trustee kbs/docs/kbs_attestation_protocol.md
 *   and kbs/src/attestation/backend.rs (commit 78962cd4, 2026-08): the KBS
 *   accepts exactly protocol version 0.4.0; /auth answers the Challenge
 *   with a "kbs-session-id" cookie that /attest requires; the attest answer
 *   is {"token": JWT}; resource GETs are authorized by the session cookie
 *   or, failing that, an "Authorization: Bearer" token; policy denials and
 *   missing resources answer 401 (the document's 403/404 cases are what
 *   other KBS implementations may send).
 * - The KBS recomputes the runtime data of the primary evidence as
 *   {"tee-pubkey", "nonce", "additional-evidence"} (the document's
 *   summary names only nonce and tee-pubkey) and hashes its RFC 8785
 *   canonical JSON (serde_json_canonicalizer) with SHA-384 unless the
 *   challenge's extra-params select another ("selected-hash-algorithm");
 *   guest-components attestation-agent/kbs_protocol/src/client/
 *   rcar_client.rs (commit 8246e5e0) does the same on the client side,
 *   with "additional-evidence" "" when there are no device attesters, and
 *   offers {"supported-hash-algorithms": [...]} in the Request.
 * - kbs_types: the TEE key is a JWK {kty, crv, alg, x, y} (alg
 *   "ECDH-ES+A256KW") or {kty, alg, n, e} (alg "RSA-OAEP-256"); a
 *   Response is {protected, encrypted_key, [aad], iv, ciphertext, tag}
 *   in base64url, A256GCM with the protected text as AAD.
 * The token is opaque to this client (cli.md): its signature is not
 * checked; its "exp" claim, when readable, only triggers re-attestation
 * before it is refused.
 */
#include "attester.h"
#include "kbs.h"
#include "../base.h"
#include "../digest.h"
#include "../json.h"
#include "../jwk.h"


#include <curl/curl.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define KBS_PREFIX "/kbs/v0"
#define COOKIE_NAME "kbs-session-id"
#define COOKIE_MAX 1024
#define TOKEN_MAX (64 * 1024)

struct coco_kbs {
	cocoimg_ctx *ctx;
	char *url;                 /* without trailing '/' */
	char *ca_file;
	coco_attester *attester;
	coco_kbs_key_type key_type;
	EVP_PKEY *key;             /* TEE key pair (NULL until the first attestation) */
	json_t *jwk;               /* its public JWK with "alg" */
	char *token;               /* attestation token (secret) */
	char *cookie;              /* session id (secret) */
	unsigned attestations;
	long timeout;              /* seconds per request, 0 = none */
	CURL *curl;                /* one handle: connections are reused */
};

/* ------------------------------------------------------------------ */
/* Canonical JSON (RFC 8785) of objects and strings                    */
/* ------------------------------------------------------------------ */

/* Next UTF-16 code unit of a UTF-8 string for ordering: code points
 * above U+FFFF sort as their high surrogate (0xD800..0xDBFF). */
static unsigned utf16_key(const unsigned char **p)
{
	const unsigned char *s = *p;
	unsigned cp;
	int n;
	if (s[0] < 0x80) {
		cp = s[0];
		n = 1;
	} else if ((s[0] & 0xE0) == 0xC0) {
		cp = s[0] & 0x1Fu;
		n = 2;
	} else if ((s[0] & 0xF0) == 0xE0) {
		cp = s[0] & 0x0Fu;
		n = 3;
	} else {
		cp = s[0] & 0x07u;
		n = 4;
	}
	for (int i = 1; i < n && s[i]; i++)
		cp = (cp << 6) | (s[i] & 0x3Fu);
	for (int i = 0; i < n && **p; i++)
		(*p)++;
	return cp >= 0x10000 ? 0xD800 + ((cp - 0x10000) >> 10) : cp;
}

static int jcs_keycmp(const void *a, const void *b)
{
	const unsigned char *x = *(const unsigned char *const *)a;
	const unsigned char *y = *(const unsigned char *const *)b;
	while (*x && *y) {
		unsigned cx = utf16_key(&x), cy = utf16_key(&y);
		if (cx != cy)
			return cx < cy ? -1 : 1;
	}
	return *x ? 1 : *y ? -1 : 0;
}

static int jcs_string(const char *s, size_t n, coco_buf *out)
{
	if (coco_buf_putc(out, '"'))
		return COCOIMG_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b"
		                : c == '\f' ? "\\f" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
		                : c == '\t' ? "\\t" : NULL;
		int rc = esc ? coco_buf_append(out, esc, 2)
		       : c < 0x20 ? coco_buf_appendf(out, "\\u%04x", c) : coco_buf_putc(out, (char)c);
		if (rc)
			return COCOIMG_ENOMEM;
	}
	return coco_buf_putc(out, '"') ? COCOIMG_ENOMEM : 0;
}

static int jcs_object(json_t *v, coco_buf *out)
{
	size_t n = json_object_size(v), i = 0;
	const char **keys = calloc(n ? n : 1, sizeof(*keys));
	if (!keys)
		return COCOIMG_ENOMEM;
	const char *k;
	json_t *m;
	json_object_foreach(v, k, m)
		keys[i++] = k;
	qsort(keys, n, sizeof(*keys), jcs_keycmp);
	int rc = coco_buf_putc(out, '{') ? COCOIMG_ENOMEM : 0;
	for (i = 0; !rc && i < n; i++) {
		if (i && coco_buf_putc(out, ','))
			rc = COCOIMG_ENOMEM;
		if (!rc)
			rc = jcs_string(keys[i], strlen(keys[i]), out);
		if (!rc && coco_buf_putc(out, ':'))
			rc = COCOIMG_ENOMEM;
		if (!rc)
			rc = coco_jcs_append(json_object_get(v, keys[i]), out);
	}
	if (!rc && coco_buf_putc(out, '}'))
		rc = COCOIMG_ENOMEM;
	free(keys);
	return rc;
}

int coco_jcs_append(json_t *v, coco_buf *out)
{
	if (json_is_string(v))
		return jcs_string(json_string_value(v), json_string_length(v), out);
	if (json_is_object(v))
		return jcs_object(v, out);
	return COCOIMG_EINVAL;
}

int coco_kbs_report_data(const char *nonce, json_t *tee_pubkey, const char *hash,
                         unsigned char out[64], size_t *len)
{
	const EVP_MD *md = coco_evp_md_by_name(hash);
	json_t *rt = json_pack("{s:s, s:s, s:O}", "additional-evidence", "", "nonce", nonce,
	                       "tee-pubkey", tee_pubkey);
	coco_buf c = COCO_BUF_INIT;
	int rc = !md ? COCOIMG_EINVAL : !rt ? COCOIMG_ENOMEM : coco_jcs_append(rt, &c);
	unsigned int mdlen = 0;
	if (!rc && !EVP_Digest(c.data, c.len, out, &mdlen, md, NULL))
		rc = COCOIMG_EINTERNAL;
	*len = mdlen;
	json_decref(rt);
	coco_buf_free(&c);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Parsing what the KBS sends                                          */
/* ------------------------------------------------------------------ */

/* The challenge's selected hash: absent -> sha384 (upstream default). */
static int challenge_hash(cocoimg_ctx *ctx, json_t *extra, const char **hash)
{
	*hash = "sha384";
	json_t *sel = json_is_object(extra) ? json_object_get(extra, "selected-hash-algorithm") : NULL;
	if (!sel)
		return 0;
	static const char *const known[] = { "sha256", "sha384", "sha512" };
	for (size_t i = 0; json_is_string(sel) && i < COCO_ARRAY_SIZE(known); i++)
		if (!strcasecmp(json_string_value(sel), known[i])) {
			*hash = known[i];
			return 0;
		}
	return coco_seterr(ctx, COCOIMG_EBADIMAGE,
	                   "KBS challenge: selected-hash-algorithm is not one of sha256, sha384, "
	                   "sha512");
}

int coco_kbs_parse_challenge(cocoimg_ctx *ctx, const unsigned char *data, size_t len,
                             char **nonce, const char **hash)
{
	*nonce = NULL;
	json_t *doc = NULL;
	int rc = coco_json_parse(ctx, data, len, "KBS challenge", COCOIMG_EBADIMAGE, &doc);
	if (rc)
		return rc;
	const char *n = NULL;
	rc = coco_json_str(ctx, doc, "nonce", "KBS challenge", COCOIMG_EBADIMAGE, &n);
	if (!rc && (!*n || strlen(n) > 1024 ||
	            strlen(n) != json_string_length(json_object_get(doc, "nonce"))))
		rc = coco_seterr(ctx, COCOIMG_EBADIMAGE, "KBS challenge: nonce is empty or too long");
	if (!rc)
		rc = challenge_hash(ctx, json_object_get(doc, "extra-params"), hash);
	if (!rc && !(*nonce = coco_strdup(n)))
		rc = coco_oom(ctx);
	json_decref(doc);
	return rc;
}

int coco_kbs_parse_token(cocoimg_ctx *ctx, const unsigned char *data, size_t len, char **token)
{
	*token = NULL;
	json_error_t e;
	/* jansson's error text may quote the document: not in messages */
	json_t *doc = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &e);
	json_t *t = json_object_get(doc, "token");
	int rc = 0;
	if (!json_is_string(t) || !json_string_length(t) || json_string_length(t) > TOKEN_MAX ||
	    strlen(json_string_value(t)) != json_string_length(t) ||
	    strpbrk(json_string_value(t), " \t\r\n\"\\,;"))
		rc = coco_seterr(ctx, COCOIMG_EBADIMAGE,
		                 "KBS attestation answer: not a JSON object with a usable \"token\"");
	else if (!(*token = coco_strdup(json_string_value(t))))
		rc = coco_oom(ctx);
	/* the document held the token: wipe jansson's copy */
	if (json_is_string(t))
		coco_wipe((char *)json_string_value(t), json_string_length(t));
	json_decref(doc);
	return rc;
}

static bool b64url_str(json_t *doc, const char *key, bool nonempty)
{
	json_t *v = json_object_get(doc, key);
	if (!json_is_string(v) || (nonempty && !json_string_length(v)))
		return false;
	const char *s = json_string_value(v);
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
	       json_string_length(v);
}

/* The protected header: a JSON object with string alg and enc A256GCM. */
static int response_header(cocoimg_ctx *ctx, json_t *doc, char alg[32])
{
	json_t *p = json_object_get(doc, "protected");
	coco_buf raw = COCO_BUF_INIT;
	json_t *hdr = NULL;
	int rc = COCOIMG_EBADIMAGE;
	if (coco_b64url_decode(json_string_value(p), json_string_length(p), &raw) == 0) {
		json_error_t e;
		hdr = json_loadb((const char *)raw.data, raw.len, JSON_REJECT_DUPLICATES, &e);
	}
	json_t *a = json_object_get(hdr, "alg"), *enc = json_object_get(hdr, "enc");
	if (json_is_string(a) && json_string_length(a) < 32 && json_is_string(enc)) {
		if (strcmp(json_string_value(enc), "A256GCM"))
			rc = coco_seterr(ctx, COCOIMG_EBADIMAGE,
			                 "KBS response: content encryption is not A256GCM");
		else {
			strcpy(alg, json_string_value(a));
			rc = 0;
		}
	} else {
		rc = coco_seterr(ctx, COCOIMG_EBADIMAGE,
		                 "KBS response: protected header without alg and enc");
	}
	json_decref(hdr);
	coco_buf_free(&raw);
	return rc;
}

int coco_kbs_parse_response(cocoimg_ctx *ctx, const unsigned char *data, size_t len,
                            char alg[32])
{
	json_t *doc = NULL;
	int rc = coco_json_parse(ctx, data, len, "KBS response", COCOIMG_EBADIMAGE, &doc);
	if (rc)
		return rc;
	json_t *aad = json_object_get(doc, "aad");
	if (!b64url_str(doc, "protected", true) || !b64url_str(doc, "encrypted_key", true) ||
	    !b64url_str(doc, "iv", true) || !b64url_str(doc, "ciphertext", false) ||
	    !b64url_str(doc, "tag", true) || (aad && !b64url_str(doc, "aad", false)))
		rc = coco_seterr(ctx, COCOIMG_EBADIMAGE,
		                 "KBS response: not a JWE (protected, encrypted_key, iv, ciphertext "
		                 "and tag as base64url strings)");
	else
		rc = response_header(ctx, doc, alg);
	json_decref(doc);
	return rc;
}

/* The token's "exp" claim (seconds), read without verification; 0 when
 * there is none or the token is not a readable JWT. */
static long long token_exp(const char *token)
{
	const char *a = strchr(token, '.');
	const char *b = a ? strchr(a + 1, '.') : NULL;
	if (!b)
		return 0;
	coco_buf raw = COCO_BUF_INIT;
	long long exp = 0;
	if (!coco_b64url_decode(a + 1, (size_t)(b - a - 1), &raw)) {
		json_error_t e;
		json_t *claims = json_loadb((const char *)raw.data, raw.len, 0, &e);
		json_t *v = json_object_get(claims, "exp");
		if (json_is_integer(v))
			exp = json_integer_value(v);
		json_decref(claims);
	}
	coco_buf_wipe_free(&raw);
	return exp;
}

/* ------------------------------------------------------------------ */
/* HTTP                                                                */
/* ------------------------------------------------------------------ */

typedef struct kbs_rx {
	coco_buf *body;
	bool too_big;
	char *cookie;              /* kbs-session-id from Set-Cookie (secret) */
} kbs_rx;

static size_t rx_body(char *p, size_t sz, size_t n, void *ud)
{
	kbs_rx *rx = ud;
	size_t len = sz * n;
	if (rx->body->len + len > COCO_KBS_MAX_RESPONSE) {
		rx->too_big = true;
		return 0;
	}
	return coco_buf_append(rx->body, p, len) ? 0 : len;
}

/* Keep the value of a "Set-Cookie: kbs-session-id=VALUE; ..." header. */
static size_t rx_header(char *p, size_t sz, size_t n, void *ud)
{
	kbs_rx *rx = ud;
	size_t len = sz * n;
	static const char name[] = "set-cookie:";
	if (len <= sizeof(name) || strncasecmp(p, name, sizeof(name) - 1))
		return len;
	size_t i = sizeof(name) - 1;
	while (i < len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	size_t cl = strlen(COOKIE_NAME);
	if (len - i <= cl || strncmp(p + i, COOKIE_NAME "=", cl + 1))
		return len;
	i += cl + 1;
	size_t j = i;
	while (j < len && p[j] != ';' && p[j] != '\r' && p[j] != '\n' && p[j] != ' ')
		j++;
	if (j > i && j - i < COOKIE_MAX) {
		if (rx->cookie)
			coco_free_secret(rx->cookie, strlen(rx->cookie));
		rx->cookie = coco_strndup(p + i, j - i);
	}
	return len;
}

/* Wipe the header strings (they carry the cookie and the token). */
static void headers_free(struct curl_slist *h)
{
	for (struct curl_slist *s = h; s; s = s->next)
		coco_wipe(s->data, strlen(s->data));
	curl_slist_free_all(h);
}

static struct curl_slist *add_header(struct curl_slist *h, bool *ok, const char *name,
                                     const char *value)
{
	char *line = *ok ? coco_asprintf("%s%s", name, value) : NULL;
	struct curl_slist *n = line ? curl_slist_append(h, line) : NULL;
	if (line)
		coco_free_secret(line, strlen(line));
	if (!n) {
		*ok = false;
		return h;
	}
	return n;
}

static struct curl_slist *kbs_headers(const coco_kbs *k, bool post, bool bearer)
{
	bool ok = true;
	struct curl_slist *h = add_header(NULL, &ok, "Accept: ", "application/json");
	if (post)
		h = add_header(h, &ok, "Content-Type: ", "application/json");
	if (k->cookie)
		h = add_header(h, &ok, "Cookie: " COOKIE_NAME "=", k->cookie);
	if (bearer && k->token)
		h = add_header(h, &ok, "Authorization: Bearer ", k->token);
	if (!ok) {
		headers_free(h);
		return NULL;
	}
	return h;
}

static void kbs_curl_setup(coco_kbs *k, const char *url, const coco_buf *body,
                           struct curl_slist *hdrs, kbs_rx *rx, char *cerr)
{
	CURL *h = k->curl;
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (k->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, k->ca_file);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, k->timeout);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, rx_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, rx);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, rx_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, rx);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	coco_curl_watch_stop(h, k->ctx);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)body->data);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
	}
}

/*
 * One request to the KBS: POST body (when not NULL) or GET, to
 * url + path.  The answer's body is appended to resp (bounded), its
 * status in *status; a session cookie it sets replaces ours.
 */
static int kbs_http(coco_kbs *k, const char *path, const coco_buf *body, bool bearer,
                    coco_buf *resp, long *status)
{
	char *url = coco_asprintf("%s%s", k->url, path);
	struct curl_slist *hdrs = kbs_headers(k, body != NULL, bearer);
	if (!url || !hdrs) {
		free(url);
		headers_free(hdrs);
		return coco_oom(k->ctx);
	}
	kbs_rx rx = { resp, false, NULL };
	char cerr[CURL_ERROR_SIZE] = "";
	kbs_curl_setup(k, url, body, hdrs, &rx, cerr);
	CURLcode cc = curl_easy_perform(k->curl);
	*status = 0;
	curl_easy_getinfo(k->curl, CURLINFO_RESPONSE_CODE, status);
	curl_easy_setopt(k->curl, CURLOPT_HTTPHEADER, NULL);
	headers_free(hdrs);
	int rc = 0;
	if (cc == CURLE_ABORTED_BY_CALLBACK && coco_check_stop(k->ctx))
		rc = COCOIMG_ECANCELLED;   /* recorded */
	else if (rx.too_big)
		rc = coco_seterr(k->ctx, COCOIMG_EBADIMAGE, "KBS %s: answer to %s is over %d bytes",
		                 k->url, path, COCO_KBS_MAX_RESPONSE);
	else if (cc != CURLE_OK)
		rc = coco_seterr(k->ctx, COCOIMG_ENET, "KBS %s: %s: %s", k->url, path,
		                 cerr[0] ? cerr : curl_easy_strerror(cc));
	if (!rc && rx.cookie) {
		if (k->cookie)
			coco_free_secret(k->cookie, strlen(k->cookie));
		k->cookie = rx.cookie;
		rx.cookie = NULL;
	}
	if (rx.cookie)
		coco_free_secret(rx.cookie, strlen(rx.cookie));
	free(url);
	return rc;
}

/* " (TYPE)" from a KBS error body {"type": ".../TYPE", "detail"}; the
 * detail is not echoed (it may quote anything). */
static void error_type(const coco_buf *body, char out[64])
{
	out[0] = 0;
	json_error_t e;
	json_t *doc = json_loadb((const char *)body->data, body->len, 0, &e);
	json_t *t = json_object_get(doc, "type");
	if (json_is_string(t)) {
		const char *s = strrchr(json_string_value(t), '/');
		s = s ? s + 1 : json_string_value(t);
		size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");
		if (n && n < 40)
			snprintf(out, 64, " (%.*s)", (int)n, s);
	}
	json_decref(doc);
}

/* ------------------------------------------------------------------ */
/* Attestation                                                         */
/* ------------------------------------------------------------------ */

static int make_key(coco_kbs *k)
{
	if (k->key)
		return 0;
	EVP_PKEY *pk = k->key_type == COCO_KBS_KEY_RSA ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
	json_t *jwk = pk ? coco_pkey_public_jwk(pk) : NULL;
	const char *alg = k->key_type == COCO_KBS_KEY_RSA ? "RSA-OAEP-256" : "ECDH-ES+A256KW";
	if (!jwk || json_object_set_new(jwk, "alg", json_string(alg))) {
		EVP_PKEY_free(pk);
		json_decref(jwk);
		return coco_seterr(k->ctx, COCOIMG_EINTERNAL, "KBS %s: cannot make the TEE key pair",
		                   k->url);
	}
	k->key = pk;
	k->jwk = jwk;
	return 0;
}

static int status_error(coco_kbs *k, const char *step, long status, const coco_buf *body)
{
	char type[64];
	error_type(body, type);
	if (status == 401 || status == 403)
		return coco_seterr(k->ctx, COCOIMG_EAUTH, "KBS %s: attestation refused at %s: HTTP %ld%s",
		                   k->url, step, status, type);
	return coco_seterr(k->ctx, COCOIMG_ENET, "KBS %s: %s answered HTTP %ld%s", k->url, step,
	                   status, type);
}

/* Request -> Challenge: *nonce and *hash; the session cookie is kept. */
static int kbs_auth(coco_kbs *k, const char *tee, char **nonce, const char **hash)
{
	json_t *req = json_pack("{s:s, s:s, s:{s:[s,s,s]}}", "version", COCO_KBS_PROTOCOL_VERSION,
	                        "tee", tee, "extra-params", "supported-hash-algorithms", "sha256",
	                        "sha384", "sha512");
	char *txt = req ? coco_json_dump(req) : NULL;
	json_decref(req);
	if (!txt)
		return coco_oom(k->ctx);
	coco_buf body = { (unsigned char *)txt, strlen(txt), strlen(txt) + 1 };
	coco_buf resp = COCO_BUF_INIT;
	long status = 0;
	if (k->cookie) {
		coco_free_secret(k->cookie, strlen(k->cookie));
		k->cookie = NULL;
	}
	int rc = kbs_http(k, KBS_PREFIX "/auth", &body, false, &resp, &status);
	if (!rc && status != 200)
		rc = status_error(k, "auth", status, &resp);
	if (!rc)
		rc = coco_kbs_parse_challenge(k->ctx, resp.data, resp.len, nonce, hash);
	if (!rc && !k->cookie)
		rc = coco_seterr(k->ctx, COCOIMG_EBADIMAGE, "KBS %s: auth set no %s cookie", k->url,
		                 COOKIE_NAME);
	if (rc)
		coco_preferr(k->ctx, rc, "attestation with %s", coco_attester_name(k->attester));
	free(txt);
	coco_buf_free(&resp);
	return rc;
}

/* The Attestation payload for nonce with evidence (JSON text, checked
 * by the attester).  The evidence is spliced in as it is, so that no
 * copy of it is left in a JSON tree. */
static int attestation_body(coco_kbs *k, const char *nonce, const coco_buf *evidence,
                            coco_buf *out)
{
	json_t *rt = json_pack("{s:s, s:O}", "nonce", nonce, "tee-pubkey", k->jwk);
	char *txt = rt ? coco_json_dump(rt) : NULL;
	json_decref(rt);
	static const char tail[] = ",\"additional_evidence\":\"\"}}";
	/* one allocation: no partial copies left behind by growth */
	int bad = !txt || coco_buf_reserve(out, strlen(txt) + evidence->len + 96) ||
	          coco_buf_appendf(out, "{\"runtime-data\":%s,\"tee-evidence\":{"
	                                        "\"primary_evidence\":", txt) ||
	          coco_buf_append(out, evidence->data, evidence->len) ||
	          coco_buf_append(out, tail, sizeof(tail) - 1);
	free(txt);
	return bad ? coco_oom(k->ctx) : 0;
}

/* Evidence for the challenge, POST /attest, keep the token. */
static int kbs_attest_with(coco_kbs *k, const char *nonce, const char *hash)
{
	unsigned char rd[64];
	size_t rdlen = 0;
	char tee[COCO_TEE_MAX];
	coco_buf ev = COCO_BUF_INIT, body = COCO_BUF_INIT, resp = COCO_BUF_INIT;
	char *token = NULL;
	long status = 0;
	int rc = coco_kbs_report_data(nonce, k->jwk, hash, rd, &rdlen);
	if (rc)
		rc = rc == COCOIMG_ENOMEM ? coco_oom(k->ctx)
		                          : coco_seterr(k->ctx, rc, "KBS %s: report data", k->url);
	if (!rc)
		rc = coco_attester_evidence(k->attester, k->ctx, rd, rdlen, &ev, tee);
	if (!rc)
		rc = attestation_body(k, nonce, &ev, &body);
	if (!rc)
		rc = kbs_http(k, KBS_PREFIX "/attest", &body, false, &resp, &status);
	if (!rc && status != 200)
		rc = status_error(k, "attest", status, &resp);
	if (!rc)
		rc = coco_kbs_parse_token(k->ctx, resp.data, resp.len, &token);
	if (!rc) {
		if (k->token)
			coco_free_secret(k->token, strlen(k->token));
		k->token = token;
		k->attestations++;
	}
	coco_wipe(rd, sizeof(rd));
	coco_buf_wipe_free(&ev);
	coco_buf_wipe_free(&body);
	coco_buf_wipe_free(&resp);
	return rc;
}

/* One full RCAR handshake: a new session and token. */
static int kbs_attest(coco_kbs *k)
{
	char tee[COCO_TEE_MAX];
	char *nonce = NULL;
	const char *hash = NULL;
	int rc = coco_attester_tee(k->attester, k->ctx, tee);
	if (!rc)
		rc = make_key(k);
	if (!rc)
		rc = kbs_auth(k, tee, &nonce, &hash);
	if (!rc)
		rc = kbs_attest_with(k, nonce, hash);
	free(nonce);
	if (!rc)
		coco_info(k->ctx, "KBS %s: attested (%s evidence)", k->url,
		          coco_attester_name(k->attester));
	return rc;
}

/* ------------------------------------------------------------------ */
/* Resources                                                           */
/* ------------------------------------------------------------------ */

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* Append "/" and one path segment, percent-encoded.  EINVAL for an empty
 * segment, "." or "..", or control characters. */
static int put_segment(coco_buf *b, const char *s, size_t n)
{
	if (!n || (n == 1 && s[0] == '.') || (n == 2 && !strncmp(s, "..", 2)))
		return COCOIMG_EINVAL;
	if (coco_buf_putc(b, '/'))
		return COCOIMG_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return COCOIMG_EINVAL;
		if (unreserved(c) ? coco_buf_putc(b, (char)c) : coco_buf_appendf(b, "%%%02X", c))
			return COCOIMG_ENOMEM;
	}
	return 0;
}

/* "/kbs/v0/resource/R/T/G"; NULL with the error recorded when path is not
 * three usable segments. */
static char *resource_path(coco_kbs *k, const char *path)
{
	coco_buf b = COCO_BUF_INIT;
	int rc = coco_buf_appendf(&b, KBS_PREFIX "/resource") ? COCOIMG_ENOMEM : 0;
	const char *s = path;
	for (int seg = 0; !rc && seg < 3; seg++) {
		size_t n = strcspn(s, "/");
		rc = put_segment(&b, s, n);
		s += n;
		if (!rc && seg < 2 && *s++ != '/')
			rc = COCOIMG_EINVAL;
	}
	if (!rc && *s)
		rc = COCOIMG_EINVAL;
	char *r = rc ? NULL : coco_buf_cstr(&b);
	if (!r) {
		coco_buf_free(&b);
		if (rc == COCOIMG_EINVAL)
			coco_seterr(k->ctx, rc, "KBS resource \"%.200s\" is not REPOSITORY/TYPE/TAG",
			            path);
		else
			coco_oom(k->ctx);
	}
	return r;
}

static int decrypt_resource(coco_kbs *k, const char *path, const coco_buf *resp, coco_buf *out)
{
	char alg[32];
	const char *want = k->key_type == COCO_KBS_KEY_RSA ? "RSA-OAEP-256" : "ECDH-ES+A256KW";
	int rc = coco_kbs_parse_response(k->ctx, resp->data, resp->len, alg);
	if (rc)
		return coco_preferr(k->ctx, rc, "KBS %s: kbs:///%s", k->url, path);
	if (strcmp(alg, want))
		return coco_seterr(k->ctx, COCOIMG_ENOKEY,
		                   "KBS %s: kbs:///%s: response wrapped with %s, the TEE key is for %s",
		                   k->url, path, alg, want);
	if (!k->ctx->open_jwe)
		return coco_seterr(k->ctx, COCOIMG_EINTERNAL,
		                   "KBS %s: kbs:///%s: no JWE decryption was installed", k->url, path);
	size_t start = out->len;
	rc = k->ctx->open_jwe(resp->data, resp->len, k->key, out);
	if (rc == COCOIMG_ENOMEM)
		return coco_oom(k->ctx);
	if (rc) {
		out->len = start;
		return coco_seterr(k->ctx, rc == COCOIMG_EBADIMAGE ? rc : COCOIMG_ENOKEY,
		                   "KBS %s: kbs:///%s: response cannot be decrypted with the TEE key",
		                   k->url, path);
	}
	return 0;
}

static bool token_expired(const coco_kbs *k)
{
	long long exp = k->token ? token_exp(k->token) : 0;
	return exp > 0 && exp <= (long long)time(NULL);
}

static int not_released(coco_kbs *k, const char *path, long status, const coco_buf *body)
{
	char type[64];
	error_type(body, type);
	return coco_seterr(k->ctx, COCOIMG_ENOTFOUND,
	                   "KBS %s: kbs:///%s not found or not released (HTTP %ld%s)", k->url, path,
	                   status, type);
}

int coco_kbs_get_resource(coco_kbs *k, const char *path, coco_buf *out)
{
	char *rpath = resource_path(k, path);
	if (!rpath)
		return COCOIMG_EINVAL;
	bool attested = false;
	int rc = 0;
	if (!k->token || token_expired(k)) {
		rc = kbs_attest(k);
		attested = true;
	}
	coco_buf resp = COCO_BUF_INIT;
	long status = 0;
	while (!rc) {
		resp.len = 0;
		rc = kbs_http(k, rpath, NULL, true, &resp, &status);
		if (rc || status == 200)
			break;
		if (status == 401 && !attested) {
			coco_info(k->ctx, "KBS %s: kbs:///%s refused (HTTP 401): attesting again", k->url,
			          path);
			rc = kbs_attest(k);
			attested = true;
			continue;
		}
		rc = status == 401 || status == 403 || status == 404
		             ? not_released(k, path, status, &resp)
		             : coco_seterr(k->ctx, COCOIMG_ENET, "KBS %s: kbs:///%s: HTTP %ld", k->url,
		                           path, status);
	}
	if (!rc)
		rc = decrypt_resource(k, path, &resp, out);
	coco_buf_wipe_free(&resp);
	free(rpath);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                          */
/* ------------------------------------------------------------------ */

static bool url_ok(const char *url)
{
	return url && (!strncmp(url, "http://", 7) || !strncmp(url, "https://", 8)) &&
	       url[strcspn(url, " \t\r\n?#")] == 0 && strlen(url) > 8 && strlen(url) < 2048;
}

int coco_kbs_new(cocoimg_ctx *ctx, const char *url, const char *ca_file,
                 coco_attester *attester, coco_kbs **out)
{
	*out = NULL;
	if (!url_ok(url) || !attester) {
		coco_attester_free(attester);
		return coco_seterr(ctx, COCOIMG_EINVAL,
		                   attester ? "KBS URL \"%.200s\" is not http(s)://HOST[:PORT]"
		                            : "KBS \"%.200s\": no attester", url ? url : "");
	}
	int rc = coco_curl_global_init(ctx);
	if (!rc && ca_file && access(ca_file, R_OK))
		rc = coco_seterr(ctx, COCOIMG_EINVAL, "KBS certificate %s: %s", ca_file,
		                 strerror(errno));
	if (rc) {
		coco_attester_free(attester);
		return rc;
	}
	coco_kbs *k = calloc(1, sizeof(*k));
	if (!k) {
		coco_attester_free(attester);
		return coco_oom(ctx);
	}
	k->ctx = ctx;
	k->attester = attester;
	k->timeout = 60;
	k->url = coco_strdup(url);
	k->ca_file = ca_file ? coco_strdup(ca_file) : NULL;
	k->curl = curl_easy_init();
	if (!k->url || (ca_file && !k->ca_file) || !k->curl) {
		coco_kbs_free(k);
		return coco_oom(ctx);
	}
	size_t n = strlen(k->url);
	while (n > 8 && k->url[n - 1] == '/')
		k->url[--n] = 0;
	*out = k;
	return 0;
}

int coco_kbs_set_key_type(coco_kbs *k, coco_kbs_key_type type)
{
	if (k->key || (type != COCO_KBS_KEY_EC_P256 && type != COCO_KBS_KEY_RSA))
		return coco_seterr(k->ctx, COCOIMG_EINVAL, "KBS %s: the TEE key type is already set",
		                   k->url);
	k->key_type = type;
	return 0;
}

void coco_kbs_set_timeout(coco_kbs *k, long seconds)
{
	k->timeout = seconds > 0 ? seconds : 0;
}

unsigned coco_kbs_attestations(const coco_kbs *k)
{
	return k->attestations;
}

void coco_kbs_free(coco_kbs *k)
{
	if (!k)
		return;
	if (k->curl)
		curl_easy_cleanup(k->curl);
	coco_attester_free(k->attester);
	EVP_PKEY_free(k->key);     /* OpenSSL clears private key material on free */
	json_decref(k->jwk);
	if (k->token)
		coco_free_secret(k->token, strlen(k->token));
	if (k->cookie)
		coco_free_secret(k->cookie, strlen(k->cookie));
	free(k->url);
	free(k->ca_file);
	free(k);
}
