package fdrestore.plugin.tty;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.TermiosEntry;
import fdrestore.api.image.proto.TtyInfoEntry;
import fdrestore.api.spi.Dependency;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import fdrestore.api.spi.ProcessAction;
import fdrestore.api.spi.Stage;
import fdrestore.testkit.Samples;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Planning: roles, dependencies, errors, the CTTY stage's process actions, and the termios codec. */
class TtyPlanTest {
    @TempDir
    Path dir;

    private final TtyKind kind = new TtyKind();

    private static FileInfo file(ImageSet images, long id) {
        return PtyImageSet.filesOfType(images, FdType.TTY).stream().filter(f -> f.id() == id).findFirst().orElseThrow();
    }

    @Test
    void vPtySamplePlansAMasterAndASlaveThatWaitsForIt() throws Exception {
        ImageSet images = ImageSet.open(Samples.criu("v_pty"));
        PlanContext ctx = PtyImageSet.planContext(images, Map.of());
        assertInstanceOf(PtyMaster.class, kind.plan(file(images, 5), ctx));
        PtySlave slave = assertInstanceOf(PtySlave.class, kind.plan(file(images, 9), ctx));
        assertEquals(List.of(Dependency.beforeOpen(5, Stage.RESTORED, "a pty slave opens after its master")), slave.dependencies());
        assertTrue(slave.toString().contains("/dev/pts/0"), slave.toString());
        Pty pty = TtyImages.of(images).pty(0);
        assertArrayEquals("v_pty-out".getBytes(), pty.toMaster(), "tty-data of the master's info id waits for the master's reader");
        assertEquals(null, pty.toSlave());
    }

    @Test
    void vPtyLeaderTakesItsSlaveAsControllingTerminalAndItsGroupAsForeground() throws Exception {
        ImageSet images = ImageSet.open(Samples.criu("v_pty"));
        PlanContext ctx = PtyImageSet.planContext(images, Map.of());
        assertEquals(List.of(new ProcessAction.ControllingTerminal(0), new ProcessAction.ForegroundGroup(0, 6199)),
                kind.processActions(images.task(6199).orElseThrow(), ctx));
        assertEquals(List.of(), kind.processActions(images.task(6197).orElseThrow(), ctx),
                "the root holds the master of another session's terminal");
    }

    @Test
    void criuTermiosPacksControlCharactersFourToAWord() throws Exception {
        ImageSet images = ImageSet.open(Samples.criu("v_pty"));
        TtyInfoEntry master = TtyImages.of(images).infos().get(1);
        Termios t = Termios.of(master.getTermios());
        // words 8-18 of the master's c_cc are garbage in the sample: they must not matter
        assertEquals(PtyImageSet.defaultTermios(), t);
        assertEquals(PtyImageSet.defaultTermios(), Termios.of(TtyImages.of(images).infos().get(0).getTermios()));
        byte[] raw = t.encode();
        assertEquals(36, raw.length);
        assertEquals(t, Termios.decode(raw));
        assertEquals(t, Termios.of(t.toEntry()));
        assertEquals(0x157F1C03, t.toEntry().getCCc(0));
        assertEquals(19, t.toEntry().getCCcCount());
        TermiosEntry shortCc = t.toEntry().toBuilder().clearCCc().addCCc(1).build();
        assertThrows(IllegalArgumentException.class, () -> Termios.of(shortCc));
    }

    @Test
    void processActions() throws Exception {
        PtyImageSet s = new PtyImageSet();
        s.task(10, 0, 10, 10).task(11, 10, 11, 11).task(12, 11, 13, 11).task(13, 11, 13, 11).task(14, 10, 14, 14)
                .task(15, 10, 15, 15);
        // pty 0: session 11, foreground group 13; the leader holds the master on fd 9 and a slave on fd 2
        TtyInfoEntry m0 = PtyImageSet.info(0, true).setSid(11).setPgrp(13).build();
        TtyInfoEntry s0 = PtyImageSet.info(0, false).setSid(11).setPgrp(13).build();
        long master0 = s.master(m0);
        long slave0 = s.slave(s0);
        s.fd(11, 9, master0).fd(11, 2, slave0).fd(12, 0, slave0);
        // pty 1: session 14 holds only the master; no foreground group
        s.fd(14, 5, s.master(PtyImageSet.info(1, true).setSid(14).setPgrp(0).build()));
        // pty 2: session 15's terminal, but 15 holds no fd on it (the slave is in task 10)
        s.fd(10, 4, s.master(PtyImageSet.info(2, true).build()));
        s.fd(10, 5, s.slave(PtyImageSet.info(2, false).setSid(15).setPgrp(15).build()));
        ImageSet images = ImageSet.open(s.write(dir));
        PlanContext ctx = PtyImageSet.planContext(images, Map.of());

        assertEquals(List.of(new ProcessAction.ControllingTerminal(2), new ProcessAction.ForegroundGroup(2, 13)),
                kind.processActions(images.task(11).orElseThrow(), ctx), "a slave fd is preferred to the master's");
        assertEquals(List.of(), kind.processActions(images.task(12).orElseThrow(), ctx), "not a session leader");
        assertEquals(List.of(), kind.processActions(images.task(10).orElseThrow(), ctx), "its terminals are other sessions'");
        assertEquals(List.of(new ProcessAction.ControllingTerminal(5)), kind.processActions(images.task(14).orElseThrow(), ctx));
        assertEquals(List.of(new ProcessAction.ControllingTerminalPath("/dev/pts/2"), new ProcessAction.ForegroundGroup(-1, 15)),
                kind.processActions(images.task(15).orElseThrow(), ctx), "no fd on its terminal: opened by path for TIOCSCTTY");
    }

    @Test
    void orphanSlavesAndUnsupportedTerminalsAreRefusedNamingTheFile() throws Exception {
        PtyImageSet s = new PtyImageSet();
        s.task(1, 0, 1, 1);
        long orphan = s.slave(PtyImageSet.info(3, false).build());
        TtyInfoEntry console = PtyImageSet.info(0, true).setId(2006).setType(2).setRdev(5 << 8 | 1).clearPty().build();
        long cons = s.ttyFile(console, "/dev/console", PtyImageSet.O_RDWR_LARGEFILE);
        long hung = s.master(PtyImageSet.info(4, true).clearTermios().build());
        long m5 = s.master(PtyImageSet.info(5, true).build());
        long m5b = s.master(PtyImageSet.info(5, true).build());
        s.fd(1, 0, orphan).fd(1, 1, cons).fd(1, 2, hung).fd(1, 3, m5).fd(1, 4, m5b);
        ImageSet images = ImageSet.open(s.write(dir));
        PlanContext ctx = PtyImageSet.planContext(images, Map.of());

        String o = assertThrows(PlanException.class, () -> kind.plan(file(images, orphan), ctx)).getMessage();
        assertTrue(o.contains("tty file " + orphan + " (/dev/pts/3, pty slave index 3): its master (an open of /dev/ptmx"
                + " with index 3) was held outside the dumped tree") && o.contains("restore with --shell-job")
                && o.contains("--inherit-fd fd[N]:tty[8803:6]"), o);
        PlanContext shellJob = PtyImageSet.planContext(images, Map.of(OrphanSlave.SHELL_JOB_OPTION, "/dev/pts/77"));
        assertEquals("pty slave /dev/pts/3 (tty file " + orphan + ", its master outside the images) on --shell-job's"
                + " terminal /dev/pts/77", kind.plan(file(images, orphan), shellJob).toString());
        String c = assertThrows(PlanException.class, () -> kind.plan(file(images, cons), ctx)).getMessage();
        assertTrue(c.contains("(/dev/console): a CONSOLE terminal (rdev 5:1); only unix98 pseudo-terminals"), c);
        String h = assertThrows(PlanException.class, () -> kind.plan(file(images, hung), ctx)).getMessage();
        assertTrue(h.contains("hung up"), h);
        String d = assertThrows(PlanException.class, () -> kind.plan(file(images, m5), ctx)).getMessage();
        assertTrue(d.contains("pty index 5 has 2 master files"), d);
    }

    @Test
    void aPtyIndexOf2To31OrMoreIsOutOfRangeNotANegativeIndex() throws Exception {
        PtyImageSet s = new PtyImageSet();
        s.task(1, 0, 1, 1);
        TtyInfoEntry.Builder huge = PtyImageSet.info(0, true).setPty(
                fdrestore.api.image.proto.TtyPtyEntry.newBuilder().setIndex((int) 0x80000000L));
        long m = s.master(huge.build());
        long sl = s.ttyFile(PtyImageSet.info(0, false).setPty(
                fdrestore.api.image.proto.TtyPtyEntry.newBuilder().setIndex(0xffffffff)).build(), "/dev/pts/x", 0100002);
        long big = s.master(PtyImageSet.info(0, true).setId(77).setPty(
                fdrestore.api.image.proto.TtyPtyEntry.newBuilder().setIndex(1 << 20)).build());
        s.fd(1, 3, m).fd(1, 4, sl).fd(1, 5, big);
        ImageSet images = ImageSet.open(s.write(dir));
        PlanContext ctx = PtyImageSet.planContext(images, Map.of());

        String a = assertThrows(PlanException.class, () -> kind.plan(file(images, m), ctx)).getMessage();
        assertTrue(a.contains("tty file " + m + " (/dev/ptmx): tty-info entry 1 gives pty index 2147483648, out of range"
                + " (the kernel's pty indices are below 1048576)"), a);
        String b = assertThrows(PlanException.class, () -> kind.plan(file(images, sl), ctx)).getMessage();
        assertTrue(b.contains("pty index 4294967295, out of range"), b);
        String c = assertThrows(PlanException.class, () -> kind.plan(file(images, big), ctx)).getMessage();
        assertTrue(c.contains("pty index 1048576, out of range"), c);
        assertTrue(!(a + b + c).contains("index -"), "no negative index anywhere: " + a + b + c);
    }

    @Test
    void aHungUpSlaveIsRestoredOnAMasterOfItsOwnAndAnExternalLeaderRefusesShellJob() throws Exception {
        PtyImageSet s = new PtyImageSet();
        s.task(1, 0, 1, 1).task(2, 1, 2, 2);
        long hung = s.ttyFile(PtyImageSet.info(6, false).clearTermios().clearTermiosLocked().clearWinsize().build(),
                "/dev/pts/6", 02);
        long external = s.slave(PtyImageSet.info(7, false).setSid(2).setPgrp(2).build());
        s.fd(1, 0, hung).fd(2, 0, external);
        ImageSet images = ImageSet.open(s.write(dir));
        PlanContext ctx = PtyImageSet.planContext(images, Map.of());
        assertEquals("hung-up pty slave /dev/pts/6 (tty file " + hung + ", pty index 6, flags 02)",
                kind.plan(file(images, hung), ctx).toString());
        assertEquals(List.of(), kind.processActions(images.task(2).orElseThrow(), ctx),
                "without --shell-job the external terminal fails its own plan, not the leader's");
        PlanContext shellJob = PtyImageSet.planContext(images, Map.of(OrphanSlave.SHELL_JOB_OPTION, "/dev/pts/77"));
        String x = assertThrows(PlanException.class,
                () -> kind.processActions(images.task(2).orElseThrow(), shellJob)).getMessage();
        assertTrue(x.contains("task 2 leads session 2, whose controlling terminal (/dev/pts/7, fd 0) was held outside"), x);
    }

    @Test
    void slavePathsFollowTheIndex() {
        assertEquals("/dev/pts/3", Pty.slavePath("/dev/pts/3", 3, 3));
        assertEquals("/dev/pts/17", Pty.slavePath("/dev/pts/3", 3, 17));
        assertEquals("/mnt/pts/17", Pty.slavePath("/mnt/pts/3", 3, 17));
        assertEquals("/dev/pts/17", Pty.slavePath("/weird", 3, 17));
    }

    @Test
    void rdevArithmetic() {
        assertTrue(Tty.isPtyMaster(1282));
        assertTrue(Tty.isPtySlave(34816));
        assertEquals(0, Tty.slaveIndex(34816));
        long pts300 = (137L << 8) | 44;
        assertTrue(Tty.isPtySlave(pts300));
        assertEquals(300, Tty.slaveIndex(pts300));
        assertTrue(!Tty.isPtySlave(1282) && !Tty.isPtyMaster(34816));
    }
}
