package fdrestore.app.cli;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.UnknownFieldSet;
import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.GhostChunkEntry;
import fdrestore.api.image.proto.GhostFileEntry;
import fdrestore.api.image.proto.TcpStreamEntry;
import java.io.ByteArrayOutputStream;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * An image as crit's JSON ({@code crit decode --pretty}), and back. The JSON is made by walking the
 * protobuf descriptors of fdrestore's own messages: one member per set field, in field-number order,
 * under the field's name; 64-bit integers as plain numbers; bytes as base64 in lines of 76 characters
 * (Python's {@code base64.encodebytes}); the raw payload after an entry under {@code "extra"} (for
 * tcp-stream an object with {@code inq} and {@code outq}). crit prints some fields specially, from
 * options criu's .proto files carry and fdrestore's do not: {@link #SPECIAL} lists them per field
 * (hexadecimal, open flags, a criu dictionary, an enum name, a device number, an IP address, a unix
 * socket name in quoted-printable). See docs/IMAGES.md, "crit's JSON".
 *
 * <p>protobuf-java-util's JsonFormat is not used: it prints 64-bit integers as strings, bytes on one
 * line, and has no notion of any of the special fields, so each of its documents would need rewriting
 * member by member, and it would bring guava and gson into the distribution for that.
 *
 * <p>A message fdrestore models only in part (the task core of core-N.img) keeps the fields it does not
 * know as protobuf unknown fields. They are written, in base64, under {@link #UNKNOWN}, a member crit
 * never prints, so that encode gives back the same bytes.
 */
public final class CritJson {
    /** The member holding the fields fdrestore's messages do not model (not crit's). */
    static final String UNKNOWN = "fdrestore_unknown_fields";

    private CritJson() {
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

    /**
     * Image kinds fdrestore never reads for a restore but decodes for crit's JSON: no payload, entry 0 of
     * {@code head} type when there is one, then entries of {@code entry} type. Magic numbers are criu's.
     */
    record Extra(String critName, java.util.regex.Pattern fileName, int typeMagic, Message head, Message entry) {
    }

    static final List<Extra> EXTRA = List.of(
            new Extra("FILE_LOCKS", java.util.regex.Pattern.compile("filelocks\\.img"), 0x54323616, null,
                    fdrestore.api.image.proto.FileLockEntry.getDefaultInstance()),
            new Extra("MEMFD_INODE", java.util.regex.Pattern.compile("memfd\\.img"), 0x48453499, null,
                    fdrestore.api.image.proto.MemfdInodeEntry.getDefaultInstance()),
            new Extra("PAGEMAP", java.util.regex.Pattern.compile("pagemap(-shmem)?-[0-9]+\\.img"), 0x56084025,
                    fdrestore.api.image.proto.PagemapHead.getDefaultInstance(),
                    fdrestore.api.image.proto.PagemapEntry.getDefaultInstance()));

    /** The extra kind of a file name, or null. */
    static Extra extraFor(String fileName) {
        for (Extra x : EXTRA) {
            if (x.fileName().matcher(fileName).matches()) {
                return x;
            }
        }
        return null;
    }

    private static int intLE(byte[] b, int off) {
        return (b[off] & 0xff) | (b[off + 1] & 0xff) << 8 | (b[off + 2] & 0xff) << 16 | (b[off + 3] & 0xff) << 24;
    }

    /** crit's document of the image {@code bytes} ({@code source} names it in errors). */
    static Map<String, Object> decode(byte[] bytes, java.nio.file.Path source) throws fdrestore.api.image.codec.ImageFormatException {
        if (bytes.length >= 8 && intLE(bytes, 0) == Magic.COMMON_MAGIC) {
            for (Extra x : EXTRA) {
                if (intLE(bytes, 4) == x.typeMagic()) {
                    return decodeExtra(x, bytes, source);
                }
            }
        }
        return decode(fdrestore.api.image.codec.ImageReader.read(bytes, source, null));
    }

    private static Map<String, Object> decodeExtra(Extra x, byte[] b, java.nio.file.Path source)
            throws fdrestore.api.image.codec.ImageFormatException {
        List<Object> entries = new ArrayList<>();
        int pos = 8;
        for (int i = 0; pos < b.length; i++) {
            if (b.length - pos < 4) {
                throw new fdrestore.api.image.codec.ImageFormatException(source, i, pos, "truncated size prefix");
            }
            long len = Integer.toUnsignedLong(intLE(b, pos));
            if (len > b.length - pos - 4) {
                throw new fdrestore.api.image.codec.ImageFormatException(source, i, pos, "entry size " + len
                        + " bytes runs past the end of the file");
            }
            Message proto = i == 0 && x.head() != null ? x.head() : x.entry();
            try {
                entries.add(message(proto.getParserForType().parsePartialFrom(b, pos + 4, (int) len)));
            } catch (InvalidProtocolBufferException e) {
                throw new fdrestore.api.image.codec.ImageFormatException(source, i, pos + 4, "invalid protobuf for "
                        + proto.getDescriptorForType().getName() + ": " + e.getMessage(), e);
            }
            pos += 4 + (int) len;
        }
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("magic", x.critName());
        doc.put("entries", entries);
        return doc;
    }

    // ---- decode -----------------------------------------------------------------------------------

    /** crit's document of an image: {"magic": NAME, "entries": [...]}. */
    static Map<String, Object> decode(ImageFile image) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("magic", image.magic().critName());
        List<Object> entries = new ArrayList<>();
        for (ImageEntry e : image.entries()) {
            Message msg = e.message();
            if (image.magic() == Magic.CORE) {
                // a restore models the core in part; the image command reads all of it
                try {
                    msg = fdrestore.api.image.proto.CritCoreEntry.parser().parsePartialFrom(msg.toByteArray());
                } catch (InvalidProtocolBufferException ex) {
                    throw new IllegalArgumentException("core entry: " + ex.getMessage(), ex);
                }
            }
            Map<String, Object> m = message(msg);
            if (e.payloadView() != null) {
                // the image was read whole (ImageCommand bounds it against the heap): no bound of its own
                java.nio.ByteBuffer view = e.payloadView().asReadOnlyBuffer();
                byte[] p = new byte[view.remaining()];
                view.get(p);
                if (image.magic() == Magic.TCP_STREAM) {
                    TcpStreamEntry t = (TcpStreamEntry) e.message();
                    Map<String, Object> x = new LinkedHashMap<>();
                    int in = (int) Math.min(t.getInqLen(), p.length);
                    x.put("inq", base64(java.util.Arrays.copyOfRange(p, 0, in)));
                    x.put("outq", base64(java.util.Arrays.copyOfRange(p, in, p.length)));
                    m.put("extra", x);
                } else {
                    m.put("extra", base64(p));
                }
            }
            entries.add(m);
        }
        doc.put("entries", entries);
        return doc;
    }

    static Map<String, Object> message(Message msg) {
        return message(msg, false);
    }

    /** @param hex every integer as hex: crit's hex option on the field that holds this message */
    static Map<String, Object> message(Message msg, boolean hex) {
        Map<String, Object> d = new LinkedHashMap<>();
        String type = msg.getDescriptorForType().getName();
        for (Map.Entry<FieldDescriptor, Object> f : msg.getAllFields().entrySet()) {
            FieldDescriptor fd = f.getKey();
            Special sp = SPECIAL.get(type + "." + fd.getName());
            if (fd.isRepeated()) {
                List<?> values = (List<?>) f.getValue();
                List<Object> out = new ArrayList<>();
                if (sp != null && sp.conv() == Conv.IPADD) {
                    out.add(ipAddress(values));
                } else {
                    for (Object v : values) {
                        out.add(value(fd, v, sp, hex));
                    }
                }
                d.put(fd.getName(), out);
            } else {
                d.put(fd.getName(), value(fd, f.getValue(), sp, hex));
            }
        }
        if (!msg.getUnknownFields().asMap().isEmpty()) {
            d.put(UNKNOWN, base64(msg.getUnknownFields().toByteArray()));
        }
        return d;
    }

    private static Object value(FieldDescriptor fd, Object v, Special sp, boolean hex) {
        switch (fd.getJavaType()) {
            case MESSAGE:
                return message((Message) v, hex || sp != null && sp.conv() == Conv.HEX);
            case BYTE_STRING:
                byte[] b = ((ByteString) v).toByteArray();
                if (sp != null && sp.conv() == Conv.MESSAGE) {
                    try {
                        return message(sp.message().getParserForType().parsePartialFrom(b));
                    } catch (InvalidProtocolBufferException e) {
                        throw new IllegalArgumentException("field " + fd.getFullName() + ": not a "
                                + sp.message().getDescriptorForType().getName() + ": " + e.getMessage(), e);
                    }
                }
                return sp != null && sp.conv() == Conv.UNIX_NAME ? quotedPrintable(b) : base64(b);
            case ENUM:
                return ((com.google.protobuf.Descriptors.EnumValueDescriptor) v).getName();
            case BOOLEAN:
            case STRING:
                return v;
            case INT:
            case LONG:
                return integer(fd, ((Number) v).longValue(), hex && (sp == null || sp.conv() != Conv.ENUM)
                        ? Special.of(Conv.HEX) : sp);
            default:
                throw new IllegalArgumentException("field " + fd.getFullName() + ": type " + fd.getType() + " has no crit form");
        }
    }

    private static boolean unsigned(FieldDescriptor fd) {
        FieldDescriptor.Type t = fd.getType();
        return t == FieldDescriptor.Type.UINT32 || t == FieldDescriptor.Type.UINT64 || t == FieldDescriptor.Type.FIXED32
                || t == FieldDescriptor.Type.FIXED64;
    }

    private static Object integer(FieldDescriptor fd, long raw, Special sp) {
        boolean wide = fd.getJavaType() == FieldDescriptor.JavaType.LONG;
        long v = unsigned(fd) && !wide ? Integer.toUnsignedLong((int) raw) : raw;
        Number n = unsigned(fd) && wide && v < 0 ? new BigInteger(Long.toUnsignedString(v)) : (Number) v;
        if (sp == null) {
            return n;
        }
        switch (sp.conv()) {
            case HEX:
                return "0x" + (n instanceof BigInteger bi ? bi.toString(16) : Long.toHexString(v));
            case FLAGS:
                return flags(v, sp.flags());
            case DICT:
                return sp.names().containsKey(v) ? sp.names().get(v) : n;
            case ENUM:
                String name = sp.names().get(v);
                if (name == null) {
                    throw new IllegalArgumentException("field " + fd.getFullName() + ": " + v + " is no value of its enum");
                }
                return name;
            case DEV:
                return (v >>> 20) + ":" + (v & ((1 << 20) - 1));
            case ODEV:
                return (((v >>> 8) & 0xfff) | ((v >>> 32) & ~0xfffL)) + ":" + ((v & 0xff) | ((v >>> 12) & ~0xffL));
            default:
                return n;
        }
    }

    /** crit's flags: the names of the set flags joined by " | ", then any other bits in hex. */
    static String flags(long value, List<Map.Entry<String, Long>> names) {
        List<String> parts = new ArrayList<>();
        long all = 0;
        for (Map.Entry<String, Long> f : names) {
            if ((value & f.getValue()) != 0) {
                parts.add(f.getKey());
            }
            all |= f.getValue();
        }
        long rest = value & ~all;
        if (rest != 0) {
            parts.add("0x" + Long.toHexString(rest));
        }
        return String.join(" | ", parts);
    }

    static long unflags(String s, List<Map.Entry<String, Long>> names) {
        if (s.isEmpty()) {
            return 0;
        }
        long v = 0;
        for (String part : s.split("\\|")) {
            String p = part.strip();
            Long bit = null;
            for (Map.Entry<String, Long> f : names) {
                if (f.getKey().equals(p)) {
                    bit = f.getValue();
                }
            }
            v += bit != null ? bit : parseInt(p);
        }
        return v;
    }

    /** IPv4 for one word, else IPv6 from four; each word holds the address bytes in network order. */
    static String ipAddress(List<?> words) {
        byte[] b = new byte[words.size() == 1 ? 4 : 16];
        for (int i = 0; i < b.length / 4; i++) {
            int w = ((Number) words.get(i)).intValue();
            for (int k = 0; k < 4; k++) {
                b[i * 4 + k] = (byte) (w >>> (8 * k));
            }
        }
        if (b.length == 4) {
            return (b[0] & 0xff) + "." + (b[1] & 0xff) + "." + (b[2] & 0xff) + "." + (b[3] & 0xff);
        }
        int[] h = new int[8];
        for (int i = 0; i < 8; i++) {
            h[i] = (b[2 * i] & 0xff) << 8 | (b[2 * i + 1] & 0xff);
        }
        // the longest run of at least two zero groups becomes "::" (Python's compressed form)
        int best = -1;
        int bestLen = 0;
        for (int i = 0; i < 8;) {
            if (h[i] == 0) {
                int j = i;
                while (j < 8 && h[j] == 0) {
                    j++;
                }
                if (j - i > bestLen) {
                    best = i;
                    bestLen = j - i;
                }
                i = j;
            } else {
                i++;
            }
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (bestLen > 1 && i == best) {
                sb.append(i == 0 ? "::" : ":");
                i += bestLen - 1;
                continue;
            }
            sb.append(Integer.toHexString(h[i]));
            if (i < 7) {
                sb.append(':');
            }
        }
        return sb.toString();
    }

    static List<Long> ipWords(String addr) {
        byte[] b;
        try {
            b = java.net.InetAddress.getByName(addr).getAddress();
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException("not an IP address: " + addr);
        }
        if (!addr.matches("[0-9a-fA-F:.]+")) {
            throw new IllegalArgumentException("not an IP address: " + addr);
        }
        if (addr.contains(":") && b.length == 4) {
            // Java folds an IPv4-mapped IPv6 address to IPv4: keep it IPv6, as criu wrote it
            byte[] v6 = new byte[16];
            v6[10] = (byte) 0xff;
            v6[11] = (byte) 0xff;
            System.arraycopy(b, 0, v6, 12, 4);
            b = v6;
        }
        List<Long> words = new ArrayList<>();
        for (int i = 0; i < b.length; i += 4) {
            words.add((long) ((b[i] & 0xff) | (b[i + 1] & 0xff) << 8 | (b[i + 2] & 0xff) << 16) | (long) (b[i + 3] & 0xff) << 24);
        }
        return words;
    }

    /** Python's base64.encodebytes: lines of 76 characters, each ended by a newline; "" for nothing. */
    static String base64(byte[] b) {
        String s = Base64.getEncoder().encodeToString(b);
        StringBuilder sb = new StringBuilder(s.length() + s.length() / 76 + 1);
        for (int i = 0; i < s.length(); i += 76) {
            sb.append(s, i, Math.min(s.length(), i + 76)).append('\n');
        }
        return sb.toString();
    }

    static byte[] unbase64(String s) {
        return Base64.getMimeDecoder().decode(s);
    }

    /**
     * Python's quopri.encodestring (binascii.b2a_qp, text mode, tabs kept): "=", bytes above 126 and
     * control bytes other than newline and tab as =XX; a space or tab ending a line as =XX; lines longer
     * than 76 characters broken by a soft "=" newline.
     */
    static String quotedPrintable(byte[] b) {
        StringBuilder out = new StringBuilder();
        int lineLen = 0;
        for (int i = 0; i < b.length; i++) {
            int c = b[i] & 0xff;
            if (c == '\n') {
                out.append('\n');
                lineLen = 0;
                continue;
            }
            boolean endOfLine = i + 1 == b.length || b[i + 1] == '\n';
            boolean encode = c == '=' || c > 126 || (c < 32 && c != '\t') || ((c == ' ' || c == '\t') && endOfLine);
            String piece = encode ? String.format(Locale.ROOT, "=%02X", c) : String.valueOf((char) c);
            int limit = endOfLine ? 76 : 75;
            if (lineLen + piece.length() > limit) {
                out.append("=\n");
                lineLen = 0;
            }
            out.append(piece);
            lineLen += piece.length();
        }
        return out.toString();
    }

    static byte[] unquotedPrintable(String s) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '=' && i + 1 < s.length() && s.charAt(i + 1) == '\n') {
                i++;
            } else if (c == '=' && i + 2 < s.length() + 0 && isHex(s.charAt(i + 1)) && isHex(s.charAt(i + 2))) {
                out.write(Integer.parseInt(s.substring(i + 1, i + 3), 16));
                i += 2;
            } else {
                out.write(c);
            }
        }
        return out.toByteArray();
    }

    private static boolean isHex(char c) {
        return Character.digit(c, 16) >= 0;
    }

    // ---- encode -----------------------------------------------------------------------------------

    /** The image bytes of a crit document; fails with a message naming the entry and the member. */
    static byte[] encodeBytes(Object json) {
        if (json instanceof Map<?, ?> doc && doc.get("entries") instanceof List<?> list) {
            for (Extra x : EXTRA) {
                if (x.critName().equals(doc.get("magic"))) {
                    ByteArrayOutputStream out = new ByteArrayOutputStream();
                    writeIntLE(out, Magic.COMMON_MAGIC);
                    writeIntLE(out, x.typeMagic());
                    for (int i = 0; i < list.size(); i++) {
                        if (!(list.get(i) instanceof Map<?, ?> e)) {
                            throw new IllegalArgumentException("entry " + i + ": an object is expected");
                        }
                        Message proto = i == 0 && x.head() != null ? x.head() : x.entry();
                        Message m;
                        try {
                            m = toMessage(e, proto.newBuilderForType(), "");
                        } catch (IllegalArgumentException ex) {
                            throw new IllegalArgumentException("entry " + i + ": " + ex.getMessage(), ex);
                        }
                        if (!m.isInitialized()) {
                            throw new IllegalArgumentException("entry " + i + ": missing " + m.findInitializationErrors());
                        }
                        byte[] body = m.toByteArray();
                        writeIntLE(out, body.length);
                        out.writeBytes(body);
                    }
                    return out.toByteArray();
                }
            }
        }
        return fdrestore.api.image.codec.ImageWriter.toBytes(encode(json));
    }

    private static void writeIntLE(ByteArrayOutputStream out, int v) {
        out.write(v);
        out.write(v >>> 8);
        out.write(v >>> 16);
        out.write(v >>> 24);
    }

    /** The image of a crit document; fails with a message naming the entry and the member. */
    static ImageFile encode(Object json) {
        if (!(json instanceof Map<?, ?> doc) || !(doc.get("magic") instanceof String name)
                || !(doc.get("entries") instanceof List<?> list)) {
            throw new IllegalArgumentException("not a crit image document: an object with \"magic\" and \"entries\" is expected");
        }
        Magic magic = null;
        for (Magic m : Magic.values()) {
            if (m.critName().equals(name)) {
                magic = m;
            }
        }
        if (magic == null) {
            throw new IllegalArgumentException("magic " + name + " is no image kind fdrestore knows");
        }
        List<ImageEntry> entries = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            if (!(list.get(i) instanceof Map<?, ?> e)) {
                throw new IllegalArgumentException("entry " + i + ": an object is expected");
            }
            Message proto = magic == Magic.GHOST_FILE && i > 0 ? GhostChunkEntry.getDefaultInstance()
                    : magic == Magic.CORE ? fdrestore.api.image.proto.CritCoreEntry.getDefaultInstance() : magic.prototype();
            Message m;
            try {
                m = toMessage(e, proto.newBuilderForType(), "");
                if (magic == Magic.CORE) {
                    m = magic.parser().parsePartialFrom(m.toByteArray());
                }
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException("entry " + i + ": " + ex.getMessage(), ex);
            } catch (InvalidProtocolBufferException ex) {
                throw new IllegalArgumentException("entry " + i + ": " + ex.getMessage(), ex);
            }
            byte[] payload = null;
            Object extra = e.get("extra");
            if (extra instanceof Map<?, ?> x) {
                byte[] in = unbase64(String.valueOf(x.get("inq")));
                byte[] out = unbase64(String.valueOf(x.get("outq")));
                payload = new byte[in.length + out.length];
                System.arraycopy(in, 0, payload, 0, in.length);
                System.arraycopy(out, 0, payload, in.length, out.length);
            } else if (extra instanceof String s) {
                payload = unbase64(s);
            } else if (magic.payloadKind() != Magic.PayloadKind.NONE && !(magic == Magic.GHOST_FILE && m instanceof GhostFileEntry g
                    && g.getChunks())) {
                payload = new byte[0]; // crit leaves out an empty payload
            }
            entries.add(new ImageEntry(m, payload));
        }
        return new ImageFile(magic, entries);
    }

    private static Message toMessage(Map<?, ?> d, Message.Builder b, String path) {
        String type = b.getDescriptorForType().getName();
        for (Map.Entry<?, ?> member : d.entrySet()) {
            String key = String.valueOf(member.getKey());
            if (key.equals("extra") && path.isEmpty()) {
                continue;
            }
            if (key.equals(UNKNOWN)) {
                try {
                    b.setUnknownFields(UnknownFieldSet.parseFrom(unbase64(String.valueOf(member.getValue()))));
                } catch (InvalidProtocolBufferException e) {
                    throw new IllegalArgumentException(path + key + ": " + e.getMessage(), e);
                }
                continue;
            }
            FieldDescriptor fd = b.getDescriptorForType().findFieldByName(key);
            if (fd == null) {
                throw new IllegalArgumentException(path + key + ": " + type + " has no such field in fdrestore's images");
            }
            Special sp = SPECIAL.get(type + "." + key);
            Object v = member.getValue();
            String where = path + key;
            if (fd.isRepeated()) {
                if (!(v instanceof List<?> values)) {
                    throw new IllegalArgumentException(where + ": a list is expected");
                }
                if (sp != null && sp.conv() == Conv.IPADD && !values.isEmpty() && values.get(0) instanceof String a) {
                    for (long w : ipWords(a)) {
                        b.addRepeatedField(fd, fieldValue(fd, w));
                    }
                    continue;
                }
                for (int i = 0; i < values.size(); i++) {
                    b.addRepeatedField(fd, single(fd, values.get(i), sp, b, where + "[" + i + "]"));
                }
            } else {
                b.setField(fd, single(fd, v, sp, b, where));
            }
        }
        return b.buildPartial();
    }

    private static Object single(FieldDescriptor fd, Object v, Special sp, Message.Builder parent, String where) {
        switch (fd.getJavaType()) {
            case MESSAGE:
                if (!(v instanceof Map<?, ?> m)) {
                    throw new IllegalArgumentException(where + ": an object is expected");
                }
                return toMessage(m, parent.newBuilderForField(fd), where + ".");
            case BYTE_STRING:
                if (sp != null && sp.conv() == Conv.MESSAGE) {
                    if (!(v instanceof Map<?, ?> m)) {
                        throw new IllegalArgumentException(where + ": an object is expected");
                    }
                    return toMessage(m, sp.message().newBuilderForType(), where + ".").toByteString();
                }
                String s = String.valueOf(v);
                return ByteString.copyFrom(sp != null && sp.conv() == Conv.UNIX_NAME ? unquotedPrintable(s) : unbase64(s));
            case BOOLEAN:
                if (!(v instanceof Boolean)) {
                    throw new IllegalArgumentException(where + ": true or false is expected");
                }
                return v;
            case STRING:
                return String.valueOf(v);
            case ENUM:
                com.google.protobuf.Descriptors.EnumValueDescriptor ev = fd.getEnumType().findValueByName(String.valueOf(v));
                if (ev == null) {
                    throw new IllegalArgumentException(where + ": " + v + " is no value of " + fd.getEnumType().getName());
                }
                return ev;
            case INT:
            case LONG:
                return fieldValue(fd, integerOf(v, sp, where));
            default:
                throw new IllegalArgumentException(where + ": type " + fd.getType() + " has no crit form");
        }
    }

    private static Object fieldValue(FieldDescriptor fd, long v) {
        return fd.getJavaType() == FieldDescriptor.JavaType.INT ? (Object) (int) v : (Object) v;
    }

    private static long integerOf(Object v, Special sp, String where) {
        if (v instanceof Long l) {
            return l;
        }
        if (v instanceof BigDecimal bd) {
            try {
                return bd.toBigIntegerExact().longValue();
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException(where + ": an integer is expected, not " + v);
            }
        }
        if (!(v instanceof String s)) {
            throw new IllegalArgumentException(where + ": an integer is expected, not " + v);
        }
        try {
            if (sp != null) {
                switch (sp.conv()) {
                    case FLAGS:
                        return unflags(s, sp.flags());
                    case DEV: {
                        String[] p = s.split(":");
                        return Long.parseLong(p[0]) << 20 | Long.parseLong(p[1]);
                    }
                    case ODEV: {
                        String[] p = s.split(":");
                        long major = Long.parseLong(p[0]);
                        long minor = Long.parseLong(p[1]);
                        return (major & 0xfff) << 8 | (major & ~0xfffL) << 32 | (minor & 0xff) | (minor & ~0xffL) << 12;
                    }
                    case DICT:
                    case ENUM:
                        for (Map.Entry<Long, String> n : sp.names().entrySet()) {
                            if (n.getValue().equals(s)) {
                                return n.getKey();
                            }
                        }
                        if (sp.conv() == Conv.ENUM) {
                            throw new IllegalArgumentException(s + " is no value of the field's enum");
                        }
                        break;
                    default:
                        break;
                }
            }
            return parseInt(s);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(where + ": " + (e.getMessage() != null ? e.getMessage() : "cannot read " + s), e);
        }
    }

    /** Python's int(s, 0): decimal, or 0x / 0o / 0b prefixed. */
    static long parseInt(String s) {
        String t = s.strip().toLowerCase(Locale.ROOT);
        boolean neg = t.startsWith("-");
        if (neg) {
            t = t.substring(1);
        }
        int radix = 10;
        if (t.startsWith("0x")) {
            radix = 16;
        } else if (t.startsWith("0o")) {
            radix = 8;
        } else if (t.startsWith("0b")) {
            radix = 2;
        }
        if (radix != 10) {
            t = t.substring(2);
        }
        long v = new BigInteger(t.replace("_", ""), radix).longValue();
        return neg ? -v : v;
    }
}
