package fdrestore.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which JVM bin/fdrestore starts, with which start-up archive: the JDK 25 AOT cache the build made when it
 * is there and fits, else JDK 17 (java on the PATH, or JAVA_HOME) with its CDS archive; every fallback
 * silent. The fallbacks run on a copy of the distribution whose cache is broken or whose JDK is gone.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class LauncherJvmIT {
    private static Path dist() {
        return PackagingIT.dist();
    }

    record Run(int code, String out, String err) {
    }

    private static Run run(Path dist, Map<String, String> env, String... args) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(Stream.concat(Stream.of(dist.resolve("bin/fdrestore").toString()),
                Stream.of(args)).toList()).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().remove("JAVA_HOME");
        pb.environment().remove("FDRESTORE_JAVA_OPTS");
        pb.environment().put("FDRESTORE_SERVER", "off");
        pb.environment().putAll(env);
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }

    /** The java.home of the JVM the launcher started (from -XshowSettings on stderr). */
    private static String javaHome(Path dist, Map<String, String> env, String... args) throws Exception {
        Map<String, String> e = new java.util.HashMap<>(env);
        e.put("FDRESTORE_JAVA_OPTS", "-XshowSettings:properties");
        Run r = run(dist, e, args.length == 0 ? new String[] {"--version"} : args);
        assertEquals(0, r.code(), r.err());
        return r.err().lines().map(String::strip).filter(l -> l.startsWith("java.home = ")).findFirst()
                .map(l -> l.substring("java.home = ".length())).orElseThrow(() -> new AssertionError(r.err()));
    }

    /** The AOT log of one start: whether the JVM mapped the cache. */
    private static String aotLog(Path dist, Path log) throws Exception {
        Run r = run(dist, Map.of("FDRESTORE_JAVA_OPTS", "-Xlog:aot=info:file=" + log), "--version");
        assertEquals(0, r.code(), r.err());
        return Files.readString(log);
    }

    private static void assumeAotCache() {
        assumeTrue(Files.exists(dist().resolve("lib/fdrestore.aot")),
                "the build made no AOT cache (no JDK 25 at -Dfdrestore.aot.jdk): only the JDK 17 path is there to test");
    }

    /** A copy of the distribution at {@code to}, its archives marked as made there (as the build does). */
    private static Path copy(Path to) throws IOException {
        try (Stream<Path> all = Files.walk(dist())) {
            for (Path p : (Iterable<Path>) all::iterator) {
                Path q = to.resolve(dist().relativize(p).toString());
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    Files.createDirectories(q);
                } else {
                    Files.copy(p, q, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
        if (Files.exists(to.resolve("lib/fdrestore.aot.home"))) {
            Files.writeString(to.resolve("lib/fdrestore.aot.home"), to + "\n");
        }
        // JDK 17 refuses a dynamic archive whose module path moved ("sealing violation"): the launcher
        // must not use the copied one, as it would not in a moved installation
        Files.deleteIfExists(to.resolve("lib/fdrestore.jsa.home"));
        return to;
    }

    @Test
    void theBuildsJdk25RunsWithItsAotCacheMappedAndQuietly(@TempDir Path tmp) throws Exception {
        assumeAotCache();
        String jdk = Files.readString(dist().resolve("lib/fdrestore.aot.jdk")).strip();
        assertEquals(Path.of(jdk).toRealPath(), Path.of(javaHome(dist(), Map.of())).toRealPath());
        String log = aotLog(dist(), tmp.resolve("aot.log"));
        assertTrue(log.contains("Opened AOT cache") && !log.contains("Unable to map"), log);
        Run r = run(dist(), Map.of(), "--version");
        assertEquals("", r.err(), "no JVM warning (native access, AOT) on the JDK 25 path");
        assertTrue(r.out().startsWith("fdrestore "), r.out());
    }

    @Test
    void aBrokenCacheIsIgnoredSilently(@TempDir Path tmp) throws Exception {
        assumeAotCache();
        Path copy = copy(tmp.resolve("dist"));
        Files.write(copy.resolve("lib/fdrestore.aot"), new byte[4096]);
        Run r = run(copy, Map.of(), "--version");
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.err(), "a cache the JVM cannot use is no error and no warning");
        assertTrue(r.out().startsWith("fdrestore "), r.out());
        Path log = tmp.resolve("aot.log");
        assertTrue(aotLog(copy, log).contains("Unable to map") || Files.readString(log).contains("error"),
                "the JVM did refuse the broken cache: " + Files.readString(log));
    }

    @Test
    void withoutItsJdkTheLauncherRunsJavaOnThePathQuietly(@TempDir Path tmp) throws Exception {
        assumeAotCache();
        Path copy = copy(tmp.resolve("dist"));
        Files.writeString(copy.resolve("lib/fdrestore.aot.jdk"), tmp.resolve("no-such-jdk") + "\n");
        String home = javaHome(copy, Map.of());
        assertTrue(!home.contains("temurin-25"), "JDK 25 is not named any more, java on the PATH runs: " + home);
        Run r = run(copy, Map.of(), "--version");
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.err());
        assertTrue(r.out().startsWith("fdrestore "), r.out());
    }

    @Test
    void javaHomeOfAnotherJdkWinsOverTheCache() throws Exception {
        Path jdk17 = Path.of("/usr/lib/jvm/java-17-openjdk-amd64");
        assumeTrue(Files.isExecutable(jdk17.resolve("bin/java")), "no JDK 17 at " + jdk17);
        Map<String, String> env = Map.of("JAVA_HOME", jdk17.toString());
        assertEquals(jdk17.toRealPath(), Path.of(javaHome(dist(), env)).toRealPath());
        Run r = run(dist(), env, "--version");
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.err(), "the JDK 17 path with its CDS archive, quietly");
    }

    @Test
    void picoclisClassesAreNewEnoughForTheArchives() throws Exception {
        // class files older than version 50 stay out of CDS archives and AOT caches: the build lifts them
        try (Stream<Path> jars = Files.list(dist().resolve("lib"))) {
            Path picocli = jars.filter(j -> j.getFileName().toString().startsWith("picocli-")).findFirst().orElseThrow();
            try (java.util.jar.JarFile jar = new java.util.jar.JarFile(picocli.toFile())) {
                byte[] c = jar.getInputStream(jar.getEntry("picocli/CommandLine.class")).readAllBytes();
                int major = (c[6] & 0xff) << 8 | c[7] & 0xff;
                assertTrue(major >= 50, picocli + ": picocli.CommandLine is class file version " + major);
            }
        }
    }

    @Test
    void jffisStubLoadsFromTheDistribution() throws Exception {
        assumeAotCache(); // -Xlog:library is JDK 22 or newer
        Path stub = dist().resolve("lib/jffi/x86_64-Linux/libjffi-1.2.so");
        assumeTrue("amd64".equals(System.getProperty("os.arch")), "the stub checked is x86_64's");
        assertTrue(Files.isRegularFile(stub), "the build unpacks jffi's stub to " + stub);
        Run r = run(dist(), Map.of("FDRESTORE_JAVA_OPTS", "-Xlog:library=info"), "check");
        assertTrue(r.out().contains("Loaded library " + stub + ","),
                "jffi loads its stub from lib/jffi, not from a copy unpacked from its jar:\n"
                        + r.out().lines().filter(l -> l.contains("jffi")).toList());
    }

    @Test
    void theLongRunsKeepJdk17() throws Exception {
        assumeAotCache();
        // serve and bench run long: their warm engine, not their start, is what counts
        for (String cmd : new String[] {"serve", "bench"}) {
            String home = javaHome(dist(), Map.of(), cmd, "--help");
            assertTrue(!home.contains("temurin-25"), cmd + " runs " + home);
        }
    }

    @Test
    void offSwitchesSkipTheCache() throws Exception {
        assumeAotCache();
        String home = javaHome(dist(), Map.of("FDRESTORE_AOT", "off"));
        assertTrue(!home.contains("temurin-25"), home);
    }

    /** The JVM flags of one start (-XX:+PrintCommandLineFlags on stdout), as a list of words. */
    private static List<String> flags(Map<String, String> env, String... args) throws Exception {
        Map<String, String> e = new java.util.HashMap<>(env);
        e.merge("FDRESTORE_JAVA_OPTS", "-XX:+PrintCommandLineFlags", (a, b) -> a + " " + b);
        Run r = run(dist(), e, args);
        assertEquals(0, r.code(), r.err());
        return List.of(r.out().lines().findFirst().orElse("").split(" "));
    }

    @Test
    void theLongRunsUseTheParallelCollectorAndTheOthersTheJvmsDefault() throws Exception {
        for (String cmd : new String[] {"serve", "bench"}) {
            assertTrue(flags(Map.of(), cmd, "--help").contains("-XX:+UseParallelGC"), cmd);
        }
        assertTrue(!flags(Map.of(), "show", "--help").contains("-XX:+UseParallelGC"), "a one-shot command keeps G1");
        List<String> g1 = flags(Map.of("FDRESTORE_JAVA_OPTS", "-XX:+UseG1GC"), "bench", "--help");
        assertTrue(g1.contains("-XX:+UseG1GC") && !g1.contains("-XX:+UseParallelGC"),
                "a collector named in FDRESTORE_JAVA_OPTS replaces the launcher's: " + g1);
    }
}
