package fdrestore.core.runtime;

import fdrestore.api.sys.Linux;
import fdrestore.api.sys.MsgHdr;
import fdrestore.api.sys.Native;
import java.util.List;
import jnr.ffi.Pointer;

/**
 * The native memory one task table encodes its requests into: paths, structs, buffers, msghdrs. A request
 * starts with {@link #reset} (the whole size it needs, so the arena grows before anything is written),
 * then takes zeroed, 8-aligned pieces with {@link #alloc}. Addresses are absolute, as the executor passes
 * them to the kernel. Used only under the table's lock.
 */
final class Arena {
    private Pointer memory;
    private long base;
    private int cap;
    private int used;

    Arena(int cap) {
        grow(cap);
    }

    private void grow(int newCap) {
        memory = Native.allocate(newCap);
        base = memory.address();
        cap = newCap;
        used = 0;
    }

    /** The memory, for the executor's view of request addresses and for {@link fdrestore.api.sys.MsgHdr}. */
    Pointer memory() {
        return memory;
    }

    /** The offset in {@link #memory()} of the absolute address {@code addr}. */
    long offset(long addr) {
        return addr - base;
    }

    /** The bytes an {@link #alloc} of {@code len} takes, alignment included. */
    static int space(int len) {
        return ((len + 7) & ~7) + 8;
    }

    /** Starts a request that needs up to {@code need} bytes (the sum of {@link #space} of its pieces). */
    void reset(long need) {
        long total = need + 64;
        if (total > cap) {
            if (total > Integer.MAX_VALUE / 2) {
                throw new IllegalArgumentException("request too large: " + need + " bytes");
            }
            grow((int) Math.max(total, 2L * cap));
        }
        used = 0;
    }

    /** {@code size} zeroed bytes, 8-aligned; returns their address. */
    long alloc(int size) {
        int off = (used + 7) & ~7;
        if (off + size > cap) {
            throw new IllegalStateException("arena overflow");
        }
        used = off + size;
        memory.setMemory(off, size, (byte) 0);
        return base + off;
    }

    /** A copy of {@code b[off, off+len)}; returns its address. */
    long put(byte[] b, int off, int len) {
        long a = alloc(len);
        memory.put(a - base, b, off, len);
        return a;
    }

    /** A NULL-terminated vector of the C strings {@code strings}; returns its address. */
    long putVector(List<byte[]> strings) {
        long vec = alloc(8 * (strings.size() + 1));
        for (int i = 0; i < strings.size(); i++) {
            byte[] b = strings.get(i);
            putLong(vec + 8L * i, put(b, 0, b.length));
        }
        putLong(vec + 8L * strings.size(), 0);
        return vec;
    }

    /** The bytes {@link #putMessage} takes for {@code len} data bytes, a name of {@code nameLen}, {@code fdCount} fds. */
    static int messageSpace(int len, int nameLen, int fdCount) {
        int ctrl = MsgHdr.rightsSpace(fdCount);
        return space(MsgHdr.SIZE) + (ctrl > 0 ? space(ctrl) : 0) + (nameLen > 0 ? space(nameLen) : 0)
                + (len > 0 ? space(len) : 0);
    }

    /**
     * A msghdr to send: {@code data[off, off+len)}, to {@code name} (null: connected), with SCM_RIGHTS
     * {@code fds[0, fdCount)} when there are any; returns its address.
     */
    long putMessage(byte[] data, int off, int len, byte[] name, int[] fds, int fdCount) {
        int ctrl = MsgHdr.rightsSpace(fdCount);
        int nameLen = name == null ? 0 : name.length;
        long msg = alloc(MsgHdr.SIZE);
        long cm = ctrl > 0 ? alloc(ctrl) : 0;
        long at = nameLen > 0 ? put(name, 0, nameLen) : 0;
        long bytes = len > 0 ? put(data, off, len) : 0;
        if (ctrl > 0) {
            MsgHdr.putRights(memory, offset(cm), fds, fdCount);
        }
        MsgHdr.build(memory, offset(msg), bytes, len, at, nameLen, cm, ctrl);
        return msg;
    }

    /** A {@code struct open_how} (O_CLOEXEC added to the flags); returns its address. */
    long putHow(int flags, int mode, long resolve) {
        long how = alloc(Linux.OPEN_HOW_SIZE);
        putLong(how, (flags | Linux.O_CLOEXEC) & 0xffffffffL);
        putLong(how + 8, mode);
        putLong(how + 16, resolve);
        return how;
    }

    int getInt(long addr) {
        return memory.getInt(addr - base);
    }

    long getLong(long addr) {
        return memory.getLong(addr - base);
    }

    void putInt(long addr, int v) {
        memory.putInt(addr - base, v);
    }

    void putLong(long addr, long v) {
        memory.putLong(addr - base, v);
    }

    /** Copies {@code len} bytes at {@code addr} into {@code out[off, off+len)}. */
    void get(long addr, byte[] out, int off, int len) {
        memory.get(addr - base, out, off, len);
    }
}
