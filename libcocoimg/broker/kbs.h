/*
 * libcocoimg broker/: a Key Broker Service client (kbs.c) speaking the
 * Trustee attestation protocol, version 0.4.0 (confidential-containers/
 * trustee kbs/docs/kbs_attestation_protocol.md; the request side as
 * guest-components' attestation-agent kbs_protocol rcar_client does it):
 *
 *   POST /kbs/v0/auth    Request {version, tee, extra-params}
 *                        -> Challenge {nonce, extra-params} + session cookie
 *   POST /kbs/v0/attest  Attestation {runtime-data {nonce, tee-pubkey},
 *                        tee-evidence {primary_evidence, additional_evidence}}
 *                        -> {"token": JWT}
 *   GET  /kbs/v0/resource/R/T/G  (cookie + Authorization: Bearer token)
 *                        -> JWE (flattened JSON) encrypted to the TEE key
 *
 * The report data the evidence binds is the hash (SHA-384 unless the
 * challenge selects another) of the RFC 8785 canonical JSON of
 * {"additional-evidence": "", "nonce": N, "tee-pubkey": JWK}.
 *
 * One client holds one TEE key pair (EC P-256 for ECDH-ES+A256KW, or
 * RSA for RSA-OAEP-256; A256GCM content), one session and one token,
 * reused for every resource it fetches.  Not thread-safe: one client per
 * thread.  Not installed.  Depends on the base layer, crypt/ (JWE
 * decryption, JWK export) and libcurl.
 *
 * The TEE private key, tokens, cookies and evidence are wiped when freed
 * and never appear in messages or logs.
 */
#ifndef COCO_BROKER_KBS_H
#define COCO_BROKER_KBS_H

#include "attester.h"
#include "../base.h"
#include "../json.h"

/* The protocol version this client speaks. */
#define COCO_KBS_PROTOCOL_VERSION "0.4.0"
/* Largest answer body we read from a KBS (challenge, token, resource
 * JWE); the JWE reader takes at most 256 KiB. */
#define COCO_KBS_MAX_RESPONSE (256 * 1024)

typedef enum coco_kbs_key_type {
	COCO_KBS_KEY_EC_P256 = 0,  /* ECDH-ES+A256KW (default, as upstream) */
	COCO_KBS_KEY_RSA = 1       /* RSA-OAEP-256, 2048-bit modulus (as upstream) */
} coco_kbs_key_type;

typedef struct coco_kbs coco_kbs;

/*
 * A client of the KBS at url ("http://HOST:PORT" or "https://...", with or
 * without a trailing '/').  ca_file: PEM file trusted for HTTPS (NULL:
 * the system CAs).  The client takes ownership of attester (freed by
 * coco_kbs_free, also when this fails).  Nothing is sent until the first
 * resource is asked for.  COCOIMG_EINVAL for a bad URL or an unreadable
 * ca_file (message names it), COCOIMG_ENOMEM.
 */
int coco_kbs_new(cocoimg_ctx *ctx, const char *url, const char *ca_file,
                 coco_attester *attester, coco_kbs **out);

/* Choose the TEE key type (before the first resource; default EC P-256).
 * COCOIMG_EINVAL once a key exists. */
int coco_kbs_set_key_type(coco_kbs *kbs, coco_kbs_key_type type);

/*
 * Fetch resource "REPO/TYPE/TAG" (three non-empty segments, none "." or
 * ".."): attest when there is no token yet or it has expired, GET the
 * resource, decrypt it into out (appended; caller wipes it).  A 401
 * answer to a token from an earlier call is followed by one new
 * attestation and one more GET (a token obtained in this call is not
 * renewed: Trustee answers 401 for resources it does not have or does not
 * release); a remaining 401, a 403 or a 404 is "not found or not
 * released".
 * Errors (recorded on ctx, naming the KBS URL and kbs:///R/T/G):
 *   COCOIMG_ENOTFOUND  resource not found or not released
 *   COCOIMG_EAUTH      attestation refused (auth or attest answered 401)
 *   COCOIMG_ENET       KBS unreachable, TLS failure, unexpected status
 *   COCOIMG_EBADIMAGE  malformed challenge, token or response
 *   COCOIMG_ENOKEY     the response is not decryptable with the TEE key
 *   COCOIMG_EINVAL     bad resource path; attester errors pass through
 * The caller maps these to what was being fetched (cli.md).
 */
int coco_kbs_get_resource(coco_kbs *kbs, const char *path, coco_buf *out);

/* Limit each request to the KBS to seconds (default 60; 0 = no limit). */
void coco_kbs_set_timeout(coco_kbs *kbs, long seconds);

/* How many attestations (successful /attest answers) this client made:
 * for callers' logs and tests. */
unsigned coco_kbs_attestations(const coco_kbs *kbs);

/* NULL-safe; wipes key, token, cookie. */
void coco_kbs_free(coco_kbs *kbs);

/* ---- protocol pieces, exposed for unit tests and fuzz targets -------- */

/* Parse a Challenge: *nonce (malloc'd) and the report-data hash it selects
 * (extra-params "selected-hash-algorithm": sha256, sha384 (default),
 * sha512).  COCOIMG_EBADIMAGE with a message for anything else. */
int coco_kbs_parse_challenge(cocoimg_ctx *ctx, const unsigned char *data, size_t len,
                             char **nonce, const char **hash);

/* Parse the attest answer {"token": "..."}: *token malloc'd (wipe it). */
int coco_kbs_parse_token(cocoimg_ctx *ctx, const unsigned char *data, size_t len,
                         char **token);

/* Check a resource Response's shape (protected header with alg and
 * enc A256GCM, encrypted_key, iv, ciphertext, tag as base64url strings)
 * and return its alg ("ECDH-ES+A256KW", "RSA-OAEP-256") in alg.
 * COCOIMG_EBADIMAGE with a message otherwise. */
int coco_kbs_parse_response(cocoimg_ctx *ctx, const unsigned char *data, size_t len,
                            char alg[32]);

/* The report data for nonce and tee_pubkey (a JWK object of string
 * members) with hash ("sha256", "sha384", "sha512"): the digest of the
 * canonical JSON of {"additional-evidence": "", "nonce", "tee-pubkey"}.
 * *len is the digest size. */
int coco_kbs_report_data(const char *nonce, json_t *tee_pubkey, const char *hash,
                         unsigned char out[64], size_t *len);

/* RFC 8785 canonical JSON of a value made of objects and strings (the
 * only types runtime data holds), appended to out.  COCOIMG_EINVAL for
 * other types. */
int coco_jcs_append(json_t *v, coco_buf *out);

#endif /* COCO_BROKER_KBS_H */
