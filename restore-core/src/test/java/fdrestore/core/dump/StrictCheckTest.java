package fdrestore.core.dump;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.UnknownFieldSet;
import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.ImageFormatException;
import fdrestore.api.image.codec.ImageWriter;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.codec.StrictCheck;
import fdrestore.api.image.proto.CoreEntry;
import fdrestore.api.image.proto.FdinfoEntry;
import fdrestore.api.image.proto.FdrTaskEntry;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.FownEntry;
import fdrestore.api.image.proto.RegFileEntry;
import fdrestore.api.image.proto.TaskCoreEntry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The strict decode mode: CRIU's own images pass, fields CRIU does not define are refused by path. */
class StrictCheckTest {
    static Path samples() {
        String p = System.getProperty("fdrestore.samples");
        return (p != null ? Paths.get(p) : Paths.get("../images-samples")).resolve("criu-4.2");
    }

    private static UnknownFieldSet field(int number) {
        return UnknownFieldSet.newBuilder().addField(number, UnknownFieldSet.Field.newBuilder().addVarint(1).build())
                .build();
    }

    @Test
    void everyRealCriuImagePasses() throws Exception {
        int dirs = 0;
        // the scenario sets, and the corpora of criu's zdtm tests and of real servers
        for (Path top : List.of(samples(), samples().resolve("zdtm"), samples().resolve("real"))) {
            try (Stream<Path> s = Files.list(top)) {
                for (Path d : (Iterable<Path>) s.filter(p -> Files.exists(p.resolve("inventory.img"))).sorted()::iterator) {
                    assertEquals(List.of(), StrictCheck.checkDir(d), d.toString());
                    dirs++;
                }
            }
        }
        assertTrue(dirs >= 12 + 60 + 2, "image sets found: " + dirs);
    }

    @Test
    void aFieldCriuDoesNotDefineIsRefusedWithItsPath() {
        FdinfoEntry e = FdinfoEntry.newBuilder().setId(1).setFlags(0).setType(1).setFd(3).setUnknownFields(field(9)).build();
        List<String> p = StrictCheck.check(new ImageFile(Magic.FDINFO, List.of(ImageEntry.of(e))), "fdinfo-1.img");
        assertEquals(List.of("fdinfo-1.img entry 0: FdinfoEntry: field 9 is not a field CRIU defines in FdinfoEntry"), p);
    }

    @Test
    void nestedMessagesAreCheckedToo() {
        FownEntry fown = FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0).build();
        RegFileEntry reg = RegFileEntry.newBuilder().setId(1).setFlags(0).setPos(0).setFown(fown).setName("/x")
                .setUnknownFields(field(4)).build();
        FileEntry f = FileEntry.newBuilder().setType(1).setId(1).setReg(reg).build();
        List<String> p = StrictCheck.check(new ImageFile(Magic.FILES, List.of(ImageEntry.of(f))), "files.img");
        assertEquals(List.of("files.img entry 0: FileEntry.reg: field 4 is not a field CRIU defines in RegFileEntry"), p);
    }

    @Test
    void criuTaskCoreFieldsBeyondTheModelPassButOthersDoNot() {
        TaskCoreEntry.Builder tc = TaskCoreEntry.newBuilder().setTaskState(1).setExitCode(0).setPersonality(0)
                .setFlags(0).setBlkSigset(0).setComm("x");
        CoreEntry ok = CoreEntry.newBuilder().setMtype(1).setTc(tc.setUnknownFields(field(18))).build();
        assertEquals(List.of(), StrictCheck.check(new ImageFile(Magic.CORE, List.of(ImageEntry.of(ok))), "core"));
        CoreEntry bad = CoreEntry.newBuilder().setMtype(1).setTc(tc.setUnknownFields(field(40))).build();
        assertEquals(1, StrictCheck.check(new ImageFile(Magic.CORE, List.of(ImageEntry.of(bad))), "core").size());
    }

    @Test
    void fdrestoresOwnImageAllowsNoUnknownField(@TempDir Path tmp) throws Exception {
        FdrTaskEntry t = FdrTaskEntry.newBuilder().setPid(1).setUnknownFields(field(9)).build();
        Path img = tmp.resolve("fdr-task.img");
        ImageWriter.write(new ImageFile(Magic.FDR_TASK, List.of(ImageEntry.of(t))), img);
        ImageFormatException e = assertThrows(ImageFormatException.class, () -> StrictCheck.readStrict(img));
        assertTrue(e.getMessage().contains("field 9 is not a field CRIU defines in FdrTaskEntry"), e.getMessage());
        assertEquals(1, StrictCheck.checkDir(tmp).size());
    }
}
