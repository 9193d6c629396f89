package fdrestore.plugin.tty;

import fdrestore.api.image.proto.TermiosEntry;
import fdrestore.api.image.proto.WinsizeEntry;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The kernel's {@code struct termios} (the one TCGETS/TCSETS and TIOCGLCKTRMIOS/TIOCSLCKTRMIOS copy on
 * x86-64: four u32 flag words, {@code c_line}, {@code c_cc[19]}, 36 bytes, no speeds) and
 * {@code struct winsize} (four u16), converted from and to CRIU's {@code TermiosEntry}/{@code WinsizeEntry}.
 *
 * <p><b>CRIU's c_cc layout.</b> CRIU copies the {@code c_cc} bytes of glibc's termios (32 bytes) into
 * the repeated u32 {@code c_cc} field with memcpy ({@code termios_copy}), so the 19 control characters are
 * packed four to a word, little-endian, in words 0..7; words 8..18 are whatever memory followed (the
 * v_pty sample has garbage there). That is the wire format: restore reads bytes 0..18 of words 0..4, and
 * {@link #toEntry} writes it the same way (words 8..18 zero).
 */
record Termios(int iflag, int oflag, int cflag, int lflag, int line, byte[] cc) {
    /** NCCS of the kernel's struct termios (asm-generic/termbits.h). */
    static final int NCCS = 19;
    /** sizeof(struct termios) for TCSETS on x86-64. */
    static final int SIZE = 4 * 4 + 1 + NCCS;
    /** How many c_cc words CRIU writes (TERMIOS_NCC). */
    static final int CRIU_NCC = 19;

    // c_iflag
    static final int ISTRIP = 040;
    static final int INLCR = 0100;
    static final int IGNCR = 0200;
    static final int ICRNL = 0400;
    static final int IUCLC = 01000;
    static final int IXON = 02000;
    // c_oflag
    static final int OPOST = 01;
    // c_lflag
    static final int ISIG = 01;
    static final int ICANON = 02;
    static final int ECHO = 010;
    static final int ECHOE = 020;
    static final int ECHOK = 040;
    static final int ECHONL = 0100;
    static final int ECHOCTL = 01000;
    static final int ECHOPRT = 02000;
    static final int ECHOKE = 04000;
    static final int IEXTEN = 0100000;

    Termios {
        if (cc.length != NCCS) {
            throw new IllegalArgumentException("c_cc has " + cc.length + " bytes, want " + NCCS);
        }
        cc = cc.clone();
    }

    /** From an image entry; throws IllegalArgumentException when c_cc is too short (CRIU's verify_termios). */
    static Termios of(TermiosEntry e) {
        if (e.getCCcCount() < CRIU_NCC) {
            throw new IllegalArgumentException("termios c_cc has " + e.getCCcCount() + " words, CRIU writes " + CRIU_NCC);
        }
        byte[] cc = new byte[NCCS];
        for (int i = 0; i < NCCS; i++) {
            int word = e.getCCc(i / 4);
            cc[i] = (byte) (word >>> (8 * (i % 4)));
        }
        return new Termios(e.getCIflag(), e.getCOflag(), e.getCCflag(), e.getCLflag(), e.getCLine() & 0xff, cc);
    }

    /** From the kernel's 36-byte struct (TCGETS). */
    static Termios decode(byte[] raw) {
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        int i = b.getInt();
        int o = b.getInt();
        int c = b.getInt();
        int l = b.getInt();
        int line = b.get() & 0xff;
        byte[] cc = new byte[NCCS];
        b.get(cc);
        return new Termios(i, o, c, l, line, cc);
    }

    /** The kernel's 36-byte struct, for TCSETS / TIOCSLCKTRMIOS. */
    byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(iflag).putInt(oflag).putInt(cflag).putInt(lflag).put((byte) line).put(cc);
        return b.array();
    }

    /** CRIU's entry: c_cc packed four bytes a word in words 0..7, words 8..18 zero; speeds 0. */
    TermiosEntry toEntry() {
        TermiosEntry.Builder e = TermiosEntry.newBuilder().setCIflag(iflag).setCOflag(oflag).setCCflag(cflag)
                .setCLflag(lflag).setCLine(line).setCIspeed(0).setCOspeed(0);
        for (int w = 0; w < CRIU_NCC; w++) {
            int v = 0;
            for (int k = 0; k < 4; k++) {
                int i = w * 4 + k;
                if (i < NCCS) {
                    v |= (cc[i] & 0xff) << (8 * k);
                }
            }
            e.addCCc(v);
        }
        return e.build();
    }

    /**
     * This termios with output processing off: queued data written into the slave reaches the master's
     * input as is (it was processed once already, before the dump).
     */
    Termios forMasterInputReplay() {
        return new Termios(iflag, oflag & ~OPOST, cflag, lflag, line, cc);
    }

    /**
     * This termios with echo, signals, extended processing and input translation off, canonical mode kept:
     * queued data written into the master lands in the slave's input as is, line by line, echoing nothing
     * back to the master and signalling nobody.
     */
    Termios forSlaveInputReplay() {
        return new Termios(iflag & ~(ISTRIP | INLCR | IGNCR | ICRNL | IUCLC | IXON), oflag, cflag,
                lflag & ~(ISIG | ECHO | ECHOE | ECHOK | ECHONL | ECHOCTL | ECHOPRT | ECHOKE | IEXTEN), line, cc);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Termios t && t.iflag == iflag && t.oflag == oflag && t.cflag == cflag && t.lflag == lflag
                && t.line == line && java.util.Arrays.equals(t.cc, cc);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(iflag, oflag, cflag, lflag, line, java.util.Arrays.hashCode(cc));
    }

    @Override
    public String toString() {
        return "termios{iflag 0" + Integer.toOctalString(iflag) + ", oflag 0" + Integer.toOctalString(oflag)
                + ", cflag 0" + Integer.toOctalString(cflag) + ", lflag 0" + Integer.toOctalString(lflag) + ", line "
                + line + ", cc " + java.util.HexFormat.ofDelimiter(" ").formatHex(cc) + "}";
    }

    /** struct winsize: ws_row, ws_col, ws_xpixel, ws_ypixel (u16 each). */
    static byte[] winsize(WinsizeEntry w) {
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort((short) w.getWsRow()).putShort((short) w.getWsCol()).putShort((short) w.getWsXpixel())
                .putShort((short) w.getWsYpixel());
        return b.array();
    }

    static WinsizeEntry winsize(byte[] raw) {
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        return WinsizeEntry.newBuilder().setWsRow(b.getShort() & 0xffff).setWsCol(b.getShort() & 0xffff)
                .setWsXpixel(b.getShort() & 0xffff).setWsYpixel(b.getShort() & 0xffff).build();
    }
}
