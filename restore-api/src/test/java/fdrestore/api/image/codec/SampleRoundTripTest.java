package fdrestore.api.image.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import fdrestore.api.image.proto.CoreEntry;
import fdrestore.api.image.proto.TaskCoreEntry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** Every real criu 4.2 image decodes and re-encodes to the same bytes. */
class SampleRoundTripTest {

    @TestFactory
    Stream<DynamicTest> everySampleImageRoundTripsByteForByte() {
        return Samples.allImages().stream().map(p -> DynamicTest.dynamicTest(Samples.rel(p), () -> {
            byte[] original = Files.readAllBytes(p);
            ImageFile image = ImageReader.read(p);
            assertEquals(Magic.forFileName(p.getFileName().toString()).orElseThrow(), image.magic());
            byte[] again = ImageWriter.toBytes(image);
            assertArrayEquals(original, again, "re-encoded " + p + " differs");
            // and the in-memory reader agrees with the file reader
            assertEquals(image, ImageReader.read(original, p, image.magic()));
        }));
    }

    /**
     * Only CoreEntry's task core may carry fields we do not model; anything else unknown would mean a
     * field number missing from our protos.
     */
    @TestFactory
    Stream<DynamicTest> noUnknownFieldsOutsideTheTaskCore() {
        return Samples.allImages().stream().map(p -> DynamicTest.dynamicTest(Samples.rel(p), () -> {
            ImageFile image = ImageReader.read(p);
            List<String> unknown = new ArrayList<>();
            for (int i = 0; i < image.size(); i++) {
                collectUnknown(image.entry(i).message(), "entry " + i, unknown);
            }
            assertTrue(unknown.isEmpty(), "unknown fields in " + p + ": " + unknown);
        }));
    }

    private static void collectUnknown(Message m, String path, List<String> out) {
        if (!m.getUnknownFields().asMap().isEmpty() && !(m instanceof TaskCoreEntry)) {
            out.add(path + " " + m.getDescriptorForType().getName() + " " + m.getUnknownFields().asMap().keySet());
        }
        for (Map.Entry<FieldDescriptor, Object> e : m.getAllFields().entrySet()) {
            if (e.getKey().getJavaType() != FieldDescriptor.JavaType.MESSAGE) {
                continue;
            }
            if (e.getKey().isRepeated()) {
                int j = 0;
                for (Object o : (List<?>) e.getValue()) {
                    collectUnknown((Message) o, path + "." + e.getKey().getName() + "[" + j++ + "]", out);
                }
            } else {
                collectUnknown((Message) e.getValue(), path + "." + e.getKey().getName(), out);
            }
        }
    }

    @Test
    void samplesCoverTheImageKindsCriuWrites() {
        Set<Magic> seen = EnumSet.noneOf(Magic.class);
        for (Path p : Samples.allImages()) {
            seen.add(Magic.forFileName(p.getFileName().toString()).orElseThrow());
        }
        assertEquals(EnumSet.of(Magic.INVENTORY, Magic.PSTREE, Magic.IDS, Magic.CORE, Magic.FS, Magic.FDINFO,
                Magic.FILES, Magic.PIPES_DATA, Magic.FIFO_DATA, Magic.SK_QUEUES, Magic.TTY_INFO, Magic.TTY_DATA,
                Magic.REMAP_FPATH, Magic.GHOST_FILE), seen);
    }

    @Test
    void taskCoreKeepsItsUnmodelledTailAsUnknownFields() throws Exception {
        Path core = Samples.sets().get(0);
        Path file;
        try (Stream<Path> s = Files.list(core)) {
            file = s.filter(p -> p.getFileName().toString().startsWith("core-")).findFirst().orElseThrow();
        }
        CoreEntry c = ImageReader.read(file).single(CoreEntry.class);
        assertEquals(1, c.getMtype(), "x86_64");
        assertTrue(c.hasThreadInfo() && c.hasThreadCore() && c.hasTc());
        assertTrue(c.getTc().getUnknownFields().hasField(15), "sigactions (15) kept as unknown");
        int min = c.getTc().getUnknownFields().asMap().keySet().stream().min(Integer::compare).orElseThrow();
        int maxKnown = TaskCoreEntry.getDescriptor().getFields().stream().mapToInt(FieldDescriptor::getNumber)
                .max().orElseThrow();
        assertTrue(min > maxKnown, "every unknown field number must be above the modelled ones");
    }
}
