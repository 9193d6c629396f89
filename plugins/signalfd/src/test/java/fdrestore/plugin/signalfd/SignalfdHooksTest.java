package fdrestore.plugin.signalfd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.ByteString;
import fdrestore.api.image.FdType;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.spi.Fdinfo;
import fdrestore.plugin.signalfd.proto.SignalfdEntry;
import fdrestore.testkit.ImageSetBuilder;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What the kind adds to show and --verify. */
class SignalfdHooksTest {
    private static FileEntry entry(int flags, long mask) {
        return FileEntry.newBuilder().setType(FdType.SIGNALFD.code()).setId(8)
                .setSgfd(ByteString.copyFrom(SignalfdEntry.newBuilder().setId(8).setFlags(flags)
                        .setFown(ImageSetBuilder.noOwner().toByteString()).setSigmask(mask).build().toByteArray()))
                .build();
    }

    @Test
    void describesTheMaskBySignalName() {
        assertEquals("signalfd sigmask 0x200 (SIGUSR1) O_NONBLOCK", new SignalfdKind().describe(entry(04002, 0x200), null));
        assertEquals("signalfd sigmask 0x8000000000004000 (SIGTERM|signal 64)",
                new SignalfdKind().describe(entry(2, 0x8000000000004000L), null));
        assertEquals("signalfd sigmask 0x0 (none)", new SignalfdKind().describe(entry(2, 0), null));
    }

    @Test
    void verifiesMaskFlagsAndKindFromFdinfo() {
        SignalfdKind k = new SignalfdKind();
        FileEntry e = entry(04002, 0x200);
        assertEquals(List.of(), k.verify(e, "anon_inode:[signalfd]",
                Fdinfo.parse("pos:\t0\nflags:\t02004002\nmnt_id:\t16\nino:\t1057\nsigmask:\t0000000000000200\n")));
        assertEquals(List.of("sigmask 0x0 (none), expected 0x200 (SIGUSR1)", "O_NONBLOCK clear, expected set"),
                k.verify(e, "anon_inode:[signalfd]", Fdinfo.parse("pos:\t0\nflags:\t02\nsigmask:\t0000000000000000\n")));
        assertEquals(List.of("is anon_inode:[eventfd], expected anon_inode:[signalfd]"),
                k.verify(e, "anon_inode:[eventfd]", Fdinfo.parse("flags:\t02\n")));
    }
}
