/* Unit tests for the cosign code: the containers/image fixtures through
 * coco_cosign_verify + payload and digest checks, key loading (plain and
 * cosign-encrypted), signing, and the attachment layout. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base.h"
#include "digest.h"
#include "image_open.h"
#include "image_trust.h"
#include "oci/oci.h"
#include "oci/referrers_index.h"
#include "oci/resolve.h"
#include "ref.h"
#include "transport.h"
#include "trust/sigstore.h"
#include "trust/trust.h"

#include <dirent.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if HAVE_SODIUM
#include <sodium.h>
#endif

static cocoimg_ctx *ctx;

static int setup(void **state)
{
	(void)state;
	return cocoimg_ctx_new(&ctx);
}

static int teardown(void **state)
{
	(void)state;
	cocoimg_ctx_free(ctx);
	return 0;
}

static bool read_fix(const char *rel, coco_buf *out)
{
	char *p = coco_asprintf("tests/data/containers-image-signature/%s", rel);
	out->len = 0;
	int rc = coco_read_file(ctx, p, 1 << 20, out, COCOIMG_ENOTFOUND);
	free(p);
	return rc == 0;
}

static EVP_PKEY **load_pub(const char *rel, size_t *n)
{
	coco_buf b = COCO_BUF_INIT;
	assert_true(read_fix(rel, &b));
	EVP_PKEY **keys = NULL;
	assert_int_equal(coco_pubkeys_load_pem(ctx, b.data, b.len, &keys, n), 0);
	coco_buf_free(&b);
	return keys;
}

static void sig_clear(coco_sigstore_sig *s)
{
	coco_buf_free(&s->payload);
	free(s->signature_b64);
	free(s->cert_pem);
	free(s->chain_pem);
	free(s->bundle_json);
}

typedef enum {
	V_ACCEPT = 0,
	V_NO_SIGNATURE,    /* nothing with the simple-signing MIME type */
	V_BAD_SIGNATURE,   /* cryptographic check failed for every signature */
	V_DIGEST_MISMATCH, /* signed, but not for this manifest */
	V_UNSUPPORTED,     /* needs Rekor / Fulcio / PKI */
} verdict;

/*
 * Evaluate a dir-img-* fixture like a sigstoreSigned requirement with the
 * given keys would: skip non-signature MIME types, accept when any
 * signature verifies and its digest equals sha256(manifest.json).
 */
static verdict judge(const char *dir, EVP_PKEY *const *keys, size_t n_keys,
                     const coco_cosign_trust *trust_override)
{
	coco_buf man = COCO_BUF_INIT;
	char *mp = coco_asprintf("%s/manifest.json", dir);
	bool have_manifest = read_fix(mp, &man);
	free(mp);
	char mdigest[COCO_DIGEST_STRLEN] = "";
	if (have_manifest)
		assert_int_equal(coco_digest_bytes(COCO_SHA256, man.data, man.len, mdigest), 0);
	coco_buf_free(&man);

	verdict best = V_NO_SIGNATURE;
	for (int i = 1;; i++) {
		char *sp = coco_asprintf("%s/signature-%d", dir, i);
		coco_buf blob = COCO_BUF_INIT;
		bool ok = read_fix(sp, &blob);
		free(sp);
		if (!ok) {
			coco_buf_free(&blob);
			break;
		}
		coco_sigstore_sig sig;
		char *mime = NULL;
		assert_int_equal(coco_sigstore_sig_from_blob(ctx, blob.data, blob.len, &sig, &mime), 0);
		coco_buf_free(&blob);
		if (strcmp(mime, COCO_COSIGN_SIMPLESIGNING_MT)) {
			free(mime);
			sig_clear(&sig);
			continue;
		}
		free(mime);
		char *d = NULL, *ref = NULL;
		coco_cosign_trust t = { .keys = keys, .n_keys = n_keys };
		int rc = coco_cosign_verify_ex(ctx, &sig, trust_override ? trust_override : &t, &d,
		                               &ref, NULL);
		verdict v;
		if (rc == COCOIMG_EUNSUPPORTED)
			v = V_UNSUPPORTED;
		else if (rc)
			v = V_BAD_SIGNATURE;
		else if (!have_manifest || strcmp(d, mdigest))
			v = V_DIGEST_MISMATCH;
		else
			v = V_ACCEPT;
		if (!rc) {
			assert_non_null(ref);
			assert_true(strlen(ref) > 0);
		}
		free(d);
		free(ref);
		sig_clear(&sig);
		if (v == V_ACCEPT || best == V_NO_SIGNATURE || v == V_UNSUPPORTED)
			best = v;
		else if (best != V_ACCEPT && v == V_DIGEST_MISMATCH)
			best = v;
		if (best == V_ACCEPT)
			break;
	}
	return best;
}

static void test_fixture_verdicts(void **state)
{
	(void)state;
	size_t n1, n2;
	EVP_PKEY **k1 = load_pub("cosign.pub", &n1);
	EVP_PKEY **k2 = load_pub("cosign2.pub", &n2);
	assert_int_equal(n1, 1);
	assert_int_equal(n2, 1);

	assert_int_equal(judge("dir-img-cosign-valid", k1, n1, NULL), V_ACCEPT);
	assert_int_equal(judge("dir-img-cosign-valid-2", k1, n1, NULL), V_ACCEPT);
	assert_int_equal(judge("dir-img-cosign-valid-with-tag", k1, n1, NULL), V_ACCEPT);
	assert_int_equal(judge("dir-img-cosign-mixed", k1, n1, NULL), V_ACCEPT);
	assert_int_equal(judge("dir-img-cosign-modified-manifest", k1, n1, NULL), V_DIGEST_MISMATCH);
	assert_int_equal(judge("dir-img-cosign-manifest-digest-error", k1, n1, NULL),
	                 V_DIGEST_MISMATCH);
	assert_int_equal(judge("dir-img-cosign-no-manifest", k1, n1, NULL), V_DIGEST_MISMATCH);
	assert_int_equal(judge("dir-img-cosign-other-attachment", k1, n1, NULL), V_NO_SIGNATURE);
	/* the wrong key */
	assert_int_equal(judge("dir-img-cosign-valid", k2, n2, NULL), V_BAD_SIGNATURE);
	/* key mode without a Rekor key ignores the bundle */
	assert_int_equal(judge("dir-img-cosign-key-rekor-valid", k2, n2, NULL), V_ACCEPT);
	assert_int_equal(judge("dir-img-cosign-key-rekor-valid", k1, n1, NULL), V_BAD_SIGNATURE);
	/* either of two keys will do */
	EVP_PKEY *both[2] = { k1[0], k2[0] };
	assert_int_equal(judge("dir-img-cosign-key-rekor-valid", both, 2, NULL), V_ACCEPT);
	assert_int_equal(judge("dir-img-cosign-valid", both, 2, NULL), V_ACCEPT);

	/* a bundle is required in Rekor mode */
	size_t nr;
	EVP_PKEY **rk = load_pub("rekor.pub", &nr);
	coco_cosign_trust rekor = { .keys = k2, .n_keys = n2, .rekor_keys = rk, .n_rekor_keys = nr };
	assert_int_equal(judge("dir-img-cosign-valid", NULL, 0, &rekor), V_BAD_SIGNATURE);
	coco_sigstore_sig nobundle = { .signature_b64 = (char *)"MEUCIQ==" };
	char *d = NULL, *r = NULL;
	assert_int_equal(coco_cosign_verify_ex(ctx, &nobundle, &rekor, &d, &r, NULL), COCOIMG_EPOLICY);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "dev.sigstore.cosign/bundle"));
	nobundle.signature_b64 = NULL;
	assert_int_equal(coco_cosign_verify(ctx, &nobundle, k1, n1, &d, &r), COCOIMG_EPOLICY);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "dev.cosignproject.cosign/signature"));
	nobundle.signature_b64 = (char *)"not base64!";
	assert_int_equal(coco_cosign_verify(ctx, &nobundle, k1, n1, &d, &r), COCOIMG_EPOLICY);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "base64"));
	assert_int_equal(coco_cosign_verify(ctx, &nobundle, k1, 0, &d, &r), COCOIMG_EPOLICY);

	coco_pubkeys_free(rk, nr);
	coco_pubkeys_free(k1, n1);
	coco_pubkeys_free(k2, n2);
}

/* signature-1 of a fixture with annotation `which` (certificate, chain,
 * bundle) replaced by value (NULL: removed), through the verifier. */
static int verify_mod(const char *dir, const coco_cosign_trust *t, const char *which,
                      const char *value, coco_sigcheck *failed)
{
	char *sp = coco_asprintf("%s/signature-1", dir);
	coco_buf blob = COCO_BUF_INIT;
	assert_true(read_fix(sp, &blob));
	free(sp);
	coco_sigstore_sig sig;
	char *mime = NULL;
	assert_int_equal(coco_sigstore_sig_from_blob(ctx, blob.data, blob.len, &sig, &mime), 0);
	coco_buf_free(&blob);
	free(mime);
	char **slot = !which ? NULL : !strcmp(which, "certificate") ? &sig.cert_pem :
	              !strcmp(which, "chain") ? &sig.chain_pem : &sig.bundle_json;
	if (slot) {
		free(*slot);
		*slot = value ? coco_strdup(value) : NULL;
	}
	char *d = NULL, *r = NULL;
	int rc = coco_cosign_verify_ex(ctx, &sig, t, &d, &r, failed);
	free(d);
	free(r);
	sig_clear(&sig);
	return rc;
}

/* An annotation of a fixture's signature-1 (malloc'd). */
static char *fixture_annotation(const char *dir, const char *which)
{
	char *sp = coco_asprintf("%s/signature-1", dir);
	coco_buf blob = COCO_BUF_INIT;
	assert_true(read_fix(sp, &blob));
	free(sp);
	coco_sigstore_sig sig;
	char *mime = NULL;
	assert_int_equal(coco_sigstore_sig_from_blob(ctx, blob.data, blob.len, &sig, &mime), 0);
	coco_buf_free(&blob);
	free(mime);
	char *v = coco_strdup(!strcmp(which, "certificate") ? sig.cert_pem :
	                      !strcmp(which, "chain") ? sig.chain_pem : sig.bundle_json);
	sig_clear(&sig);
	return v;
}

static coco_trustroot *ca_root(const char *rel)
{
	coco_buf b = COCO_BUF_INIT;
	assert_true(read_fix(rel, &b));
	coco_trustroot *tr = NULL;
	assert_int_equal(coco_trustroot_new(ctx, &tr), 0);
	assert_int_equal(coco_trustroot_add_ca_pem(ctx, tr, b.data, b.len), 0);
	coco_buf_free(&b);
	return tr;
}

static STACK_OF(X509) *cert_stack(const char *rel)
{
	coco_trustroot *tr = ca_root(rel);
	STACK_OF(X509) *v = sk_X509_new_null();
	for (size_t i = 0; i < tr->cas[0].n_certs; i++) {
		X509_up_ref(tr->cas[0].certs[i]);
		sk_X509_push(v, tr->cas[0].certs[i]);
	}
	coco_trustroot_free(tr);
	return v;
}

#define KR "dir-img-cosign-key-rekor-valid"
#define FR "dir-img-cosign-fulcio-rekor-valid"
#define PK "dir-img-cosign-pki-valid"

/* containers/image's TestPRrSigstoreSignedIsSignatureAccepted cases for
 * key + Rekor, Fulcio and PKI, with its verdicts. */
static void test_rekor_fulcio_pki(void **state)
{
	(void)state;
	size_t n1, n2, nr;
	EVP_PKEY **k1 = load_pub("cosign.pub", &n1), **k2 = load_pub("cosign2.pub", &n2);
	EVP_PKEY **rk = load_pub("rekor.pub", &nr);
	EVP_PKEY *both[2] = { k1[0], k2[0] }, *both_r[2] = { k2[0], k1[0] };
	EVP_PKEY *rekors[2] = { k1[0], rk[0] };
	coco_sigcheck f = COCO_SIGCHECK_NONE;

	/* key + Rekor: any key order, any Rekor key order */
	coco_cosign_trust kr = { .keys = k2, .n_keys = 1, .rekor_keys = rk, .n_rekor_keys = 1 };
	assert_int_equal(judge(KR, NULL, 0, &kr), V_ACCEPT);
	kr.keys = both;
	kr.n_keys = 2;
	assert_int_equal(judge(KR, NULL, 0, &kr), V_ACCEPT);
	kr.keys = both_r;
	kr.rekor_keys = rekors;
	kr.n_rekor_keys = 2;
	assert_int_equal(judge(KR, NULL, 0, &kr), V_ACCEPT);
	/* missing or invalid SET */
	assert_int_equal(verify_mod(KR, &kr, "bundle", NULL, &f), COCOIMG_EPOLICY);
	assert_int_equal(f, COCO_SIGCHECK_TLOG);
	assert_int_equal(verify_mod(KR, &kr, "bundle", "this is not a valid SET", &f),
	                 COCOIMG_EPOLICY);
	/* the SET checked with a key that is not Rekor's */
	coco_cosign_trust kbad = { .keys = both, .n_keys = 2, .rekor_keys = k1, .n_rekor_keys = 1 };
	assert_int_equal(verify_mod(KR, &kbad, NULL, NULL, &f), COCOIMG_EPOLICY);
	assert_int_equal(f, COCO_SIGCHECK_TLOG);
	/* a valid SET of another signature */
	char *kset = fixture_annotation(KR, "bundle");
	kr.keys = both;
	assert_int_equal(verify_mod("dir-img-cosign-valid", &kr, "bundle", kset, &f),
	                 COCOIMG_EPOLICY);
	assert_int_equal(f, COCO_SIGCHECK_TLOG);
	free(kset);

	/* Fulcio */
	coco_trustroot *fca = ca_root("fulcio_v1.crt.pem");
	coco_cosign_trust fu = { .rekor_keys = rk, .n_rekor_keys = 1, .fulcio = true,
	                         .fulcio_root = fca, .oidc_issuer = "https://github.com/login/oauth",
	                         .subject_email = "mitr@redhat.com" };
	assert_int_equal(judge(FR, NULL, 0, &fu), V_ACCEPT);
	fu.rekor_keys = rekors;
	fu.n_rekor_keys = 2;
	assert_int_equal(judge(FR, NULL, 0, &fu), V_ACCEPT);
	assert_int_equal(verify_mod(FR, &fu, "bundle", NULL, &f), COCOIMG_EPOLICY);
	assert_int_equal(f, COCO_SIGCHECK_TLOG);
	assert_int_equal(verify_mod(FR, &fu, "certificate", NULL, &f), COCOIMG_EPOLICY);
	assert_int_equal(verify_mod(FR, &fu, "certificate", "this is not a valid certificate", &f),
	                 COCOIMG_EPOLICY);
	assert_int_equal(verify_mod(FR, &fu, "bundle", "this is not a valid SET", &f),
	                 COCOIMG_EPOLICY);
	/* without the chain there is no path to the CA ... */
	assert_int_equal(verify_mod(FR, &fu, "chain", NULL, &f), COCOIMG_EPOLICY);
	assert_int_equal(f, COCO_SIGCHECK_CHAIN);
	/* ... unless the intermediate is trusted directly */
	char *chain = fixture_annotation(FR, "chain");
	coco_trustroot *fca2 = NULL;
	assert_int_equal(coco_trustroot_new(ctx, &fca2), 0);
	assert_int_equal(coco_trustroot_add_ca_pem(ctx, fca2, chain, strlen(chain)), 0);
	coco_cosign_trust fu2 = fu;
	fu2.fulcio_root = fca2;
	assert_int_equal(verify_mod(FR, &fu2, "chain", NULL, &f), 0);
	free(chain);
	/* another e-mail, another issuer, a Rekor key that did not sign */
	fu2 = fu;
	fu2.subject_email = "this-does-not-match@example.com";
	assert_int_equal(verify_mod(FR, &fu2, NULL, NULL, &f), COCOIMG_EPOLICY);
	assert_int_equal(f, COCO_SIGCHECK_IDENTITY);
	fu2 = fu;
	fu2.oidc_issuer = "https://accounts.example.com";
	assert_int_equal(verify_mod(FR, &fu2, NULL, NULL, &f), COCOIMG_EPOLICY);
	assert_int_equal(f, COCO_SIGCHECK_ISSUER);
	fu2 = fu;
	fu2.rekor_keys = k1;
	fu2.n_rekor_keys = 1;
	assert_int_equal(verify_mod(FR, &fu2, NULL, NULL, &f), COCOIMG_EPOLICY);
	assert_int_equal(f, COCO_SIGCHECK_TLOG);

	/* PKI: the chain is checked now (the fixture is valid until 2052) */
	coco_pki_trust pt = { .roots = cert_stack("pki_root_crts.pem"),
	                      .intermediates = cert_stack("pki_intermediate_crts.pem"),
	                      .subject_email = "qiwan@redhat.com",
	                      .subject_hostname = "myhost.example.com" };
	coco_cosign_trust pk = { .pki = true, .pki_trust = &pt };
	assert_int_equal(judge(PK, NULL, 0, &pk), V_ACCEPT);
	assert_int_equal(verify_mod(PK, &pk, "certificate", NULL, &f), COCOIMG_EPOLICY);
	/* no chain annotation: fine with the intermediates configured ... */
	assert_int_equal(verify_mod(PK, &pk, "chain", NULL, &f), 0);
	/* ... refused without them */
	coco_pki_trust pt2 = pt;
	pt2.intermediates = NULL;
	coco_cosign_trust pk2 = { .pki = true, .pki_trust = &pt2 };
	assert_int_equal(verify_mod(PK, &pk2, "chain", NULL, &f), COCOIMG_EPOLICY);
	assert_int_equal(f, COCO_SIGCHECK_CHAIN);
	assert_int_equal(verify_mod(PK, &pk2, NULL, NULL, &f), 0);
	pt2.subject_hostname = "other.example.com";
	assert_int_equal(verify_mod(PK, &pk2, NULL, NULL, &f), COCOIMG_EPOLICY);
	assert_int_equal(f, COCO_SIGCHECK_IDENTITY);
	pt2.subject_hostname = NULL;
	pt2.subject_email = "someone@example.com";
	assert_int_equal(verify_mod(PK, &pk2, NULL, NULL, &f), COCOIMG_EPOLICY);
	pt2.subject_email = NULL;
	pt2.subject_hostname = "*.example.com";
	assert_int_equal(verify_mod(PK, &pk2, NULL, NULL, &f), COCOIMG_EPOLICY);

	sk_X509_pop_free(pt.roots, X509_free);
	sk_X509_pop_free(pt.intermediates, X509_free);
	coco_trustroot_free(fca);
	coco_trustroot_free(fca2);
	coco_pubkeys_free(rk, nr);
	coco_pubkeys_free(k1, n1);
	coco_pubkeys_free(k2, n2);
}

static void test_rekor_bundle_parse(void **state)
{
	(void)state;
	coco_buf b = COCO_BUF_INIT;
	assert_true(read_fix("rekor-set", &b));
	coco_rekor_bundle rb;
	assert_int_equal(coco_rekor_bundle_parse(ctx, coco_buf_cstr(&b), &rb), 0);
	assert_true(rb.integrated_time > 1600000000);
	assert_non_null(rb.body_b64);
	assert_int_equal(strlen(rb.log_id), 64);
	coco_rekor_bundle_clear(&rb);
	coco_buf_free(&b);
	assert_int_equal(coco_rekor_bundle_parse(ctx, "{\"SignedEntryTimestamp\":\"x\"}", &rb),
	                 COCOIMG_EPOLICY);
	assert_int_equal(coco_rekor_bundle_parse(ctx,
	                 "{\"SignedEntryTimestamp\":\"x\",\"Payload\":{\"body\":\"a\","
	                 "\"integratedTime\":1,\"logIndex\":2,\"logID\":\"c\",\"extra\":1}}", &rb),
	                 COCOIMG_EPOLICY);
}

static int parse(const char *s, char **d, char **r)
{
	return coco_cosign_payload_parse(ctx, s, strlen(s), d, r);
}

#define D64 "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00"

static void test_payload_strictness(void **state)
{
	(void)state;
	char *d, *r;
	const char *ok = "{\"critical\":{\"identity\":{\"docker-reference\":\"example.com/a\"},"
	                 "\"image\":{\"docker-manifest-digest\":\"" D64 "\"},"
	                 "\"type\":\"cosign container image signature\"},\"optional\":null}";
	assert_int_equal(parse(ok, &d, &r), 0);
	assert_string_equal(d, D64);
	assert_string_equal(r, "example.com/a");
	free(d);
	free(r);
#define CRIT(id, img, type) "{\"critical\":{\"identity\":" id ",\"image\":" img ",\"type\":" type "}"
#define GOODID "{\"docker-reference\":\"example.com/a\"}"
#define GOODIMG "{\"docker-manifest-digest\":\"" D64 "\"}"
#define GOODTYPE "\"cosign container image signature\""
	static const struct { const char *json; int want; } cases[] = {
		/* optional forms */
		{ CRIT(GOODID, GOODIMG, GOODTYPE) ",\"optional\":{}}", 0 },
		{ CRIT(GOODID, GOODIMG, GOODTYPE) ",\"optional\":{\"creator\":\"x\",\"timestamp\":1657296609,\"other\":[1,{}]}}", 0 },
		{ CRIT(GOODID, GOODIMG, GOODTYPE) ",\"optional\":{\"timestamp\":1e3}}", 0 },
		{ CRIT(GOODID, GOODIMG, GOODTYPE) ",\"optional\":{\"timestamp\":1.5}}", COCOIMG_EPOLICY },
		{ CRIT(GOODID, GOODIMG, GOODTYPE) ",\"optional\":{\"timestamp\":\"1\"}}", COCOIMG_EPOLICY },
		{ CRIT(GOODID, GOODIMG, GOODTYPE) ",\"optional\":{\"creator\":1}}", COCOIMG_EPOLICY },
		{ CRIT(GOODID, GOODIMG, GOODTYPE) ",\"optional\":[]}", COCOIMG_EPOLICY },
		{ CRIT(GOODID, GOODIMG, GOODTYPE) ",\"optional\":\"x\"}", COCOIMG_EPOLICY },
		{ CRIT(GOODID, GOODIMG, GOODTYPE) "}", COCOIMG_EPOLICY },
		{ CRIT(GOODID, GOODIMG, GOODTYPE) ",\"optional\":null,\"extra\":1}", COCOIMG_EPOLICY },
		{ CRIT(GOODID, GOODIMG, GOODTYPE) ",\"optional\":null,\"optional\":null}", COCOIMG_EPOLICY },
		{ CRIT(GOODID, GOODIMG, GOODTYPE) ",\"optional\":null} ", 0 },
		{ CRIT(GOODID, GOODIMG, GOODTYPE) ",\"optional\":null}x", COCOIMG_EPOLICY },
		/* the simple-signing type is not a cosign payload */
		{ CRIT(GOODID, GOODIMG, "\"atomic container signature\"") ",\"optional\":null}", COCOIMG_EPOLICY },
		{ CRIT(GOODID, GOODIMG, "null") ",\"optional\":null}", COCOIMG_EPOLICY },
		{ CRIT(GOODID, GOODIMG, "1") ",\"optional\":null}", COCOIMG_EPOLICY },
		/* digests */
		{ CRIT(GOODID, "{\"docker-manifest-digest\":\"sha256:abc\"}", GOODTYPE) ",\"optional\":null}", COCOIMG_EPOLICY },
		{ CRIT(GOODID, "{\"docker-manifest-digest\":\"SHA256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00\"}", GOODTYPE) ",\"optional\":null}", COCOIMG_EPOLICY },
		{ CRIT(GOODID, "{\"docker-manifest-digest\":\"sha256:634A8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00\"}", GOODTYPE) ",\"optional\":null}", COCOIMG_EPOLICY },
		{ CRIT(GOODID, "{\"docker-manifest-digest\":\"sha384:" "634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00" "0123456789abcdef0123456789abcdef" "\"}", GOODTYPE) ",\"optional\":null}", 0 },
		{ CRIT(GOODID, "{\"docker-manifest-digest\":null}", GOODTYPE) ",\"optional\":null}", COCOIMG_EPOLICY },
		{ CRIT(GOODID, "{\"docker-manifest-digest\":\"" D64 "\",\"x\":1}", GOODTYPE) ",\"optional\":null}", COCOIMG_EPOLICY },
		{ CRIT(GOODID, "{}", GOODTYPE) ",\"optional\":null}", COCOIMG_EPOLICY },
		/* identity */
		{ CRIT("{\"docker-reference\":1}", GOODIMG, GOODTYPE) ",\"optional\":null}", COCOIMG_EPOLICY },
		{ CRIT("{\"docker-reference\":\"a\\u0000b\"}", GOODIMG, GOODTYPE) ",\"optional\":null}", COCOIMG_EPOLICY },
		{ CRIT("{}", GOODIMG, GOODTYPE) ",\"optional\":null}", COCOIMG_EPOLICY },
		{ CRIT("[]", GOODIMG, GOODTYPE) ",\"optional\":null}", COCOIMG_EPOLICY },
		{ "{\"critical\":null,\"optional\":null}", COCOIMG_EPOLICY },
		{ "{\"critical\":{\"identity\":" GOODID ",\"image\":" GOODIMG ",\"type\":" GOODTYPE ",\"x\":1},\"optional\":null}", COCOIMG_EPOLICY },
		{ "[]", COCOIMG_EPOLICY },
		{ "", COCOIMG_EPOLICY },
	};
	for (size_t i = 0; i < COCO_ARRAY_SIZE(cases); i++) {
		int rc = parse(cases[i].json, &d, &r);
		if (rc != cases[i].want)
			fail_msg("case %zu: got %d want %d (%s)", i, rc, cases[i].want,
			         cocoimg_ctx_last_error(ctx));
		if (!rc) {
			free(d);
			free(r);
		} else {
			assert_null(d);
			assert_null(r);
		}
	}
}

static void test_pubkey_loading(void **state)
{
	(void)state;
	EVP_PKEY **k;
	size_t n;
	const char *junk = "no pem here";
	assert_int_equal(coco_pubkeys_load_pem(ctx, (const unsigned char *)junk, strlen(junk), &k, &n),
	                 COCOIMG_ECONFIG);
	/* RSA key (PKIX) from the fixtures, then a certificate (wrong type) */
	coco_buf b = COCO_BUF_INIT;
	assert_true(read_fix("some-rsa-key.pub", &b));
	assert_int_equal(coco_pubkeys_load_pem(ctx, b.data, b.len, &k, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(EVP_PKEY_get_base_id(k[0]), EVP_PKEY_RSA);
	coco_pubkeys_free(k, n);
	assert_true(read_fix("fulcio_v1.crt.pem", &b));
	assert_int_equal(coco_pubkeys_load_pem(ctx, b.data, b.len, &k, &n), COCOIMG_ECONFIG);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "CERTIFICATE"));
	/* several blocks: the first one is the key (as containers/image) */
	coco_buf two = COCO_BUF_INIT;
	assert_true(read_fix("cosign2.pub", &b));
	coco_buf_append(&two, b.data, b.len);
	assert_true(read_fix("cosign.pub", &b));
	coco_buf_append(&two, b.data, b.len);
	assert_int_equal(coco_pubkeys_load_pem(ctx, two.data, two.len, &k, &n), 0);
	assert_int_equal(n, 1);
	coco_pubkeys_free(k, n);
	coco_buf_free(&two);
	coco_buf_free(&b);
	coco_pubkeys_free(NULL, 0);
}

/* ---- signing ---- */

static EVP_PKEY *gen_key(const char *type, const char *param)
{
	EVP_PKEY *k = NULL;
	if (!strcmp(type, "EC"))
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", param);
	else if (!strcmp(type, "RSA"))
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, type);
	assert_non_null(k);
	return k;
}

static char *pem_of(EVP_PKEY *k, bool priv, bool sec1)
{
	BIO *bio = BIO_new(BIO_s_mem());
	if (priv && sec1)
		assert_int_equal(PEM_write_bio_PrivateKey_traditional(bio, k, NULL, NULL, 0, NULL, NULL), 1);
	else if (priv)
		assert_int_equal(PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL), 1);
	else
		assert_int_equal(PEM_write_bio_PUBKEY(bio, k), 1);
	char *data;
	long n = BIO_get_mem_data(bio, &data);
	char *s = coco_strndup(data, (size_t)n);
	BIO_free(bio);
	return s;
}

static void sign_verify_roundtrip(EVP_PKEY *k)
{
	const char *payload = "{\"critical\":{\"identity\":{\"docker-reference\":\"example.com/a\"},"
	                      "\"image\":{\"docker-manifest-digest\":\"" D64 "\"},"
	                      "\"type\":\"cosign container image signature\"},\"optional\":null}";
	char *sig = NULL;
	assert_int_equal(coco_cosign_sign_payload(ctx, k, payload, strlen(payload), &sig), 0);
	char *pub = pem_of(k, false, false);
	EVP_PKEY **keys;
	size_t n;
	assert_int_equal(coco_pubkeys_load_pem(ctx, (unsigned char *)pub, strlen(pub), &keys, &n), 0);
	coco_sigstore_sig s = { .signature_b64 = sig };
	coco_buf_append(&s.payload, payload, strlen(payload));
	char *d, *r;
	assert_int_equal(coco_cosign_verify(ctx, &s, keys, n, &d, &r), 0);
	assert_string_equal(d, D64);
	free(d);
	free(r);
	/* a modified payload fails */
	s.payload.data[20] ^= 1;
	assert_int_equal(coco_cosign_verify(ctx, &s, keys, n, &d, &r), COCOIMG_EPOLICY);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "cryptographic"));
	coco_buf_free(&s.payload);
	coco_pubkeys_free(keys, n);
	free(pub);
	free(sig);
}

static void test_sign_roundtrip(void **state)
{
	(void)state;
	EVP_PKEY *keys[] = { gen_key("EC", "P-256"), gen_key("EC", "P-384"), gen_key("RSA", NULL),
		             gen_key("ED25519", NULL) };
	for (size_t i = 0; i < COCO_ARRAY_SIZE(keys); i++) {
		sign_verify_roundtrip(keys[i]);
		EVP_PKEY_free(keys[i]);
	}
}

static void test_raw_rs_signature(void **state)
{
	(void)state;
	/* sigstore accepts a raw r||s ECDSA signature too */
	EVP_PKEY *k = gen_key("EC", "P-256");
	const char *msg = "payload";
	char *b64;
	assert_int_equal(coco_cosign_sign_payload(ctx, k, msg, strlen(msg), &b64), 0);
	coco_buf der = COCO_BUF_INIT;
	assert_int_equal(coco_b64_decode(b64, strlen(b64), &der), 0);
	const unsigned char *p = der.data;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)der.len);
	assert_non_null(es);
	unsigned char raw[64];
	assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32), 32);
	assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32), 32);
	assert_int_equal(coco_cosign_verify_raw(k, raw, 64, msg, strlen(msg)), 1);
	raw[5] ^= 1;
	assert_int_equal(coco_cosign_verify_raw(k, raw, 64, msg, strlen(msg)), 0);
	assert_int_equal(coco_cosign_verify_raw(k, raw, 63, msg, strlen(msg)), 0);
	ECDSA_SIG_free(es);
	coco_buf_free(&der);
	free(b64);
	EVP_PKEY_free(k);
}

/* The payload cosign writes, byte for byte: rebuild the fixture's. */
static void test_payload_matches_cosign_fixture(void **state)
{
	(void)state;
	coco_buf blob = COCO_BUF_INIT;
	assert_true(read_fix("dir-img-cosign-valid/signature-1", &blob));
	coco_sigstore_sig sig;
	char *mime;
	assert_int_equal(coco_sigstore_sig_from_blob(ctx, blob.data, blob.len, &sig, &mime), 0);
	assert_string_equal(mime, COCO_COSIGN_SIMPLESIGNING_MT);
	coco_dref r;
	assert_int_equal(coco_dref_parse(ctx, "192.168.64.2:5000/cosign-signed-single-sample:latest", &r), 0);
	char *id = coco_cosign_identity_for(&r);
	assert_string_equal(id, "192.168.64.2:5000/cosign-signed-single-sample");
	char *pl = coco_cosign_payload_build(id, D64);
	assert_int_equal(strlen(pl), sig.payload.len);
	assert_memory_equal(pl, sig.payload.data, sig.payload.len);
	/* the signature annotation has the same shape: base64 of an ASN.1
	 * DER SEQUENCE { INTEGER r, INTEGER s } */
	coco_buf der = COCO_BUF_INIT;
	assert_int_equal(coco_b64_decode(sig.signature_b64, strlen(sig.signature_b64), &der), 0);
	assert_int_equal(der.data[0], 0x30);
	assert_int_equal(der.data[1], der.len - 2);
	assert_int_equal(der.data[2], 0x02);
	EVP_PKEY *k = gen_key("EC", "P-256");
	char *mine;
	assert_int_equal(coco_cosign_sign_payload(ctx, k, pl, strlen(pl), &mine), 0);
	coco_buf mder = COCO_BUF_INIT;
	assert_int_equal(coco_b64_decode(mine, strlen(mine), &mder), 0);
	assert_int_equal(mder.data[0], 0x30);
	assert_int_equal(mder.data[1], mder.len - 2);
	assert_int_equal(mder.data[2], 0x02);
	assert_true(mder.len >= 68 && mder.len <= 72);
	/* padded standard base64 like Go's StdEncoding */
	assert_int_equal(strlen(mine) % 4, 0);
	EVP_PKEY_free(k);
	free(mine);
	coco_buf_free(&mder);
	coco_buf_free(&der);

	/* Docker Hub is spelled as go-containerregistry does */
	coco_dref h;
	assert_int_equal(coco_dref_parse(ctx, "busybox", &h), 0);
	char *hid = coco_cosign_identity_for(&h);
	assert_string_equal(hid, "index.docker.io/library/busybox");
	free(hid);
	coco_dref_clear(&h);

	free(pl);
	free(id);
	coco_dref_clear(&r);
	free(mime);
	coco_buf_free(&sig.payload);
	free(sig.signature_b64);
	coco_buf_free(&blob);
}

/* The attachment manifest and config, field by field (cosign via
 * go-containerregistry; spec 4.2: config size 233 for one signature). */
static void test_attachment_layout(void **state)
{
	(void)state;
	const char *pd1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
	const char *pd2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
	coco_buf m = COCO_BUF_INIT, c = COCO_BUF_INIT;
	assert_int_equal(coco_cosign_attachment_build(ctx, NULL, 0, NULL, 0, pd1, 245, "U0lH", &m, &c), 0);
	const char *want_cfg =
		"{\"architecture\":\"\",\"created\":\"0001-01-01T00:00:00Z\",\"history\":[{\"created\":"
		"\"0001-01-01T00:00:00Z\"}],\"os\":\"\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":"
		"[\"sha256:1111111111111111111111111111111111111111111111111111111111111111\"]},"
		"\"config\":{}}";
	assert_int_equal(c.len, 233);
	assert_memory_equal(c.data, want_cfg, c.len);
	char cd[COCO_DIGEST_STRLEN];
	coco_digest_bytes(COCO_SHA256, c.data, c.len, cd);
	char *want_m = coco_asprintf(
		"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"size\":233,"
		"\"digest\":\"%s\"},\"layers\":[{\"mediaType\":"
		"\"application/vnd.dev.cosign.simplesigning.v1+json\",\"size\":245,\"digest\":\"%s\","
		"\"annotations\":{\"dev.cosignproject.cosign/signature\":\"U0lH\"}}]}", cd, pd1);
	assert_int_equal(m.len, strlen(want_m));
	assert_memory_equal(m.data, want_m, m.len);
	/* and it parses as an OCI manifest */
	coco_manifest *pm;
	assert_int_equal(coco_manifest_parse(ctx, m.data, m.len, COCO_MT_OCI_MANIFEST, &pm), 0);
	assert_int_equal(pm->n_layers, 1);
	coco_manifest_free(pm);

	/* appending keeps the existing signature first */
	coco_buf m2 = COCO_BUF_INIT, c2 = COCO_BUF_INIT;
	assert_int_equal(coco_cosign_attachment_build(ctx, m.data, m.len, c.data, c.len, pd2, 300,
	                                              "T1RIRVI=", &m2, &c2), 0);
	const char *want_cfg2 =
		"{\"architecture\":\"\",\"created\":\"0001-01-01T00:00:00Z\",\"history\":[{\"created\":"
		"\"0001-01-01T00:00:00Z\"},{\"created\":\"0001-01-01T00:00:00Z\"}],\"os\":\"\","
		"\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:1111111111111111111111111111111111111111111111111111111111111111\","
		"\"sha256:2222222222222222222222222222222222222222222222222222222222222222\"]},"
		"\"config\":{}}";
	assert_int_equal(c2.len, strlen(want_cfg2));
	assert_memory_equal(c2.data, want_cfg2, c2.len);
	coco_digest_bytes(COCO_SHA256, c2.data, c2.len, cd);
	char *want_m2 = coco_asprintf(
		"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"size\":%zu,"
		"\"digest\":\"%s\"},\"layers\":[{\"mediaType\":"
		"\"application/vnd.dev.cosign.simplesigning.v1+json\",\"size\":245,\"digest\":\"%s\","
		"\"annotations\":{\"dev.cosignproject.cosign/signature\":\"U0lH\"}},{\"mediaType\":"
		"\"application/vnd.dev.cosign.simplesigning.v1+json\",\"size\":300,\"digest\":\"%s\","
		"\"annotations\":{\"dev.cosignproject.cosign/signature\":\"T1RIRVI=\"}}]}",
		c2.len, cd, pd1, pd2);
	assert_int_equal(m2.len, strlen(want_m2));
	assert_memory_equal(m2.data, want_m2, m2.len);
	free(want_m);
	free(want_m2);
	coco_buf_free(&m);
	coco_buf_free(&c);
	coco_buf_free(&m2);
	coco_buf_free(&c2);
}

static void test_attachment_tag(void **state)
{
	(void)state;
	char *t = coco_cosign_attachment_tag(D64);
	assert_string_equal(t, "sha256-634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00.sig");
	free(t);
	assert_null(coco_cosign_attachment_tag("sha256:xyz"));
	assert_null(coco_cosign_attachment_tag(NULL));
}

/* ---- private keys ---- */

static char *write_tmp(const char *content, size_t len)
{
	char *path = coco_strdup("/tmp/coco-test-cosign-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	close(fd);
	return path;
}

static void test_privkey_plain_formats(void **state)
{
	(void)state;
	EVP_PKEY *ec = gen_key("EC", "P-256");
	char *pkcs8 = pem_of(ec, true, false);
	char *sec1 = pem_of(ec, true, true);
	assert_non_null(strstr(sec1, "EC PRIVATE KEY"));
	EVP_PKEY *k;
	assert_int_equal(coco_cosign_privkey_load(ctx, (unsigned char *)pkcs8, strlen(pkcs8), NULL, "k", &k), 0);
	assert_int_equal(EVP_PKEY_eq(k, ec), 1);
	EVP_PKEY_free(k);
	assert_int_equal(coco_cosign_privkey_load(ctx, (unsigned char *)sec1, strlen(sec1), NULL, "k", &k), 0);
	assert_int_equal(EVP_PKEY_eq(k, ec), 1);
	EVP_PKEY_free(k);
	/* PKCS#8 encrypted with a passphrase */
	BIO *bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, ec, EVP_aes_256_cbc(), "pw", 2, NULL, NULL), 1);
	char *data;
	long n = BIO_get_mem_data(bio, &data);
	assert_int_equal(coco_cosign_privkey_load(ctx, (unsigned char *)data, (size_t)n, "pw", "k", &k), 0);
	EVP_PKEY_free(k);
	assert_int_equal(coco_cosign_privkey_load(ctx, (unsigned char *)data, (size_t)n, "bad", "k", &k),
	                 COCOIMG_ECONFIG);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "cannot decrypt key"));
	assert_null(strstr(cocoimg_ctx_last_error(ctx), "bad"));
	assert_int_equal(coco_cosign_privkey_load(ctx, (unsigned char *)data, (size_t)n, NULL, "k", &k),
	                 COCOIMG_ECONFIG);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "passphrase"));
	BIO_free(bio);
	/* a public key is not a private key */
	char *pub = pem_of(ec, false, false);
	assert_int_equal(coco_cosign_privkey_load(ctx, (unsigned char *)pub, strlen(pub), NULL, "k", &k),
	                 COCOIMG_ECONFIG);
	free(pub);
	/* Ed25519 and RSA PKCS#8 */
	EVP_PKEY *ed = gen_key("ED25519", NULL);
	char *edp = pem_of(ed, true, false);
	assert_int_equal(coco_cosign_privkey_load(ctx, (unsigned char *)edp, strlen(edp), NULL, "k", &k), 0);
	EVP_PKEY_free(k);
	free(edp);
	EVP_PKEY_free(ed);
	/* unsupported curve */
	EVP_PKEY *k1 = gen_key("EC", "secp256k1");
	char *k1p = pem_of(k1, true, false);
	assert_int_equal(coco_cosign_privkey_load(ctx, (unsigned char *)k1p, strlen(k1p), NULL, "k", &k),
	                 COCOIMG_ECONFIG);
	free(k1p);
	EVP_PKEY_free(k1);
	free(pkcs8);
	free(sec1);
	EVP_PKEY_free(ec);
}

static void test_passphrase_file(void **state)
{
	(void)state;
	char *p;
	char *f = write_tmp("secret\nsecond line\n", 19);
	assert_int_equal(coco_passphrase_read_file(ctx, f, &p), 0);
	assert_string_equal(p, "secret");
	free(p);
	unlink(f);
	free(f);
	f = write_tmp("with cr\r\n", 9);
	assert_int_equal(coco_passphrase_read_file(ctx, f, &p), 0);
	assert_string_equal(p, "with cr\r");
	free(p);
	unlink(f);
	free(f);
	f = write_tmp("nonl", 4);
	assert_int_equal(coco_passphrase_read_file(ctx, f, &p), 0);
	assert_string_equal(p, "nonl");
	free(p);
	unlink(f);
	free(f);
	assert_int_equal(coco_passphrase_read_file(ctx, "/nonexistent/x", &p), COCOIMG_EINVAL);
}

#if HAVE_SODIUM
/* Encrypt key's PKCS#8 DER in cosign's format, independently of the
 * decoder: libsodium scrypt + secretbox, JSON written by hand. */
static char *cosign_encrypt(EVP_PKEY *key, const char *pass, unsigned long long N,
                            const char *pem_type)
{
	unsigned char *der = NULL;
	int der_len = i2d_PrivateKey(key, &der);
	/* i2d_PrivateKey gives the traditional form for EC; use PKCS#8 */
	OPENSSL_free(der);
	der = NULL;
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(key);
	der_len = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
	PKCS8_PRIV_KEY_INFO_free(p8);
	assert_true(der_len > 0);
	unsigned char salt[32], nonce[24], kk[32];
	randombytes_buf(salt, sizeof(salt));
	randombytes_buf(nonce, sizeof(nonce));
	assert_int_equal(crypto_pwhash_scryptsalsa208sha256_ll((const uint8_t *)pass, strlen(pass),
	                 salt, sizeof(salt), N, 8, 1, kk, sizeof(kk)), 0);
	unsigned char *ct = malloc((size_t)der_len + 16);
	crypto_secretbox_easy(ct, der, (unsigned long long)der_len, nonce, kk);
	char *s_salt = coco_b64_encode(salt, 32), *s_nonce = coco_b64_encode(nonce, 24),
	     *s_ct = coco_b64_encode(ct, (size_t)der_len + 16);
	char *json = coco_asprintf("{\"kdf\":{\"name\":\"scrypt\",\"params\":{\"N\":%llu,\"r\":8,\"p\":1},"
	                           "\"salt\":\"%s\"},\"cipher\":{\"name\":\"nacl/secretbox\",\"nonce\":"
	                           "\"%s\"},\"ciphertext\":\"%s\"}", N, s_salt, s_nonce, s_ct);
	char *body = coco_b64_encode((unsigned char *)json, strlen(json));
	coco_buf pem = COCO_BUF_INIT;
	coco_buf_appendf(&pem, "-----BEGIN %s-----\n", pem_type);
	for (size_t i = 0; i < strlen(body); i += 64)
		coco_buf_appendf(&pem, "%.64s\n", body + i);
	coco_buf_appendf(&pem, "-----END %s-----\n", pem_type);
	free(body);
	free(json);
	free(s_salt);
	free(s_nonce);
	free(s_ct);
	free(ct);
	OPENSSL_free(der);
	return coco_buf_cstr(&pem);
}

static void test_privkey_cosign_encrypted(void **state)
{
	(void)state;
	EVP_PKEY *ec = gen_key("EC", "P-256");
	const char *types[] = { "ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY" };
	for (size_t i = 0; i < 2; i++) {
		char *pem = cosign_encrypt(ec, "correct horse", i ? 32768 : 65536, types[i]);
		EVP_PKEY *k;
		assert_int_equal(coco_cosign_privkey_load(ctx, (unsigned char *)pem, strlen(pem),
		                                          "correct horse", "cosign.key", &k), 0);
		assert_int_equal(EVP_PKEY_eq(k, ec), 1);
		EVP_PKEY_free(k);
		assert_int_equal(coco_cosign_privkey_load(ctx, (unsigned char *)pem, strlen(pem),
		                                          "wrong horse", "cosign.key", &k),
		                 COCOIMG_ECONFIG);
		assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "cannot decrypt key cosign.key"));
		assert_null(strstr(cocoimg_ctx_last_error(ctx), "horse"));
		/* no passphrase at all is not a wrong one */
		assert_int_equal(coco_cosign_privkey_load(ctx, (unsigned char *)pem, strlen(pem), NULL,
		                                          "cosign.key", &k),
		                 COCOIMG_ECONFIG);
		assert_non_null(strstr(cocoimg_ctx_last_error(ctx),
		                       "cosign.key is encrypted and no passphrase was given"));
		assert_null(strstr(cocoimg_ctx_last_error(ctx), "wrong passphrase"));
		free(pem);
	}
	/* scrypt parameters outside the accepted set are refused up front */
	char *pem = cosign_encrypt(ec, "", 16384, "ENCRYPTED SIGSTORE PRIVATE KEY");
	EVP_PKEY *k;
	assert_int_equal(coco_cosign_privkey_load(ctx, (unsigned char *)pem, strlen(pem), "", "k", &k),
	                 COCOIMG_ECONFIG);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "scrypt"));
	free(pem);
	/* Ed25519 and RSA inside */
	EVP_PKEY *ed = gen_key("ED25519", NULL);
	pem = cosign_encrypt(ed, "x", 32768, "ENCRYPTED COSIGN PRIVATE KEY");
	assert_int_equal(coco_cosign_privkey_load(ctx, (unsigned char *)pem, strlen(pem), "x", "k", &k), 0);
	assert_int_equal(EVP_PKEY_get_base_id(k), EVP_PKEY_ED25519);
	EVP_PKEY_free(k);
	free(pem);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(ec);
}

static void test_encrypted_json_parse(void **state)
{
	(void)state;
	coco_cosign_encrypted e;
	static const char *bad[] = {
		"{}",
		"{\"kdf\":{\"name\":\"pbkdf2\",\"params\":{\"N\":32768,\"r\":8,\"p\":1},\"salt\":\"\"},"
		"\"cipher\":{\"name\":\"nacl/secretbox\",\"nonce\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"},\"ciphertext\":\"AAAAAAAAAAAAAAAAAAAAAA==\"}",
		"{\"kdf\":{\"name\":\"scrypt\",\"params\":{\"N\":32768,\"r\":8,\"p\":1},\"salt\":\"\"},"
		"\"cipher\":{\"name\":\"aes\",\"nonce\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"},\"ciphertext\":\"AAAAAAAAAAAAAAAAAAAAAA==\"}",
		"{\"kdf\":{\"name\":\"scrypt\",\"params\":{\"N\":32768,\"r\":8,\"p\":1},\"salt\":\"\"},"
		"\"cipher\":{\"name\":\"nacl/secretbox\",\"nonce\":\"AAAA\"},\"ciphertext\":\"AAAAAAAAAAAAAAAAAAAAAA==\"}",
		"{\"kdf\":{\"name\":\"scrypt\",\"params\":{\"N\":1048576,\"r\":8,\"p\":1},\"salt\":\"\"},"
		"\"cipher\":{\"name\":\"nacl/secretbox\",\"nonce\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"},\"ciphertext\":\"AAAAAAAAAAAAAAAAAAAAAA==\"}",
		"{\"kdf\":{\"name\":\"scrypt\",\"params\":{\"N\":32768,\"r\":8,\"p\":1},\"salt\":\"!\"},"
		"\"cipher\":{\"name\":\"nacl/secretbox\",\"nonce\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"},\"ciphertext\":\"AAAAAAAAAAAAAAAAAAAAAA==\"}",
		"{\"kdf\":{\"name\":\"scrypt\",\"params\":{\"N\":32768,\"r\":8,\"p\":1},\"salt\":\"\"},"
		"\"cipher\":{\"name\":\"nacl/secretbox\",\"nonce\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"},\"ciphertext\":\"AAAA\"}",
	};
	for (size_t i = 0; i < COCO_ARRAY_SIZE(bad); i++)
		assert_int_equal(coco_cosign_encrypted_parse(ctx, bad[i], strlen(bad[i]), "k", &e),
		                 COCOIMG_ECONFIG);
	const char *good =
		"{\"kdf\":{\"name\":\"scrypt\",\"params\":{\"N\":131072,\"r\":8,\"p\":1},\"salt\":\"c2FsdA==\"},"
		"\"cipher\":{\"name\":\"nacl/secretbox\",\"nonce\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"},"
		"\"ciphertext\":\"AAAAAAAAAAAAAAAAAAAAAA==\",\"unknown\":1}";
	assert_int_equal(coco_cosign_encrypted_parse(ctx, good, strlen(good), "k", &e), 0);
	assert_int_equal(e.n, 131072);
	assert_int_equal(e.salt.len, 4);
	assert_int_equal(e.nonce.len, 24);
	assert_int_equal(e.ciphertext.len, 16);
	coco_cosign_encrypted_clear(&e);
}

/* generate-key-pair's output loads back with the passphrase, is marked as
 * needing one, and its public key is the private key's */
static void test_keypair_generate(void **state)
{
	(void)state;
	char *priv = NULL, *pub = NULL;
	assert_int_equal(coco_cosign_keypair_generate(ctx, "pw", &priv, &pub), 0);
	assert_non_null(strstr(priv, "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
	assert_int_equal(coco_cosign_privkey_encrypted((unsigned char *)priv, strlen(priv)), 1);
	assert_int_equal(coco_cosign_privkey_encrypted((unsigned char *)pub, strlen(pub)), 0);
	EVP_PKEY *k = NULL, **pubs = NULL;
	size_t n = 0;
	assert_int_equal(coco_cosign_privkey_load(ctx, (unsigned char *)priv, strlen(priv), "pw", "k", &k), 0);
	assert_int_equal(coco_pubkeys_load_pem(ctx, (unsigned char *)pub, strlen(pub), &pubs, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(EVP_PKEY_eq(k, pubs[0]), 1);
	EVP_PKEY_free(k);
	assert_int_equal(coco_cosign_privkey_load(ctx, (unsigned char *)priv, strlen(priv), "", "k", &k),
	                 COCOIMG_ECONFIG);
	coco_pubkeys_free(pubs, n);
	free(priv);
	free(pub);
	/* the empty passphrase (NULL) works both ways */
	assert_int_equal(coco_cosign_keypair_generate(ctx, NULL, &priv, &pub), 0);
	assert_int_equal(coco_cosign_privkey_load(ctx, (unsigned char *)priv, strlen(priv), "", "k", &k), 0);
	EVP_PKEY_free(k);
	free(priv);
	free(pub);
	/* encrypted PKCS#8 and traditional PEM keys need a passphrase too */
	static const char p8[] = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
	static const char trad[] = "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
	                           "DEK-Info: AES-128-CBC,00000000000000000000000000000000\n\nAAAA\n"
	                           "-----END EC PRIVATE KEY-----\n";
	assert_int_equal(coco_cosign_privkey_encrypted((const unsigned char *)p8, strlen(p8)), 1);
	assert_int_equal(coco_cosign_privkey_encrypted((const unsigned char *)trad, strlen(trad)), 1);
	assert_int_equal(coco_cosign_privkey_encrypted((const unsigned char *)"junk", 4), 0);
}
#endif


/* cosign v3 bundles: every key type signs with its default hash and our
 * own Sigstore verifier accepts the bundle for the digest (key mode, no
 * tlog), and only for that digest and key */
static void test_bundle_v3_key_types(void **state)
{
	(void)state;
	const char *d = "sha256:c01736f07684eb77138a0863fc3431bf02d0e61c37ad05599429c18ebfd8f837";
	const char *other = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
	EVP_PKEY *keys[] = { gen_key("EC", "P-256"), gen_key("EC", "P-384"), gen_key("EC", "P-521"),
	                     gen_key("RSA", NULL), gen_key("ED25519", NULL) };
	EVP_PKEY *wrong = gen_key("EC", "P-256");
	for (size_t i = 0; i < COCO_ARRAY_SIZE(keys); i++) {
		coco_buf b = COCO_BUF_INIT;
		assert_int_equal(coco_cosign_bundle_v3_build(ctx, keys[i], d, &b), 0);
		coco_sigstore_artifact art = { NULL, 0, d };
		coco_sigstore_policy pol = { 0 };
		pol.key = keys[i];
		pol.allow_no_tlog = true;
		coco_sigstore_result res = { 0 };
		assert_int_equal(coco_sigstore_verify_bundle(ctx, b.data, b.len, &art, &pol, &res), 0);
		assert_true(res.dsse);
		assert_string_equal(res.predicate_type, COCO_COSIGN_SIGN_PREDICATE);
		coco_sigstore_result_clear(&res);
		art.digest = other;
		assert_int_equal(coco_sigstore_verify_bundle(ctx, b.data, b.len, &art, &pol, NULL),
		                 COCOIMG_EPOLICY);
		art.digest = d;
		pol.key = wrong;
		assert_int_equal(coco_sigstore_verify_bundle(ctx, b.data, b.len, &art, &pol, NULL),
		                 COCOIMG_EPOLICY);
		coco_buf_free(&b);
		EVP_PKEY_free(keys[i]);
	}
	EVP_PKEY_free(wrong);
	coco_buf b = COCO_BUF_INIT;
	assert_int_not_equal(coco_cosign_bundle_v3_build(ctx, wrong = gen_key("EC", "P-256"),
	                                                 "sha512:00", &b), 0);
	EVP_PKEY_free(wrong);
	coco_buf_free(&b);
}

/* the referrers tag index: created, appended to (entries kept, sorted),
 * a listed referrer not added twice, a non-index refused */
static void test_referrers_index(void **state)
{
	(void)state;
	const char *m1 = "{\"mediaType\":\"x\",\"config\":{\"mediaType\":\"application/c\"},"
	                 "\"annotations\":{\"k\":\"v\"}}";
	const char *m2 = "{\"artifactType\":\"application/t\",\"config\":{\"mediaType\":\"c\"}}";
	coco_buf i1 = COCO_BUF_INIT, i2 = COCO_BUF_INIT, i3 = COCO_BUF_INIT;
	bool added;
	assert_int_equal(coco_referrers_index_add(ctx, NULL, 0, "t", m1, strlen(m1),
	                                          COCO_MT_OCI_MANIFEST, &i1, &added), 0);
	assert_true(added);
	char d1[COCO_DIGEST_STRLEN], d2[COCO_DIGEST_STRLEN];
	coco_digest_bytes(COCO_SHA256, m1, strlen(m1), d1);
	coco_digest_bytes(COCO_SHA256, m2, strlen(m2), d2);
	char *want = coco_asprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":[{"
	                           "\"mediaType\":\"%s\",\"size\":%zu,\"digest\":\"%s\","
	                           "\"annotations\":{\"k\":\"v\"},\"artifactType\":\"application/c\"}]}",
	                           COCO_MT_OCI_INDEX, COCO_MT_OCI_MANIFEST, strlen(m1), d1);
	assert_int_equal(i1.len, strlen(want));
	assert_memory_equal(i1.data, want, i1.len);
	free(want);
	assert_int_equal(coco_referrers_index_add(ctx, i1.data, i1.len, "t", m2, strlen(m2),
	                                          COCO_MT_OCI_MANIFEST, &i2, &added), 0);
	assert_true(added);
	json_t *j = json_loadb((char *)i2.data, i2.len, 0, NULL);
	json_t *ms = json_object_get(j, "manifests");
	assert_int_equal(json_array_size(ms), 2);
	const char *a = json_string_value(json_object_get(json_array_get(ms, 0), "digest"));
	const char *b = json_string_value(json_object_get(json_array_get(ms, 1), "digest"));
	assert_true(strcmp(a, b) < 0);
	json_decref(j);
	assert_int_equal(coco_referrers_index_add(ctx, i2.data, i2.len, "t", m1, strlen(m1),
	                                          COCO_MT_OCI_MANIFEST, &i3, &added), 0);
	assert_false(added);
	assert_int_equal(i3.len, 0);
	const char *bad = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"}";
	assert_int_equal(coco_referrers_index_add(ctx, bad, strlen(bad), "sha256-x", m1, strlen(m1),
	                                          COCO_MT_OCI_MANIFEST, &i3, &added), COCOIMG_EBADIMAGE);
	assert_non_null(strstr(cocoimg_ctx_last_error(ctx), "sha256-x"));
	coco_buf_free(&i1);
	coco_buf_free(&i2);
	coco_buf_free(&i3);
}

/* ---- fetch from an oci: layout signed with cocoimg_sign ---- */

static void put_blob_file(const char *dir, const char *data, size_t len, char out[COCO_DIGEST_STRLEN])
{
	coco_digest_bytes(COCO_SHA256, data, len, out);
	char *p = coco_asprintf("%s/blobs/sha256/%s", dir, out + 7);
	assert_int_equal(coco_write_file_atomic(ctx, p, data, len, 0644), 0);
	free(p);
}

static char *make_layout(void)
{
	char *dir = coco_strdup("/tmp/coco-test-cosign-layout-XXXXXX");
	assert_non_null(mkdtemp(dir));
	char *b = coco_asprintf("%s/blobs/sha256", dir);
	assert_int_equal(coco_mkdir_p(ctx, b, 0755), 0);
	free(b);
	char cfg_d[COCO_DIGEST_STRLEN], lay_d[COCO_DIGEST_STRLEN], man_d[COCO_DIGEST_STRLEN];
	const char *cfg = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
	put_blob_file(dir, cfg, strlen(cfg), cfg_d);
	put_blob_file(dir, "layer", 5, lay_d);
	char *man = coco_asprintf("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	                          "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":%zu},"
	                          "\"layers\":[]}", cfg_d, strlen(cfg));
	put_blob_file(dir, man, strlen(man), man_d);
	char *idx = coco_asprintf("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	                          "\"digest\":\"%s\",\"size\":%zu,\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"}}]}",
	                          man_d, strlen(man));
	char *ip = coco_asprintf("%s/index.json", dir), *lp = coco_asprintf("%s/oci-layout", dir);
	assert_int_equal(coco_write_file_atomic(ctx, ip, idx, strlen(idx), 0644), 0);
	assert_int_equal(coco_write_file_atomic(ctx, lp, "{\"imageLayoutVersion\":\"1.0.0\"}", 30, 0644), 0);
	free(ip);
	free(lp);
	free(idx);
	free(man);
	return dir;
}

/* The sigstore attachment of digest through the operations layer's fetcher. */
static int attachment_sigs(coco_src *src, const char *digest, coco_sigstore_sig **sigs, size_t *n)
{
	coco_src_sigfetch sf;
	coco_src_sigfetch_init(&sf, src);
	int rc = coco_cosign_attachment_sigs(ctx, &sf.f, digest, sigs, n);
	coco_src_sigfetch_clear(&sf);
	return rc;
}

static void test_sign_fetch_verify_oci(void **state)
{
	(void)state;
	char *dir = make_layout();
	char *image = coco_asprintf("oci:%s:v1", dir);
	EVP_PKEY *k = gen_key("EC", "P-256");
	char *priv = pem_of(k, true, false), *pub = pem_of(k, false, false);

	/* no attachment yet: no signatures, no error */
	coco_src *src;
	assert_int_equal(coco_src_open(ctx, image, "src", &src), 0);
	coco_resolved res;
	assert_int_equal(coco_resolve(src, NULL, &res), 0);
	coco_sigstore_sig *sigs;
	size_t n;
	assert_int_equal(attachment_sigs(src, res.digest, &sigs, &n), 0);
	assert_int_equal(n, 0);
	coco_sigstore_sigs_free(sigs, n);

	cocoimg_sign_options o = COCOIMG_SIGN_OPTIONS_INIT;
	o.key_pem = (const unsigned char *)priv;
	o.key_pem_len = strlen(priv);
	o.sign_identity = "example.com/app";
	char *report = NULL;
	assert_int_equal(cocoimg_sign(ctx, image, &o, &report), 0);
	assert_non_null(strstr(report, "\"added\":true"));
	cocoimg_free(report);
	o.sign_identity = "example.com/app:v1";
	assert_int_equal(cocoimg_sign(ctx, image, &o, NULL), 0);

	assert_int_equal(attachment_sigs(src, res.digest, &sigs, &n), 0);
	assert_int_equal(n, 2);
	EVP_PKEY **keys;
	size_t nk;
	assert_int_equal(coco_pubkeys_load_pem(ctx, (unsigned char *)pub, strlen(pub), &keys, &nk), 0);
	const char *want[2] = { "example.com/app", "example.com/app:v1" };
	for (size_t i = 0; i < n; i++) {
		char *d, *r;
		assert_int_equal(coco_cosign_verify(ctx, &sigs[i], keys, nk, &d, &r), 0);
		assert_string_equal(d, res.digest);
		assert_string_equal(r, want[i]);
		free(d);
		free(r);
	}
	coco_sigstore_sigs_free(sigs, n);

	/* a corrupted payload blob makes the lookup fail (not "no signatures") */
	char *tag = coco_cosign_attachment_tag(res.digest);
	char *aimg = coco_asprintf("oci:%s:%s", dir, tag);
	coco_src *asrc;
	assert_int_equal(coco_src_open(ctx, aimg, "src", &asrc), 0);
	coco_buf raw = COCO_BUF_INIT;
	char *mt = NULL;
	assert_int_equal(asrc->ops->get_manifest(asrc, NULL, &raw, &mt), 0);
	coco_manifest *am;
	assert_int_equal(coco_manifest_parse(ctx, raw.data, raw.len, mt, &am), 0);
	char *bp = coco_asprintf("%s/blobs/sha256/%s", dir, am->layers[0].digest + 7);
	assert_int_equal(coco_write_file_atomic(ctx, bp, "tampered", 8, 0644), 0);
	assert_int_equal(attachment_sigs(src, res.digest, &sigs, &n), COCOIMG_ESIGLOOKUP);
	assert_int_equal(n, 0);
	free(bp);
	coco_manifest_free(am);
	free(mt);
	coco_buf_free(&raw);
	coco_src_close(asrc);
	free(aimg);
	free(tag);

	/* oci: without an identity is refused; a bad key is ECONFIG */
	o.sign_identity = NULL;
	assert_int_equal(cocoimg_sign(ctx, image, &o, NULL), COCOIMG_EINVAL);
	o.sign_identity = "example.com/app";
	o.key_pem = (const unsigned char *)pub;
	o.key_pem_len = strlen(pub);
	assert_int_equal(cocoimg_sign(ctx, image, &o, NULL), COCOIMG_ECONFIG);

	coco_pubkeys_free(keys, nk);
	coco_resolved_clear(&res);
	coco_src_close(src);
	free(priv);
	free(pub);
	EVP_PKEY_free(k);
	coco_rm_rf(ctx, dir);
	free(image);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_verdicts),
		cmocka_unit_test(test_rekor_bundle_parse),
		cmocka_unit_test(test_rekor_fulcio_pki),
		cmocka_unit_test(test_payload_strictness),
		cmocka_unit_test(test_pubkey_loading),
		cmocka_unit_test(test_sign_roundtrip),
		cmocka_unit_test(test_raw_rs_signature),
		cmocka_unit_test(test_payload_matches_cosign_fixture),
		cmocka_unit_test(test_attachment_layout),
		cmocka_unit_test(test_attachment_tag),
		cmocka_unit_test(test_privkey_plain_formats),
		cmocka_unit_test(test_passphrase_file),
		cmocka_unit_test(test_sign_fetch_verify_oci),
		cmocka_unit_test(test_bundle_v3_key_types),
		cmocka_unit_test(test_referrers_index),
#if HAVE_SODIUM
		cmocka_unit_test(test_privkey_cosign_encrypted),
		cmocka_unit_test(test_encrypted_json_parse),
		cmocka_unit_test(test_keypair_generate),
#endif
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
