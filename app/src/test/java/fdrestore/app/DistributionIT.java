package fdrestore.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.core.json.Json;
import fdrestore.testkit.Samples;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The packaged distribution, run as a user runs it: bin/fdrestore on the real module path, plugins from plugins/. */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class DistributionIT {
    record Run(int code, String out, String err) {
    }

    static Run run(String... args) throws IOException, InterruptedException {
        Path bin = Path.of(System.getProperty("fdrestore.dist")).resolve("bin/fdrestore");
        String[] cmd = new String[args.length + 1];
        cmd[0] = bin.toString();
        System.arraycopy(args, 0, cmd, 1, args.length);
        Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        assertTrue(p.waitFor(100, TimeUnit.SECONDS));
        return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }

    @Test
    void versionAndPlugins() throws Exception {
        Run v = run("--version");
        assertEquals(0, v.code, v.err);
        assertTrue(v.out.startsWith("fdrestore "), v.out);
        Run p = run("plugins", "--json");
        assertEquals(0, p.code, p.err);
        assertTrue(p.out.contains("\"regular\"") && p.out.contains("\"pipe\""), p.out);
        for (String kind : List.of("\"eventfd\"", "\"signalfd\"", "\"pidfd\"", "\"inotify\"", "\"fanotify\"")) {
            assertTrue(p.out.contains(kind), "the distribution ships " + kind + ": " + p.out);
        }
        assertEquals("", p.err, "pf4j stays quiet without --verbose");
    }

    @Test
    @SuppressWarnings("unchecked")
    void restoreVerifyAndKillOnTheModulePath(@TempDir Path tmp) throws Exception {
        Path root = Samples.prepareRoot("a_pipe", tmp);
        Run r = run("restore", "--root", root.toString(), "--verify", "--then=kill", "--json",
                Samples.criu("a_pipe").toString());
        assertEquals(0, r.code, r.out + r.err);
        Map<String, Object> doc = (Map<String, Object>) Json.parse(r.out);
        assertEquals(4, ((List<Object>) doc.get("tasks")).size());
        assertEquals(Boolean.TRUE, ((Map<String, Object>) doc.get("verify")).get("ok"));
        for (Object o : (List<Object>) doc.get("tasks")) {
            long pid = ((Number) ((Map<String, Object>) o).get("pid")).longValue();
            assertTrue(!fdrestore.core.process.Processes.running((int) pid), "task " + pid + " was stopped");
        }
    }

    @Test
    void badImagesExitTwoOnOneLine(@TempDir Path tmp) throws Exception {
        Run r = run("restore", tmp.toString());
        assertEquals(2, r.code, r.err);
        assertEquals(1, r.err.strip().lines().count(), r.err);
        assertTrue(r.err.startsWith("fdrestore: ") && r.err.contains("not an image set"), r.err);
    }
}
