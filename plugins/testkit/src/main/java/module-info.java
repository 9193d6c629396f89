/** The plugin testkit: fake fd tables, a fake transport, image builders, contract tests. */
module fdrestore.testkit {
    requires transitive fdrestore.core;
    requires transitive org.junit.jupiter.api;
    exports fdrestore.testkit;
}
