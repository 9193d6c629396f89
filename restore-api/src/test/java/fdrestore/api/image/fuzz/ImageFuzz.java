package fdrestore.api.image.fuzz;

import fdrestore.api.image.Describe;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.ImageSetException;
import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.ImageFormatException;
import fdrestore.api.image.codec.ImageReader;
import fdrestore.api.image.codec.ImageWriter;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileEntry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

/**
 * The image fuzzer (issue 9): seeded mutations of the real criu sample images, fed to the codec
 * ({@link ImageReader#read(byte[], Path, Magic)}, with the kind from the name and from the header) and, one
 * input in {@value #SET_EVERY}, to {@link ImageSet#open} on a copy of a sample set with one image mutated,
 * followed by everything {@code show} reads (side images, per-object images, descriptions of every file).
 * The only failure allowed is the documented format error: {@link ImageFormatException} or
 * {@link ImageSetException}. Anything else (another exception, an {@link OutOfMemoryError}, an input that
 * runs for more than {@value #HANG_SECONDS} s) is a finding: the input is saved (see {@link #save}) and
 * reported.
 *
 * <p>Long run: {@code java ... fdrestore.api.image.fuzz.ImageFuzz SEED INPUTS} or the JUnit test with
 * {@code -Dfdrestore.fuzz.inputs=1000000} (docs/HARDENING.md).
 */
public final class ImageFuzz {
    static final int SET_EVERY = 50;
    /**
     * Issue 22's bound. 10 s made the first (cold) input of a run a "hang" on a host with a load average of
     * 66 on 2 cores; replayed, that input took 45 ms warm.
     */
    static final int HANG_SECONDS = 30;

    /** One finding: the input, which target and what went wrong. */
    record Finding(String target, String name, byte[] input, Throwable error) {
        @Override
        public String toString() {
            return target + " " + name + " (" + input.length + " bytes): " + error;
        }
    }

    /** The figures of one run. */
    record Stats(long inputs, long codecInputs, long setInputs, long formatErrors, long accepted, List<Finding> findings,
                 long millis) {
        @Override
        public String toString() {
            return String.format("%d inputs (%d codec, %d image-set), %d rejected as format errors, %d accepted, "
                    + "%d findings, %.1f s", inputs, codecInputs, setInputs, formatErrors, accepted, findings.size(),
                    millis / 1000.0);
        }
    }

    private final List<Path> sets;
    private final List<String> names = new ArrayList<>();
    private final List<byte[]> corpus = new ArrayList<>();
    private final Path scratch;

    ImageFuzz(Path samplesRoot, Path scratch) throws IOException {
        this.scratch = scratch;
        try (Stream<Path> s = Files.list(samplesRoot.resolve("criu-4.2"))) {
            this.sets = s.filter(p -> Files.exists(p.resolve("inventory.img"))).sorted().toList(); // image sets only
        }
        // The codec inputs: every image of every set, the zdtm corpus (criu-4.2/zdtm/ENTRY) and the real
        // servers (criu-4.2/real/NAME) included; the set-level inputs mutate the top-level sets only.
        try (Stream<Path> s = Files.walk(samplesRoot.resolve("criu-4.2"), 3)) {
            for (Path p : s.filter(p -> p.toString().endsWith(".img") && !p.toString().contains("/json/")
                    && Files.exists(p.resolveSibling("inventory.img"))).sorted().toList()) {
                names.add(p.getFileName().toString());
                corpus.add(Files.readAllBytes(p));
            }
        }
        if (corpus.isEmpty()) {
            throw new IllegalStateException("no sample images under " + samplesRoot);
        }
    }

    /** What the codec inputs are drawn from: how many images, of how many kinds (magics). */
    String corpus() {
        long kinds = names.stream().map(n -> Magic.forFileName(n).map(Magic::name).orElse(n)).distinct().count();
        return corpus.size() + " images of " + kinds + " kinds";
    }

    /** Checks one codec input; null when it behaved (decoded, or refused with the format error). */
    static Throwable codec(String name, byte[] input) {
        Magic byName = Magic.forFileName(name).orElse(null);
        Throwable t = codecOnce(name, input, byName);
        return t != null ? t : codecOnce(name, input, null);
    }

    private static final AtomicLong FORMAT_ERRORS = new AtomicLong();
    private static final AtomicLong ACCEPTED = new AtomicLong();

    private static Throwable codecOnce(String name, byte[] input, Magic expected) {
        try {
            ImageFile f = ImageReader.read(input, Path.of(name), expected);
            for (ImageEntry e : f.entries()) {
                e.message().toString();
                e.payloadLength();
            }
            // what was accepted must write back (the writer is the reader's inverse on valid images)
            ImageWriter.toBytes(f);
            ACCEPTED.incrementAndGet();
            return null;
        } catch (ImageFormatException e) {
            FORMAT_ERRORS.incrementAndGet();
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    /** Opens the set in {@code dir} and reads everything show reads; null when it behaved. */
    static Throwable imageSet(Path dir) {
        try {
            ImageSet images = ImageSet.open(dir);
            images.tasks().forEach(t -> images.fdrTask(t.pid()));
            images.sharers();
            for (Map.Entry<Long, FileEntry> e : images.files().entrySet()) {
                Describe.file(images, e.getValue());
                Describe.kind(e.getValue());
            }
            for (Magic m : Magic.values()) {
                if (m.isPerObject()) {
                    for (long id : images.files().keySet()) {
                        images.image(m, id);
                    }
                } else {
                    images.image(m).messages();
                }
            }
            ACCEPTED.incrementAndGet();
            return null;
        } catch (ImageFormatException | ImageSetException e) {
            FORMAT_ERRORS.incrementAndGet();
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    /** Runs {@code inputs} inputs (or until {@code maxMillis}) from {@code seed}. */
    Stats run(long seed, long inputs, long maxMillis) throws Exception {
        return run(seed, inputs, maxMillis, null);
    }

    /** As {@link #run(long, long, long)}, printing the count so far to {@code progress} once a minute when given. */
    Stats run(long seed, long inputs, long maxMillis, java.io.PrintStream progress) throws Exception {
        FORMAT_ERRORS.set(0);
        ACCEPTED.set(0);
        Mutator m = new Mutator(seed, corpus);
        List<Finding> findings = new ArrayList<>();
        AtomicLong done = new AtomicLong();
        AtomicLong sets = new AtomicLong();
        AtomicReference<Object[]> current = new AtomicReference<>();
        long start = System.currentTimeMillis();
        Thread worker = new Thread(() -> {
            try {
                for (long i = 0; i < inputs && System.currentTimeMillis() - start < maxMillis; i++) {
                    if (i % SET_EVERY == SET_EVERY - 1) {
                        Path set = sets().get(m.nextInt(sets().size()));
                        Path dir = copySet(set);
                        List<Path> imgs;
                        try (Stream<Path> s = Files.list(dir)) {
                            imgs = s.sorted().toList();
                        }
                        Path victim = imgs.get(m.nextInt(imgs.size()));
                        byte[] in = m.mutate(Files.readAllBytes(victim));
                        Files.write(victim, in);
                        current.set(new Object[] {"set " + set.getFileName(), victim.getFileName().toString(), in});
                        Throwable t = imageSet(dir);
                        if (t != null) {
                            synchronized (findings) {
                                findings.add(new Finding("imageset", set.getFileName() + "/" + victim.getFileName(), in, t));
                            }
                        }
                        sets.incrementAndGet();
                    } else {
                        int k = m.nextInt(corpus.size());
                        String name = names.get(k);
                        byte[] in = m.mutate(corpus.get(k));
                        current.set(new Object[] {"codec", name, in});
                        Throwable t = codec(name, in);
                        if (t != null) {
                            synchronized (findings) {
                                findings.add(new Finding("codec", name, in, t));
                            }
                        }
                    }
                    done.incrementAndGet();
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, "image-fuzz");
        worker.setDaemon(true);
        AtomicReference<Throwable> died = new AtomicReference<>();
        worker.setUncaughtExceptionHandler((th, e) -> died.set(e));
        worker.start();
        long last = -1;
        long lastChange = System.currentTimeMillis();
        long nextProgress = lastChange + 60_000;
        while (worker.isAlive()) {
            worker.join(1000);
            long d = done.get();
            if (progress != null && System.currentTimeMillis() >= nextProgress) {
                nextProgress += 60_000;
                synchronized (findings) {
                    progress.printf("image fuzz, seed %d: %d inputs (%d image-set), %d findings, %d s%n", seed, d,
                            sets.get(), findings.size(), (System.currentTimeMillis() - start) / 1000);
                }
            }
            if (d != last) {
                last = d;
                lastChange = System.currentTimeMillis();
            } else if (System.currentTimeMillis() - lastChange > HANG_SECONDS * 1000L) {
                Object[] c = current.get();
                findings.add(new Finding(c[0] + " (hang)", (String) c[1], (byte[]) c[2],
                        new IllegalStateException("no progress for " + HANG_SECONDS + " s")));
                worker.interrupt();
                break;
            }
        }
        if (died.get() != null) {
            throw new IllegalStateException("the fuzzer itself failed", died.get());
        }
        List<Finding> out;
        synchronized (findings) {
            out = List.copyOf(findings);
        }
        return new Stats(done.get(), done.get() - sets.get(), sets.get(), FORMAT_ERRORS.get(), ACCEPTED.get(), out,
                System.currentTimeMillis() - start);
    }

    List<Path> sets() {
        return sets;
    }

    private Path copySet(Path set) throws IOException {
        Path dir = scratch.resolve("set");
        if (Files.isDirectory(dir)) {
            try (Stream<Path> s = Files.list(dir)) {
                for (Path p : s.toList()) {
                    Files.delete(p);
                }
            }
        } else {
            Files.createDirectories(dir);
        }
        try (Stream<Path> s = Files.list(set)) {
            for (Path p : s.filter(p -> p.toString().endsWith(".img")).toList()) {
                Files.copy(p, dir.resolve(p.getFileName()));
            }
        }
        return dir;
    }

    /**
     * Saves a finding as {@code <dir>/<target>--<image name>--<sha256 prefix>.bin} (for image-set findings,
     * the name is {@code <set>/<image>} with the slash as {@code @}); the regression test replays it.
     */
    static Path save(Finding f, Path dir) throws IOException {
        Files.createDirectories(dir);
        String hash;
        try {
            hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(f.input())).substring(0, 16);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        String target = f.target().startsWith("codec") ? "codec" : "imageset";
        Path p = dir.resolve(target + "--" + f.name().replace('/', '@') + "--" + hash + ".bin");
        Files.write(p, f.input());
        return p;
    }

    /** Replays a saved input (see {@link #save}); null when it now behaves. */
    static Throwable replay(Path saved, Path samplesRoot, Path scratch) throws IOException {
        String[] parts = saved.getFileName().toString().split("--");
        byte[] in = Files.readAllBytes(saved);
        if (parts[0].equals("codec")) {
            return codec(parts[1], in);
        }
        String[] setAndImage = parts[1].split("@");
        Path dir = Files.createDirectories(scratch.resolve("replay-" + saved.getFileName()));
        try (Stream<Path> s = Files.list(samplesRoot.resolve("criu-4.2").resolve(setAndImage[0]))) {
            for (Path p : s.filter(p -> p.toString().endsWith(".img")).toList()) {
                Files.copy(p, dir.resolve(p.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
        Files.write(dir.resolve(setAndImage[1]), in);
        return imageSet(dir);
    }

    /**
     * The long run: {@code ImageFuzz [SEED [INPUTS [SAMPLES_DIR [SECONDS]]]]}, whichever of INPUTS and SECONDS
     * comes first, with a progress line a minute; findings go to target/fuzz-findings/.
     */
    public static void main(String[] args) throws Exception {
        long seed = args.length > 0 ? Long.parseLong(args[0]) : 1;
        long inputs = args.length > 1 ? Long.parseLong(args[1]) : 1_000_000;
        Path samples = Paths.get(args.length > 2 ? args[2] : Optional.ofNullable(System.getProperty("fdrestore.samples"))
                .orElse("images-samples"));
        long seconds = args.length > 3 ? Long.parseLong(args[3]) : Long.MAX_VALUE / 1000;
        Path scratch = Files.createTempDirectory("fdrestore-fuzz");
        ImageFuzz fuzz = new ImageFuzz(samples, scratch);
        System.out.println("image fuzz, seed " + seed + ", up to " + inputs + " inputs or " + seconds + " s, over "
                + fuzz.corpus());
        Stats st = fuzz.run(seed, inputs, seconds * 1000, System.out);
        for (Finding f : st.findings()) {
            System.out.println("FINDING " + f + " -> " + save(f, Paths.get("target/fuzz-findings")));
        }
        System.out.println("image fuzz, seed " + seed + ": " + st);
        try (Stream<Path> s = Files.walk(scratch)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
        System.exit(st.findings().isEmpty() ? 0 : 1);
    }
}
