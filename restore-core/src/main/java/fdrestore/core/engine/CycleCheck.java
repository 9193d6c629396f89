package fdrestore.core.engine;

import fdrestore.api.spi.Dependency;
import fdrestore.api.spi.Stage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Finds a cycle among declared dependencies before any syscall. Nodes are (file, stage) pairs, so that
 * "A needs B OPEN to finish" and "B needs A OPEN to finish" (two epolls watching each other) is not a
 * cycle, while "A needs B RESTORED before it opens" and the reverse is.
 *
 * <p>Node {@code 2 * i} is file {@code i} OPEN, node {@code 2 * i + 1} file {@code i} RESTORED; RESTORED
 * needs OPEN, a dependency gating open starts at OPEN, one gating done at RESTORED. The graph is kept in
 * int arrays and searched without recursion: a 100,000-file set takes milliseconds, and a chain of any
 * length does not overflow the stack.
 */
final class CycleCheck {
    private CycleCheck() {
    }

    /** A readable cycle ("a -> b -> a"), or null when there is none. */
    static String find(List<FileDesc> descs, Map<Long, FileDesc> byId) {
        int n = 2 * descs.size();
        // Edges in compressed rows: the first pass counts, the second fills.
        int[] start = new int[n + 1];
        for (int pass = 0; pass < 2; pass++) {
            int[] fill = pass == 1 ? Arrays.copyOf(start, n) : null;
            int[] to = pass == 1 ? new int[start[n]] : null;
            for (FileDesc d : descs) {
                int open = 2 * d.index;
                int restored = open + 1;
                if (pass == 0) {
                    start[restored + 1]++;
                } else {
                    to[fill[restored]++] = open;
                }
                for (Dependency dep : d.deps) {
                    FileDesc other = byId.get(dep.fileId());
                    Stage need = dep.stage();
                    if (dep.sameTask()) {
                        Fle there = d.master.task.fleByFile.get(dep.fileId());
                        if (there != null && !there.isMaster()) {
                            need = Stage.OPEN; // a slave is restored as soon as its master is open
                        }
                    }
                    int from = dep.gatesOpen() ? open : restored;
                    int target = 2 * other.index + (need == Stage.RESTORED ? 1 : 0);
                    if (pass == 0) {
                        start[from + 1]++;
                    } else {
                        to[fill[from]++] = target;
                    }
                }
            }
            if (pass == 0) {
                for (int i = 0; i < n; i++) {
                    start[i + 1] += start[i];
                }
            } else {
                return search(descs, start, to);
            }
        }
        throw new AssertionError("unreachable");
    }

    private static String search(List<FileDesc> descs, int[] start, int[] to) {
        int n = start.length - 1;
        byte[] color = new byte[n]; // 0 = new, 1 = on the path, 2 = done
        int[] path = new int[n];
        int[] next = new int[n];    // per path entry: the index of the next edge to follow
        for (int root = 0; root < n; root++) {
            if (color[root] != 0) {
                continue;
            }
            int depth = 0;
            path[0] = root;
            next[0] = start[root];
            color[root] = 1;
            while (depth >= 0) {
                int v = path[depth];
                if (next[depth] < start[v + 1]) {
                    int w = to[next[depth]++];
                    if (color[w] == 1) {
                        return describe(descs, path, depth, w);
                    }
                    if (color[w] == 0) {
                        color[w] = 1;
                        path[++depth] = w;
                        next[depth] = start[w];
                    }
                } else {
                    color[v] = 2;
                    depth--;
                }
            }
        }
        return null;
    }

    private static String describe(List<FileDesc> descs, int[] path, int depth, int back) {
        int from = 0;
        while (path[from] != back) {
            from++;
        }
        List<String> names = new ArrayList<>();
        for (int i = from; i <= depth; i++) {
            names.add(name(descs, path[i]));
        }
        names.add(name(descs, back));
        return String.join(" -> ", names);
    }

    private static String name(List<FileDesc> descs, int node) {
        return descs.get(node / 2) + " " + (node % 2 == 0 ? Stage.OPEN : Stage.RESTORED);
    }
}
