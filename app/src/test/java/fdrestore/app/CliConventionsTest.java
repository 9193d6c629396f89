package fdrestore.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import picocli.AutoComplete;
import picocli.CommandLine;

/** The command line's conventions: help with examples everywhere, --json where promised, completion. */
class CliConventionsTest {
    static final Set<String> JSON_COMMANDS = Set.of("restore", "show", "check", "plugins");
    /** The commands this test holds to "help with examples" (dump and bench are checked by their own tests). */
    static final Set<String> WITH_EXAMPLES = Set.of("restore", "show", "check", "plugins", "graph");

    static List<String> commands() {
        return Cli.commandLine().getSubcommands().keySet().stream().filter(n -> !n.equals("help")).toList();
    }

    @Test
    void everyCommandHasHelpWithExamplesAndExitCodes() {
        CliRunner root = CliRunner.run("--help");
        assertEquals(0, root.code, root.toString());
        assertTrue(root.out.contains("Examples:") && root.out.contains("Exit codes:"), root.out);
        assertTrue(root.out.contains("--log-file") && root.out.contains("--verbose"), root.out);
        for (String c : commands()) {
            CliRunner h = CliRunner.run(c, "--help");
            assertEquals(0, h.code, c + ": " + h);
            assertTrue(h.out.startsWith("Usage: fdrestore " + c), c + ": " + h.out);
            if (WITH_EXAMPLES.contains(c)) {
                assertTrue(h.out.contains("Examples:"), c + " --help has examples:\n" + h.out);
            }
            assertTrue(h.out.contains("--log-file"), c + ": the logging options are inherited\n" + h.out);
        }
        assertTrue(commands().containsAll(Set.of("restore", "show", "check", "plugins", "graph")), commands().toString());
    }

    /** Help fits 80 columns as written: prose is wrapped by picocli, examples are never broken by it. */
    @Test
    void helpProseIsReflowedAndExamplesFitEightyColumns() {
        List<String> all = new java.util.ArrayList<>(commands());
        all.add("");
        for (String c : all) {
            CliRunner h = c.isEmpty() ? CliRunner.run("--help") : CliRunner.run(c, "--help");
            boolean examples = false;
            for (String line : h.out.lines().toList()) {
                assertTrue(line.length() <= 80, c + ": a line over 80 columns: " + line);
                if (line.equals("Examples:")) {
                    examples = true;
                } else if (line.isEmpty()) {
                    examples = false;
                } else if (examples) {
                    assertTrue(line.startsWith("  "), c + ": an example broken by the wrapping: '" + line + "'");
                }
            }
        }
        // prose lines join; a blank line, an indented example, a %n line and a line after a heading stay
        assertEquals(List.of("one two", "", "  an example", "%nNext:", "three four", "%nMore"),
                List.of(Cli.paragraphs(new String[] {"one", "two", "", "  an example", "%nNext:", "three", "four", "%nMore"})));
    }

    @Test
    void subcommandsAreRegisteredUnderTheirCommandNames() {
        for (var e : Cli.SUBCOMMANDS.entrySet()) {
            assertEquals(e.getKey(), e.getValue().getAnnotation(CommandLine.Command.class).name(), e.getValue().getName());
        }
    }

    @Test
    void mainWarmsUpForARestoreOnly() {
        // the same rule as the subcommand picocli builds: root options and --log-file's value are skipped
        assertTrue(Main.restores(new String[] {"-v", "--log-file", "restore.log", "restore", "DIR"}));
        assertFalse(Main.restores(new String[] {"--log-file", "restore", "show", "DIR"}));
        assertFalse(Main.restores(new String[] {"help", "restore"}));
        assertFalse(Main.restores(new String[] {"--version"}));
    }

    @Test
    void noCommandMakesPicocliLookForMethodSubcommands() {
        // picocli otherwise reads the annotations of every method of a command class, at every start
        List<CommandLine> all = new java.util.ArrayList<>(List.of(Cli.commandLine()));
        for (int i = 0; i < all.size(); i++) {
            CommandLine c = all.get(i);
            all.addAll(c.getSubcommands().values());
            if (c.getCommandSpec().helpCommand()) {
                continue; // picocli's own
            }
            assertEquals(false, c.getCommandSpec().isAddMethodSubcommands(),
                    c.getCommandName() + " (" + c.getCommand().getClass().getName() + "): set addMethodSubcommands = false");
        }
    }

    @Test
    void aCommandLineBuildsOnlyTheSubcommandItNames() {
        assertEquals(Set.of("show"), Cli.commandLine(Invocation.DIRECT, "-v", "--log-file", "restore", "show", "x")
                .getSubcommands().keySet(), "--log-file's value is no subcommand");
        assertEquals(Set.of("restore"), Cli.commandLine(Invocation.DIRECT, "restore", "--help").getSubcommands().keySet());
        assertEquals(Set.of(), Cli.commandLine(Invocation.DIRECT, "-v", "--version").getSubcommands().keySet());
        assertEquals(List.of("fdrestore " + Cli.Version.version()), CliRunner.run("--version").out.lines().toList());
        for (List<String> all : List.<List<String>>of(List.of("--version", "--help"), List.of("help", "restore"), List.of("nosuch", "x"), List.of(),
                List.of("--log-file"))) {
            assertEquals(List.copyOf(Cli.SUBCOMMANDS.keySet()), List.copyOf(Cli.commandLine(Invocation.DIRECT,
                    all.toArray(String[]::new)).getSubcommands().keySet()), all + ": every subcommand, in --help's order");
        }
    }

    @Test
    void aSubcommandBuiltAloneHasTheHelpItHasAmongAll() {
        CommandLine full = Cli.commandLine();
        for (String c : commands()) {
            CommandLine alone = Cli.commandLine(Invocation.DIRECT, c).getSubcommands().get(c);
            assertEquals(full.getSubcommands().get(c).getUsageMessage(CommandLine.Help.Ansi.OFF),
                    alone.getUsageMessage(CommandLine.Help.Ansi.OFF), c);
        }
    }

    @Test
    void jsonWhereItIsPromised() {
        CommandLine cl = Cli.commandLine();
        for (String c : JSON_COMMANDS) {
            assertNotNull(cl.getSubcommands().get(c).getCommandSpec().findOption("--json"), c + " has --json");
        }
    }

    @Test
    void completionCoversEveryCommandAndOption() {
        String script = AutoComplete.bash("fdrestore", Cli.commandLine());
        assertTrue(script.contains("complete -F _complete_fdrestore"), "a bash completion function");
        assertTrue(script.contains("ZSH_VERSION") && script.contains("bashcompinit"), "the same script serves zsh");
        for (String c : commands()) {
            assertTrue(script.contains("_picocli_fdrestore_" + c), "completes " + c);
        }
        assertTrue(script.contains("--then") && script.contains("--svg") && script.contains("--json"), script);
    }

    @Test
    void usageErrorsExitTwoOnOneLine() {
        CliRunner r = CliRunner.run("restore", "--then=later", "x");
        assertEquals(2, r.code, r.toString());
        assertEquals(List.of("fdrestore: Invalid value for option '--then': expected one of [wait, detach, kill] "
                + "(case-sensitive) but was 'later'", "Try 'fdrestore restore --help' for more information."),
                r.err.lines().toList());
        CliRunner none = CliRunner.run();
        assertEquals(2, none.code, none.toString());
    }
}
