package fdrestore.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.spi.FileDumper;
import fdrestore.api.spi.FileKind;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** What the help texts state about kinds and dump sides is what the plugins answer. */
class HelpFactsTest {
    /** How dump --help names each kind. */
    static final Map<String, String> PHRASE = Map.ofEntries(Map.entry("regular", "regular files"),
            Map.entry("pipe", "pipes"), Map.entry("fifo", "fifos"), Map.entry("unix", "unix sockets"),
            Map.entry("inet", "TCP (listeners"), Map.entry("tty", "terminals"), Map.entry("eventpoll", "epoll"),
            Map.entry("timerfd", "timerfd"), Map.entry("eventfd", "eventfd"), Map.entry("signalfd", "signalfd"),
            Map.entry("pidfd", "pidfds"), Map.entry("inotify", " inotify" /* not fanotify */), Map.entry("fanotify", "fanotify groups"), Map.entry("netlink-socket", "netlink"),
            Map.entry("packet-socket", "packet sockets"), Map.entry("memfd", "memfds"));

    @Test
    void dumpHelpNamesEveryKindWithADumpSideAndNoOther() {
        String help = String.join(" ", CliRunner.run("dump", "--help").out.split("\\s+"));
        try (PluginHost host = PluginHost.load(null)) {
            List<FileKind> kinds = host.kinds();
            assertTrue(kinds.size() >= 8, "the plugins on the test class path: " + kinds);
            for (FileKind k : kinds) {
                String phrase = PHRASE.get(k.name());
                assertTrue(phrase != null, "dump --help has a name for kind " + k.name());
                if (k instanceof FileDumper) {
                    assertTrue(help.contains(phrase), "kind " + k.name() + " dumps: dump --help names it (" + phrase
                            + ")\n" + help);
                } else {
                    assertFalse(help.contains(phrase), "kind " + k.name() + " has no dump side: dump --help must not "
                            + "claim it\n" + help);
                }
            }
            assertFalse(help.contains("no dump side"), "every kind on the class path dumps: " + help);
        }
    }

    @Test
    void restoreHelpsPluginOptionsAreTheOnesThePluginsRead() {
        try (PluginHost host = PluginHost.load(null)) {
            java.util.Set<String> known = new java.util.TreeSet<>();
            host.kinds().forEach(k -> known.addAll(k.options()));
            assertEquals(java.util.Set.of("allow-devices", "inet.fown", "inotify.drop-missing", "memfd.max-size",
                    "netlink.port", "pty-any-index", "regular-file.fown"), known);
            String restore = CliRunner.run("restore", "--help").out;
            // the two plugin options restore spells as its own flags
            assertTrue(restore.contains("pty-any-index") && restore.contains("--allow-devices"), restore);
        }
    }

    /** The top-level list shows each command's first paragraph: it must be whole sentences. */
    @Test
    void everyCommandSummaryIsWholeSentences() {
        CommandLine cl = Cli.commandLine();
        for (Map.Entry<String, CommandLine> c : cl.getSubcommands().entrySet()) {
            String[] d = c.getValue().getCommandSpec().usageMessage().description();
            assertTrue(d.length > 0, c.getKey());
            String first = d[0].replace("%n", "").strip(); // picocli's own help command carries %n around it
            assertTrue(first.endsWith("."), c.getKey() + "'s summary is cut: '" + d[0] + "'");
        }
    }
}
