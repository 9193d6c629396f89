package fdrestore.app.cli;

import fdrestore.app.CliRunner;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.codec.ImageReader;
import fdrestore.api.image.codec.Magic;
import fdrestore.core.json.Json;
import fdrestore.testkit.Samples;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code fdrestore image decode} against the crit JSON shipped beside every criu 4.2 image set, and
 * {@code encode} back to the same bytes. The normalisation (docs/IMAGES.md): both documents are parsed
 * and compared as values (layout aside), and a payload crit left out is compared by size
 * ({@link #leftOutPayloads}).
 */
class CritJsonTest {
    /** Every image with crit's JSON beside it, for the image kinds fdrestore knows. */
    static List<Path[]> pairs() throws IOException {
        List<Path[]> out = new ArrayList<>();
        Path criu = Samples.root().resolve("criu-4.2");
        List<Path> sets = new ArrayList<>();
        try (Stream<Path> s = Files.list(criu)) {
            s.filter(p -> Files.isDirectory(p.resolve("json"))).forEach(sets::add);
        }
        try (Stream<Path> s = Files.list(criu.resolve("zdtm"))) {
            s.filter(p -> Files.isDirectory(p.resolve("json"))).forEach(sets::add);
        }
        for (Path set : sets) {
            try (Stream<Path> s = Files.list(set.resolve("json"))) {
                for (Path j : s.sorted().toList()) {
                    String name = j.getFileName().toString();
                    Path img = set.resolve(name.substring(0, name.length() - 5) + ".img");
                    if (Files.isRegularFile(img)) {
                        out.add(new Path[] {img, j});
                    }
                }
            }
        }
        return out;
    }

    @Test
    void decodeEqualsCritsJsonAndEncodeGivesTheSameBytesForEveryShippedImage() throws IOException {
        Map<String, int[]> perKind = new TreeMap<>(); // kind -> {compared, equal, round trips}
        List<String> unknownKinds = new ArrayList<>();
        List<String> failures = new ArrayList<>();
        for (Path[] p : pairs()) {
            Path img = p[0];
            String name = img.getFileName().toString();
            Magic magic = Magic.forFileName(name).orElse(null);
            CritJson.Extra extra = CritJson.extraFor(name);
            if (magic == null && extra == null) {
                unknownKinds.add(name.replaceAll("-[0-9a-f]+\\.img$", "-N.img"));
                continue;
            }
            int[] c = perKind.computeIfAbsent(magic != null ? magic.critName() : extra.critName(), k -> new int[3]);
            c[0]++;
            String ours = ImageCommand.decode(img);
            Object crit = Json.parse(Files.readString(p[1], StandardCharsets.UTF_8));
            Object mine = mutable(Json.parse(ours));
            leftOutPayloads(crit, mine);
            if (crit.equals(mine)) {
                c[1]++;
            } else if (failures.size() < 5) {
                failures.add(img + ": decode differs from crit's " + p[1] + "\n--- ours\n" + abbreviate(ours)
                        + "\n--- crit\n" + abbreviate(Files.readString(p[1])));
            }
            Path json = Files.createTempFile("crit", ".json");
            try {
                Files.writeString(json, ours);
                if (java.util.Arrays.equals(Files.readAllBytes(img), ImageCommand.encode(json))) {
                    c[2]++;
                } else if (failures.size() < 5) {
                    failures.add(img + ": encode(decode) gives other bytes");
                }
            } finally {
                Files.delete(json);
            }
        }
        StringBuilder report = new StringBuilder();
        perKind.forEach((k, c) -> report.append(k).append(": ").append(c[0]).append(" images, ").append(c[1])
                .append(" equal to crit's, ").append(c[2]).append(" round trips\n"));
        System.out.print(report);
        assertTrue(failures.isEmpty(), report + String.join("\n", failures));
        for (int[] c : perKind.values()) {
            assertEquals(c[0], c[1], report.toString());
            assertEquals(c[0], c[2], report.toString());
        }
        // what the corpus holds: every kind fdrestore reads is there, and the kinds it does not know are these
        assertTrue(perKind.keySet().containsAll(List.of("INVENTORY", "PSTREE", "IDS", "CORE", "FS", "FDINFO", "FILES",
                "PIPES_DATA", "FIFO_DATA", "SK_QUEUES", "TCP_STREAM", "GHOST_FILE", "REMAP_FPATH", "TTY_INFO", "TTY_DATA")),
                report.toString());
        assertTrue(perKind.keySet().containsAll(List.of("FILE_LOCKS", "MEMFD_INODE", "PAGEMAP")), report.toString());
        assertEquals(List.of(), unknownKinds, "image kinds fdrestore does not decode");
    }

    /**
     * The documented normalisation of a payload crit left out (its --nopl, used for one 15.7 MB tcp-stream
     * image): crit prints "... <SIZE>"; ours is replaced by the same text made from its own size.
     */
    @SuppressWarnings("unchecked")
    static void leftOutPayloads(Object crit, Object ours) {
        List<Object> ce = (List<Object>) ((Map<String, Object>) crit).get("entries");
        List<Object> oe = (List<Object>) ((Map<String, Object>) ours).get("entries");
        for (int i = 0; i < Math.min(ce.size(), oe.size()); i++) {
            Map<String, Object> c = (Map<String, Object>) ce.get(i);
            Map<String, Object> o = (Map<String, Object>) oe.get(i);
            if (c.get("extra") instanceof String s && s.startsWith("... <") && o.get("extra") != null) {
                long size = 0;
                if (o.get("extra") instanceof Map<?, ?> x) {
                    for (Object q : x.values()) {
                        size += CritText.unbase64((String) q).length;
                    }
                } else {
                    size = CritText.unbase64((String) o.get("extra")).length;
                }
                o.put("extra", "... <" + humanReadable(size) + ">");
            }
        }
    }

    /** crit's human_readable: the size in B, KB, MB... with one decimal unless it is whole. */
    static String humanReadable(double n) {
        for (String unit : List.of("", "K", "M", "G", "T")) {
            if (n < 1024.0) {
                return n == Math.floor(n) ? String.format(java.util.Locale.ROOT, "%d%sB", (long) n, unit)
                        : String.format(java.util.Locale.ROOT, "%.1f%sB", n, unit);
            }
            n /= 1024.0;
        }
        return String.format(java.util.Locale.ROOT, "%.1fPB", n);
    }

    /** A deep copy that can be changed (the parser's maps and lists cannot). */
    static Object mutable(Object v) {
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> out = new java.util.LinkedHashMap<>();
            m.forEach((k, x) -> out.put((String) k, mutable(x)));
            return out;
        }
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>();
            l.forEach(x -> out.add(mutable(x)));
            return out;
        }
        return v;
    }

    private static String abbreviate(String s) {
        return s.length() > 3000 ? s.substring(0, 3000) + "..." : s;
    }

    @Test
    void specialFieldsPrintAsCritPrintsThem() {
        assertEquals("O_RDWR | O_LARGEFILE", CritText.flags(0100002, CritFields.RFILE_FLAGS));
        assertEquals("", CritText.flags(0, CritFields.RFILE_FLAGS));
        assertEquals("O_WRONLY | 0x80000000", CritText.flags(0x80000001L, CritFields.RFILE_FLAGS));
        assertEquals(0100002, CritText.unflags("O_RDWR | O_LARGEFILE", CritFields.RFILE_FLAGS));
        assertEquals(0x80000001L, CritText.unflags("O_WRONLY | 0x80000000", CritFields.RFILE_FLAGS));
        assertEquals("127.0.0.1", CritText.ipAddress(List.of(0x0100007f)));
        assertEquals("::1", CritText.ipAddress(List.of(0, 0, 0, 0x01000000)));
        assertEquals("::", CritText.ipAddress(List.of(0, 0, 0, 0)));
        assertEquals(List.of(0L, 0L, 0L, 0x01000000L), CritText.ipWords("::1"));
        assertEquals("=00abc", CritText.quotedPrintable(new byte[] {0, 'a', 'b', 'c'}));
        assertArrayEquals(new byte[] {0, 'a', '='}, CritText.unquotedPrintable("=00a=3D"));
        assertEquals("", CritText.base64(new byte[0]));
        assertEquals(77, CritText.base64(new byte[57]).length()); // 76 characters and a newline
        assertEquals(255, CritText.parseInt("0xff"));
    }

    @Test
    void aDirectoryDecodesToOneJsonPerImageAndEncodesBack(@TempDir Path tmp) throws IOException {
        Path set = Samples.criu("v_unix");
        CliRunner d = CliRunner.run("image", "decode", "-i", set.toString(), "-o", tmp.resolve("json").toString());
        assertEquals(0, d.code, d.toString());
        CliRunner e = CliRunner.run("image", "encode", tmp.resolve("json").toString(), "-o", tmp.resolve("img").toString());
        assertEquals(0, e.code, e.toString());
        int n = 0;
        for (Path img : ImageCommand.images(set)) {
            assertArrayEquals(Files.readAllBytes(img), Files.readAllBytes(tmp.resolve("img").resolve(img.getFileName())),
                    img.toString());
            n++;
        }
        assertTrue(n >= 10, n + " images");
        ImageReader.read(tmp.resolve("img").resolve("files.img")); // and fdrestore reads what it wrote
    }

    @Test
    void badJsonIsOneLineNamingTheEntryAndTheMember(@TempDir Path tmp) throws IOException {
        Path j = tmp.resolve("files.json");
        Files.writeString(j, "{\"magic\": \"FILES\", \"entries\": [{\"type\": \"REG\", \"id\": 1, \"reg\": {\"id\": 1, "
                + "\"flags\": \"O_BOGUS\", \"pos\": 0, \"fown\": {\"uid\": 0, \"euid\": 0, \"signum\": 0, \"pid_type\": 0, "
                + "\"pid\": 0}, \"name\": \"/x\"}}]}");
        CliRunner r = CliRunner.run("image", "encode", "-i", j.toString(), "-o", tmp.resolve("files.img").toString());
        assertEquals(2, r.code, r.toString());
        assertTrue(r.err.contains("entry 0: reg.flags") && r.err.lines().count() == 1, r.toString());
        assertTrue(Files.notExists(tmp.resolve("files.img")), "nothing written");
    }
}
