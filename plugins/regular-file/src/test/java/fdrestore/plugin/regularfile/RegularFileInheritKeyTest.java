package fdrestore.plugin.regularfile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.FdType;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.RegFileEntry;
import org.junit.jupiter.api.Test;

/**
 * The {@code --inherit-fd} key of a regular file is its name as the image holds it (core compares keys
 * without leading slashes); a file criu dumped as external holds only that name and needs a mapping.
 */
class RegularFileInheritKeyTest {
    private static FileEntry reg(String name, boolean ext) {
        return FileEntry.newBuilder().setType(FdType.REG.code()).setId(3)
                .setReg(RegFileEntry.newBuilder().setId(3).setName(name).setExt(ext).buildPartial()).buildPartial();
    }

    @Test
    void aFileIsNamedByItsPathAndAnExternalOneNeedsAMapping() {
        RegularFileKind k = new RegularFileKind();
        assertEquals("/tmp/log", k.inheritKey(reg("/tmp/log", false), null));
        assertFalse(k.inheritOnly(reg("/tmp/log", false)));
        assertEquals("file[1f:abc]", k.inheritKey(reg("file[1f:abc]", true), null));
        assertTrue(k.inheritOnly(reg("file[1f:abc]", true)), "an external file is only a name");
    }
}
