package fdrestore.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.testkit.ImageSetText;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;

/**
 * What each kind prints of itself stays the same: the digests of {@code show}, {@code show --json},
 * {@code graph} and the canonical text ({@link ImageSetText}) of every shipped image set, against
 * {@code kind-output-golden.txt}, recorded from the build before the kinds took this over from core.
 * After an intended change of the output, rewrite the file with {@code -Dgolden.write=true} and say why
 * in the commit; {@code -Dgolden.keep=DIR} keeps the whole outputs there, to diff two builds'.
 */
class KindOutputGoldenTest {
    private static final Path SAMPLES = Paths.get(System.getProperty("fdrestore.samples", "../images-samples"));
    private static final Path GOLDEN = Paths.get("src/test/resources/kind-output-golden.txt");

    @Test
    @EnabledIf(value = "fdrestore.app.EventfdPluginTest#eventfdJarBuilt", disabledReason = "the eventfd plugin jar "
            + "is missing (it is not on the app's class path): build it with `mvn -pl plugins/eventfd package`")
    @Timeout(value = 300, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void everySampleShowsGraphsAndPrintsAsBefore(@TempDir Path tmp) throws Exception {
        // Every shipped kind describes its files: the class path's, and eventfd from its jar.
        String plugins = EventfdPluginTest.pluginsDir(tmp).toString();
        List<String> lines = new ArrayList<>();
        for (Path d : samples()) {
            String name = SAMPLES.relativize(d).toString();
            // The directory appears in the output: print it relative to the samples, as recorded.
            String shown = d.toString();
            String[][] outputs = {
                {"show", run("show", "--plugins", plugins, shown).replace(shown, name)},
                {"show-json", run("show", "--json", "--plugins", plugins, shown).replace(shown, name)},
                {"graph", run("graph", "--plugins", plugins, shown).replace(shown, name)},
                {"text", String.join("\n", ImageSetText.of(d))},
            };
            for (String[] o : outputs) {
                lines.add(name + " " + o[0] + " " + digest(o[1]));
                String keep = System.getProperty("golden.keep");
                if (keep != null) {
                    // The whole outputs, to diff against another build's when a digest differs.
                    Path f = Paths.get(keep, name.replace('/', '_') + "." + o[0]);
                    Files.createDirectories(f.getParent());
                    Files.writeString(f, o[1]);
                }
            }
        }
        if (Boolean.getBoolean("golden.write")) {
            Files.write(GOLDEN, lines, StandardCharsets.UTF_8);
            return;
        }
        List<String> want = Files.readAllLines(GOLDEN, StandardCharsets.UTF_8);
        assertTrue(want.size() > 200, "the golden file lists every sample: " + want.size() + " lines");
        List<String> differ = new ArrayList<>();
        for (String l : lines) {
            if (!want.contains(l)) {
                differ.add(l);
            }
        }
        assertEquals(List.of(), differ, "outputs that differ from " + GOLDEN);
        assertEquals(want.size(), lines.size(), "samples added or lost");
    }

    private static List<Path> samples() throws IOException {
        try (Stream<Path> s = Files.walk(SAMPLES, 4)) {
            return s.filter(p -> Files.isRegularFile(p.resolve("inventory.img"))).sorted().toList();
        }
    }

    private static String run(String... args) {
        CliRunner r = CliRunner.run(args);
        assertEquals(0, r.code, String.join(" ", args) + ": " + r);
        return r.out;
    }

    private static String digest(String s) throws NoSuchAlgorithmException {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    }
}
