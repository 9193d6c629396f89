package fdrestore.app.cli;

import com.google.protobuf.Message;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The fields crit prints specially, from options criu's .proto files carry and fdrestore's do not, and
 * the names crit gives their values (criu's dictionaries). {@link CritJson} looks them up per field.
 */
final class CritFields {
    private CritFields() {
    }

    /** How crit prints one field. */
    enum Conv { HEX, FLAGS, DICT, ENUM, DEV, ODEV, IPADD, UNIX_NAME, MESSAGE }

    /**
     * A special field: its conversion and, for DICT and ENUM, the names of its values; for FLAGS the flag
     * names in crit's order; for MESSAGE (a bytes field of fdrestore's that is a message to criu) the message.
     */
    record Special(Conv conv, Map<Long, String> names, List<Map.Entry<String, Long>> flags, Message message) {
        Special(Conv conv, Map<Long, String> names) {
            this(conv, names, List.of(), null);
        }

        static Special of(Conv c) {
            return new Special(c, Map.of());
        }

        static Special flags(List<Map.Entry<String, Long>> flags) {
            return new Special(Conv.FLAGS, Map.of(), flags, null);
        }

        static Special message(Message m) {
            return new Special(Conv.MESSAGE, Map.of(), List.of(), m);
        }
    }

    /** Open flags as crit names them (its "rfile.flags" map), in its order. */
    static final List<Map.Entry<String, Long>> RFILE_FLAGS = List.of(
            Map.entry("O_WRONLY", 01L), Map.entry("O_RDWR", 02L), Map.entry("O_CREAT", 0100L),
            Map.entry("O_EXCL", 0200L), Map.entry("O_NOCTTY", 0400L), Map.entry("O_TRUNC", 01000L),
            Map.entry("O_APPEND", 02000L), Map.entry("O_NONBLOCK", 04000L), Map.entry("O_DSYNC", 010000L),
            Map.entry("FASYNC", 020000L), Map.entry("O_DIRECT", 040000L), Map.entry("O_LARGEFILE", 0100000L),
            Map.entry("O_DIRECTORY", 0200000L), Map.entry("O_NOFOLLOW", 0400000L), Map.entry("O_NOATIME", 01000000L),
            Map.entry("O_CLOEXEC", 02000000L));
    /** crit's "seals.flags". */
    static final List<Map.Entry<String, Long>> SEALS_FLAGS = List.of(Map.entry("F_SEAL_SEAL", 0x1L),
            Map.entry("F_SEAL_SHRINK", 0x2L), Map.entry("F_SEAL_GROW", 0x4L), Map.entry("F_SEAL_WRITE", 0x8L),
            Map.entry("F_SEAL_FUTURE_WRITE", 0x10L));
    /** crit's "pmap.flags". */
    static final List<Map.Entry<String, Long>> PMAP_FLAGS = List.of(Map.entry("PE_PARENT", 0x1L),
            Map.entry("PE_LAZY", 0x2L), Map.entry("PE_PRESENT", 0x4L));

    private static Map<Long, String> names(Object... kv) {
        Map<Long, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(((Number) kv[i]).longValue(), (String) kv[i + 1]);
        }
        return m;
    }

    static final Map<Long, String> FD_TYPES = names(0, "UND", 1, "REG", 2, "PIPE", 3, "FIFO", 4, "INETSK",
            5, "UNIXSK", 6, "EVENTFD", 7, "EVENTPOLL", 8, "INOTIFY", 9, "SIGNALFD", 10, "PACKETSK", 11, "TTY",
            12, "FANOTIFY", 13, "NETLINKSK", 14, "NS", 15, "TUNF", 16, "EXT", 17, "TIMERFD", 18, "MEMFD",
            19, "BPFMAP", 20, "PIDFD", 65534, "CTL_TTY", 65535, "AUTOFS_PIPE");
    static final Map<Long, String> SK_SHUTDOWN = names(0, "NONE", 1, "READ", 2, "WRITE", 3, "BOTH");
    static final Map<Long, String> SK_FAMILY = names(1, "UNIX", 2, "INET", 10, "INET6", 16, "NETLINK", 17, "PACKET");
    static final Map<Long, String> SK_TYPE = names(1, "STREAM", 2, "DGRAM", 3, "RAW", 5, "SEQPACKET", 10, "PACKET");
    static final Map<Long, String> SK_STATE = names(1, "ESTABLISHED", 2, "SYN_SENT", 3, "SYN_RECV", 4, "FIN_WAIT1",
            5, "FIN_WAIT2", 6, "TIME_WAIT", 7, "CLOSE", 8, "CLOSE_WAIT", 9, "LAST_ACK", 10, "LISTEN");
    static final Map<Long, String> SK_PROTO = names(0, "IP", 6, "TCP", 17, "UDP", 136, "UDPLITE");

    /**
     * The fields crit prints specially, by "Message.field" of fdrestore's protos: the criu option of the
     * same field in criu's .proto (hex, flags, dict, dev, odev, ipadd, conv) or, where criu declares an
     * enum and fdrestore a uint32, the enum's value names.
     */
    static final Map<String, Special> SPECIAL = Map.ofEntries(
            Map.entry("FdinfoEntry.type", new Special(Conv.ENUM, FD_TYPES)),
            Map.entry("FileEntry.type", new Special(Conv.ENUM, FD_TYPES)),
            Map.entry("RegFileEntry.flags", Special.flags(RFILE_FLAGS)),
            Map.entry("FileEntry.memfd", Special.message(fdrestore.api.image.proto.MemfdFileEntry.getDefaultInstance())),
            Map.entry("FileEntry.nlsk", Special.message(fdrestore.api.image.proto.NetlinkSkEntry.getDefaultInstance())),
            Map.entry("FileEntry.pidfd", Special.message(fdrestore.api.image.proto.PidfdEntry.getDefaultInstance())),
            Map.entry("FileEntry.psk", Special.message(fdrestore.api.image.proto.PacketSockEntry.getDefaultInstance())),
            Map.entry("FileEntry.sgfd", Special.message(fdrestore.api.image.proto.SignalfdEntry.getDefaultInstance())),
            Map.entry("FileEntry.ify", Special.message(fdrestore.api.image.proto.InotifyFileEntry.getDefaultInstance())),
            Map.entry("FileEntry.ffy", Special.message(fdrestore.api.image.proto.FanotifyFileEntry.getDefaultInstance())),
            Map.entry("MemfdFileEntry.flags", Special.flags(RFILE_FLAGS)),
            Map.entry("MemfdInodeEntry.seals", Special.flags(SEALS_FLAGS)),
            Map.entry("NetlinkSkEntry.flags", Special.of(Conv.HEX)),
            Map.entry("PacketSockEntry.flags", Special.of(Conv.HEX)),
            Map.entry("SignalfdEntry.flags", Special.of(Conv.HEX)),
            Map.entry("SignalfdEntry.sigmask", Special.of(Conv.HEX)),
            Map.entry("InotifyFileEntry.flags", Special.of(Conv.HEX)),
            Map.entry("InotifyWdEntry.mask", Special.of(Conv.HEX)),
            Map.entry("InotifyWdEntry.ignored_mask", Special.of(Conv.HEX)),
            Map.entry("InotifyWdEntry.s_dev", Special.of(Conv.DEV)),
            Map.entry("FanotifyFileEntry.flags", Special.of(Conv.HEX)),
            Map.entry("FanotifyFileEntry.faflags", Special.of(Conv.HEX)),
            Map.entry("FanotifyFileEntry.evflags", Special.of(Conv.HEX)),
            Map.entry("FanotifyMarkEntry.type", new Special(Conv.ENUM, names(1, "INODE", 2, "MOUNT"))),
            Map.entry("FanotifyMarkEntry.mflags", Special.of(Conv.HEX)),
            Map.entry("FanotifyMarkEntry.mask", Special.of(Conv.HEX)),
            Map.entry("FanotifyMarkEntry.ignored_mask", Special.of(Conv.HEX)),
            Map.entry("FanotifyMarkEntry.s_dev", Special.of(Conv.DEV)),
            Map.entry("PagemapEntry.vaddr", Special.of(Conv.HEX)),
            Map.entry("PagemapEntry.flags", Special.flags(PMAP_FLAGS)),
            Map.entry("PipeEntry.flags", Special.of(Conv.HEX)),
            Map.entry("FifoEntry.flags", Special.of(Conv.HEX)),
            Map.entry("UnixSkEntry.type", new Special(Conv.DICT, SK_TYPE)),
            Map.entry("UnixSkEntry.state", new Special(Conv.DICT, SK_STATE)),
            Map.entry("UnixSkEntry.flags", Special.of(Conv.HEX)),
            Map.entry("UnixSkEntry.uflags", Special.of(Conv.HEX)),
            Map.entry("UnixSkEntry.name", Special.of(Conv.UNIX_NAME)),
            Map.entry("UnixSkEntry.shutdown", new Special(Conv.ENUM, SK_SHUTDOWN)),
            Map.entry("InetSkEntry.family", new Special(Conv.DICT, SK_FAMILY)),
            Map.entry("InetSkEntry.type", new Special(Conv.DICT, SK_TYPE)),
            Map.entry("InetSkEntry.proto", new Special(Conv.DICT, SK_PROTO)),
            Map.entry("InetSkEntry.state", new Special(Conv.DICT, SK_STATE)),
            Map.entry("InetSkEntry.flags", Special.of(Conv.HEX)),
            Map.entry("InetSkEntry.src_addr", Special.of(Conv.IPADD)),
            Map.entry("InetSkEntry.dst_addr", Special.of(Conv.IPADD)),
            Map.entry("InetSkEntry.shutdown", new Special(Conv.ENUM, SK_SHUTDOWN)),
            Map.entry("TcpStreamEntry.opt_mask", Special.of(Conv.HEX)),
            Map.entry("TtyFileEntry.flags", Special.of(Conv.HEX)),
            Map.entry("TtyInfoEntry.type", new Special(Conv.ENUM, names(0, "UNKNOWN", 1, "PTY", 2, "CONSOLE", 3, "VT",
                    4, "CTTY", 5, "EXT_TTY", 6, "SERIAL"))),
            Map.entry("TimerfdEntry.flags", Special.of(Conv.HEX)),
            Map.entry("TimerfdEntry.settime_flags", Special.of(Conv.HEX)),
            Map.entry("GhostFileEntry.dev", Special.of(Conv.DEV)),
            Map.entry("GhostFileEntry.rdev", Special.of(Conv.ODEV)),
            Map.entry("RemapFilePathEntry.remap_type", new Special(Conv.ENUM, names(0, "LINKED", 1, "GHOST", 2, "PROCFS"))),
            Map.entry("InventoryEntry.lsmtype", new Special(Conv.ENUM, names(0, "NO_LSM", 1, "SELINUX", 2, "APPARMOR"))),
            Map.entry("CoreEntry.mtype", new Special(Conv.ENUM, names(0, "UNKNOWN", 1, "X86_64", 2, "ARM", 3, "AARCH64",
                    4, "PPC64", 5, "S390", 6, "MIPS", 7, "LOONGARCH64", 8, "RISCV64"))),
            Map.entry("TaskCoreEntry.task_state", new Special(Conv.DICT, names(1, "Alive", 3, "Zombie", 6, "Stopped"))),
            Map.entry("TaskCoreEntry.blk_sigset", Special.of(Conv.HEX)),
            // crit-core.proto: the whole task core (CritJson reads core-N.img with it)
            Map.entry("CritCoreEntry.mtype", new Special(Conv.ENUM, names(0, "UNKNOWN", 1, "X86_64", 2, "ARM", 3, "AARCH64",
                    4, "PPC64", 5, "S390", 6, "MIPS", 7, "LOONGARCH64", 8, "RISCV64"))),
            Map.entry("CritTaskCoreEntry.task_state", new Special(Conv.DICT, names(1, "Alive", 3, "Zombie", 6, "Stopped"))),
            Map.entry("CritTaskCoreEntry.blk_sigset", Special.of(Conv.HEX)),
            Map.entry("CritTaskCoreEntry.blk_sigset_extended", Special.of(Conv.HEX)),
            Map.entry("CritTaskCoreEntry.membarrier_registration_mask", Special.of(Conv.HEX)),
            Map.entry("CritTaskCoreEntry.old_seccomp_mode", new Special(Conv.ENUM, names(0, "disabled", 1, "strict", 2, "filter"))),
            Map.entry("CritThreadCoreEntry.seccomp_mode", new Special(Conv.ENUM, names(0, "disabled", 1, "strict", 2, "filter"))),
            Map.entry("SaEntry.sigaction", Special.of(Conv.HEX)),
            Map.entry("SaEntry.flags", Special.of(Conv.HEX)),
            Map.entry("SaEntry.restorer", Special.of(Conv.HEX)),
            Map.entry("SaEntry.mask", Special.of(Conv.HEX)),
            Map.entry("SaEntry.mask_extended", Special.of(Conv.HEX)),
            Map.entry("UserX86CetEntry.cet", Special.of(Conv.HEX)),
            Map.entry("UserX86CetEntry.ssp", Special.of(Conv.HEX)),
            Map.entry("ThreadInfoX86.clear_tid_addr", Special.of(Conv.HEX)),
            Map.entry("ThreadInfoX86.gpregs", Special.of(Conv.HEX)), // a message: hex passes to its fields
            Map.entry("UserX86RegsEntry.mode", new Special(Conv.ENUM, names(1, "NATIVE", 2, "COMPAT"))));
}
