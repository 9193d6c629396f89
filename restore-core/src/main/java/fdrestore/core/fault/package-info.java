/**
 * Fault injection for hardening tests: a {@link fdrestore.core.fault.FaultPlan} says which call of which
 * syscall fails (the N-th {@code open}, in any task or in one task), and a
 * {@link fdrestore.core.fault.FaultInjectingTable} wraps each task's {@link fdrestore.api.spi.TaskTable}
 * to make it so. The restore asks for it through {@code Restorer.Options.faults}; the CLI through the
 * hidden option {@code --inject-fault SYSCALL:N[:ERRNO][@PID]}. Never used by a normal restore.
 *
 * <p>Imports the SPI, sys and process. Only restore and the app (hardening tests) import it; it never
 * imports restore.
 */
package fdrestore.core.fault;
