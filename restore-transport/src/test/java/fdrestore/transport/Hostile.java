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

    /**
     * For argv[1] seconds, floods the abstract names argv[3:] with non-blocking datagrams (an fd with every
     * tenth), then prints "delivered N bound M". With argv[2] "squat" it first binds each name it can
     * (and floods only the others), and holds its names until stdin closes.
     */
    static final String FLOODER = String.join("\n",
            "import socket, os, sys, time, array",
            "end = time.time() + float(sys.argv[1])",
            "names = [b'\\0' + n.encode() for n in sys.argv[3:]]",
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)",
            "s.setblocking(False)",
            "f = os.open('/dev/null', os.O_RDONLY)",
            "held, bound, n = [], 0, 0",
            "for a in list(names) if sys.argv[2] == 'squat' else []:",
            "    q = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)",
            "    try:",
            "        q.bind(a); held.append(q); bound += 1; names.remove(a)",
            "    except OSError:",
            "        q.close()",
            "while time.time() < end:",
            "    for a in names:",
            "        try:",
            "            anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array('i', [f]))] if n % 10 == 0 else []",
            "            s.sendmsg([b'x' * 512], anc, 0, a); n += 1",
            "        except OSError:",
            "            pass",
            "print('delivered', n, 'bound', bound, flush=True)",
            "if sys.argv[2] == 'squat': sys.stdin.read()");

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
        return start(List.of(), script, args);
    }

    /** Runs {@code script} behind {@code prefix} (e.g. {@link #asNobody()}). */
    static Process start(List<String> prefix, String script, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(prefix);
        // another user may not reach a python3 under root's home (pyenv): the system's then
        boolean sys = !prefix.isEmpty() && java.nio.file.Files.isExecutable(java.nio.file.Path.of("/usr/bin/python3"));
        cmd.addAll(List.of(sys ? "/usr/bin/python3" : "python3", "-c", script));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).start();
    }

    /**
     * The command prefix that runs a program as nobody (uid and gid 65534, no groups), or null when this
     * JVM is not root or neither setpriv nor runuser exists.
     */
    static List<String> asNobody() {
        if (!"0".equals(uid())) {
            return null;
        }
        for (String d : List.of("/usr/bin/", "/bin/", "/usr/sbin/", "/sbin/")) {
            if (java.nio.file.Files.isExecutable(java.nio.file.Path.of(d + "setpriv"))) {
                return List.of(d + "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups");
            }
        }
        for (String d : List.of("/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/")) {
            if (java.nio.file.Files.isExecutable(java.nio.file.Path.of(d + "runuser"))) {
                return List.of(d + "runuser", "-u", "nobody", "--");
            }
        }
        return null;
    }

    static boolean canRunAsNobody() {
        return pythonAvailable() && asNobody() != null;
    }

    private static String uid() {
        try {
            for (String l : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
                if (l.startsWith("Uid:")) {
                    return l.split("\\s+")[2]; // the effective uid
                }
            }
        } catch (IOException e) {
            // unknown
        }
        return "?";
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
