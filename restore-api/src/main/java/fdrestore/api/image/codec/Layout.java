package fdrestore.api.image.codec;

import com.google.protobuf.Message;
import fdrestore.api.image.proto.GhostChunkEntry;
import fdrestore.api.image.proto.GhostFileEntry;
import fdrestore.api.image.proto.PagemapEntry;
import fdrestore.api.image.proto.PipeDataEntry;
import fdrestore.api.image.proto.SkPacketEntry;
import fdrestore.api.image.proto.TcpStreamEntry;
import java.util.List;

/** Per-kind entry typing and payload sizing, shared by the reader and the writer. */
final class Layout {
    /** No payload follows the entry. */
    static final long NONE = -1;
    /** The payload runs to the end of the image. */
    static final long TO_EOF = -2;

    private Layout() {
    }

    /** The message type of entry {@code index}, given the entries before it. */
    static Message prototypeFor(Magic magic, int index, List<ImageEntry> before) {
        if (magic.payloadKind() == Magic.PayloadKind.GHOST && index > 0) {
            return GhostChunkEntry.getDefaultInstance();
        }
        if (magic == Magic.SHMEM_PAGEMAP && index > 0) {
            return PagemapEntry.getDefaultInstance();
        }
        return magic.prototype();
    }

    /**
     * The payload length announced by entry {@code index} (unsigned, may exceed int range), or
     * {@link #NONE} or {@link #TO_EOF}. {@code m} has the type {@link #prototypeFor} gave.
     */
    static long payloadLength(Magic magic, Message m, int index) {
        switch (magic.payloadKind()) {
            case NONE:
                return NONE;
            case PIPE_DATA:
                return Integer.toUnsignedLong(((PipeDataEntry) m).getBytes());
            case SK_PACKET:
                return Integer.toUnsignedLong(((SkPacketEntry) m).getLength());
            case TCP_STREAM: {
                TcpStreamEntry t = (TcpStreamEntry) m;
                return Integer.toUnsignedLong(t.getInqLen()) + Integer.toUnsignedLong(t.getOutqLen());
            }
            case GHOST:
                if (index == 0) {
                    return ((GhostFileEntry) m).getChunks() ? NONE : TO_EOF;
                }
                long len = ((GhostChunkEntry) m).getLen();
                return len < 0 ? Long.MAX_VALUE : len; // u64 above 2^63: surely too long
            default:
                throw new AssertionError(magic.payloadKind());
        }
    }

    /** Whether no entry may follow entry {@code index}. */
    static boolean isLast(Magic magic, Message m, int index) {
        return magic.payloadKind() == Magic.PayloadKind.GHOST && index == 0 && !((GhostFileEntry) m).getChunks();
    }

    /** What the payload length is called, for messages. */
    static String payloadField(Magic magic, int index) {
        switch (magic.payloadKind()) {
            case PIPE_DATA:
                return "bytes";
            case SK_PACKET:
                return "length";
            case TCP_STREAM:
                return "inq_len + outq_len";
            case GHOST:
                return index == 0 ? "content to end of file" : "len";
            default:
                return "payload";
        }
    }

    static String typeName(Message m) {
        return m.getDescriptorForType().getName();
    }
}
