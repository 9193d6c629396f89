/** The plugin testkit: fake fd tables, transport fixtures for Mockito, image builders, contract tests. */
module fdrestore.testkit {
    requires transitive fdrestore.core;
    requires transitive org.junit.jupiter.api;
    requires transitive org.mockito;
    exports fdrestore.testkit;
}
