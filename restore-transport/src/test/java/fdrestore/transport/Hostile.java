package fdrestore.transport;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** A foreign local process (python3, so another pid) that talks to abstract unix names. */
final class Hostile {
    /** Sends, to the abstract name argv[1]: garbage, garbage with an fd, a perfect forgery with fds, a huge one. */
    static final String SENDER = String.join("\n",
            "import socket, os, sys, struct, array",
            "name, token, magic = sys.argv[1].encode(), int(sys.argv[2], 16), int(sys.argv[3])",
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)",
            "s.settimeout(20)",
            "addr = b'\\0' + name",
            "fds = [os.open('/dev/null', os.O_RDONLY) for _ in range(3)]",
            "def send(data, f):",
            "    anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array('i', f))] if f else []",
            "    s.sendmsg([data], anc, 0, addr)",
            "send(b'garbage!', [])",
            "send(b'\\xff' * 5, fds[:1])",
            "send(struct.pack('<IQI', magic, token, 2) + struct.pack('<QQ', 1, 2), fds[:2])",
            "send(b'\\0' * 60000, fds)",
            "print('sent', flush=True)");

    /** Binds the abstract name argv[1], says "bound", and holds it until stdin closes. */
    static final String SQUATTER = String.join("\n",
            "import socket, sys",
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)",
            "s.bind(b'\\0' + sys.argv[1].encode())",
            "print('bound', flush=True)",
            "sys.stdin.read()");

    /** How many datagrams {@link #SENDER} sends. */
    static final int SENT = 4;

    private Hostile() {
    }

    static boolean pythonAvailable() {
        try {
            Process p = new ProcessBuilder("python3", "-c", "import socket, array, struct")
                    .redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    static Process start(String script, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("python3", "-c", script));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).start();
    }

    /** Reads the process's first output line (its "ready" word), or everything it said if it died. */
    static String firstLine(Process p) throws IOException {
        InputStream in = p.getInputStream();
        StringBuilder b = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
            b.append((char) c);
        }
        if (c < 0) {
            b.append(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
        return b.toString();
    }
}
