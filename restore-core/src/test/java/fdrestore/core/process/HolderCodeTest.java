package fdrestore.core.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import fdrestore.api.sys.Errno;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The holder's reply codes are written twice, in the C holder's header table and in {@link HolderCode}:
 * the two must say the same, row for row, and every step the holder's code answers must be in them.
 */
class HolderCodeTest {
    private static final Path SOURCE = Path.of("src/main/c/fdrestore-holder.c");
    private static final Pattern ROW = Pattern.compile("^ \\*   ([ED])\\s+(\\d+)\\s+([A-Z_]+)\\s+(\\S.*?)\\s*$");

    /** The rows of the C table, each as "LINE CODE NAME what". */
    private static List<String> table() throws IOException {
        List<String> rows = new ArrayList<>();
        boolean in = false;
        for (String l : Files.readAllLines(SOURCE)) {
            if (l.startsWith(" * Reply codes:")) {
                in = true;
            } else if (in && l.equals(" *")) {
                break;
            } else if (in) {
                Matcher m = ROW.matcher(l);
                if (m.matches()) {
                    rows.add(m.group(1) + " " + m.group(2) + " " + m.group(3) + " " + m.group(4));
                }
            }
        }
        return rows;
    }

    @Test
    void theCTableAndTheEnumAgree() throws IOException {
        List<String> c = table();
        List<String> java = new ArrayList<>();
        for (HolderCode h : HolderCode.values()) {
            java.add(h.line + " " + h.code + " " + h.name() + " " + h.what);
        }
        assertFalse(c.isEmpty(), "no reply code table found in " + SOURCE);
        assertEquals(java, c, "HolderCode and the table at the top of " + SOURCE);
    }

    @Test
    void everyStepTheHolderAnswersIsNamed() throws IOException {
        String src = Files.readString(SOURCE);
        // say(fd, "E %ld %ld %ld\n", pid, STEP, errno) and say(fd, "E %ld STEP %ld\n", pid, errno)
        Matcher m = Pattern.compile("\"E %ld %ld %ld\\\\n\", [^,]+, (\\d+),|\"E %ld (\\d+) %ld\\\\n\"").matcher(src);
        TreeSet<Integer> steps = new TreeSet<>();
        while (m.find()) {
            steps.add(Integer.parseInt(m.group(1) != null ? m.group(1) : m.group(2)));
        }
        assertFalse(steps.isEmpty(), "no \"E\" answer found in " + SOURCE);
        for (int step : steps) {
            assertNotNull(HolderCode.of('E', step), "the holder answers step " + step + ", which HolderCode does not name");
        }
    }

    @Test
    void describesAnErrorLineByItsStep() {
        assertEquals("pidfd_getfd failed: " + Errno.describe(9), HolderCode.describe("E 123 3 9"));
        assertEquals("step 42 failed: " + Errno.describe(9), HolderCode.describe("E 123 42 9"));
        assertEquals("R 123", HolderCode.describe("R 123"));
        assertEquals(HolderCode.FOREGROUND, HolderCode.of('D', 5));
        assertNull(HolderCode.of('D', 0));
    }
}
