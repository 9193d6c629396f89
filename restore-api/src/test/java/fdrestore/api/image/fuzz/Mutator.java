package fdrestore.api.image.fuzz;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A seeded, structure-aware byte mutator for CRIU images: bit flips, interesting values, u32 size prefixes
 * set to edge values, long or truncated varints, inserted / deleted / duplicated chunks, truncation and
 * splices from other images. The same seed gives the same sequence of inputs.
 */
final class Mutator {
    private static final int[] INTERESTING_32 = {0, 1, 2, 4, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0xffff, 0x10000,
        0x3ffffff, 0x4000000, 0x4000001, 0x7ffffffe, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff};
    private static final byte[] INTERESTING_8 = {0, 1, 0x7f, (byte) 0x80, (byte) 0xff, 0x08, 0x10, 0x12, 0x1a, 0x22};

    private final SplittableRandom rnd;
    private final List<byte[]> corpus;

    Mutator(long seed, List<byte[]> corpus) {
        this.rnd = new SplittableRandom(seed);
        this.corpus = corpus;
    }

    int nextInt(int bound) {
        return rnd.nextInt(bound);
    }

    /** A mutation of {@code in} by 1 to 4 stacked operations. */
    byte[] mutate(byte[] in) {
        byte[] b = in;
        int ops = 1 + rnd.nextInt(4);
        for (int i = 0; i < ops; i++) {
            b = once(b);
        }
        return b;
    }

    private byte[] once(byte[] b) {
        if (b.length == 0) {
            return new byte[] {(byte) rnd.nextInt(256)};
        }
        switch (rnd.nextInt(12)) {
            case 0 -> { // bit flip
                byte[] o = b.clone();
                int p = rnd.nextInt(o.length);
                o[p] ^= (byte) (1 << rnd.nextInt(8));
                return o;
            }
            case 1 -> { // random byte
                byte[] o = b.clone();
                o[rnd.nextInt(o.length)] = (byte) rnd.nextInt(256);
                return o;
            }
            case 2 -> { // interesting byte
                byte[] o = b.clone();
                o[rnd.nextInt(o.length)] = INTERESTING_8[rnd.nextInt(INTERESTING_8.length)];
                return o;
            }
            case 3, 4 -> { // interesting u32 LE, often at a size prefix (offset 8 = first entry of most images)
                byte[] o = b.clone();
                if (o.length < 4) {
                    return o;
                }
                int p = rnd.nextInt(3) == 0 && o.length >= 12 ? 8 : rnd.nextInt(o.length - 3);
                int v = INTERESTING_32[rnd.nextInt(INTERESTING_32.length)];
                if (rnd.nextBoolean()) {
                    v += rnd.nextInt(9) - 4;
                }
                o[p] = (byte) v;
                o[p + 1] = (byte) (v >>> 8);
                o[p + 2] = (byte) (v >>> 16);
                o[p + 3] = (byte) (v >>> 24);
                return o;
            }
            case 5 -> { // truncate
                return Arrays.copyOf(b, rnd.nextInt(b.length));
            }
            case 6 -> { // delete a chunk
                int p = rnd.nextInt(b.length);
                int n = 1 + rnd.nextInt(Math.min(64, b.length - p));
                ByteArrayOutputStream o = new ByteArrayOutputStream();
                o.write(b, 0, p);
                o.write(b, p + n, b.length - p - n);
                return o.toByteArray();
            }
            case 7 -> { // insert random bytes
                int p = rnd.nextInt(b.length + 1);
                byte[] ins = new byte[1 + rnd.nextInt(16)];
                for (int i = 0; i < ins.length; i++) {
                    ins[i] = (byte) rnd.nextInt(256);
                }
                return splice(b, p, 0, ins);
            }
            case 8 -> { // duplicate a chunk (repeats entries)
                int p = rnd.nextInt(b.length);
                int n = 1 + rnd.nextInt(Math.min(256, b.length - p));
                return splice(b, p, 0, Arrays.copyOfRange(b, p, p + n));
            }
            case 9 -> { // a long varint: continuation bytes
                int p = rnd.nextInt(b.length);
                byte[] v = new byte[1 + rnd.nextInt(11)];
                Arrays.fill(v, (byte) 0xff);
                v[v.length - 1] = (byte) rnd.nextInt(0x80);
                return splice(b, p, Math.min(v.length, b.length - p), v);
            }
            case 10 -> { // splice from another corpus image
                byte[] other = corpus.get(rnd.nextInt(corpus.size()));
                if (other.length == 0) {
                    return b;
                }
                int from = rnd.nextInt(other.length);
                int n = 1 + rnd.nextInt(Math.min(128, other.length - from));
                int p = rnd.nextInt(b.length);
                return splice(b, p, Math.min(n, b.length - p), Arrays.copyOfRange(other, from, from + n));
            }
            default -> { // swap the body after the header with another image's
                byte[] other = corpus.get(rnd.nextInt(corpus.size()));
                if (b.length < 8 || other.length < 8) {
                    return b;
                }
                return splice(Arrays.copyOf(b, 8), 8, 0, Arrays.copyOfRange(other, 8, other.length));
            }
        }
    }

    private static byte[] splice(byte[] b, int at, int remove, byte[] insert) {
        byte[] o = new byte[b.length - remove + insert.length];
        System.arraycopy(b, 0, o, 0, at);
        System.arraycopy(insert, 0, o, at, insert.length);
        System.arraycopy(b, at + remove, o, at + insert.length, b.length - at - remove);
        return o;
    }
}
