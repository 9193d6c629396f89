package fdrestore.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The distribution's layout, its completion scripts and its tarball, as `mvn package` leaves them. */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class PackagingIT {
    static Path dist() {
        return Path.of(System.getProperty("fdrestore.dist"));
    }

    @Test
    void layoutHasProgramLibrariesPluginsDocsAndCompletion() throws Exception {
        Path d = dist();
        assertTrue(Files.isExecutable(d.resolve("bin/fdrestore")));
        assertTrue(Files.isExecutable(d.resolve("lib/fdrestore-holder")));
        assertTrue(Files.isExecutable(d.resolve("lib/fdrestore-client")), "the launcher's client of fdrestore serve");
        assertTrue(Files.readString(d.resolve("share/systemd/fdrestore.service")).contains("KillMode=process"),
                "stopping the service must not kill the tasks it restored");
        assertTrue(Files.exists(d.resolve("lib").resolve("app-" + version() + ".jar")));
        try (var plugins = Files.list(d.resolve("plugins"))) {
            assertTrue(plugins.filter(p -> p.toString().endsWith(".jar")).count() >= 7);
        }
        for (String doc : new String[] {"README.md", "CHANGELOG.md", "docs/ARCHITECTURE.md", "docs/PLUGINS.md",
            "docs/IMAGES.md"}) {
            assertTrue(Files.size(d.resolve(doc)) > 0, doc);
        }
        for (String shell : new String[] {"bash", "zsh"}) {
            String script = Files.readString(d.resolve("share/completion/fdrestore." + shell));
            assertTrue(script.contains("complete -F _complete_fdrestore -o default fdrestore"), shell);
            for (String c : CliConventionsTest.commands()) {
                assertTrue(script.contains("_picocli_fdrestore_" + c), shell + " completes " + c);
            }
        }
    }

    static String version() {
        return dist().getFileName().toString().substring("fdrestore-".length());
    }

    @Test
    void bashLoadsTheCompletionAndCompletesSubcommands() throws Exception {
        Path script = dist().resolve("share/completion/fdrestore.bash");
        // compopt only works inside a completion bash itself started: stubbed, the rest runs as under TAB
        Process p = new ProcessBuilder("bash", "-c", "source \"$1\" && compopt() { :; } && COMP_WORDS=(fdrestore gr) && COMP_CWORD=1 "
                + "&& COMP_LINE='fdrestore gr' && COMP_POINT=12 && _complete_fdrestore && printf '%s\\n' \"${COMPREPLY[@]}\"",
                "bash", script.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertEquals("graph", out.strip(), out);
    }

    @Test
    void tarballHoldsTheDistributionWithExecutablePrograms() throws Exception {
        Path tgz = dist().getParent().resolve(dist().getFileName() + ".tar.gz");
        Map<String, Integer> modes = tarModes(tgz);
        String top = dist().getFileName() + "/";
        assertEquals(0755, modes.get(top + "bin/fdrestore") & 0777, modes.toString());
        assertEquals(0755, modes.get(top + "lib/fdrestore-holder") & 0777);
        assertEquals(0755, modes.get(top + "lib/fdrestore-client") & 0777);
        assertTrue(modes.containsKey(top + "share/systemd/fdrestore.service"));
        assertTrue(modes.containsKey(top + "lib/app-" + version() + ".jar"), modes.keySet().toString());
        assertTrue(modes.containsKey(top + "share/completion/fdrestore.bash"));
        assertTrue(modes.containsKey(top + "docs/PLUGINS.md"));
        assertTrue(modes.keySet().stream().noneMatch(n -> n.contains("fdrestore.jsa")),
                "the CDS archive is only valid where it was made");
    }

    @Test
    void theLauncherStartsWithItsCdsArchiveAndQuietly() throws Exception {
        DistributionIT.Run r = DistributionIT.run("--version");
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.err(), "no CDS warning, whatever the archive's state");
        if (Files.exists(dist().resolve("lib/fdrestore.jsa"))) {
            assertEquals(dist().toString(), Files.readString(dist().resolve("lib/fdrestore.jsa.home")).strip());
        }
    }

    /** Entry name -> mode, from a ustar/posix .tar.gz (no library: 512-byte headers). */
    static Map<String, Integer> tarModes(Path tgz) throws IOException {
        Map<String, Integer> out = new HashMap<>();
        try (InputStream in = new GZIPInputStream(Files.newInputStream(tgz))) {
            String longName = null;
            while (true) {
                byte[] h = in.readNBytes(512);
                if (h.length < 512 || h[0] == 0) {
                    break;
                }
                String name = field(h, 0, 100);
                String prefix = field(h, 345, 155);
                int mode = Integer.parseInt(field(h, 100, 8).strip(), 8);
                long size = Long.parseLong(field(h, 124, 12).strip(), 8);
                byte type = h[156];
                byte[] data = in.readNBytes((int) ((size + 511) / 512 * 512));
                if (type == 'x' || type == 'L') {
                    String meta = new String(data, 0, (int) size, StandardCharsets.UTF_8);
                    longName = type == 'L' ? meta.strip() : meta.lines().filter(l -> l.contains(" path="))
                            .map(l -> l.substring(l.indexOf("path=") + 5)).findFirst().orElse(null);
                    continue;
                }
                String full = longName != null ? longName : prefix.isEmpty() ? name : prefix + "/" + name;
                longName = null;
                out.put(full, mode);
            }
        }
        return out;
    }

    private static String field(byte[] h, int off, int len) {
        int end = off;
        while (end < off + len && h[end] != 0) {
            end++;
        }
        return new String(h, off, end - off, StandardCharsets.US_ASCII);
    }
}
