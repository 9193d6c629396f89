/*
 * fdrestore-client: the front half of bin/fdrestore when `fdrestore serve` runs.
 *
 *   fdrestore-client LAUNCHER [ARG...]
 *
 * Hands the command line, directory, umask and environment, then fds 0, 1, 2 (SCM_RIGHTS), to the server on
 * $FDRESTORE_SOCKET (default: /run/fdrestore/fdrestore.sock for root, else
 * $XDG_RUNTIME_DIR/fdrestore/fdrestore.sock or /tmp/fdrestore-UID/fdrestore.sock), forwards SIGINT,
 * SIGTERM, SIGHUP and SIGQUIT to it, and exits with the command's exit code.
 *
 * When the server cannot run the command (none listens, it belongs to another user, it is busy, it does
 * not serve that command, it is another installation's, or it does not take the command within 3 s),
 * the client runs it itself: it execs
 * LAUNCHER with the same arguments and FDRESTORE_SERVER=off. The wire format is described in
 * ServeRequest.java.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

extern char **environ;

static int sock = -1;
static volatile sig_atomic_t forwarded;

static void run_direct(char **argv) {
    if (sock >= 0) {
        close(sock);
    }
    setenv("FDRESTORE_SERVER", "off", 1);
    execv(argv[1], argv + 1);
    fprintf(stderr, "fdrestore: cannot run %s: %s\n", argv[1], strerror(errno));
    exit(127);
}

static void on_signal(int sig) {
    unsigned char m[5] = {'S', (unsigned char)sig, (unsigned char)(sig >> 8), (unsigned char)(sig >> 16),
                          (unsigned char)(sig >> 24)};
    int saved = errno;
    if (!forwarded) {
        forwarded = sig;
    }
    /* a 5-byte write to a stream socket: all or nothing; if the server is gone, the read below ends */
    (void)send(sock, m, sizeof m, MSG_NOSIGNAL | MSG_DONTWAIT);
    errno = saved;
}

/* Appends n bytes to the growing buffer; exits on out of memory. */
static void put(char **buf, size_t *len, size_t *cap, const void *data, size_t n) {
    if (*len + n > *cap) {
        size_t c = *cap ? *cap : 4096;
        while (c < *len + n) {
            c *= 2;
        }
        char *b = realloc(*buf, c);
        if (b == NULL) {
            fputs("fdrestore: out of memory\n", stderr);
            exit(1);
        }
        *buf = b;
        *cap = c;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
}

static void put_u32(char **buf, size_t *len, size_t *cap, uint32_t v) {
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    put(buf, len, cap, b, 4);
}

static void put_str(char **buf, size_t *len, size_t *cap, const char *s) {
    put(buf, len, cap, s, strlen(s) + 1);
}

static void set_u32(char *at, uint32_t v) {
    at[0] = (char)v;
    at[1] = (char)(v >> 8);
    at[2] = (char)(v >> 16);
    at[3] = (char)(v >> 24);
}

/* How long the server may take to take a command ("A") before the client runs it itself. */
#define ACCEPT_TIMEOUT_MS 3000

/* Reads one 5-byte message within timeout_ms (-1: no limit); 0, or -1 on timeout, end or error. */
static int read_message(int fd, unsigned char *m, int timeout_ms) {
    size_t have = 0;
    while (have < 5) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, timeout_ms);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return -1;
        }
        ssize_t n = read(fd, m + have, 5 - have);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        have += (size_t)n;
    }
    return 0;
}

static int socket_path(char *out, size_t size) {
    const char *s = getenv("FDRESTORE_SOCKET");
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    int n;
    if (s != NULL && *s != '\0') {
        n = snprintf(out, size, "%s", s);
    } else if (geteuid() == 0) {
        n = snprintf(out, size, "/run/fdrestore/fdrestore.sock");
    } else if (xdg != NULL && xdg[0] == '/') {
        n = snprintf(out, size, "%s/fdrestore/fdrestore.sock", xdg);
    } else {
        n = snprintf(out, size, "/tmp/fdrestore-%u/fdrestore.sock", (unsigned)geteuid());
    }
    return n > 0 && (size_t)n < size ? 0 : -1;
}

int main(int argc, char **argv) {
    struct sockaddr_un addr;
    char home[PATH_MAX], cwd[PATH_MAX];
    if (argc < 2) {
        fputs("usage: fdrestore-client LAUNCHER [ARG...] (run by bin/fdrestore)\n", stderr);
        return 2;
    }
    const char *off = getenv("FDRESTORE_SERVER");
    if (off != NULL && strcmp(off, "off") == 0) {
        run_direct(argv);
    }
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (socket_path(addr.sun_path, sizeof addr.sun_path) < 0) {
        run_direct(argv);
    }
    /* our own stdio must be there to be handed over; and the server serves only its own installation */
    for (int fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) < 0) {
            run_direct(argv);
        }
    }
    if (realpath(argv[1], home) == NULL || getcwd(cwd, sizeof cwd) == NULL) {
        run_direct(argv);
    }
    /* LAUNCHER is HOME/bin/fdrestore: cut "/fdrestore", then "/bin" */
    char *cut = strrchr(home, '/');
    if (cut == NULL) {
        run_direct(argv);
    }
    *cut = '\0';
    cut = strrchr(home, '/');
    if (cut == NULL) {
        run_direct(argv);
    }
    if (cut == home) {
        cut[1] = '\0'; /* HOME is / */
    } else {
        *cut = '\0';
    }

    sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0 || connect(sock, (struct sockaddr *)&addr, sizeof addr) < 0) {
        run_direct(argv);
    }
    struct ucred cred;
    socklen_t clen = sizeof cred;
    if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 || (cred.uid != 0 && cred.uid != geteuid())) {
        fprintf(stderr, "fdrestore: ignoring %s: its server runs as uid %u, neither root nor you\n", addr.sun_path,
                (unsigned)cred.uid);
        run_direct(argv);
    }

    char *buf = NULL;
    size_t len = 0, cap = 0;
    mode_t mask = umask(0);
    umask(mask);
    size_t envc = 0;
    while (environ[envc] != NULL) {
        envc++;
    }
    put(&buf, &len, &cap, "FDR1", 4);
    put_u32(&buf, &len, &cap, 0); /* body length, set below */
    put_u32(&buf, &len, &cap, (uint32_t)mask);
    put_u32(&buf, &len, &cap, (uint32_t)(argc - 2));
    put_u32(&buf, &len, &cap, (uint32_t)envc);
    put_str(&buf, &len, &cap, home);
    put_str(&buf, &len, &cap, cwd);
    for (int i = 2; i < argc; i++) {
        put_str(&buf, &len, &cap, argv[i]);
    }
    for (size_t i = 0; i < envc; i++) {
        put_str(&buf, &len, &cap, environ[i]);
    }
    if (len - 8 > (4u << 20)) {
        run_direct(argv); /* more than the server takes: an enormous environment */
    }
    set_u32(buf + 4, (uint32_t)(len - 8));

    /* the whole request, without fds: they go with "G", once the server has taken the command */
    size_t sent = 0;
    while (sent < len) {
        ssize_t n = send(sock, buf + sent, len - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            run_direct(argv); /* the server went away before it had the command: nothing ran */
        }
        sent += (size_t)n;
    }
    free(buf);

    /*
     * "A": the server takes the command, and starts it once we say "G". A server that does not answer
     * in time (stopped, stuck) is given up: nothing has run, since it starts only on "G", so the command
     * runs here instead. "F": run it here.
     */
    unsigned char first[5];
    if (read_message(sock, first, ACCEPT_TIMEOUT_MS) < 0) {
        fprintf(stderr, "fdrestore: the server on %s did not answer within %d s; running without it\n",
                addr.sun_path, ACCEPT_TIMEOUT_MS / 1000);
        run_direct(argv);
    }
    if (first[0] == 'F') {
        run_direct(argv);
    }
    if (first[0] != 'A') {
        fprintf(stderr, "fdrestore: the server on %s answered 0x%02x, not 'A'; running without it\n", addr.sun_path,
                first[0]);
        run_direct(argv);
    }
    {
        /* "G", with fds 0, 1 and 2: from here on the command is the server's */
        unsigned char go[5] = {'G', 0, 0, 0, 0};
        int fds[3] = {0, 1, 2};
        union {
            char buf[CMSG_SPACE(sizeof fds)];
            struct cmsghdr align;
        } control;
        struct iovec iov = {go, sizeof go};
        struct msghdr msg = {0};
        memset(&control, 0, sizeof control);
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.buf;
        msg.msg_controllen = sizeof control.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof fds);
        memcpy(CMSG_DATA(c), fds, sizeof fds);
        ssize_t n;
        do {
            n = sendmsg(sock, &msg, MSG_NOSIGNAL);
        } while (n < 0 && errno == EINTR);
        if (n != (ssize_t)sizeof go) {
            run_direct(argv); /* the server is gone before the start: nothing ran */
        }
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        sigaction(sigs[i], &sa, NULL);
    }

    unsigned char reply[5];
    size_t have = 0;
    while (have < sizeof reply) {
        ssize_t n = read(sock, reply + have, sizeof reply - have);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (forwarded) {
                return 128 + forwarded;
            }
            fprintf(stderr, "fdrestore: the server on %s ended without an answer\n", addr.sun_path);
            return 1;
        }
        have += (size_t)n;
    }
    int32_t value = (int32_t)((uint32_t)reply[1] | (uint32_t)reply[2] << 8 | (uint32_t)reply[3] << 16
                              | (uint32_t)reply[4] << 24);
    if (reply[0] == 'F') {
        run_direct(argv);
    }
    if (reply[0] != 'X') {
        fprintf(stderr, "fdrestore: the server on %s answered 0x%02x, not an exit code\n", addr.sun_path, reply[0]);
        return 1;
    }
    return value & 0xff;
}
