/*
 * fdrestore-holder: what a restored task runs when the images give it no command of its own.
 * It keeps the fds it inherited, exactly as they are, until it is signalled.
 *
 *   fdrestore-holder [--comm NAME] [--cloexec FD,FD,...]
 *
 * --comm     sets the task's name (/proc/PID/comm) to the one in the images.
 * --cloexec  sets FD_CLOEXEC again on those fds: exec() would have closed them, so fdrestore clears the
 *            flag before the exec and the holder puts it back.
 *
 * It opens nothing, prints nothing (fds 0-2 are restored files that must not be written) and only
 * waits. SIGTERM, SIGINT and SIGKILL end it with their default action.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static int set_cloexec(const char *list)
{
	const char *p = list;

	while (*p) {
		char *end;
		long fd = strtol(p, &end, 10);

		if (end == p || fd < 0 || fd > 0x7fffffffL)
			return -1;
		if (fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0)
			return -1;
		p = end;
		if (*p == ',')
			p++;
		else if (*p)
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--comm") && i + 1 < argc) {
			prctl(PR_SET_NAME, argv[++i], 0, 0, 0);
		} else if (!strcmp(argv[i], "--cloexec") && i + 1 < argc) {
			if (set_cloexec(argv[++i]))
				return 3;
		} else {
			return 2;
		}
	}
	for (;;)
		pause();
}
