package fdrestore.app.serve;

import fdrestore.api.sys.Linux;
import fdrestore.app.Cli;
import java.util.Map;

/** systemd's socket activation as {@code fdrestore serve} takes it: which fd it was passed, if any. */
final class SocketActivation {
    private SocketActivation() {
    }

    /** The first fd systemd passes (sd_listen_fds(3)). */
    static final int LISTEN_FDS_START = 3;

    /**
     * The listening socket systemd (or any socket-activation launcher) passed this process: fd 3 when
     * LISTEN_PID is this process and LISTEN_FDS is 1, else -1 (not activated: LISTEN_PID names another
     * process, which is what an inherited environment looks like). More than one fd is an error: the server
     * has one socket.
     */
    static int inheritedListener(Map<String, String> env) throws Cli.UsageException {
        String pid = env.get("LISTEN_PID");
        String fds = env.get("LISTEN_FDS");
        if (pid == null || fds == null || !pid.equals(Long.toString(ProcessHandle.current().pid()))) {
            return -1;
        }
        if (!fds.equals("1")) {
            throw new Cli.UsageException("serve: socket activation passed LISTEN_FDS=" + fds
                    + " fds; fdrestore.socket gives one (Accept=no, one ListenStream)");
        }
        return LISTEN_FDS_START;
    }

    /** Whether {@code sockaddr} is an AF_UNIX address. */
    static boolean isUnix(byte[] sockaddr) {
        return sockaddr.length >= 2 && (sockaddr[0] & 0xff | (sockaddr[1] & 0xff) << 8) == Linux.AF_UNIX;
    }
}
