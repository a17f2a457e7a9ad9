/*
 * registries.d (containers-registries.d(5)): where simple signatures are
 * read from (lookaside / legacy sigstore) and whether sigstore
 * attachments are used, per docker namespace.
 *
 * Like containers/image: every *.yaml file of the directory is read,
 * unknown keys are ignored, a namespace (or default-docker) defined in
 * two files is an error, and the lookup walks the image identity, its
 * namespaces and *. wildcards, then default-docker, taking the first
 * section that defines the wanted value.  lookaside-staging /
 * sigstore-staging are for writers and ignored here.
 */
#include "policy.h"
#include "../base.h"
#include "../ref.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if HAVE_YAML
#include <yaml.h>
#endif

typedef struct regd_section {
	char *ns;                  /* NULL: default-docker */
	char *file;
	char *lookaside;           /* "lookaside" (wins) */
	char *sigstore;            /* legacy "sigstore" */
	int use_attachments;       /* -1 unset */
} regd_section;

struct coco_regd {
	regd_section *v;
	size_t n;
};

coco_regd *coco_regd_new(void)
{
	return calloc(1, sizeof(coco_regd));
}

void coco_regd_free(coco_regd *rd)
{
	if (!rd)
		return;
	for (size_t i = 0; i < rd->n; i++) {
		free(rd->v[i].ns);
		free(rd->v[i].file);
		free(rd->v[i].lookaside);
		free(rd->v[i].sigstore);
	}
	free(rd->v);
	free(rd);
}

#if HAVE_YAML

static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static bool is_null(yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE)
		return false;
	const char *s = scalar(n);
	return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	        !strcmp(s, "NULL"));
}

/* Duplicate keys in one mapping are an error (yaml.v3). */
static int check_dups(cocoimg_ctx *ctx, yaml_document_t *d, yaml_node_t *m, const char *name)
{
	for (yaml_node_pair_t *a = m->data.mapping.pairs.start; a < m->data.mapping.pairs.top; a++) {
		const char *ka = scalar(yaml_document_get_node(d, a->key));
		if (!ka)
			return coco_seterr(ctx, COCOIMG_ECONFIG, "%s: mapping keys must be scalars",
			                   name);
		for (yaml_node_pair_t *b = a + 1; b < m->data.mapping.pairs.top; b++) {
			const char *kb = scalar(yaml_document_get_node(d, b->key));
			if (kb && !strcmp(ka, kb))
				return coco_seterr(ctx, COCOIMG_ECONFIG, "%s: mapping key \"%s\" "
				                   "already defined", name, ka);
		}
	}
	return 0;
}

static int section_find(coco_regd *rd, const char *ns)
{
	for (size_t i = 0; i < rd->n; i++)
		if ((ns == NULL) == (rd->v[i].ns == NULL) && (!ns || !strcmp(ns, rd->v[i].ns)))
			return (int)i;
	return -1;
}

/* The section's name in messages. */
static const char *section_name(const char *ns)
{
	return ns ? ns : "default-docker";
}

/* lookaside, sigstore and their -staging variants: strings; only the
 * first two are kept.  Go keeps "" as unset: the search goes on (to the
 * legacy key, then to less specific sections). */
static int section_string(cocoimg_ctx *ctx, regd_section *sec, const char *k, yaml_node_t *v,
                          const char *ns, const char *name)
{
	if (!v || v->type != YAML_SCALAR_NODE)
		return coco_seterr(ctx, COCOIMG_ECONFIG, "%s: %s of %s must be a string", name, k,
		                   section_name(ns));
	char **dst = !strcmp(k, "lookaside") ? &sec->lookaside
	           : !strcmp(k, "sigstore") ? &sec->sigstore : NULL;
	if (!dst || is_null(v) || !*scalar(v))
		return 0;
	free(*dst);
	*dst = coco_strdup(scalar(v));
	return 0;
}

/* use-sigstore-attachments: a YAML boolean (or null: unset). */
static int section_bool(cocoimg_ctx *ctx, regd_section *sec, yaml_node_t *v, const char *ns,
                        const char *name)
{
	static const char *const yes[] = { "true", "True", "TRUE" };
	static const char *const no[] = { "false", "False", "FALSE" };
	const char *s = scalar(v);
	if (is_null(v))
		return 0;
	for (size_t i = 0; s && i < 3; i++) {
		if (!strcmp(s, yes[i]) || !strcmp(s, no[i])) {
			sec->use_attachments = !strcmp(s, yes[i]);
			return 0;
		}
	}
	return coco_seterr(ctx, COCOIMG_ECONFIG,
	                   "%s: use-sigstore-attachments of %s must be true or false", name,
	                   section_name(ns));
}

/* The keys of a section mapping n; others are ignored, as containers/image
 * does. */
static int section_keys(cocoimg_ctx *ctx, yaml_document_t *d, yaml_node_t *n, regd_section *sec,
                        const char *ns, const char *name)
{
	static const char *const strs[] = { "lookaside", "sigstore", "lookaside-staging",
	                                    "sigstore-staging" };
	int rc = 0;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
	     !rc && p < n->data.mapping.pairs.top; p++) {
		const char *k = scalar(yaml_document_get_node(d, p->key));
		yaml_node_t *v = yaml_document_get_node(d, p->value);
		bool is_str = false;
		for (size_t i = 0; i < COCO_ARRAY_SIZE(strs); i++)
			is_str = is_str || !strcmp(k, strs[i]);
		if (is_str)
			rc = section_string(ctx, sec, k, v, ns, name);
		else if (!strcmp(k, "use-sigstore-attachments"))
			rc = section_bool(ctx, sec, v, ns, name);
	}
	return rc;
}

static int parse_section(cocoimg_ctx *ctx, coco_regd *rd, yaml_document_t *d, yaml_node_t *n,
                         const char *ns, const char *name)
{
	int prev = section_find(rd, ns);
	if (prev >= 0)
		return coco_seterr(ctx, COCOIMG_ECONFIG, "%s: %s%s%s is also defined in %s", name,
		                   ns ? "namespace \"" : "default-docker", ns ? ns : "",
		                   ns ? "\"" : "", rd->v[prev].file);
	regd_section sec = { NULL, NULL, NULL, NULL, -1 };
	int rc = 0;
	if (n && !is_null(n)) {
		if (n->type != YAML_MAPPING_NODE)
			return coco_seterr(ctx, COCOIMG_ECONFIG, "%s: %s must be a mapping", name,
			                   section_name(ns));
		if ((rc = check_dups(ctx, d, n, name)))
			return rc;
		rc = section_keys(ctx, d, n, &sec, ns, name);
	}
	regd_section *nv = rc ? NULL : realloc(rd->v, (rd->n + 1) * sizeof(*nv));
	if (!nv) {
		free(sec.lookaside);
		free(sec.sigstore);
		return rc ? rc : coco_oom(ctx);
	}
	rd->v = nv;
	sec.ns = ns ? coco_strdup(ns) : NULL;
	sec.file = coco_strdup(name);
	rd->v[rd->n++] = sec;
	return 0;
}

int coco_regd_add_yaml(cocoimg_ctx *ctx, coco_regd *rd, const void *data, size_t len,
                       const char *name)
{
	yaml_parser_t p;
	yaml_document_t d;
	int rc = 0;
	if (!yaml_parser_initialize(&p))
		return coco_oom(ctx);
	yaml_parser_set_input_string(&p, data, len);
	if (!yaml_parser_load(&p, &d)) {
		rc = coco_seterr(ctx, COCOIMG_ECONFIG, "%s: invalid YAML at line %zu: %s", name,
		                 p.problem_mark.line + 1, p.problem ? p.problem : "parse error");
		yaml_parser_delete(&p);
		return rc;
	}
	yaml_node_t *root = yaml_document_get_root_node(&d);
	if (!root || is_null(root))
		goto out;
	if (root->type != YAML_MAPPING_NODE) {
		rc = coco_seterr(ctx, COCOIMG_ECONFIG, "%s: the document must be a mapping", name);
		goto out;
	}
	if ((rc = check_dups(ctx, &d, root, name)))
		goto out;
	for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top;
	     pr++) {
		const char *k = scalar(yaml_document_get_node(&d, pr->key));
		yaml_node_t *v = yaml_document_get_node(&d, pr->value);
		if (!strcmp(k, "default-docker")) {
			if ((rc = parse_section(ctx, rd, &d, v, NULL, name)))
				goto out;
		} else if (!strcmp(k, "docker")) {
			if (!v || is_null(v))
				continue;
			if (v->type != YAML_MAPPING_NODE) {
				rc = coco_seterr(ctx, COCOIMG_ECONFIG, "%s: docker must be a mapping",
				                 name);
				goto out;
			}
			if ((rc = check_dups(ctx, &d, v, name)))
				goto out;
			for (yaml_node_pair_t *q = v->data.mapping.pairs.start;
			     q < v->data.mapping.pairs.top; q++) {
				const char *ns = scalar(yaml_document_get_node(&d, q->key));
				if ((rc = parse_section(ctx, rd, &d, yaml_document_get_node(&d, q->value),
				                        ns, name)))
					goto out;
			}
		}
	}
out:
	yaml_document_delete(&d);
	/* a stream with a second document is not what users mean */
	yaml_parser_delete(&p);
	return rc;
}

#else

int coco_regd_add_yaml(cocoimg_ctx *ctx, coco_regd *rd, const void *data, size_t len,
                       const char *name)
{
	(void)rd;
	(void)data;
	if (len == 0)
		return 0;
	return coco_seterr(ctx, COCOIMG_EUNSUPPORTED, "%s: registries.d support needs libyaml",
	                   name);
}

#endif

int coco_regd_load(cocoimg_ctx *ctx, const char *dir, coco_regd **out)
{
	char *owned = NULL;
	*out = NULL;
	if (!dir)
		dir = coco_opt(ctx, NULL, "registries.d");
	if (!dir) {
		const char *home = getenv("HOME");
		struct stat st;
		if (home && (owned = coco_asprintf("%s/.config/containers/registries.d", home)) &&
		    stat(owned, &st) == 0)
			dir = owned;
		else
			dir = "/etc/containers/registries.d";
	}
	coco_regd *rd = coco_regd_new();
	if (!rd) {
		free(owned);
		return coco_oom(ctx);
	}
	char **names = NULL;
	size_t nn = 0;
	int rc = coco_list_dir(ctx, dir, ".yaml", true, true, &names, &nn);
	if (rc) {
		rc = coco_preferr(ctx, rc == COCOIMG_ENOMEM ? rc : COCOIMG_ECONFIG, "registries.d");
		goto done;
	}
	for (size_t i = 0; i < nn; i++) {
		char *path = coco_asprintf("%s/%s", dir, names[i]);
		coco_buf b = COCO_BUF_INIT;
		if (rc == 0 && path) {
			struct stat st;
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
				rc = coco_read_file(ctx, path, 4 * 1024 * 1024, &b, COCOIMG_ECONFIG);
				if (rc)
					rc = coco_preferr(ctx, COCOIMG_ECONFIG, "registries.d");
				else
					rc = coco_regd_add_yaml(ctx, rd, b.data, b.len, path);
			}
		}
		coco_buf_free(&b);
		free(path);
	}
	coco_strv_free(names, nn);
done:
	free(owned);
	if (rc) {
		coco_regd_free(rd);
		return rc;
	}
	*out = rd;
	return 0;
}

/* Sections in lookup order for ref: identity, namespaces, default. */
static const regd_section *walk(const coco_regd *rd, const coco_dref *ref, int which)
{
	if (!rd)
		return NULL;
	char *id = coco_dref_string(ref);
	char **ns = coco_docker_namespaces(ref);
	const regd_section *hit = NULL;
	size_t total = 1 + 1;
	for (size_t i = 0; ns && ns[i]; i++)
		total++;
	for (size_t c = 0; c < total && !hit; c++) {
		const char *key = c == 0 ? id : (ns && c - 1 < total - 2) ? ns[c - 1] : NULL;
		if (c == 0 && !id)
			continue;
		for (size_t i = 0; i < rd->n; i++) {
			const regd_section *s = &rd->v[i];
			if (key ? !(s->ns && !strcmp(s->ns, key)) : s->ns != NULL)
				continue;
			bool has = which == 0 ? (s->lookaside || s->sigstore) : s->use_attachments >= 0;
			if (has)
				hit = s;
			break;
		}
	}
	free(id);
	coco_trust_strv_free(ns);
	return hit;
}

char *coco_regd_lookaside(const coco_regd *rd, const coco_dref *ref)
{
	const regd_section *s = walk(rd, ref, 0);
	if (s)
		return coco_strdup(s->lookaside ? s->lookaside : s->sigstore);
	/* built-in default store */
	if (geteuid() == 0)
		return coco_strdup("file:///var/lib/containers/sigstore");
	const char *home = getenv("HOME");
	return coco_asprintf("file://%s/.local/share/containers/sigstore", home ? home : "");
}

bool coco_regd_use_sigstore_attachments(const coco_regd *rd, const coco_dref *ref)
{
	const regd_section *s = walk(rd, ref, 1);
	return s && s->use_attachments > 0;
}
