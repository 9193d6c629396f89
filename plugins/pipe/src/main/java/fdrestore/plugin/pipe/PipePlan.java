package fdrestore.plugin.pipe;

import fdrestore.api.spi.FileRestorer;
import fdrestore.api.spi.FleInfo;
import fdrestore.plugin.pipe.Flags.End;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Who does what for one pipe object (one {@code pipe_id}), decided before any syscall and the same for
 * every description of the pipe.
 *
 * <ul>
 * <li>The <b>creator</b> is the description whose master comes first (lowest pid, then lowest fd: CRIU's
 * rule). It calls pipe2, restores the size and the queued data, and keeps its own end (a creator that is
 * O_RDWR reopens the read end with O_RDWR).</li>
 * <li>Each end the creator does not keep goes, as is, to the first other description that wants exactly
 * that end ({@link Delivery#direct}): that description uses the fd as its own.</li>
 * <li>Every other description reopens {@code /proc/thread-self/fd/N} of a copy of its end (CRIU's
 * reopen through /proc/self/fd) so that it gets its own open file description, then closes the copy.
 * When an end is neither kept nor used directly, its last reopener receives the original instead of a
 * copy; an end nobody wants is closed.</li>
 * </ul>
 */
final class PipePlan {
    /** One description of the pipe: its file id, its open flags (PipeEntry.flags) and its master fd slot. */
    record Member(long fileId, int flags, FleInfo master) {
        Member {
            Objects.requireNonNull(master, "master");
        }

        End end() {
            return End.of(flags);
        }
    }

    /**
     * What the creator hands to one other description: an fd of end {@code source} (index into pipe2's
     * result), the original description when {@code original}, a copy otherwise. {@code direct}: the
     * receiver uses it as its own fd instead of reopening it.
     */
    record Delivery(Member to, End source, boolean original, boolean direct) {
    }

    /** Masters in CRIU's order; ends that exist only in flight last, by file id. */
    private static final Comparator<Member> MASTER_ORDER = Comparator.comparing((Member m) -> m.master().isInFlight())
            .thenComparing(Member::master).thenComparing(Member::fileId);

    final long pipeId;
    final Member creator;
    final PipeData data;
    /** Deliveries in the order the creator hands them out. */
    final List<Delivery> deliveries;
    /** pipe2 ends (0 read, 1 write) that nobody uses: closed by the creator. */
    final List<Integer> unusedEnds;
    private final Map<Long, Delivery> byFile = new LinkedHashMap<>();

    private PipePlan(long pipeId, Member creator, PipeData data, List<Delivery> deliveries, List<Integer> unusedEnds) {
        this.pipeId = pipeId;
        this.creator = creator;
        this.data = data;
        this.deliveries = List.copyOf(deliveries);
        this.unusedEnds = List.copyOf(unusedEnds);
        for (Delivery d : deliveries) {
            byFile.put(d.to.fileId(), d);
        }
    }

    /**
     * Plans pipe {@code pipeId} shared by {@code members} (at least one; every description with an fd),
     * with its queued {@code data}.
     */
    static PipePlan of(long pipeId, List<Member> members, PipeData data) {
        if (members.isEmpty()) {
            throw new IllegalArgumentException("pipe " + pipeId + " has no description");
        }
        List<Member> sorted = new ArrayList<>(members);
        sorted.sort(MASTER_ORDER);
        Member creator = sorted.get(0);
        List<Member> others = sorted.subList(1, sorted.size());
        End kept = creator.end() == End.RDWR ? null : creator.end();

        List<Delivery> deliveries = new ArrayList<>();
        List<Integer> unused = new ArrayList<>();
        for (End e : new End[] {End.READ, End.WRITE}) {
            // Receivers of this end, in master order: an O_RDWR description reopens from the read end.
            List<Member> wanting = new ArrayList<>();
            for (Member m : others) {
                End want = m.end() == End.RDWR ? End.READ : m.end();
                if (want == e) {
                    wanting.add(m);
                }
            }
            boolean originalTaken = e == kept;
            Member direct = null;
            if (!originalTaken) {
                for (Member m : wanting) {
                    if (m.end() == e) {
                        direct = m;
                        break;
                    }
                }
            }
            List<Delivery> forEnd = new ArrayList<>();
            for (Member m : wanting) {
                if (m == direct) {
                    forEnd.add(new Delivery(m, e, true, true));
                    originalTaken = true;
                } else {
                    forEnd.add(new Delivery(m, e, false, false));
                }
            }
            if (!originalTaken) {
                // Nobody keeps the original: the last reopener gets it instead of a copy, or it is closed.
                int last = forEnd.size() - 1;
                if (last >= 0) {
                    Delivery d = forEnd.get(last);
                    forEnd.set(last, new Delivery(d.to, e, true, false));
                } else {
                    unused.add(e.pipeIndex());
                }
            }
            deliveries.addAll(forEnd);
        }
        return new PipePlan(pipeId, creator, data, deliveries, unused);
    }

    /** The restorer of description {@code fileId}. */
    FileRestorer restorer(long fileId) {
        if (creator.fileId() == fileId) {
            return new PipeCreator(this);
        }
        Delivery d = byFile.get(fileId);
        if (d == null) {
            throw new IllegalArgumentException("file " + fileId + " is not a description of pipe " + pipeId);
        }
        return new PipePeer(pipeId, creator, d.to, d.direct);
    }

    @Override
    public String toString() {
        return "pipe " + pipeId + ": creator file " + creator.fileId() + ", deliveries " + deliveries
                + ", unused ends " + unusedEnds;
    }
}
