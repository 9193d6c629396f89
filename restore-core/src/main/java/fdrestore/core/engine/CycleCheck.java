package fdrestore.core.engine;

import fdrestore.core.spi.Dependency;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds a cycle among declared dependencies before any syscall. Nodes are (file, stage) pairs, so that
 * "A needs B OPEN to finish" and "B needs A OPEN to finish" (two epolls watching each other) is not a
 * cycle, while "A needs B RESTORED before it opens" and the reverse is.
 */
final class CycleCheck {
    private CycleCheck() {
    }

    private record Node(FileDesc desc, Stage stage) {
        @Override
        public String toString() {
            return desc + " " + stage;
        }
    }

    /** A readable cycle ("a -> b -> a"), or null when there is none. */
    static String find(List<FileDesc> descs, Map<Long, FileDesc> byId) {
        Map<Node, List<Node>> edges = new HashMap<>();
        for (FileDesc d : descs) {
            Node open = new Node(d, Stage.OPEN);
            Node restored = new Node(d, Stage.RESTORED);
            edges.computeIfAbsent(restored, k -> new ArrayList<>()).add(open);
            edges.computeIfAbsent(open, k -> new ArrayList<>());
            for (Dependency dep : d.deps) {
                FileDesc other = byId.get(dep.fileId());
                Stage need = dep.stage();
                if (dep.sameTask()) {
                    Fle there = d.master.task.fleByFile.get(dep.fileId());
                    if (there != null && !there.isMaster()) {
                        need = Stage.OPEN; // a slave is restored as soon as its master is open
                    }
                }
                Node target = new Node(other, need);
                (dep.gatesOpen() ? edges.get(open) : edges.get(restored)).add(target);
            }
        }
        Map<Node, Integer> color = new HashMap<>(); // 1 = on stack, 2 = done
        List<Node> stack = new ArrayList<>();
        for (Node n : edges.keySet()) {
            String c = dfs(n, edges, color, stack);
            if (c != null) {
                return c;
            }
        }
        return null;
    }

    private static String dfs(Node n, Map<Node, List<Node>> edges, Map<Node, Integer> color, List<Node> stack) {
        Integer c = color.get(n);
        if (c != null) {
            if (c == 1) {
                int from = stack.indexOf(n);
                StringBuilder sb = new StringBuilder();
                for (Node s : stack.subList(from, stack.size())) {
                    sb.append(s).append(" -> ");
                }
                return sb.append(n).toString();
            }
            return null;
        }
        color.put(n, 1);
        stack.add(n);
        for (Node m : edges.getOrDefault(n, List.of())) {
            String r = dfs(m, edges, color, stack);
            if (r != null) {
                return r;
            }
        }
        stack.remove(stack.size() - 1);
        color.put(n, 2);
        return null;
    }
}
