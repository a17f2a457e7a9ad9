/*
 * caps.c: the caps and deadlines an operation runs under (what a hostile
 * registry or image may cost), as context keys with documented defaults.
 * SECURITY.md lists them; cocoimg.h documents the keys.
 */
#ifndef COCO_CAPS_H
#define COCO_CAPS_H

#include "base.h"

typedef enum coco_limit_id {
	COCO_LIM_COMMAND_TIMEOUT = 0, /* ms; whole operation's network part, 0 = none */
	COCO_LIM_METADATA_TIMEOUT,    /* ms; one exchange of a small body (manifest, token...) */
	COCO_LIM_STALL_TIMEOUT,       /* ms; window over which min-rate is averaged */
	COCO_LIM_MIN_RATE,            /* bytes/s a download must keep up over the window */
	COCO_LIM_LAYER_SIZE,          /* unpacked (tar) bytes of one layer */
	COCO_LIM_IMAGE_SIZE,          /* unpacked (tar) bytes of all layers */
	COCO_LIM_ENTRIES,             /* tar entries of all layers */
	COCO_LIM_LAYERS,              /* layers in one image manifest */
	COCO_LIM_MANIFEST_SIZE,       /* bytes of a manifest or index held in memory */
	COCO_LIM_CONFIG_SIZE,         /* bytes of an image config */
	COCO_LIM_SIGNATURE_SIZE,      /* bytes of one signature (lookaside, cosign layer) */
	COCO_LIM_SIGNATURE_PAYLOAD,   /* bytes an OpenPGP signature's compressed packets
	                               * may inflate to */
	COCO_LIM_TOKEN_SIZE,          /* bytes of a bearer token response */
	COCO_LIM_ERROR_BODY,          /* bytes of a registry error body read, then cut */
	COCO_LIM_SPOOL_SIZE,          /* bytes of layers spooled ahead at one time */
	COCO_LIM_COUNT
} coco_limit_id;

/* The value in effect (the ctx key, else the default); 0 = no limit for
 * command-timeout only. */
uint64_t coco_limit(const cocoimg_ctx *ctx, coco_limit_id id);
/* The ctx key naming a limit ("max-layer-size", ...). */
const char *coco_limit_key(coco_limit_id id);
/* A byte cap as a size_t (clamped). */
size_t coco_limit_size(const cocoimg_ctx *ctx, coco_limit_id id);
/*
 * Refuse something over a byte cap: records "WHAT: GOT bytes, over the
 * CAP-byte cap (KEY)" (without GOT when it is UINT64_MAX, i.e. unknown)
 * and returns code.  WHAT is a printf format.
 */
int coco_limit_refuse(cocoimg_ctx *ctx, int code, coco_limit_id id, uint64_t got,
                      const char *fmt, ...) COCO_PRINTF(5, 6);
/* Is key (without side prefix) one of the limits? */
bool coco_limit_is_key(const char *key);
/* Check a value for a limit key; records the error on ctx (EINVAL). */
int coco_limit_validate(cocoimg_ctx *ctx, const char *key, const char *value);

/* "1048576", "512K", "4MiB", "2G", "1T" (binary units). 0 or -1. */
int coco_parse_size(const char *s, uint64_t *out);
/* "90" (seconds), "500ms", "90s", "5m", "1h30m" (Go's duration units
 * ms/s/m/h). Milliseconds in *out. 0 or -1. */
int coco_parse_duration(const char *s, uint64_t *out_ms);

#endif /* COCO_CAPS_H */
