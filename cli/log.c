/* coco-img: the library's log messages on stderr.  Warnings always;
 * --debug (or COCO_IMG_DEBUG in the environment) adds the library's debug
 * messages: requests, retries and decisions (the library never puts
 * secrets in them). */
#include "cli.h"

#include <stdlib.h>

static void log_cb(cocoimg_log_level lvl, const char *msg, void *payload)
{
	(void)payload;
	const char *tag = lvl == COCOIMG_LOG_WARN ? "warning: "
	                  : lvl == COCOIMG_LOG_DEBUG ? "debug: " : "";
	fprintf(stderr, "coco-img: %s%s\n", tag, msg);
}

void cli_setup_log(cocoimg_ctx *ctx)
{
	const char *env = getenv("COCO_IMG_DEBUG");
	bool debug = env && *env && cli_parse_bool(env) != 0;
	cocoimg_ctx_set_log(ctx, log_cb, debug ? COCOIMG_LOG_DEBUG : COCOIMG_LOG_WARN, NULL);
}

void cli_set_debug(cocoimg_ctx *ctx)
{
	cocoimg_ctx_set_log(ctx, log_cb, COCOIMG_LOG_DEBUG, NULL);
}
