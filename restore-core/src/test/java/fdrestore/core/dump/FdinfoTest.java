package fdrestore.core.dump;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import fdrestore.api.spi.Fdinfo;
import java.util.List;
import org.junit.jupiter.api.Test;

class FdinfoTest {
    static final String EPOLL = "pos:\t0\nflags:\t02000002\nmnt_id:\t16\nino:\t1038\n"
            + "tfd:        5 events:       1d data:             e7e0  pos:0 ino:40e sdev:10\n"
            + "tfd:        3 events:       19 data:             f1f0  pos:0 ino:20e6ae sdev:fe00000\n";

    @Test
    void parsesTheCommonLinesAndKeepsTheKindLines() {
        Fdinfo f = Fdinfo.parse(EPOLL);
        assertEquals(0, f.pos());
        assertEquals(02000002, f.flags());
        assertEquals(16, f.mntId());
        assertEquals(1038, f.require("ino", 10));
        assertEquals(2, f.lines("tfd").size());
        assertNull(f.value("clockid"));
        assertEquals(List.of(), Fdinfo.parse("pos:\t1\nflags:\t0\n").lines("tfd"));
    }

    @Test
    void badOrMissingNumbersNameTheLine() {
        Fdinfo f = Fdinfo.parse("pos:\tx\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, f::pos);
        assertEquals("fdinfo line pos: x is not a base-10 number", e.getMessage());
        assertEquals("fdinfo has no flags line", assertThrows(IllegalArgumentException.class, f::flags).getMessage());
        assertEquals(-1, f.mntId());
    }
}
