package fdrestore.plugin.unixsocket;

import static org.junit.jupiter.api.Assertions.assertEquals;

import fdrestore.api.image.FdType;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.UnixSkEntry;
import org.junit.jupiter.api.Test;

/** The {@code --inherit-fd} key of a unix socket is criu's: {@code socket:[INO]}, the inode unsigned. */
class UnixInheritKeyTest {
    @Test
    void aUnixSocketIsNamedByItsInodeUnsigned() {
        FileEntry f = FileEntry.newBuilder().setType(FdType.UNIXSK.code()).setId(3)
                .setUsk(UnixSkEntry.newBuilder().setId(3).setIno(0x80000001).buildPartial()).buildPartial();
        assertEquals("socket:[2147483649]", new UnixSocketKind().inheritKey(f, null));
    }
}
