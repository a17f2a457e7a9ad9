/*
 * Verification of one Sigstore bundle for an artifact, in sigstore-go's
 * order: the signer (key or certificate) the policy asks for, the
 * signature and the artifact digest, every transparency log entry (body,
 * SET, inclusion proof and checkpoint), RFC 3161 timestamps, then the
 * certificate at each proven time (chain, validity, SCT) and its identity.
 * The first failing check is named in the result.
 */
#include "sigstore.h"
#include "../base.h"
#include "../digest.h"
#include "../json.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#define INTOTO_PAYLOAD_TYPE "application/vnd.in-toto+json"
/* Clock skew tolerated for "integrated time in the future". */
#define FUTURE_SKEW 300
#define MAX_TIMES 64

typedef struct vstate {
	cocoimg_ctx *ctx;
	const coco_sigstore_policy *pol;
	const coco_sigstore_artifact *art;
	coco_sigstore_result *res;
	coco_bundle b;
	EVP_PKEY *signer;               /* borrowed: pol->key or the leaf's key */
	coco_buf signer_der;
	const char *alg;                /* artifact digest algorithm ("sha256"...) */
	unsigned char digest[64];       /* artifact digest */
	size_t digest_len;
	unsigned char payload_sha[32];  /* DSSE */
	unsigned char pae_sha[32];      /* DSSE */
	int64_t times[MAX_TIMES];
	size_t n_times;
	int64_t now;
} vstate;

static int fail(vstate *v, coco_sigcheck c, int rc)
{
	v->res->failed = c;
	return rc;
}

static int failf(vstate *v, coco_sigcheck c, const char *why)
{
	v->res->failed = c;
	return coco_seterr(v->ctx, COCOIMG_EPOLICY, "Sigstore bundle: %s", why);
}

static void add_time(vstate *v, int64_t t)
{
	if (v->n_times < MAX_TIMES)
		v->times[v->n_times++] = t;
}

/* ---- artifact digest ---- */

static int digest_from_string(vstate *v, const char *s)
{
	const char *colon = strchr(s, ':');
	if (!colon || colon - s > 8)
		return coco_seterr(v->ctx, COCOIMG_EINVAL, "artifact digest \"%.80s\" is not ALG:HEX", s);
	char alg[9];
	memcpy(alg, s, (size_t)(colon - s));
	alg[colon - s] = 0;
	const EVP_MD *md = coco_evp_md_by_name(alg);
	size_t hl = strlen(colon + 1);
	if (!md || hl != 2 * (size_t)EVP_MD_get_size(md))
		return coco_seterr(v->ctx, COCOIMG_EINVAL, "artifact digest \"%.80s\" is not ALG:HEX", s);
	for (size_t i = 0; i < hl / 2; i++) {
		unsigned int byte;
		if (sscanf(colon + 1 + 2 * i, "%2x", &byte) != 1)
			return coco_seterr(v->ctx, COCOIMG_EINVAL, "artifact digest: malformed hex");
		v->digest[i] = (unsigned char)byte;
	}
	v->digest_len = hl / 2;
	v->alg = !strcmp(alg, "sha256") ? "sha256" : !strcmp(alg, "sha384") ? "sha384" : "sha512";
	return 0;
}

static int artifact_digest(vstate *v)
{
	const coco_sigstore_artifact *a = v->art;
	if (!a->data)
		return a->digest ? digest_from_string(v, a->digest)
		                 : coco_seterr(v->ctx, COCOIMG_EINVAL, "no artifact given");
	v->alg = v->b.digest_alg && !v->b.dsse ? v->b.digest_alg : "sha256";
	unsigned int n = 0;
	if (EVP_Digest(a->data, a->len, v->digest, &n, coco_evp_md_by_name(v->alg), NULL) != 1)
		return coco_oom(v->ctx);
	v->digest_len = n;
	return 0;
}

/* ---- signer ---- */

static int choose_signer(vstate *v)
{
	const coco_sigstore_policy *pol = v->pol;
	if (pol->key) {
		if (v->b.leaf)
			return failf(v, COCO_SIGCHECK_SIGNATURE,
			             "signed with a certificate, but a public key was given");
		v->signer = pol->key;
		return coco_spki_der(pol->key, &v->signer_der) ? coco_oom(v->ctx) : 0;
	}
	if (!v->b.leaf)
		return failf(v, COCO_SIGCHECK_SIGNATURE, pol->pki ?
		             "signed with a public key, but the policy trusts PKI certificates" :
		             "signed with a public key, but no key was given (only an identity)");
	v->signer = X509_get0_pubkey(v->b.leaf);
	unsigned char *der = NULL;
	int n = i2d_X509(v->b.leaf, &der);
	int rc = n > 0 ? coco_buf_append(&v->signer_der, der, (size_t)n) : COCOIMG_ENOMEM;
	OPENSSL_free(der);
	if (!v->signer || rc)
		return rc ? coco_oom(v->ctx) : failf(v, COCO_SIGCHECK_CHAIN, "unusable certificate key");
	return 0;
}

/* ---- signature and content ---- */

static int verify_message(vstate *v)
{
	coco_bundle *b = &v->b;
	if (b->msg_digest.len && (strcmp(b->digest_alg, v->alg) || b->msg_digest.len != v->digest_len ||
	                          memcmp(b->msg_digest.data, v->digest, v->digest_len)))
		return failf(v, COCO_SIGCHECK_DIGEST, "the bundle's message digest is not the artifact's");
	/* With a message digest the signature is over that digest with its
	 * algorithm (sigstore-go verifies prehashed: a P-384 key may sign a
	 * SHA-256 digest); without one, over the bytes with the key's hash.
	 * Ed25519 (pure) always signs the bytes. */
	bool ed = EVP_PKEY_get_base_id(v->signer) == EVP_PKEY_ED25519;
	int ok;
	if (v->art->data && (ed || !b->digest_alg))
		ok = coco_sigstore_verify_data(v->signer, b->sig.data, b->sig.len, v->art->data,
		                               v->art->len);
	else
		ok = coco_sigstore_verify_digest(v->signer, b->sig.data, b->sig.len, coco_evp_md_by_name(v->alg),
		                                 v->digest, v->digest_len);
	if (!ok)
		return failf(v, COCO_SIGCHECK_SIGNATURE, "the signature over the artifact does not verify");
	return 0;
}

static int pae(const coco_bundle *b, coco_buf *out)
{
	int rc = coco_buf_appendf(out, "DSSEv1 %zu %s %zu ", strlen(b->payload_type),
	                          b->payload_type, b->payload.len);
	return rc ? rc : coco_buf_append(out, b->payload.data, b->payload.len);
}

/* in-toto statement: one subject carries the artifact digest. */
static bool subject_matches(vstate *v, json_t *stmt)
{
	char hex[129];
	coco_hex_encode(v->digest, v->digest_len, hex);
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(stmt, "subject"), i, s) {
		const char *d = json_string_value(json_object_get(json_object_get(s, "digest"), v->alg));
		if (d && !strcmp(d, hex))
			return true;
	}
	return false;
}

static int check_statement(vstate *v)
{
	coco_bundle *b = &v->b;
	if (strcmp(b->payload_type, INTOTO_PAYLOAD_TYPE))
		return failf(v, COCO_SIGCHECK_DIGEST, "the DSSE payload is not an in-toto statement");
	json_t *stmt = json_loadb((const char *)b->payload.data, b->payload.len, 0, NULL);
	bool ok = json_is_object(stmt) && subject_matches(v, stmt);
	const char *pt = json_string_value(json_object_get(stmt, "predicateType"));
	if (pt && !(v->res->predicate_type = coco_strdup(pt))) {
		json_decref(stmt);
		return coco_oom(v->ctx);
	}
	json_decref(stmt);
	if (!ok)
		return failf(v, COCO_SIGCHECK_DIGEST, "no subject of the in-toto statement is the artifact");
	return 0;
}

static int verify_dsse(vstate *v)
{
	coco_buf p = COCO_BUF_INIT;
	if (pae(&v->b, &p)) {
		coco_buf_free(&p);
		return coco_oom(v->ctx);
	}
	SHA256(p.data, p.len, v->pae_sha);
	SHA256(v->b.payload.data, v->b.payload.len, v->payload_sha);
	int ok = coco_sigstore_verify_data(v->signer, v->b.sig.data, v->b.sig.len, p.data, p.len);
	coco_buf_free(&p);
	if (!ok)
		return failf(v, COCO_SIGCHECK_SIGNATURE, "the DSSE signature does not verify");
	return check_statement(v);
}

/* ---- transparency log ---- */

static int verify_proof(vstate *v, const coco_tlog_entry *e, const coco_tlog_key *log)
{
	cocoimg_ctx *ctx = v->ctx;
	unsigned char leaf[32];
	coco_merkle_leaf_hash(e->body.data, e->body.len, leaf);
	int rc = coco_merkle_verify_inclusion(ctx, (uint64_t)e->proof_index, (uint64_t)e->tree_size,
	                                      leaf, (const unsigned char (*)[32])e->hashes,
	                                      e->n_hashes, e->root_hash);
	if (rc)
		return rc;
	/* Without a signed checkpoint the proof's root is anchored to nothing:
	 * tolerated only in v0.1 bundles, whose SET is the log's promise. */
	if (!e->checkpoint)
		return v->b.minor == 1 ? 0 : coco_seterr(ctx, COCOIMG_EPOLICY,
		                                         "inclusion proof without a checkpoint");
	coco_checkpoint cp;
	if ((rc = coco_checkpoint_verify(ctx, log, e->checkpoint, strlen(e->checkpoint), &cp)))
		return rc;
	bool same = cp.size == (uint64_t)e->tree_size && !memcmp(cp.root, e->root_hash, 32);
	coco_checkpoint_clear(&cp);
	if (!same)
		return coco_seterr(ctx, COCOIMG_EPOLICY,
		                   "checkpoint: its tree size or root hash is not the inclusion proof's");
	return 0;
}

static int verify_entry_time(vstate *v, const coco_tlog_entry *e, const coco_tlog_key *log)
{
	if (!e->set.len)
		return 0;
	if (!coco_validity_contains(&log->valid, e->integrated_time))
		return coco_seterr(v->ctx, COCOIMG_EPOLICY, "transparency log key not valid at the "
		                   "entry's integrated time");
	if (e->integrated_time > v->now + FUTURE_SKEW)
		return coco_seterr(v->ctx, COCOIMG_EPOLICY, "integrated time is in the future");
	int rc = coco_rekor_set_verify(v->ctx, log, e->body.data, e->body.len, e->integrated_time,
	                               e->log_index, e->set.data, e->set.len);
	if (!rc)
		add_time(v, e->integrated_time);
	return rc;
}

static int verify_entry(vstate *v, const coco_tlog_entry *e)
{
	const coco_trustroot *root = v->pol->root;
	const coco_tlog_key *log = coco_trustroot_find_log(root->tlogs, root->n_tlogs, e->log_id,
	                                                   e->log_id_len);
	if (!log)
		return coco_seterr(v->ctx, COCOIMG_EPOLICY,
		                   "transparency log entry from a log the trusted root does not know");
	coco_sig_content c = {
		.dsse = v->b.dsse, .sig = v->b.sig.data, .sig_len = v->b.sig.len,
		.digest_alg = v->b.dsse ? "sha256" : v->alg,
		.digest = v->b.dsse ? v->payload_sha : v->digest,
		.digest_len = v->b.dsse ? 32 : v->digest_len,
		.pae_digest = v->pae_sha,
		.signer_der = v->signer_der.data, .signer_der_len = v->signer_der.len,
		.signer_is_cert = v->b.leaf != NULL,
	};
	int rc = coco_rekor_body_verify(v->ctx, e->kind, e->version, e->body.data, e->body.len, &c);
	if (!rc)
		rc = verify_entry_time(v, e, log);
	if (!rc && e->has_proof)
		rc = verify_proof(v, e, log);
	return rc;
}

/* Key mode without a log requirement, or PKI mode: a bundle may prove no
 * time, and without a root its log entries and timestamps are not read. */
static bool no_time_needed(const coco_sigstore_policy *pol)
{
	return (pol->key && pol->allow_no_tlog) || pol->pki;
}

static int verify_tlogs(vstate *v)
{
	bool skip = no_time_needed(v->pol);
	if (!v->pol->root) {
		if (skip)
			return 0;
		return coco_seterr(v->ctx, COCOIMG_EINVAL, "Sigstore bundle: no trusted root to "
		                   "verify transparency log entries with");
	}
	for (size_t i = 0; i < v->b.n_tlogs; i++) {
		int rc = verify_entry(v, &v->b.tlogs[i]);
		if (rc)
			return fail(v, COCO_SIGCHECK_TLOG, rc);
		v->res->n_tlog_entries++;
	}
	if (!v->b.n_tlogs && !skip)
		return failf(v, COCO_SIGCHECK_TLOG, "no transparency log entry");
	return 0;
}

static int verify_timestamps(vstate *v)
{
	/* key mode without a trusted root (a policy key without Rekor keys):
	 * the timestamps are not checked, as the log entries are not */
	if (!v->pol->root && no_time_needed(v->pol))
		return 0;
	for (size_t i = 0; i < v->b.n_tsts; i++) {
		int64_t t;
		if (!v->pol->root)
			return failf(v, COCO_SIGCHECK_TIMESTAMP, "no trusted root for the timestamps");
		int rc = coco_tsa_verify(v->ctx, v->pol->root, v->b.tsts[i].data, v->b.tsts[i].len,
		                         v->b.sig.data, v->b.sig.len, &t);
		if (rc)
			return fail(v, COCO_SIGCHECK_TIMESTAMP, rc);
		add_time(v, t);
		v->res->n_timestamps++;
	}
	if (!v->n_times && !no_time_needed(v->pol))
		return failf(v, COCO_SIGCHECK_TIMESTAMP,
		             "no verified time (integrated time or RFC 3161 timestamp)");
	return 0;
}

/* ---- certificate ---- */

static bool within_cert(X509 *x, int64_t t)
{
	time_t tt = (time_t)t;
	return X509_cmp_time(X509_get0_notBefore(x), &tt) <= 0 &&
	       X509_cmp_time(X509_get0_notAfter(x), &tt) >= 0;
}

static int verify_certificate(vstate *v)
{
	coco_fulcio_identity id = {0};
	coco_sigcheck failed = COCO_SIGCHECK_CHAIN;
	int rc = 0;
	for (size_t i = 0; !rc && i < v->n_times; i++) {
		if (!within_cert(v->b.leaf, v->times[i])) {
			coco_fulcio_identity_clear(&id);
			return failf(v, COCO_SIGCHECK_TIMESTAMP,
			             "a proven signing time is outside the certificate's validity");
		}
		rc = coco_fulcio_verify(v->ctx, v->pol->root, v->b.leaf, v->b.chain, v->times[i],
		                        i == 0 && !v->pol->ignore_sct, i == 0 ? &id : NULL, &failed);
	}
	if (rc) {
		coco_fulcio_identity_clear(&id);
		return fail(v, failed, rc);
	}
	rc = coco_fulcio_match(v->ctx, &id, v->pol, &failed);
	if (!rc && ((id.san && !(v->res->san = coco_strdup(id.san))) ||
	            (id.issuer && !(v->res->issuer = coco_strdup(id.issuer)))))
		rc = coco_oom(v->ctx);
	coco_fulcio_identity_clear(&id);
	return rc == COCOIMG_EPOLICY ? fail(v, failed, rc) : rc;
}

/* PKI mode: the chain to the policy's roots, e-mail and hostname, at the
 * policy's time (containers/image checks PKI certificates now). */
static int verify_pki(vstate *v)
{
	coco_sigcheck failed = COCO_SIGCHECK_CHAIN;
	int rc = coco_pki_cert_verify(v->ctx, v->pol->pki, v->b.leaf, v->b.chain, v->pol->now,
	                              &failed);
	return rc == COCOIMG_EPOLICY ? fail(v, failed, rc) : rc;
}

/* ---- driver ---- */

static int check_policy(cocoimg_ctx *ctx, const coco_sigstore_policy *pol)
{
	bool ident = pol->identity || pol->identity_regexp;
	bool iss = pol->issuer || pol->issuer_regexp;
	if (pol->pki)
		return pol->key || ident || iss ? coco_seterr(ctx, COCOIMG_EINVAL, "a PKI trust root "
		                                              "excludes a key and an identity") : 0;
	if (pol->key && (ident || iss))
		return coco_seterr(ctx, COCOIMG_EINVAL, "a key and a certificate identity are exclusive");
	if (!pol->key && (!ident || !iss))
		return coco_seterr(ctx, COCOIMG_EINVAL, "keyless verification needs an identity and an "
		                   "OIDC issuer");
	if (!pol->key && !pol->root)
		return coco_seterr(ctx, COCOIMG_EINVAL, "keyless verification needs a trusted root");
	return 0;
}

static int fill_result(vstate *v)
{
	coco_sigstore_result *r = v->res;
	r->dsse = v->b.dsse;
	r->signed_time = v->n_times ? v->times[0] : 0;
	if (!(r->media_type = coco_strdup(v->b.media_type)))
		return coco_oom(v->ctx);
	if (!v->b.dsse)
		return 0;
	if (!(r->payload_type = coco_strdup(v->b.payload_type)) ||
	    coco_buf_append(&r->payload, v->b.payload.data, v->b.payload.len))
		return coco_oom(v->ctx);
	return 0;
}

static int run_checks(vstate *v)
{
	int rc = choose_signer(v);
	if (!rc)
		rc = artifact_digest(v);
	if (!rc)
		rc = v->b.dsse ? verify_dsse(v) : verify_message(v);
	if (!rc)
		rc = verify_tlogs(v);
	if (!rc)
		rc = verify_timestamps(v);
	if (!rc && v->b.leaf)
		rc = v->pol->pki ? verify_pki(v) : verify_certificate(v);
	if (!rc)
		rc = fill_result(v);
	return rc;
}

int coco_sigstore_verify_bundle(cocoimg_ctx *ctx, const void *bundle, size_t len,
                                const coco_sigstore_artifact *art,
                                const coco_sigstore_policy *pol, coco_sigstore_result *res)
{
	coco_sigstore_result local = {0};
	vstate v = { .ctx = ctx, .pol = pol, .art = art, .res = res ? res : &local };
	*v.res = (coco_sigstore_result){0};
	v.now = pol->now ? pol->now : (int64_t)time(NULL);
	int rc = check_policy(ctx, pol);
	if (rc)
		return rc;
	rc = coco_bundle_parse(ctx, bundle, len, &v.b);
	if (rc)
		v.res->failed = COCO_SIGCHECK_BUNDLE;
	else
		rc = run_checks(&v);
	if (rc)
		coco_sigstore_result_clear_data(v.res);
	if (!rc && pol->key && !v.n_times)
		v.res->signed_time = 0;
	coco_bundle_clear(&v.b);
	coco_buf_free(&v.signer_der);
	coco_sigstore_result_clear(&local);
	return rc;
}

/* Free what a result holds but keep `failed`. */
void coco_sigstore_result_clear_data(coco_sigstore_result *r)
{
	coco_sigcheck f = r->failed;
	coco_sigstore_result_clear(r);
	r->failed = f;
}

void coco_sigstore_result_clear(coco_sigstore_result *r)
{
	if (!r)
		return;
	coco_buf_free(&r->payload);
	COCO_CLEAR_FIELDS(r, r->media_type, r->payload_type, r->predicate_type, r->san,
	                  r->issuer);
}
