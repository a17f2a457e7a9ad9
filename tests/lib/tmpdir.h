/* One scratch directory per cmocka test program: made under $TMPDIR (or
 * /tmp) by the group setup, removed with everything in it by the group
 * teardown, and files written into it.  Used by the unit tests that need
 * files on disk.  tests/lib/tmpdir.c */
#ifndef COCO_TEST_TMPDIR_H
#define COCO_TEST_TMPDIR_H

#include <stddef.h>

/* The directory's path while the group runs. */
extern char test_tmpdir[256];

/* cmocka group setup and teardown: make test_tmpdir, remove it. */
int test_tmpdir_setup(void **state);
int test_tmpdir_teardown(void **state);

/* Write len bytes of data to dir/name (fails the test when it cannot) and
 * return the path (the caller frees it). */
char *test_write_file(const char *dir, const char *name, const void *data, size_t len);
/* The same inside test_tmpdir. */
char *test_tmp_file(const char *name, const void *data, size_t len);

#endif
