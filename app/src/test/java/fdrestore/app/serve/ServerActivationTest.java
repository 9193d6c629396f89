package fdrestore.app.serve;

import fdrestore.app.Cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The server's side of socket activation: which environment means "fd 3 is mine", and which fd it takes. */
@Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ServerActivationTest {
    private static final String ME = Long.toString(ProcessHandle.current().pid());

    @Test
    void fd3IsTheServersOnlyWhenListenPidIsThisProcess() throws Exception {
        assertEquals(3, SocketActivation.inheritedListener(Map.of("LISTEN_PID", ME, "LISTEN_FDS", "1", "LISTEN_FDNAMES", "fdrestore.socket")));
        // inherited from an activated parent: not this process's sockets
        assertEquals(-1, SocketActivation.inheritedListener(Map.of("LISTEN_PID", "1", "LISTEN_FDS", "1")));
        assertEquals(-1, SocketActivation.inheritedListener(Map.of("LISTEN_FDS", "1")));
        assertEquals(-1, SocketActivation.inheritedListener(Map.of()));
        Cli.UsageException two = assertThrows(Cli.UsageException.class,
                () -> SocketActivation.inheritedListener(Map.of("LISTEN_PID", ME, "LISTEN_FDS", "2")));
        assertTrue(two.getMessage().contains("LISTEN_FDS=2"), two.getMessage());
    }

    @Test
    void onlyAListeningUnixStreamSocketIsAdoptedAndItIsMadeCloseOnExec(@TempDir Path tmp) throws Exception {
        PrintWriter quiet = new PrintWriter(Writer.nullWriter());
        int notListening = Sys.socket(Linux.AF_UNIX, Linux.SOCK_STREAM, 0);
        int datagram = Sys.socket(Linux.AF_UNIX, Linux.SOCK_DGRAM, 0);
        int listening = Sys.socket(Linux.AF_UNIX, Linux.SOCK_STREAM, 0);
        try {
            Sys.bind(listening, Sys.unixPathAddress(tmp.resolve("s").toString()));
            Sys.listen(listening, 4);
            for (int fd : new int[] {notListening, datagram}) {
                Cli.UsageException e = assertThrows(Cli.UsageException.class,
                        () -> new Server(tmp.resolve("x"), null, quiet).adopt(fd));
                assertTrue(e.getMessage().contains("fd " + fd + " from socket activation"), e.getMessage());
            }
            assertEquals(0, Sys.fcntl(listening, Linux.F_GETFD, 0) & Linux.FD_CLOEXEC);
            Server server = new Server(tmp.resolve("s"), null, quiet);
            server.adopt(listening);
            assertTrue(server.activated());
            assertEquals(Linux.FD_CLOEXEC, Sys.fcntl(listening, Linux.F_GETFD, 0) & Linux.FD_CLOEXEC,
                    "no restored task inherits the server's socket");
            server.close();
            listening = -1; // closed by the server
            assertTrue(Files.exists(tmp.resolve("s")), "a passed-in socket's file belongs to its unit, not to the server");
        } finally {
            Sys.closeQuietly(notListening);
            Sys.closeQuietly(datagram);
            if (listening >= 0) {
                Sys.closeQuietly(listening);
            }
        }
    }
}
