package fdrestore.app;

import java.io.PrintWriter;
import picocli.CommandLine;

/**
 * What runs {@code fdrestore help [COMMAND]} when the command line comes from the generated model ({@link CliModel}).
 * picocli's {@link CommandLine.HelpCommand} keeps its argument in a private field of a package picocli does not open,
 * which only picocli's own reflection can set. Its name, texts and options still come from HelpCommand's annotations,
 * through the model; the two fields below have HelpCommand's names, and the model binds them in its place. This
 * prints what HelpCommand prints: the usage of COMMAND, or of the parent command when there is none.
 * (HelpCommand also matches an abbreviated COMMAND where the parent allows abbreviations; fdrestore does not.)
 */
final class HelpSubcommand implements CommandLine.IHelpCommandInitializable2, Runnable {
    /** -h/--help of the help command itself. */
    boolean helpRequested;
    /** COMMAND, or null. */
    String commands;

    private CommandLine self;
    private CommandLine.Help.ColorScheme colors;
    private PrintWriter out;

    @Override
    public void init(CommandLine helpCommandLine, CommandLine.Help.ColorScheme colorScheme, PrintWriter out, PrintWriter err) {
        this.self = helpCommandLine;
        this.colors = colorScheme;
        this.out = out;
    }

    @Override
    public void run() {
        CommandLine parent = self == null ? null : self.getParent();
        if (parent == null) {
            return;
        }
        if (commands == null) {
            parent.usage(out, colors);
            return;
        }
        CommandLine sub = parent.getCommandSpec().subcommands().get(commands);
        if (sub == null) {
            throw new CommandLine.ParameterException(parent, "Unknown subcommand '" + commands + "'.", null, commands);
        }
        sub.usage(out, colors);
    }
}
