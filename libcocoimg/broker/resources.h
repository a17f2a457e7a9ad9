/*
 * libcocoimg broker/: the offline_fs_kbc resources file (resources.c).
 * Not installed.  Depends on the base layer only.
 *
 * The file is what confidential-containers' offline_fs_kbc reads from
 * /etc/aa-offline_fs_kbc-resources.json (and, in CDH, also from the keys
 * file of the same shape): one JSON object mapping a resource path
 * "REPO/TYPE/TAG" to its content in standard base64.
 *
 *   {"default/security-policy/test": "ewog...",
 *    "default/key/key_id1": "REXwTCcC..."}
 */
#ifndef COCO_BROKER_RESOURCES_H
#define COCO_BROKER_RESOURCES_H

#include "../base.h"

/* Largest resources file read (policies, keys and credentials are small). */
#define COCO_RESFILE_MAX (16 * 1024 * 1024)

typedef struct coco_resfile coco_resfile;

/*
 * Parse the file's bytes; name says where they came from in messages.
 * Every value must be a base64 string (decoded now: a bad entry is
 * refused at load, as upstream does); duplicate names are refused.
 * COCOIMG_ECONFIG with a message naming the file and the entry, never the
 * content; COCOIMG_ENOMEM.  The decoded contents are wiped on free.
 */
int coco_resfile_parse(cocoimg_ctx *ctx, const unsigned char *data, size_t len, const char *name,
                       coco_resfile **out);
/* Read and parse a file (at most COCO_RESFILE_MAX bytes; wiped after). */
int coco_resfile_load(cocoimg_ctx *ctx, const char *path, coco_resfile **out);
void coco_resfile_free(coco_resfile *f);

/* The content of resource `path` ("REPO/TYPE/TAG"): 0 with the bytes
 * appended to out, COCOIMG_ENOTFOUND when the file has no such entry,
 * COCOIMG_ENOMEM.  No message is recorded. */
int coco_resfile_get(const coco_resfile *f, const char *path, coco_buf *out);
/* The file's name as given to parse/load. */
const char *coco_resfile_name(const coco_resfile *f);

#endif /* COCO_BROKER_RESOURCES_H */
