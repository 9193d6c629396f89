package fdrestore.core.json;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Converts a decoded message to the form {@code crit decode --pretty} prints (a port of the rules of
 * pycriu's pb2dict): hex strings for (criu).hex fields, O_* flag strings for rfile flags, socket and
 * task-state names for (criu).dict fields, "major:minor" for (criu).dev fields, dotted/colon
 * addresses for (criu).ipadd fields, quoted-printable unix names, base64 for other bytes, and enum
 * names for the fields CRIU declares as enums (which fdrestore declares as uint32).
 *
 * <p>The option table below is keyed by our message name and the field name; it mirrors CRIU's
 * [(criu).xxx] field options.
 */
final class CritDict {
    /** Marker for bytes shown by crit through quoted-printable (unix socket names). */
    record QuopriBytes(byte[] bytes) {
    }

    static final Set<String> HEX = Set.of("PipeEntry.flags", "UnixSkEntry.flags", "UnixSkEntry.uflags",
            "InetSkEntry.flags", "TtyFileEntry.flags", "TimerfdEntry.flags", "TimerfdEntry.settime_flags",
            "TcpStreamEntry.opt_mask", "TaskCoreEntry.blk_sigset");
    static final Set<String> RFILE_FLAGS = Set.of("RegFileEntry.flags");
    static final Set<String> DEV = Set.of("GhostFileEntry.dev");
    static final Set<String> ODEV = Set.of("GhostFileEntry.rdev");
    static final Set<String> IPADD = Set.of("InetSkEntry.src_addr", "InetSkEntry.dst_addr");
    static final Set<String> UNIX_NAME = Set.of("UnixSkEntry.name");

    static final Map<Integer, String> FD_TYPES = names("UND", "REG", "PIPE", "FIFO", "INETSK", "UNIXSK",
            "EVENTFD", "EVENTPOLL", "INOTIFY", "SIGNALFD", "PACKETSK", "TTY", "FANOTIFY", "NETLINKSK", "NS",
            "TUNF", "EXT", "TIMERFD", "MEMFD", "BPFMAP", "PIDFD");
    static final Map<String, Map<Integer, String>> ENUMS = Map.of(
            "FdinfoEntry.type", FD_TYPES,
            "FileEntry.type", FD_TYPES,
            "RemapFilePathEntry.remap_type", names("LINKED", "GHOST", "PROCFS"),
            "TtyInfoEntry.type", names("UNKNOWN", "PTY", "CONSOLE", "VT", "CTTY", "EXT_TTY", "SERIAL"),
            "InventoryEntry.lsmtype", names("NO_LSM", "SELINUX", "APPARMOR"),
            "CoreEntry.mtype", names("UNKNOWN", "X86_64", "ARM", "AARCH64", "PPC64", "S390", "MIPS",
                    "LOONGARCH64", "RISCV64"),
            "UnixSkEntry.shutdown", names("NONE", "READ", "WRITE", "BOTH"),
            "InetSkEntry.shutdown", names("NONE", "READ", "WRITE", "BOTH"));

    static final Map<String, Map<Integer, String>> DICTS = Map.of(
            "TaskCoreEntry.task_state", Map.of(1, "Alive", 2, "Dead", 3, "Stopped", 6, "Zombie"),
            "UnixSkEntry.type", SkMaps.TYPE, "InetSkEntry.type", SkMaps.TYPE,
            "UnixSkEntry.state", SkMaps.STATE, "InetSkEntry.state", SkMaps.STATE,
            "InetSkEntry.family", SkMaps.FAMILY, "InetSkEntry.proto", SkMaps.PROTO);

    private static final class SkMaps {
        static final Map<Integer, String> FAMILY = Map.of(1, "UNIX", 2, "INET", 10, "INET6", 16, "NETLINK",
                17, "PACKET");
        static final Map<Integer, String> TYPE = Map.of(1, "STREAM", 2, "DGRAM", 3, "RAW", 5, "SEQPACKET",
                10, "PACKET");
        static final Map<Integer, String> STATE = Map.ofEntries(Map.entry(1, "ESTABLISHED"),
                Map.entry(2, "SYN_SENT"), Map.entry(3, "SYN_RECV"), Map.entry(4, "FIN_WAIT1"),
                Map.entry(5, "FIN_WAIT2"), Map.entry(6, "TIME_WAIT"), Map.entry(7, "CLOSE"),
                Map.entry(8, "CLOSE_WAIT"), Map.entry(9, "LAST_ACK"), Map.entry(10, "LISTEN"));
        static final Map<Integer, String> PROTO = Map.of(0, "IP", 6, "TCP", 17, "UDP", 136, "UDPLITE");
    }

    private static final String[][] RFILE = {
        {"O_WRONLY", "1"}, {"O_RDWR", "2"}, {"O_CREAT", "100"}, {"O_EXCL", "200"}, {"O_NOCTTY", "400"},
        {"O_TRUNC", "1000"}, {"O_APPEND", "2000"}, {"O_NONBLOCK", "4000"}, {"O_DSYNC", "10000"},
        {"FASYNC", "20000"}, {"O_DIRECT", "40000"}, {"O_LARGEFILE", "100000"}, {"O_DIRECTORY", "200000"},
        {"O_NOFOLLOW", "400000"}, {"O_NOATIME", "1000000"}, {"O_CLOEXEC", "2000000"},
    };

    private CritDict() {
    }

    private static Map<Integer, String> names(String... n) {
        Map<Integer, String> m = new LinkedHashMap<>();
        for (int i = 0; i < n.length; i++) {
            m.put(i, n[i]);
        }
        return Map.copyOf(m);
    }

    /**
     * The crit form of {@code m}. With {@code modelledOnly} (used for core images only), bytes
     * fields, which there are placeholders for messages we do not model, are left out.
     */
    static Map<String, Object> of(Message m, boolean modelledOnly) {
        Map<String, Object> d = new LinkedHashMap<>();
        String type = m.getDescriptorForType().getName();
        for (Map.Entry<FieldDescriptor, Object> e : m.getAllFields().entrySet()) {
            FieldDescriptor f = e.getKey();
            String key = type + "." + f.getName();
            if (modelledOnly && f.getType() == FieldDescriptor.Type.BYTES) {
                continue; // opaque placeholder of a message we do not model
            }
            Object v = e.getValue();
            if (f.isRepeated()) {
                List<?> list = (List<?>) v;
                List<Object> out = new ArrayList<>();
                if (IPADD.contains(key)) {
                    out.add(ip(list));
                } else {
                    for (Object o : list) {
                        out.add(cast(f, key, o, modelledOnly));
                    }
                }
                d.put(f.getName(), out);
            } else {
                d.put(f.getName(), cast(f, key, v, modelledOnly));
            }
        }
        return d;
    }

    private static Object cast(FieldDescriptor f, String key, Object v, boolean modelledOnly) {
        switch (f.getType()) {
            case MESSAGE:
                return of((Message) v, modelledOnly);
            case BYTES: {
                byte[] b = ((ByteString) v).toByteArray();
                return UNIX_NAME.contains(key) ? new QuopriBytes(b) : base64(b);
            }
            case BOOL:
                return v;
            case STRING:
                return v;
            case ENUM:
                throw new AssertionError("no enum fields expected: " + key);
            default:
                break;
        }
        BigInteger n = integer(f, v);
        if (HEX.contains(key)) {
            return "0x" + n.toString(16);
        }
        if (DEV.contains(key)) {
            long x = n.longValue();
            return (x >>> 20) + ":" + (x & ((1 << 20) - 1));
        }
        if (ODEV.contains(key)) {
            long x = n.longValue(); // glibc major()/minor()
            long major = ((x >>> 8) & 0xfff) | ((x >>> 32) & ~0xfffL);
            long minor = (x & 0xff) | ((x >>> 12) & ~0xffL);
            return major + ":" + minor;
        }
        if (RFILE_FLAGS.contains(key)) {
            return flags(n.longValue());
        }
        Map<Integer, String> dict = DICTS.get(key);
        if (dict != null) {
            String name = dict.get(n.intValue());
            return name != null ? name : n;
        }
        Map<Integer, String> en = ENUMS.get(key);
        if (en != null) {
            String name = en.get(n.intValue());
            if (name == null) {
                throw new AssertionError("crit cannot print " + key + " = " + n + " (not in the enum)");
            }
            return name;
        }
        return n;
    }

    private static BigInteger integer(FieldDescriptor f, Object v) {
        switch (f.getType()) {
            case UINT32:
            case FIXED32:
                return BigInteger.valueOf(Integer.toUnsignedLong((Integer) v));
            case UINT64:
            case FIXED64:
                return new BigInteger(Long.toUnsignedString((Long) v));
            case INT32:
            case SINT32:
            case SFIXED32:
                return BigInteger.valueOf((Integer) v);
            case INT64:
            case SINT64:
            case SFIXED64:
                return BigInteger.valueOf((Long) v);
            default:
                throw new AssertionError("unexpected type " + f.getType() + " of " + f.getFullName());
        }
    }

    static String flags(long value) {
        List<String> parts = new ArrayList<>();
        long known = 0;
        for (String[] fl : RFILE) {
            long bit = Long.parseLong(fl[1], 8);
            known |= bit;
            if ((value & bit) != 0) {
                parts.add(fl[0]);
            }
        }
        long rest = value & ~known;
        if (rest != 0) {
            parts.add("0x" + Long.toHexString(rest));
        }
        return String.join(" | ", parts);
    }

    /** Python's base64.encodebytes: 76-character lines, each ending in a newline. */
    static String base64(byte[] b) {
        if (b.length == 0) {
            return "";
        }
        String s = Base64.getMimeEncoder(76, new byte[] {'\n'}).encodeToString(b);
        return s + "\n";
    }

    /** Python's quopri.decodestring for the ASCII text crit prints. */
    static byte[] quopriDecode(String s) {
        byte[] in = s.getBytes(StandardCharsets.ISO_8859_1);
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (int i = 0; i < in.length; i++) {
            if (in[i] == '=' && i + 1 < in.length && in[i + 1] == '\n') {
                i++; // soft line break
            } else if (in[i] == '=' && i + 2 < in.length && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
                out.write(hex(in[i + 1]) * 16 + hex(in[i + 2]));
                i += 2;
            } else {
                out.write(in[i]);
            }
        }
        return out.toByteArray();
    }

    private static int hex(byte c) {
        return Character.digit((char) c, 16);
    }

    /** pycriu's address rendering: one word is IPv4, otherwise four words of IPv6, network order. */
    private static String ip(List<?> words) {
        if (words.size() == 1) {
            int v = Integer.reverseBytes((Integer) words.get(0));
            return ((v >>> 24) & 0xff) + "." + ((v >>> 16) & 0xff) + "." + ((v >>> 8) & 0xff) + "." + (v & 0xff);
        }
        int[] h = new int[8];
        for (int i = 0; i < 4; i++) {
            int v = Integer.reverseBytes((Integer) words.get(i));
            h[2 * i] = (v >>> 16) & 0xffff;
            h[2 * i + 1] = v & 0xffff;
        }
        // Python ipaddress: the first longest run (length > 1) of zero groups becomes "::"
        int bestStart = -1;
        int bestLen = 0;
        int start = -1;
        int len = 0;
        for (int i = 0; i < 8; i++) {
            if (h[i] == 0) {
                if (start < 0) {
                    start = i;
                }
                len++;
                if (len > bestLen) {
                    bestLen = len;
                    bestStart = start;
                }
            } else {
                start = -1;
                len = 0;
            }
        }
        StringBuilder sb = new StringBuilder();
        if (bestLen > 1) {
            for (int i = 0; i < bestStart; i++) {
                sb.append(i > 0 ? ":" : "").append(Integer.toHexString(h[i]));
            }
            sb.append("::");
            for (int i = bestStart + bestLen; i < 8; i++) {
                sb.append(i > bestStart + bestLen ? ":" : "").append(Integer.toHexString(h[i]));
            }
        } else {
            for (int i = 0; i < 8; i++) {
                sb.append(i > 0 ? ":" : "").append(Integer.toHexString(h[i]));
            }
        }
        return sb.toString();
    }
}
