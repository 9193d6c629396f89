/*
 * fdrestore-floor: the syscall floor of fdrestore's fd transport (`fdrestore bench --floor`).
 *
 * Usage: fdrestore-floor FDS ROUNDS [WINDOW]
 *
 * Each round moves FDS fds from one private fd table to another, doing only the syscalls that work needs:
 * two threads, each of which called unshare(CLONE_FILES), own one table each. Each table has one
 * SOCK_DGRAM unix socket bound to an abstract name (as fdrestore's ScmTransport has one per task table).
 * The sender open()s /dev/null (O_RDWR|O_CLOEXEC) up to 253 times, sendmsg()s those fds by SCM_RIGHTS to
 * the receiver's address with a payload of a 16-byte header (u32 magic, u64 token, u32 count) and one u64
 * tag per fd (the fd's target number), MSG_DONTWAIT, retrying after sched_yield() while the receiver's queue
 * is full (EAGAIN), and then close()s its copies. The receiver poll()s its socket, recvmsg()s a message
 * (MSG_DONTWAIT|MSG_CMSG_CLOEXEC), checks it, and for each fd dup3(fd, tag, O_CLOEXEC)s it to its target
 * number (1000 + i) and close()s the received temporary.
 *
 * When the targets 1000..1000+FDS do not fit under RLIMIT_NOFILE's hard limit, a round runs in passes of
 * at most WINDOW fds (default: as many whole messages as fit): between passes the receiver closes the
 * pass's targets (close_range) with the clock stopped, and both threads meet at a barrier.
 *
 * Measured per round (CLOCK_MONOTONIC), summed over the passes:
 *   ns_per_fd           from the sender's first open() to the receiver's last dup3() of a pass.
 *   transport_ns_per_fd the time spent inside sendmsg() (sender, EAGAIN attempts included) plus inside
 *                       recvmsg() (receiver), summed over both threads: the transport alone, without
 *                       open/dup3/close/poll. The threads run at the same time, so this is a cost (CPU
 *                       time in those calls), not a share of the round's wall time.
 * One warm-up round runs first and is not counted. Output: one line per round, then one final
 * machine-readable line:
 *   floor fds=N rounds=R window=W passes=P median_ns_per_fd=.. min_ns_per_fd=.. max_ns_per_fd=..
 *         transport_median_ns_per_fd=.. transport_min_ns_per_fd=.. transport_max_ns_per_fd=.. eagain=..
 *
 * Every syscall is checked; a failure prints the call and exits with status 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 253                    /* SCM_MAX_FD */
#define TARGET_BASE 1000               /* the target of fd i of a pass is TARGET_BASE + i */
#define HEADER 16                      /* u32 magic, u64 token, u32 count */
#define MAGIC 0x54524446u              /* "FDRT" little-endian, as ScmTransport */
#define SLACK 1024                     /* fds above the targets: sockets, temporaries, stdio */
#define SOCKET_BUFFER (1 << 20)        /* SO_SNDBUF/SO_RCVBUF asked for, as ScmTransport */

static long fds_total;
static long window;
static int rounds;
static uint64_t token;
static pthread_barrier_t barrier;
static struct sockaddr_un recv_addr, send_addr;
static socklen_t recv_addr_len, send_addr_len;

/* Per pass, written by the sender before its first open and read by the receiver at the end. */
static int64_t pass_start;
/* Per round: totals of the passes (written by their own thread, read by main after a barrier). */
static int64_t round_ns, send_ns, recv_ns;
static long eagain_count;

static void die(const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	fputs("fdrestore-floor: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(e));
	exit(1);
}

static void fail(const char *fmt, ...)
{
	va_list ap;
	fputs("fdrestore-floor: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		die("clock_gettime(CLOCK_MONOTONIC)");
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void barrier_wait(void)
{
	int r = pthread_barrier_wait(&barrier);
	if (r != 0 && r != PTHREAD_BARRIER_SERIAL_THREAD) {
		errno = r;
		die("pthread_barrier_wait");
	}
}

static socklen_t abstract_address(struct sockaddr_un *a, const char *role)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	int n = snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "fdrestore-floor-%ld-%s", (long)getpid(), role);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

/* The thread's private fd table and its bound endpoint. */
static int endpoint(const struct sockaddr_un *addr, socklen_t len)
{
	if (unshare(CLONE_FILES) != 0)
		die("unshare(CLONE_FILES)");
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		die("socket(AF_UNIX, SOCK_DGRAM)");
	int size = SOCKET_BUFFER;
	/* best effort, as in ScmTransport: a smaller buffer only means fewer bytes queued */
	(void)setsockopt(s, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	(void)setsockopt(s, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (bind(s, (const struct sockaddr *)addr, len) != 0)
		die("bind(@%s)", addr->sun_path + 1);
	return s;
}

static void *sender(void *arg)
{
	(void)arg;
	int s = endpoint(&send_addr, send_addr_len);
	unsigned char payload[HEADER + 8 * MAX_FDS];
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
		struct cmsghdr align;
	} ctrl;
	int fds[MAX_FDS];
	barrier_wait(); /* both endpoints bound */

	for (int r = 0; r <= rounds; r++) {
		int64_t sent_ns = 0;
		long eagain = 0;
		for (long lo = 0; lo < fds_total; lo += window) {
			long hi = lo + window < fds_total ? lo + window : fds_total;
			barrier_wait(); /* the receiver is ready and the previous targets are closed */
			__atomic_store_n(&pass_start, now_ns(), __ATOMIC_RELEASE);
			for (long i = lo; i < hi; i += MAX_FDS) {
				int n = hi - i < MAX_FDS ? (int)(hi - i) : MAX_FDS;
				for (int k = 0; k < n; k++) {
					fds[k] = open("/dev/null", O_RDWR | O_CLOEXEC);
					if (fds[k] < 0)
						die("open(\"/dev/null\", O_RDWR|O_CLOEXEC) (fd %ld of the round)", i + k);
				}
				put32(payload, MAGIC);
				put64(payload + 4, token);
				put32(payload + 12, (uint32_t)n);
				for (int k = 0; k < n; k++)
					put64(payload + HEADER + 8 * k, (uint64_t)(TARGET_BASE + (i - lo) + k));
				struct iovec iov = { .iov_base = payload, .iov_len = HEADER + 8 * (size_t)n };
				struct msghdr msg = {
					.msg_name = &recv_addr, .msg_namelen = recv_addr_len,
					.msg_iov = &iov, .msg_iovlen = 1,
					.msg_control = ctrl.buf, .msg_controllen = CMSG_SPACE(sizeof(int) * n),
				};
				struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
				c->cmsg_level = SOL_SOCKET;
				c->cmsg_type = SCM_RIGHTS;
				c->cmsg_len = CMSG_LEN(sizeof(int) * n);
				memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
				for (;;) {
					int64_t t0 = now_ns();
					ssize_t w = sendmsg(s, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
					sent_ns += now_ns() - t0;
					if (w >= 0)
						break;
					if (errno != EAGAIN && errno != EWOULDBLOCK)
						die("sendmsg(@%s, %d fds, MSG_DONTWAIT)", recv_addr.sun_path + 1, n);
					eagain++;
					sched_yield(); /* the receiver's queue is full: let it drain */
				}
				for (int k = 0; k < n; k++)
					if (close(fds[k]) != 0)
						die("close(%d)", fds[k]);
			}
		}
		send_ns = sent_ns;
		eagain_count = eagain;
		barrier_wait(); /* end of round: main reads the totals */
		barrier_wait(); /* main has read them */
	}
	return NULL;
}

static void *receiver(void *arg)
{
	(void)arg;
	int s = endpoint(&recv_addr, recv_addr_len);
	unsigned char payload[HEADER + 8 * MAX_FDS + 64];
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
		struct cmsghdr align;
	} ctrl;
	barrier_wait(); /* both endpoints bound */

	for (int r = 0; r <= rounds; r++) {
		int64_t total = 0, received_ns = 0;
		for (long lo = 0; lo < fds_total; lo += window) {
			long hi = lo + window < fds_total ? lo + window : fds_total;
			long want = hi - lo, got = 0;
			barrier_wait(); /* start of the pass */
			while (got < want) {
				struct pollfd p = { .fd = s, .events = POLLIN };
				if (poll(&p, 1, -1) < 0) {
					if (errno == EINTR)
						continue;
					die("poll(%d, POLLIN)", s);
				}
				struct iovec iov = { .iov_base = payload, .iov_len = sizeof(payload) };
				struct msghdr msg = {
					.msg_iov = &iov, .msg_iovlen = 1,
					.msg_control = ctrl.buf, .msg_controllen = sizeof(ctrl.buf),
				};
				int64_t t0 = now_ns();
				ssize_t len = recvmsg(s, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
				received_ns += now_ns() - t0;
				if (len < 0) {
					if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
						continue;
					die("recvmsg(%d, MSG_DONTWAIT|MSG_CMSG_CLOEXEC)", s);
				}
				struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
				if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || c == NULL || c->cmsg_level != SOL_SOCKET
				    || c->cmsg_type != SCM_RIGHTS)
					fail("recvmsg(%d): a truncated message or one without SCM_RIGHTS", s);
				int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
				int fds[MAX_FDS];
				memcpy(fds, CMSG_DATA(c), sizeof(int) * n);
				if (len < HEADER || get32(payload) != MAGIC || get64(payload + 4) != token
				    || get32(payload + 12) != (uint32_t)n || len != HEADER + 8 * (ssize_t)n)
					fail("recvmsg(%d): a bad message (%zd bytes, %d fds)", s, len, n);
				for (int k = 0; k < n; k++) {
					int target = (int)get64(payload + HEADER + 8 * k);
					if (dup3(fds[k], target, O_CLOEXEC) != target)
						die("dup3(%d, %d, O_CLOEXEC)", fds[k], target);
					if (close(fds[k]) != 0)
						die("close(%d)", fds[k]);
				}
				got += n;
			}
			int64_t end = now_ns();
			total += end - __atomic_load_n(&pass_start, __ATOMIC_ACQUIRE);
			/* the clock is stopped: close the pass's targets */
			if (syscall(SYS_close_range, (unsigned)TARGET_BASE, (unsigned)(TARGET_BASE + want - 1), 0u) != 0) {
				if (errno != ENOSYS)
					die("close_range(%d, %ld, 0)", TARGET_BASE, TARGET_BASE + want - 1);
				for (long t = TARGET_BASE; t < TARGET_BASE + want; t++)
					if (close((int)t) != 0)
						die("close(%ld)", t);
			}
		}
		round_ns = total;
		recv_ns = received_ns;
		barrier_wait(); /* end of round */
		barrier_wait(); /* main has read the totals */
	}
	return NULL;
}

static long parse(const char *s, const char *what, long min)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < min)
		fail("%s must be an integer >= %ld: %s", what, min, s);
	return v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: fdrestore-floor FDS ROUNDS [WINDOW]\n");
		return 2;
	}
	fds_total = parse(argv[1], "FDS", 1);
	rounds = (int)parse(argv[2], "ROUNDS", 1);

	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		die("getrlimit(RLIMIT_NOFILE)");
	long hard = rl.rlim_max == RLIM_INFINITY ? (1L << 30) : (long)rl.rlim_max;
	long fit = (hard - TARGET_BASE - SLACK) / MAX_FDS * MAX_FDS;
	if (argc == 4)
		window = parse(argv[3], "WINDOW", 1);
	else
		window = fds_total < fit ? fds_total : fit;
	if (window > fds_total)
		window = fds_total;
	if (window < 1 || window > hard - TARGET_BASE - SLACK)
		fail("RLIMIT_NOFILE's hard limit %ld leaves no room for a window of %ld targets above %d", hard,
		     window, TARGET_BASE);
	rlim_t need = (rlim_t)(TARGET_BASE + window + SLACK);
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		rl.rlim_cur = need;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			die("setrlimit(RLIMIT_NOFILE, %lu)", (unsigned long)need);
	}
	long passes = (fds_total + window - 1) / window;

	token = (uint64_t)now_ns() * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
	recv_addr_len = abstract_address(&recv_addr, "recv");
	send_addr_len = abstract_address(&send_addr, "send");

	int e = pthread_barrier_init(&barrier, NULL, 3);
	if (e != 0) {
		errno = e;
		die("pthread_barrier_init");
	}
	/* main joins every barrier too: 3 parties (sender, receiver, main). */
	pthread_t ts, tr;
	if ((e = pthread_create(&tr, NULL, receiver, NULL)) != 0) {
		errno = e;
		die("pthread_create(receiver)");
	}
	if ((e = pthread_create(&ts, NULL, sender, NULL)) != 0) {
		errno = e;
		die("pthread_create(sender)");
	}
	barrier_wait(); /* endpoints bound */

	double *total = calloc((size_t)rounds, sizeof(double));
	double *transport = calloc((size_t)rounds, sizeof(double));
	if (total == NULL || transport == NULL)
		die("calloc");
	long eagain = 0;
	for (int r = 0; r <= rounds; r++) {
		for (long p = 0; p < passes; p++)
			barrier_wait(); /* start of each pass */
		barrier_wait(); /* end of round */
		double ns = (double)round_ns / (double)fds_total;
		double tns = (double)(send_ns + recv_ns) / (double)fds_total;
		if (r == 0) {
			printf("warm-up: %ld fds in %.3f ms: %.1f ns/fd, transport %.1f ns/fd\n", fds_total, round_ns / 1e6,
			       ns, tns);
		} else {
			total[r - 1] = ns;
			transport[r - 1] = tns;
			eagain += eagain_count;
			printf("round %d: %ld fds in %.3f ms: %.1f ns/fd, transport (sendmsg %.1f + recvmsg %.1f) %.1f ns/fd,"
			       " %ld EAGAIN\n",
			       r, fds_total, round_ns / 1e6, ns, send_ns / (double)fds_total, recv_ns / (double)fds_total,
			       tns, eagain_count);
		}
		fflush(stdout);
		barrier_wait(); /* totals read */
	}
	pthread_join(ts, NULL);
	pthread_join(tr, NULL);

	double tmin = total[0], tmax = total[0], pmin = transport[0], pmax = transport[0];
	for (int i = 1; i < rounds; i++) {
		tmin = total[i] < tmin ? total[i] : tmin;
		tmax = total[i] > tmax ? total[i] : tmax;
		pmin = transport[i] < pmin ? transport[i] : pmin;
		pmax = transport[i] > pmax ? transport[i] : pmax;
	}
	printf("floor fds=%ld rounds=%d window=%ld passes=%ld median_ns_per_fd=%.1f min_ns_per_fd=%.1f max_ns_per_fd=%.1f"
	       " transport_median_ns_per_fd=%.1f transport_min_ns_per_fd=%.1f transport_max_ns_per_fd=%.1f eagain=%ld\n",
	       fds_total, rounds, window, passes, median(total, rounds), tmin, tmax, median(transport, rounds), pmin,
	       pmax, eagain);
	free(total);
	free(transport);
	return 0;
}
