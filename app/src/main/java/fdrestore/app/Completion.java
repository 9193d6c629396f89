package fdrestore.app;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.AutoComplete;

/**
 * Build step of the distribution (app/pom.xml): writes the bash and zsh completion script of the whole
 * command line to the file named by its argument. picocli's own {@code AutoComplete} main cannot: it
 * builds the model from the annotations, and {@link Cli} registers its subcommands itself.
 */
public final class Completion {
    private Completion() {
    }

    public static void main(String[] args) throws IOException {
        Files.writeString(Path.of(args[0]), AutoComplete.bash("fdrestore", Cli.commandLine()), StandardCharsets.UTF_8);
    }
}
