/* Test doubles as child processes: see doubles.h. */
#include "doubles.h"

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static pid_t live[8];

static void remember(pid_t pid)
{
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (live[i] <= 0) {
			live[i] = pid;
			return;
		}
}

pid_t test_double_spawn(char *const argv[], char *line, size_t cap)
{
	int p[2];
	line[0] = 0;
	if (pipe(p))
		return -1;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addclose(&fa, p[0]);
	pid_t pid;
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ))
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (pid > 0)
		remember(pid);
	size_t len = 0;
	struct pollfd pf = { .fd = p[0], .events = POLLIN };
	while (pid > 0 && len < cap - 1 && !strchr(line, '\n') && poll(&pf, 1, 20000) > 0) {
		ssize_t r = read(p[0], line + len, cap - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
		line[len] = 0;
	}
	close(p[0]);
	return pid;
}

void test_double_stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (live[i] == pid)
			live[i] = 0;
}

void test_doubles_stop_all(void)
{
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		test_double_stop(live[i]);
}

int test_log_count(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	char line[4096];
	int n = 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}
