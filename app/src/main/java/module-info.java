/** The fdrestore command line: restore, dump, show, check, plugins. */
module fdrestore.app {
    requires fdrestore.core;
    // The exported package's public API uses both (Cli's picocli types, PluginHost's kinds and images).
    requires transitive fdrestore.api;
    requires transitive info.picocli;
    requires fdrestore.transport;
    requires org.pf4j;

    // picocli reflects on the command classes; open the package to all (not just to picocli),
    // so resource bundles keep working.
    opens fdrestore.app;
    opens fdrestore.app.cli;
    opens fdrestore.app.serve;
    opens fdrestore.app.bench;
    exports fdrestore.app;

    // Core logs through System.Logger; on the module path this routes it to fdrestore's own logger
    // (stderr with --verbose, and --log-file).
    provides java.lang.System.LoggerFinder with fdrestore.app.Log.LogFinder;
}
