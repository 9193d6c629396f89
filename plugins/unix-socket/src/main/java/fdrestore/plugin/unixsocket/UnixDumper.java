package fdrestore.plugin.unixsocket;

import fdrestore.api.image.FdType;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.FilePermsEntry;
import fdrestore.api.image.proto.SkOptsEntry;
import fdrestore.api.image.proto.SkPacketEntry;
import fdrestore.api.image.proto.UnixSkEntry;
import fdrestore.api.spi.DumpContext;
import fdrestore.api.spi.DumpException;
import fdrestore.api.spi.LiveFile;
import fdrestore.api.sys.Linux;
import fdrestore.api.sys.Sys;
import fdrestore.api.sys.SysException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The dump side of unix sockets, from sock_diag ({@link UnixDiag}: type, state, name, bound inode, peer,
 * pending connections, backlog, shutdown) and the pidfd_getfd copy (file flags, socket options, the
 * receive queue by {@link QueuePeek}).
 *
 * <p>As CRIU writes them: the name is sun_path as the kernel keeps it (a path with its trailing NUL, an
 * abstract name with its leading NUL), an accepted connection carries its listener's name, a path whose
 * file is gone or replaced is {@code deleted}, and a client whose connection is still in a listener's
 * queue (not accepted) is ESTABLISHED with {@code peer} = the listener's inode (its real peer, the
 * embryonic server half, has no fd). Every queued packet is an sk-queues entry whose {@code id_for} is the
 * receiving socket's file id. A peer that no fd of the dumped tree refers to is recorded as external
 * (criu's --ext-unix-sk entry: its own files.img entry with {@code uflags} USK_EXTERN).
 *
 * <p>Not dumped ({@link DumpException#unsupported}): fds in flight (SCM_RIGHTS) in a queue, data queued on
 * a connection that is not accepted yet, relative names, sockets sock_diag does not list (another network
 * namespace).
 */
final class UnixDumper {
    static final int TCP_ESTABLISHED = 1;
    static final int TCP_LISTEN = 10;
    static final int SOCK_STREAM = 1;

    /** One sock_diag snapshot of every unix socket, and which listener queues each pending client. */
    record Table(Map<Long, UnixDiag.Sock> socks, Map<Long, Long> pendingOn) {
        static Table read() throws SysException {
            Map<Long, UnixDiag.Sock> all = UnixDiag.all();
            Map<Long, Long> pending = new HashMap<>();
            for (UnixDiag.Sock s : all.values()) {
                if (s.state() == TCP_LISTEN) {
                    for (long c : s.icons()) {
                        if (c != 0) {
                            pending.put(c, s.ino());
                        }
                    }
                }
            }
            return new Table(all, pending);
        }
    }

    private UnixDumper() {
    }

    static boolean dumps(LiveFile f) {
        return f.isSocket() && f.socket() != null && f.socket().family() == UnixDiag.AF_UNIX;
    }

    static FileEntry dump(DumpContext ctx) throws DumpException {
        LiveFile f = ctx.file();
        long ino = f.stat().ino();
        String what = "unix socket " + ino;
        Table table = table(ctx, ino, what);
        UnixDiag.Sock s = table.socks().get(ino);
        what = "unix " + typeName(s.type()) + " socket " + ino + (s.name().length == 0 ? "" : " "
                + UnixName.of(s.name()));
        int fd = ctx.localFd();
        long peer = s.peer();
        Long listener = table.pendingOn().get(ino);
        if (listener != null && s.state() == TCP_ESTABLISHED) {
            UnixDiag.Sock embryo = table.socks().get(peer);
            if (embryo != null && embryo.rqueue() > 0) {
                throw DumpException.unsupported(what + ": its connection is not accepted yet and holds "
                        + embryo.rqueue() + " bytes sent to the listener's side, which has no fd to dump them from");
            }
            peer = listener; // CRIU's convention: the pending client's peer is the listener
        }
        if (peer != 0 && !ctx.treeHoldsSocket(peer)) {
            external(ctx, table.socks().get(peer), peer, what);
        }
        UnixSkEntry.Builder e = UnixSkEntry.newBuilder().setId((int) ctx.id()).setIno((int) ino).setType(s.type())
                .setState(s.state()).setFlags(f.fdinfo().flags() & ~Linux.O_CLOEXEC).setUflags(0)
                .setBacklog(s.state() == TCP_LISTEN ? (int) s.wqueue() : 0).setPeer((int) peer)
                .setFown(ctx.fown());
        try {
            e.setOpts(options(fd));
        } catch (SysException x) {
            throw new DumpException(what + ": " + x.getMessage(), x);
        }
        byte[] name = s.name();
        e.setName(com.google.protobuf.ByteString.copyFrom(name));
        if (name.length > 0 && name[0] != 0) {
            path(e, s, what);
        }
        if (s.shutdown() != 0) {
            e.setShutdown(s.shutdown());
        }
        if (s.state() != TCP_LISTEN) {
            queue(ctx, s, fd, what);
        }
        return FileEntry.newBuilder().setType(FdType.UNIXSK.code()).setId((int) ctx.id()).setUsk(e).build();
    }

    /**
     * Records {@code peer}, a socket no fd of the dumped tree refers to, once per dump, as criu does for
     * --ext-unix-sk: a files.img entry of its own (no fd refers to it) with its inode and name, type
     * datagram, state listening, {@code uflags} USK_EXTERN and no peer. A restore refuses it by name until
     * something maps it.
     */
    private static void external(DumpContext ctx, UnixDiag.Sock s, long peer, String what) {
        ctx.memo("unix-external:" + peer, () -> {
            long id = ctx.newId();
            byte[] name = s == null ? new byte[0] : s.name();
            ctx.addFile(FileEntry.newBuilder().setType(FdType.UNIXSK.code()).setId((int) id)
                    .setUsk(UnixSkEntry.newBuilder().setId((int) id).setIno((int) peer).setType(UnixSock.SOCK_DGRAM)
                            .setState(TCP_LISTEN).setFlags(0).setUflags(UnixSock.USK_EXTERN).setBacklog(0).setPeer(0)
                            .setFown(fdrestore.api.image.proto.FownEntry.newBuilder().setUid(0).setEuid(0)
                                    .setSignum(0).setPidType(0).setPid(0))
                            .setOpts(fdrestore.api.image.proto.SkOptsEntry.newBuilder().setSoSndbuf(0).setSoRcvbuf(0)
                                    .setSoSndTmoSec(0).setSoSndTmoUsec(0).setSoRcvTmoSec(0).setSoRcvTmoUsec(0))
                            .setName(com.google.protobuf.ByteString.copyFrom(name)))
                    .build());
            ctx.note(what + ": its peer, unix socket " + peer + (name.length == 0 ? "" : " " + UnixName.of(name))
                    + ", is outside the tree: recorded as external (USK_EXTERN)");
            return id;
        });
    }

    /** The shared snapshot; asked again for a socket made after it. */
    private static Table table(DumpContext ctx, long ino, String what) throws DumpException {
        Table[] holder = ctx.memo("unix.diag", () -> new Table[1]);
        synchronized (holder) {
            try {
                if (holder[0] == null || !holder[0].socks().containsKey(ino)) {
                    holder[0] = Table.read();
                }
            } catch (SysException | RuntimeException x) {
                throw new DumpException(what + ": sock_diag: " + x.getMessage(), x);
            }
            if (!holder[0].socks().containsKey(ino)) {
                throw DumpException.unsupported(what + ": sock_diag does not list it (a socket of another network"
                        + " namespace than fdrestore's?)");
            }
            return holder[0];
        }
    }

    /** A path name: deleted when its file is gone or is another inode; else its mode and owner. */
    private static void path(UnixSkEntry.Builder e, UnixDiag.Sock s, String what) throws DumpException {
        UnixName n = UnixName.of(s.name());
        String p = n.path();
        if (!p.startsWith("/")) {
            throw DumpException.unsupported(what + ": the relative name " + p + " (bound relative to a directory"
                    + " fdrestore cannot tell) is not dumped");
        }
        Map<String, Object> attrs;
        try {
            attrs = Files.readAttributes(Path.of(p), "unix:mode,uid,gid,ino", LinkOption.NOFOLLOW_LINKS);
        } catch (IOException | RuntimeException x) {
            attrs = null;
        }
        if (attrs == null || ((Number) attrs.get("ino")).longValue() != s.vfsIno()) {
            e.setDeleted(true);
            return;
        }
        e.setFilePerms(FilePermsEntry.newBuilder().setMode(((Number) attrs.get("mode")).intValue())
                .setUid(((Number) attrs.get("uid")).intValue()).setGid(((Number) attrs.get("gid")).intValue()));
    }

    /** Appends the receive queue of {@code s} to sk-queues.img. */
    private static void queue(DumpContext ctx, UnixDiag.Sock s, int fd, String what) throws DumpException {
        List<byte[]> packets;
        if (s.type() == SOCK_STREAM) {
            byte[] all = QueuePeek.stream(fd, s.rqueue(), what);
            packets = all.length == 0 ? List.of() : List.of(all);
        } else {
            packets = QueuePeek.packets(fd, what);
        }
        for (byte[] p : packets) {
            ctx.append(Magic.SK_QUEUES, SkPacketEntry.newBuilder().setIdFor((int) ctx.id()).setLength(p.length).build(), p);
        }
    }

    static String typeName(int type) {
        return switch (type) {
            case 1 -> "stream";
            case 2 -> "datagram";
            case 5 -> "seqpacket";
            default -> "type-" + type;
        };
    }

    /** The SOL_SOCKET options restore reads (SockOpts), as CRIU's dump_socket_opts records them. */
    static SkOptsEntry options(int fd) throws SysException {
        int sol = SockOpts.SOL_SOCKET;
        SkOptsEntry.Builder o = SkOptsEntry.newBuilder()
                .setSoSndbuf(Sys.getsockoptInt(fd, sol, SockOpts.SO_SNDBUF))
                .setSoRcvbuf(Sys.getsockoptInt(fd, sol, SockOpts.SO_RCVBUF));
        long[] snd = timeval(fd, SockOpts.SO_SNDTIMEO);
        long[] rcv = timeval(fd, SockOpts.SO_RCVTIMEO);
        o.setSoSndTmoSec(snd[0]).setSoSndTmoUsec(snd[1]).setSoRcvTmoSec(rcv[0]).setSoRcvTmoUsec(rcv[1]);
        o.setReuseaddr(Sys.getsockoptInt(fd, sol, SockOpts.SO_REUSEADDR) != 0);
        o.setSoPriority(Sys.getsockoptInt(fd, sol, SockOpts.SO_PRIORITY));
        o.setSoRcvlowat(Sys.getsockoptInt(fd, sol, SockOpts.SO_RCVLOWAT));
        int mark = Sys.getsockoptInt(fd, sol, SockOpts.SO_MARK);
        if (mark != 0) {
            o.setSoMark(mark);
        }
        o.setSoPasscred(Sys.getsockoptInt(fd, sol, SockOpts.SO_PASSCRED) != 0);
        o.setSoPasssec(Sys.getsockoptInt(fd, sol, SockOpts.SO_PASSSEC) != 0);
        o.setSoDontroute(Sys.getsockoptInt(fd, sol, SockOpts.SO_DONTROUTE) != 0);
        o.setSoNoCheck(false);
        o.setSoReuseport(Sys.getsockoptInt(fd, sol, SockOpts.SO_REUSEPORT) != 0);
        o.setSoBroadcast(Sys.getsockoptInt(fd, sol, SockOpts.SO_BROADCAST) != 0);
        o.setSoKeepalive(Sys.getsockoptInt(fd, sol, SockOpts.SO_KEEPALIVE) != 0);
        o.setSoOobinline(Sys.getsockoptInt(fd, sol, SockOpts.SO_OOBINLINE));
        try {
            o.setSoBufLock(Sys.getsockoptInt(fd, sol, 72 /* SO_BUF_LOCK */));
        } catch (SysException x) {
            if (x.errno() != 92 /* ENOPROTOOPT: kernel before 5.14 */) {
                throw x;
            }
        }
        return o.build();
    }

    private static long[] timeval(int fd, int name) throws SysException {
        byte[] tv = new byte[16];
        Sys.getsockopt(fd, SockOpts.SOL_SOCKET, name, tv);
        long sec = Integer.toUnsignedLong(UnixDiag.intAt(tv, 0)) | (long) UnixDiag.intAt(tv, 4) << 32;
        long usec = Integer.toUnsignedLong(UnixDiag.intAt(tv, 8)) | (long) UnixDiag.intAt(tv, 12) << 32;
        return new long[] {sec, usec};
    }
}
