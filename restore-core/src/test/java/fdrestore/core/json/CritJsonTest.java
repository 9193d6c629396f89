package fdrestore.core.json;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.ImageReader;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FdinfoEntry;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.FownEntry;
import fdrestore.api.image.proto.InetSkEntry;
import fdrestore.api.image.proto.SkOptsEntry;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Field-by-field comparison of our decoding with {@code crit decode --pretty} of the same image.
 * Every key crit printed must be matched (and nothing more may be present), except in core images,
 * where only the fields fdrestore models are compared.
 */
class CritJsonTest {

    /** Every json/*.json crit wrote beside the criu 4.2 sample sets under {@code -Dfdrestore.samples}. */
    static List<Path> critJson() throws IOException {
        String p = System.getProperty("fdrestore.samples");
        assertTrue(p != null, "system property fdrestore.samples is not set (the build sets it)");
        Path root = Path.of(p, "criu-4.2");
        List<Path> all;
        try (Stream<Path> s = Files.find(root, 3, (f, a) -> f.getFileName().toString().endsWith(".json")
                && f.getParent().getFileName().toString().equals("json") && f.getNameCount() == root.getNameCount() + 3)) {
            all = s.sorted().collect(Collectors.toList());
        }
        assertTrue(!all.isEmpty(), "no json/*.json files in the sample sets under " + root);
        return all;
    }

    @TestFactory
    Stream<DynamicTest> decodedMessagesMatchCritJson() throws IOException {
        Path root = Path.of(System.getProperty("fdrestore.samples"), "criu-4.2");
        return critJson().stream().map(json -> DynamicTest.dynamicTest(root.relativize(json).toString(), () -> {
            String name = json.getFileName().toString().replaceFirst("\\.json$", ".img");
            Path img = json.getParent().getParent().resolve(name);
            assertTrue(Files.isRegularFile(img), "no image " + img + " for " + json);
            ImageFile image = ImageReader.read(img);
            Map<?, ?> crit = (Map<?, ?>) Json.parse(Files.readString(json, StandardCharsets.UTF_8));
            assertEquals(Set.of("magic", "entries"), crit.keySet(), json + ": top-level keys");
            assertEquals(image.magic().critName(), crit.get("magic"), json + ": magic");
            boolean core = image.magic() == Magic.CORE;
            List<Object> expected = expectedEntries(image, core);
            compare(expected, crit.get("entries"), "entries", core);
        }));
    }

    static List<Object> expectedEntries(ImageFile image, boolean core) {
        List<Object> out = new ArrayList<>();
        for (ImageEntry e : image.entries()) {
            Map<String, Object> d = CritDict.of(e.message(), core);
            if (e.payloadLength() >= 0) {
                byte[] p = e.payload();
                if (image.magic() == Magic.TCP_STREAM) {
                    int inq = ((fdrestore.api.image.proto.TcpStreamEntry) e.message()).getInqLen();
                    Map<String, Object> x = new LinkedHashMap<>();
                    x.put("inq", CritDict.base64(Arrays.copyOfRange(p, 0, inq)));
                    x.put("outq", CritDict.base64(Arrays.copyOfRange(p, inq, p.length)));
                    d.put("extra", x);
                } else {
                    d.put("extra", CritDict.base64(p));
                }
            }
            out.add(d);
        }
        return out;
    }

    /** Deep comparison; with {@code subset}, keys crit has and we do not are allowed. */
    static void compare(Object expected, Object actual, String path, boolean subset) {
        if (expected instanceof Map<?, ?> em) {
            if (!(actual instanceof Map<?, ?> am)) {
                fail(path + ": expected an object, crit has " + actual);
                return;
            }
            if (!subset) {
                Set<String> extra = new TreeSet<>();
                for (Object k : am.keySet()) {
                    if (!em.containsKey(k)) {
                        extra.add(k.toString());
                    }
                }
                assertTrue(extra.isEmpty(), path + ": crit shows fields we did not decode: " + extra);
            }
            for (Map.Entry<?, ?> e : em.entrySet()) {
                assertTrue(am.containsKey(e.getKey()), path + ": crit lacks field " + e.getKey()
                        + " = " + e.getValue());
                compare(e.getValue(), am.get(e.getKey()), path + "." + e.getKey(), subset);
            }
        } else if (expected instanceof List<?> el) {
            if (!(actual instanceof List<?> al)) {
                fail(path + ": expected an array, crit has " + actual);
                return;
            }
            assertEquals(el.size(), al.size(), path + ": array length");
            for (int i = 0; i < el.size(); i++) {
                compare(el.get(i), al.get(i), path + "[" + i + "]", subset);
            }
        } else if (expected instanceof CritDict.QuopriBytes q) {
            assertTrue(actual instanceof String, path + ": expected a quoted-printable string, crit has " + actual);
            assertArrayEquals(q.bytes(), CritDict.quopriDecode((String) actual), path + ": unix name bytes");
        } else if (expected instanceof BigInteger n) {
            assertTrue(actual instanceof Long || actual instanceof BigDecimal,
                    path + ": expected number " + n + ", crit has " + actual);
            assertEquals(0, new BigDecimal(n).compareTo(new BigDecimal(actual.toString())),
                    path + ": expected " + n + ", crit has " + actual);
        } else {
            assertEquals(expected, actual, path);
        }
    }

    // --- the comparison itself must be able to fail ---

    @Test
    void comparisonDetectsAWrongValueAMissingFieldAndAnExtraField() {
        FdinfoEntry fd = FdinfoEntry.newBuilder().setId(4).setFlags(1).setType(2).setFd(7).build();
        Object good = Json.parse("{\"id\":4,\"flags\":1,\"type\":\"PIPE\",\"fd\":7}");
        compare(CritDict.of(fd, false), good, "fd", false);
        assertThrows(AssertionError.class, () -> compare(CritDict.of(fd, false),
                Json.parse("{\"id\":4,\"flags\":1,\"type\":\"REG\",\"fd\":7}"), "fd", false));
        assertThrows(AssertionError.class, () -> compare(CritDict.of(fd, false),
                Json.parse("{\"id\":4,\"flags\":1,\"type\":\"PIPE\"}"), "fd", false));
        assertThrows(AssertionError.class, () -> compare(CritDict.of(fd, false),
                Json.parse("{\"id\":4,\"flags\":1,\"type\":\"PIPE\",\"fd\":7,\"xattr\":\"x\"}"), "fd", false));
        // subset mode tolerates extra keys but not wrong values
        compare(CritDict.of(fd, true), Json.parse("{\"id\":4,\"flags\":1,\"type\":\"PIPE\",\"fd\":7,\"x\":1}"),
                "fd", true);
        assertThrows(AssertionError.class, () -> compare(CritDict.of(fd, true),
                Json.parse("{\"id\":5,\"flags\":1,\"type\":\"PIPE\",\"fd\":7}"), "fd", true));
    }

    @Test
    void critFormsOfAddressesFlagsAndNames() {
        FownEntry fown = FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0).build();
        SkOptsEntry opts = SkOptsEntry.newBuilder().setSoSndbuf(1).setSoRcvbuf(1).setSoSndTmoSec(0)
                .setSoSndTmoUsec(0).setSoRcvTmoSec(0).setSoRcvTmoUsec(0).build();
        InetSkEntry v6 = InetSkEntry.newBuilder().setId(1).setIno(2).setFamily(10).setType(1).setProto(6)
                .setState(10).setSrcPort(80).setDstPort(0).setFlags(0x802).setBacklog(5)
                .addAllSrcAddr(List.of(Integer.reverseBytes(0x20010db8), 0, 0, Integer.reverseBytes(1)))
                .addAllDstAddr(List.of(0, 0, 0, 0)).setFown(fown).setOpts(opts).build();
        Map<String, Object> d = CritDict.of(v6, false);
        assertEquals(List.of("2001:db8::1"), d.get("src_addr"));
        assertEquals(List.of("::"), d.get("dst_addr"));
        assertEquals("INET6", d.get("family"));
        assertEquals("LISTEN", d.get("state"));
        assertEquals("0x802", d.get("flags"));
        assertEquals("O_RDWR | O_APPEND | O_LARGEFILE", CritDict.flags(0100002 | 02000));
        assertEquals("O_WRONLY | 0x80000000", CritDict.flags(0x80000001L));
        assertEquals("", CritDict.flags(0));
        assertArrayEquals(new byte[] {0, 'a', '='}, CritDict.quopriDecode("=00a=3D"));
        FileEntry fe = FileEntry.newBuilder().setType(99).setId(1).build();
        assertThrows(AssertionError.class, () -> CritDict.of(fe, false), "unknown enum value");
    }
}
