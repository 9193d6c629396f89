package fdrestore.plugin.inetsocket;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.UnknownFieldSet;
import java.util.Arrays;

/**
 * The repair-mode state of one established TCP socket ({@code tcp-stream-<ino>.img}): sequence numbers,
 * queued bytes, negotiated options and window.
 *
 * <p>Fields are read by their CRIU field numbers (images/tcp-stream.proto: 13 snd_wl1, 14 snd_wnd,
 * 15 max_window, 16 rcv_wnd, 17 rcv_wup), whatever names the generated class gives them, so that the
 * window comes back right from a real criu image.
 */
record TcpStream(int inqLen, int inqSeq, int outqLen, int outqSeq, int optMask, int sndWscale, int mssClamp,
        int rcvWscale, int timestamp, int unsqLen, boolean hasWindow, int sndWl1, int sndWnd, int maxWindow,
        int rcvWnd, int rcvWup, byte[] inq, byte[] outq) {

    TcpStream {
        if (inq.length != inqLen || outq.length != outqLen) {
            throw new IllegalArgumentException("queued data of " + inq.length + "+" + outq.length
                    + " bytes, the entry announces inq_len " + inqLen + " and outq_len " + outqLen);
        }
        if (Integer.compareUnsigned(unsqLen, outqLen) > 0) {
            throw new IllegalArgumentException("unsq_len " + Integer.toUnsignedString(unsqLen)
                    + " exceeds outq_len " + Integer.toUnsignedString(outqLen));
        }
        inq = inq.clone();
        outq = outq.clone();
    }

    /** Reads a TcpStreamEntry message and its payload (receive queue, then send queue). */
    static TcpStream parse(Message entry, byte[] payload) {
        UnknownFieldSet f;
        try {
            f = UnknownFieldSet.parseFrom(entry.toByteString());
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalArgumentException("unreadable tcp stream entry: " + e.getMessage(), e);
        }
        int inqLen = u32(f, 1, true);
        int outqLen = u32(f, 3, true);
        long total = Integer.toUnsignedLong(inqLen) + Integer.toUnsignedLong(outqLen);
        if (payload.length != total) {
            throw new IllegalArgumentException("tcp stream payload of " + payload.length + " bytes, expected inq_len "
                    + Integer.toUnsignedString(inqLen) + " + outq_len " + Integer.toUnsignedString(outqLen));
        }
        byte[] inq = Arrays.copyOfRange(payload, 0, inqLen);
        byte[] outq = Arrays.copyOfRange(payload, inqLen, payload.length);
        boolean window = f.hasField(13);
        return new TcpStream(inqLen, u32(f, 2, true), outqLen, u32(f, 4, true), u32(f, 5, true), u32(f, 6, true),
                u32(f, 7, true), u32(f, 8, false), u32(f, 9, false), u32(f, 12, false), window,
                u32(f, 13, false), u32(f, 14, false), u32(f, 15, false), u32(f, 16, false), u32(f, 17, false), inq, outq);
    }

    private static int u32(UnknownFieldSet f, int number, boolean required) {
        if (!f.hasField(number) || f.getField(number).getVarintList().isEmpty()) {
            if (required) {
                throw new IllegalArgumentException("tcp stream entry has no field " + number);
            }
            return 0;
        }
        var l = f.getField(number).getVarintList();
        return (int) (long) l.get(l.size() - 1);
    }

    /** The part of the send queue that was sent but not acknowledged. */
    int sentLen() {
        return outqLen - unsqLen;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TcpStream t && t.inqSeq == inqSeq && t.outqSeq == outqSeq && Arrays.equals(t.inq, inq)
                && Arrays.equals(t.outq, outq);
    }

    @Override
    public int hashCode() {
        return inqSeq * 31 + outqSeq;
    }

    @Override
    public String toString() {
        return "tcp stream inq " + Integer.toUnsignedString(inqLen) + " B @" + Integer.toUnsignedString(inqSeq)
                + ", outq " + Integer.toUnsignedString(outqLen) + " B @" + Integer.toUnsignedString(outqSeq)
                + (unsqLen != 0 ? " (" + Integer.toUnsignedString(unsqLen) + " unsent)" : "")
                + ", mss " + mssClamp + ", opts 0x" + Integer.toHexString(optMask);
    }
}
