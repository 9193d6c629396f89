package fdrestore.core.runtime;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks code that runs on a task's executor thread, which owns a private fd table. Such code may only
 * call pre-bound native stubs on primitives and preallocated buffers: no class loading, no java.io or
 * NIO, no logging, no printing, no thread start. See docs/ARCHITECTURE.md, "Executor threads".
 */
@Documented
@Retention(RetentionPolicy.CLASS)
@Target({ElementType.METHOD, ElementType.TYPE, ElementType.CONSTRUCTOR})
public @interface NativeOnly {
}
