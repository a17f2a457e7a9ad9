/*
 * The trust material of one sigstoreSigned requirement, read when it is
 * evaluated (as containers/image's prepareTrustRoot): public keys, Rekor
 * public keys (ECDSA only), Fulcio CA certificates, PKI roots and
 * intermediates, a sigstore trusted root; every path is read through the
 * policy's reader (local file or resource URI).  The result is the
 * coco_cosign_trust the cosign verifier takes.
 */
#include "policy.h"
#include "policy_rules.h"
#include "sigstore.h"
#include "trust.h"
#include "../base.h"

#include <stdlib.h>
#include <string.h>

/* The bytes of a path / data source (data when no path). */
static int read_src(cocoimg_ctx *ctx, const coco_trust_reader *rd, const pr_src *s,
                    coco_buf *out)
{
	if (s->path)
		return coco_trust_read_path(ctx, rd, s->path, COCO_POLICY_FILE_MAX, out);
	return coco_buf_append(out, s->data.data, s->data.len) ? coco_oom(ctx) : 0;
}

/* Append the one key of each PEM blob to *keys; `what` names them in
 * errors ("public key", "Rekor public key"). */
static int keys_from_blobs(cocoimg_ctx *ctx, const coco_buf *blobs, size_t nb, const char *what,
                           bool ecdsa_only, EVP_PKEY ***keys, size_t *nk)
{
	for (size_t i = 0; i < nb; i++) {
		EVP_PKEY **k = NULL;
		size_t n = 0;
		int rc = coco_pubkeys_load_pem(ctx, blobs[i].data, blobs[i].len, &k, &n);
		if (rc)
			return coco_preferr(ctx, rc, "parsing %s %zu", what, i + 1);
		if (ecdsa_only && n && EVP_PKEY_get_base_id(k[0]) != EVP_PKEY_EC) {
			coco_pubkeys_free(k, n);
			return coco_seterr(ctx, COCOIMG_ECONFIG, "%s %zu is not using ECDSA", what, i + 1);
		}
		EVP_PKEY **nv = realloc(*keys, (*nk + n + 1) * sizeof(*nv));
		if (!nv) {
			coco_pubkeys_free(k, n);
			return coco_oom(ctx);
		}
		*keys = nv;
		memcpy(*keys + *nk, k, n * sizeof(*k));
		*nk += n;
		free(k);       /* the array only; the keys moved */
	}
	return 0;
}

/* Keys from paths or inline data (keyPath..keyDatas, rekorPublicKey*). */
static int load_keys(cocoimg_ctx *ctx, const coco_trust_reader *rd, char *const *paths,
                     size_t np, const coco_buf *datas, size_t nd, const char *what,
                     bool ecdsa_only, EVP_PKEY ***keys, size_t *nk)
{
	if (!np)
		return keys_from_blobs(ctx, datas, nd, what, ecdsa_only, keys, nk);
	coco_buf *blobs = calloc(np, sizeof(*blobs));
	if (!blobs)
		return coco_oom(ctx);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < np; i++)
		rc = coco_trust_read_path(ctx, rd, paths[i], COCO_POLICY_FILE_MAX, &blobs[i]);
	if (rc == 0)
		rc = keys_from_blobs(ctx, blobs, np, what, ecdsa_only, keys, nk);
	COCO_FREE_ARRAY(blobs, np, coco_buf_free);
	return rc;
}

/* Every PEM certificate of b (coco_pem_certs), at least one. */
static STACK_OF(X509) *pem_cert_stack(const coco_buf *b, bool lenient)
{
	STACK_OF(X509) *v = coco_pem_certs(b->data, b->len, lenient);
	if (v && !sk_X509_num(v)) {
		sk_X509_free(v);
		v = NULL;
	}
	return v;
}

static int load_pki(cocoimg_ctx *ctx, const coco_trust_reader *rd, const pr_sigstore *ss,
                    coco_sigstore_material *m)
{
	coco_buf b = COCO_BUF_INIT;
	int rc = read_src(ctx, rd, &ss->pki_roots, &b);
	if (rc == 0 && !(m->pki.roots = pem_cert_stack(&b, true)))
		rc = coco_seterr(ctx, COCOIMG_ECONFIG, "error loading PKI CA Roots certificates");
	b.len = 0;
	bool inter = ss->pki_intermediates.path || ss->pki_intermediates.has_data;
	if (rc == 0 && inter && !(rc = read_src(ctx, rd, &ss->pki_intermediates, &b)) &&
	    !(m->pki.intermediates = pem_cert_stack(&b, false)))
		rc = coco_seterr(ctx, COCOIMG_ECONFIG, "loading trusted intermediate certificates "
		                 "failed");
	coco_buf_free(&b);
	m->pki.subject_email = ss->pki_email;
	m->pki.subject_hostname = ss->pki_hostname;
	m->trust.pki = true;
	m->trust.pki_trust = &m->pki;
	return rc;
}

static int load_fulcio_cas(cocoimg_ctx *ctx, const coco_trust_reader *rd, const pr_sigstore *ss,
                           coco_sigstore_material *m)
{
	coco_buf b = COCO_BUF_INIT;
	int rc = read_src(ctx, rd, &ss->fulcio_ca, &b);
	if (rc == 0)
		rc = coco_trustroot_new(ctx, &m->fulcio_cas);
	if (rc == 0 && coco_trustroot_add_ca_pem(ctx, m->fulcio_cas, b.data, b.len))
		rc = coco_seterr(ctx, COCOIMG_ECONFIG, "error loading Fulcio CA certificates");
	coco_buf_free(&b);
	return rc;
}

static int load_trusted_root(cocoimg_ctx *ctx, const coco_trust_reader *rd, const char *path,
                             coco_sigstore_material *m)
{
	coco_buf b = COCO_BUF_INIT;
	int rc = coco_trust_read_path(ctx, rd, path, COCO_TRUSTROOT_MAX, &b);
	if (rc == 0 && (rc = coco_trustroot_parse(ctx, b.data, b.len, &m->root)) != COCOIMG_ENOMEM)
		rc = rc ? coco_preferr(ctx, rc, "trusted root %s", path) : 0;
	coco_buf_free(&b);
	return rc;
}

/* fulcio: the CAs of caPath/caData or of the trusted root; identity and
 * issuer as the policy (or cosign-style flags) ask. */
static int load_fulcio(cocoimg_ctx *ctx, const coco_trust_reader *rd, const pr_sigstore *ss,
                       coco_sigstore_material *m)
{
	coco_cosign_trust *t = &m->trust;
	t->fulcio = true;
	t->oidc_issuer = ss->oidc_issuer;
	t->subject_email = ss->subject_email;
	if (ss->identity || ss->identity_regexp) {
		m->match = (coco_sigstore_policy){ .root = m->root, .identity = ss->identity,
		                                   .identity_regexp = ss->identity_regexp,
		                                   .issuer = ss->issuer,
		                                   .issuer_regexp = ss->issuer_regexp };
		t->match = &m->match;
	}
	if (m->root) {
		t->fulcio_root = m->root;
		return 0;
	}
	int rc = load_fulcio_cas(ctx, rd, ss, m);
	t->fulcio_root = m->fulcio_cas;
	return rc;
}

/* The Rekor keys as the logs of a root (m->fulcio_cas, made when there are
 * no Fulcio CAs), so that bundles are checked against them too. */
static int rekor_into_root(cocoimg_ctx *ctx, coco_sigstore_material *m)
{
	int rc = m->fulcio_cas ? 0 : coco_trustroot_new(ctx, &m->fulcio_cas);
	for (size_t i = 0; rc == 0 && i < m->n_rekor; i++)
		rc = coco_trustroot_add_tlog_key(ctx, m->fulcio_cas, m->rekor[i]);
	return rc;
}

int coco_sigstore_material_load(cocoimg_ctx *ctx, const coco_trust_reader *rd, const pr *r,
                                int64_t now, coco_sigstore_material *m)
{
	memset(m, 0, sizeof(*m));
	const pr_sigstore *ss = &r->ss;
	coco_cosign_trust *t = &m->trust;
	t->now = now;
	int rc = 0;
	if (r->has_paths || r->has_datas)
		rc = load_keys(ctx, rd, r->key_paths, r->has_paths ? r->n_key_paths : 0, r->key_datas,
		               r->has_datas ? r->n_key_datas : 0, "public key", false, &m->keys,
		               &m->n_keys);
	if (rc == 0 && ss->rekor)
		rc = load_keys(ctx, rd, ss->rekor_paths, ss->n_rekor_paths, ss->rekor_datas,
		               ss->n_rekor_datas, "Rekor public key", true, &m->rekor, &m->n_rekor);
	if (rc == 0 && ss->trusted_root)
		rc = load_trusted_root(ctx, rd, ss->trusted_root, m);
	if (rc == 0 && ss->fulcio)
		rc = load_fulcio(ctx, rd, ss, m);
	if (rc == 0 && ss->pki)
		rc = load_pki(ctx, rd, ss, m);
	if (rc == 0 && m->n_rekor && !m->root)
		rc = rekor_into_root(ctx, m);
	t->keys = m->keys;
	t->n_keys = m->n_keys;
	t->rekor_keys = m->rekor;
	t->n_rekor_keys = m->n_rekor;
	t->tlog_root = m->root;
	t->ignore_tlog = ss->ignore_tlog;
	t->ignore_sct = ss->ignore_sct;
	if (rc == 0 && !ss->fulcio && !ss->pki && !m->n_keys)
		rc = coco_seterr(ctx, COCOIMG_ECONFIG, "no public keys in the key data");
	if (rc == 0 && ss->rekor && !m->n_rekor)
		rc = coco_seterr(ctx, COCOIMG_ECONFIG, "the rekorPublicKey* fields produced no keys");
	return rc;
}

void coco_sigstore_material_clear(coco_sigstore_material *m)
{
	coco_pubkeys_free(m->keys, m->n_keys);
	coco_pubkeys_free(m->rekor, m->n_rekor);
	coco_trustroot_free(m->root);
	coco_trustroot_free(m->fulcio_cas);
	sk_X509_pop_free(m->pki.roots, X509_free);
	sk_X509_pop_free(m->pki.intermediates, X509_free);
	memset(m, 0, sizeof(*m));
}
