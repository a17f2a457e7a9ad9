/* coco-img verify IMAGE [--policy FILE] [--registries.d DIR]: evaluate the
 * trust policy for IMAGE.  Exit 0 accepted, 3 rejected, 2 bad policy or
 * registries.d, 1 when signatures or the image could not be read. */
#include "cli.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char *js(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static void print_text(const char *report)
{
	json_t *j = json_loads(report, 0, NULL);
	if (!j)
		return;
	const char *verdict = js(j, "verdict");
	printf("%s: %s (%s, policy scope %s)\n",
	       !strcmp(verdict, "accepted") ? "Accepted" :
	       !strcmp(verdict, "lookup-failed") ? "Signature lookup failed" : "Rejected",
	       js(j, "image"), js(j, "manifest_digest"), js(j, "scope"));
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(j, "requirements"), i, r) {
		const char *msg = js(r, "message");
		const char *reason = js(r, "reason");
		printf("  requirement %zu %s: %s%s%s%s\n", i, js(r, "type"), js(r, "outcome"),
		       *reason ? " (" : "", reason, *reason ? ")" : "");
		if (*msg)
			printf("    %s\n", msg);
	}
	json_decref(j);
}

static int run(cli_state *st)
{
	const char *image = st->positional[0];
	char *report = NULL;
	int rc = cocoimg_verify(st->ctx, image, NULL, &report);
	if (report && !(rc && st->json)) {   /* a failure's JSON comes with its error */
		if (st->json)
			printf("%s\n", report);
		else
			print_text(report);
		fflush(stdout);
	}
	int ec = rc ? cli_fail_report(st, rc, NULL, report) : EXIT_OK;
	cocoimg_free(report);
	return ec;
}

static const cli_opt opts[] = { { NULL, 0, 0, NULL, NULL } };

const cli_command cli_cmd_verify = {
	"verify", "IMAGE",
	"Evaluate the trust policy (containers-policy.json) for IMAGE and print the verdict",
	CLI_GROUP_REGISTRY | CLI_GROUP_OUTPUT | CLI_GROUP_POLICY, opts, NULL, 1, 1, run,
};
