package fdrestore.api.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The checks kinds share in FileKind.verify: one line per mismatch, none when the fd matches. */
class FdChecksTest {
    private static final Fdinfo INFO = Fdinfo.parse("pos:\t12\nflags:\t02004002\nmnt_id:\t15\n");

    @Test
    void linkIsTheExpectedOneOrStartsWithIt() {
        List<String> out = new ArrayList<>();
        FdChecks.link(out, "socket:[123]", "socket:[");
        FdChecks.link(out, "/tmp/a", "/tmp/a");
        assertEquals(List.of(), out);
        FdChecks.link(out, "/tmp/b", "/tmp/a");
        assertEquals(List.of("is /tmp/b, expected /tmp/a"), out);
    }

    @Test
    void openFlagsCompareAccessAppendNonblockButNotCloexec() {
        List<String> out = new ArrayList<>();
        FdChecks.openFlags(out, 04002, INFO);   // O_RDWR|O_NONBLOCK; the kernel's O_CLOEXEC is not compared
        assertEquals(List.of(), out);
        FdChecks.openFlags(out, 02, INFO);
        assertEquals(List.of("open flags 04002, expected 02"), out);
    }

    @Test
    void positionIsTheImages() {
        List<String> out = new ArrayList<>();
        FdChecks.position(out, 12, INFO);
        assertEquals(List.of(), out);
        FdChecks.position(out, 0, INFO);
        assertEquals(List.of("position 12, expected 0"), out);
    }
}
