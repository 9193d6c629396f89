package fdrestore.plugin.inetsocket;

import java.util.Arrays;
import java.util.List;

/**
 * One IPv4 or IPv6 socket address (address bytes in network order, port, IPv6 scope id), built from the
 * images' repeated u32 words, written as a raw {@code struct sockaddr_in}/{@code sockaddr_in6}, and shown
 * as {@code 127.0.0.1:40123} or {@code [::1]:40124}.
 */
record InetAddr(int family, byte[] addr, int port, int scopeId) {
    InetAddr {
        if (family != InetConst.AF_INET && family != InetConst.AF_INET6) {
            throw new IllegalArgumentException("address family " + family + " is neither AF_INET (2) nor AF_INET6 (10)");
        }
        int want = family == InetConst.AF_INET ? 4 : 16;
        if (addr.length != want) {
            throw new IllegalArgumentException((family == InetConst.AF_INET ? "IPv4" : "IPv6") + " address of "
                    + addr.length + " bytes, expected " + want);
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " out of range");
        }
        addr = addr.clone();
    }

    /**
     * From CRIU's words (each u32 holds four address bytes as they lie in memory, so the first byte is
     * the word's low byte). An empty list is the wildcard address; IPv4 uses the first word only.
     */
    static InetAddr of(int family, List<Integer> words, int port, int scopeId) {
        int n = family == InetConst.AF_INET ? 4 : 16;
        byte[] b = new byte[n];
        for (int i = 0; i < words.size() && 4 * i < n; i++) {
            int w = words.get(i);
            b[4 * i] = (byte) w;
            b[4 * i + 1] = (byte) (w >>> 8);
            b[4 * i + 2] = (byte) (w >>> 16);
            b[4 * i + 3] = (byte) (w >>> 24);
        }
        return new InetAddr(family, b, port, scopeId);
    }

    /** The words of this address, as the images record them. */
    int[] words() {
        int[] w = new int[addr.length / 4];
        for (int i = 0; i < w.length; i++) {
            w[i] = InetConst.intAt(addr, 4 * i);
        }
        return w;
    }

    /** Parses a raw sockaddr_in / sockaddr_in6 (as getsockname returns it). */
    static InetAddr parse(byte[] sa) {
        int family = (sa[0] & 255) | (sa[1] & 255) << 8;
        int port = (sa[2] & 255) << 8 | (sa[3] & 255);
        if (family == InetConst.AF_INET) {
            return new InetAddr(family, Arrays.copyOfRange(sa, 4, 8), port, 0);
        }
        if (family == InetConst.AF_INET6) {
            return new InetAddr(family, Arrays.copyOfRange(sa, 8, 24), port, InetConst.intAt(sa, 24));
        }
        throw new IllegalArgumentException("not an inet address: family " + family);
    }

    /** The raw {@code struct sockaddr_in} (16 bytes) or {@code sockaddr_in6} (28 bytes). */
    byte[] sockaddr() {
        if (family == InetConst.AF_INET) {
            byte[] sa = new byte[16];
            sa[0] = (byte) InetConst.AF_INET;
            sa[2] = (byte) (port >>> 8);
            sa[3] = (byte) port;
            System.arraycopy(addr, 0, sa, 4, 4);
            return sa;
        }
        byte[] sa = new byte[28];
        sa[0] = (byte) InetConst.AF_INET6;
        sa[2] = (byte) (port >>> 8);
        sa[3] = (byte) port;
        System.arraycopy(addr, 0, sa, 8, 16);
        InetConst.putInt(sa, 24, scopeId);
        return sa;
    }

    boolean isWildcard() {
        for (byte x : addr) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    /** An IPv6 link-local unicast address (fe80::/10), which needs a scope id to bind. */
    boolean isLinkLocal() {
        return family == InetConst.AF_INET6 && (addr[0] & 255) == 0xfe && (addr[1] & 0xc0) == 0x80;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof InetAddr a && a.family == family && a.port == port && a.scopeId == scopeId
                && Arrays.equals(a.addr, addr);
    }

    @Override
    public int hashCode() {
        return (Arrays.hashCode(addr) * 31 + port) * 31 + family;
    }

    /** The address without the port: {@code 127.0.0.1} or {@code [::1]}. */
    String host() {
        if (family == InetConst.AF_INET) {
            return (addr[0] & 255) + "." + (addr[1] & 255) + "." + (addr[2] & 255) + "." + (addr[3] & 255);
        }
        int[] g = new int[8];
        for (int i = 0; i < 8; i++) {
            g[i] = (addr[2 * i] & 255) << 8 | (addr[2 * i + 1] & 255);
        }
        // RFC 5952: the longest run (>= 2) of zero groups becomes "::".
        int bestStart = -1;
        int bestLen = 1;
        for (int i = 0; i < 8;) {
            if (g[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && g[j] == 0) {
                j++;
            }
            if (j - i > bestLen) {
                bestStart = i;
                bestLen = j - i;
            }
            i = j;
        }
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLen - 1;
                continue;
            }
            if (sb.length() > 1 && sb.charAt(sb.length() - 1) != ':') {
                sb.append(':');
            }
            sb.append(Integer.toHexString(g[i]));
        }
        sb.append(']');
        if (scopeId != 0) {
            sb.insert(sb.length() - 1, "%" + scopeId);
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return host() + ":" + port;
    }
}
