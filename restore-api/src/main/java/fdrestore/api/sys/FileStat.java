package fdrestore.api.sys;

import jnr.ffi.Pointer;

/** The fields of a raw x86-64 {@code struct stat} that fdrestore reads. */
public record FileStat(long dev, long ino, long nlink, int mode, int uid, int gid, long rdev, long size) {
    /** Reads a {@code struct stat} at {@code off}. */
    public static FileStat read(Pointer p, long off) {
        return new FileStat(p.getLong(off + Linux.STAT_OFF_ST_DEV), p.getLong(off + Linux.STAT_OFF_ST_INO),
                p.getLong(off + Linux.STAT_OFF_ST_NLINK), p.getInt(off + Linux.STAT_OFF_ST_MODE),
                p.getInt(off + Linux.STAT_OFF_ST_UID), p.getInt(off + Linux.STAT_OFF_ST_GID),
                p.getLong(off + Linux.STAT_OFF_ST_RDEV), p.getLong(off + Linux.STAT_OFF_ST_SIZE));
    }

    /** S_IFMT bits. */
    public int type() {
        return mode & Linux.S_IFMT;
    }
}
