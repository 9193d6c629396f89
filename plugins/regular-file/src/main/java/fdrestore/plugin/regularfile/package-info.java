/**
 * The "regular" file kind (fd type REG): regular files, directories and host character devices, with
 * CRIU's linked and ghost remaps for files that were unlinked at dump time.
 *
 * <ul>
 * <li>Paths resolve under the restore root ({@code --root}) with {@code openat2(RESOLVE_IN_ROOT)}
 * relative to an {@code O_PATH|O_DIRECTORY} fd of the root opened in the task's table; the character
 * devices of {@link HostDevices} resolve on the host. A path is first opened {@code O_PATH} and checked
 * with fstat: a FIFO or a socket is refused (its open could block for ever), a device node needs
 * {@code --allow-devices}; only then is the file opened through {@code /proc/thread-self/fd/N}.</li>
 * <li>The open flags are the image's minus {@code O_CREAT}, {@code O_TRUNC}, {@code O_TMPFILE} and
 * {@code O_CLOEXEC} ({@link OpenFlags}); nothing is added, so {@code flags:} in fdinfo is the image's
 * (a directory opened without {@code O_DIRECTORY} stays so; fstat checks that it is a directory).</li>
 * <li>The opened file is checked against the image (size when recorded, S_IFMT and permission bits)
 * before its position and owner are restored: a file that changed since the dump is refused.</li>
 * <li>Ghost files (unlinked at dump time, content in {@code ghost-file-ID.img}) are recreated at their
 * original path under the root, which must not exist, opened, then unlinked again ({@link GhostFile});
 * a removed directory is recreated empty and removed the same way.</li>
 * <li>Linked remaps (criu's {@code --link-remap}): the original name is linked to criu's link file for
 * the open, then removed, so the fd reads {@code "<path> (deleted)"}; the link file stays.</li>
 * </ul>
 */
package fdrestore.plugin.regularfile;
