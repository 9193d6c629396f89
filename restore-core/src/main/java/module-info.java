/**
 * fdrestore core: the image model and codecs, the restore engine, the plugin SPI, the syscall facade
 * and the task runtime.
 */
module fdrestore.core {
    requires transitive com.google.protobuf;
    requires transitive org.pf4j;
    requires org.jnrproject.ffi;
    requires org.objectweb.asm; // jnr-ffi is an automatic module and does not pull asm in

    exports fdrestore.core.image;
    exports fdrestore.core.image.codec;
    exports fdrestore.core.image.proto;
    exports fdrestore.core.json;
    exports fdrestore.core.spi;
    exports fdrestore.core.engine;
    exports fdrestore.core.runtime;
    exports fdrestore.core.restore;
    exports fdrestore.core.process;
    exports fdrestore.core.dump;
    exports fdrestore.core.fault;
    // jnr-ffi implements the binding interfaces in its own class loader: export unqualified.
    exports fdrestore.core.sys;
}
