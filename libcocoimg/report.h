/*
 * The shared vocabulary of the operations' JSON reports (docs/json.md):
 * one name per concept, so that copy, inspect, unpack and sign describe a
 * manifest, an index, a config and a layer the same way.  Base layer (JSON
 * only).  Not installed.
 */
#ifndef COCO_REPORT_H
#define COCO_REPORT_H

#include <jansson.h>
#include <stdint.h>

/* PREFIX_digest, PREFIX_media_type and (size >= 0) PREFIX_size in obj;
 * prefix is "manifest", "index" or "config".  A NULL digest or media type
 * is left out. */
void coco_report_doc(json_t *obj, const char *prefix, const char *digest, const char *media_type,
                     int64_t size);

/* The core of a layer object: digest, media_type, size and encrypted
 * (the media type ends in +encrypted).  NULL when out of memory. */
json_t *coco_report_layer(const char *digest, const char *media_type, int64_t size);

#endif
