/**
 * fdrestore core: the restore engine, the dump side and the task runtime. Internal: plugins read
 * fdrestore.api only.
 */
// The qualified exports name modules built after this one (they require it): javac warns that it does not
// find them here.
@SuppressWarnings("module")
module fdrestore.core {
    requires transitive fdrestore.api;
    requires transitive com.google.protobuf;
    requires transitive org.pf4j;
    requires org.jnrproject.ffi;
    requires org.objectweb.asm; // jnr-ffi is an automatic module and does not pull asm in

    exports fdrestore.core.json to fdrestore.app, fdrestore.transport, fdrestore.testkit;
    exports fdrestore.core.engine to fdrestore.app, fdrestore.transport, fdrestore.testkit;
    exports fdrestore.core.runtime to fdrestore.app, fdrestore.transport, fdrestore.testkit;
    exports fdrestore.core.restore to fdrestore.app, fdrestore.transport, fdrestore.testkit;
    exports fdrestore.core.process to fdrestore.app, fdrestore.transport, fdrestore.testkit;
    exports fdrestore.core.dump to fdrestore.app, fdrestore.transport, fdrestore.testkit;
    exports fdrestore.core.fault to fdrestore.app, fdrestore.transport, fdrestore.testkit;
}
