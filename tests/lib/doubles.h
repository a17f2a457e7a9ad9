/* Test doubles as child processes, for the C tests that start Python
 * peers on loopback (the KBS and ttrpc doubles, the gRPC keyprovider):
 * spawned with stdout on a pipe and their first line read; every one
 * still running is killed by test_doubles_stop_all (teardown), also when
 * an assertion stopped a test half way.  tests/lib/doubles.c */
#ifndef COCO_TEST_DOUBLES_H
#define COCO_TEST_DOUBLES_H

#include <stddef.h>
#include <sys/types.h>

/* Spawn argv (argv[0] a path); the first line it prints (at most cap-1
 * bytes, waiting up to 20 s) goes to line.  Its pid, or -1. */
pid_t test_double_spawn(char *const argv[], char *line, size_t cap);
/* Kill and reap one double. */
void test_double_stop(pid_t pid);
/* Kill and reap every double still running. */
void test_doubles_stop_all(void);
/* How many lines of the file at path contain needle (0 when unreadable). */
int test_log_count(const char *path, const char *needle);

#endif
