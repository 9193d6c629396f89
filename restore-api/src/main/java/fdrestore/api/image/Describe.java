package fdrestore.api.image;

import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.EventpollFileEntry;
import fdrestore.api.image.proto.EventpollTfdEntry;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.InetSkEntry;
import fdrestore.api.image.proto.PipeDataEntry;
import fdrestore.api.image.proto.RegFileEntry;
import fdrestore.api.image.proto.RemapFilePathEntry;
import fdrestore.api.image.proto.TimerfdEntry;
import fdrestore.api.image.proto.TtyInfoEntry;
import fdrestore.api.image.proto.UnixSkEntry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** One-line, human descriptions of file entries, for {@code show}, errors and reports. */
public final class Describe {
    private static final String[] ACC = {"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"};
    private static final int[] FLAG_BITS = {0100, 0200, 01000, 02000, 04000, 010000, 020000, 040000, 0100000,
        0200000, 0400000, 01000000, 02000000, 010000000, 020000000};
    private static final String[] FLAG_NAMES = {"O_CREAT", "O_EXCL", "O_TRUNC", "O_APPEND", "O_NONBLOCK", "O_DSYNC",
        "O_ASYNC", "O_DIRECT", "O_LARGEFILE", "O_DIRECTORY", "O_NOFOLLOW", "O_NOATIME", "O_CLOEXEC", "O_PATH",
        "O_TMPFILE"};

    private Describe() {
    }

    /** "O_RDWR|O_APPEND|O_LARGEFILE" for open flags. */
    public static String openFlags(int flags) {
        StringBuilder sb = new StringBuilder(ACC[flags & 3]);
        int rest = flags & ~3;
        for (int i = 0; i < FLAG_BITS.length; i++) {
            if ((rest & FLAG_BITS[i]) == FLAG_BITS[i] && FLAG_BITS[i] != 0) {
                sb.append('|').append(FLAG_NAMES[i]);
                rest &= ~FLAG_BITS[i];
            }
        }
        if (rest != 0) {
            sb.append("|0").append(Integer.toOctalString(rest));
        }
        return sb.toString();
    }

    /** The kind of a file entry, as CRIU names it (REG, PIPE ...), or "type N" when unknown. */
    public static String kind(FileEntry f) {
        FdType t = FdType.of(f.getType());
        return t == null ? "type " + f.getType() : t.name();
    }

    /**
     * A one-line description of the file by the kind that restores it ({@code FileKind.describe}), or by
     * core when that kind has none (or there is no such kind).
     */
    public static String file(ImageSet images, FileEntry f,
                              Map<FdType, ? extends fdrestore.api.spi.FileKind> kinds) {
        fdrestore.api.spi.FileKind k = kinds.get(FdType.of(f.getType()));
        if (k != null) {
            try {
                String d = k.describe(f, images);
                if (d != null) {
                    return d;
                }
            } catch (RuntimeException e) {
                return kind(f) + " (cannot describe: " + e.getMessage() + ")";
            }
        }
        return file(images, f);
    }

    /** A one-line description of the file, reading side images of {@code images} as needed. */
    public static String file(ImageSet images, FileEntry f) {
        try {
            return describe(images, f);
        } catch (IOException | RuntimeException e) {
            return kind(f) + " (cannot describe: " + e.getMessage() + ")";
        }
    }

    private static String describe(ImageSet images, FileEntry f) throws IOException {
        if (f.hasReg()) {
            return reg(images, f.getReg());
        }
        if (f.hasPipe()) {
            int acc = f.getPipe().getFlags() & 3;
            return "pipe:[" + Integer.toUnsignedString(f.getPipe().getPipeId()) + "] "
                    + (acc == 0 ? "read end" : acc == 1 ? "write end" : "both ends")
                    + queued(images, Magic.PIPES_DATA, f.getPipe().getPipeId());
        }
        if (f.hasFifo()) {
            String path = images.file(Integer.toUnsignedLong(f.getFifo().getRegfId()))
                    .filter(FileEntry::hasReg).map(r -> r.getReg().getName() + " " + openFlags(r.getReg().getFlags()))
                    .orElse("(path entry " + f.getFifo().getRegfId() + " missing)");
            return "fifo " + path + " pipe_id " + Integer.toUnsignedString(f.getFifo().getPipeId())
                    + queued(images, Magic.FIFO_DATA, f.getFifo().getPipeId());
        }
        if (f.hasUsk()) {
            return unix(images, f.getUsk());
        }
        if (f.hasIsk()) {
            return inet(f.getIsk());
        }
        if (f.hasTty()) {
            return tty(images, f);
        }
        if (f.hasEpfd()) {
            return epoll(f.getEpfd());
        }
        if (f.hasTfd()) {
            TimerfdEntry t = f.getTfd();
            return "timerfd clock " + t.getClockid() + " value " + t.getVsec() + "." + String.format("%09d", t.getVnsec())
                    + "s interval " + t.getIsec() + "." + String.format("%09d", t.getInsec()) + "s ticks " + t.getTicks()
                    + (t.getSettimeFlags() != 0 ? " settime_flags " + t.getSettimeFlags() : "");
        }
        if (f.hasEfd()) {
            return "eventfd count " + f.getEfd().getCounter() + " flags 0" + Integer.toOctalString(f.getEfd().getFlags());
        }
        return kind(f) + " (not described by fdrestore)";
    }

    private static String queued(ImageSet images, Magic magic, int pipeId) throws IOException {
        for (ImageEntry e : images.image(magic).entries()) {
            PipeDataEntry d = e.message(PipeDataEntry.class);
            if (d.getPipeId() == pipeId) {
                return ", " + Integer.toUnsignedString(d.getBytes()) + " B queued"
                        + (d.hasSize() ? ", size " + Integer.toUnsignedString(d.getSize()) : "");
            }
        }
        return "";
    }

    private static String reg(ImageSet images, RegFileEntry r) throws IOException {
        StringBuilder sb = new StringBuilder(r.getName());
        sb.append(' ').append(openFlags(r.getFlags()));
        if (r.getPos() != 0) {
            sb.append(" pos ").append(Long.toUnsignedString(r.getPos()));
        }
        if (r.hasSize()) {
            sb.append(" size ").append(Long.toUnsignedString(r.getSize()));
        }
        if (r.hasMode()) {
            sb.append(" mode 0").append(Integer.toOctalString(r.getMode()));
        }
        for (RemapFilePathEntry m : images.entries(Magic.REMAP_FPATH, RemapFilePathEntry.class)) {
            if (m.getOrigId() == r.getId()) {
                int type = m.hasRemapType() ? m.getRemapType() : 0;
                sb.append(type == 1 ? " (deleted: ghost-file-" : type == 0 ? " (deleted: linked to file " : " (remap ")
                        .append(Integer.toUnsignedString(m.getRemapId())).append(type == 1 ? ".img)" : ")");
            }
        }
        return sb.toString();
    }

    private static String unix(ImageSet images, UnixSkEntry u) {
        String type = switch (u.getType()) {
            case 1 -> "stream";
            case 2 -> "dgram";
            case 5 -> "seqpacket";
            default -> "type " + u.getType();
        };
        String state = switch (u.getState()) {
            case 1 -> "established";
            case 7 -> "close";
            case 10 -> "listen";
            default -> "state " + u.getState();
        };
        StringBuilder sb = new StringBuilder("unix ").append(type).append(' ').append(state)
                .append(" ino ").append(Integer.toUnsignedString(u.getIno()));
        byte[] name = u.getName().toByteArray();
        if (name.length > 0) {
            sb.append(" name ").append(sockName(name));
        }
        if (u.getPeer() != 0) {
            Map<Long, FileEntry> byIno = images.unixSocketsByInode();
            FileEntry peer = byIno.get(Integer.toUnsignedLong(u.getPeer()));
            sb.append(" peer ino ").append(Integer.toUnsignedString(u.getPeer()));
            sb.append(peer == null ? " (not in the image set)" : " (file " + Integer.toUnsignedString(peer.getId()) + ")");
        }
        if (state.equals("listen")) {
            sb.append(" backlog ").append(u.getBacklog());
        }
        return sb.toString();
    }

    /** A unix socket name: "@name" for abstract names, the path otherwise. */
    public static String sockName(byte[] name) {
        if (name.length > 0 && name[0] == 0) {
            return "@" + printable(name, 1, name.length);
        }
        int end = name.length;
        while (end > 0 && name[end - 1] == 0) {
            end--;
        }
        return printable(name, 0, end);
    }

    private static String printable(byte[] b, int from, int to) {
        String s = new String(b, from, to - from, StandardCharsets.UTF_8);
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c < 0x20 || c == 0x7f) {
                sb.append(String.format("\\x%02x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    private static String inet(InetSkEntry s) {
        String fam = s.getFamily() == 10 ? "inet6" : "inet";
        String proto = s.getProto() == 6 ? "tcp" : s.getProto() == 17 ? "udp" : "proto " + s.getProto();
        String state = switch (s.getState()) {
            case 1 -> "established";
            case 7 -> "close";
            case 10 -> "listen";
            default -> "state " + s.getState();
        };
        StringBuilder sb = new StringBuilder(fam + " " + proto + " " + state + " "
                + addr(s.getSrcAddrList(), s.getFamily()) + ":" + s.getSrcPort());
        if (s.getDstPort() != 0) {
            sb.append(" -> ").append(addr(s.getDstAddrList(), s.getFamily())).append(':').append(s.getDstPort());
        }
        if (s.getV6Only()) {
            sb.append(" v6only");
        }
        return sb.toString();
    }

    /** An address from CRIU's repeated u32 words (network byte order in memory). */
    public static String addr(List<Integer> words, int family) {
        byte[] b = new byte[words.size() * 4];
        for (int i = 0; i < words.size(); i++) {
            int w = words.get(i);
            b[4 * i] = (byte) w;
            b[4 * i + 1] = (byte) (w >>> 8);
            b[4 * i + 2] = (byte) (w >>> 16);
            b[4 * i + 3] = (byte) (w >>> 24);
        }
        if (family == 2) {
            return (b.length >= 4 ? (b[0] & 255) + "." + (b[1] & 255) + "." + (b[2] & 255) + "." + (b[3] & 255) : "?");
        }
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i + 1 < b.length; i += 2) {
            if (i > 0) {
                sb.append(':');
            }
            sb.append(Integer.toHexString(((b[i] & 255) << 8) | (b[i + 1] & 255)));
        }
        return sb.append(']').toString();
    }

    private static String tty(ImageSet images, FileEntry f) throws IOException {
        int infoId = f.getTty().getTtyInfoId();
        for (TtyInfoEntry t : images.entries(Magic.TTY_INFO, TtyInfoEntry.class)) {
            if (t.getId() == infoId) {
                String role = switch (t.getType()) {
                    case 1 -> "pty";
                    case 2 -> "console";
                    case 3 -> "vt";
                    case 4 -> "ctty";
                    case 5 -> "ext";
                    case 6 -> "serial";
                    default -> "tty type " + t.getType();
                };
                boolean master = ((t.getRdev() >>> 8) & 0xfff) == 5 && (t.getRdev() & 0xff) == 2;
                StringBuilder sb = new StringBuilder(role);
                if (t.hasPty()) {
                    sb.append(master ? " master /dev/ptmx index " : " slave /dev/pts/").append(t.getPty().getIndex());
                }
                sb.append(' ').append(openFlags(f.getTty().getFlags()));
                if (t.getSid() != 0) {
                    sb.append(" session ").append(t.getSid()).append(" fg pgrp ").append(t.getPgrp());
                }
                if (t.getLocked()) {
                    sb.append(" locked");
                }
                if (t.getPacketMode()) {
                    sb.append(" packet-mode");
                }
                return sb.toString();
            }
        }
        return "tty (tty-info " + infoId + " missing)";
    }

    private static String epoll(EventpollFileEntry e) {
        List<String> t = new ArrayList<>();
        for (EventpollTfdEntry tfd : e.getTfdList()) {
            t.add("fd " + tfd.getTfd() + " events 0x" + Integer.toHexString(tfd.getEvents()) + " data 0x"
                    + Long.toHexString(tfd.getData()));
        }
        return "eventpoll " + (t.isEmpty() ? "with no target" : "targets " + String.join(", ", t));
    }
}
