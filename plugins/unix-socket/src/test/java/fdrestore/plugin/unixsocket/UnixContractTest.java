package fdrestore.plugin.unixsocket;

import static fdrestore.plugin.unixsocket.UnixImageBuilder.DGRAM;
import static fdrestore.plugin.unixsocket.UnixImageBuilder.ESTABLISHED;
import static fdrestore.plugin.unixsocket.UnixImageBuilder.LISTEN;
import static fdrestore.plugin.unixsocket.UnixImageBuilder.SEQPACKET;
import static fdrestore.plugin.unixsocket.UnixImageBuilder.STREAM;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.spi.FileKind;
import fdrestore.testkit.FileKindContractTest;
import java.nio.file.Files;
import java.util.List;

/**
 * The file-kind contract for unix sockets: socketpairs across tasks, listeners with accepted and
 * unaccepted connections, queued packets, and that every failure names the socket and closes what it made.
 */
class UnixContractTest extends FileKindContractTest {
    @Override
    protected FileKind kind() {
        return new UnixSocketKind();
    }

    private static long count(Restore x, int pid, String call) {
        return x.table(pid).calls().stream().filter(c -> c.startsWith(call + "(")).count();
    }

    /** Every error names the inode of the socket that failed. */
    private static Scenario of(String name, UnixImageBuilder b) {
        return Scenario.of(name, b::write).onFault(f -> assertTrue(f.mentions("ino " + UnixImageBuilder.ino((int) f.fileId())),
                f.call() + ": " + f.error().getMessage()));
    }

    @Override
    protected List<Scenario> scenarios() {
        UnixImageBuilder pair = new UnixImageBuilder().task(10, 0).task(11, 10);
        int a = pair.sock(STREAM, ESTABLISHED);
        int c = pair.sock(STREAM, ESTABLISHED);
        pair.connect(a, c).fd(10, 3, a).fd(11, 4, c).packet(a, "to a").packet(c, "to c");

        UnixImageBuilder listener = new UnixImageBuilder().task(10, 0).task(11, 10);
        int l = listener.sock(SEQPACKET, LISTEN);
        int srv = listener.sock(SEQPACKET, ESTABLISHED);
        int cli = listener.sock(SEQPACKET, ESTABLISHED);
        int pending = listener.sock(SEQPACKET, ESTABLISHED);
        listener.abstractName(l, "fake").abstractName(srv, "fake").connect(srv, cli).peer(pending, l);
        listener.fd(10, 3, l).fd(10, 4, srv).fd(11, 3, cli).fd(11, 4, pending);

        UnixImageBuilder accepted = new UnixImageBuilder().task(10, 0);
        int al = accepted.sock(STREAM, LISTEN);
        int asrv = accepted.sock(STREAM, ESTABLISHED);
        int acli = accepted.sock(STREAM, ESTABLISHED);
        accepted.abstractName(al, "acc").abstractName(asrv, "acc").connect(asrv, acli);
        accepted.fd(10, 3, al).fd(10, 4, asrv).fd(10, 5, acli);

        UnixImageBuilder dgram = new UnixImageBuilder().task(10, 0).task(11, 10);
        int server = dgram.sock(DGRAM, UnixImageBuilder.CLOSE);
        int sender = dgram.sock(DGRAM, UnixImageBuilder.CLOSE);
        dgram.pathName(server, "/run/log.sock").peer(sender, server).packet(server, "hello");
        dgram.fd(10, 3, server).fd(11, 5, sender);

        return List.of(
                of("a socketpair across two tasks, with queues", pair).expect(x -> {
                    assertEquals(1, count(x, 10, "socketpair"));
                    assertEquals(0, count(x, 11, "socketpair") + count(x, 11, "socket"));
                    assertEquals(1, count(x, 10, "send"), "task 10 re-sends c's queue");
                    assertEquals(1, count(x, 11, "send"), "task 11 re-sends a's queue");
                }),
                of("a listener, its accepted connection and an unaccepted client", listener).expect(x -> {
                    List<String> calls = x.table(10).callNames();
                    assertTrue(calls.indexOf("accept") > calls.indexOf("listen"), calls.toString());
                    assertEquals(1, count(x, 10, "accept4"));
                    assertEquals(1, count(x, 11, "connect"), "the unaccepted client connects itself");
                }),
                of("a listener and both ends of its connection in one task", accepted).onFault(f -> {
                    if (f.call().startsWith("accept")) {
                        assertEquals(List.of(), f.kernel().table(10).openFds(), "the client it made was closed");
                    }
                }),
                // (A short name: the root is under a directory named after the scenario, and sun_path is short.)
                of("dgram on a path, a sender", dgram)
                        .root(r -> Files.createDirectories(r.resolve("run"))).expect(x -> {
                    assertEquals(1, count(x, 10, "bind"), x.table(10).calls().toString());
                })
        );
    }
}
