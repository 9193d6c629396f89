/*
 * fdrestore-holder: what a restored task runs when it becomes a process. It keeps the fds it was given,
 * exactly as they are, builds the task's children when asked, and waits for a signal (or runs the task's
 * own command).
 *
 *   fdrestore-holder [--cgroup DIR] [--ready FD] [--comm NAME] [--shared] [--root DIR --cwd PATH] [--cwd-fd FD]
 *                    [--umask MODE] [--sigmask HEX] [--ctty FD] [--ctty-path PATH] [--reopen-tty FD,...:FLAGS]
 *                    [--control CMD:REPLY] [--fg FD:PGRP]
 *                    [--gate G:A] [--cloexec FD,...] [--lock FD:FLAG:TYPE:START:LEN]... [--pidfd FD,...:PID:FLAGS]...
 *                    [--proc-open FD,...:PID:FLAGS:POS:REST]...
 *                    [--listen-fds FD,...] [--env K=V]... [--exec PROG ARG...]
 *
 * Steps, in this order, whatever the order of the options:
 * --cgroup   first of all, moves this process into the cgroup (v2) DIR (writes its pid to DIR/cgroup.procs),
 *            so that everything it builds or its command forks is in it: fdrestore stops the whole tree with
 *            DIR/cgroup.kill. Given to root tasks only (children inherit the cgroup).
 * --comm     sets the task's name (/proc/PID/comm) to the one in the images.
 * --shared   the task shares its parent's fd table (CLONE_FILES): it closes no fd and changes no fd flag
 *            (--ready's fd is its parent's, and stays open); the parent's table is already the task's.
 * --root     with --cwd: the task's working directory is PATH resolved under DIR as if DIR were "/"
 *            (openat2 RESOLVE_IN_ROOT: neither ".." nor a symbolic link leaves DIR), entered with fchdir.
 * --cwd-fd   instead of --root/--cwd: enters the directory that its fd FD holds (fchdir); a cwd that
 *            was a removed directory, which the task also holds open (criu's ghost directory).
 * --umask    sets the file mode creation mask (octal).
 * --sigmask  blocks exactly the signals of the 64-bit mask HEX (bit N-1 is signal N), as the images
 *            record; a held signalfd then receives them. Not for --exec: a command starts with none blocked.
 * --ctty     makes the tty at FD the controlling terminal (TIOCSCTTY); the task is a session leader.
 *            Done before any child is built, so that children inherit it as members of the session.
 * --ctty-path the same for a leader holding no fd on its terminal: PATH is opened (O_NOCTTY) for the
 *            time of TIOCSCTTY and of --fg (whose FD is then -1), and closed before --ready.
 * --reopen-tty then opens /dev/tty with FLAGS (octal or decimal) and puts it at each FD (one open file):
 *            an open of /dev/tty is bound to the terminal of the process that opens it.
 * --pidfd    (repeatable) opens a pidfd of PID (0: this process) with FLAGS (0 or PIDFD_NONBLOCK) and
 *            puts it at each FD, over the placeholder there (its FD_CLOEXEC kept): a pidfd of a task of the
 *            tree whose real pid is known when this one starts. On failure it answers "E <pid> 11 <errno>\n"
 *            on the --ready FD and exits 25. A builder is given the others in its "release" command.
 * --proc-open (repeatable) FD,...:PID:FLAGS:POS:REST opens /proc/PID/REST (PID 0: this process) with FLAGS
 *            (never O_CREAT or O_TRUNC), seeks to POS and puts it at each FD like --pidfd: a procfs file of
 *            a task of the tree. On failure "E <pid> 12 <errno>\n", exit 26; in "release": "proc=", status 13.
 * --cloexec  sets FD_CLOEXEC again on those fds: fdrestore clears the flag for the spawn of a root task
 *            (its exec would have closed them), and a built child takes its fds without it.
 * --lock     (repeatable) takes a file lock or lease on FD, as filelocks.img records it: FLAG 1 POSIX
 *            (F_SETLK), 2 flock, 4 OFD (F_OFD_SETLK), 8 lease (F_SETLEASE); TYPE F_RDLCK 0 / F_WRLCK 1;
 *            LEN 0 up to the end of the file. Never waits. The process takes it itself: a POSIX lock
 *            belongs to its own fd table, and a flock or lease shows its pid. On failure it answers
 *            "E <pid> 10 <errno>\n" on the --ready FD and exits 24.
 * --ready    then answers "R <pid>\n" on FD and closes it: the task's fds, name, terminal and locks are in place.
 * --control  builder mode: reads commands from fd CMD and answers on fd REPLY (both then closed):
 *              u32 length + NUL-separated fields, native byte order:
 *              "fork" TID MODE PGID FDS ARGV...  fork a child that becomes another task:
 *                 MODE s = setsid, g = new process group, j = join process group PGID, n = stay;
 *                 it takes every fd of FDS (comma-separated numbers) from the private fd table of thread
 *                 TID (pidfd_open PIDFD_THREAD + pidfd_getfd), puts each at its own number, keeps no
 *                 other fd. FDS written "@SOCK/LIST": TID's table holds, at SOCK, a socket whose queue
 *                 has every fd of LIST in ascending order (SCM_RIGHTS, up to 253 a message): the child
 *                 takes SOCK alone and receives the rest, which land on their numbers with no call
 *                 each (without FD_CLOEXEC, as they must be); it keeps no
 *                 other fd, and goes on as the holder run with ARGV's options, without an exec (ARGV[0]
 *                 is this program; /proc/PID/cmdline is rewritten to show them). Replies: "F <pid> <errno>\n" from the parent (pid -1 when
 *                 fork failed), and "R <pid>\n" from the child's holder once it is set up (--ready), or
 *                 "E <pid> <step> <errno>\n" from the child. Commands may be sent without waiting for
 *                 their replies: they are served one at a time, in order, so the "F" lines come in the
 *                 order of the commands; "R"/"E" lines (by pid) come whenever each child gets there, even
 *                 before the "F" of their pid. Each line is one write, shorter than PIPE_BUF.
 *              "release" [PGRP] [pidfd=FD,...:PID:FLAGS]...  ends builder mode; PGRP, when given, replaces
 *                 the one of --fg (the foreground group may be a group built after the holder started);
 *                 each pidfd= is a --pidfd whose task was built after this holder started (status 12 if
 *                 one fails). It opens the gate of
 *                 the children it built (see --gate) and waits until each has gone past it. Once the
 *                 command fd is closed and --fg applied, the holder answers "D <status>\n" and closes
 *                 REPLY.
 *              End of file before "release" means fdrestore gave up (the restore failed): the holder
 *              exits 8 without releasing its children, whose gates then see end of file too.
 * --fg       makes process group PGRP (0: the holder's own) the foreground group of the tty at FD
 *            (TIOCSPGRP); after the children exist.
 * --gate     G:A (given by a builder to each child that is not a builder itself): last, before holding or
 *            running the command, waits for one byte on fd G, its parent's release, then closes G and A.
 *            End of file instead means the parent died or gave up before the release (the restore
 *            failed): the holder exits 8. So a task whose builder dies never outlives the failed restore
 *            as an orphan, and no such task's command starts before its parent is released. A is the
 *            write end of the builder's acknowledgement pipe: the builder answers "D" only once every
 *            such child has closed it, so fdrestore sees final fd tables once it has the "D".
 * --env      K=V (repeatable): with --exec, the command runs with exactly these variables.
 * --listen-fds FD,...  with --exec, systemd's socket activation: of these fds, the listening sockets
 *            (SO_ACCEPTCONN) move to 3, 4 ... in ascending order, the fds that were there move above them
 *            all, and LISTEN_FDS, LISTEN_PID (this pid, which the command keeps) and LISTEN_FDNAMES
 *            ("fdN:..." with each listener's restored number N) are set. Nothing is set without a listener.
 * --start    FD: with --exec, the last wait before the command starts: one byte on FD (fdrestore writes it
 *            once the restored tables are verified); end of file instead means the restore failed (exit 8).
 * --exec     then runs PROG (the task's own command, searched in the PATH of --env) instead of holding.
 *
 * It opens nothing of its own but a builder's gate and acknowledgement pipes (close-on-exec, closed at
 * the release), prints
 * nothing (fds 0-2 are restored files that must not be written),
 * and while holding it reaps its children. SIGTERM, SIGINT and SIGKILL end it with their default action.
 * Exit codes: 2 bad usage, 3 a bad --cloexec list, 4 TIOCSCTTY (or --ctty-path, --reopen-tty) failed, 5 TIOCSPGRP failed, 6 exec
 * failed, 7 a bad control message, 8 the restore was abandoned (end of file on CMD or on --gate before a
 * release), 9 the gate could not be opened; a built child that fails exits 10 + the step; 20 the cwd
 * could not be entered, 21 a bad --umask or --sigmask, 22 the cgroup could not be joined, 23 the
 * listeners could not be moved, 24 a --lock could not be taken, 25 a --pidfd, 26 a --proc-open could not be
 * opened. Before --ready is answered, a failure of --cwd, --umask, --sigmask, --cgroup, --lock, --pidfd or
 * --proc-open is also answered on it as "E <pid> <step> <errno>\n" (step 7 cwd, 8 mask, 9 cgroup, 10 lock,
 * 11 pidfd, 12 procfs file).
 *
 * Reply codes: the step of an "E <pid> <step> <errno>\n" line, and the status of a "D <status>\n" line
 * that fdrestore names. This table is mirrored, row for row, by the Java enum
 * fdrestore.core.process.HolderCode (HolderCodeTest reads it here and fails when the two differ).
 *   line  code  name           what failed
 *   E     1     SETSID         setsid/setpgid
 *   E     2     PIDFD_OPEN     pidfd_open(PIDFD_THREAD)
 *   E     3     PIDFD_GETFD    pidfd_getfd
 *   E     4     CLEAR_CLOEXEC  placing an fd
 *   E     5     MOVE_FD        placing an fd
 *   E     6     RECV_FDS       receiving its fds (SCM_RIGHTS)
 *   E     7     CWD            entering its recorded cwd under the root
 *   E     8     MASKS          setting its umask or signal mask
 *   E     9     CGROUP         joining the restore's cgroup
 *   E     10    LOCK           taking a file lock or lease (--lock)
 *   E     11    PIDFD          opening a pidfd of a task of the tree (--pidfd)
 *   E     12    PROC_OPEN      opening a procfs file of a task of the tree (--proc-open)
 *   D     5     FOREGROUND     TIOCSPGRP (the foreground group of its tty)
 *   D     12    RELEASE_PIDFD  pidfd_open of a task it refers to, at its release
 *   D     13    RELEASE_PROC   an open of a procfs file of a task of the tree, at its release
 *
 * The "fork" command's TID 0 makes a child that shares this holder's fd table (clone CLONE_FILES)
 * instead of taking one: it runs with --shared, gets no gate (it runs no command), and is a builder
 * itself when its ARGV says so (its control pipes are already in the shared table).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef RESOLVE_NO_MAGICLINKS
#define RESOLVE_NO_MAGICLINKS 0x02
#endif
#ifndef RESOLVE_IN_ROOT
#define RESOLVE_IN_ROOT 0x10
#endif
#ifndef CLONE_FILES
#define CLONE_FILES 0x00000400
#endif

struct holder_open_how {
	uint64_t flags, mode, resolve;
};
#define PIDFD_THREAD_FLAG O_EXCL

static int parse_list(const char *list, int **out)
{
	int n = 0, cap = 16;
	int *v = malloc(cap * sizeof(int));
	const char *p = list;

	if (!v)
		return -1;
	while (*p) {
		char *end;
		long fd = strtol(p, &end, 10);

		if (end == p || fd < 0 || fd > 0x7fffffffL) {
			free(v);
			return -1;
		}
		if (n == cap) {
			int *w = realloc(v, 2 * cap * sizeof(int));

			if (!w) {
				free(v);
				return -1;
			}
			v = w;
			cap *= 2;
		}
		v[n++] = (int)fd;
		p = end;
		if (*p == ',')
			p++;
		else if (*p) {
			free(v);
			return -1;
		}
	}
	*out = v;
	return n;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static int set_cloexec(const char *list)
{
	int *fds, n = parse_list(list, &fds);

	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		if (fcntl(fds[i], F_SETFD, FD_CLOEXEC) < 0) {
			free(fds);
			return -1;
		}
	}
	free(fds);
	return 0;
}

/* One --lock FD:FLAG:TYPE:START:LEN; -1 with errno on failure. */
static int take_lock(const char *spec)
{
	int fd, flag, type;
	long long start, len;

	if (sscanf(spec, "%d:%d:%d:%lld:%lld", &fd, &flag, &type, &start, &len) != 5) {
		errno = EINVAL;
		return -1;
	}
	if (flag == 1 || flag == 4) {
		struct flock fl = { .l_type = (short)type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };

		return fcntl(fd, flag == 1 ? F_SETLK : F_OFD_SETLK, &fl);
	}
	if (flag == 2)
		return flock(fd, (type == F_RDLCK ? LOCK_SH : LOCK_EX) | LOCK_NB);
	if (flag == 8)
		return fcntl(fd, F_SETLEASE, type);
	errno = EINVAL;
	return -1;
}

/*
 * Puts P at each fd of the list [LIST, LIST_END) ("FD,FD,..."), over what sits there, keeping that fd's
 * FD_CLOEXEC, then closes P (on every path). -1 with errno on failure, EINVAL for a list that does not
 * parse. The --pidfd and --proc-open opens end here.
 */
static int place_over(int p, const char *list, const char *list_end)
{
	for (const char *q = list; q < list_end;) {
		char *end;
		long fd = strtol(q, &end, 10);
		int fl;

		if (end == q) {
			close(p);
			errno = EINVAL;
			return -1;
		}
		fl = fcntl((int)fd, F_GETFD);
		if (dup3(p, (int)fd, fl > 0 && (fl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
			int e = errno;

			close(p);
			errno = e;
			return -1;
		}
		q = *end == ',' ? end + 1 : end;
	}
	close(p);
	return 0;
}

/*
 * One --pidfd FD,...:PID:FLAGS (or a release's "pidfd=" field): one pidfd_open of PID (0: this process)
 * with FLAGS, put at each FD over what sits there, keeping that fd's FD_CLOEXEC. -1 with errno on failure.
 */
static int open_pidfd(const char *spec)
{
	const char *flags_at = strrchr(spec, ':'), *pid_at;
	long pid;
	int p;

	if (!flags_at || flags_at == spec)
		goto bad;
	for (pid_at = flags_at - 1; pid_at > spec && *pid_at != ':'; pid_at--)
		;
	if (*pid_at != ':')
		goto bad;
	pid = atol(pid_at + 1);
	p = (int)syscall(SYS_pidfd_open, pid ? (pid_t)pid : getpid(), (unsigned)strtoul(flags_at + 1, NULL, 0));
	if (p < 0)
		return -1;
	return place_over(p, spec, pid_at);
bad:
	errno = EINVAL;
	return -1;
}

/*
 * One --proc-open FD,...:PID:FLAGS:POS:REST (or a release's "proc=" field): opens /proc/PID/REST (PID 0:
 * this process) with FLAGS, seeks to POS and puts it at each FD over what sits there, keeping that fd's
 * FD_CLOEXEC. -1 with errno on failure.
 */
static int open_proc(const char *spec)
{
	char path[4096], *end;
	const char *c1 = strchr(spec, ':'), *rest;
	long pid, flags;
	long long pos;
	int p;

	if (!c1)
		goto bad;
	pid = strtol(c1 + 1, &end, 10);
	if (*end != ':')
		goto bad;
	flags = strtol(end + 1, &end, 0);
	if (*end != ':')
		goto bad;
	pos = strtoll(end + 1, &end, 10);
	if (*end != ':')
		goto bad;
	rest = end + 1;
	if (snprintf(path, sizeof(path), "/proc/%ld/%s", pid ? pid : (long)getpid(), rest) >= (int)sizeof(path))
		goto bad;
	p = open(path, (int)(flags & ~(O_CREAT | O_TRUNC | O_CLOEXEC)) | O_CLOEXEC);
	if (p < 0)
		return -1;
	if (pos && lseek(p, (off_t)pos, SEEK_SET) < 0) {
		close(p);
		return -1;
	}
	return place_over(p, spec, c1);
bad:
	errno = EINVAL;
	return -1;
}

static int read_full(int fd, void *buf, size_t len)
{
	char *b = buf;

	while (len > 0) {
		ssize_t r = read(fd, b, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		b += r;
		len -= (size_t)r;
	}
	return 0;
}

static void say(int fd, const char *fmt, long a, long b, long c)
{
	char line[96];
	int n = snprintf(line, sizeof(line), fmt, a, b, c);

	if (n > 0 && write(fd, line, (size_t)n) < 0) {
		/* nobody to tell */
	}
}

/* The group the "release" command names for --fg; -1 until then (a built child inherits -1). */
static long fg_override = -1;

/* Where a built child goes on as the holder of its own task, with its own options (see become). */
static jmp_buf again;
static int again_argc;
static char **again_argv;

/* The process's argument area (/proc/PID/cmdline), the root holder's, inherited by every built child. */
static char *args_area;
static size_t args_len;

static size_t show_arg(size_t off, const char *arg)
{
	size_t n = strlen(arg) + 1;

	if (off >= args_len - 1)
		return off;
	if (n > args_len - 1 - off)
		n = args_len - 1 - off;
	memcpy(args_area + off, arg, n);
	return off + n;
}

/*
 * Makes /proc/PID/cmdline (what ps shows) the task's own holder options rather than its parent's, as an
 * exec would have, by writing them over the inherited argument area. The area keeps its length (its
 * last byte stays NUL, so the kernel shows it as it is): the program and --comm NAME come first, and
 * what does not fit of the other options is cut.
 */
static void show_args(char **argv, int argc)
{
	size_t off;
	int comm = -1;

	if (!args_area || args_len < 2)
		return;
	for (int i = 1; i + 1 < argc && comm < 0; i++)
		if (!strcmp(argv[i], "--comm"))
			comm = i;
	off = show_arg(0, argv[0]);
	if (comm > 0) {
		off = show_arg(off, argv[comm]);
		off = show_arg(off, argv[comm + 1]);
	}
	for (int i = 1; i < argc; i++)
		if (comm < 0 || (i != comm && i != comm + 1))
			off = show_arg(off, argv[i]);
	memset(args_area + off, 0, args_len - off);
}

/* The child of a "fork" command: becomes the task whose table lives in thread tid. Never returns. */
/* Closes every fd but the n in keep (ascending). */
static void close_all_but(const int *keep, int n)
{
	unsigned from = 0;

	for (int i = 0; i < n; i++) {
		if ((unsigned)keep[i] > from)
			syscall(SYS_close_range, from, (unsigned)keep[i] - 1, 0);
		from = (unsigned)keep[i] + 1;
	}
	syscall(SYS_close_range, from, ~0U, 0);
}

/* Moves fd to the lowest free number from base up (FD_CLOEXEC), closing it; the new fd, or -1. */
static int above(int fd, int base)
{
	int moved = fd >= base ? fd : fcntl(fd, F_DUPFD_CLOEXEC, base);

	if (moved != fd)
		close(fd);
	return moved;
}

/*
 * Receives the n fds of targets (ascending) from sock, whose queue holds them in that order, and puts
 * each at its target; landed has room for n. Below the lowest fd this process keeps, every number is
 * free but the targets already filled, so the i-th fd lands on the lowest free number, which is at most
 * its target (i targets are filled before it, all lower). The fds of one message are moved from the last
 * to the first: a target is never the number an fd of the message still waits on. Returns 0, or the step
 * of the failure with errno set.
 */
static int receive_fds(int sock, const int *targets, int n, int *landed)
{
	int got = 0;

	while (got < n) {
		char byte;
		struct iovec iov = {&byte, 1};
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(253 * sizeof(int))];
		} u;
		struct msghdr m;
		struct cmsghdr *c;
		ssize_t r;
		int first = got;

		memset(&m, 0, sizeof(m));
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		r = recvmsg(sock, &m, 0);
		if (r < 0)
			return 6;
		if (r == 0 || (m.msg_flags & (MSG_CTRUNC | MSG_TRUNC))) {
			errno = EPROTO;
			return 6;
		}
		for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
			int k, *in;

			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			in = (int *)(void *)CMSG_DATA(c);
			if (got + k > n) {
				errno = EPROTO;
				return 6;
			}
			for (int i = 0; i < k; i++)
				landed[got + i] = in[i];
			got += k;
		}
		if (got == first) {
			errno = EPROTO;
			return 6;
		}
		for (int i = got - 1; i >= first; i--) {
			if (landed[i] == targets[i])
				continue;
			if (dup2(landed[i], targets[i]) < 0 || close(landed[i]) < 0)
				return 5;
		}
	}
	return 0;
}

static void become(int reply, const int gate[2], long tid, char mode, long pgid, const char *fdlist,
		   char **argv)
{
	long me = getpid();
	int *targets, n, base = 3, rep, gt = -1, ak = -1, pidfd, sock = -1;

	if (fdlist[0] == '@') {
		char *end;
		long v = strtol(fdlist + 1, &end, 10);

		if (end == fdlist + 1 || *end != '/' || v < 0 || v > 0x7fffffffL)
			_exit(10);
		sock = (int)v;
		fdlist = end + 1;
	}
	n = parse_list(fdlist, &targets);
	if (n < 0)
		_exit(10);
	if ((mode == 's' && setsid() < 0) || (mode == 'g' && setpgid(0, 0) < 0) ||
	    (mode == 'j' && setpgid(0, (pid_t)pgid) < 0)) {
		say(reply, "E %ld %ld %ld\n", me, 1, errno);
		_exit(11);
	}
	for (int i = 0; i < n; i++)
		if (targets[i] >= base)
			base = targets[i] + 1;
	/*
	 * Keep only the reply fd and the gate's read end, above every target; drop everything the parent
	 * holder had, the gate's write end first of all: the parent must be the only one to hold it.
	 */
	rep = fcntl(reply, F_DUPFD_CLOEXEC, base);
	if (rep < 0)
		_exit(12);
	if (gate && ((gt = fcntl(gate[0], F_DUPFD_CLOEXEC, rep + 1)) < 0 ||
		     (ak = fcntl(gate[1], F_DUPFD_CLOEXEC, gt + 1)) < 0))
		_exit(12);
	{
		int keep[3] = {rep, gt, ak};

		close_all_but(keep, gate ? 3 : 1);
	}
	pidfd = (int)syscall(SYS_pidfd_open, (pid_t)tid, PIDFD_THREAD_FLAG);
	if (pidfd < 0) {
		say(rep, "E %ld %ld %ld\n", me, 2, errno);
		_exit(12);
	}
	pidfd = above(pidfd, base);
	if (pidfd < 0)
		_exit(13);
	qsort(targets, (size_t)n, sizeof(int), cmp_int);
	if (sock >= 0) {
		int s = (int)syscall(SYS_pidfd_getfd, pidfd, sock, 0), step, *landed = malloc((size_t)n * sizeof(int) + 1);

		if (s < 0) {
			say(rep, "E %ld %ld %ld\n", me, 3, errno);
			_exit(13);
		}
		s = above(s, base); /* it took the lowest free number, which a target needs */
		if (s < 0 || !landed)
			_exit(13);
		step = receive_fds(s, targets, n, landed);
		if (step) {
			say(rep, "E %ld %ld %ld\n", me, (long)step, errno);
			_exit(10 + step);
		}
		close(s);
		free(landed);
		n = 0; /* all taken */
	}
	/*
	 * Below base only targets are left to fill, so in ascending order pidfd_getfd (lowest free number)
	 * lands on the target itself or on a lower number no target needs: then it moves up, to a free one.
	 */
	for (int i = 0; i < n; i++) {
		int fd = (int)syscall(SYS_pidfd_getfd, pidfd, targets[i], 0);

		if (fd < 0) {
			say(rep, "E %ld %ld %ld\n", me, 3, errno);
			_exit(13);
		}
		if (fd != targets[i] && (dup2(fd, targets[i]) < 0 || close(fd) < 0)) {
			say(rep, "E %ld %ld %ld\n", me, 5, errno);
			_exit(15);
		}
		if (fd == targets[i] && fcntl(fd, F_SETFD, 0) < 0) { /* pidfd_getfd set FD_CLOEXEC */
			say(rep, "E %ld %ld %ld\n", me, 4, errno);
			_exit(14);
		}
	}
	close(pidfd);
	{
		/*
		 * This process already runs the holder: it goes on as the holder of the new task, with the
		 * task's own options, rather than exec it again (an exec costs about 0.4 ms, and a chain of
		 * tasks pays it once a level). It answers "R" itself, once its name and flags are set.
		 */
		int argc = 0, k = 1;
		char **nargv, *repstr = malloc(16), *gatestr = malloc(32); /* outlive this frame (longjmp) */

		while (argv[argc])
			argc++;
		nargv = malloc((size_t)(argc + 5) * sizeof(char *));
		if (!nargv || !repstr || !gatestr)
			_exit(16);
		snprintf(repstr, 16, "%d", rep);
		snprintf(gatestr, 32, "%d:%d", gt, ak);
		nargv[0] = argv[0];
		nargv[k++] = "--ready";
		nargv[k++] = repstr;
		if (gt >= 0) {
			nargv[k++] = "--gate";
			nargv[k++] = gatestr;
		}
		for (int i = 1; i <= argc; i++)
			nargv[k - 1 + i] = argv[i];
		again_argc = k - 1 + argc;
		again_argv = nargv;
		show_args(nargv, again_argc);
		longjmp(again, 1); /* to main: the parent's frames (serve, this) are left behind */
	}
}

/*
 * The child of a "fork" command with TID 0: shares its parent's fd table (CLONE_FILES), so it touches no
 * fd; it answers "R" on the parent's reply fd, which it leaves open. Never returns.
 */
static void become_shared(int reply, char mode, long pgid, char **argv)
{
	int argc = 0, k = 1;
	char **nargv, *repstr = malloc(16);

	if ((mode == 's' && setsid() < 0) || (mode == 'g' && setpgid(0, 0) < 0) ||
	    (mode == 'j' && setpgid(0, (pid_t)pgid) < 0)) {
		say(reply, "E %ld %ld %ld\n", (long)getpid(), 1, errno);
		_exit(11);
	}
	while (argv[argc])
		argc++;
	nargv = malloc((size_t)(argc + 4) * sizeof(char *));
	if (!nargv || !repstr)
		_exit(16);
	snprintf(repstr, 16, "%d", reply);
	nargv[0] = argv[0];
	nargv[k++] = "--shared";
	nargv[k++] = "--ready";
	nargv[k++] = repstr;
	for (int i = 1; i <= argc; i++)
		nargv[k - 1 + i] = argv[i];
	again_argc = k - 1 + argc;
	again_argv = nargv;
	show_args(nargv, again_argc);
	longjmp(again, 1);
}

/*
 * Builder mode: serve "fork" commands until "release" (0) or end of file (8: fdrestore gave up).
 * Every child that is not a builder itself gets the read end of the gate, a pipe whose write end only
 * this holder has: "release" writes one byte per such child, so each goes on; if this holder dies or
 * gives up first, they read end of file and exit. Each such child also holds the write end of the
 * acknowledgement pipe until it has gone past the gate: end of file on its read end means all have.
 */
static int open_gate(int gate[2], long gated)
{
	static const char bytes[4096];

	while (gated > 0) {
		ssize_t w = write(gate[1], bytes, gated < (long)sizeof(bytes) ? (size_t)gated : sizeof(bytes));

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		gated -= w;
	}
	return 0;
}

/* The gate and acknowledgement pipes, both or neither (then -1 and errno set). */
static int open_pipes(int gate[2], int ack[2])
{
	if (pipe2(gate, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(ack, O_CLOEXEC) < 0) {
		int e = errno;

		close(gate[0]);
		close(gate[1]);
		gate[0] = gate[1] = -1;
		errno = e;
		return -1;
	}
	return 0;
}

static int is_builder(char **argv)
{
	for (; *argv; argv++)
		if (!strcmp(*argv, "--control"))
			return 1;
	return 0;
}

static int serve(int cmd, int reply)
{
	int gate[2] = {-1, -1}, ack[2] = {-1, -1};
	long gated = 0;

	for (;;) {
		uint32_t len;
		char *buf, *p, *fields[4096];
		int nf = 0;

		if (read_full(cmd, &len, sizeof(len)) < 0)
			return 8; /* no release: the children stay gated, and see end of file when this holder exits */
		if (len == 0 || len > (16u << 20))
			return 7;
		buf = malloc(len + 1);
		if (!buf || read_full(cmd, buf, len) < 0)
			return 7;
		buf[len] = 0;
		for (p = buf; p < buf + len && nf < 4095; p += strlen(p) + 1)
			fields[nf++] = p;
		fields[nf] = NULL;
		if (nf >= 1 && !strcmp(fields[0], "release")) {
			int rc = 0;

			for (int i = 1; i < nf; i++) {
				if (!strncmp(fields[i], "pidfd=", 6)) {
					if (open_pidfd(fields[i] + 6) < 0)
						rc = 12;
				} else if (!strncmp(fields[i], "proc=", 5)) {
					if (open_proc(fields[i] + 5) < 0)
						rc = 13;
				} else
					fg_override = atol(fields[i]);
			}
			free(buf);
			if (gate[1] >= 0) {
				char c;
				ssize_t r;

				rc = open_gate(gate, gated) < 0 ? 9 : rc;
				close(gate[0]);
				close(gate[1]);
				close(ack[1]);
				while ((r = read(ack[0], &c, 1)) > 0 || (r < 0 && errno == EINTR))
					;
				close(ack[0]);
			}
			return rc;
		}
		if (nf < 6 || strcmp(fields[0], "fork")) {
			free(buf);
			return 7;
		}
		{
			long tid = atol(fields[1]);
			int leaf = tid != 0 && !is_builder(&fields[5]);
			pid_t pid;

			if (leaf && gate[1] < 0 && open_pipes(gate, ack) < 0) {
				say(reply, "F %ld %ld\n", -1L, errno, 0);
				free(buf);
				continue;
			}
			if (tid == 0) {
				/* shares this table: like fork (no new stack: the child runs on a copy of this one) */
				pid = (pid_t)syscall(SYS_clone, (long)(CLONE_FILES | SIGCHLD), 0L, 0L, 0L, 0L);
				if (pid == 0)
					become_shared(reply, fields[2][0], atol(fields[3]), &fields[5]);
			} else
				pid = fork();
			if (pid == 0) {
				int ends[2] = {gate[0], ack[1]};

				become(reply, leaf ? ends : NULL, atol(fields[1]), fields[2][0], atol(fields[3]),
				       fields[4], &fields[5]);
			}
			if (pid > 0 && leaf)
				gated++;
			say(reply, "F %ld %ld\n", pid < 0 ? -1L : (long)pid, pid < 0 ? errno : 0, 0);
		}
		free(buf);
	}
}

/* Joins the cgroup (v2) directory dir: everything this process forks from now on is in it too. */
static int join_cgroup(const char *dir)
{
	char path[4096], pid[24];
	int fd, n = snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	ssize_t w;

	if (snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	w = write(fd, pid, (size_t)n);
	close(fd);
	return w == n ? 0 : -1;
}

/* Enters cwd resolved under root as if root were "/" (no way out by ".." or a symbolic link). */
static int enter_cwd(const char *root, const char *cwd)
{
	struct holder_open_how how = {O_PATH | O_DIRECTORY | O_CLOEXEC, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	int r = open(root ? root : "/", O_PATH | O_DIRECTORY | O_CLOEXEC), d, rc;

	if (r < 0)
		return -1;
	d = (int)syscall(SYS_openat2, r, cwd, &how, sizeof(how));
	close(r);
	if (d < 0)
		return -1;
	rc = fchdir(d);
	close(d);
	return rc;
}

/* Blocks exactly the signals of the 64-bit mask hex (bit N-1 is signal N). */
static int set_sigmask(const char *hex)
{
	char *end;
	unsigned long long mask;
	sigset_t set;

	errno = 0;
	mask = strtoull(hex, &end, 16);
	if (errno || end == hex || *end) {
		errno = EINVAL;
		return -1;
	}
	sigemptyset(&set);
	for (int sig = 1; sig <= 64; sig++)
		if (mask & (1ULL << (sig - 1)))
			sigaddset(&set, sig); /* glibc's own (32, 33) and SIGKILL/SIGSTOP are refused quietly */
	return sigprocmask(SIG_SETMASK, &set, NULL);
}

/*
 * systemd's socket activation for the command about to run: the listening sockets among fds (in
 * ascending order) move to 3, 4 ..., what sat there moves above every fd of the list, and LISTEN_FDS,
 * LISTEN_PID and LISTEN_FDNAMES are set. Nothing changes without a listener.
 */
static int listen_fds(const char *list)
{
	int *fds, n = parse_list(list, &fds), nl = 0, base = 3;
	int *tmp;
	char *names, pidstr[24], count[16];
	size_t off = 0;

	if (n < 0)
		return -1;
	qsort(fds, (size_t)n, sizeof(int), cmp_int);
	tmp = malloc(((size_t)n + 1) * sizeof(int));
	names = malloc((size_t)n * 16 + 1);
	if (!tmp || !names)
		return -1;
	names[0] = 0;
	for (int i = 0; i < n; i++) {
		int v = 0;
		socklen_t l = sizeof(v);

		if (fds[i] >= base)
			base = fds[i] + 1;
		if (getsockopt(fds[i], SOL_SOCKET, SO_ACCEPTCONN, &v, &l) == 0 && v) {
			off += (size_t)sprintf(names + off, "%sfd%d", nl ? ":" : "", fds[i]);
			fds[nl++] = fds[i];
		}
	}
	if (nl == 0)
		return 0;
	if (base < 3 + nl)
		base = 3 + nl;
	for (int i = 0; i < nl; i++) {
		tmp[i] = fcntl(fds[i], F_DUPFD, base);
		if (tmp[i] < 0 || close(fds[i]) < 0)
			return -1;
	}
	for (int k = 3; k < 3 + nl; k++) {
		int fl = fcntl(k, F_GETFD), moved;

		if (fl < 0)
			continue; /* free */
		moved = fcntl(k, (fl & FD_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD, base);
		if (moved < 0 || close(k) < 0)
			return -1;
	}
	for (int i = 0; i < nl; i++)
		if (dup2(tmp[i], 3 + i) < 0 || close(tmp[i]) < 0)
			return -1;
	snprintf(count, sizeof(count), "%d", nl);
	snprintf(pidstr, sizeof(pidstr), "%ld", (long)getpid());
	return setenv("LISTEN_FDS", count, 1) || setenv("LISTEN_PID", pidstr, 1) ||
	       setenv("LISTEN_FDNAMES", names, 1) ? -1 : 0;
}

/* --reopen-tty FD,...:FLAGS: one open of /dev/tty (this process's terminal) at each FD. */
static int reopen_dev_tty(const char *spec)
{
	const char *colon = strrchr(spec, ':');
	int t;

	if (!colon)
		return -1;
	t = open("/dev/tty", (int)strtol(colon + 1, NULL, 0) & ~O_CLOEXEC);
	if (t < 0)
		return -1;
	for (const char *p = spec; p < colon;) {
		char *end;
		long fd = strtol(p, &end, 10);

		if (end == p || dup2(t, (int)fd) < 0) {
			close(t);
			return -1;
		}
		p = *end == ',' ? end + 1 : end;
	}
	for (const char *p = spec; p < colon;) {
		char *end;

		if (strtol(p, &end, 10) == t)
			return 0; /* it sits on a target itself */
		p = *end == ',' ? end + 1 : end;
	}
	close(t);
	return 0;
}

static int holder_main(int argc, char **argv)
{
	const char *comm = NULL, *cloexec = NULL, *control = NULL, *fg = NULL, *cgroup = NULL;
	const char *root = NULL, *cwd = NULL, *umask_s = NULL, *sigmask = NULL, *listen = NULL;
	int ctty = -1, ready = -1, gate = -1, ack = -1, nenv = 0, shared = 0, start = -1;
	int ctty_tmp = -1, cwd_fd = -1;
	const char *ctty_path = NULL, *reopen_tty = NULL;
	char **env = calloc((size_t)argc + 1, sizeof(char *));
	const char **locks = calloc((size_t)argc + 1, sizeof(char *));
	const char **pidfds = calloc((size_t)argc + 1, sizeof(char *));
	const char **procs = calloc((size_t)argc + 1, sizeof(char *));
	int nlocks = 0, npidfds = 0, nprocs = 0;

	if (!env || !locks || !pidfds || !procs)
		return 2;
	char **exec_argv = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--comm") && i + 1 < argc)
			comm = argv[++i];
		else if (!strcmp(argv[i], "--ready") && i + 1 < argc)
			ready = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--gate") && i + 1 < argc) {
			const char *g = argv[++i], *colon = strchr(g, ':');

			if (!colon)
				return 2;
			gate = atoi(g);
			ack = atoi(colon + 1);
		}
		else if (!strcmp(argv[i], "--env") && i + 1 < argc)
			env[nenv++] = argv[++i];
		else if (!strcmp(argv[i], "--cgroup") && i + 1 < argc)
			cgroup = argv[++i];
		else if (!strcmp(argv[i], "--shared"))
			shared = 1;
		else if (!strcmp(argv[i], "--root") && i + 1 < argc)
			root = argv[++i];
		else if (!strcmp(argv[i], "--cwd") && i + 1 < argc)
			cwd = argv[++i];
		else if (!strcmp(argv[i], "--cwd-fd") && i + 1 < argc)
			cwd_fd = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--umask") && i + 1 < argc)
			umask_s = argv[++i];
		else if (!strcmp(argv[i], "--sigmask") && i + 1 < argc)
			sigmask = argv[++i];
		else if (!strcmp(argv[i], "--listen-fds") && i + 1 < argc)
			listen = argv[++i];
		else if (!strcmp(argv[i], "--start") && i + 1 < argc)
			start = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--ctty") && i + 1 < argc)
			ctty = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--ctty-path") && i + 1 < argc)
			ctty_path = argv[++i];
		else if (!strcmp(argv[i], "--reopen-tty") && i + 1 < argc)
			reopen_tty = argv[++i];
		else if (!strcmp(argv[i], "--control") && i + 1 < argc)
			control = argv[++i];
		else if (!strcmp(argv[i], "--fg") && i + 1 < argc)
			fg = argv[++i];
		else if (!strcmp(argv[i], "--cloexec") && i + 1 < argc)
			cloexec = argv[++i];
		else if (!strcmp(argv[i], "--lock") && i + 1 < argc)
			locks[nlocks++] = argv[++i];
		else if (!strcmp(argv[i], "--pidfd") && i + 1 < argc)
			pidfds[npidfds++] = argv[++i];
		else if (!strcmp(argv[i], "--proc-open") && i + 1 < argc)
			procs[nprocs++] = argv[++i];
		else if (!strcmp(argv[i], "--exec") && i + 1 < argc) {
			exec_argv = &argv[i + 1];
			break;
		} else
			return 2;
	}
	if (cgroup && join_cgroup(cgroup) < 0) {
		if (ready >= 0)
			say(ready, "E %ld %ld %ld\n", (long)getpid(), 9, errno);
		return 22;
	}
	if (comm)
		prctl(PR_SET_NAME, comm, 0, 0, 0);
	if ((cwd && enter_cwd(root, cwd) < 0) || (cwd_fd >= 0 && fchdir(cwd_fd) < 0)) {
		if (ready >= 0)
			say(ready, "E %ld %ld %ld\n", (long)getpid(), 7, errno);
		return 20;
	}
	if (umask_s) {
		char *end;
		long m = strtol(umask_s, &end, 8);

		if (end == umask_s || *end || m < 0 || m > 0777) {
			if (ready >= 0)
				say(ready, "E %ld %ld %ld\n", (long)getpid(), 8, EINVAL);
			return 21;
		}
		umask((mode_t)m);
	}
	if (sigmask && !exec_argv && set_sigmask(sigmask) < 0) {
		if (ready >= 0)
			say(ready, "E %ld %ld %ld\n", (long)getpid(), 8, errno);
		return 21;
	}
	if (ctty >= 0 && ioctl(ctty, TIOCSCTTY, 0) < 0)
		return 4;
	if (ctty_path) {
		ctty_tmp = open(ctty_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (ctty_tmp < 0 || ioctl(ctty_tmp, TIOCSCTTY, 0) < 0)
			return 4;
	}
	if (reopen_tty && reopen_dev_tty(reopen_tty))
		return 4;
	for (int i = 0; i < npidfds; i++) {
		if (open_pidfd(pidfds[i]) < 0) {
			if (ready >= 0)
				say(ready, "E %ld 11 %ld\n", (long)getpid(), errno, 0);
			return 25;
		}
	}
	for (int i = 0; i < nprocs; i++) {
		if (open_proc(procs[i]) < 0) {
			if (ready >= 0)
				say(ready, "E %ld 12 %ld\n", (long)getpid(), errno, 0);
			return 26;
		}
	}
	if (cloexec && !shared && set_cloexec(cloexec))
		return 3;
	for (int i = 0; i < nlocks; i++) {
		if (take_lock(locks[i]) < 0) {
			if (ready >= 0)
				say(ready, "E %ld 10 %ld\n", (long)getpid(), errno, 0);
			return 24;
		}
	}
	if (ready >= 0) {
		say(ready, "R %ld\n", (long)getpid(), 0, 0);
		if (!shared)
			close(ready); /* a shared table's ready fd is the parent's reply pipe */
	}
	int reply = -1, rc = 0;

	if (control) {
		int cmd = atoi(control);
		const char *colon = strchr(control, ':');

		if (!colon)
			return 2;
		reply = atoi(colon + 1);
		rc = serve(cmd, reply);
		close(cmd);
	}
	if (fg && !rc) {
		const char *colon = strchr(fg, ':');
		pid_t pgrp;

		if (!colon)
			return 2;
		pgrp = (pid_t)atoi(colon + 1);
		if (fg_override > 0)
			pgrp = (pid_t)fg_override;
		if (pgrp == 0)
			pgrp = getpgrp();
		if (ioctl(atoi(fg) < 0 ? ctty_tmp : atoi(fg), TIOCSPGRP, &pgrp) < 0)
			rc = 5;
	}
	if (ctty_tmp >= 0)
		close(ctty_tmp);
	if (reply >= 0) {
		say(reply, "D %ld\n", rc, 0, 0);
		close(reply);
	}
	if (rc)
		return rc;
	if (gate >= 0) {
		char go;
		ssize_t r;

		while ((r = read(gate, &go, 1)) < 0 && errno == EINTR)
			;
		close(gate);
		close(ack); /* last: the builder's "D" means this table is final */
		if (r != 1)
			return 8; /* the builder died, or gave up, before its release */
	}
	if (exec_argv && start >= 0) {
		char go;
		ssize_t r;

		while ((r = read(start, &go, 1)) < 0 && errno == EINTR)
			;
		close(start);
		if (r != 1)
			return 8; /* fdrestore gave up (or its verification failed) before the command could start */
	}
	if (exec_argv) {
		sigset_t none;

		if (nenv > 0) {
			clearenv();
			for (int i = 0; i < nenv; i++)
				putenv(env[i]);
		}
		if (listen && listen_fds(listen) < 0)
			return 23;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL); /* a command starts with no signal blocked */
		execvp(exec_argv[0], exec_argv);
		return 6;
	}
	signal(SIGCHLD, SIG_IGN); /* reap the children it built, so none stays a zombie */
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	if (argc > 0) {
		args_area = argv[0];
		args_len = (size_t)(argv[argc - 1] + strlen(argv[argc - 1]) + 1 - argv[0]);
	}
	again_argc = argc;
	again_argv = argv;
	setjmp(again);
	return holder_main(again_argc, again_argv);
}
