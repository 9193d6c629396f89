package fdrestore.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.ITypeInfo;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.Model.UsageMessageSpec;
import picocli.CommandLine.Range;

/**
 * The command line built from the generated model (CliModel) is the one picocli reads from the annotations: help text
 * byte for byte, every attribute of every command, option and positional parameter, what a command line parses to,
 * the errors, the completion script; and building it reads no annotation.
 */
class CliModelTest {
    /** The full command line (null), or the one that runs {@code args}, from the generated model. */
    private static CommandLine generated(String... args) {
        CommandLine cl = Cli.build(Invocation.DIRECT, args == null ? null : Cli.subcommandOf(args), false);
        assertNull(((Cli) cl.getCommand()).annotationsBecause, "the generated model was not used");
        return cl;
    }

    private static CommandLine annotated(String... args) {
        return Cli.build(Invocation.DIRECT, args == null ? null : Cli.subcommandOf(args), true);
    }

    /** Every command of the tree under {@code cl}, by qualified name. */
    private static Map<String, CommandLine> all(CommandLine cl) {
        Map<String, CommandLine> m = new LinkedHashMap<>();
        m.put(cl.getCommandSpec().qualifiedName(), cl);
        for (CommandLine sub : cl.getSubcommands().values()) {
            m.putAll(all(sub));
        }
        return m;
    }

    @Test
    void theGeneratedModelIsWhatStartsUse() {
        generated((String[]) null);
        for (String c : Cli.SUBCOMMANDS.keySet()) {
            generated(c, "x");
        }
        generated("--version");
        assertEquals(List.of(), CliModelTest.class.getClassLoader().resources("META-INF/fdrestore/cli-model/fdrestore.txt")
                .skip(1).toList(), "one model on the class path");
    }

    /** A file of the model, as the build wrote it. */
    private static String file(String command) throws Exception {
        try (InputStream in = CliModel.class.getResourceAsStream(CliModel.RESOURCES + command + ".txt")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void theModelInTheClassesIsTheOneTheAnnotationsMakeNow() throws Exception {
        Map<String, String> now = CliModelWriter.files();
        assertEquals(Cli.SUBCOMMANDS.size() + 1, now.size(), now.keySet().toString());
        for (Map.Entry<String, String> f : now.entrySet()) {
            assertEquals(f.getValue(), file(f.getKey()), f.getKey() + ": the build writes the model at process-classes: run it again");
        }
    }

    @Test
    void helpIsTheSameByteForByte() {
        Map<String, CommandLine> a = all(annotated((String[]) null));
        Map<String, CommandLine> g = all(generated((String[]) null));
        assertEquals(a.keySet(), g.keySet());
        assertTrue(a.size() > Cli.SUBCOMMANDS.size() + 3, a.keySet().toString()); // image's own subcommands too
        for (String c : a.keySet()) {
            for (CommandLine.Help.Ansi ansi : List.of(CommandLine.Help.Ansi.OFF, CommandLine.Help.Ansi.ON)) {
                assertEquals(a.get(c).getUsageMessage(ansi), g.get(c).getUsageMessage(ansi), c + " " + ansi);
            }
        }
        for (String c : Cli.SUBCOMMANDS.keySet()) {
            assertEquals(annotated(c).getSubcommands().get(c).getUsageMessage(CommandLine.Help.Ansi.OFF),
                    generated(c).getSubcommands().get(c).getUsageMessage(CommandLine.Help.Ansi.OFF), c + " built alone");
        }
    }

    @Test
    void everyAttributeIsTheSame() {
        Map<String, CommandLine> a = all(annotated((String[]) null));
        Map<String, CommandLine> g = all(generated((String[]) null));
        assertEquals(a.keySet(), g.keySet());
        for (String c : a.keySet()) {
            assertEquals(describe(a.get(c)), describe(g.get(c)), c);
        }
        // the tests see what they compare: the attributes that matter here are in the description
        String restore = describe(g.get("fdrestore restore"));
        for (String s : List.of("names=[--progress] ", "negatable=true", "defaultValue=/ ", "type=java.util.Map aux=[class "
                + "java.lang.String, class java.lang.String]", "mixins=[pluginFolders, mixinStandardHelpOptions]",
                "names=[--plugins] ", "scope=INHERIT", "index=0 (0..0 false false 0+)", "hidden=true", "enum=[wait, detach, kill]")) {
            assertTrue(restore.contains(s), s + " in\n" + restore);
        }
    }

    private static final List<List<String>> LINES = List.of(
            List.of("restore", "DIR"),
            List.of("restore", "--root", "/r", "--then=kill", "--verify", "--json", "--plugins", "a", "--plugins", "b",
                    "--plugins-only", "c", "--plugin-option", "k=v", "--option", "a=b", "--inherit-fd", "fd[3]:pipe:[1]",
                    "--no-progress", "-D", "d", "-d", "--pidfile", "p", "-o", "log", "-v3", "--workers", "4", "--exec",
                    "--listen-fds", "--cwd-fallback", "--hold", "--pty-any-index", "--allow-devices", "--shell-job",
                    "--inject-fault", "dup2:1", "--run-dir", "rd", "--max-fds-per-task", "9", "--pause-at", "tables", "DIR"),
            List.of("restore", "--progress", "--then", "detach", "--restore-detached", "DIR"),
            List.of("-v", "--log-file", "f.log", "restore", "-v0", "DIR"),
            List.of("--verbose", "restore", "--log-file=g", "-v4", "DIR"),
            List.of("dump", "-t", "1", "-D", "d", "--freeze", "--skip-unknown", "--plugins", "p", "-o", "l", "--json"),
            List.of("dump", "--tree", "7", "--images-dir", "d"),
            List.of("show", "--json", "x"),
            List.of("show", "--plugins-only", "a", "x"),
            List.of("graph", "--svg", "-o", "f", "--dot", "neato", "x"),
            List.of("image", "decode", "-i", "a", "-o", "b", "--pretty"),
            List.of("image", "encode", "a"),
            List.of("image", "show", "i"),
            List.of("image"),
            List.of("check", "--json"),
            List.of("cleanup", "--run-dir", "d", "--json"),
            List.of("plugins", "--plugins-only", "d", "--plugins", "e", "--json"),
            List.of("bench", "--generate", "2x3", "--runs", "1", "--warmup", "0", "--floor", "--fds", "5", "--command",
                    "--criu", "c", "--out", "o", "--root", "r", "--json", "x"),
            List.of("serve", "--socket", "s", "--warm-up", "0"),
            List.of("help", "restore"),
            List.of("help"),
            List.of("restore", "--help"),
            List.of("-V"),
            List.of(),
            // errors
            List.of("restore", "--nosuch", "x"),
            List.of("restore", "--tcp-established", "x"),
            List.of("restore", "--then=later", "x"),
            List.of("restore", "a", "b"),
            List.of("restore", "--root"),
            List.of("restore", "--progress=maybe", "x"),
            List.of("restore", "--plugin-option", "novalue", "x"),
            List.of("restore", "--workers", "many", "x"),
            List.of("dump", "-t", "x", "-D", "d"),
            List.of("dump"),
            List.of("graph"),
            List.of("image", "show"),
            List.of("nosuch"),
            List.of("--log-file"),
            List.of("show", "-vv", "x"));

    @Test
    void commandLinesParseToTheSameValues() throws Exception {
        for (List<String> line : LINES) {
            String[] args = line.toArray(String[]::new);
            String a = parsed(annotated(args), args);
            String g = parsed(generated(args), args);
            assertEquals(a, g, String.join(" ", line));
        }
        // the comparison sees values: a default, a list, a map, a negated option, a mixin's field, criu's -vN
        String full = parsed(generated(LINES.get(1).toArray(String[]::new)), LINES.get(1).toArray(String[]::new));
        for (String s : List.of("root=/r", "then=kill", "extra=[a, b]", "only=[c]", "pluginOptions={k=v, a=b}",
                "progress=false", "criuLevel=3", "maxFdsPerTask=9")) {
            assertTrue(full.contains(s), s + " in " + full);
        }
        String defaults = parsed(generated("restore", "DIR"), new String[] {"restore", "DIR"});
        assertTrue(defaults.contains("root=/,") && defaults.contains("then=wait") && defaults.contains("progress=null")
                && defaults.contains("criuLevel=-1"), defaults);
    }

    /** What {@code args} parse to: the error, or the matched arguments and the fields of every command object. */
    private static String parsed(CommandLine cl, String[] args) throws Exception {
        StringBuilder b = new StringBuilder();
        try {
            CommandLine.ParseResult r = cl.parseArgs(args);
            for (CommandLine.ParseResult p = r; p != null; p = p.subcommand()) {
                b.append(p.commandSpec().qualifiedName()).append(" usage=").append(p.isUsageHelpRequested())
                        .append(" version=").append(p.isVersionHelpRequested()).append(" unmatched=").append(p.unmatched())
                        .append('\n');
                for (ArgSpec a : p.matchedArgs()) {
                    b.append("  matched ").append(a).append(" = ").append(String.valueOf(a.<Object>getValue()))
                            .append(" ").append(a.stringValues()).append('\n');
                }
            }
        } catch (CommandLine.ParameterException e) {
            b.append(e.getClass().getName()).append(": ").append(e.getMessage()).append(" in ")
                    .append(e.getCommandLine().getCommandSpec().qualifiedName()).append('\n');
        }
        for (CommandLine c : all(cl).values()) {
            b.append(c.getCommandSpec().qualifiedName()).append(": ").append(fields(c.getCommand())).append('\n');
        }
        return b.toString();
    }

    /** The fields of a command or mixin object (ours, recursively), picocli's model objects left out. */
    private static String fields(Object o) throws IllegalAccessException {
        if (o instanceof CommandLine.HelpCommand || o instanceof HelpSubcommand) {
            return "help " + field(o, "helpRequested") + " " + field(o, "commands");
        }
        StringBuilder b = new StringBuilder(o.getClass().getSimpleName()).append('{');
        for (Class<?> k = o.getClass(); k != Object.class; k = k.getSuperclass()) {
            for (Field f : k.getDeclaredFields()) {
                if (Modifier.isStatic(f.getModifiers()) || f.getType().getName().startsWith("picocli.")
                        || f.getName().equals("annotationsBecause")) { // what differs on purpose
                    continue;
                }
                f.setAccessible(true);
                Object v = f.get(o);
                b.append(f.getName()).append('=');
                b.append(v != null && v.getClass().getName().startsWith("fdrestore.app.") && !v.getClass().isEnum()
                        && !(v instanceof Invocation) ? fields(v) : String.valueOf(v)).append(", ");
            }
        }
        return b.append('}').toString();
    }

    private static Object field(Object o, String name) throws IllegalAccessException {
        for (Class<?> k = o.getClass(); k != Object.class; k = k.getSuperclass()) {
            try {
                Field f = k.getDeclaredField(name);
                f.setAccessible(true);
                return f.get(o);
            } catch (NoSuchFieldException e) {
                // the superclass then
            }
        }
        throw new AssertionError(o.getClass() + " has no " + name);
    }

    /** Run as bin/fdrestore runs them (exit code, stdout, stderr): help, the version, usage errors. */
    @Test
    void commandLinesRunTheSame() {
        for (List<String> line : List.<List<String>>of(List.of("--help"), List.of("--version"), List.of("help"), List.of("help", "restore"),
                List.of("help", "image"), List.of("help", "nosuch"), List.of("help", "-h"), List.of("restore", "--help"),
                List.of("image", "decode", "--help"), List.of("restore", "-h", "--json"), List.of("show", "-V"),
                List.of("restore", "--nosuch", "x"), List.of("restore", "--tcp-established", "x"),
                List.of("restore", "--then=later", "x"), List.of("dump", "-t", "x", "-D", "d"), List.of("dump", "--json"),
                List.of("graph"), List.of("restore", "a", "b"), List.of(), List.of("nosuch"), List.of("image"),
                List.of("restore", "-o", "k=v", "x"), List.of("restore", "-o", "a", "--log-file", "b", "x"))) {
            String[] args = line.toArray(String[]::new);
            assertEquals(run(annotated(args), args), run(generated(args), args), String.join(" ", line));
        }
    }

    private static String run(CommandLine cl, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return "exit " + code + "\n--- stdout\n" + out + "--- stderr\n" + err;
    }

    /**
     * The completion script: picocli's AutoComplete completes {@code help <TAB>} with the commands only when the help
     * command is its own class, so the build makes the script from the annotations (Completion); from the generated
     * model it differs there and nowhere else.
     */
    @Test
    void completionDiffersOnlyInTheHelpCommandsWords() {
        String annotated = AutoComplete.bash("fdrestore", annotated((String[]) null));
        String generated = AutoComplete.bash("fdrestore", generated((String[]) null));
        String words = "  local commands=\"" + String.join(" ", Cli.SUBCOMMANDS.keySet().stream().filter(c -> !c.equals("help")).toList()) + "\"\n";
        String help = "function _picocli_fdrestore_help() {\n";
        assertTrue(annotated.contains(help) && annotated.indexOf(words, annotated.indexOf(help)) > 0, annotated);
        int at = generated.indexOf("  local commands=\"\"\n", generated.indexOf(help));
        assertEquals(annotated, generated.substring(0, at) + words + generated.substring(at + "  local commands=\"\"\n".length()));
        assertEquals(annotated, Completion.script());
    }

    @Test
    void verboseSaysWhenTheAnnotationsWereRead() {
        String[] args = {"-v", "check", "--nosuch"};
        assertFalse(run(generated(args), args).contains("read from the annotations"));
        assertTrue(run(generated("-v", "--version"), "-v", "--version").contains("exit 0"));
        CommandLine a = annotated("-v", "plugins", "--plugins", "/nonexistent");
        String r = run(a, "-v", "plugins", "--plugins", "/nonexistent");
        assertTrue(r.contains("command line read from the annotations: asked for"), r);
    }

    /** The blocks of the root's file and restore's, {@code change} applied to their text. */
    private static Map<String, List<String>> blocks(java.util.function.UnaryOperator<String> change) throws Exception {
        Map<String, List<String>> b = new LinkedHashMap<>(CliModel.parse(change.apply(file("fdrestore"))));
        b.putAll(CliModel.parse(change.apply(file("restore"))));
        return b;
    }

    @Test
    void aModelThatDoesNotFitIsRefusedSayingWhy() throws Exception {
        String text = file("fdrestore") + file("restore");
        Map<String, Class<?>> restore = Map.of("restore", Cli.SUBCOMMANDS.get("restore"));
        // as it is: the command line of a restore
        assertEquals(List.of("restore"), List.copyOf(CliModel.commandLine(new Cli(), restore, blocks(t -> t))
                .getSubcommands().keySet()));
        String fp = CliModel.fingerprint(Cli.SUBCOMMANDS.get("restore"));
        assertTrue(text.contains("\tfdrestore.app.cli.RestoreCommand\t" + fp + "\n"), fp);
        Map<String, List<String>> stale = blocks(t -> t.replace("\tfdrestore.app.cli.RestoreCommand\t" + fp, "\tfdrestore.app.cli.RestoreCommand\t0"));
        assertEquals("fdrestore.app.cli.RestoreCommand changed since the model was generated (its fields differ)",
                assertThrows(CliModel.Unusable.class, () -> CliModel.commandLine(new Cli(), restore, stale)).getMessage());
        String other = file("restore").replaceFirst("\t" + CommandLine.VERSION.replace(".", "\\.") + "\n", "\t4.0.0\n");
        assertTrue(assertThrows(CliModel.Unusable.class, () -> CliModel.parse(other)).getMessage()
                .startsWith("the model was made with picocli 4.0.0"));
        assertEquals("fdrestore: @ArgGroup", assertThrows(CliModel.Unusable.class, () -> CliModel.parse(
                CliModel.MAGIC + "\t" + CliModel.FORMAT + "\t" + CommandLine.VERSION + "\nfallback\tfdrestore: @ArgGroup\n"))
                .getMessage());
        assertTrue(text.contains("option\tF\tfdrestore.app.cli.RestoreCommand\troot\t"));
        Map<String, List<String>> renamed = blocks(t -> t.replace("option\tF\tfdrestore.app.cli.RestoreCommand\troot\t",
                "option\tF\tfdrestore.app.cli.RestoreCommand\troots\t"));
        assertEquals("no field fdrestore.app.cli.RestoreCommand.roots", assertThrows(CliModel.Unusable.class,
                () -> CliModel.commandLine(new Cli(), restore, renamed)).getMessage());
        assertTrue(assertThrows(CliModel.Unusable.class, () -> CliModel.commandLine(new Cli(),
                Map.of("restore", Cli.SUBCOMMANDS.get("show")), blocks(t -> t))).getMessage()
                .startsWith("subcommand restore is fdrestore.app.cli.ShowCommand"));
        Map<String, List<String>> broken = blocks(t -> t.replace("a\tarity\t1\t1\tfalse\ttrue\t1\n", "a\tarity\t1\n"));
        assertTrue(assertThrows(CliModel.Unusable.class, () -> CliModel.commandLine(new Cli(), restore, broken)).getMessage()
                .startsWith("the model does not build: java.lang.ArrayIndexOutOfBoundsException"));
    }

    @Test
    void escapesRoundTrip() {
        for (String s : Arrays.asList("", "a\tb", "\\", "\\0", "x\ny\r", "%n", null)) {
            assertEquals(s, CliModel.unescape(CliModel.escape(s)), String.valueOf(s));
            assertFalse(CliModel.escape(s).contains("\t") || CliModel.escape(s).contains("\n"));
        }
    }

    /**
     * A fresh JVM that builds the whole command line from the generated model, prints every help and parses and runs
     * a few command lines, then lists the dynamic proxy classes it has: none may be of a picocli annotation. The same
     * JVM reading the annotations shows what such a proxy looks like (the probe sees them).
     */
    @Test
    void buildingTheCommandLineReadsNoAnnotation(@TempDir Path tmp) throws Exception {
        String generated = probe(tmp, "generated");
        assertTrue(generated.contains("probe done"), generated);
        assertFalse(generated.contains("picocli.CommandLine$"), generated);
        String annotations = probe(tmp, "annotations");
        assertTrue(annotations.contains("proxy of picocli.CommandLine$Option") && annotations.contains("proxy of picocli.CommandLine$Command"),
                annotations);
    }

    private static String probe(Path tmp, String how) throws Exception {
        Path out = tmp.resolve(how + ".out");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xshare:auto",
                "-cp", System.getProperty("java.class.path"), CliModelProbe.class.getName(), how)
                .redirectErrorStream(true).redirectOutput(out.toFile()).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the probe runs");
        String text = Files.readString(out);
        assertEquals(0, p.exitValue(), text);
        return text;
    }

    /** Describes a command: every attribute of its spec, usage message and arguments that picocli reads. */
    @SuppressWarnings("deprecation")
    private static String describe(CommandLine cl) {
        CommandSpec s = cl.getCommandSpec();
        UsageMessageSpec u = s.usageMessage();
        StringBuilder b = new StringBuilder();
        Class<?> type = s.userObject().getClass() == HelpSubcommand.class ? CommandLine.HelpCommand.class : s.userObject().getClass();
        b.append("command ").append(s.qualifiedName()).append(" of ").append(type.getName())
                .append(" name=").append(s.name()).append(" aliases=").append(Arrays.toString(s.aliases()))
                .append(" version=").append(Arrays.toString(s.version()))
                .append(" versionProvider=").append(s.versionProvider() == null ? null : s.versionProvider().getClass())
                .append(" helpCommand=").append(s.helpCommand()).append(" methodSubcommands=").append(s.isAddMethodSubcommands())
                .append(" interpolate=").append(s.interpolateVariables()).append(" repeatable=").append(s.subcommandsRepeatable())
                .append(" scope=").append(s.scopeType()).append(" inherited=").append(s.inherited())
                .append(" exitCodes=").append(List.of(s.exitCodeOnSuccess(), s.exitCodeOnUsageHelp(), s.exitCodeOnVersionHelp(),
                        s.exitCodeOnInvalidInput(), s.exitCodeOnExecutionException()))
                .append(" separator=").append(s.parser().separator())
                .append(" standardHelp=").append(s.mixinStandardHelpOptions())
                .append(" mixins=").append(s.mixins().keySet())
                .append(" mixinArgs=").append(s.mixins().values().stream().map(m -> m.args().size()).toList())
                .append(" subcommands=").append(s.subcommands().keySet())
                .append(" parent=").append(s.parent() == null ? null : s.parent().qualifiedName())
                .append(" unmatched=").append(s.unmatchedArgsBindings().size()).append(" groups=").append(s.argGroups().size())
                .append(" requiredArgs=").append(s.requiredArgs().size())
                .append(" negatable=").append(s.negatedOptionsMap().keySet())
                .append(" posix=").append(s.posixOptionsMap().keySet())
                .append(" optionsMap=").append(s.optionsMap().keySet())
                .append('\n');
        b.append(" usage headerHeading=").append(u.headerHeading()).append(" header=").append(Arrays.toString(u.header()))
                .append(" synopsisHeading=").append(u.synopsisHeading()).append(" synopsisLabel=").append(u.synopsisSubcommandLabel())
                .append(" abbreviate=").append(u.abbreviateSynopsis()).append(" custom=").append(Arrays.toString(u.customSynopsis()))
                .append(" descriptionHeading=").append(u.descriptionHeading()).append(" description=").append(Arrays.toString(u.description()))
                .append(" parameterListHeading=").append(u.parameterListHeading()).append(" optionListHeading=").append(u.optionListHeading())
                .append(" sortOptions=").append(u.sortOptions()).append(" sortSynopsis=").append(u.sortSynopsis())
                .append(" marker=").append(u.requiredOptionMarker()).append(" showDefaults=").append(u.showDefaultValues())
                .append(" atFile=").append(u.showAtFileInUsageHelp()).append(" endOfOptions=").append(u.showEndOfOptionsDelimiterInUsageHelp())
                .append(" hidden=").append(u.hidden()).append(" commandListHeading=").append(u.commandListHeading())
                .append(" footerHeading=").append(u.footerHeading()).append(" footer=").append(Arrays.toString(u.footer()))
                .append(" exitCodeListHeading=").append(u.exitCodeListHeading()).append(" exitCodeList=").append(u.exitCodeList())
                .append(" width=").append(u.width()).append(" autoWidth=").append(u.autoWidth())
                .append(" longOptionsMaxWidth=").append(u.longOptionsMaxWidth()).append(" cjk=").append(u.adjustLineBreaksForWideCJKCharacters())
                .append(" sections=").append(u.sectionKeys())
                .append('\n');
        for (ArgSpec a : s.args()) {
            b.append(" ").append(a.isOption() ? "option" : "positional");
            if (a instanceof OptionSpec o) {
                b.append(" names=").append(Arrays.toString(o.names())).append(" order=").append(o.order())
                        .append(" negatable=").append(o.negatable()).append(" fallbackValue=").append(o.fallbackValue())
                        .append(" usageHelp=").append(o.usageHelp()).append(" versionHelp=").append(o.versionHelp())
                        .append(" help=").append(o.help()).append(" longest=").append(o.longestName())
                        .append(" shortest=").append(o.shortestName());
            } else {
                Range i = ((PositionalParamSpec) a).index();
                b.append(" index=").append(i).append(" (").append(range(i)).append(")");
            }
            ITypeInfo t = a.typeInfo();
            b.append(" arity=").append(a.arity()).append(" (").append(range(a.arity())).append(")")
                    .append(" paramLabel=").append(a.paramLabel()).append(" hideParamSyntax=").append(a.hideParamSyntax())
                    .append(" description=").append(Arrays.toString(a.description())).append(" descriptionKey=").append(a.descriptionKey())
                    .append(" defaultValue=").append(a.defaultValue()).append(" mapFallback=").append(a.mapFallbackValue())
                    .append(" required=").append(a.required()).append(" originallyRequired=").append(a.originallyRequired())
                    .append(" hidden=").append(a.hidden()).append(" inherited=").append(a.inherited())
                    .append(" split=").append(a.splitRegex()).append(" splitLabel=").append(a.splitRegexSynopsisLabel())
                    .append(" scope=").append(a.scopeType())
                    .append(" type=").append(a.type().getName()).append(" aux=").append(Arrays.toString(a.auxiliaryTypes()))
                    .append(" typeInfo=").append(List.of(t.isBoolean(), t.isMultiValue(), t.isOptional(), t.isArray(), t.isCollection(),
                            t.isMap(), t.isEnum(), t.getClassName(), t.getClassSimpleName(),
                            t.getAuxiliaryTypeInfos().stream().map(ITypeInfo::getClassName).toList()))
                    .append(" enum=").append(t.isEnum() ? t.getEnumConstantNames() : "-")
                    .append(" interactive=").append(a.interactive()).append(" echo=").append(a.echo()).append(" prompt=").append(a.prompt())
                    .append(" showDefault=").append(a.showDefaultValue())
                    .append(" candidates=").append(a.completionCandidates() == null ? null : list(a.completionCandidates()))
                    .append(" converters=").append(a.converters().length).append(" consumer=").append(a.parameterConsumer())
                    .append(" preprocessor=").append(a.preprocessor() == null ? null : a.preprocessor().getClass().getName())
                    .append(" hasInitial=").append(a.hasInitialValue()).append(" initial=").append(String.valueOf(a.initialValue()))
                    .append(" value=").append(String.valueOf(a.<Object>getValue())).append(" gettable=").append(a.isValueGettable())
                    .append(" toString=").append(a).append(" member=").append(member(a.userObject()))
                    .append(" group=").append(a.group()).append(" root=").append(a.root() == null ? null : a.root().toString())
                    .append(" command=").append(a.command() == null ? null : a.command().qualifiedName())
                    .append(" defaultString=").append(a.defaultValueString())
                    .append('\n');
        }
        return b.toString();
    }

    private static String range(Range r) {
        return r.min() + ".." + r.max() + " " + r.isVariable() + " " + r.isUnspecified() + " " + r.originalValue();
    }

    private static List<String> list(Iterable<String> i) {
        List<String> l = new ArrayList<>();
        i.forEach(l::add);
        return l;
    }

    /** An argument's field or method, picocli's help command and its stand-in named alike. */
    private static String member(Object m) {
        if (m instanceof Field f) {
            String c = f.getDeclaringClass() == HelpSubcommand.class ? CommandLine.HelpCommand.class.getName() : f.getDeclaringClass().getName();
            return "field " + c + "." + f.getName() + " " + f.getType().getName();
        }
        return String.valueOf(m);
    }
}
