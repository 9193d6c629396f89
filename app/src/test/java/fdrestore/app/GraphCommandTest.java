package fdrestore.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.image.ImageSet;
import fdrestore.api.image.ImageSet.FdRef;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;

/** {@code fdrestore graph}: the DOT text is parsed back and its nodes and edges counted against the images. */
class GraphCommandTest {
    /** A parsed DOT graph: nodes (id -> attributes) and edges (from, to, attributes), with a syntax check. */
    record Edge(String from, String to, Map<String, String> attrs) {
    }

    static final class Dot {
        final Map<String, Map<String, String>> nodes = new LinkedHashMap<>();
        final List<Edge> edges = new ArrayList<>();
        final List<String> clusters = new ArrayList<>();
        private final List<String> tokens = new ArrayList<>();
        private int i;

        /** A small parser for the DOT subset fdrestore writes; fails on anything else. */
        static Dot parse(String text) {
            Dot d = new Dot();
            d.tokenize(text);
            d.expect("digraph");
            d.next(); // name
            d.expect("{");
            d.statements();
            if (d.i != d.tokens.size()) {
                throw new AssertionError("text after the closing brace: " + d.tokens.subList(d.i, d.tokens.size()));
            }
            for (Edge e : d.edges) {
                if (!d.nodes.containsKey(e.from) || !d.nodes.containsKey(e.to)) {
                    throw new AssertionError("edge to an undeclared node: " + e);
                }
            }
            return d;
        }

        private void tokenize(String s) {
            int p = 0;
            while (p < s.length()) {
                char c = s.charAt(p);
                if (Character.isWhitespace(c)) {
                    p++;
                } else if (c == '"') {
                    StringBuilder b = new StringBuilder("\"");
                    p++;
                    while (s.charAt(p) != '"') {
                        if (s.charAt(p) == '\\') {
                            char n = s.charAt(++p);
                            b.append(n == 'n' ? '\n' : n);
                        } else {
                            b.append(s.charAt(p));
                        }
                        p++;
                    }
                    p++;
                    tokens.add(b.toString());
                } else if (s.startsWith("->", p)) {
                    tokens.add("->");
                    p += 2;
                } else if ("{}[];=,".indexOf(c) >= 0) {
                    tokens.add(String.valueOf(c));
                    p++;
                } else if (Character.isLetterOrDigit(c) || c == '_' || c == '.') {
                    int q = p;
                    while (q < s.length() && (Character.isLetterOrDigit(s.charAt(q)) || s.charAt(q) == '_' || s.charAt(q) == '.')) {
                        q++;
                    }
                    tokens.add(s.substring(p, q));
                    p = q;
                } else {
                    throw new AssertionError("unexpected character '" + c + "' at " + p);
                }
            }
        }

        private String next() {
            if (i >= tokens.size()) {
                throw new AssertionError("unexpected end of the DOT text");
            }
            return tokens.get(i++);
        }

        private String peek() {
            return i < tokens.size() ? tokens.get(i) : "";
        }

        private void expect(String t) {
            String n = next();
            if (!n.equals(t)) {
                throw new AssertionError("expected '" + t + "', found '" + n + "' at token " + (i - 1));
            }
        }

        private static String id(String t) {
            return t.startsWith("\"") ? t.substring(1) : t;
        }

        private void statements() {
            while (true) {
                String t = next();
                if (t.equals("}")) {
                    return;
                }
                if (t.equals(";")) {
                    continue;
                }
                if (t.equals("subgraph")) {
                    clusters.add(id(next()));
                    expect("{");
                    statements();
                } else if (Set.of("graph", "node", "edge").contains(t) && peek().equals("[")) {
                    attrs();
                } else if (peek().equals("=")) {
                    next();
                    next();
                } else if (peek().equals("->")) {
                    next();
                    String to = id(next());
                    edges.add(new Edge(id(t), to, peek().equals("[") ? attrs() : Map.of()));
                } else {
                    String node = id(t);
                    if (nodes.containsKey(node)) {
                        throw new AssertionError("node declared twice: " + node);
                    }
                    nodes.put(node, peek().equals("[") ? attrs() : Map.of());
                }
            }
        }

        private Map<String, String> attrs() {
            expect("[");
            Map<String, String> m = new HashMap<>();
            while (!peek().equals("]")) {
                String k = id(next());
                expect("=");
                m.put(k, id(next()));
                if (peek().equals(",")) {
                    next();
                }
            }
            expect("]");
            return m;
        }

        long nodes(String cls) {
            return nodes.values().stream().filter(a -> cls.equals(a.get("class"))).count();
        }

        long edges(String cls) {
            return edges.stream().filter(e -> cls.equals(e.attrs.get("class"))).count();
        }
    }

    static Dot graph(String sample) {
        CliRunner r = CliRunner.run("graph", ShowCommandTest.sample(sample).toString());
        assertEquals(0, r.code, r.toString());
        return Dot.parse(r.out);
    }

    @Test
    void aPipeHasItsTasksFdsSharingAndPipes() throws Exception {
        Dot d = graph("a_pipe");
        assertEquals(4, d.nodes("task"));
        assertEquals(26, d.nodes("fd"), "one node per fd of the 4 tasks");
        assertEquals(2, d.nodes("object"), "pipes 421542 and 421543");
        assertEquals(4 + 26 + 2, d.nodes.size(), "no other node");
        assertEquals(3, d.edges("parent"), "30508 -> 30512, 30513; 30512 -> 30514");
        assertEquals(26, d.edges("has"));
        // /dev/null: 1 master, 11 slaves; pipe 421542 ends: 3 + 3 slaves; pipe 421543 ends: 2 + 2
        assertEquals(11 + 3 + 3 + 2 + 2, d.edges("shared"));
        assertEquals(4, d.edges("nested"), "each pipe to the master fd of each of its two ends");
        assertEquals(0, d.edges("dep") + d.edges("peer"));
        assertEquals(d.edges.size(), 3 + 26 + 21 + 4, "no other edge");
        // one session cluster holding the four task clusters
        assertEquals(List.of("cluster_session_30508", "cluster_task_30508", "cluster_task_30512", "cluster_task_30514",
                "cluster_task_30513"), d.clusters);
        // the read end of pipe 421542: master in 30508 at fd 3, a slave in 30513 at fd 100
        assertTrue(d.edges.contains(new Edge("t30508_fd3", "t30513_fd100", Map.of("class", "shared", "color", "blue",
                "label", "file 5"))), d.edges.toString());
        assertTrue(d.nodes.get("t30508").get("label").contains("session leader"));
        assertTrue(d.nodes.get("t30508_fd3").get("label").contains("pipe:[421542] read end"));
    }

    @Test
    void countsMatchTheImagesOfEverySample() throws Exception {
        try (var dirs = Files.list(ShowCommandTest.sample("a_pipe").getParent())) {
            for (Path dir : (Iterable<Path>) dirs.filter(p -> Files.exists(p.resolve("inventory.img"))).sorted()::iterator) {
                ImageSet images = ImageSet.open(dir);
                Dot d = graph(dir.getFileName().toString());
                int fds = images.tasks().stream().mapToInt(t -> t.fds().size()).sum();
                long slaves = 0;
                for (List<FdRef> s : images.sharers().values()) {
                    slaves += Math.max(0, s.size() - 1);
                }
                assertEquals(images.tasks().size(), d.nodes("task"), dir.toString());
                assertEquals(fds, d.nodes("fd"), dir.toString());
                assertEquals(slaves, d.edges("shared"), dir.toString());
                assertEquals(images.tasks().stream().filter(t -> images.task(t.ppid()).isPresent()).count(),
                        d.edges("parent"), dir.toString());
            }
        }
    }

    @Test
    void dependenciesAndPeers() {
        Dot pty = graph("v_pty");
        assertEquals(List.of(new Edge("t6199_fd0", "t6197_fd7", Map.of("class", "dep", "color", "red", "style", "dashed",
                "label", "tty"))), pty.edges.stream().filter(e -> "dep".equals(e.attrs.get("class"))).toList());
        Dot epoll = graph("v_epoll");
        assertEquals(2, epoll.edges.stream().filter(e -> "epoll".equals(e.attrs.get("label"))).count());
        Dot unix = graph("v_unix");
        assertEquals(2, unix.edges("peer"), "a dgram socketpair and an accepted seqpacket connection");
        Dot listenq = graph("c2_listenq");
        assertEquals(2, listenq.edges.stream().filter(e -> "connect".equals(e.attrs.get("label"))).count());
    }

    @Test
    void writesToAFile(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("a.dot");
        CliRunner r = CliRunner.run("graph", "-o", out.toString(), ShowCommandTest.sample("a_pipe").toString());
        assertEquals(0, r.code, r.toString());
        assertEquals("", r.out);
        assertEquals(4, Dot.parse(Files.readString(out)).nodes("task"));
    }

    @Test
    void svgWithoutGraphvizSaysHowToInstallIt() {
        CliRunner r = CliRunner.run("graph", "--svg", "--dot=/nonexistent/dot", ShowCommandTest.sample("a_pipe").toString());
        assertEquals(2, r.code, r.toString());
        assertEquals(1, r.err.strip().lines().count(), r.err);
        assertTrue(r.err.contains("apt-get install graphviz"), r.err);
        assertEquals("", r.out);
    }

    static boolean graphvizInstalled() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(dir, "dot"))) {
                return true;
            }
        }
        return false;
    }

    @Test
    @EnabledIf(value = "graphvizInstalled", disabledReason = "Graphviz's dot is not on the PATH")
    void svgThroughGraphviz(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("a.svg");
        CliRunner r = CliRunner.run("graph", "--svg", "-o", out.toString(), ShowCommandTest.sample("a_pipe").toString());
        assertEquals(0, r.code, r.toString());
        String svg = Files.readString(out);
        assertTrue(svg.contains("<svg") && svg.contains("task 30508"), svg.substring(0, Math.min(400, svg.length())));
        assertFalse(svg.contains("Error"), svg);
    }

    @Test
    void theParserRejectsBrokenDot() {
        org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class, () -> Dot.parse("digraph g { a -> b; }"));
        org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class, () -> Dot.parse("digraph g { a; a; }"));
        org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class, () -> Dot.parse("digraph g { a; "));
        assertEquals(2, Dot.parse("digraph g { a [class=\"x\"]; b; a -> b [class=\"y\"]; }").nodes.size());
    }
}
