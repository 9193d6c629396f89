package fdrestore.app;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.IAnnotatedElement;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.Model.UsageMessageSpec;
import picocli.CommandLine.Range;

/**
 * Build step of the app (app/pom.xml, process-classes): writes the picocli model of the command line, as picocli
 * makes it from the annotations, into the directory named by its argument ({@link CliModel#RESOURCES} in the
 * classes), one file per command, for {@link CliModel} to rebuild at every start without reading an annotation.
 *
 * <p>Texts are written as in the annotations: picocli resolves their {@code ${...}} when it prints them, in the
 * environment of the run. What the format cannot say (argument groups, converters, a default-value provider, and
 * the like: none of fdrestore's commands has one) is refused by name; the root's file then says so, the build prints it,
 * every start reads the annotations again, and CliModelTest fails until the format learns it.
 */
public final class CliModelWriter {
    private CliModelWriter() {
    }

    public static void main(String[] args) throws IOException {
        Map<String, String> files;
        try {
            files = files();
        } catch (Unsupported e) {
            System.err.println("fdrestore: no generated CLI model, every start reads the annotations: " + e.getMessage());
            StringBuilder b = header();
            record(b, "fallback", e.getMessage());
            files = Map.of(CliModel.ROOT, b.toString());
        }
        Path dir = Path.of(args[0]).toAbsolutePath();
        Files.createDirectories(dir);
        try (var old = Files.newDirectoryStream(dir, "*.txt")) {
            for (Path f : old) {
                Files.delete(f); // a command that is no more
            }
        }
        for (Map.Entry<String, String> f : files.entrySet()) {
            Files.writeString(dir.resolve(f.getKey() + ".txt"), f.getValue(), StandardCharsets.UTF_8);
        }
    }

    /** Something of a command the format cannot say. */
    static final class Unsupported extends Exception {
        private static final long serialVersionUID = 1L;

        Unsupported(String message) {
            super(message);
        }
    }

    /**
     * The whole model, by file: the root command alone ({@link CliModel#ROOT}), and each subcommand of
     * {@link Cli#SUBCOMMANDS} with its own subcommands.
     */
    static Map<String, String> files() throws Unsupported {
        Map<String, String> files = new LinkedHashMap<>();
        StringBuilder root = header();
        command(root, "fdrestore", Cli.annotated(new Cli(), ""));
        files.put(CliModel.ROOT, root.toString());
        for (Map.Entry<String, Class<?>> e : Cli.SUBCOMMANDS.entrySet()) {
            StringBuilder b = header();
            command(b, "fdrestore " + e.getKey(), new CommandLine(e.getValue()));
            files.put(e.getKey(), b.toString());
        }
        return files;
    }

    private static StringBuilder header() {
        StringBuilder b = new StringBuilder();
        record(b, CliModel.MAGIC, CliModel.FORMAT, CommandLine.VERSION);
        return b;
    }

    private static void command(StringBuilder b, String name, CommandLine cl) throws Unsupported {
        CommandSpec spec = cl.getCommandSpec();
        boolean interpolate = spec.interpolateVariables();
        spec.interpolateVariables(false); // the getters below then answer the texts as written
        Object user = spec.userObject();
        refuseWhatTheFormatCannotSay(name, spec);
        record(b, "command", name, user.getClass().getName(), CliModel.fingerprint(user.getClass()));
        CommandSpec d = CommandSpec.create();
        attribute(b, "c", "name", spec.name(), d.name());
        attribute(b, "c", "aliases", spec.aliases(), d.aliases());
        if (spec.versionProvider() == null) { // else version() is what the provider says at build time
            attribute(b, "c", "version", spec.version(), d.version());
        }
        attribute(b, "c", "versionProvider", spec.versionProvider() == null ? null : spec.versionProvider().getClass().getName(), null);
        attribute(b, "c", "helpCommand", spec.helpCommand(), d.helpCommand());
        attribute(b, "c", "addMethodSubcommands", spec.isAddMethodSubcommands(), d.isAddMethodSubcommands());
        attribute(b, "c", "interpolateVariables", interpolate, d.interpolateVariables());
        attribute(b, "c", "subcommandsRepeatable", spec.subcommandsRepeatable(), d.subcommandsRepeatable());
        attribute(b, "c", "scope", spec.scopeType(), d.scopeType());
        attribute(b, "c", "separator", spec.parser().separator(), d.parser().separator());
        attribute(b, "c", "exitCodeOnSuccess", spec.exitCodeOnSuccess(), d.exitCodeOnSuccess());
        attribute(b, "c", "exitCodeOnUsageHelp", spec.exitCodeOnUsageHelp(), d.exitCodeOnUsageHelp());
        attribute(b, "c", "exitCodeOnVersionHelp", spec.exitCodeOnVersionHelp(), d.exitCodeOnVersionHelp());
        attribute(b, "c", "exitCodeOnInvalidInput", spec.exitCodeOnInvalidInput(), d.exitCodeOnInvalidInput());
        attribute(b, "c", "exitCodeOnExecutionException", spec.exitCodeOnExecutionException(), d.exitCodeOnExecutionException());
        usage(b, spec.usageMessage(), d.usageMessage());
        Map<String, CommandLine> subs = new LinkedHashMap<>();
        for (Map.Entry<String, CommandLine> s : spec.subcommands().entrySet()) {
            if (s.getKey().equals(s.getValue().getCommandSpec().name())) { // aliases are keys too
                record(b, "sub", s.getKey());
                subs.put(s.getKey(), s.getValue());
            }
        }
        specFields(b, spec, "SELF");
        Set<CommandSpec> written = Collections.newSetFromMap(new IdentityHashMap<>());
        for (ArgSpec a : spec.args()) {
            if (a.inherited()) {
                continue; // a parent's, added again when this command is added to it
            }
            Map.Entry<String, CommandSpec> mixin = mixinOf(spec, a);
            if (mixin == null) {
                arg(b, a);
            } else if (written.add(mixin.getValue())) {
                mixin(b, spec, mixin.getKey(), mixin.getValue());
            }
        }
        for (Map.Entry<String, CommandSpec> m : spec.mixins().entrySet()) {
            if (written.add(m.getValue())) {
                mixin(b, spec, m.getKey(), m.getValue()); // one without options
            }
        }
        for (Map.Entry<String, CommandLine> s : subs.entrySet()) {
            command(b, name + " " + s.getKey(), s.getValue());
        }
    }

    private static void refuseWhatTheFormatCannotSay(String name, CommandSpec spec) throws Unsupported {
        List<String> no = new ArrayList<>();
        if (spec.userObject() instanceof Method) {
            no.add("a @Command method");
        }
        if (!spec.argGroups().isEmpty()) {
            no.add("@ArgGroup");
        }
        if (!spec.unmatchedArgsBindings().isEmpty()) {
            no.add("@Unmatched");
        }
        if (!spec.parentCommandElements().isEmpty()) {
            no.add("@ParentCommand");
        }
        if (spec.defaultValueProvider() != null) {
            no.add("a default value provider");
        }
        if (spec.modelTransformer() != null) {
            no.add("a model transformer");
        }
        if (!noOp(spec.preprocessor())) {
            no.add("a preprocessor");
        }
        if (spec.resourceBundleBaseName() != null) {
            no.add("a resource bundle");
        }
        if (!spec.usageMessage().exitCodeList().isEmpty()) {
            no.add("an exit code list");
        }
        if (spec.versionProvider() != null) {
            for (Field f : spec.versionProvider().getClass().getDeclaredFields()) {
                if (f.isAnnotationPresent(CommandLine.Spec.class)) {
                    no.add("@Spec in the version provider");
                }
            }
        }
        for (CommandSpec m : spec.mixins().values()) {
            if (!m.mixins().isEmpty() || !m.subcommands().isEmpty() || !m.argGroups().isEmpty()) {
                no.add("a mixin with mixins, subcommands or groups of its own");
            }
        }
        if (!no.isEmpty()) {
            throw new Unsupported(name + ": " + String.join(", ", no));
        }
    }

    /** Whether {@code p} is picocli's default preprocessor, which does nothing. */
    private static boolean noOp(CommandLine.IParameterPreprocessor p) {
        return p == null || p.getClass().getName().equals("picocli.CommandLine$NoOpParameterPreprocessor");
    }

    private static void usage(StringBuilder b, UsageMessageSpec u, UsageMessageSpec d) {
        attribute(b, "u", "headerHeading", u.headerHeading(), d.headerHeading());
        attribute(b, "u", "header", u.header(), d.header());
        attribute(b, "u", "synopsisHeading", u.synopsisHeading(), d.synopsisHeading());
        attribute(b, "u", "synopsisSubcommandLabel", u.synopsisSubcommandLabel(), d.synopsisSubcommandLabel());
        attribute(b, "u", "abbreviateSynopsis", u.abbreviateSynopsis(), d.abbreviateSynopsis());
        attribute(b, "u", "customSynopsis", u.customSynopsis(), d.customSynopsis());
        attribute(b, "u", "descriptionHeading", u.descriptionHeading(), d.descriptionHeading());
        attribute(b, "u", "description", u.description(), d.description());
        attribute(b, "u", "parameterListHeading", u.parameterListHeading(), d.parameterListHeading());
        attribute(b, "u", "optionListHeading", u.optionListHeading(), d.optionListHeading());
        attribute(b, "u", "sortOptions", u.sortOptions(), d.sortOptions());
        attribute(b, "u", "sortSynopsis", u.sortSynopsis(), d.sortSynopsis());
        attribute(b, "u", "requiredOptionMarker", u.requiredOptionMarker(), d.requiredOptionMarker());
        attribute(b, "u", "showDefaultValues", u.showDefaultValues(), d.showDefaultValues());
        attribute(b, "u", "showAtFileInUsageHelp", u.showAtFileInUsageHelp(), d.showAtFileInUsageHelp());
        attribute(b, "u", "showEndOfOptionsDelimiterInUsageHelp", u.showEndOfOptionsDelimiterInUsageHelp(),
                d.showEndOfOptionsDelimiterInUsageHelp());
        attribute(b, "u", "hidden", u.hidden(), d.hidden());
        attribute(b, "u", "commandListHeading", u.commandListHeading(), d.commandListHeading());
        attribute(b, "u", "footerHeading", u.footerHeading(), d.footerHeading());
        attribute(b, "u", "footer", u.footer(), d.footer());
        attribute(b, "u", "exitCodeListHeading", u.exitCodeListHeading(), d.exitCodeListHeading());
        attribute(b, "u", "width", u.width(), d.width());
        attribute(b, "u", "autoWidth", u.autoWidth(), d.autoWidth());
        attribute(b, "u", "longOptionsMaxWidth", u.longOptionsMaxWidth(), d.longOptionsMaxWidth());
        attribute(b, "u", "adjustLineBreaksForWideCJKCharacters", u.adjustLineBreaksForWideCJKCharacters(),
                d.adjustLineBreaksForWideCJKCharacters());
    }

    /** The @Spec fields of {@code spec}'s user object; {@code self}: what a plain @Spec there means. */
    private static void specFields(StringBuilder b, CommandSpec spec, String self) throws Unsupported {
        for (IAnnotatedElement e : spec.specElements()) {
            Field f = field(e.userObject(), "@Spec");
            CommandLine.Spec.Target t = e.getAnnotation(CommandLine.Spec.class).value();
            record(b, "spec", t == CommandLine.Spec.Target.MIXEE ? "MIXEE" : self, f.getDeclaringClass().getName(),
                    f.getName(), f.getType().getName());
        }
    }

    private static Map.Entry<String, CommandSpec> mixinOf(CommandSpec spec, ArgSpec a) {
        for (Map.Entry<String, CommandSpec> m : spec.mixins().entrySet()) {
            for (ArgSpec x : m.getValue().args()) {
                if (x == a) {
                    return m;
                }
            }
        }
        return null;
    }

    private static void mixin(StringBuilder b, CommandSpec spec, String name, CommandSpec mixin) throws Unsupported {
        IAnnotatedElement holder = spec.mixinAnnotatedElements().get(name);
        Object user = mixin.userObject();
        if (holder == null || bound(user.getClass()) == null) {
            if (!mixin.specElements().isEmpty()) {
                throw new Unsupported(spec.name() + ": mixin " + name + " of picocli's own has @Spec fields");
            }
            record(b, "mixin", name, "-"); // picocli's own (--help and --version): nothing of ours to bind
        } else {
            Field f = field(holder.userObject(), "@Mixin " + name);
            record(b, "mixin", name, "F", f.getDeclaringClass().getName(), f.getName(), f.getType().getName(),
                    user.getClass().getName(), CliModel.fingerprint(user.getClass()));
            specFields(b, mixin, "SELF");
        }
        for (ArgSpec a : mixin.args()) {
            arg(b, a);
        }
        record(b, "end");
    }

    /** {@code c} if the members of its objects are bound by the model, else null (picocli's own classes). */
    private static Class<?> bound(Class<?> c) {
        return !c.getName().startsWith("picocli.") || c.getName().equals(CliModel.PICOCLI_HELP) ? c : null;
    }

    private static Field field(Object member, String what) throws Unsupported {
        if (member instanceof Field f) {
            return f;
        }
        throw new Unsupported(what + " on " + member + ", not on a field");
    }

    private static void arg(StringBuilder b, ArgSpec a) throws Unsupported {
        String kind = a.isOption() ? "option" : "positional";
        Object member = a.userObject();
        Map<String, List<String>> attributes = attributes(a);
        if (member instanceof Field f && bound(f.getDeclaringClass()) != null) {
            record(b, kind, "F", f.getDeclaringClass().getName(), f.getName(), f.getType().getName());
        } else if (member instanceof Method m && bound(m.getDeclaringClass()) != null && m.getParameterCount() == 1) {
            record(b, kind, "M", m.getDeclaringClass().getName(), m.getName(), m.getParameterTypes()[0].getName());
        } else if (member instanceof Field f) {
            record(b, kind, "-", f.getDeclaringClass().getName(), f.getName(), f.getType().getName());
            Object initial = a.initialValue();
            if (initial != null && !(initial instanceof Boolean)) {
                throw new Unsupported(a + ": the initial value " + initial + " of a member of picocli's " + f.getDeclaringClass());
            }
            if (initial != null) {
                attributes.put("initial", List.of(initial.toString()));
            }
        } else {
            throw new Unsupported(a + " on " + member);
        }
        for (Map.Entry<String, List<String>> e : attributes.entrySet()) {
            List<String> r = new ArrayList<>(List.of("a", e.getKey()));
            r.addAll(e.getValue());
            record(b, r.toArray(String[]::new));
        }
    }

    /** Always written: the rest only where it differs from what picocli's builder makes by itself. */
    private static final Set<String> ALWAYS = Set.of("names", "index", "arity", "paramLabel", "description", "type",
            "auxiliaryTypes", "toString");

    private static Map<String, List<String>> attributes(ArgSpec a) throws Unsupported {
        Map<String, List<String>> m = values(a);
        Map<String, List<String>> d = values(a.isOption() ? OptionSpec.builder("-x").build() : PositionalParamSpec.builder().build());
        d.put("descriptionKey", List.of("")); // what an annotation says by default, and the model's default
        d.put("prompt", List.of(""));
        m.entrySet().removeIf(e -> !ALWAYS.contains(e.getKey()) && Objects.equals(e.getValue(), d.get(e.getKey())));
        if (a.converters().length > 0) {
            throw new Unsupported(a + ": a converter");
        }
        if (a.parameterConsumer() != null) {
            throw new Unsupported(a + ": a parameter consumer");
        }
        if (!noOp(a.preprocessor())) {
            throw new Unsupported(a + ": a preprocessor");
        }
        if (a.completionCandidates() != null && !(a.typeInfo().isEnum() && enumNames(a).equals(list(a.completionCandidates())))) {
            throw new Unsupported(a + ": completion candidates");
        }
        if (a.group() != null) {
            throw new Unsupported(a + ": an argument group");
        }
        return m;
    }

    private static List<String> enumNames(ArgSpec a) {
        List<String> names = new ArrayList<>();
        for (Object c : a.typeInfo().getEnumConstantNames()) {
            names.add(c.toString());
        }
        return names;
    }

    /**
     * Every attribute the model keeps of {@code a}, as written in its annotation (no ${...} resolved); the deprecated
     * {@code help} too, which picocli still honours.
     */
    @SuppressWarnings("deprecation")
    private static Map<String, List<String>> values(ArgSpec a) {
        Map<String, List<String>> m = new LinkedHashMap<>();
        if (a instanceof OptionSpec o) {
            m.put("names", Arrays.asList(OptionSpec.builder(o).names()));
        } else {
            m.put("index", range(((PositionalParamSpec) a).index()));
        }
        m.put("arity", range(a.arity()));
        m.put("paramLabel", list(a.paramLabel()));
        m.put("hideParamSyntax", list(a.hideParamSyntax()));
        m.put("description", Arrays.asList(a.description()));
        m.put("descriptionKey", list(a.descriptionKey()));
        m.put("defaultValue", list(a.defaultValue()));
        m.put("required", list(a.required()));
        m.put("hidden", list(a.hidden()));
        m.put("split", list(a.splitRegex()));
        m.put("splitSynopsisLabel", list(a.splitRegexSynopsisLabel()));
        m.put("scope", list(a.scopeType()));
        m.put("type", list(a.type().getName()));
        m.put("auxiliaryTypes", Arrays.stream(a.auxiliaryTypes()).map(Class::getName).toList());
        m.put("interactive", list(a.interactive()));
        m.put("echo", list(a.echo()));
        m.put("prompt", list(a.prompt()));
        m.put("showDefaultValue", list(a.showDefaultValue()));
        m.put("toString", list(a.toString()));
        if (a instanceof OptionSpec o) {
            OptionSpec.Builder raw = OptionSpec.builder(o);
            m.put("mapFallbackValue", list(raw.mapFallbackValue()));
            m.put("order", list(o.order()));
            m.put("negatable", list(o.negatable()));
            m.put("fallbackValue", list(raw.fallbackValue()));
            m.put("usageHelp", list(o.usageHelp()));
            m.put("versionHelp", list(o.versionHelp()));
            m.put("help", list(o.help()));
        } else {
            m.put("mapFallbackValue", list(PositionalParamSpec.builder((PositionalParamSpec) a).mapFallbackValue()));
        }
        return m;
    }

    /** min, max, variable, unspecified, and the text: what picocli's Range keeps. */
    private static List<String> range(Range r) {
        return Arrays.asList(String.valueOf(r.min()), String.valueOf(r.max()), String.valueOf(r.isVariable()),
                String.valueOf(r.isUnspecified()), r.originalValue());
    }

    private static List<String> list(Object value) {
        if (value instanceof Iterable<?> i) {
            List<String> l = new ArrayList<>();
            i.forEach(x -> l.add(String.valueOf(x)));
            return l;
        }
        return Collections.singletonList(value == null ? null : value.toString());
    }

    private static void attribute(StringBuilder b, String kind, String key, Object value, Object dflt) {
        List<String> v = value instanceof String[] s ? Arrays.asList(s) : list(value);
        List<String> d = dflt instanceof String[] s ? Arrays.asList(s) : list(dflt);
        if (!v.equals(d)) {
            List<String> r = new ArrayList<>(List.of(kind, key));
            r.addAll(v);
            record(b, r.toArray(String[]::new));
        }
    }

    private static void record(StringBuilder b, String... fields) {
        for (int i = 0; i < fields.length; i++) {
            b.append(i == 0 ? "" : "\t").append(CliModel.escape(fields[i]));
        }
        b.append('\n');
    }
}
