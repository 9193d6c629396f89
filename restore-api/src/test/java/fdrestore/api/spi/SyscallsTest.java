package fdrestore.api.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import fdrestore.api.sys.Errno;
import fdrestore.api.sys.SysException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;

/** The table of syscall numbers by name, and the checked call in the JVM's own table. */
class SyscallsTest {
    static boolean gccOnX86() {
        if (!Syscalls.arch().equals("x86_64")) {
            return false;
        }
        try {
            Process p = new ProcessBuilder("gcc", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    @Test
    @EnabledIf(value = "gccOnX86", disabledReason = "needs gcc and an x86-64 machine to compare with <sys/syscall.h>")
    void everyX8664NumberMatchesTheHeaders(@TempDir Path dir) throws Exception {
        List<String> names = new ArrayList<>(new TreeSet<>(Syscalls.names()));
        StringBuilder c = new StringBuilder("#include <stdio.h>\n#include <sys/syscall.h>\nint main(void) {\n");
        for (String n : names) {
            c.append("    printf(\"%ld\\n\", (long) SYS_").append(n).append(");\n");
        }
        c.append("    return 0;\n}\n");
        Files.writeString(dir.resolve("n.c"), c);
        Process cc = new ProcessBuilder("gcc", "-o", dir.resolve("n").toString(), dir.resolve("n.c").toString())
                .redirectErrorStream(true).start();
        String out = new String(cc.getInputStream().readAllBytes());
        assertTrue(cc.waitFor(60, TimeUnit.SECONDS) && cc.exitValue() == 0, out);
        Process run = new ProcessBuilder(dir.resolve("n").toString()).start();
        String[] got = new String(run.getInputStream().readAllBytes()).split("\n");
        assertTrue(run.waitFor(30, TimeUnit.SECONDS));
        for (int i = 0; i < names.size(); i++) {
            assertEquals(Long.parseLong(got[i]), Syscalls.number("x86_64", names.get(i)), names.get(i));
        }
    }

    @Test
    void unknownNamesAndArchitecturesAreRefusedNamingBoth() {
        IllegalArgumentException a = assertThrows(IllegalArgumentException.class, () -> Syscalls.number("sparc", "read"));
        assertTrue(a.getMessage().contains("no syscall table for architecture sparc"), a.getMessage());
        IllegalArgumentException n = assertThrows(IllegalArgumentException.class, () -> Syscalls.number("x86_64", "frob"));
        assertTrue(n.getMessage().contains("syscall frob: not in fdrestore's x86_64"), n.getMessage());
        java.util.Set<String> x86 = new TreeSet<>(Syscalls.table("x86_64").keySet());
        x86.remove("dup2");   // asm-generic has no dup2
        assertEquals(x86, new TreeSet<>(Syscalls.table("aarch64").keySet()), "both tables know the same names");
    }

    @Test
    void localRunsInTheJvmsTableAndReportsErrno() throws Exception {
        byte[] mask = new byte[8];
        mask[0] = 1 << 1;   // signal 2 (SIGINT): bit sig - 1
        int fd = (int) Syscalls.local("signalfd4", -1, mask, 8, 02000000);
        try {
            String link = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
            assertEquals("anon_inode:[signalfd]", link);
        } finally {
            Syscalls.closeLocal(fd);
        }
        SysException e = assertThrows(SysException.class, () -> Syscalls.local("signalfd4", -1, mask, 3, 0));
        assertEquals(Errno.EINVAL, e.errno());
        assertTrue(e.getMessage().contains("signalfd4(-1, <8 bytes>, 3, 0) in the JVM's table"), e.getMessage());
    }
}
