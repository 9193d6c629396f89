package fdrestore.app;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The root command and its wiring: subcommands, version, exit codes. */
@Command(name = "fdrestore",
        mixinStandardHelpOptions = true,
        versionProvider = Cli.Version.class,
        description = "Restores the file descriptor tables of a Linux process tree from CRIU images.",
        subcommands = {CommandLine.HelpCommand.class})
public final class Cli implements Runnable {
    /** Exit code: success. */
    public static final int EXIT_OK = 0;
    /** Exit code: a restore or verification failed. */
    public static final int EXIT_FAILED = 1;
    /** Exit code: bad usage or bad images. */
    public static final int EXIT_USAGE = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required");
    }

    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Cli());
        cl.setExitCodeExceptionMapper(e -> EXIT_USAGE);
        return cl;
    }

    /** Reads the version that Maven filtered into version.properties. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"fdrestore " + version()};
        }

        static String version() {
            try (InputStream in = Cli.class.getResourceAsStream("version.properties")) {
                Properties p = new Properties();
                if (in != null) {
                    p.load(in);
                }
                return p.getProperty("version", "unknown");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
