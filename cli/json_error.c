/* coco-img: the error object printed on stdout under --output json:
 *   {"error": {"code": EXIT, "kind": "notfound", "message": "..."}}
 * (docs/json.md).  A command whose failure still has a report (verify's
 * verdict) prints that report with the "error" member added. */
#include "cli.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static bool json_errors;

void cli_set_json_errors(bool on)
{
	json_errors = on;
}

const char *cli_report_top_digest(json_t *report)
{
	const char *d = json_string_value(json_object_get(report, "index_digest"));
	return d ? d : json_string_value(json_object_get(report, "manifest_digest"));
}

/* Messages may quote file names that are not UTF-8: those bytes become '?'. */
static json_t *message_string(const char *msg)
{
	json_t *s = json_string(msg);
	if (s)
		return s;
	char *copy = strdup(msg);
	if (!copy)
		return NULL;
	for (unsigned char *p = (unsigned char *)copy; *p; p++)
		if (*p >= 0x80)
			*p = '?';
	s = json_string(copy);
	free(copy);
	return s;
}

void cli_json_error(int code, const char *kind, const char *message, const char *report)
{
	if (!json_errors)
		return;
	json_t *j = report ? json_loads(report, 0, NULL) : NULL;
	if (!json_is_object(j)) {
		json_decref(j);
		j = json_object();
	}
	json_t *e = json_object();
	if (j && e) {
		json_object_set_new(e, "code", json_integer(code));
		json_object_set_new(e, "kind", json_string(kind));
		json_object_set_new(e, "message", message_string(message));
		json_object_set(j, "error", e);
		char *s = json_dumps(j, JSON_COMPACT);
		if (s)
			printf("%s\n", s);
		free(s);
		fflush(stdout);
	}
	json_decref(e);
	json_decref(j);
}
