/*
 * Docker references for the policy engine: remapIdentity prefixes and the
 * scope namespace list of the docker transport
 * (policyconfiguration.DockerReferenceNamespaces).  References themselves
 * are parsed by ref.c (coco_dref_parse_named: Go's ParseNormalizedNamed /
 * ParseNamed).
 */
#include "policy.h"
#include "../base.h"
#include "../ref.h"

#include <string.h>

bool coco_remap_prefix_valid(const char *s)
{
	/* either exactly a domain, or "domain/..." that is a valid name */
	size_t n = strlen(s);
	if (coco_ref_domain_ok(s, n))
		return true;
	const char *slash = strchr(s, '/');
	if (!slash || !coco_ref_domain_ok(s, (size_t)(slash - s)))
		return false;
	return coco_ref_path_ok(slash + 1, n - (size_t)(slash - s) - 1);
}

void coco_trust_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

char **coco_docker_namespaces(const coco_dref *r)
{
	char *name = coco_dref_repo(r);
	if (!name)
		return NULL;
	size_t cap = 8, n = 0;
	char **v = calloc(cap, sizeof(char *));
	if (!v) {
		free(name);
		return NULL;
	}
#define PUSH(str)                                                              \
	do {                                                                   \
		if (n + 2 > cap) {                                             \
			char **nv = realloc(v, cap * 2 * sizeof(char *));      \
			if (!nv)                                               \
				goto oom;                                      \
			v = nv;                                                \
			cap *= 2;                                              \
		}                                                              \
		if (!(v[n] = (str)))                                           \
			goto oom;                                              \
		v[++n] = NULL;                                                 \
	} while (0)
	size_t len = strlen(name);
	for (;;) {
		PUSH(coco_strndup(name, len));
		char *sl = memrchr(name, '/', len);
		if (!sl)
			break;
		len = (size_t)(sl - name);
	}
	/* wildcards from the host, without its port */
	char *host = coco_strndup(name, len);
	if (!host)
		goto oom;
	char *port = strchr(host, ':');
	if (port)
		*port = 0;
	for (char *p = host; (p = strchr(p, '.')) != NULL;) {
		p++;
		char *w = coco_asprintf("*.%s", p);
		if (!w) {
			free(host);
			goto oom;
		}
		PUSH(w);
	}
	free(host);
	free(name);
	return v;
oom:
	free(name);
	coco_trust_strv_free(v);
	return NULL;
#undef PUSH
}
