package fdrestore.api.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;

/** Compares every constant of {@link Linux} and {@link Errno} with the C headers, through gcc. */
@EnabledIf(value = "gccAvailable", disabledReason = "gcc is not installed: cannot compare with /usr/include")
class LinuxConstantsTest {

    static boolean gccAvailable() {
        try {
            Process p = new ProcessBuilder("gcc", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    /** Kernel-internal values with no userspace header. */
    private static final Set<String> NO_HEADER = Set.of("SCM_MAX_FD");

    private static final Map<String, String> STRUCTS = Map.of(
            "MSGHDR", "struct msghdr", "IOVEC", "struct iovec", "CMSGHDR", "struct cmsghdr",
            "UCRED", "struct ucred", "STAT", "struct stat", "SOCKADDR_UN", "struct sockaddr_un",
            "OPEN_HOW", "struct open_how", "DIRENT64", "struct dirent64");

    private static final Map<String, String> SPECIAL = Map.of(
            "POSIX_SPAWNATTR_T_SIZE", "sizeof(posix_spawnattr_t)",
            "POSIX_SPAWN_FILE_ACTIONS_T_SIZE", "sizeof(posix_spawn_file_actions_t)",
            "SIGSET_T_SIZE", "sizeof(sigset_t)",
            "TFD_IOC_SET_TICKS", "_IOW('T', 0, unsigned long long)",
            "OPEN_REFUSED", "(O_CREAT | O_TRUNC | (O_TMPFILE & ~O_DIRECTORY))",
            "SETFL_MASK", "(O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME | O_ASYNC)");

    /** Kernel uapi values that glibc redefines (O_LARGEFILE is 0 in glibc on 64-bit): checked separately. */
    private static final Set<String> KERNEL_UAPI = Set.of("O_LARGEFILE", "TFD_IOC_SET_TICKS");
    private static final String UAPI_HEADERS = String.join("\n",
            "#include <stdio.h>",
            "#include <asm-generic/fcntl.h>",
            "#include <linux/timerfd.h>",
            "");

    static String cExpression(String field) {
        if (SPECIAL.containsKey(field)) {
            return SPECIAL.get(field);
        }
        if (field.startsWith("SYS_")) {
            return "SYS_" + field.substring(4).toLowerCase(Locale.ROOT);
        }
        for (Map.Entry<String, String> s : STRUCTS.entrySet()) {
            String k = s.getKey();
            if (field.equals(k + "_SIZE")) {
                return "sizeof(" + s.getValue() + ")";
            }
            if (field.startsWith(k + "_OFF_")) {
                return "offsetof(" + s.getValue() + ", " + field.substring(k.length() + 5).toLowerCase(Locale.ROOT)
                        + ")";
            }
        }
        return field;
    }

    static Map<String, Long> javaConstants(Class<?> c) throws IllegalAccessException {
        Map<String, Long> out = new LinkedHashMap<>();
        for (Field f : c.getDeclaredFields()) {
            int m = f.getModifiers();
            if (!Modifier.isPublic(m) || !Modifier.isStatic(m) || !Modifier.isFinal(m)) {
                continue;
            }
            Class<?> t = f.getType();
            if (t == int.class || t == long.class || t == short.class) {
                out.put(f.getName(), ((Number) f.get(null)).longValue());
            }
        }
        return out;
    }

    private static final String HEADERS = String.join("\n",
            "#define _GNU_SOURCE",
            "#include <stdio.h>",
            "#include <stddef.h>",
            "#include <fcntl.h>",
            "#include <unistd.h>",
            "#include <errno.h>",
            "#include <sched.h>",
            "#include <signal.h>",
            "#include <spawn.h>",
            "#include <dirent.h>",
            "#include <sys/socket.h>",
            "#include <sys/un.h>",
            "#include <sys/ioctl.h>",
            "#include <sys/syscall.h>",
            "#include <sys/stat.h>",
            "#include <sys/resource.h>",
            "#include <sys/wait.h>",
            "#include <sys/uio.h>",
            "#include <linux/kcmp.h>",
            "#include <linux/openat2.h>",
            "#include <linux/close_range.h>",
            "#include <linux/netlink.h>",
            "#include <linux/sock_diag.h>",
            "");

    private static Map<String, Long> compileAndRun(Path dir, Map<String, String> exprs) throws Exception {
        return compileAndRun(dir, HEADERS, exprs);
    }

    private static Map<String, Long> compileAndRun(Path dir, String headers, Map<String, String> exprs)
            throws Exception {
        StringBuilder c = new StringBuilder(headers).append("int main(void) {\n");
        for (Map.Entry<String, String> e : exprs.entrySet()) {
            c.append("  printf(\"%s %lld\\n\", \"").append(e.getKey()).append("\", (long long)(")
                    .append(e.getValue()).append("));\n");
        }
        c.append("  return 0;\n}\n");
        Path src = dir.resolve("consts.c");
        Path exe = dir.resolve("consts");
        Files.writeString(src, c.toString());
        Process cc = new ProcessBuilder("gcc", "-o", exe.toString(), src.toString()).redirectErrorStream(true)
                .start();
        String ccOut = new String(cc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(cc.waitFor(120, TimeUnit.SECONDS), "gcc timed out");
        assertEquals(0, cc.exitValue(), "gcc failed:\n" + ccOut);
        Process run = new ProcessBuilder(exe.toString()).redirectErrorStream(true).start();
        String out = new String(run.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(run.waitFor(30, TimeUnit.SECONDS));
        Map<String, Long> values = new HashMap<>();
        for (String line : out.split("\n")) {
            if (!line.isBlank()) {
                String[] kv = line.trim().split(" ");
                values.put(kv[0], Long.parseLong(kv[1]));
            }
        }
        return values;
    }

    @Test
    void linuxConstantsMatchTheHeaders(@TempDir Path dir) throws Exception {
        Map<String, Long> java = javaConstants(Linux.class);
        Map<String, String> exprs = new LinkedHashMap<>();
        Map<String, String> uapi = new LinkedHashMap<>();
        for (String name : java.keySet()) {
            if (KERNEL_UAPI.contains(name)) {
                uapi.put(name, name);
            } else if (!NO_HEADER.contains(name)) {
                exprs.put(name, cExpression(name));
            }
        }
        assertTrue(exprs.size() > 150, "expected the whole constants class, got " + exprs.size());
        Map<String, Long> c = new HashMap<>(compileAndRun(dir, exprs));
        Path uapiDir = Files.createDirectories(dir.resolve("uapi"));
        c.putAll(compileAndRun(uapiDir, UAPI_HEADERS, uapi));
        exprs.putAll(uapi);
        List<String> mismatches = new ArrayList<>();
        for (String name : exprs.keySet()) {
            if (!java.get(name).equals(c.get(name))) {
                mismatches.add(name + ": java " + java.get(name) + ", C " + c.get(name) + " (" + exprs.get(name) + ")");
            }
        }
        assertTrue(mismatches.isEmpty(), "constants differ from the headers:\n" + String.join("\n", mismatches));
        assertEquals(253, Linux.SCM_MAX_FD, "SCM_MAX_FD (include/net/scm.h, not exported)");
    }

    @Test
    void errnoValuesMatchTheHeaders(@TempDir Path dir) throws Exception {
        Map<String, Long> java = javaConstants(Errno.class);
        Map<String, String> exprs = new LinkedHashMap<>();
        for (String name : java.keySet()) {
            exprs.put(name, name);
        }
        Map<String, Long> c = compileAndRun(dir, exprs);
        for (String name : exprs.keySet()) {
            assertEquals(c.get(name), java.get(name), name);
        }
    }

    @Test
    void cmsgMacros(@TempDir Path dir) throws Exception {
        Map<String, String> exprs = new LinkedHashMap<>();
        exprs.put("space4", "CMSG_SPACE(4)");
        exprs.put("space1012", "CMSG_SPACE(1012)");
        exprs.put("space12", "CMSG_SPACE(sizeof(struct ucred))");
        exprs.put("len8", "CMSG_LEN(8)");
        Map<String, Long> c = compileAndRun(dir, exprs);
        assertEquals(c.get("space4"), (long) Linux.cmsgSpace(4));
        assertEquals(c.get("space1012"), (long) Linux.cmsgSpace(1012));
        assertEquals(c.get("space12"), (long) Linux.cmsgSpace(Linux.UCRED_SIZE));
        assertEquals(c.get("len8"), (long) Linux.cmsgLen(8));
    }
}
