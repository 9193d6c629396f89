package fdrestore.app;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.IGetter;
import picocli.CommandLine.Model.IScope;
import picocli.CommandLine.Model.IScoped;
import picocli.CommandLine.Model.ISetter;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.Model.UsageMessageSpec;
import picocli.CommandLine.Range;
import picocli.CommandLine.ScopeType;

/**
 * The picocli model of the command line, rebuilt from the resources under {@value #RESOURCES}, which the build
 * writes ({@link CliModelWriter}) from the model picocli makes of the annotations of the command classes.
 *
 * <p>Why: picocli reads {@code @Command}, {@code @Option} and the rest reflectively, and the JDK answers the first
 * read of each annotation type by generating a dynamic proxy class, in the interpreter, which no start-up archive
 * holds (JDK 25's AOT cache cannot keep dynamic proxies). That was about half of the 95 ms a cold restore spent
 * building its model. Here no annotation is read: each option is made with picocli's builders and bound to its
 * field (or setter method) by plain reflection on the classes of this module. The annotations stay the one
 * definition of every option, text and default; CliModelTest holds the two models equal, help text and parse
 * results included.
 *
 * <p>The resource is used only where it fits: the picocli version it was written with, and for each class it binds,
 * the names and types of the fields of the class and its superclasses (a fingerprint, a few microseconds to check).
 * Otherwise {@link Unusable} says why and {@link Cli} reads the annotations as before. A changed annotation on an
 * unchanged field is not seen here: the build writes the resource again whenever it compiles (process-classes).
 *
 * <p>The format: one file for the root command ({@code fdrestore.txt}) and one for each subcommand of
 * {@link Cli#SUBCOMMANDS} with its own subcommands ({@code restore.txt}), so that a start reads only the two it
 * builds; in each, one record a line, fields separated by tabs ({@link #escape}): a header (the format and picocli's
 * version), then one block per command, named by its qualified name ({@code fdrestore image decode}): its class and
 * fingerprint; {@code c} command and {@code u} usage-message attributes that differ from picocli's defaults; its
 * {@code sub}commands; its {@code spec} fields to inject; its {@code option}s and {@code positional}s (each with its
 * binding, then {@code a} attribute records) and its {@code mixin}s (their own fields, options and {@code end}), in
 * picocli's order.
 */
final class CliModel {
    /** Where the build puts the model, in the app's jar: {@code fdrestore.txt}, {@code restore.txt}, ... */
    static final String RESOURCES = "/META-INF/fdrestore/cli-model/";
    /** The file of the root command, which every start reads. */
    static final String ROOT = "fdrestore";
    /** The first field of the header. */
    static final String MAGIC = "fdrestore-cli-model";
    /** The version of the format: raised on any change of what a record means. */
    static final String FORMAT = "1";
    /** picocli's own help subcommand, whose arguments only picocli can set (its fields are private). */
    static final String PICOCLI_HELP = "picocli.CommandLine$HelpCommand";

    private static final Map<String, Map<String, List<String>>> FILES = new java.util.concurrent.ConcurrentHashMap<>();

    private final Map<String, List<String>> model;

    private CliModel(Map<String, List<String>> model) {
        this.model = model;
    }

    /** Why the generated model cannot be used here; {@link Cli} then reads the annotations. */
    static final class Unusable extends Exception {
        private static final long serialVersionUID = 1L;

        Unusable(String message) {
            super(message);
        }

        Unusable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * The command line of {@code root} with the subcommands of {@code names} (in that order), as
     * {@link Cli#annotated} makes it from the annotations.
     */
    static CommandLine commandLine(Cli root, Map<String, Class<?>> names) throws Unusable {
        Map<String, List<String>> blocks = new HashMap<>(file(ROOT));
        for (String name : names.keySet()) {
            blocks.putAll(file(name));
        }
        return commandLine(root, names, blocks);
    }

    /**
     * As {@link #commandLine(Cli, Map)}, from the blocks of a model of {@link #parse}. What picocli refuses while
     * the model is built (a malformed record, a duplicate option) makes it unusable too: the start then reads the
     * annotations, which say what is wrong if anything is.
     */
    static CommandLine commandLine(Cli root, Map<String, Class<?>> names, Map<String, List<String>> blocks) throws Unusable {
        CliModel m = new CliModel(blocks);
        try {
            CommandLine cl = m.command("fdrestore", root);
            for (Map.Entry<String, Class<?>> e : names.entrySet()) {
                List<String> block = m.model.get("fdrestore " + e.getKey());
                String type = block == null ? null : fields(block.get(0))[2];
                if (!e.getValue().getName().equals(type)) {
                    throw new Unusable("subcommand " + e.getKey() + " is " + e.getValue().getName() + ", the model has " + type);
                }
                cl.addSubcommand(m.command("fdrestore " + e.getKey(), null));
            }
            return cl;
        } catch (RuntimeException e) {
            throw new Unusable("the model does not build: " + e, e);
        }
    }

    /** The blocks of the file of {@code command} by command name, read once. */
    private static Map<String, List<String>> file(String command) throws Unusable {
        Map<String, List<String>> b = FILES.get(command);
        if (b == null) {
            String name = RESOURCES.substring(1) + command + ".txt";
            try (InputStream in = CliModel.class.getResourceAsStream("/" + name)) {
                if (in == null) {
                    throw new Unusable("no " + name + " (a build without the generated model)");
                }
                b = parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new Unusable(name + ": " + e.getMessage(), e);
            }
            FILES.put(command, b);
        }
        return b;
    }

    /** The blocks of a model's text by command name, after a check of its header. */
    static Map<String, List<String>> parse(String text) throws Unusable {
        String[] lines = text.split("\n");
        String[] head = lines[0].split("\t", -1);
        if (head.length < 3 || !head[0].equals(MAGIC) || !head[1].equals(FORMAT)) {
            throw new Unusable("a model not of format " + FORMAT);
        }
        if (!head[2].equals(CommandLine.VERSION)) {
            throw new Unusable("the model was made with picocli " + head[2] + ", this is picocli " + CommandLine.VERSION);
        }
        Map<String, List<String>> b = new HashMap<>();
        List<String> block = null;
        for (int i = 1; i < lines.length; i++) {
            if (lines[i].startsWith("fallback\t")) {
                throw new Unusable(unescape(lines[i].substring("fallback\t".length())));
            }
            if (lines[i].startsWith("command\t")) {
                block = new ArrayList<>();
                b.put(unescape(lines[i].substring(8, lines[i].indexOf('\t', 8))), block);
            }
            if (block == null) {
                throw new Unusable("line " + (i + 1) + " of a model is outside a command");
            }
            block.add(lines[i]);
        }
        return b;
    }

    /** The command {@code name} of the model, its user object {@code instance} (null: a new one). */
    private CommandLine command(String name, Object instance) throws Unusable {
        List<String> block = model.get(name);
        if (block == null) {
            throw new Unusable("the model has no command '" + name + "'");
        }
        String[] head = fields(block.get(0));
        Class<?> declared = type(head[2]);
        check(declared, head[3]);
        Object user = instance != null ? instance : create(holder(head[2]));
        CommandSpec spec = CommandSpec.wrapWithoutInspection(user);
        CommandSpec mixin = null;
        Object mixinUser = null;
        String mixinName = null;
        List<Field> mixees = new ArrayList<>();
        for (int i = 1; i < block.size(); i++) {
            String[] r = fields(block.get(i));
            CommandSpec target = mixin != null ? mixin : spec;
            Object owner = mixin != null ? mixinUser : user;
            switch (r[0]) {
                case "c" -> commandAttribute(spec, r);
                case "u" -> usageAttribute(spec.usageMessage(), r);
                case "sub" -> spec.addSubcommand(r[1], command(name + " " + r[1], null));
                case "spec" -> {
                    Field f = field(r[2], r[3], r[4]);
                    if (r[1].equals("MIXEE")) {
                        mixees.add(f);
                    } else {
                        set(f, owner, target);
                    }
                }
                case "mixin" -> {
                    mixinName = r[1];
                    if (r[2].equals("-")) {
                        mixinUser = null;
                        mixin = CommandSpec.create();
                    } else {
                        Field f = field(r[3], r[4], r[5]);
                        Class<?> type = type(r[6]);
                        check(type, r[7]);
                        mixinUser = get(f, user);
                        if (mixinUser == null) {
                            mixinUser = create(type);
                            set(f, user, mixinUser);
                        }
                        mixin = CommandSpec.wrapWithoutInspection(mixinUser);
                    }
                }
                case "end" -> {
                    spec.addMixin(mixinName, mixin);
                    for (Field f : mixees) {
                        set(f, mixinUser, spec);
                    }
                    mixees.clear();
                    mixin = null;
                }
                case "option", "positional" -> {
                    int j = i + 1;
                    while (j < block.size() && block.get(j).startsWith("a\t")) {
                        j++;
                    }
                    Attributes a = new Attributes(block.subList(i + 1, j));
                    Binding b = binding(r, owner, target, a);
                    if (r[0].equals("option")) {
                        target.addOption(option(a, b));
                    } else {
                        target.addPositional(positional(a, b));
                    }
                    i = j - 1;
                }
                default -> throw new Unusable("command " + name + ": unknown record " + r[0]);
            }
        }
        return new CommandLine(spec);
    }

    private static void commandAttribute(CommandSpec spec, String[] r) throws Unusable {
        switch (r[1]) {
            case "name" -> spec.name(r[2]);
            case "aliases" -> spec.aliases(values(r));
            case "version" -> spec.version(values(r));
            case "versionProvider" -> spec.versionProvider((CommandLine.IVersionProvider) create(type(r[2])));
            case "helpCommand" -> spec.helpCommand(Boolean.parseBoolean(r[2]));
            case "addMethodSubcommands" -> spec.setAddMethodSubcommands(Boolean.parseBoolean(r[2]));
            case "interpolateVariables" -> spec.interpolateVariables(Boolean.parseBoolean(r[2]));
            case "subcommandsRepeatable" -> spec.subcommandsRepeatable(Boolean.parseBoolean(r[2]));
            case "scope" -> spec.scopeType(ScopeType.valueOf(r[2]));
            case "separator" -> spec.parser().separator(r[2]);
            case "exitCodeOnSuccess" -> spec.exitCodeOnSuccess(Integer.parseInt(r[2]));
            case "exitCodeOnUsageHelp" -> spec.exitCodeOnUsageHelp(Integer.parseInt(r[2]));
            case "exitCodeOnVersionHelp" -> spec.exitCodeOnVersionHelp(Integer.parseInt(r[2]));
            case "exitCodeOnInvalidInput" -> spec.exitCodeOnInvalidInput(Integer.parseInt(r[2]));
            case "exitCodeOnExecutionException" -> spec.exitCodeOnExecutionException(Integer.parseInt(r[2]));
            default -> throw new Unusable("unknown command attribute " + r[1]);
        }
    }

    private static void usageAttribute(UsageMessageSpec u, String[] r) throws Unusable {
        switch (r[1]) {
            case "headerHeading" -> u.headerHeading(r[2]);
            case "header" -> u.header(values(r));
            case "synopsisHeading" -> u.synopsisHeading(r[2]);
            case "synopsisSubcommandLabel" -> u.synopsisSubcommandLabel(r[2]);
            case "abbreviateSynopsis" -> u.abbreviateSynopsis(Boolean.parseBoolean(r[2]));
            case "customSynopsis" -> u.customSynopsis(values(r));
            case "descriptionHeading" -> u.descriptionHeading(r[2]);
            case "description" -> u.description(values(r));
            case "parameterListHeading" -> u.parameterListHeading(r[2]);
            case "optionListHeading" -> u.optionListHeading(r[2]);
            case "sortOptions" -> u.sortOptions(Boolean.parseBoolean(r[2]));
            case "sortSynopsis" -> u.sortSynopsis(Boolean.parseBoolean(r[2]));
            case "requiredOptionMarker" -> u.requiredOptionMarker(r[2].charAt(0));
            case "showDefaultValues" -> u.showDefaultValues(Boolean.parseBoolean(r[2]));
            case "showAtFileInUsageHelp" -> u.showAtFileInUsageHelp(Boolean.parseBoolean(r[2]));
            case "showEndOfOptionsDelimiterInUsageHelp" -> u.showEndOfOptionsDelimiterInUsageHelp(Boolean.parseBoolean(r[2]));
            case "hidden" -> u.hidden(Boolean.parseBoolean(r[2]));
            case "commandListHeading" -> u.commandListHeading(r[2]);
            case "footerHeading" -> u.footerHeading(r[2]);
            case "footer" -> u.footer(values(r));
            case "exitCodeListHeading" -> u.exitCodeListHeading(r[2]);
            case "width" -> u.width(Integer.parseInt(r[2]));
            case "autoWidth" -> u.autoWidth(Boolean.parseBoolean(r[2]));
            case "longOptionsMaxWidth" -> u.longOptionsMaxWidth(Integer.parseInt(r[2]));
            case "adjustLineBreaksForWideCJKCharacters" -> u.adjustLineBreaksForWideCJKCharacters(Boolean.parseBoolean(r[2]));
            default -> throw new Unusable("unknown usage attribute " + r[1]);
        }
    }

    /**
     * The value of one option or positional parameter: a field of {@code owner}, a setter method of it (picocli keeps
     * the last value given), or, unbound ("-", picocli's own mixin of --help and --version), a value of its own. The
     * member is the option's user object, as picocli makes it.
     */
    private record Binding(Object member, IGetter getter, ISetter setter, IScope scope, Object initial, boolean hasInitial) {
    }

    private static Binding binding(String[] r, Object owner, CommandSpec spec, Attributes a) throws Unusable {
        IScope scope = new Scope(owner);
        switch (r[1]) {
            case "F" -> {
                Field f = field(r[2], r[3], r[4]);
                FieldValue v = new FieldValue(f, scope);
                return new Binding(f, v, v, scope, get(f, owner), true);
            }
            case "M" -> {
                Method m = method(r[2], r[3], r[4]);
                MethodValue v = new MethodValue(m, scope, spec);
                return new Binding(m, v, v, scope, null, false);
            }
            case "-" -> {
                Object initial = a.has("initial") ? Boolean.valueOf(a.str("initial")) : null;
                return new Binding(member(r[2], r[3]), null, null, null, initial, true);
            }
            default -> throw new Unusable("unknown binding " + r[1]);
        }
    }

    @SuppressWarnings("deprecation") // help: picocli's deprecated attribute, kept as the annotation has it
    private static OptionSpec option(Attributes a, Binding b) throws Unusable {
        OptionSpec.Builder o = OptionSpec.builder(a.list("names"))
                .arity(a.range("arity"))
                .paramLabel(a.str("paramLabel"))
                .hideParamSyntax(a.bool("hideParamSyntax"))
                .description(a.list("description"))
                .descriptionKey(a.str("descriptionKey", ""))
                .defaultValue(a.str("defaultValue", null))
                .required(a.bool("required"))
                .hidden(a.bool("hidden"))
                .splitRegex(a.str("split", ""))
                .splitRegexSynopsisLabel(a.str("splitSynopsisLabel", ""))
                .scopeType(ScopeType.valueOf(a.str("scope", "LOCAL")))
                .type(type(a.str("type")))
                .auxiliaryTypes(types(a.list("auxiliaryTypes")))
                .interactive(a.bool("interactive"))
                .echo(a.bool("echo"))
                .prompt(a.str("prompt", ""))
                .showDefaultValue(CommandLine.Help.Visibility.valueOf(a.str("showDefaultValue", "ON_DEMAND")))
                .withToString(a.str("toString"))
                .order(Integer.parseInt(a.str("order", "-1")))
                .negatable(a.bool("negatable"))
                .fallbackValue(a.str("fallbackValue", ""))
                .usageHelp(a.bool("usageHelp"))
                .versionHelp(a.bool("versionHelp"))
                .help(a.bool("help"))
                .initialValue(b.initial())
                .hasInitialValue(b.hasInitial());
        if (a.has("mapFallbackValue")) {
            o.mapFallbackValue(a.str("mapFallbackValue"));
        }
        if (b.member() != null) {
            o.userObject(b.member());
        }
        if (b.getter() != null) {
            o.getter(b.getter()).setter(b.setter()).scope(b.scope());
        }
        return unbound(o.build(), b);
    }

    private static PositionalParamSpec positional(Attributes a, Binding b) throws Unusable {
        PositionalParamSpec.Builder p = PositionalParamSpec.builder()
                .index(a.range("index"))
                .arity(a.range("arity"))
                .paramLabel(a.str("paramLabel"))
                .hideParamSyntax(a.bool("hideParamSyntax"))
                .description(a.list("description"))
                .descriptionKey(a.str("descriptionKey", ""))
                .defaultValue(a.str("defaultValue", null))
                .required(a.bool("required"))
                .hidden(a.bool("hidden"))
                .splitRegex(a.str("split", ""))
                .splitRegexSynopsisLabel(a.str("splitSynopsisLabel", ""))
                .scopeType(ScopeType.valueOf(a.str("scope", "LOCAL")))
                .type(type(a.str("type")))
                .auxiliaryTypes(types(a.list("auxiliaryTypes")))
                .interactive(a.bool("interactive"))
                .echo(a.bool("echo"))
                .prompt(a.str("prompt", ""))
                .showDefaultValue(CommandLine.Help.Visibility.valueOf(a.str("showDefaultValue", "ON_DEMAND")))
                .withToString(a.str("toString"))
                .initialValue(b.initial())
                .hasInitialValue(b.hasInitial());
        if (a.has("mapFallbackValue")) {
            p.mapFallbackValue(a.str("mapFallbackValue"));
        }
        if (b.member() != null) {
            p.userObject(b.member());
        }
        if (b.getter() != null) {
            p.getter(b.getter()).setter(b.setter()).scope(b.scope());
        }
        return unbound(p.build(), b);
    }

    /** An unbound argument holds its initial value from the start, as the field picocli would bind it to does. */
    private static <A extends picocli.CommandLine.Model.ArgSpec> A unbound(A arg, Binding b) {
        if (b.getter() == null && b.initial() != null) {
            arg.setValue(b.initial());
        }
        return arg;
    }

    /** The {@code a} records of one option or positional parameter, by attribute name. */
    private static final class Attributes {
        private final Map<String, String[]> values = new HashMap<>();

        Attributes(List<String> records) {
            for (String line : records) {
                String[] r = fields(line);
                values.put(r[1], Arrays.copyOfRange(r, 2, r.length));
            }
        }

        boolean has(String key) {
            return values.containsKey(key);
        }

        String[] list(String key) throws Unusable {
            String[] v = values.get(key);
            if (v == null) {
                throw new Unusable("an option without " + key);
            }
            return v;
        }

        String str(String key) throws Unusable {
            String[] v = list(key);
            if (v.length != 1) {
                throw new Unusable(key + " has " + v.length + " values");
            }
            return v[0];
        }

        String str(String key, String absent) throws Unusable {
            return has(key) ? str(key) : absent;
        }

        boolean bool(String key) throws Unusable {
            return has(key) && Boolean.parseBoolean(str(key));
        }

        /** A range as min, max, variable, unspecified and the text it was read from (picocli compares the first three). */
        Range range(String key) throws Unusable {
            String[] v = list(key);
            return new Range(Integer.parseInt(v[0]), Integer.parseInt(v[1]), Boolean.parseBoolean(v[2]),
                    Boolean.parseBoolean(v[3]), v[4]);
        }
    }

    /**
     * A fingerprint of the fields of {@code c} and its superclasses (names and types, sorted; FNV-1a, 64 bits): what
     * must not have changed since the model was written for its bindings to hold.
     */
    static String fingerprint(Class<?> c) {
        List<String> fields = new ArrayList<>();
        for (Class<?> k = c; k != null && k != Object.class; k = k.getSuperclass()) {
            for (Field f : k.getDeclaredFields()) {
                fields.add(k.getName() + "." + f.getName() + " " + f.getType().getName());
            }
        }
        fields.sort(null);
        long h = 0xcbf29ce484222325L;
        for (String s : fields) {
            for (int i = 0; i < s.length(); i++) {
                h = (h ^ s.charAt(i)) * 0x100000001b3L;
            }
            h = (h ^ '\n') * 0x100000001b3L;
        }
        return Long.toHexString(h);
    }

    private static void check(Class<?> c, String fingerprint) throws Unusable {
        if (!fingerprint(c).equals(fingerprint)) {
            throw new Unusable(c.getName() + " changed since the model was generated (its fields differ)");
        }
    }

    private static final Map<String, Class<?>> PRIMITIVES = Map.of("boolean", boolean.class, "byte", byte.class,
            "char", char.class, "short", short.class, "int", int.class, "long", long.class, "float", float.class,
            "double", double.class, "void", void.class);

    private static Class<?> type(String name) throws Unusable {
        Class<?> p = PRIMITIVES.get(name);
        if (p != null) {
            return p;
        }
        try {
            return Class.forName(name, false, CliModel.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            throw new Unusable("no class " + name, e);
        }
    }

    private static Class<?>[] types(String[] names) throws Unusable {
        Class<?>[] t = new Class<?>[names.length];
        for (int i = 0; i < t.length; i++) {
            t[i] = type(names[i]);
        }
        return t;
    }

    /** The class that holds the values of {@code declared}'s members here: picocli's help command has a stand-in. */
    private static Class<?> holder(String declared) throws Unusable {
        return declared.equals(PICOCLI_HELP) ? HelpSubcommand.class : type(declared);
    }

    private static Field field(String declared, String name, String type) throws Unusable {
        try {
            Field f = holder(declared).getDeclaredField(name);
            if (!f.getType().getName().equals(type)) {
                throw new Unusable(declared + "." + name + " is a " + f.getType().getName() + ", the model has " + type);
            }
            f.setAccessible(true);
            return f;
        } catch (NoSuchFieldException | RuntimeException e) {
            throw new Unusable("no field " + declared + "." + name, e);
        }
    }

    /** A field of picocli's own, named as an option's user object only: never read or written here. */
    private static Field member(String declared, String name) throws Unusable {
        try {
            return type(declared).getDeclaredField(name);
        } catch (NoSuchFieldException | RuntimeException e) {
            throw new Unusable("no field " + declared + "." + name, e);
        }
    }

    private static Method method(String declared, String name, String parameter) throws Unusable {
        try {
            Method m = holder(declared).getDeclaredMethod(name, type(parameter));
            m.setAccessible(true);
            return m;
        } catch (NoSuchMethodException | RuntimeException e) {
            throw new Unusable("no method " + declared + "." + name + "(" + parameter + ")", e);
        }
    }

    private static Object create(Class<?> c) throws Unusable {
        try {
            var k = c.getDeclaredConstructor();
            k.setAccessible(true);
            return k.newInstance();
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new Unusable("cannot make a " + c.getName(), e);
        }
    }

    private static Object get(Field f, Object owner) throws Unusable {
        try {
            return f.get(owner);
        } catch (IllegalAccessException e) {
            throw new Unusable("cannot read " + f, e);
        }
    }

    private static void set(Field f, Object owner, Object value) throws Unusable {
        try {
            f.set(owner, value);
        } catch (IllegalAccessException | IllegalArgumentException e) {
            throw new Unusable("cannot set " + f, e);
        }
    }

    /** The object whose members hold the values (a command or a mixin). */
    private record Scope(Object owner) implements IScope {
        @Override
        @SuppressWarnings("unchecked")
        public <T> T get() {
            return (T) owner;
        }

        @Override
        public <T> T set(T value) {
            throw new UnsupportedOperationException("the object of a command's options is fixed");
        }
    }

    /** An option's field, as picocli's own field binding reads and writes it. */
    private record FieldValue(Field field, IScope scope) implements IGetter, ISetter, IScoped {
        @Override
        @SuppressWarnings("unchecked")
        public <T> T get() {
            try {
                return (T) field.get(scope.get());
            } catch (Exception e) {
                throw new CommandLine.PicocliException("Could not get value for field " + field, e);
            }
        }

        @Override
        @SuppressWarnings("unchecked")
        public <T> T set(T value) {
            try {
                Object owner = scope.get();
                T old = (T) field.get(owner);
                field.set(owner, value);
                return old;
            } catch (Exception e) {
                throw new CommandLine.PicocliException("Could not set value for field " + field + " to " + value, e);
            }
        }

        @Override
        public IScope getScope() {
            return scope;
        }
    }

    /** An option's setter method, called with each value; the last value is what the option reads back. */
    private static final class MethodValue implements IGetter, ISetter, IScoped {
        private final Method method;
        private final IScope scope;
        private final CommandSpec spec;
        private Object current;

        MethodValue(Method method, IScope scope, CommandSpec spec) {
            this.method = method;
            this.scope = scope;
            this.spec = spec;
        }

        @Override
        @SuppressWarnings("unchecked")
        public <T> T get() {
            return (T) current;
        }

        @Override
        @SuppressWarnings("unchecked")
        public <T> T set(T value) {
            try {
                T old = (T) current;
                method.invoke(scope.get(), value);
                current = value;
                return old;
            } catch (InvocationTargetException e) {
                if (e.getTargetException() instanceof CommandLine.PicocliException p) {
                    throw p;
                }
                throw failed(value, e.getTargetException());
            } catch (Exception e) {
                throw failed(value, e);
            }
        }

        private CommandLine.ParameterException failed(Object value, Throwable t) {
            CommandLine cmd = spec.commandLine() == null ? new CommandLine(spec) : spec.commandLine();
            return new CommandLine.ParameterException(cmd, "Could not invoke " + method + " with " + value + " (" + t + ")", t);
        }

        @Override
        public IScope getScope() {
            return scope;
        }
    }

    private static String[] fields(String line) {
        String[] f = line.split("\t", -1);
        for (int i = 0; i < f.length; i++) {
            f[i] = unescape(f[i]);
        }
        return f;
    }

    private static String[] values(String[] record) {
        return Arrays.copyOfRange(record, 2, record.length);
    }

    /** A field of a record: backslash, tab, newline and carriage return escaped; null is {@code \0}. */
    static String escape(String s) {
        if (s == null) {
            return "\\0";
        }
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\\' -> b.append("\\\\");
                case '\t' -> b.append("\\t");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                default -> b.append(c);
            }
        }
        return b.toString();
    }

    static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        if (s.equals("\\0")) {
            return null;
        }
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length()) {
                char n = s.charAt(++i);
                b.append(n == 't' ? '\t' : n == 'n' ? '\n' : n == 'r' ? '\r' : n);
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
