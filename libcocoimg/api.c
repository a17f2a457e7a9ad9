/* The public-API conventions shared by every operation: the entry
 * prologue, the options version rule, and the cocoimg_*_options_init()
 * functions.  See api.h. */
#include "api.h"
#include "base.h"
#include "caps.h"


#include <stddef.h>
#include <string.h>

int coco_api_enter(cocoimg_ctx *ctx)
{
	if (!ctx)
		return COCOIMG_EINVAL;
	coco_clearerr(ctx);
	coco_deadline_arm(ctx);
	return 0;
}

int coco_api_check_version(cocoimg_ctx *ctx, const char *type, unsigned version, unsigned known)
{
	if (version == 0)
		return coco_seterr(ctx, COCOIMG_EINVAL,
		                   "%s: version 0 (initialise it with its _INIT macro or _init function)",
		                   type);
	if (version > known)
		return coco_seterr(ctx, COCOIMG_EINVAL,
		                   "%s: version %u is newer than this library knows (%u)", type, version,
		                   known);
	return 0;
}

/* Fill `opts` from the template of the newest version.  Only one version
 * of each struct exists so far; when a version 2 appears, version 1
 * callers must get only the version 1 prefix (size by version). */
static int options_init(void *opts, const void *tpl, size_t size, unsigned version,
                        unsigned known)
{
	if (!opts || version == 0 || version > known)
		return COCOIMG_EINVAL;
	memcpy(opts, tpl, size);
	memcpy(opts, &version, sizeof(version));     /* every struct starts with it */
	return 0;
}

COCOIMG_API int cocoimg_copy_options_init(cocoimg_copy_options *opts, unsigned version)
{
	static const cocoimg_copy_options tpl = COCOIMG_COPY_OPTIONS_INIT;
	/* a version 1 struct ends before policy */
	size_t size = version >= 2 ? sizeof(tpl) : offsetof(cocoimg_copy_options, policy);
	return options_init(opts, &tpl, size, version, COCOIMG_COPY_OPTIONS_VERSION);
}

COCOIMG_API int cocoimg_unpack_options_init(cocoimg_unpack_options *opts, unsigned version)
{
	static const cocoimg_unpack_options tpl = COCOIMG_UNPACK_OPTIONS_INIT;
	return options_init(opts, &tpl, sizeof(tpl), version, COCOIMG_UNPACK_OPTIONS_VERSION);
}

COCOIMG_API int cocoimg_sign_options_init(cocoimg_sign_options *opts, unsigned version)
{
	static const cocoimg_sign_options tpl = COCOIMG_SIGN_OPTIONS_INIT;
	/* an older version's struct ends before the later fields */
	return options_init(opts, &tpl, coco_sign_options_size(version), version,
	                    COCOIMG_SIGN_OPTIONS_VERSION);
}

COCOIMG_API int cocoimg_verify_blob_options_init(cocoimg_verify_blob_options *opts,
                                                 unsigned version)
{
	static const cocoimg_verify_blob_options tpl = COCOIMG_VERIFY_BLOB_OPTIONS_INIT;
	return options_init(opts, &tpl, sizeof(tpl), version, COCOIMG_VERIFY_BLOB_OPTIONS_VERSION);
}

COCOIMG_API int cocoimg_verify_input_init(cocoimg_verify_input *in, unsigned version)
{
	static const cocoimg_verify_input tpl = COCOIMG_VERIFY_INPUT_INIT;
	return options_init(in, &tpl, sizeof(tpl), version, COCOIMG_VERIFY_INPUT_VERSION);
}
