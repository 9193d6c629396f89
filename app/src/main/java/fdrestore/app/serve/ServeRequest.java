package fdrestore.app.serve;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a client of {@code fdrestore serve} asks (src/main/c/fdrestore-client.c writes it). On the unix
 * stream socket, little-endian:
 * <pre>
 *   "FDR1"  u32 body length (at most {@link #MAX_BODY})            header
 *   u32 umask  u32 argc  u32 envc                                  body
 *   home\0 cwd\0 argc arguments\0 envc "NAME=value"\0
 * </pre>
 * {@code home} is the installation the client belongs to: a server serves only its own. Every later
 * message is five bytes ({@link #reply}: a type byte and an s32). The server answers {@code 'F'} (0) for
 * "run it yourself" (a command it does not serve, another installation, or busy), or {@code 'A'} (0):
 * taken. To {@code 'A'} the client answers {@code 'G'} (0), with its fds 0, 1 and 2 (SCM_RIGHTS), if it
 * still waits; it gives up after a few seconds and runs the command itself. The server starts a command
 * only on {@code 'G'}, so a command never runs twice, and a server that does not answer never holds the
 * client's fds (a pipe downstream of the client still ends). Then the client may send {@code 'S'} with a
 * signal number (its Ctrl-C, forwarded) until the server's {@code 'X'} with the exit code.
 */
public record ServeRequest(int umask, String home, String cwd, List<String> args, Map<String, String> env) {
    static final byte[] MAGIC = {'F', 'D', 'R', '1'};
    static final int HEADER = 8;
    static final int MAX_BODY = 4 << 20;
    static final int MESSAGE = 5;
    static final byte EXIT = 'X';
    static final byte FALLBACK = 'F';
    static final byte ACCEPT = 'A';
    static final byte GO = 'G';
    static final byte SIGNAL = 'S';

    /** A malformed request: what is wrong with it. */
    static final class BadRequest extends Exception {
        private static final long serialVersionUID = 1L;

        BadRequest(String message) {
            super(message);
        }
    }

    /** The body length a header announces; refuses another magic and an oversized body. */
    static int bodyLength(byte[] header) throws BadRequest {
        if (header.length < HEADER) {
            throw new BadRequest("short header: " + header.length + " bytes");
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (header[i] != MAGIC[i]) {
                throw new BadRequest("not an fdrestore request (bad magic)");
            }
        }
        int len = ByteBuffer.wrap(header, 4, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
        if (len < 12 || len > MAX_BODY) {
            throw new BadRequest("body length " + Integer.toUnsignedString(len) + " out of range [12, " + MAX_BODY + "]");
        }
        return len;
    }

    /** Decodes a body: every count checked against what is there, and nothing left over. */
    static ServeRequest decode(byte[] body) throws BadRequest {
        ByteBuffer b = ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN);
        if (body.length < 12) {
            throw new BadRequest("short body: " + body.length + " bytes");
        }
        int umask = b.getInt();
        int argc = b.getInt();
        int envc = b.getInt();
        if ((umask & ~0777) != 0) {
            throw new BadRequest("umask " + Integer.toOctalString(umask) + " is not a file mode mask");
        }
        if (argc < 0 || envc < 0 || (long) argc + envc + 2 > body.length - 12) {
            throw new BadRequest("counts (" + argc + " arguments, " + envc + " variables) exceed the body");
        }
        List<String> strings = new ArrayList<>(argc + envc + 2);
        int at = 12;
        for (int i = 0; i < argc + envc + 2; i++) {
            int end = at;
            while (end < body.length && body[end] != 0) {
                end++;
            }
            if (end == body.length) {
                throw new BadRequest("string " + i + " is not terminated");
            }
            strings.add(new String(body, at, end - at, StandardCharsets.UTF_8));
            at = end + 1;
        }
        if (at != body.length) {
            throw new BadRequest((body.length - at) + " bytes after the last string");
        }
        String home = strings.get(0);
        String cwd = strings.get(1);
        if (!cwd.startsWith("/")) {
            throw new BadRequest("the client's directory is not absolute: " + cwd);
        }
        Map<String, String> env = new LinkedHashMap<>();
        for (String e : strings.subList(2 + argc, strings.size())) {
            int eq = e.indexOf('=');
            if (eq > 0) {
                env.putIfAbsent(e.substring(0, eq), e.substring(eq + 1));
            }
        }
        return new ServeRequest(umask, home, cwd, List.copyOf(strings.subList(2, 2 + argc)), env);
    }

    /** The header and body of this request, as the client writes them (tests, and the docs' example). */
    byte[] encode() {
        ByteArrayOutputStream strings = new ByteArrayOutputStream();
        List<String> all = new ArrayList<>();
        all.add(home);
        all.add(cwd);
        all.addAll(args);
        env.forEach((k, v) -> all.add(k + "=" + v));
        for (String s : all) {
            strings.writeBytes(s.getBytes(StandardCharsets.UTF_8));
            strings.write(0);
        }
        ByteBuffer b = ByteBuffer.allocate(HEADER + 12 + strings.size()).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).putInt(12 + strings.size()).putInt(umask).putInt(args.size()).putInt(env.size());
        b.put(strings.toByteArray());
        return b.array();
    }

    /** One server-to-client (or client-to-server) message: a type byte and an s32. */
    static byte[] reply(byte type, int value) {
        return ByteBuffer.allocate(MESSAGE).order(ByteOrder.LITTLE_ENDIAN).put(type).putInt(value).array();
    }
}
