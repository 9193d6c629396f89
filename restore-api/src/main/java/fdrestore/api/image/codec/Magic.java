package fdrestore.api.image.codec;

import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import fdrestore.api.image.proto.CoreEntry;
import fdrestore.api.image.proto.EventfdFileEntry;
import fdrestore.api.image.proto.EventpollFileEntry;
import fdrestore.api.image.proto.EventpollTfdEntry;
import fdrestore.api.image.proto.FdinfoEntry;
import fdrestore.api.image.proto.FdrTaskEntry;
import fdrestore.api.image.proto.FifoEntry;
import fdrestore.api.image.proto.FileEntry;
import fdrestore.api.image.proto.FileLockEntry;
import fdrestore.api.image.proto.FsEntry;
import fdrestore.api.image.proto.GhostChunkEntry;
import fdrestore.api.image.proto.GhostFileEntry;
import fdrestore.api.image.proto.InetSkEntry;
import fdrestore.api.image.proto.InventoryEntry;
import fdrestore.api.image.proto.MemfdInodeEntry;
import fdrestore.api.image.proto.NetlinkSkEntry;
import fdrestore.api.image.proto.PacketSockEntry;
import fdrestore.api.image.proto.PagemapEntry;
import fdrestore.api.image.proto.PagemapHead;
import fdrestore.api.image.proto.PipeDataEntry;
import fdrestore.api.image.proto.PipeEntry;
import fdrestore.api.image.proto.PstreeEntry;
import fdrestore.api.image.proto.RegFileEntry;
import fdrestore.api.image.proto.RemapFilePathEntry;
import fdrestore.api.image.proto.SkPacketEntry;
import fdrestore.api.image.proto.TaskKobjIdsEntry;
import fdrestore.api.image.proto.TcpStreamEntry;
import fdrestore.api.image.proto.TimerfdEntry;
import fdrestore.api.image.proto.TtyDataEntry;
import fdrestore.api.image.proto.TtyFileEntry;
import fdrestore.api.image.proto.TtyInfoEntry;
import fdrestore.api.image.proto.UnixSkEntry;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Every image kind fdrestore reads or writes: its file name, its magic numbers, the protobuf message
 * of its entries and the raw payload that follows each entry, if any. {@link #critName()} is CRIU's
 * name of the magic, as {@code crit} prints it under "magic".
 *
 * <p>Framing (CRIU's): {@code inventory.img} starts with its own magic only; every other image starts
 * with {@link #COMMON_MAGIC} followed by its type magic. Then, until end of file, each entry is a
 * little-endian u32 size, that many bytes of protobuf, and for some kinds a raw payload whose length
 * the entry announces (see {@link PayloadKind}).
 *
 * <p>The legacy per-kind images ({@link #REG_FILES}, {@link #PIPES}, {@link #UNIXSK}, ...) are the
 * layout CRIU used before {@code files.img}: one typed message per entry. Read them when
 * {@code files.img} is absent.
 */
public enum Magic {
    INVENTORY("inventory.img", 0x58313116, false, InventoryEntry.getDefaultInstance(), PayloadKind.NONE),
    PSTREE("pstree.img", 0x50273030, true, PstreeEntry.getDefaultInstance(), PayloadKind.NONE),
    IDS("ids-%d.img", 0x54432030, true, TaskKobjIdsEntry.getDefaultInstance(), PayloadKind.NONE),
    CORE("core-%d.img", 0x55053847, true, CoreEntry.getDefaultInstance(), PayloadKind.NONE),
    FS("fs-%d.img", 0x51403912, true, FsEntry.getDefaultInstance(), PayloadKind.NONE),
    FDINFO("fdinfo-%d.img", 0x56213732, true, FdinfoEntry.getDefaultInstance(), PayloadKind.NONE),
    FILES("files.img", 0x56303138, true, FileEntry.getDefaultInstance(), PayloadKind.NONE),
    REG_FILES("reg-files.img", 0x50363636, true, RegFileEntry.getDefaultInstance(), PayloadKind.NONE),
    REMAP_FPATH("remap-fpath.img", 0x59133954, true, RemapFilePathEntry.getDefaultInstance(), PayloadKind.NONE),
    /** Entry 0 is a {@link GhostFileEntry}; see {@link PayloadKind#GHOST}. */
    GHOST_FILE("ghost-file-%x.img", 0x52583605, true, GhostFileEntry.getDefaultInstance(), PayloadKind.GHOST),
    /** criu's file locks and leases ({@code --file-locks}), taken again by the task that held each. */
    FILE_LOCKS("filelocks.img", 0x54323616, true, FileLockEntry.getDefaultInstance(), PayloadKind.NONE),
    PIPES("pipes.img", 0x56513555, true, PipeEntry.getDefaultInstance(), PayloadKind.NONE),
    PIPES_DATA("pipes-data.img", 0x56453709, true, PipeDataEntry.getDefaultInstance(), PayloadKind.PIPE_DATA),
    FIFO("fifo.img", 0x58364939, true, FifoEntry.getDefaultInstance(), PayloadKind.NONE),
    FIFO_DATA("fifo-data.img", 0x59333054, true, PipeDataEntry.getDefaultInstance(), PayloadKind.PIPE_DATA),
    UNIXSK("unixsk.img", 0x54373943, true, UnixSkEntry.getDefaultInstance(), PayloadKind.NONE),
    INETSK("inetsk.img", 0x56443851, true, InetSkEntry.getDefaultInstance(), PayloadKind.NONE),
    SK_QUEUES("sk-queues.img", 0x56264026, true, SkPacketEntry.getDefaultInstance(), PayloadKind.SK_PACKET),
    TCP_STREAM("tcp-stream-%x.img", 0x51465506, true, TcpStreamEntry.getDefaultInstance(), PayloadKind.TCP_STREAM),
    TTY_FILES("tty-files.img", 0x59433025, true, TtyFileEntry.getDefaultInstance(), PayloadKind.NONE),
    TTY_INFO("tty-info.img", 0x59453036, true, TtyInfoEntry.getDefaultInstance(), PayloadKind.NONE),
    TTY_DATA("tty-data.img", 0x59413026, true, TtyDataEntry.getDefaultInstance(), PayloadKind.NONE),
    EVENTPOLL("eventpoll.img", 0x45023858, true, EventpollFileEntry.getDefaultInstance(), PayloadKind.NONE),
    EVENTPOLL_TFD("eventpoll-tfd.img", 0x44433746, true, EventpollTfdEntry.getDefaultInstance(), PayloadKind.NONE),
    TIMERFD("timerfd.img", 0x50493712, true, TimerfdEntry.getDefaultInstance(), PayloadKind.NONE),
    EVENTFD("eventfd.img", 0x44523722, true, EventfdFileEntry.getDefaultInstance(), PayloadKind.NONE),
    NETLINK_SK("netlinksk.img", 0x58005614, true, NetlinkSkEntry.getDefaultInstance(), PayloadKind.NONE),
    PACKETSK("packetsk.img", 0x60454618, true, PacketSockEntry.getDefaultInstance(), PayloadKind.NONE),
    /** The inodes of memfd files ({@code FileEntry.memfd} names one by {@code inode_id}). */
    MEMFD_INODE("memfd.img", 0x48453499, true, MemfdInodeEntry.getDefaultInstance(), PayloadKind.NONE),
    /**
     * The pages of one shared-memory object (a memfd's contents), named by its shmid: entry 0 is a
     * {@link PagemapHead} naming the raw {@code pages-<pages_id>.img}, the others {@link PagemapEntry}.
     * Its magic is criu's PAGEMAP_MAGIC, which the per-task {@code pagemap-<pid>.img} (not read) shares.
     */
    SHMEM_PAGEMAP("pagemap-shmem-%d.img", 0x56084025, true, PagemapHead.getDefaultInstance(), PayloadKind.NONE),
    /** fdrestore's own task image ("FDRT"); not written by CRIU, optional in every image set. */
    FDR_TASK("fdr-task.img", 0x46445254, true, FdrTaskEntry.getDefaultInstance(), PayloadKind.NONE);

    /** CRIU's IMG_COMMON_MAGIC, the first word of every image except inventory.img. */
    public static final int COMMON_MAGIC = 0x54564319;

    /** How the raw bytes that follow an entry are sized. */
    public enum PayloadKind {
        /** No payload. */
        NONE,
        /** {@link PipeDataEntry#getBytes()} bytes follow each entry (pipes-data, fifo-data). */
        PIPE_DATA,
        /** {@link SkPacketEntry#getLength()} bytes follow each entry (sk-queues). */
        SK_PACKET,
        /** {@code inq_len + outq_len} bytes follow each {@link TcpStreamEntry}: receive queue, then send queue. */
        TCP_STREAM,
        /**
         * Entry 0 is a {@link GhostFileEntry}. Unless its {@code chunks} is set, the file content
         * follows it up to the end of the image and there are no further entries. With {@code chunks},
         * the rest of the image is a sequence of {@link GhostChunkEntry}, each followed by {@code len}
         * bytes of content.
         */
        GHOST
    }

    private final String fileNameFormat;
    private final Pattern fileNamePattern;
    private final int typeMagic;
    private final boolean common;
    private final Message prototype;
    private final PayloadKind payload;

    Magic(String fileNameFormat, int typeMagic, boolean common, Message prototype,
            PayloadKind payload) {
        this.fileNameFormat = fileNameFormat;
        this.fileNamePattern = Pattern.compile(Pattern.quote(fileNameFormat)
                .replace("%d", "\\E([0-9]+)\\Q").replace("%x", "\\E([0-9a-f]+)\\Q"));
        this.typeMagic = typeMagic;
        this.common = common;
        this.prototype = prototype;
        this.payload = payload;
    }

    /**
     * The file name, with {@code %d} (decimal) or {@code %x} (lower-case hex) standing for the id of
     * per-object images: criu names {@code core-%d.img} in decimal but {@code ghost-file-%x.img} and
     * {@code tcp-stream-%x.img} in hex (its image-desc.c).
     */
    public String fileNameFormat() {
        return fileNameFormat;
    }

    /** Whether the file name carries an id (pid, files_id, inode, remap id). */
    public boolean isPerObject() {
        return fileNameFormat.contains("%d") || fileNameFormat.contains("%x");
    }

    /** The file name of a single-file image kind; fails for per-object kinds. */
    public String fileName() {
        if (isPerObject()) {
            throw new IllegalStateException(this + " images are per object: use fileName(id)");
        }
        return fileNameFormat;
    }

    /** The file name of a per-object image kind for this id; fails for single-file kinds. */
    public String fileName(long id) {
        if (!isPerObject()) {
            throw new IllegalStateException(this + " is a single image: use fileName()");
        }
        return String.format(Locale.ROOT, fileNameFormat, id);
    }

    /** Whether {@code name} (a bare file name) is an image of this kind. */
    public boolean matches(String name) {
        return fileNamePattern.matcher(name).matches();
    }

    /** The id in a per-object file name ({@code core-42.img} gives 42), or empty. */
    public Optional<Long> idOf(String name) {
        Matcher m = fileNamePattern.matcher(name);
        if (!m.matches() || !isPerObject()) {
            return Optional.empty();
        }
        try {
            return Optional.of(Long.parseUnsignedLong(m.group(1), fileNameFormat.contains("%x") ? 16 : 10));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** The type magic: the first word of inventory.img, the second word of every other image. */
    public int typeMagic() {
        return typeMagic;
    }

    /** Whether the image starts with {@link #COMMON_MAGIC} before the type magic (all but inventory). */
    public boolean hasCommonMagic() {
        return common;
    }

    /** The length of the header in bytes: 8, or 4 for inventory.img. */
    public int headerLength() {
        return common ? 8 : 4;
    }

    /**
     * The default instance of the entry message. For {@link #GHOST_FILE} this is the head entry;
     * the entries after it are {@link GhostChunkEntry} (see {@link PayloadKind#GHOST}).
     */
    public Message prototype() {
        return prototype;
    }

    /** The parser of the entry message, see {@link #prototype()}. */
    public Parser<? extends Message> parser() {
        return prototype.getParserForType();
    }

    /** How the raw payload after each entry is sized. */
    public PayloadKind payloadKind() {
        return payload;
    }

    /** The kind whose file name this is, or empty. */
    public static Optional<Magic> forFileName(String name) {
        for (Magic m : values()) {
            if (m.matches(name)) {
                return Optional.of(m);
            }
        }
        return Optional.empty();
    }

    /**
     * The kind for a header: {@code first} is the first word; {@code second} the second word (ignored
     * when {@code first} is the inventory magic).
     */
    public static Optional<Magic> forHeader(int first, int second) {
        if (first == INVENTORY.typeMagic) {
            return Optional.of(INVENTORY);
        }
        if (first != COMMON_MAGIC) {
            return Optional.empty();
        }
        for (Magic m : values()) {
            if (m.common && m.typeMagic == second) {
                return Optional.of(m);
            }
        }
        return Optional.empty();
    }

    /** CRIU's name of this magic, as {@code crit} prints it ("EVENTPOLL_FILE" for {@link #EVENTPOLL}). */
    public String critName() {
        switch (this) {
            case EVENTPOLL:
                return "EVENTPOLL_FILE";
            case EVENTFD:
                return "EVENTFD_FILE";
            case SHMEM_PAGEMAP:
                return "PAGEMAP";
            default:
                return name();
        }
    }

    /** {@code NAME (0x12345678)}, for messages. */
    public String describe() {
        return name() + " (" + hex(typeMagic) + ")";
    }

    static String hex(int v) {
        return String.format(Locale.ROOT, "0x%08x", v);
    }
}
