package fdrestore.plugin.pipe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import fdrestore.api.image.FdType;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.PipeEntry;
import org.junit.jupiter.api.Test;

/** The {@code --inherit-fd} key of a pipe end is criu's: {@code pipe:[PIPE_ID]}, the id unsigned. */
class PipeInheritKeyTest {
    @Test
    void aPipeEndIsNamedByItsPipeIdUnsigned() {
        FileEntry f = FileEntry.newBuilder().setType(FdType.PIPE.code()).setId(3)
                .setPipe(PipeEntry.newBuilder().setId(3).setPipeId(0x80000001).buildPartial()).buildPartial();
        assertEquals("pipe:[2147483649]", new PipeKind().inheritKey(f, null));
        assertNull(new PipeKind().inheritKey(FileEntry.newBuilder().setType(FdType.PIPE.code()).setId(4).buildPartial(), null),
                "an entry without its pipe has no key");
    }
}
