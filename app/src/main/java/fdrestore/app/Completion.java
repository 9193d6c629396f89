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
 *
 * <p>The script is made from the model picocli reads from the annotations, not from the generated one every start
 * uses ({@link CliModel}): AutoComplete completes {@code fdrestore help <TAB>} with the commands only when the help
 * command is picocli's own class, which the generated model replaces by a stand-in ({@link HelpSubcommand}).
 */
public final class Completion {
    private Completion() {
    }

    public static void main(String[] args) throws IOException {
        Files.writeString(Path.of(args[0]), script(), StandardCharsets.UTF_8);
    }

    static String script() {
        return AutoComplete.bash("fdrestore", Cli.build(Invocation.DIRECT, null, true));
    }
}
