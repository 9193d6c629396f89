/**
 * The top of the command line: {@link fdrestore.app.Main}, the root command {@link fdrestore.app.Cli} with the
 * options, exit codes and errors every command shares, the {@link fdrestore.app.Invocation} a command runs in
 * (direct or served), the logger and the plugin host. The command packages ({@code cli}, {@code serve},
 * {@code bench}) import it; it imports them only to list their commands.
 */
package fdrestore.app;
