package fdrestore.app.cli;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How crit spells values in its JSON, both ways: flag sets, IP addresses, base64 in Python's lines,
 * quoted-printable unix socket names, and Python's {@code int(s, 0)}. {@link CritJson} decides which
 * field takes which spelling ({@link CritFields}).
 */
final class CritText {
    private CritText() {
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
}
