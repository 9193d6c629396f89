package fdrestore.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Core knows no file kind outside the image model: no FdType constant, no kind's field of a file entry
 * ({@code hasPipe()}, {@code getUsk()} ...), no kind's entry type or side image, in the main code of any
 * package (the image model, its codec and protos live in the API module, {@code fdrestore.api.image}). What a kind shows, verifies
 * and draws of itself goes through {@link FileKind}'s hooks, so a third-party kind gets it too.
 */
class CoreNamesNoKindTest {
    private static final Path MAIN = Paths.get("src/main/java/fdrestore/core");

    /** What names a kind; each line is checked with comments removed. */
    static final Pattern KIND = Pattern.compile(
            "FdType\\.[A-Z][A-Z_]+"
            + "|\\.(has|get)(Reg|Pipe|Fifo|Usk|Isk|Tty|Epfd|Tfd|Efd|Nlsk|Psk|Memfd|Pidfd|Sgfd|Ify|Ffy|Ext|Bpf|Tunf)\\("
            + "|\\b(UnixSk|InetSk|Pipe|PipeData|Fifo|TtyInfo|TtyFile|TtyData|EventpollFile|EventpollTfd|Timerfd|EventfdFile"
            + "|RegFile|RemapFilePath|GhostFile|NetlinkSk|PacketSock|MemfdFile|MemfdInode|Signalfd|InotifyFile|Pidfd)Entry\\b"
            + "|Magic\\.(PIPES_DATA|FIFO_DATA|TTY_INFO|TTY_DATA|REMAP_FPATH|GHOST_FILE|TCP_STREAM|MEMFD_INODE|SK_QUEUES)\\b");

    /**
     * Files not yet converted, each with its reason; a file listed here that names no kind any more fails
     * the test, so the list only shrinks.
     */
    static final Set<String> NOT_YET = Set.of();

    @Test
    void coreMainNamesNoKindOutsideTheImageModel() throws IOException {
        List<String> found = new ArrayList<>();
        List<String> cleaned = new ArrayList<>();
        List<Path> sources;
        try (Stream<Path> s = Files.walk(MAIN)) {
            sources = s.filter(p -> p.toString().endsWith(".java")).sorted().toList();
        }
        assertTrue(sources.size() > 50, "the core sources are under " + MAIN.toAbsolutePath() + ": " + sources.size());
        for (Path p : sources) {
            String rel = MAIN.relativize(p).toString();
            if (rel.startsWith("image/")) {
                continue;
            }
            List<String> hits = hits(Files.readString(p));
            if (NOT_YET.contains(rel)) {
                if (hits.isEmpty()) {
                    cleaned.add(rel);
                }
                continue;
            }
            for (String h : hits) {
                found.add(rel + ": " + h);
            }
        }
        assertEquals(List.of(), found, "core names file kinds outside the image model (use FileKind hooks)");
        assertEquals(List.of(), cleaned, "no longer name a kind: take them off NOT_YET");
    }

    @Test
    void thePatternSeesKindNamesButNotComments() {
        assertEquals(1, hits("if (f.hasPipe()) {").size());
        assertEquals(1, hits("int t = FdType.UNIXSK.code();").size());
        assertEquals(1, hits("for (TtyInfoEntry i : list) {").size());
        assertEquals(1, hits("images.image(Magic.PIPES_DATA)").size());
        assertEquals(0, hits("// f.hasPipe() is the plugin's business").size());
        assertEquals(0, hits("FdType t = FdType.of(e.getType()); Map<FdType, FileKind> m;").size());
    }

    /** The lines of {@code source} (comments left out) that name a kind. */
    static List<String> hits(String source) {
        String code = source.replaceAll("(?s)/\\*.*?\\*/", " ");
        List<String> out = new ArrayList<>();
        for (String line : code.split("\n")) {
            int c = line.indexOf("//");
            String l = c >= 0 ? line.substring(0, c) : line;
            Matcher m = KIND.matcher(l);
            if (m.find()) {
                out.add(m.group() + " in: " + l.trim());
            }
        }
        return out;
    }
}
