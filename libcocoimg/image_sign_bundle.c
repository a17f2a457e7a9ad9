/*
 * `coco-img sign --bundle-format=v3`: cosign v3's Sigstore bundle for a
 * manifest, attached as an OCI 1.1 referrer (trust/cosign_bundle_sign.c
 * says exactly what cosign writes and builds the bytes).  Here: push the
 * empty config blob, the bundle and the referrer manifest (by digest) to
 * the image's repository or oci: layout; then, unless the registry
 * answered the push with `OCI-Subject` (it keeps the referrers list
 * itself: the OCI 1.1 referrers API), fetch the index tagged with the
 * referrers tag schema's <alg>-<hex> of the subject, add the referrer
 * (oci/referrers_index.c) and push it back under that tag.  docker-registry
 * 2.8 has no referrers API, so there the tag is what readers find; an
 * oci: layout keeps the same tag in its index.json.
 *
 * go-containerregistry, which cosign pushes with, decides differently: it
 * asks GET /v2/<name>/referrers/<subject> after the push and writes the
 * tag unless that answers 200.  distribution-spec v1.1.0 names the
 * OCI-Subject answer as the client's signal, so we follow the spec; on a
 * registry with the API but without the header the tag is written too,
 * which readers merge (same digests).
 */
#include "base.h"
#include "digest.h"
#include "image_open.h"
#include "image_sign.h"
#include "oci/oci.h"
#include "oci/referrers.h"
#include "oci/referrers_index.h"
#include "ref.h"
#include "transport.h"
#include "trust/trust.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The index the referrers tag holds now: *present false on 404. */
static int read_tag_index(cocoimg_ctx *ctx, const coco_ref *ref, const char *tag, coco_buf *out,
                          bool *present)
{
	*present = false;
	coco_ref *r = NULL;
	coco_src *s = NULL;
	char *mt = NULL;
	int rc = coco_ref_sibling(ctx, ref, tag, &r);
	if (!rc)
		rc = coco_src_open_ref(ctx, r, "dest", &s);
	if (!rc)
		rc = s->ops->get_manifest(s, NULL, out, &mt);
	if (rc == COCOIMG_ENOTFOUND) {
		coco_clearerr(ctx);
		rc = 0;
	} else if (!rc) {
		*present = true;
	} else {
		coco_preferr(ctx, rc, "reading the referrers tag %s", tag);
	}
	free(mt);
	if (s)
		coco_src_close(s);
	return rc;
}

/* Add the referrer to the tag's index and push it (tagged) to dest. */
static int update_tag_index(cocoimg_ctx *ctx, const coco_ref *ref, coco_dest *dest,
                            const char *tag, const coco_buf *man)
{
	coco_buf old = COCO_BUF_INIT, idx = COCO_BUF_INIT;
	bool present = false, added = false;
	int rc = read_tag_index(ctx, ref, tag, &old, &present);
	if (!rc)
		rc = coco_referrers_index_add(ctx, present ? old.data : NULL, old.len, tag, man->data,
		                              man->len, COCO_MT_OCI_MANIFEST, &idx, &added);
	if (!rc && added)
		rc = dest->ops->put_manifest(dest, idx.data, idx.len, COCO_MT_OCI_INDEX, true);
	if (!rc && !added && present) /* already listed: keep the tag as it is */
		rc = dest->ops->put_manifest(dest, old.data, old.len, COCO_MT_OCI_INDEX, true);
	coco_buf_free(&old);
	coco_buf_free(&idx);
	return rc;
}

/* cosign's org.opencontainers.image.created: RFC 3339, UTC, seconds. */
static void created_now(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The bundle: the signed envelope, with its log entry when a log is given. */
static int build_bundle(cocoimg_ctx *ctx, const coco_signer *sg, const char *digest,
                        coco_buf *bundle)
{
	coco_cosign_dsse d;
	json_t *tlog = NULL;
	int rc = coco_cosign_dsse_sign(ctx, sg->key, digest, &d);
	if (!rc && sg->rekor_url)
		rc = coco_sign_tlog_dsse(ctx, sg->rekor_url, &d, sg->key, sg->cert, &tlog);
	if (!rc)
		rc = coco_cosign_bundle_v3_json(ctx, &d, sg->key, sg->cert, tlog, bundle);
	json_decref(tlog);
	coco_cosign_dsse_clear(&d);
	return rc;
}

/* The bundle and the referrer manifest carrying it. */
static int build_referrer(cocoimg_ctx *ctx, const coco_signer *sg, const char *digest,
                          const char *subject_mt, int64_t subject_size, coco_buf *bundle,
                          char bd[COCO_DIGEST_STRLEN], coco_buf *man)
{
	char created[32];
	created_now(created);
	int rc = build_bundle(ctx, sg, digest, bundle);
	if (rc)
		return rc;
	coco_digest_bytes(COCO_SHA256, bundle->data, bundle->len, bd);
	return coco_cosign_bundle_manifest_build(ctx, bd, (int64_t)bundle->len, subject_mt, digest,
	                                         subject_size, created, man);
}

/* Push the blobs, the referrer and (when needed) the referrers tag. */
static int push_referrer(cocoimg_ctx *ctx, const coco_ref *ref, const char *digest,
                         const char *tag, const coco_buf *bundle, const char *bd,
                         const coco_buf *man, bool *tracked)
{
	coco_dest *dest = NULL;
	int rc = coco_sign_open_dest(ctx, ref, tag, &dest);
	if (rc)
		return rc;
	if ((rc = coco_sign_put_bytes(dest, "{}", 2, COCO_OCI_EMPTY_DIGEST)) ||
	    (rc = coco_sign_put_bytes(dest, bundle->data, bundle->len, bd)) ||
	    (rc = dest->ops->put_manifest(dest, man->data, man->len, COCO_MT_OCI_MANIFEST, false)))
		goto out;
	*tracked = dest->ops->subject_tracked && dest->ops->subject_tracked(dest, digest) == 1;
	if (!*tracked && (rc = update_tag_index(ctx, ref, dest, tag, man)))
		goto out;
	rc = dest->ops->commit(dest);
out:
	if (rc)
		coco_preferr(ctx, rc, "writing the signature bundle for %s", digest);
	coco_dest_close(dest);
	return rc;
}

/* The report entry: where the referrer went. */
static int report_entry(cocoimg_ctx *ctx, const coco_ref *ref, const char *digest,
                        const char *tag, const char *md, const char *bd, bool tracked,
                        json_t *sigs)
{
	char *tag_s = tracked ? NULL : coco_sign_sibling_name(ctx, ref, tag);
	json_t *e = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s*,s:b}", "signed_digest", digest,
	                      "format", "sigstore-bundle",
	                      "referrer_digest", md, "bundle_digest", bd, "artifact_type",
	                      COCO_SIGSTORE_BUNDLE_V03_MT, "referrers_tag", tag_s, "added", 1);
	free(tag_s);
	return coco_sign_report_add(ctx, sigs, e);
}

int coco_sign_bundle_v3(cocoimg_ctx *ctx, const coco_ref *ref, const coco_signer *signer,
                        const char *digest, const char *subject_mt, int64_t subject_size,
                        json_t *sigs)
{
	char *tag = coco_referrers_tag(digest);
	if (!tag)
		return coco_seterr(ctx, COCOIMG_EINVAL, "cannot sign manifest digest %.100s", digest);
	coco_buf bundle = COCO_BUF_INIT, man = COCO_BUF_INIT;
	char bd[COCO_DIGEST_STRLEN], md[COCO_DIGEST_STRLEN];
	bool tracked = false;
	int rc = build_referrer(ctx, signer, digest, subject_mt, subject_size, &bundle, bd, &man);
	if (!rc)
		rc = push_referrer(ctx, ref, digest, tag, &bundle, bd, &man, &tracked);
	if (!rc) {
		coco_digest_bytes(COCO_SHA256, man.data, man.len, md);
		rc = report_entry(ctx, ref, digest, tag, md, bd, tracked, sigs);
	}
	coco_buf_free(&bundle);
	coco_buf_free(&man);
	free(tag);
	return rc;
}
