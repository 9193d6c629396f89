/**
 * The commands a user runs ({@code restore}, {@code dump}, {@code show}, {@code check}, {@code graph},
 * {@code image}, {@code plugins}) and what only they use: the progress display, the shell-job terminal and
 * crit's JSON. Each command is a picocli command that {@link fdrestore.app.Cli} lists; it uses the shared
 * options, exit codes and plugin host of {@code fdrestore.app}. Imported by {@code fdrestore.app} (to list
 * the commands) and by {@code fdrestore.app.bench} (which times restores); by nothing else.
 */
package fdrestore.app.cli;
