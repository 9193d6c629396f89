package fdrestore.core.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * {@code --inherit-fd} keys come from the kinds ({@link FileKind#inheritKey}), so a kind fdrestore does not
 * ship is taken from the caller, and refused without a mapping, as the shipped ones are.
 */
class InheritFdsTest {
    /** A third-party kind of tun files: its key is "tun[ID]", and id 9 exists only as a name. */
    private static final FileKind TUN = new FileKind() {
        @Override
        public String name() {
            return "tun";
        }

        @Override
        public Set<FdType> fdTypes() {
            return Set.of(FdType.TUNF);
        }

        @Override
        public FileRestorer plan(FileInfo file, PlanContext ctx) throws PlanException {
            throw new PlanException("not planned here");
        }

        @Override
        public String inheritKey(FileEntry entry, ImageSet images) {
            return "/tun[" + entry.getId() + "]";
        }

        @Override
        public boolean inheritOnly(FileEntry entry) {
            return entry.getId() == 9;
        }
    };

    private static final Map<FdType, FileKind> KINDS = FileKind.byType(List.of(TUN));

    private static FileEntry file(FdType type, int id) {
        return FileEntry.newBuilder().setType(type.code()).setId(id).build();
    }

    @Test
    void aKindThatIsNotShippedGivesItsFilesKeysWithoutLeadingSlashes() {
        assertEquals(Optional.of("tun[4]"), InheritFds.key(file(FdType.TUNF, 4), null, KINDS));
        assertEquals(Optional.empty(), InheritFds.key(file(FdType.PIPE, 4), null, KINDS), "no kind, no key");
        InheritFds m = InheritFds.parse(List.of("fd[5]:tun[4]"));
        assertEquals(5, m.fdFor(file(FdType.TUNF, 4), null, KINDS));
        assertNull(m.fdFor(file(FdType.TUNF, 3), null, KINDS));
        assertNull(m.fdFor(file(FdType.PIPE, 4), null, KINDS));
    }

    @Test
    void aFileItsKindHoldsOnlyTheNameOfNeedsAMapping() {
        String why = InheritFds.none().unmapped(file(FdType.TUNF, 9), null, KINDS);
        assertEquals("external file /tun[9] (dumped with criu --external) has no --inherit-fd mapping:"
                + " give one with --inherit-fd fd[N]:tun[9]", why);
        assertNull(InheritFds.parse(List.of("fd[3]:tun[9]")).unmapped(file(FdType.TUNF, 9), null, KINDS));
        assertNull(InheritFds.none().unmapped(file(FdType.TUNF, 4), null, KINDS), "a file it can restore");
    }
}
