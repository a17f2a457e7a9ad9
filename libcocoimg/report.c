/* The report vocabulary (report.h, docs/json.md). */
#include "report.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static void set_str(json_t *obj, const char *key, const char *v)
{
	if (v)
		json_object_set_new(obj, key, json_string(v));
}

void coco_report_doc(json_t *obj, const char *prefix, const char *digest, const char *media_type,
                     int64_t size)
{
	char key[40];
	snprintf(key, sizeof(key), "%s_digest", prefix);
	set_str(obj, key, digest);
	snprintf(key, sizeof(key), "%s_media_type", prefix);
	set_str(obj, key, media_type);
	if (size >= 0) {
		snprintf(key, sizeof(key), "%s_size", prefix);
		json_object_set_new(obj, key, json_integer((json_int_t)size));
	}
}

json_t *coco_report_layer(const char *digest, const char *media_type, int64_t size)
{
	static const char suffix[] = "+encrypted";
	size_t n = media_type ? strlen(media_type) : 0;
	bool enc = n >= sizeof(suffix) - 1 && !strcmp(media_type + n - (sizeof(suffix) - 1), suffix);
	return json_pack("{s:s?,s:s?,s:I,s:b}", "digest", digest, "media_type", media_type, "size",
	                 (json_int_t)size, "encrypted", enc);
}
