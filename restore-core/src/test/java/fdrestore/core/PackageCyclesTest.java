package fdrestore.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.spi.FileKind;
import fdrestore.core.restore.Restorer;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * No package of core or of the API depends on itself through others, the way {@code ModuleGraphIT} guards
 * the modules.
 * The dependencies are read from the compiled classes' constant pools (every class, field and method type
 * they name), so an inline fully qualified name counts as much as an import.
 */
class PackageCyclesTest {
    /**
     * Dependencies that close a cycle, known and being removed, as "from -> to"; the test ignores them, and
     * fails once one is gone so that its line is deleted. Empty: keep it so.
     */
    private static final Set<String> KNOWN = Set.of();

    private static final Pattern NAME = Pattern.compile("fdrestore/(core|api)/((?:[a-z0-9_]+/)*)[A-Za-z0-9_$]+");

    @Test
    void noPackageCycleInCore() throws IOException, URISyntaxException {
        Map<String, Set<String>> deps = dependencies(classes());
        assertTrue(deps.size() > 5, "too few packages found: " + deps.keySet());
        for (String edge : KNOWN) {
            String[] e = edge.split(" -> ");
            assertTrue(deps.getOrDefault(e[0], Set.of()).remove(e[1]),
                    "a known dependency is gone, delete it from KNOWN: " + edge);
        }
        List<String> cycles = new ArrayList<>();
        for (Set<String> scc : stronglyConnected(deps)) {
            if (scc.size() > 1) {
                cycles.add(String.join(" <-> ", scc) + " " + deps.keySet().stream().filter(scc::contains)
                        .map(p -> p + " -> " + deps.get(p).stream().filter(scc::contains).toList()).toList());
            }
        }
        assertEquals(List.of(), cycles, "package cycles in core (each a set of packages that depend on each other)");
    }

    @Test
    void findsACycleThroughAnInlineQualifiedName() {
        // a -> b by an import, b -> a only by a fully qualified name in a method's body (a class constant)
        Map<String, Set<String>> deps = new TreeMap<>();
        deps.put("a", Set.of("b"));
        deps.put("b", Set.of("a"));
        deps.put("c", Set.of("a"));
        List<Set<String>> sccs = stronglyConnected(deps);
        assertTrue(sccs.contains(Set.of("a", "b")), sccs.toString());
        assertTrue(sccs.contains(Set.of("c")), sccs.toString());
        Set<String> names = new HashSet<>();
        Matcher m = NAME.matcher("(Lfdrestore/core/restore/Holder;)Z");
        while (m.find()) {
            names.add(m.group(1) + "/" + m.group(2));
        }
        assertEquals(Set.of("core/restore/"), names);
    }

    /** The compiled classes of core and of the API (their target/classes or jars' folders). */
    private static List<Path> classes() throws URISyntaxException {
        return List.of(Path.of(Restorer.class.getProtectionDomain().getCodeSource().getLocation().toURI()),
                Path.of(FileKind.class.getProtectionDomain().getCodeSource().getLocation().toURI()));
    }

    /** Package -> the other core and API packages its classes name. */
    private static Map<String, Set<String>> dependencies(List<Path> roots) throws IOException {
        Map<String, Set<String>> deps = new TreeMap<>();
        for (Path location : roots) {
            // a reactor build may hand over the API as its jar rather than its classes folder
            try (FileSystem jar = Files.isRegularFile(location) ? FileSystems.newFileSystem(location) : null) {
                Path root = jar != null ? jar.getPath("/") : location;
                List<Path> files;
                try (Stream<Path> s = Files.walk(root)) {
                    files = s.filter(p -> p.toString().endsWith(".class") && !p.endsWith("module-info.class")).toList();
                }
                for (Path f : files) {
                    String pkg = root.relativize(f.getParent()).toString().replace('/', '.');
                    if (pkg.startsWith("fdrestore.core") || pkg.startsWith("fdrestore.api")) {
                        readInto(deps.computeIfAbsent(pkg, k -> new TreeSet<>()), pkg, f);
                    }
                }
            }
        }
        return deps;
    }

    private static void readInto(Set<String> to, String pkg, Path classFile) throws IOException {
        try (InputStream in = Files.newInputStream(classFile)) {
            for (String name : names(new DataInputStream(in))) {
                Matcher m = NAME.matcher(name);
                while (m.find()) {
                    String p = ("fdrestore/" + m.group(1) + "/" + m.group(2)).replace('/', '.');
                    p = p.substring(0, p.length() - 1);
                    if (!p.equals(pkg)) {
                        to.add(p);
                    }
                }
            }
        }
    }

    /** Every UTF-8 constant of a class file but the string literals' (class names, descriptors, signatures). */
    private static List<String> names(DataInputStream in) throws IOException {
        in.readInt(); // magic
        in.readUnsignedShort();
        in.readUnsignedShort();
        int count = in.readUnsignedShort();
        String[] utf = new String[count];
        Set<Integer> literals = new HashSet<>();
        for (int i = 1; i < count; i++) {
            int tag = in.readUnsignedByte();
            switch (tag) {
                case 1 -> utf[i] = in.readUTF();
                case 7, 16, 19, 20 -> in.readUnsignedShort(); // class, method type, module, package
                case 8 -> literals.add(in.readUnsignedShort()); // string
                case 3, 4 -> in.readInt();
                case 5, 6 -> {
                    in.readLong();
                    i++; // takes two entries
                }
                case 9, 10, 11, 12, 17, 18 -> in.readInt(); // refs, name and type, dynamic
                case 15 -> {
                    in.readUnsignedByte();
                    in.readUnsignedShort();
                }
                default -> throw new IOException("unknown constant pool tag " + tag + " at entry " + i);
            }
        }
        List<String> out = new ArrayList<>();
        for (int i = 1; i < count; i++) {
            if (utf[i] != null && !literals.contains(i)) {
                out.add(utf[i]);
            }
        }
        return out;
    }

    /** Tarjan's strongly connected components of {@code deps}. */
    private static List<Set<String>> stronglyConnected(Map<String, Set<String>> deps) {
        Map<String, Integer> index = new HashMap<>();
        Map<String, Integer> low = new HashMap<>();
        Deque<String> stack = new ArrayDeque<>();
        Set<String> onStack = new HashSet<>();
        List<Set<String>> out = new ArrayList<>();
        for (String v : deps.keySet()) {
            if (!index.containsKey(v)) {
                connect(v, deps, index, low, stack, onStack, out);
            }
        }
        return out;
    }

    private static void connect(String v, Map<String, Set<String>> deps, Map<String, Integer> index,
                                Map<String, Integer> low, Deque<String> stack, Set<String> onStack,
                                List<Set<String>> out) {
        index.put(v, index.size());
        low.put(v, index.get(v));
        stack.push(v);
        onStack.add(v);
        for (String w : deps.getOrDefault(v, Set.of())) {
            if (!index.containsKey(w)) {
                connect(w, deps, index, low, stack, onStack, out);
                low.put(v, Math.min(low.get(v), low.get(w)));
            } else if (onStack.contains(w)) {
                low.put(v, Math.min(low.get(v), index.get(w)));
            }
        }
        if (low.get(v).equals(index.get(v))) {
            Set<String> scc = new TreeSet<>();
            String w;
            do {
                w = stack.pop();
                onStack.remove(w);
                scc.add(w);
            } while (!w.equals(v));
            out.add(scc);
        }
    }
}
