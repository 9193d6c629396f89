package fdrestore.core.dump;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.proto.FileLockEntry;
import fdrestore.api.spi.DumpException;
import fdrestore.api.spi.Fdinfo;
import fdrestore.core.dump.FileLocksDump.Held;
import java.util.List;
import org.junit.jupiter.api.Test;

/** filelocks.img from fdinfo's lock: lines: each lock once, on the fd of the process that holds it. */
class FileLocksDumpTest {
    private static Fdinfo info(String... locks) {
        StringBuilder sb = new StringBuilder("pos:\t0\nflags:\t0100002\nmnt_id:\t30\nino:\t1234\n");
        for (String l : locks) {
            sb.append("lock:\t").append(l).append('\n');
        }
        return Fdinfo.parse(sb.toString());
    }

    private static String text(FileLockEntry l) {
        return "pid " + l.getPid() + " fd " + l.getFd() + " flag " + l.getFlag() + " type " + l.getType() + " "
                + l.getStart() + "+" + l.getLen();
    }

    @Test
    void eachLockIsRecordedOnceOnItsHoldersFd() throws Exception {
        String flock = "1: FLOCK  ADVISORY  WRITE 11 fe:00:77 0 EOF";
        List<FileLockEntry> out = FileLocksDump.of(List.of(
                // task 10: a POSIX range on an inode it has open twice, shown on both fds
                new Held(10, 3, 1, info("2: POSIX  ADVISORY  WRITE 10 fe:00:55 2 5")),
                new Held(10, 4, 2, info("2: POSIX  ADVISORY  WRITE 10 fe:00:55 2 5")),
                // a flock on a description task 10 and its child 11 share: taken by 11
                new Held(10, 5, 3, info(flock)),
                new Held(11, 5, 3, info(flock)),
                // an OFD lock (pid -1) and a read lease
                new Held(10, 6, 4, info("3: OFDLCK ADVISORY  READ -1 fe:00:88 0 EOF")),
                new Held(10, 7, 5, info("4: LEASE  ACTIVE    READ 10 fe:00:99 0 EOF"))));
        assertEquals(List.of("pid 10 fd 3 flag 1 type 1 2+4", "pid 11 fd 5 flag 2 type 1 0+0", "pid 10 fd 6 flag 4 type 0 0+0",
                "pid 10 fd 7 flag 8 type 0 0+0"), out.stream().map(FileLocksDumpTest::text).toList());
    }

    @Test
    void aFlockTakenOutsideTheTreeGoesToTheDescriptionsFirstFd() throws Exception {
        String flock = "1: FLOCK  ADVISORY  READ 9 fe:00:77 0 EOF";
        List<FileLockEntry> out = FileLocksDump.of(List.of(new Held(10, 5, 3, info(flock)), new Held(11, 5, 3, info(flock))));
        assertEquals(List.of("pid 10 fd 5 flag 2 type 0 0+0"), out.stream().map(FileLocksDumpTest::text).toList());
    }

    @Test
    void whatFilelocksImgCannotHoldFailsTheDumpNamingTheFd() {
        DumpException breaking = assertThrows(DumpException.class, () -> FileLocksDump.of(List.of(
                new Held(10, 7, 5, info("4: LEASE  BREAKING  READ 10 fe:00:99 0 EOF")))));
        assertTrue(breaking.getMessage().startsWith("process 10 fd 7: a lease being broken (BREAKING)"),
                breaking.getMessage());
        DumpException deleg = assertThrows(DumpException.class, () -> FileLocksDump.of(List.of(
                new Held(10, 7, 5, info("4: DELEG  ACTIVE    READ 10 fe:00:99 0 EOF")))));
        assertTrue(deleg.getMessage().contains("a DELEG lock"), deleg.getMessage());
    }
}
