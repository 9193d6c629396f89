package fdrestore.app;

import fdrestore.app.bench.SyntheticImages;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.core.json.Json;
import fdrestore.testkit.Samples;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 9 with the packaged distribution: 20 processes of bin/fdrestore restoring one image set at once,
 * and a restore as an unprivileged user (setpriv or runuser to nobody) that works for regular files and
 * pipes and fails clearly for a file it may not open.
 */
class HardeningDistributionIT {
    private static final Duration LIMIT = Duration.ofSeconds(300);

    static Path bin() {
        return Path.of(System.getProperty("fdrestore.dist")).resolve("bin/fdrestore");
    }

    static String run(List<String> cmd, int[] code) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
        byte[] out = p.getInputStream().readAllBytes();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        code[0] = p.waitFor();
        return new String(out, StandardCharsets.UTF_8) + "\n--- stderr\n" + err;
    }

    @Test
    void twentyDistributionProcessesRestoreOneSetAtOnce(@TempDir Path tmp) throws Exception {
        Path images = Samples.criu("g_regfile");
        Path root = Samples.prepareRoot("g_regfile", Files.createDirectories(tmp.resolve("root")));
        Map<String, String> tree = HardeningSupport.tree(root);
        List<Process> ps = new ArrayList<>();
        List<Path> outs = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            Path out = tmp.resolve("out-" + i);
            outs.add(out);
            ps.add(new ProcessBuilder(bin().toString(), "restore", "--root", root.toString(), "--verify", "--json",
                    "--then=kill", images.toString()).redirectOutput(out.toFile())
                    .redirectError(tmp.resolve("err-" + i).toFile()).start());
        }
        List<String> bad = new ArrayList<>();
        assertTimeoutPreemptively(LIMIT, () -> {
            for (int i = 0; i < ps.size(); i++) {
                int code = ps.get(i).waitFor();
                String out = Files.readString(outs.get(i));
                if (code != 0 || !out.replace(" ", "").contains("\"ok\":true")) {
                    bad.add("#" + i + " exit " + code + ": " + out + Files.readString(tmp.resolve("err-" + i)));
                }
            }
        });
        System.out.printf("HARDENING concurrency: %d of 20 concurrent distribution restores succeeded and verified%n",
                20 - bad.size());
        assertEquals(List.of(), bad);
        assertEquals(tree, HardeningSupport.tree(root));
    }

    /** The command that runs a program as nobody, or null when neither setpriv nor runuser exists. */
    static List<String> asNobody() {
        for (String d : List.of("/usr/bin/", "/bin/", "/usr/sbin/", "/sbin/")) {
            if (Files.isExecutable(Path.of(d + "setpriv"))) {
                return List.of(d + "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups");
            }
        }
        for (String d : List.of("/usr/sbin/", "/sbin/", "/usr/bin/")) {
            if (Files.isExecutable(Path.of(d + "runuser"))) {
                return List.of(d + "runuser", "-u", "nobody", "--");
            }
        }
        return null;
    }

    static boolean canRunAsNobody() {
        return asNobody() != null && ProcessHandle.current().info().user().map("root"::equals).orElse(false);
    }

    static void openUp(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.toList()) {
                if (Files.isDirectory(p)) {
                    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
                } else if (p.startsWith(dir.resolve("root"))) {
                    // opened O_RDWR (never written) with the mode the images record: nobody owns them
                    Files.setOwner(p, p.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody"));
                } else {
                    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-r--r--"));
                }
            }
        }
    }

    @Test
    @EnabledIf(value = "canRunAsNobody", disabledReason = "needs root (to switch users) and setpriv or runuser")
    @SuppressWarnings("unchecked")
    void anUnprivilegedUserRestoresFilesAndPipesAndIsToldWhatItMayNotOpen() throws Exception {
        Path top = Files.createTempDirectory("fdrestore-nobody");
        try {
            Files.setPosixFilePermissions(top, PosixFilePermissions.fromString("rwxr-xr-x"));
            Path images = top.resolve("images");
            Path root = top.resolve("root");
            SyntheticImages.write(SyntheticImages.Spec.parse("4x16:shape=tree"), images, root);
            openUp(top);
            Map<String, String> tree = HardeningSupport.tree(root);
            List<String> cmd = new ArrayList<>(asNobody());
            cmd.addAll(List.of(bin().toString(), "restore", "--root", root.toString(), "--verify", "--json", "--then=kill",
                    images.toString()));
            int[] code = new int[1];
            String out = assertTimeoutPreemptively(LIMIT, () -> run(cmd, code));
            assertEquals(0, code[0], out);
            Map<String, Object> doc = (Map<String, Object>) Json.parse(out.substring(0, out.indexOf("\n--- stderr")));
            assertEquals(Boolean.TRUE, ((Map<String, Object>) doc.get("verify")).get("ok"), out);
            assertEquals(tree, HardeningSupport.tree(root));
            // a file nobody may read: a clear error naming it, exit 1, nothing changed
            Path victim;
            try (Stream<Path> s = Files.walk(root.resolve("data"))) {
                victim = s.filter(Files::isRegularFile).findFirst().orElseThrow();
            }
            Files.setOwner(victim, victim.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("root"));
            tree = HardeningSupport.tree(root);
            out = assertTimeoutPreemptively(LIMIT, () -> run(cmd, code));
            assertEquals(1, code[0], out);
            assertTrue(out.contains("EACCES") && out.contains(victim.getFileName().toString()), out);
            assertTrue(!out.contains("\tat "), out);
            assertEquals(tree, HardeningSupport.tree(root));
        } finally {
            try (Stream<Path> s = Files.walk(top)) {
                for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }
}
