package fdrestore.app;

import static org.junit.jupiter.api.Assertions.assertEquals;

import fdrestore.core.json.Json;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;

/** Runs the CLI in-process and captures its output, as picocli's setOut/setErr allow. */
public final class CliRunner {
    public final int code;
    public final String out;
    public final String err;

    private CliRunner(int code, String out, String err) {
        this.code = code;
        this.out = out;
        this.err = err;
    }

    public static CliRunner run(String... args) {
        CommandLine cl = Cli.commandLine(Invocation.DIRECT, args); // as Main makes it
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new CliRunner(code, out.toString(), err.toString());
    }

    @Override
    public String toString() {
        return "exit " + code + "\n--- stdout\n" + out + "--- stderr\n" + err;
    }

    /** A detached restore's outcome: image pid to real pid, and the whole --json document. */
    record Restored(Map<Integer, Integer> pids, Map<String, Object> doc) {
    }

    /**
     * Runs {@code restore --root ROOT --detach --verify --json [extra...] IMAGES}, records every started pid
     * in {@code started} (even when the restore or its verification fails, so the caller can stop them),
     * and asserts exit 0 with a clean verification.
     */
    @SuppressWarnings("unchecked")
    static Restored restoreDetached(List<Integer> started, Path images, Path root, String... extra) {
        List<String> args = new ArrayList<>(List.of("restore", "--root", root.toString(), "--detach", "--verify", "--json"));
        args.addAll(Arrays.asList(extra));
        args.add(images.toString());
        CliRunner r = run(args.toArray(new String[0]));
        Map<Integer, Integer> pids = new LinkedHashMap<>();
        Map<String, Object> doc = Map.of();
        if (r.out.contains("\"tasks\"")) {
            doc = (Map<String, Object>) Json.parse(r.out);
            for (Object o : (List<Object>) doc.get("tasks")) {
                Map<String, Object> t = (Map<String, Object>) o;
                int pid = ((Number) t.get("pid")).intValue();
                started.add(pid);
                pids.put(((Number) t.get("imagePid")).intValue(), pid);
            }
        }
        assertEquals(0, r.code, r.toString());
        Map<String, Object> verify = (Map<String, Object>) doc.get("verify");
        assertEquals(Boolean.TRUE, verify.get("ok"), r.out);
        assertEquals(List.of(), verify.get("mismatches"), r.out);
        return new Restored(pids, doc);
    }
}
