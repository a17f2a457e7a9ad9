/*
 * libcocoimg broker/: resource URIs, the names confidential-containers
 * guests give to what a Key Broker Service releases (keys, policies,
 * public keys, credentials).  Not installed.  Depends on the base layer
 * only.
 *
 * Accepted forms (guest-components deps/resource_uri, RESOURCE_URI.md):
 *   kbs:///REPO/TYPE/TAG
 *   kbs://HOST[:PORT]/REPO/TYPE/TAG   the host part is ignored, as CDH does
 * and, where a key id (kid) of an annotation packet is read, also the
 * bare paths CoCo's older tools write:
 *   /REPO/TYPE/TAG
 *   REPO/TYPE/TAG
 * The normal form is kbs:///REPO/TYPE/TAG (what CDH's UnwrapKey accepts).
 *
 * Refused with a message: kbs+PLUGIN:// URIs (only the KBS "resource"
 * plugin serves keys and files here), query strings and fragments, paths
 * that are not exactly three non-empty segments, "." and ".." segments,
 * and characters outside RFC 3986's path characters.  Upstream's parser
 * also takes more segments and query strings (forwarded to the KBS); the
 * Trustee resource plugin and the offline_fs_kbc files name resources by
 * REPO/TYPE/TAG, which is what our contract (cli.md) fixes.
 */
#ifndef COCO_BROKER_RESOURCE_URI_H
#define COCO_BROKER_RESOURCE_URI_H

#include "../base.h"

typedef struct coco_ruri {
	char *repo;
	char *type;
	char *tag;
	char *host;                /* as written ("" for kbs:///...); NULL for bare paths */
	char *path;                /* "REPO/TYPE/TAG" */
	char *uri;                 /* normal form "kbs:///REPO/TYPE/TAG" */
} coco_ruri;

/* Flags of coco_ruri_parse(). */
enum {
	/* Also take /R/T/G and R/T/G (key ids of annotation packets). */
	COCO_RURI_KID = 1u << 0
};

/*
 * True when s is meant as a resource URI (starts with "kbs:" or "kbs+",
 * any letter case), so that where a file is named, s must not be read
 * as a file path.
 */
bool coco_ruri_is_uri(const char *s);

/*
 * Parse s into *out (cleared first; release with coco_ruri_clear).
 * Returns 0, or COCOIMG_EINVAL with a message on ctx (ctx may be NULL)
 * that quotes s and says what is wrong, or COCOIMG_ENOMEM.
 */
int coco_ruri_parse(cocoimg_ctx *ctx, const char *s, unsigned flags, coco_ruri *out);
void coco_ruri_clear(coco_ruri *r);

/*
 * The normal form kbs:///REPO/TYPE/TAG of s (malloc'd), or NULL with a
 * message on ctx as coco_ruri_parse() gives it.
 */
char *coco_ruri_normalize(cocoimg_ctx *ctx, const char *s, unsigned flags);

#endif /* COCO_BROKER_RESOURCE_URI_H */
