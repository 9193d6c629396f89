package fdrestore.app.cli;

import fdrestore.api.image.ImageSet;
import fdrestore.api.image.ImageSet.Task;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import fdrestore.app.Cli;
import fdrestore.core.process.Processes;
import fdrestore.core.restore.Restorer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code restore --shell-job}, criu's option of that name: a job whose terminal's master was outside the
 * dump (a shell's terminal, tmux, sshd) is restored onto the terminal of the calling fdrestore. Its root
 * keeps fdrestore's session (a root that did not lead its session always does), its external terminal
 * files are opened on fdrestore's stdin terminal (the tty plugin's {@code shell-job-tty} option), and once it
 * runs, its process group becomes the terminal's foreground group, as a shell gives a job the terminal.
 */
public final class ShellJob {
    private static final long TIOCGSID = 0x5429;

    private ShellJob() {
    }

    /**
     * The path of fdrestore's terminal (its stdin), checked to be the controlling terminal of its session;
     * a usage error otherwise, before anything is read or started.
     */
    static String terminal() throws Cli.UsageException {
        if (!Sys.isatty(0)) {
            throw new Cli.UsageException("--shell-job: stdin is not a terminal; run fdrestore from the terminal the job is"
                    + " to be restored onto (its stdin must be that terminal)");
        }
        String path;
        try {
            path = Files.readSymbolicLink(Path.of("/proc/self/fd/0")).toString();
        } catch (IOException e) {
            throw new Cli.UsageException("--shell-job: cannot read the path of stdin's terminal: " + e.getMessage());
        }
        long mySession;
        try {
            mySession = Processes.stat(Sys.getpid())[3];
        } catch (IOException e) {
            throw new Cli.UsageException("--shell-job: cannot read fdrestore's session: " + e.getMessage());
        }
        byte[] sid = new byte[4];
        try {
            Sys.ioctl(0, TIOCGSID, sid);
        } catch (SysException e) {
            throw new Cli.UsageException("--shell-job: stdin (" + path + ") is not the controlling terminal of fdrestore's"
                    + " session (" + e.getMessage() + ")");
        }
        int ttySession = java.nio.ByteBuffer.wrap(sid).order(java.nio.ByteOrder.nativeOrder()).getInt();
        if (ttySession != mySession) {
            throw new Cli.UsageException("--shell-job: stdin (" + path + ") is the terminal of session " + ttySession
                    + ", not of fdrestore's session " + mySession);
        }
        return path;
    }

    /**
     * Gives the terminal to the restored job: the process group of the first root task that led its own
     * group becomes the foreground group of stdin's terminal (fdrestore is still in the foreground, so
     * the kernel allows it). A root that had joined its shell's group stays in fdrestore's group, which
     * keeps the terminal, as criu does.
     *
     * @return the real process group now in the foreground, or 0 if none was changed
     */
    static int giveTerminal(ImageSet images, Restorer.Result result) throws SysException {
        for (Task t : images.tasks()) {
            if (images.task(t.ppid()).isPresent() || t.sessionLeader() || !t.groupLeader()) {
                continue;
            }
            int pgid = result.pidMap().get(t.pid());
            Sys.ioctl(0, Linux.TIOCSPGRP, Sys.intBytes(pgid));
            return pgid;
        }
        return 0;
    }
}
