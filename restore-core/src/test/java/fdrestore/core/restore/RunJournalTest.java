package fdrestore.core.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.spi.Journal.Entry;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The run journal: what a dead run made and did not remove goes, and only that. */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class RunJournalTest {
    @TempDir
    Path tmp;

    /** Makes the journal's run look dead: a start time no process of this pid has. */
    private static void die(RunJournal j) throws Exception {
        Path run = j.dir().resolve("run");
        String[] id = Files.readString(run).trim().split(" ");
        Files.writeString(run, id[0] + " " + (Long.parseLong(id[1]) + 1) + "\n");
    }

    private static List<String> lines(List<RunJournal.Cleaned> cs) {
        return cs.stream().map(RunJournal.Cleaned::line).toList();
    }

    /** A unix socket bound at {@code p} (fd returned), as a restore's listener is. */
    private static int bind(Path p) throws Exception {
        int fd = Sys.socket(Linux.AF_UNIX, Linux.SOCK_DGRAM | Linux.SOCK_CLOEXEC, 0);
        Sys.bind(fd, Sys.unixPathAddress(p.toString()));
        return fd;
    }

    @Test
    void aLiveRunIsLeftAloneAndADeadOnesEntriesGoNewestFirst() throws Exception {
        Path base = tmp.resolve("runs");
        Path root = Files.createDirectories(tmp.resolve("root"));
        RunJournal j = RunJournal.open(base);
        Path dir = root.resolve("made");
        Path sock = dir.resolve("s.sock");
        Path ghost = root.resolve("ghost");
        j.making(Entry.DIRECTORY, dir);
        Files.createDirectory(dir);
        j.made(Entry.DIRECTORY, dir);
        j.making(Entry.SOCKET, sock);
        int fd = bind(sock);
        Sys.close(fd); // the socket is gone, its file stays: stale
        j.made(Entry.SOCKET, sock);
        j.making(Entry.FILE, ghost);
        Files.writeString(ghost, "x"); // killed before its inode was recorded
        assertEquals(List.of(), RunJournal.cleanup(base).stream().filter(c -> c.line().contains(root.toString())).toList(),
                "a live run is not touched");
        assertTrue(Files.exists(sock) && Files.exists(ghost));
        die(j);
        List<String> done = lines(RunJournal.cleanup(base));
        assertTrue(done.stream().anyMatch(l -> l.endsWith("removed file " + ghost)), done.toString());
        assertTrue(done.stream().anyMatch(l -> l.endsWith("removed socket " + sock)), done.toString());
        assertTrue(done.stream().anyMatch(l -> l.endsWith("removed directory " + dir)), done.toString());
        assertFalse(Files.exists(dir));
        try (Stream<Path> s = Files.list(base)) {
            assertEquals(List.of(), s.toList(), "the dead run's journal goes too");
        }
    }

    @Test
    void whatIsNoLongerTheRunsStays() throws Exception {
        Path base = tmp.resolve("runs");
        Path root = Files.createDirectories(tmp.resolve("root"));
        RunJournal j = RunJournal.open(base);
        // a socket file a live socket is bound to
        Path live = root.resolve("live.sock");
        j.making(Entry.SOCKET, live);
        int fd = bind(live);
        j.made(Entry.SOCKET, live);
        // a file replaced by another inode since
        Path replaced = root.resolve("replaced");
        j.making(Entry.FILE, replaced);
        Files.writeString(replaced, "run's");
        j.made(Entry.FILE, replaced);
        Files.delete(replaced);
        Files.writeString(replaced, "user's");
        // a file of another type now
        Path retyped = root.resolve("retyped");
        j.making(Entry.FILE, retyped);
        Files.createDirectory(retyped);
        // a directory with something in it
        Path full = root.resolve("full");
        j.making(Entry.DIRECTORY, full);
        Files.createDirectory(full);
        j.made(Entry.DIRECTORY, full);
        Files.writeString(full.resolve("user-file"), "u");
        // removed and recorded gone: a file there now is someone else's
        Path gone = root.resolve("gone");
        j.making(Entry.FILE, gone);
        j.gone(gone);
        Files.writeString(gone, "user's");
        try {
            die(j);
            List<RunJournal.Cleaned> done = RunJournal.cleanup(base);
            List<String> l = lines(done);
            assertTrue(done.stream().noneMatch(RunJournal.Cleaned::removed), l.toString());
            assertTrue(l.stream().anyMatch(x -> x.contains("kept socket " + live + ": a live socket is bound")), l.toString());
            assertTrue(l.stream().anyMatch(x -> x.contains("kept " + replaced + ": another file")), l.toString());
            assertTrue(l.stream().anyMatch(x -> x.contains("kept " + retyped + ": it is no longer a file")), l.toString());
            assertTrue(l.stream().anyMatch(x -> x.contains("kept directory " + full + ": it is not empty")), l.toString());
            assertEquals("user's", Files.readString(replaced));
            assertEquals("user's", Files.readString(gone));
            assertTrue(Files.exists(live) && Files.isDirectory(retyped) && Files.exists(full.resolve("user-file")));
        } finally {
            Sys.close(fd);
        }
    }

    @Test
    void anEntryOlderThanTheAttemptToMakeItStays() throws Exception {
        Path base = tmp.resolve("runs");
        Path old = Files.writeString(tmp.resolve("old"), "user's");
        Files.setLastModifiedTime(old, java.nio.file.attribute.FileTime.fromMillis(0));
        Thread.sleep(1_100); // ctime cannot be set back: the attempt comes more than the slack later
        RunJournal j = RunJournal.open(base);
        j.making(Entry.FILE, old); // the run died before its O_EXCL create failed on the user's file
        die(j);
        List<String> l = lines(RunJournal.cleanup(base));
        assertTrue(l.stream().anyMatch(x -> x.contains("kept " + old + ": it is older than the run's attempt")), l.toString());
        assertEquals("user's", Files.readString(old));
    }

    @Test
    void aRunThatEndsDropsItsJournalAndAFailedOneUndoesWhatItLeft() throws Exception {
        Path base = tmp.resolve("runs");
        RunJournal ok = RunJournal.open(base);
        Path kept = tmp.resolve("listener.sock");
        ok.making(Entry.SOCKET, kept);
        Files.writeString(kept, "stands in for the restored tree's socket file");
        assertEquals(List.of(), ok.close(true));
        assertTrue(Files.exists(kept), "a completed restore's files are its tree's");
        RunJournal failed = RunJournal.open(base);
        Path ghost = tmp.resolve("ghost");
        failed.making(Entry.FILE, ghost);
        Files.writeString(ghost, "x");
        failed.made(Entry.FILE, ghost);
        assertEquals(List.of("removed file " + ghost), lines(failed.close(false)));
        assertFalse(Files.exists(ghost));
        try (Stream<Path> s = Files.list(base)) {
            assertEquals(List.of(), s.toList());
        }
    }
}
