/**
 * The fdrestore plugin API: the SPI a file kind implements, the image model it reads, and the checked
 * syscall facade. The only fdrestore module a plugin reads.
 */
module fdrestore.api {
    requires transitive com.google.protobuf;
    requires transitive org.pf4j;
    requires transitive org.jnrproject.ffi;
    requires org.jnrproject.jffi; // LibC is bound straight over jffi (DirectLibC)
    requires org.objectweb.asm; // jnr-ffi is an automatic module and does not pull asm in

    exports fdrestore.api.spi;
    exports fdrestore.api.image;
    exports fdrestore.api.image.codec;
    exports fdrestore.api.image.proto;
    exports fdrestore.api.sys;
}
