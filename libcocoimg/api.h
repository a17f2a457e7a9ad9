/*
 * The conventions every public cocoimg_* operation follows (libgit2's
 * rules, see README "API conventions"):
 *
 *  - one entry prologue, COCO_API_ENTER(ctx), as the first statement: it
 *    refuses a NULL context and clears the context's last error, so a
 *    failed call never reports the message of an earlier call;
 *  - the options version rule: a version of 0 (a struct nobody
 *    initialised) or one newer than this build knows is refused with
 *    COCOIMG_EINVAL and a message naming the struct.
 *
 * Not installed.
 */
#ifndef COCO_API_H
#define COCO_API_H

#include <cocoimg.h>

#include <stddef.h>

/* 0, or COCOIMG_EINVAL for a NULL context.  Clears the last error. */
int coco_api_enter(cocoimg_ctx *ctx);

/* Return from the calling public function when the prologue fails. */
#define COCO_API_ENTER(ctx)                                   \
	do {                                                  \
		int coco_api_rc_ = coco_api_enter(ctx);       \
		if (coco_api_rc_)                             \
			return coco_api_rc_;                  \
	} while (0)

/* 0 when 1 <= version <= known; else COCOIMG_EINVAL recorded on ctx,
 * naming `type` (e.g. "cocoimg_copy_options"). */
int coco_api_check_version(cocoimg_ctx *ctx, const char *type, unsigned version, unsigned known);

/* How much of a cocoimg_sign_options a caller of that version has: the
 * struct up to the first field a later version added. */
static inline size_t coco_sign_options_size(unsigned version)
{
	if (version <= 1)
		return offsetof(cocoimg_sign_options, bundle_format);
	if (version == 2)
		return offsetof(cocoimg_sign_options, rekor_url);
	if (version == 3)
		return offsetof(cocoimg_sign_options, fulcio_url);
	return sizeof(cocoimg_sign_options);
}

#endif
