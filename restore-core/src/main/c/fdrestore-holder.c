/*
 * fdrestore-holder: what a restored task runs when the images give it no command of its own.
 * It keeps the fds it inherited, exactly as they are, until it is signalled.
 *
 *   fdrestore-holder [--comm NAME] [--ctty FD] [--fg FD:PGRP] [--cloexec FD,FD,...] [--exec PROG ARG...]
 *
 * --comm     sets the task's name (/proc/PID/comm) to the one in the images.
 * --ctty     makes the tty at FD the controlling terminal (TIOCSCTTY); the task is a session leader.
 * --fg       makes process group PGRP (0: the holder's own) the foreground group of the tty at FD
 *            (TIOCSPGRP).
 * --cloexec  sets FD_CLOEXEC again on those fds: exec() would have closed them, so fdrestore clears the
 *            flag before the exec and the holder puts it back.
 * --exec     after the steps above, runs PROG (the task's own command) instead of holding.
 *
 * It opens nothing, prints nothing (fds 0-2 are restored files that must not be written) and only
 * waits. SIGTERM, SIGINT and SIGKILL end it with their default action. Exit codes: 2 bad usage,
 * 3 a bad --cloexec list, 4 TIOCSCTTY failed, 5 TIOCSPGRP failed, 6 exec failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
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
		} else if (!strcmp(argv[i], "--ctty") && i + 1 < argc) {
			if (ioctl(atoi(argv[++i]), TIOCSCTTY, 0) < 0)
				return 4;
		} else if (!strcmp(argv[i], "--fg") && i + 1 < argc) {
			char *colon = strchr(argv[++i], ':');
			pid_t pgrp;

			if (!colon)
				return 2;
			pgrp = (pid_t)atoi(colon + 1);
			if (pgrp == 0)
				pgrp = getpgrp();
			if (ioctl(atoi(argv[i]), TIOCSPGRP, &pgrp) < 0)
				return 5;
		} else if (!strcmp(argv[i], "--cloexec") && i + 1 < argc) {
			if (set_cloexec(argv[++i]))
				return 3;
		} else if (!strcmp(argv[i], "--exec") && i + 1 < argc) {
			execv(argv[i + 1], &argv[i + 1]);
			return 6;
		} else {
			return 2;
		}
	}
	for (;;)
		pause();
}
