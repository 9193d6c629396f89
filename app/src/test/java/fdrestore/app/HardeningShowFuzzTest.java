package fdrestore.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.testkit.Samples;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 9, fuzzing {@code show} and {@code show --json} through the CLI: a copy of a sample set with one
 * image mutated (seeded, reproducible) either shows (exit 0) or is refused with the documented format error
 * (exit 2, one line, no stack trace); never exit 1, an internal error, a hang or an OutOfMemoryError. The
 * codec and ImageSet themselves get a million inputs in restore-core's ImageFuzz.
 */
class HardeningShowFuzzTest {
    private static final long SEED = Long.getLong("fdrestore.fuzz.seed", 9);
    private static final int INPUTS = Integer.getInteger("fdrestore.fuzz.show.inputs", 400);

    @Test
    void mutatedImageSetsShowOrFailWithTheFormatError(@TempDir Path tmp) throws Exception {
        List<Path> sets;
        try (Stream<Path> s = Files.list(Samples.root().resolve("criu-4.2"))) {
            sets = s.filter(p -> Files.exists(p.resolve("inventory.img"))).filter(p -> !p.getFileName().toString().startsWith("big_32x64")).sorted()
                    .toList();
        }
        SplittableRandom rnd = new SplittableRandom(SEED);
        List<String> findings = new ArrayList<>();
        int[] outcomes = new int[3];
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
            for (int i = 0; i < INPUTS; i++) {
                Path set = sets.get(rnd.nextInt(sets.size()));
                Path dir = tmp.resolve("in-" + i);
                Files.createDirectories(dir);
                List<Path> imgs;
                try (Stream<Path> s = Files.list(set)) {
                    imgs = s.filter(p -> p.toString().endsWith(".img")).sorted().toList();
                }
                for (Path p : imgs) {
                    Files.copy(p, dir.resolve(p.getFileName()));
                }
                Path victim = dir.resolve(imgs.get(rnd.nextInt(imgs.size())).getFileName());
                Files.write(victim, mutate(Files.readAllBytes(victim), rnd));
                boolean json = rnd.nextBoolean();
                CliRunner r = json ? CliRunner.run("show", "--json", dir.toString()) : CliRunner.run("show", dir.toString());
                if (r.code == 0 || r.code == 2) {
                    outcomes[r.code]++;
                } else {
                    outcomes[1]++;
                }
                if (r.code != 0 && r.code != 2 || r.err.contains("internal error") || r.err.contains("\tat ")
                        || r.code == 2 && !r.err.startsWith("fdrestore: ")) {
                    Path keep = Files.createDirectories(Path.of("target/fuzz-findings/show-" + SEED + "-" + i));
                    Files.copy(victim, keep.resolve(victim.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                    findings.add(set.getFileName() + "/" + victim.getFileName() + " (input " + i + ", kept in " + keep
                            + "): " + r);
                }
                try (Stream<Path> s = Files.list(dir)) {
                    for (Path p : s.toList()) {
                        Files.delete(p);
                    }
                }
                Files.delete(dir);
            }
        });
        System.out.printf("SHOW FUZZ seed %d: %d inputs, %d shown, %d refused with the format error, %d other%n", SEED,
                INPUTS, outcomes[0], outcomes[2], outcomes[1]);
        assertEquals(List.of(), findings);
        assertTrue(outcomes[0] > 0 && outcomes[2] > 0, "both outcomes reached");
    }

    /** 1 to 4 byte-level mutations: flips, edge u32 values, truncation, deletion, duplication. */
    static byte[] mutate(byte[] in, SplittableRandom rnd) {
        byte[] b = in;
        for (int k = 1 + rnd.nextInt(4); k > 0; k--) {
            if (b.length < 12) {
                return b;
            }
            int p = rnd.nextInt(b.length);
            switch (rnd.nextInt(6)) {
                case 0 -> {
                    b = b.clone();
                    b[p] ^= (byte) (1 << rnd.nextInt(8));
                }
                case 1 -> {
                    b = b.clone();
                    int at = rnd.nextBoolean() ? 8 : Math.min(p, b.length - 4);
                    int v = new int[] {0, 1, 0x7fffffff, 0xffffffff, 0x4000000, 0x80}[rnd.nextInt(6)];
                    for (int j = 0; j < 4; j++) {
                        b[at + j] = (byte) (v >>> (8 * j));
                    }
                }
                case 2 -> b = java.util.Arrays.copyOf(b, p);
                case 3 -> {
                    int n = Math.min(1 + rnd.nextInt(32), b.length - p);
                    byte[] o = new byte[b.length - n];
                    System.arraycopy(b, 0, o, 0, p);
                    System.arraycopy(b, p + n, o, p, b.length - p - n);
                    b = o;
                }
                case 4 -> {
                    int n = Math.min(1 + rnd.nextInt(64), b.length - p);
                    byte[] o = new byte[b.length + n];
                    System.arraycopy(b, 0, o, 0, p + n);
                    System.arraycopy(b, p, o, p + n, b.length - p);
                    b = o;
                }
                default -> {
                    b = b.clone();
                    b[p] = (byte) rnd.nextInt(256);
                }
            }
        }
        return b;
    }
}
