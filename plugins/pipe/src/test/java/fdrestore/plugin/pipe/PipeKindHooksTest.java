package fdrestore.plugin.pipe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.spi.Fdinfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FileKind.KernelObject;
import fdrestore.testkit.Samples;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the pipe and FIFO kinds say of their files to show, the graph and --verify. */
class PipeKindHooksTest {
    private static final Map<fdrestore.api.image.FdType, FileKind> KINDS = FileKind.byType(List.of(new PipeKind(),
            new FifoKind()));

    @Test
    void eachPipeIsOneKernelObjectOfItsEnds() throws Exception {
        ImageSet images = ImageSet.open(Samples.criu("a_pipe"));
        Map<KernelObject, List<Long>> objects = FileKind.objects(images, KINDS);
        assertEquals(Map.of(new KernelObject("pipe", 421542), List.of(5L, 6L), new KernelObject("pipe", 421543),
                List.of(7L, 8L)), objects);
        FileEntry readEnd = images.file(5).orElseThrow();
        assertEquals("pipe:[421542] read end, 1000 B queued, size 131072", new PipeKind().describe(readEnd, images));
        assertEquals(new FileKind.Summary(null, readEnd.getPipe().getFlags(), null), new PipeKind().summary(readEnd, images));
    }

    @Test
    void verifyNamesAnotherKindOfFileAndOtherFlags() throws Exception {
        ImageSet images = ImageSet.open(Samples.criu("a_pipe"));
        FileEntry readEnd = images.file(5).orElseThrow();
        int flags = readEnd.getPipe().getFlags();
        Fdinfo same = Fdinfo.parse("pos:\t0\nflags:\t0" + Integer.toOctalString(flags) + "\nmnt_id:\t15\n");
        assertEquals(List.of(), new PipeKind().verify(readEnd, "pipe:[99]", same));
        Fdinfo nonblock = Fdinfo.parse("pos:\t0\nflags:\t0" + Integer.toOctalString(flags | 04000) + "\nmnt_id:\t15\n");
        List<String> out = new PipeKind().verify(readEnd, "/dev/null", nonblock);
        assertEquals(2, out.size(), out.toString());
        assertEquals("is /dev/null, expected pipe:[", out.get(0));
        assertTrue(out.get(1).startsWith("open flags 0"), out.toString());
    }
}
