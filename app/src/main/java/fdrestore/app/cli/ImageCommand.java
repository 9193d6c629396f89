package fdrestore.app.cli;

import fdrestore.api.image.codec.Magic;
import fdrestore.app.Cli;
import fdrestore.app.Invocation;
import fdrestore.core.json.Json;
import fdrestore.core.json.JsonException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code fdrestore image decode|encode|show}: one image as crit's JSON, and back. */
@Command(name = "image", addMethodSubcommands = false, mixinStandardHelpOptions = true,
        description = {"Decodes an image to crit's JSON (what `crit decode --pretty` prints) and encodes such JSON back",
            "into the same bytes. Special fields print as crit prints them: open flags by name, criu's enums and",
            "dictionaries by name, hex words, devices as MAJOR:MINOR, addresses, payloads in base64 under",
            "\"extra\" (docs/IMAGES.md, \"crit's JSON\")."},
        footer = {"%nExamples:",
            "  fdrestore image show images-samples/criu-4.2/a_pipe/pipes-data.img",
            "  fdrestore image decode -i files.img -o files.json",
            "  fdrestore image decode images-samples/criu-4.2/v_unix -o /tmp/v_unix.json",
            "  fdrestore image encode -i files.json -o files.img",
            "%nExit codes: 0 done; 2 bad usage, an image or a JSON document that cannot be read."},
        subcommands = {ImageCommand.Decode.class, ImageCommand.Encode.class, ImageCommand.Show.class})
public final class ImageCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "image needs a subcommand: decode, encode or show");
    }

    /** What decode and encode share: -i IN (or IN), -o OUT. */
    abstract static class InOut {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "IN", arity = "0..1", description = "The input (or -i IN).")
        Path in;

        @Option(names = {"-i", "--in"}, paramLabel = "IN", description = "crit's spelling of IN.")
        Path inOption;

        @Option(names = {"-o", "--out"}, paramLabel = "OUT", description = "Where to write (default: stdout for one file; "
                + "for a directory, a new directory is required).")
        Path out;

        @Option(names = "--pretty", description = "Accepted for crit's sake: the output is always crit's pretty form.")
        boolean pretty;

        Path input() throws Cli.UsageException {
            if (in != null && inOption != null && !in.equals(inOption)) {
                throw new Cli.UsageException("two inputs: " + in + " and -i " + inOption + ": give one");
            }
            Path p = in != null ? in : inOption;
            if (p == null) {
                throw new Cli.UsageException("the input is missing: give IN or -i IN");
            }
            if (!Files.exists(p)) {
                throw new Cli.UsageException(p + ": no such file or directory");
            }
            return p;
        }

        /** A new output directory (its parent must exist); fails when it exists and is not empty. */
        Path outDir(Path p) throws IOException, Cli.UsageException {
            if (p == null) {
                throw new Cli.UsageException("a directory needs -o OUTDIR");
            }
            if (Files.isDirectory(p)) {
                try (Stream<Path> s = Files.list(p)) {
                    if (s.findAny().isPresent()) {
                        throw new Cli.UsageException("-o " + p + ": the directory is not empty");
                    }
                }
            } else {
                Files.createDirectory(p);
            }
            return p;
        }
    }

    /** crit's JSON of an image, as text ending with a newline. */
    static String decode(Path image) throws IOException {
        long size = Files.size(image);
        long room = Runtime.getRuntime().maxMemory() / 8;
        if (size > room) {
            // The document is built whole (payloads in base64 are 4/3 of their size, and a String and the
            // text of the entries come on top): refused before a byte is read, not an OutOfMemoryError.
            throw new IOException(image + ": an image of " + size + " bytes, whose crit JSON is made whole in memory:"
                    + " more than this JVM's heap of " + Runtime.getRuntime().maxMemory() + " bytes holds ("
                    + room + " bytes of image at most; a larger heap: FDRESTORE_JAVA_OPTS=-Xmx...)");
        }
        byte[] bytes = Files.readAllBytes(image);
        try {
            return Json.pretty(CritJson.decode(bytes, image)) + "\n";
        } catch (IllegalArgumentException e) {
            throw new IOException(image + ": " + e.getMessage(), e);
        }
    }

    /** The image bytes of a crit JSON document. */
    static byte[] encode(Path json) throws IOException {
        Object doc;
        try {
            doc = Json.parse(Files.readString(json, StandardCharsets.UTF_8));
        } catch (JsonException e) {
            throw new IOException(json + ": not JSON: " + e.getMessage(), e);
        }
        try {
            return CritJson.encodeBytes(doc);
        } catch (IllegalArgumentException e) {
            throw new IOException(json + ": " + e.getMessage(), e);
        }
    }

    /** The images of a directory fdrestore knows, by name. */
    static List<Path> images(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".img") && Files.isRegularFile(p)).sorted().toList();
        }
    }

    @Command(name = "decode", addMethodSubcommands = false, mixinStandardHelpOptions = true,
            description = {"Writes crit's JSON of one image (to stdout or -o FILE), or of every image of a directory",
                "(NAME.img to OUTDIR/NAME.json; images of kinds fdrestore does not know are listed on stderr and",
                "left out)."})
    static final class Decode extends InOut implements Callable<Integer> {
        @Override
        public Integer call() throws Exception {
            Path p = input();
            PrintWriter out = spec.commandLine().getOut();
            if (!Files.isDirectory(p)) {
                String json = decode(p);
                if (this.out == null) {
                    out.print(json);
                    out.flush();
                } else {
                    Files.writeString(this.out, json, StandardCharsets.UTF_8);
                }
                return Cli.EXIT_OK;
            }
            Path dir = outDir(this.out);
            int n = 0;
            for (Path img : images(p)) {
                String name = img.getFileName().toString();
                if (Magic.forFileName(name).isEmpty() && CritJson.extraFor(name) == null) {
                    spec.commandLine().getErr().println("fdrestore: " + img + ": left out, an image kind fdrestore does not know");
                    continue;
                }
                Files.writeString(dir.resolve(name.substring(0, name.length() - 4) + ".json"), decode(img), StandardCharsets.UTF_8);
                n++;
            }
            spec.commandLine().getErr().flush();
            out.println("Decoded " + n + " image" + (n == 1 ? "" : "s") + " to " + dir);
            out.flush();
            return Cli.EXIT_OK;
        }
    }

    @Command(name = "encode", addMethodSubcommands = false, mixinStandardHelpOptions = true,
            description = {"Turns crit's JSON of one image back into the image (-o FILE, or stdout when it is not a",
                "terminal), or every NAME.json of a directory into OUTDIR/NAME.img."})
    static final class Encode extends InOut implements Callable<Integer> {
        @Override
        public Integer call() throws Exception {
            Path p = input();
            if (!Files.isDirectory(p)) {
                byte[] img = encode(p);
                if (this.out == null) {
                    if (Cli.invocation(spec) != Invocation.DIRECT || System.console() != null) {
                        throw new Cli.UsageException("encode writes binary: give -o FILE or redirect stdout");
                    }
                    System.out.write(img);
                    System.out.flush();
                } else {
                    Files.write(this.out, img);
                }
                return Cli.EXIT_OK;
            }
            Path dir = outDir(this.out);
            int n = 0;
            try (Stream<Path> s = Files.list(p)) {
                for (Path j : s.filter(f -> f.getFileName().toString().endsWith(".json")).sorted().toList()) {
                    String name = j.getFileName().toString();
                    Files.write(dir.resolve(name.substring(0, name.length() - 5) + ".img"), encode(j));
                    n++;
                }
            }
            PrintWriter out = spec.commandLine().getOut();
            out.println("Encoded " + n + " image" + (n == 1 ? "" : "s") + " to " + dir);
            out.flush();
            return Cli.EXIT_OK;
        }
    }

    @Command(name = "show", addMethodSubcommands = false, mixinStandardHelpOptions = true,
            description = "Prints crit's JSON of one image on stdout (crit show).")
    static final class Show implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "IMAGE", description = "The image file.")
        Path image;

        @Override
        public Integer call() throws Exception {
            if (!Files.isRegularFile(image)) {
                throw new Cli.UsageException(image + ": no such file");
            }
            PrintWriter out = spec.commandLine().getOut();
            out.print(decode(image));
            out.flush();
            return Cli.EXIT_OK;
        }
    }
}
