package fdrestore.app;

import java.io.PrintWriter;
import java.io.Writer;
import java.util.Arrays;
import picocli.CommandLine;

/**
 * CliModelTest's fresh JVM: builds the command line (all of it, then each subcommand alone, as starts do) from the
 * generated model or, with "annotations", from the annotations; prints every help, parses and runs a few command
 * lines; then prints each dynamic proxy class the JVM made ({@code jdk.proxyN.$ProxyM}) with its interfaces.
 * Reading an annotation makes one for its type, once per JVM: hence a JVM of its own.
 */
public final class CliModelProbe {
    private CliModelProbe() {
    }

    public static void main(String[] args) throws Exception {
        boolean annotations = args[0].equals("annotations");
        PrintWriter sink = new PrintWriter(Writer.nullWriter());
        CommandLine full = Cli.build(Invocation.DIRECT, null, annotations);
        if (!annotations && ((Cli) full.getCommand()).annotationsBecause != null) {
            System.out.println("not generated: " + ((Cli) full.getCommand()).annotationsBecause);
            System.exit(3);
        }
        usage(full);
        for (String c : Cli.SUBCOMMANDS.keySet()) {
            usage(Cli.build(Invocation.DIRECT, c, annotations));
        }
        for (String[] line : new String[][] {{"restore", "--root", "/r", "--then=kill", "--plugins", "p", "--no-progress", "d"},
                {"-v", "dump", "-t", "1", "-D", "d"}, {"image", "decode", "-i", "x"}, {"restore", "--nosuch", "x"}}) {
            try {
                Cli.build(Invocation.DIRECT, Cli.subcommandOf(line), annotations).parseArgs(line);
            } catch (CommandLine.ParameterException e) {
                // as a bad command line does
            }
        }
        for (String[] line : new String[][] {{"help", "restore"}, {"--version"}, {"show", "--help"}}) {
            CommandLine cl = Cli.build(Invocation.DIRECT, Cli.subcommandOf(line), annotations);
            cl.setOut(sink);
            cl.setErr(sink);
            cl.execute(line);
        }
        ClassLoader loader = ClassLoader.getSystemClassLoader();
        int misses = 0;
        for (int m = 0; misses < 64; m++) {
            boolean found = false;
            for (int n = 1; n <= 16; n++) {
                try {
                    Class<?> p = Class.forName("jdk.proxy" + n + ".$Proxy" + m, false, loader);
                    System.out.println(p.getName() + ": proxy of " + String.join(", ",
                            Arrays.stream(p.getInterfaces()).map(Class::getName).toList()));
                    found = true;
                } catch (ClassNotFoundException e) {
                    // not this module's
                }
            }
            misses = found ? 0 : misses + 1;
        }
        System.out.println("probe done");
    }

    private static void usage(CommandLine cl) {
        cl.getUsageMessage(CommandLine.Help.Ansi.OFF);
        for (CommandLine sub : cl.getSubcommands().values()) {
            usage(sub);
        }
    }
}
