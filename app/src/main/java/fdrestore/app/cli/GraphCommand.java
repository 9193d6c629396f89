package fdrestore.app.cli;

import fdrestore.api.image.ImageSet;
import fdrestore.app.Cli;
import fdrestore.app.PluginHost;
import fdrestore.app.PluginOptions;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code fdrestore graph DIR}: the image set as a Graphviz picture. */
@Command(name = "graph", addMethodSubcommands = false, mixinStandardHelpOptions = true,
        description = {"Writes the image set as a Graphviz DOT graph: sessions (boxes) holding tasks (boxes, with",
            "their group), each task's fds, the parent of each task, shared files (an edge from the master,",
            "which opens the file, to each slave, which receives it), nested objects (the pipe behind both",
            "ends, unix socket peers) and restore dependencies (tty slave -> master, epoll -> targets, unix",
            "connect -> peer), and what each kind's plugin links (a pidfd to its task). Read from the images only."},
        footer = {"%nEdge classes (the DOT 'class' attribute): parent, shared, nested, peer, dep.",
            "%nExamples:",
            "  fdrestore graph images-samples/criu-4.2/a_pipe | dot -Tpng > a_pipe.png",
            "  fdrestore graph --svg -o a_pipe.svg images-samples/criu-4.2/a_pipe",
            "%nExit codes: 0 written, 2 bad usage, images that cannot be read, or --svg without Graphviz."})
public final class GraphCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "DIR", description = "The image directory (written by criu dump or fdrestore dump).")
    Path dir;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "Write to FILE instead of stdout.")
    Path output;

    @Option(names = "--svg", description = "Render to SVG with Graphviz's dot (which must be installed).")
    boolean svg;

    @Option(names = "--dot", paramLabel = "PROGRAM", defaultValue = "dot", hidden = true,
            description = "The Graphviz program to render with (default: ${DEFAULT-VALUE} on the PATH).")
    String dotProgram;

    @Mixin
    PluginOptions pluginFolders = new PluginOptions();

    @Override
    public Integer call() throws Exception {
        ImageSet images = ImageSet.open(dir);
        String dot;
        try (PluginHost host = Cli.invocation(spec).plugins(pluginFolders.dirs())) {
            dot = new DotGraph(images, fdrestore.api.spi.FileKind.byType(host.kinds())).toDot();
        }
        byte[] bytes = svg ? render(dot) : dot.getBytes(StandardCharsets.UTF_8);
        if (output != null) {
            Files.write(output, bytes);
        } else {
            PrintWriter out = spec.commandLine().getOut();
            out.print(new String(bytes, StandardCharsets.UTF_8));
            out.flush();
        }
        return Cli.EXIT_OK;
    }

    /** Renders DOT to SVG through Graphviz, or explains how to install it. */
    private byte[] render(String dot) throws Exception {
        Process p;
        try {
            p = new ProcessBuilder(dotProgram, "-Tsvg").redirectError(ProcessBuilder.Redirect.PIPE).start();
        } catch (IOException e) {
            throw new Cli.UsageException("--svg needs Graphviz's '" + dotProgram + "', which is not installed: install it "
                    + "(Debian/Ubuntu: apt-get install graphviz; Fedora: dnf install graphviz; macOS: brew install graphviz), "
                    + "or write DOT without --svg and render it elsewhere");
        }
        try (OutputStream in = p.getOutputStream()) {
            in.write(dot.getBytes(StandardCharsets.UTF_8));
        }
        ByteArrayOutputStream svgOut = new ByteArrayOutputStream();
        ByteArrayOutputStream errOut = new ByteArrayOutputStream();
        Thread errReader = new Thread(() -> copy(p.getErrorStream(), errOut), "fdrestore-dot-stderr");
        errReader.start();
        copy(p.getInputStream(), svgOut);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(dotProgram + " -Tsvg did not finish within 60 s");
        }
        errReader.join();
        if (p.exitValue() != 0) {
            throw new IOException(dotProgram + " -Tsvg failed (exit " + p.exitValue() + "): "
                    + errOut.toString(StandardCharsets.UTF_8).strip());
        }
        return svgOut.toByteArray();
    }

    private static void copy(InputStream in, ByteArrayOutputStream out) {
        try (in) {
            in.transferTo(out);
        } catch (IOException ignored) {
            // the exit status tells
        }
    }
}
