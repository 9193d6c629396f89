package fdrestore.plugin.unixsocket;

import static fdrestore.plugin.unixsocket.UnixImageBuilder.CLOSE;
import static fdrestore.plugin.unixsocket.UnixImageBuilder.DGRAM;
import static fdrestore.plugin.unixsocket.UnixImageBuilder.ESTABLISHED;
import static fdrestore.plugin.unixsocket.UnixImageBuilder.LISTEN;
import static fdrestore.plugin.unixsocket.UnixImageBuilder.SEQPACKET;
import static fdrestore.plugin.unixsocket.UnixImageBuilder.STREAM;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.ImageSet;
import fdrestore.api.spi.Dependency;
import fdrestore.api.spi.PlanException;
import fdrestore.api.spi.Stage;
import fdrestore.plugin.unixsocket.SockPlan.QueueMode;
import fdrestore.plugin.unixsocket.SockPlan.Role;
import fdrestore.testkit.Samples;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The plan made before any syscall: who creates what, who accepts, who re-sends which queue, what fails. */
class UnixPlanTest {
    @TempDir
    Path tmp;

    private UnixImages plan(UnixImageBuilder b) throws Exception {
        return UnixImages.plan(ImageSet.open(b.write(tmp.resolve("img"))));
    }

    @Test
    void socketpairIsCreatedOnceByTheFirstMasterAndHandedToTheOther() throws Exception {
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0).task(11, 10);
        int a = b.sock(STREAM, ESTABLISHED);
        int c = b.sock(STREAM, ESTABLISHED);
        b.connect(a, c).fd(11, 3, a).fd(10, 7, c).packet(a, "to a").packet(c, "to c");
        UnixImages u = plan(b);
        SockPlan pc = u.plan(c);
        SockPlan pa = u.plan(a);
        assertEquals(Role.CREATOR, pc.role, "task 10 comes first");
        assertEquals(Role.HANDED, pa.role);
        assertEquals(c, pa.creatorFile);
        assertFalse(pc.pair.accept());
        // Each end re-sends the other's queue over the connection.
        assertEquals(a, pc.queues.get(0).receiver().id());
        assertEquals(QueueMode.CONNECTED, pc.queues.get(0).mode());
        assertEquals(c, pa.queues.get(0).receiver().id());
        assertEquals(List.of(Dependency.beforeOpen(c, Stage.OPEN, "x").fileId()),
                new UnixRestorer(pa).dependencies().stream().map(Dependency::fileId).toList());
    }

    @Test
    void acceptedConnectionIsMadeByItsListenerAndUnacceptedClientsConnect() throws Exception {
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0).task(11, 10);
        int l = b.sock(SEQPACKET, LISTEN);
        int srv = b.sock(SEQPACKET, ESTABLISHED);
        int cli = b.sock(SEQPACKET, ESTABLISHED);
        int pending = b.sock(SEQPACKET, ESTABLISHED);
        b.abstractName(l, "x").abstractName(srv, "x").connect(srv, cli).peer(pending, l);
        b.fd(10, 3, l).fd(10, 4, srv).fd(11, 3, cli).fd(11, 4, pending);
        UnixImages u = plan(b);
        SockPlan pl = u.plan(l);
        assertEquals(Role.LISTENER, pl.role);
        assertEquals(1, pl.acceptJobs.size());
        assertEquals(srv, pl.acceptJobs.get(0).server().id());
        assertEquals(cli, pl.acceptJobs.get(0).client().id());
        assertEquals(Role.HANDED, u.plan(srv).role);
        assertEquals(l, u.plan(srv).creatorFile);
        assertEquals(l, u.plan(cli).creatorFile);
        assertFalse(u.plan(srv).bindOwnName, "the accepted half carries the listener's name, it does not bind");
        SockPlan pp = u.plan(pending);
        assertEquals(Role.OWN, pp.role);
        assertEquals(l, pp.connectTo.id());
        Dependency d = new UnixRestorer(pp).dependencies().get(0);
        assertEquals(l, d.fileId());
        assertFalse(d.gatesOpen());
    }

    @Test
    void acceptedConnectionWithoutItsListenerUsesATemporaryOne() throws Exception {
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0);
        int srv = b.sock(STREAM, ESTABLISHED);
        int cli = b.sock(STREAM, ESTABLISHED);
        b.pathName(srv, "/run/gone.sock").connect(srv, cli).fd(10, 5, cli).fd(10, 6, srv);
        UnixImages u = plan(b);
        assertEquals(Role.CREATOR, u.plan(cli).role);
        assertTrue(u.plan(cli).pair.accept());
        assertNull(u.plan(cli).pair.listener());
        assertSame(u.plan(cli).pair, u.plan(srv).pair);
        assertEquals(srv, u.plan(cli).pair.server().id());
    }

    @Test
    void datagramQueuers() throws Exception {
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0);
        int named = b.sock(DGRAM, CLOSE);
        int sender = b.sock(DGRAM, ESTABLISHED);
        int lonely = b.sock(DGRAM, CLOSE);
        b.abstractName(named, "n").abstractName(lonely, "l").peer(sender, named);
        b.fd(10, 3, named).fd(10, 4, sender).fd(10, 5, lonely);
        b.packet(named, "from sender").packet(lonely, "from anyone");
        UnixImages u = plan(b);
        assertEquals(named, u.plan(sender).connectTo.id());
        assertEquals(QueueMode.CONNECTED, u.plan(sender).queues.get(0).mode(), "its connected sender re-sends");
        assertEquals(QueueMode.TEMP, u.plan(lonely).queues.get(0).mode(), "a temporary socket sends to its name");
        assertEquals(sender, u.plan(named).queuedBy.id());
    }

    @Test
    void scmRightsDependOnThePassedFileInTheQueuersTask() throws Exception {
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0).task(11, 10);
        int a = b.sock(DGRAM, ESTABLISHED);
        int c = b.sock(DGRAM, ESTABLISHED);
        int passed = b.sock(DGRAM, CLOSE);
        b.connect(a, c).fd(10, 3, a).fd(11, 3, c).fd(10, 9, passed).fd(11, 9, passed);
        b.packet(c, "with fd", passed);
        UnixImages u = plan(b);
        List<Dependency> deps = new UnixRestorer(u.plan(a)).dependencies();
        assertTrue(deps.stream().anyMatch(d -> d.fileId() == passed && d.sameTask() && d.stage() == Stage.OPEN), deps.toString());
    }

    @Test
    void scmRightsOfAFileTheQueuerDoesNotHoldAreRefused() throws Exception {
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0).task(11, 10);
        int a = b.sock(DGRAM, ESTABLISHED);
        int c = b.sock(DGRAM, ESTABLISHED);
        int passed = b.sock(DGRAM, CLOSE);
        b.connect(a, c).fd(10, 3, a).fd(11, 3, c).fd(11, 9, passed);
        b.packet(c, "with fd", passed);
        PlanException e = assertThrows(PlanException.class, () -> plan(b).plan(c));
        assertTrue(e.getMessage().contains("ino " + UnixImageBuilder.ino(c)) && e.getMessage().contains("holds no fd"),
                e.getMessage());
    }

    @Test
    void peerAbsentFromTheImagesIsAPlanError() throws Exception {
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0);
        int a = b.sock(STREAM, ESTABLISHED);
        b.edit(a).setPeer(4242);
        b.fd(10, 3, a);
        PlanException e = assertThrows(PlanException.class, () -> plan(b).plan(a));
        assertTrue(e.getMessage().contains("ino " + UnixImageBuilder.ino(a)) && e.getMessage().contains("4242")
                && e.getMessage().contains("absent"), e.getMessage());
    }

    @Test
    void pathOutsideTheRootIsAPlanError() throws Exception {
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0);
        int a = b.sock(DGRAM, CLOSE);
        b.pathName(a, "/../../etc/evil.sock").fd(10, 3, a);
        PlanException e = assertThrows(PlanException.class, () -> plan(b).plan(a));
        assertTrue(e.getMessage().contains("/etc/evil.sock") && e.getMessage().contains("leaves the root"), e.getMessage());
    }

    @Test
    void externalSocketsAreRefused() throws Exception {
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0);
        int a = b.sock(DGRAM, CLOSE);
        b.edit(a).setUflags(1);
        b.fd(10, 3, a);
        assertThrows(PlanException.class, () -> plan(b).plan(a));
    }

    @Test
    void criuSamples() throws Exception {
        UnixImages c2 = UnixImages.plan(ImageSet.open(Samples.criu("c2_listenq")));
        assertEquals(Role.LISTENER, c2.plan(5).role);
        assertEquals(1, c2.plan(5).acceptJobs.size());
        assertEquals(5, c2.plan(10).connectTo.id());
        assertEquals(5, c2.plan(11).connectTo.id());
        UnixImages v = UnixImages.plan(ImageSet.open(Samples.criu("v_unix")));
        assertEquals(Role.CREATOR, v.plan(5).role);
        assertEquals(5, v.plan(6).creatorFile);
        assertEquals(7, v.plan(8).creatorFile);
        assertEquals(7, v.plan(11).creatorFile);
        assertEquals(11, v.plan(8).queuedBy.id());
        assertEquals(8, v.plan(11).queuedBy.id());
    }

    @Test
    void deletedNameKeepsItsConnectorsAndSendersAsUsers() throws Exception {
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0).task(11, 10);
        int d = b.sock(DGRAM, CLOSE);
        int c = b.sock(DGRAM, ESTABLISHED);
        int l = b.sock(STREAM, LISTEN);
        int pending = b.sock(STREAM, ESTABLISHED);
        b.pathName(d, "/gone/d.sock").edit(d).setDeleted(true);
        b.pathName(l, "/gone/l.sock").edit(l).setDeleted(true);
        b.peer(c, d).peer(pending, l).fd(10, 3, d).fd(11, 3, c).fd(10, 4, l).fd(11, 4, pending);
        UnixImages u = plan(b);
        assertEquals(List.of((long) c), u.plan(d).nameUsers.stream().map(UnixSock::id).toList());
        assertEquals(d, u.plan(c).connectTo.id(), "connecting to a deleted name is planned, not refused");
        assertEquals(List.of((long) pending), u.plan(l).nameUsers.stream().map(UnixSock::id).toList());
        assertTrue(u.plan(c).nameUsers.isEmpty());
    }

    @Test
    void datagramSocketConnectedToItselfIsNoCycle() throws Exception {
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0);
        int s = b.sock(DGRAM, ESTABLISHED);
        int unnamed = b.sock(DGRAM, ESTABLISHED);
        b.abstractName(s, "me").peer(s, s).peer(unnamed, unnamed).fd(10, 3, s).fd(10, 4, unnamed).packet(s, "x");
        UnixImages u = plan(b);
        SockPlan p = u.plan(s);
        assertEquals(Role.OWN, p.role);
        assertNull(p.pair);
        assertSame(p.sock, p.connectTo);
        assertEquals(QueueMode.CONNECTED, p.queues.get(0).mode(), "only it may send to itself");
        assertEquals(List.of(), new UnixRestorer(p).dependencies(), "no dependency on itself");
        PlanException e = assertThrows(PlanException.class, () -> u.plan(unnamed));
        assertTrue(e.getMessage().contains("connected to itself but has no name"), e.getMessage());
    }

    @Test
    void unnamedDatagramSocketWithAQueueAndNoSenderIsAnOrphan() throws Exception {
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0);
        int s = b.sock(DGRAM, ESTABLISHED);
        int t = b.sock(DGRAM, ESTABLISHED);
        int c = b.sock(DGRAM, ESTABLISHED);
        b.abstractName(t, "t").peer(c, t).fd(10, 3, s).fd(10, 4, t).fd(10, 5, c).packet(s, "a").packet(t, "b");
        UnixImages u = plan(b);
        assertEquals(Role.ORPHAN, u.plan(s).role);
        assertEquals(QueueMode.FAKE_PEER, u.plan(s).queues.get(0).mode());
        assertEquals(Role.OWN, u.plan(t).role, "established by a connector, it gets its queue from that one");
        assertEquals(c, u.plan(t).queuedBy.id());
    }

    @Test
    void peerRecordedAsExternalIsRefusedByName() throws Exception {
        UnixImageBuilder b = new UnixImageBuilder().task(10, 0);
        int ext = b.sock(DGRAM, LISTEN);
        int c = b.sock(DGRAM, ESTABLISHED);
        b.abstractName(ext, "service").edit(ext).setUflags(UnixSock.USK_EXTERN);
        b.peer(c, ext).fd(10, 3, c);
        UnixImages u = plan(b);
        PlanException e = assertThrows(PlanException.class, () -> u.plan(c));
        assertTrue(e.getMessage().contains("its peer is external: unix socket ino " + UnixImageBuilder.ino(ext)
                + " @service, outside the dumped tree"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }
}
