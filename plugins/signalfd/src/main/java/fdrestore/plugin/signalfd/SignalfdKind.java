package fdrestore.plugin.signalfd;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import fdrestore.api.image.FdType;
import fdrestore.api.image.ImageSet;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.spi.DumpContext;
import fdrestore.api.spi.DumpException;
import fdrestore.api.spi.Fdinfo;
import fdrestore.api.spi.FileDumper;
import fdrestore.api.spi.FileInfo;
import fdrestore.api.spi.FileKind;
import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.LiveFile;
import fdrestore.api.spi.PlanContext;
import fdrestore.api.spi.PlanException;
import fdrestore.plugin.signalfd.proto.SignalfdEntry;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.pf4j.Extension;

/**
 * The file kind of signalfds ({@code FdType.SIGNALFD}; criu's {@code SignalfdEntry} in files.img's
 * {@code sgfd} field, which core keeps as raw bytes and this plugin parses with its own schema).
 *
 * <p>{@code flags} is the file's f_flags as criu dumps them: O_RDWR (every signalfd's access mode), plus
 * O_NONBLOCK (= SFD_NONBLOCK). {@code sigmask} has bit {@code sig - 1} for each signal. Every bit of the
 * 64 is a signal on Linux (_NSIG is 64 on x86-64 and aarch64), but SIGKILL and SIGSTOP can never be in a
 * signalfd's mask (the kernel drops them), so an image naming them was not dumped from one and is refused;
 * so is any other flag. Both before any syscall.
 */
@Extension
public final class SignalfdKind implements FileKind, FileDumper {
    static final int O_ACCMODE = 03;
    static final int O_RDWR = 02;
    static final int O_NONBLOCK = 04000;
    static final int O_CLOEXEC = 02000000;
    static final int SIGKILL = 9;
    static final int SIGSTOP = 19;
    /** Signals no signalfd can take. */
    static final long NEVER = 1L << (SIGKILL - 1) | 1L << (SIGSTOP - 1);

    @Override
    public String name() {
        return "signalfd";
    }

    @Override
    public Set<FdType> fdTypes() {
        return Set.of(FdType.SIGNALFD);
    }

    /** The signalfd entry of {@code file}, parsed from files.img's raw {@code sgfd} field. */
    static SignalfdEntry entry(FileInfo file) throws PlanException {
        if (!file.entry().hasSgfd()) {
            throw new PlanException("signalfd file " + file.id() + ": files.img has no signalfd entry (sgfd) for it");
        }
        try {
            return SignalfdEntry.parseFrom(file.entry().getSgfd());
        } catch (InvalidProtocolBufferException e) {
            throw new PlanException("signalfd file " + file.id() + ": field sgfd is not a signalfd entry: "
                    + e.getMessage());
        }
    }

    @Override
    public FileRestorer plan(FileInfo file, PlanContext ctx) throws PlanException {
        SignalfdEntry e = entry(file);
        int flags = e.getFlags();
        if ((flags & ~(O_ACCMODE | O_NONBLOCK)) != 0 || (flags & O_ACCMODE) != O_RDWR) {
            throw new PlanException("signalfd file " + file.id() + ": field flags 0" + Integer.toOctalString(flags)
                    + " is not a signalfd's (O_RDWR, optionally O_NONBLOCK)");
        }
        if ((e.getSigmask() & NEVER) != 0) {
            throw new PlanException("signalfd file " + file.id() + ": field sigmask 0x" + Long.toHexString(e.getSigmask())
                    + " names " + ((e.getSigmask() & 1L << (SIGKILL - 1)) != 0 ? "SIGKILL" : "SIGSTOP")
                    + ", which no signalfd can take");
        }
        return new SignalfdRestorer(file.id(), flags & O_NONBLOCK, e.getSigmask());
    }

    @Override
    public boolean dumps(LiveFile file) {
        return file.isAnonInode("signalfd");
    }

    /** Records the mask ({@code sigmask:} of fdinfo, hexadecimal) and the flags. */
    @Override
    public FileEntry dump(DumpContext ctx) throws DumpException {
        Fdinfo in = ctx.file().fdinfo();
        try {
            long mask = in.require("sigmask", 16);
            SignalfdEntry e = SignalfdEntry.newBuilder().setId((int) ctx.id()).setFlags(in.flags() & ~O_CLOEXEC)
                    .setFown(ctx.fown().toByteString()).setSigmask(mask).build();
            return FileEntry.newBuilder().setType(FdType.SIGNALFD.code()).setId((int) ctx.id())
                    .setSgfd(ByteString.copyFrom(e.toByteArray())).build();
        } catch (IllegalArgumentException e) {
            throw new DumpException("signalfd: " + e.getMessage() + " (fdinfo: " + in + ")", e);
        }
    }

    private static final String[] NAMES = {null, "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS",
        "SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD",
        "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF",
        "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS"};

    /** "SIGUSR1|SIGTERM|signal 40" for a mask; "none" when empty. */
    static String signals(long mask) {
        StringBuilder sb = new StringBuilder();
        for (int sig = 1; sig <= 64; sig++) {
            if ((mask & 1L << (sig - 1)) != 0) {
                sb.append(sb.length() == 0 ? "" : "|").append(sig < NAMES.length ? NAMES[sig] : "signal " + sig);
            }
        }
        return sb.length() == 0 ? "none" : sb.toString();
    }

    /** "signalfd sigmask 0x200 (SIGUSR1) O_NONBLOCK". */
    @Override
    public String describe(FileEntry entry, ImageSet images) {
        try {
            SignalfdEntry e = SignalfdEntry.parseFrom(entry.getSgfd());
            return "signalfd sigmask 0x" + Long.toHexString(e.getSigmask()) + " (" + signals(e.getSigmask()) + ")"
                    + ((e.getFlags() & O_NONBLOCK) != 0 ? " O_NONBLOCK" : "");
        } catch (InvalidProtocolBufferException e) {
            return "signalfd (field sgfd is not a signalfd entry: " + e.getMessage() + ")";
        }
    }

    /** The fd is a signalfd with the image's mask ({@code sigmask:} of fdinfo) and O_NONBLOCK. */
    @Override
    public List<String> verify(FileEntry entry, String link, Fdinfo fdinfo) {
        List<String> out = new ArrayList<>();
        if (!link.equals("anon_inode:[signalfd]")) {
            out.add("is " + link + ", expected anon_inode:[signalfd]");
            return out;
        }
        SignalfdEntry e;
        try {
            e = SignalfdEntry.parseFrom(entry.getSgfd());
        } catch (InvalidProtocolBufferException x) {
            out.add("field sgfd is not a signalfd entry: " + x.getMessage());
            return out;
        }
        long mask = fdinfo.require("sigmask", 16);
        if (mask != e.getSigmask()) {
            out.add("sigmask 0x" + Long.toHexString(mask) + " (" + signals(mask) + "), expected 0x"
                    + Long.toHexString(e.getSigmask()) + " (" + signals(e.getSigmask()) + ")");
        }
        int flags = fdinfo.flags();
        if ((flags & O_NONBLOCK) != (e.getFlags() & O_NONBLOCK)) {
            out.add("O_NONBLOCK " + ((flags & O_NONBLOCK) != 0 ? "set" : "clear") + ", expected "
                    + ((e.getFlags() & O_NONBLOCK) != 0 ? "set" : "clear"));
        }
        return out;
    }
}
