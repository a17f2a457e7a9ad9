/* Image operations: the glue between sources, destinations and stages. */
#include "api.h"
#include "base.h"
#include "crypt/crypt.h"
#include "digest.h"
#include "image_broker.h"
#include "image_crypt.h"
#include "image_open.h"
#include "image_plain.h"
#include "image_trust.h"
#include "report.h"
#include "json.h"
#include "oci/oci.h"
#include "oci/resolve.h"
#include "pipeline.h"
#include "ref.h"
#include "stream.h"
#include "transport.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Copy                                                                */
/* ------------------------------------------------------------------ */

enum { ST_NET, ST_DIGEST, ST_DECRYPT, ST_DECOMPRESS, ST_WRITE, ST_ENCRYPT, ST_N };
/* stage names of the pipeline, and the report's keys for them (docs/json.md) */
static const char *const stat_names[ST_N] = { "network", "digest", "decrypt", "decompress", "write",
	"encrypt" };
static const char *const stat_keys[ST_N] = { "network_ns", "digest_ns", "decrypt_ns", "decompress_ns",
	"write_ns", "encrypt_ns" };

typedef struct {
	cocoimg_ctx *ctx;
	const cocoimg_copy_options *opts;
	coco_src *src;
	coco_dest *dst;
	bool to_oci;               /* destination stores OCI types only */
	const char *src_name;      /* the source reference as given, for messages */
	long parallel;
	pthread_mutex_t mu;
	uint64_t bytes;
	uint64_t ns[ST_N];
	coco_platform *platforms;  /* opts->platforms parsed */
} copy_job;

/* skopeo's policy check of what is copied (opts->verify / ->policy): the
 * manifest raw with digest dg, before it is copied. */
static int copy_policy(copy_job *j, const coco_buf *raw, const char *dg)
{
	if (!j->opts->verify && !j->opts->policy)
		return 0;
	coco_resolved img;
	memset(&img, 0, sizeof(img));
	img.raw = *raw;            /* borrowed: never cleared here */
	snprintf(img.digest, sizeof(img.digest), "%s", dg);
	int rc = coco_trust_evaluate(j->ctx, j->src, &img, j->opts->policy, NULL);
	return rc == COCOIMG_EPOLICY ? coco_preferr(j->ctx, rc, "Source image rejected") : rc;
}

/* Whether an index entry's image is en/decrypted: every one unless
 * opts->platforms names some (ctr-enc's --platform). */
static bool platform_selected(const copy_job *j, const coco_desc *d)
{
	if (!j->opts->n_platforms)
		return true;
	for (size_t i = 0; i < j->opts->n_platforms; i++)
		if (coco_platform_matches(&d->platform, &j->platforms[i]))
			return true;
	return false;
}

/* Add the stage timings of a chain to the job; returns their sum. */
static uint64_t collect_stats(copy_job *j, coco_stage *chain)
{
	uint64_t sum = 0;
	pthread_mutex_lock(&j->mu);
	for (coco_stage *s = chain; s; s = s->next) {
		sum += s->nsec;
		for (int k = 0; k < ST_N; k++)
			if (s->name && !strcmp(s->name, stat_names[k]))
				j->ns[k] += s->nsec;
	}
	pthread_mutex_unlock(&j->mu);
	return sum;
}

/* Copy one blob as is (skipped when the destination has it); layer is
 * its 1-based index of layers (0 for the config). */
static int copy_blob(copy_job *j, const coco_desc *d, const char *what, unsigned layer,
                     unsigned layers, bool *skipped)
{
	*skipped = false;
	int phase = j->to_oci ? COCOIMG_PHASE_DOWNLOAD : COCOIMG_PHASE_UPLOAD;
	int have = j->dst->ops->has_blob(j->dst, d->digest, d->size);
	if (have < 0)
		return have;
	if (have == 1) {
		*skipped = true;
		coco_progress_src ps = { what, d->digest, phase, layer, layers };
		return coco_progress(j->ctx, &ps, (uint64_t)d->size, (uint64_t)d->size, 1);
	}
	coco_stage *sink;
	int rc = j->dst->ops->put_blob(j->dst, d->digest, d->size, &sink);
	if (rc)
		return rc;
	/* source + meter (network time, progress) | digest + write on a
	 * second thread */
	coco_pipe pl;
	coco_stage *s;
	coco_meter_opts mo = { .what = what, .digest = d->digest, .total = d->size,
		               .phase = phase, .layer = layer, .layers = layers };
	coco_pipe_init(&pl, j->ctx, sink);
	coco_pipe_push(&pl, coco_async_stage_for(j->ctx, d->size, coco_pipe_head(&pl), &s), &s);
	coco_pipe_push(&pl, coco_meter_stage_new(j->ctx, &mo, coco_pipe_head(&pl), &s), &s);
	if (coco_pipe_built(&pl))
		return coco_pipe_end(&pl);
	coco_pipe_note(&pl, 0, j->src->ops->get_blob(j->src, d, coco_pipe_head(&pl)));
	collect_stats(j, coco_pipe_head(&pl));
	rc = coco_pipe_end(&pl);
	pthread_mutex_lock(&j->mu);
	if (!rc)
		j->bytes += (uint64_t)d->size;
	pthread_mutex_unlock(&j->mu);
	if (rc && !strstr(cocoimg_ctx_last_error(j->ctx), d->digest))
		coco_preferr(j->ctx, rc, "%s %s", what, d->digest);
	else if (rc && strncmp(cocoimg_ctx_last_error(j->ctx), what, strlen(what)))
		coco_preferr(j->ctx, rc, "%s", what);
	return rc;
}

/* Store bytes we produced (converted config) as a blob. */
static int put_bytes(copy_job *j, const void *data, size_t len, const char *digest)
{
	int have = j->dst->ops->has_blob(j->dst, digest, (int64_t)len);
	if (have != 0)
		return have < 0 ? have : 0;
	coco_stage *sink;
	int rc = j->dst->ops->put_blob(j->dst, digest, (int64_t)len, &sink);
	if (rc)
		return rc;
	rc = coco_stage_pump_mem(sink, data, len);
	coco_stage_chain_free(sink);
	if (!rc) {
		pthread_mutex_lock(&j->mu);
		j->bytes += len;
		pthread_mutex_unlock(&j->mu);
	}
	return rc;
}

/* Parallel layer transfer. */
typedef struct {
	copy_job *j;
	coco_desc *in;             /* layer descriptors to copy (maybe converted) */
	size_t n;
	json_t **out;              /* resulting descriptors */
	json_t **reports;
	size_t next;
	bool failed;
	coco_verdict verdict;      /* the first failed layer's error */
} layer_work;

static int do_layer(layer_work *w, size_t i)
{
	copy_job *j = w->j;
	const coco_desc *d = &w->in[i];
	json_t *rep = w->reports[i];
	int rc;
	if (j->opts->crypt_mode != COCOIMG_CRYPT_NONE) {
		json_t *nd = NULL;
		uint64_t t0 = coco_now_ns();
		uint64_t written = 0;
		rc = coco_crypt_transform_layer(j->ctx, j->opts, j->src, j->dst, d, i, w->n, &nd, rep,
		                                &written);
		pthread_mutex_lock(&j->mu);
		j->bytes += written;
		pthread_mutex_unlock(&j->mu);
		(void)t0;
		json_t *lst = json_object_get(rep, "stats");
		if (json_is_object(lst)) {
			pthread_mutex_lock(&j->mu);
			for (int k = 0; k < ST_N; k++)
				j->ns[k] += (uint64_t)json_integer_value(json_object_get(lst, stat_keys[k]));
			pthread_mutex_unlock(&j->mu);
		}
		if (rc) {
			json_decref(nd);
			return rc;
		}
		if (!nd)
			return coco_seterr(j->ctx, COCOIMG_EINTERNAL, "layer %s: no descriptor returned", d->digest);
		w->out[i] = nd;
		if (!json_object_get(rep, "action"))
			json_object_set_new(rep, "action", json_string("copy"));
		json_object_set_new(rep, "skipped", json_false());
	} else {
		bool skipped;
		if ((rc = copy_blob(j, d, "layer", (unsigned)i + 1, (unsigned)w->n, &skipped)))
			return rc;
		json_object_set_new(rep, "action", json_string("copy"));
		json_object_set_new(rep, "skipped", json_boolean(skipped));
		w->out[i] = json_incref(d->json);
	}
	json_t *o = w->out[i];
	json_t *v;
	if ((v = json_object_get(o, "digest")))
		json_object_set(rep, "digest", v);
	if ((v = json_object_get(o, "mediaType")))
		json_object_set(rep, "media_type", v);
	if ((v = json_object_get(o, "size")))
		json_object_set(rep, "size", v);
	const char *omt = json_string_value(json_object_get(o, "mediaType"));
	json_object_set_new(rep, "encrypted", json_boolean(omt && coco_mt_is_encrypted(omt)));
	if (!json_equal(json_object_get(o, "digest"), json_object_get(d->json, "digest")))
		json_object_set_new(rep, "source_digest", json_string(d->digest));
	return 0;
}

static int layer_worker(void *arg)
{
	layer_work *w = arg;
	copy_job *j = w->j;
	for (;;) {
		pthread_mutex_lock(&j->mu);
		if (w->failed || w->next >= w->n) {
			pthread_mutex_unlock(&j->mu);
			break;
		}
		size_t i = w->next++;
		pthread_mutex_unlock(&j->mu);
		if (coco_verdict_note(&w->verdict, j->ctx, i, do_layer(w, i))) {
			pthread_mutex_lock(&j->mu);
			w->failed = true;
			pthread_mutex_unlock(&j->mu);
			break;
		}
	}
	return 0;
}

/* Layers on up to `parallel` threads; when several fail, the error of the
 * lowest layer index is reported (docs/pipeline.md). */
static int copy_layers(copy_job *j, layer_work *w)
{
	size_t nthreads = (size_t)(j->parallel < 1 ? 1 : j->parallel);
	if (nthreads > w->n)
		nthreads = w->n;
	coco_thread *th = nthreads > 1 ? calloc(nthreads, sizeof(*th)) : NULL;
	if (nthreads > 1 && !th)
		return coco_oom(j->ctx);
	coco_verdict_init(&w->verdict);
	size_t started = 0;
	while (started < nthreads && nthreads > 1 &&
	       coco_thread_try(&th[started], j->ctx, "layer", layer_worker, w))
		started++;
	if (started == 0)
		layer_worker(w);
	for (size_t i = 0; i < started; i++)
		coco_thread_join(&th[i]);
	free(th);
	int rc = coco_verdict_end(&w->verdict, j->ctx);
	if (w->failed && !rc)
		rc = coco_seterr(j->ctx, COCOIMG_EINTERNAL, "layer copy failed");
	return rc;
}

typedef struct {
	char digest[COCO_DIGEST_STRLEN];
	const char *media_type;    /* static */
	size_t size;
} written;

/* Copy one image manifest with its config and layers. */
/* Store a manifest or index (exact bytes) at the destination and record its
 * digest, media type and size in wr and the report. */
static int store_manifest(copy_job *j, const void *bytes, size_t blen, const char *mt, bool top,
                          json_t *report, written *wr)
{
	coco_digest_bytes(COCO_SHA256, bytes, blen, wr->digest);
	wr->media_type = mt;
	wr->size = blen;
	int rc = j->dst->ops->put_manifest(j->dst, bytes, blen, mt, top);
	if (rc)
		return rc;
	coco_report_doc(report, coco_mt_is_index(mt) ? "index" : "manifest", wr->digest, mt,
	                (int64_t)blen);
	return 0;
}

/* Every layer descriptor parsed (converted to OCI types when convert)
 * into in[], and checked against the crypt options, before anything is
 * written. */
static int plan_layers(copy_job *j, const coco_manifest *m, bool convert, coco_desc *in)
{
	int rc = 0;
	for (size_t i = 0; i < m->n_layers && !rc; i++) {
		const coco_desc *l = &m->layers[i];
		if (convert) {
			const char *nmt = coco_mt_docker_to_oci(l->media_type);
			json_t *nd = coco_oci_convert_desc(l->json, nmt ? nmt : l->media_type);
			rc = coco_desc_parse(j->ctx, nd, "layer", &in[i]);
			json_decref(nd);
		} else {
			rc = coco_desc_parse(j->ctx, l->json, "layer", &in[i]);
		}
	}
	return rc ? rc : coco_crypt_check_rewraps(j->ctx, j->opts, in, m->n_layers);
}

/* Write the manifest or index: its original bytes, or when changed, doc
 * serialized (doc NULL: out of memory while it was built). */
static int store_doc(copy_job *j, const coco_buf *raw, bool changed, json_t *doc, const char *mt,
                     bool top, json_t *report, written *wr)
{
	if (!changed)
		return store_manifest(j, raw->data, raw->len, mt, top, report, wr);
	size_t blen = 0;
	char *body = doc ? coco_json_dump_go(doc, &blen) : NULL;
	if (!body)
		return coco_oom(j->ctx);
	int rc = store_manifest(j, body, blen, mt, top, report, wr);
	free(body);
	return rc;
}

/* A manifest or index m around a new list (key "layers" or "manifests"):
 * converted to OCI (schemaVersion, mediaType oci_mt, config when given,
 * the list, m's annotations sorted), or m's own JSON with the list
 * replaced. */
static json_t *rebuild_doc(const coco_manifest *m, bool convert, const char *oci_mt,
                           json_t *config, const char *key, json_t *list)
{
	json_t *o = convert ? json_object() : json_deep_copy(m->json);
	if (convert) {
		json_object_set_new(o, "schemaVersion", json_integer(2));
		json_object_set_new(o, "mediaType", json_string(oci_mt));
		if (config)
			json_object_set(o, "config", config);
	}
	json_object_set_new(o, key, list);
	if (convert && m->annotations && json_object_size(m->annotations))
		json_object_set_new(o, "annotations", coco_json_sorted(m->annotations));
	return o;
}

/* config_* of the config descriptor written; config_source_digest when it
 * was converted from source_digest. */
static void report_config(json_t *report, json_t *desc, bool converted, const char *source_digest)
{
	json_object_set(report, "config_digest", json_object_get(desc, "digest"));
	json_object_set(report, "config_media_type", json_object_get(desc, "mediaType"));
	json_object_set(report, "config_size", json_object_get(desc, "size"));
	if (converted)
		json_object_set_new(report, "config_source_digest", json_string(source_digest));
}

static int copy_image(copy_job *j, const coco_buf *raw, const coco_manifest *m, bool top,
                      json_t *report, written *wr)
{
	cocoimg_ctx *ctx = j->ctx;
	bool is_docker = !strcmp(m->media_type, COCO_MT_DOCKER_MANIFEST);
	bool convert = is_docker && (j->to_oci || j->opts->crypt_mode == COCOIMG_CRYPT_ENCRYPT);
	int rc = 0;
	json_t *cfg_desc = NULL, *mj = NULL;
	coco_buf cfg = COCO_BUF_INIT;
	layer_work w = { j, NULL, m->n_layers, NULL, NULL, 0, false };
	w.in = calloc(m->n_layers + 1, sizeof(coco_desc));
	w.out = calloc(m->n_layers + 1, sizeof(json_t *));
	w.reports = calloc(m->n_layers + 1, sizeof(json_t *));
	if (!w.in || !w.out || !w.reports) {
		rc = coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = plan_layers(j, m, convert, w.in)))
		goto done;
	/* config */
	if (convert) {
		if ((rc = coco_fetch_small_blob(j->src, &m->config, COCO_LIM_CONFIG_SIZE, &cfg)))
			goto done;
		char *nb = NULL;
		size_t nl = 0;
		char dg[COCO_DIGEST_STRLEN];
		if ((rc = coco_oci_convert_config(ctx, &cfg, &nb, &nl)))
			goto done;
		coco_digest_bytes(COCO_SHA256, nb, nl, dg);
		rc = put_bytes(j, nb, nl, dg);
		free(nb);
		if (rc)
			goto done;
		cfg_desc = json_pack("{s:s,s:s,s:I}", "mediaType", COCO_MT_OCI_CONFIG, "digest", dg, "size",
		                     (json_int_t)nl);
	} else {
		bool skipped;
		if ((rc = copy_blob(j, &m->config, "config", 0, 0, &skipped)))
			goto done;
		cfg_desc = json_incref(m->config.json);
	}
	report_config(report, cfg_desc, convert, m->config.digest);

	/* layers */
	json_t *lrep = json_array();
	json_object_set_new(report, "layers", lrep);
	for (size_t i = 0; i < m->n_layers; i++) {
		w.reports[i] = json_object();
		json_array_append(lrep, w.reports[i]);
	}
	if ((rc = copy_layers(j, &w)))
		goto done;

	/* manifest: the original bytes unless something changed */
	bool changed = convert;
	for (size_t i = 0; i < m->n_layers && !changed; i++)
		changed = !json_equal(w.out[i], m->layers[i].json);
	if (changed) {
		json_t *ls = json_array();
		for (size_t i = 0; i < m->n_layers; i++)
			json_array_append(ls, w.out[i]);
		mj = rebuild_doc(m, convert, COCO_MT_OCI_MANIFEST, cfg_desc, "layers", ls);
	}
	rc = store_doc(j, raw, changed, mj, convert ? COCO_MT_OCI_MANIFEST : m->media_type, top, report, wr);
done:
	for (size_t i = 0; i < m->n_layers; i++) {
		if (w.in)
			json_decref(w.in[i].json);
		if (w.out)
			json_decref(w.out[i]);
		if (w.reports)
			json_decref(w.reports[i]);
	}
	free(w.in);
	free(w.out);
	free(w.reports);
	json_decref(mj);
	json_decref(cfg_desc);
	coco_buf_free(&cfg);
	return rc;
}

/* Copy an index and every instance (multi-arch all). */
static int copy_index(copy_job *j, const coco_buf *raw, const coco_manifest *idx, bool top,
                      int depth, json_t *report, written *wr)
{
	cocoimg_ctx *ctx = j->ctx;
	if (depth > 4)
		return coco_seterr(ctx, COCOIMG_EBADIMAGE, "image index nested too deeply");
	bool convert = j->to_oci && !strcmp(idx->media_type, COCO_MT_DOCKER_LIST);
	bool changed = convert;
	int rc = 0;
	json_t *insts = json_array();
	json_object_set_new(report, "manifests", insts);
	json_t **descs = calloc(idx->n_manifests + 1, sizeof(json_t *));
	json_t *ij = NULL;
	if (!descs)
		return coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory");
	for (size_t i = 0; i < idx->n_manifests; i++) {
		const coco_desc *d = &idx->manifests[i];
		descs[i] = json_incref(d->json);
		if (!coco_mt_is_manifest(d->media_type))
			continue; /* unknown entries are kept, not followed */
		coco_buf ir = COCO_BUF_INIT;
		char *imt = NULL;
		char idg[COCO_DIGEST_STRLEN];
		coco_manifest *im = NULL;
		rc = coco_fetch_manifest(j->src, d, &ir, &imt, idg, &im);
		json_t *irep = json_object();
		json_array_append_new(insts, irep);
		if (d->platform.os)
			json_object_set(irep, "platform", json_object_get(d->json, "platform"));
		written iw;
		const cocoimg_copy_options *all = j->opts;
		cocoimg_copy_options as_is = *all;
		as_is.crypt_mode = COCOIMG_CRYPT_NONE;
		if (!platform_selected(j, d))
			j->opts = &as_is;  /* not a platform asked for: copied as it is */
		if (!rc && im->kind != COCO_KIND_INDEX)
			rc = copy_policy(j, &ir, idg);
		if (!rc)
			rc = im->kind == COCO_KIND_INDEX ? copy_index(j, &ir, im, false, depth + 1, irep, &iw)
			                                 : copy_image(j, &ir, im, false, irep, &iw);
		j->opts = all;
		if (!rc && (strcmp(iw.digest, d->digest) || strcmp(iw.media_type, d->media_type) ||
		            (int64_t)iw.size != d->size)) {
			changed = true;
			json_t *nd = json_deep_copy(d->json);
			json_object_set_new(nd, "mediaType", json_string(iw.media_type));
			json_object_set_new(nd, "digest", json_string(iw.digest));
			json_object_set_new(nd, "size", json_integer((json_int_t)iw.size));
			json_decref(descs[i]);
			descs[i] = nd;
		}
		coco_manifest_free(im);
		free(imt);
		coco_buf_free(&ir);
		if (rc)
			goto done;
	}
	if (changed) {
		json_t *ms = json_array();
		for (size_t i = 0; i < idx->n_manifests; i++)
			json_array_append_new(ms, convert ? coco_oci_convert_desc(descs[i], NULL) : json_incref(descs[i]));
		ij = rebuild_doc(idx, convert, COCO_MT_OCI_INDEX, NULL, "manifests", ms);
	}
	rc = store_doc(j, raw, changed, ij, convert ? COCO_MT_OCI_INDEX : idx->media_type, top, report, wr);
done:
	for (size_t i = 0; i < idx->n_manifests; i++)
		json_decref(descs[i]);
	free(descs);
	json_decref(ij);
	return rc;
}

static void add_stats(copy_job *j, json_t *report)
{
	json_t *st = json_object();
	for (int k = 0; k < ST_N; k++)
		if (k != ST_ENCRYPT || j->opts->crypt_mode == COCOIMG_CRYPT_ENCRYPT)
			json_object_set_new(st, stat_keys[k], json_integer((json_int_t)j->ns[k]));
	json_object_set_new(report, "stats", st);
}

/* The source and its top manifest, read and checked before the
 * destination exists (both references parsed first). */
static int copy_open_source(copy_job *j, const char *srcref, const char *dstref, coco_buf *top,
                            char **top_mt, coco_manifest **tm, char tdg[COCO_DIGEST_STRLEN])
{
	cocoimg_ctx *ctx = j->ctx;
	coco_ref *sref = NULL, *dref = NULL;
	int rc;
	if ((rc = coco_ref_parse(ctx, srcref, &sref)) || (rc = coco_ref_parse(ctx, dstref, &dref))) {
		coco_ref_free(sref);
		return rc;
	}
	j->to_oci = dref->transport != COCO_TR_DOCKER;
	coco_ref_free(dref);
	if ((rc = coco_src_open_ref(ctx, sref, "src", &j->src)))
		return rc;
	if ((rc = j->src->ops->get_manifest(j->src, NULL, top, top_mt)))
		return rc;
	if ((rc = coco_manifest_parse(ctx, top->data, top->len, *top_mt, tm)))
		return coco_preferr(ctx, rc, "%s", srcref);
	const char *want = j->src->ref->transport == COCO_TR_DOCKER ? j->src->ref->docker.digest
	                                                             : NULL;
	coco_digest_like(want, top->data, top->len, tdg);
	if (want && strcmp(want, tdg))
		return coco_seterr(ctx, COCOIMG_EDIGEST, "manifest %s: content has digest %s", want, tdg);
	return 0;
}

/* Open the destination and copy what multi_arch selects into it. */
static int copy_to_dest(copy_job *j, const char *dstref, const coco_buf *top, coco_manifest **tm,
                        const char *tdg, coco_resolved *r, json_t *rep)
{
	cocoimg_ctx *ctx = j->ctx;
	int rc;
	written wr;
	bool index = (*tm)->kind == COCO_KIND_INDEX;
	bool one = index && j->opts->multi_arch == COCOIMG_MULTI_ARCH_SYSTEM;
	/* require-encrypted: every image copied (or named by the index copied)
	 * is checked before the destination exists */
	if (!one && (rc = coco_op_require_encrypted_tree(ctx, j->src, *tm, j->src_name)))
		return rc;
	if ((rc = copy_policy(j, top, tdg)))
		return rc;
	if (one) {
		/* the platform instance only */
		coco_manifest_free(*tm);
		*tm = NULL;
		if ((rc = coco_resolve(j->src, NULL, r)) ||
		    (rc = coco_op_require_encrypted(ctx, r->image, j->src_name)) ||
		    (rc = copy_policy(j, &r->raw, r->digest)) ||
		    (rc = coco_dest_open(ctx, dstref, &j->dst)))
			return rc;
		rc = copy_image(j, &r->raw, r->image, true, rep, &wr);
	} else if (index && j->opts->multi_arch == COCOIMG_MULTI_ARCH_INDEX_ONLY) {
		if ((rc = coco_dest_open(ctx, dstref, &j->dst)))
			return rc;
		rc = j->dst->ops->put_manifest(j->dst, top->data, top->len, (*tm)->media_type, true);
		coco_report_doc(rep, "index", tdg, (*tm)->media_type, (int64_t)top->len);
	} else {
		if ((rc = coco_dest_open(ctx, dstref, &j->dst)))
			return rc;
		rc = index ? copy_index(j, top, *tm, true, 0, rep, &wr)
		           : copy_image(j, top, *tm, true, rep, &wr);
	}
	return rc ? rc : j->dst->ops->commit(j->dst);
}

static void copy_free_platforms(copy_job *j)
{
	for (size_t i = 0; j->platforms && i < j->opts->n_platforms; i++)
		coco_platform_clear(&j->platforms[i]);
	free(j->platforms);
	j->platforms = NULL;
}

/* opts->platforms into j->platforms (a malformed one is EINVAL). */
static int copy_parse_platforms(copy_job *j)
{
	size_t n = j->opts->n_platforms;
	if (!n)
		return 0;
	j->platforms = calloc(n, sizeof(*j->platforms));
	if (!j->platforms)
		return coco_oom(j->ctx);
	for (size_t i = 0; i < n; i++) {
		int rc = j->opts->platforms[i]
		                 ? coco_platform_parse(j->ctx, j->opts->platforms[i], &j->platforms[i])
		                 : coco_seterr(j->ctx, COCOIMG_EINVAL, "copy: platform %zu is NULL", i);
		if (rc) {
			copy_free_platforms(j);
			return rc;
		}
	}
	return 0;
}

static int copy_run(cocoimg_ctx *ctx, const char *srcref, const char *dstref,
                    const cocoimg_copy_options *opts, char **report)
{
	copy_job j = { 0 };
	j.ctx = ctx;
	j.opts = opts;
	j.src_name = srcref;
	j.parallel = coco_opt_long(ctx, NULL, "parallel", 3);
	int rc = copy_parse_platforms(&j);
	if (rc)
		return rc;
	pthread_mutex_init(&j.mu, NULL);
	coco_resolved r = { 0 };
	json_t *rep = json_object();
	uint64_t t_start = coco_now_ns();
	coco_buf top = COCO_BUF_INIT;
	char *top_mt = NULL;
	coco_manifest *tm = NULL;
	char tdg[COCO_DIGEST_STRLEN];
	rc = copy_open_source(&j, srcref, dstref, &top, &top_mt, &tm, tdg);
	if (!rc) {
		json_object_set_new(rep, "source", json_string(srcref));
		json_object_set_new(rep, "destination", json_string(dstref));
		json_object_set_new(rep, "source_digest", json_string(tdg));
		rc = copy_to_dest(&j, dstref, &top, &tm, tdg, &r, rep);
	}
	coco_manifest_free(tm);
	coco_buf_free(&top);
	free(top_mt);
	coco_dest_close(j.dst);
	coco_src_close(j.src);
	coco_resolved_clear(&r);
	if (!rc && report) {
		json_object_set_new(rep, "bytes_copied", json_integer((json_int_t)j.bytes));
		if (opts->collect_stats) {
			add_stats(&j, rep);
			json_object_set_new(json_object_get(rep, "stats"), "total_ns",
			                    json_integer((json_int_t)(coco_now_ns() - t_start)));
		}
		*report = coco_json_dump(rep);
		if (!*report)
			rc = coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory");
	}
	json_decref(rep);
	pthread_mutex_destroy(&j.mu);
	copy_free_platforms(&j);
	return rc;
}

COCOIMG_API int cocoimg_copy(cocoimg_ctx *ctx, const char *srcref, const char *dstref,
                             const cocoimg_copy_options *opts, char **report)
{
	COCO_API_ENTER(ctx);
	static const cocoimg_copy_options defaults = COCOIMG_COPY_OPTIONS_INIT;
	if (report)
		*report = NULL;
	if (!srcref || !dstref)
		return coco_seterr(ctx, COCOIMG_EINVAL, "copy: missing argument");
	if (!opts)
		opts = &defaults;
	if (coco_api_check_version(ctx, "cocoimg_copy_options", opts->version,
	                           COCOIMG_COPY_OPTIONS_VERSION))
		return COCOIMG_EINVAL;
	if (opts->multi_arch > COCOIMG_MULTI_ARCH_INDEX_ONLY || opts->crypt_mode > COCOIMG_CRYPT_DECRYPT)
		return coco_seterr(ctx, COCOIMG_EINVAL, "copy: invalid option value");
	/* the caller's options in the newest layout (version 1 ends before
	 * policy: the rest keeps its defaults) */
	cocoimg_copy_options o = defaults;
	memcpy(&o, opts, opts->version >= 2 ? sizeof(o) : offsetof(cocoimg_copy_options, policy));
	if (o.n_platforms && (!o.platforms || o.multi_arch != COCOIMG_MULTI_ARCH_ALL))
		return coco_seterr(ctx, COCOIMG_EINVAL, "copy: a platform list needs multi_arch ALL "
		                   "(every instance of the index is kept, those listed are processed)");
	/* Decrypting without a keyring: CoCo layer keys from the context's
	 * trust broker (resources file, resource callback, CDH, KBS), as
	 * unpack does. */
	cocoimg_keyring *owned = NULL;
	int rc = 0;
	if (o.crypt_mode == COCOIMG_CRYPT_DECRYPT && !o.keys)
		rc = coco_op_keyring(ctx, NULL, &o.keys, &owned);
	if (!rc)
		rc = copy_run(ctx, srcref, dstref, &o, report);
	cocoimg_keyring_free(owned);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Inspect                                                             */
/* ------------------------------------------------------------------ */

static void copy_if(json_t *dst, const char *dkey, json_t *src, const char *skey, json_type t)
{
	json_t *v = src ? json_object_get(src, skey) : NULL;
	if (v && json_typeof(v) == t)
		json_object_set(dst, dkey, v);
}

static int inspect_image(coco_src *s, const coco_manifest *m, json_t *rep)
{
	cocoimg_ctx *ctx = s->ctx;
	const coco_desc *c = &m->config;
	coco_report_doc(rep, "config", c->digest, c->media_type, c->size);
	if (!strcmp(c->media_type, COCO_MT_OCI_CONFIG) || !strcmp(c->media_type, COCO_MT_DOCKER_CONFIG)) {
		coco_buf b = COCO_BUF_INIT;
		json_t *cj = NULL;
		int rc = coco_fetch_small_blob(s, c, COCO_LIM_CONFIG_SIZE, &b);
		if (!rc)
			rc = coco_json_parse(ctx, b.data, b.len, "image config", COCOIMG_EBADIMAGE, &cj);
		coco_buf_free(&b);
		if (rc)
			return coco_preferr(ctx, rc, "config %s", c->digest);
		json_t *cfg = json_object();
		json_object_set_new(rep, "config", cfg);
		copy_if(cfg, "created", cj, "created", JSON_STRING);
		copy_if(cfg, "author", cj, "author", JSON_STRING);
		copy_if(cfg, "os", cj, "os", JSON_STRING);
		copy_if(cfg, "architecture", cj, "architecture", JSON_STRING);
		copy_if(cfg, "variant", cj, "variant", JSON_STRING);
		json_t *cc = json_object_get(cj, "config");
		if (json_is_object(cc)) {
			copy_if(cfg, "user", cc, "User", JSON_STRING);
			copy_if(cfg, "env", cc, "Env", JSON_ARRAY);
			copy_if(cfg, "entrypoint", cc, "Entrypoint", JSON_ARRAY);
			copy_if(cfg, "cmd", cc, "Cmd", JSON_ARRAY);
			copy_if(cfg, "working_dir", cc, "WorkingDir", JSON_STRING);
			copy_if(cfg, "labels", cc, "Labels", JSON_OBJECT);
			copy_if(cfg, "exposed_ports", cc, "ExposedPorts", JSON_OBJECT);
		}
		json_t *plat = json_object();
		copy_if(plat, "os", cj, "os", JSON_STRING);
		copy_if(plat, "architecture", cj, "architecture", JSON_STRING);
		copy_if(plat, "variant", cj, "variant", JSON_STRING);
		json_object_set_new(rep, "platform", plat);
		json_t *rootfs = json_object_get(cj, "rootfs");
		json_t *ids = json_is_object(rootfs) ? json_object_get(rootfs, "diff_ids") : NULL;
		if (json_is_array(ids) && json_array_size(ids) != m->n_layers)
			coco_warn(ctx, "config %s lists %zu diff_ids for %zu layers", c->digest,
			          json_array_size(ids), m->n_layers);
		json_decref(cj);
	}
	json_t *layers = json_array();
	json_object_set_new(rep, "layers", layers);
	for (size_t i = 0; i < m->n_layers; i++) {
		const coco_desc *d = &m->layers[i];
		bool enc = coco_mt_is_encrypted(d->media_type);
		json_t *l = coco_report_layer(d->digest, d->media_type, d->size);
		if (enc) {
			json_t *e = coco_crypt_describe_layer(ctx, d);
			if (e)
				json_object_set_new(l, "encryption", e);
		}
		if (d->annotations && json_object_size(d->annotations) && !enc)
			json_object_set(l, "annotations", d->annotations);
		json_array_append_new(layers, l);
	}
	if (m->annotations)
		json_object_set(rep, "annotations", m->annotations);
	return 0;
}

COCOIMG_API int cocoimg_inspect(cocoimg_ctx *ctx, const char *image, char **report)
{
	COCO_API_ENTER(ctx);
	if (report)
		*report = NULL;
	if (!image || !report)
		return coco_seterr(ctx, COCOIMG_EINVAL, "inspect: missing argument");
	coco_src *s = NULL;
	coco_resolved r = { 0 };
	json_t *rep = json_object();
	int rc = coco_src_open(ctx, image, "src", &s);
	if (rc)
		goto done;
	json_object_set_new(rep, "image", json_string(image));
	char *canon = coco_ref_string(s->ref);
	if (canon)
		json_object_set_new(rep, "reference", json_string(canon));
	free(canon);
	/* the top manifest first: an index is listed unless a platform was asked for */
	coco_buf top = COCO_BUF_INIT;
	char *top_mt = NULL;
	coco_manifest *tm = NULL;
	rc = s->ops->get_manifest(s, NULL, &top, &top_mt);
	if (!rc && (rc = coco_manifest_parse(ctx, top.data, top.len, top_mt, &tm)))
		coco_preferr(ctx, rc, "%s", image);
	bool list = !rc && tm->kind == COCO_KIND_INDEX && !coco_opt(ctx, NULL, "platform");
	if (list) {
		char dg[COCO_DIGEST_STRLEN];
		coco_digest_like(NULL, top.data, top.len, dg);
		coco_report_doc(rep, "index", dg, tm->media_type, (int64_t)top.len);
		json_t *ms = json_array();
		json_object_set_new(rep, "manifests", ms);
		for (size_t i = 0; i < tm->n_manifests; i++) {
			const coco_desc *d = &tm->manifests[i];
			json_t *e = json_object();
			coco_report_doc(e, "manifest", d->digest, d->media_type, d->size);
			json_t *p = json_object_get(d->json, "platform");
			if (p)
				json_object_set(e, "platform", p);
			if (d->annotations)
				json_object_set(e, "annotations", d->annotations);
			json_array_append_new(ms, e);
		}
		if (tm->annotations)
			json_object_set(rep, "annotations", tm->annotations);
	}
	coco_manifest_free(tm);
	coco_buf_free(&top);
	free(top_mt);
	if (rc || list)
		goto done;
	if ((rc = coco_resolve(s, NULL, &r)))
		goto done;
	coco_report_doc(rep, "manifest", r.digest, r.media_type, (int64_t)r.raw.len);
	if (r.image != r.top)
		coco_report_doc(rep, "index", r.top_digest, r.top_media_type, -1);
	rc = inspect_image(s, r.image, rep);
done:
	if (!rc) {
		*report = coco_json_dump(rep);
		if (!*report)
			rc = coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory");
	}
	json_decref(rep);
	coco_resolved_clear(&r);
	coco_src_close(s);
	return rc;
}

COCOIMG_API int cocoimg_reference_normalize(cocoimg_ctx *ctx, const char *ref, char **out)
{
	COCO_API_ENTER(ctx);
	if (out)
		*out = NULL;
	if (!ref || !out)
		return coco_seterr(ctx, COCOIMG_EINVAL, "reference_normalize: missing argument");
	coco_ref *r;
	int rc = coco_ref_parse(ctx, ref, &r);
	if (rc)
		return rc;
	*out = coco_ref_string(r);
	coco_ref_free(r);
	return *out ? 0 : coco_seterr(ctx, COCOIMG_ENOMEM, "out of memory");
}
