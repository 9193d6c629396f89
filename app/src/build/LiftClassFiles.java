import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Enumeration;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.Opcodes;

/**
 * Build step of the distribution (run by app/pom.xml with java's source launcher, ASM on the class path):
 * rewrites the classes of a jar compiled for Java 5 or older (class file version below 50) as version 52
 * with stack map frames, in place. The JVM does not put such old classes in a CDS archive or an AOT cache
 * (JDK 17: "Pre JDK 6 class not supported by CDS"; JDK 25: "Old class has been linked"), so without this
 * picocli's ~180 classes are loaded from the jar and verified at every start. The bytecode is unchanged
 * (javac since JDK 6 emits no jsr/ret, which a version 50+ class may not hold: such a class is left as it
 * is). Classes of version 50 and newer, and META-INF/versions/, are copied as they are.
 *
 * <p>Usage: {@code java -cp asm.jar:JAR LiftClassFiles.java JAR}; prints how many classes it rewrote.
 */
public final class LiftClassFiles {
    public static void main(String[] args) throws IOException {
        Path jar = Path.of(args[0]);
        Path tmp = jar.resolveSibling(jar.getFileName() + ".lift");
        int lifted = 0;
        int kept = 0;
        try (JarFile in = new JarFile(jar.toFile(), false);
             JarOutputStream out = new JarOutputStream(Files.newOutputStream(tmp))) {
            for (Enumeration<JarEntry> e = in.entries(); e.hasMoreElements(); ) {
                JarEntry entry = e.nextElement();
                byte[] bytes;
                try (InputStream s = in.getInputStream(entry)) {
                    bytes = s.readAllBytes();
                }
                String name = entry.getName();
                if (name.endsWith(".class") && !name.startsWith("META-INF/") && major(bytes) < 50) {
                    byte[] lifted52 = lift(bytes);
                    if (lifted52 != null) {
                        bytes = lifted52;
                        lifted++;
                    } else {
                        kept++;
                    }
                }
                JarEntry copy = new JarEntry(name);
                copy.setTime(entry.getTime());
                out.putNextEntry(copy);
                out.write(bytes);
                out.closeEntry();
            }
        }
        Files.move(tmp, jar, StandardCopyOption.REPLACE_EXISTING);
        System.out.println(jar.getFileName() + ": " + lifted + " classes lifted to version 52"
                + (kept > 0 ? ", " + kept + " left as they were (jsr/ret)" : ""));
    }

    private static int major(byte[] c) {
        return ((c[6] & 0xff) << 8) | (c[7] & 0xff);
    }

    /** The class as version 52 with frames, or null if its code uses jsr/ret. */
    private static byte[] lift(byte[] bytes) {
        ClassReader reader = new ClassReader(bytes);
        ClassWriter writer = new ClassWriter(reader, ClassWriter.COMPUTE_FRAMES);
        boolean[] subroutines = {false};
        try {
            reader.accept(new org.objectweb.asm.ClassVisitor(Opcodes.ASM9, writer) {
                @Override
                public void visit(int version, int access, String name, String signature, String superName,
                                  String[] interfaces) {
                    super.visit(Opcodes.V1_8, access, name, signature, superName, interfaces);
                }

                @Override
                public org.objectweb.asm.MethodVisitor visitMethod(int access, String name, String descriptor,
                                                                   String signature, String[] exceptions) {
                    return new org.objectweb.asm.MethodVisitor(Opcodes.ASM9,
                            super.visitMethod(access, name, descriptor, signature, exceptions)) {
                        @Override
                        public void visitJumpInsn(int opcode, org.objectweb.asm.Label label) {
                            if (opcode == Opcodes.JSR) {
                                subroutines[0] = true;
                            }
                            super.visitJumpInsn(opcode, label);
                        }

                        @Override
                        public void visitVarInsn(int opcode, int var) {
                            if (opcode == Opcodes.RET) {
                                subroutines[0] = true;
                            }
                            super.visitVarInsn(opcode, var);
                        }
                    };
                }
            }, ClassReader.EXPAND_FRAMES);
        } catch (RuntimeException jsr) {
            return null; // ASM refuses to compute frames around a subroutine
        }
        return subroutines[0] ? null : writer.toByteArray();
    }
}
