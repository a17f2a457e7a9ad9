/* A scratch directory for a cmocka test program: see tmpdir.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tmpdir.h"
#include "base.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

char test_tmpdir[256];

int test_tmpdir_setup(void **state)
{
	(void)state;
	const char *top = getenv("TMPDIR");
	/* named after the program, so that one left behind says whose it is */
	snprintf(test_tmpdir, sizeof(test_tmpdir), "%s/%s-XXXXXX", top ? top : "/tmp",
	         program_invocation_short_name);
	return mkdtemp(test_tmpdir) ? 0 : -1;
}

int test_tmpdir_teardown(void **state)
{
	(void)state;
	coco_rm_rf(NULL, test_tmpdir);
	return 0;
}

char *test_write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char *p = coco_asprintf("%s/%s", dir, name);
	assert_non_null(p);
	FILE *f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return p;
}

char *test_tmp_file(const char *name, const void *data, size_t len)
{
	return test_write_file(test_tmpdir, name, data, len);
}
