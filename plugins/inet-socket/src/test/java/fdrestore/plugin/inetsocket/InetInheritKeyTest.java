package fdrestore.plugin.inetsocket;

import static org.junit.jupiter.api.Assertions.assertEquals;

import fdrestore.api.image.FdType;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.InetSkEntry;
import org.junit.jupiter.api.Test;

/** The {@code --inherit-fd} key of an inet socket is criu's: {@code socket:[INO]}, the inode unsigned. */
class InetInheritKeyTest {
    @Test
    void anInetSocketIsNamedByItsInodeUnsigned() {
        FileEntry f = FileEntry.newBuilder().setType(FdType.INETSK.code()).setId(3)
                .setIsk(InetSkEntry.newBuilder().setId(3).setIno(0x80000001).buildPartial()).buildPartial();
        assertEquals("socket:[2147483649]", new InetKind().inheritKey(f, null));
    }
}
