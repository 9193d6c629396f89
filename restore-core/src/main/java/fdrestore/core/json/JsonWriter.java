package fdrestore.core.json;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Writes Java values as JSON: {@code Map} (string keys, in iteration order), {@code Iterable} and
 * arrays, {@code CharSequence}, {@code Character}, {@code Boolean}, integral numbers, finite
 * {@code Double}/{@code Float}/{@code BigDecimal}, {@code Enum} (as its name) and null.
 *
 * <p>Strings are escaped as RFC 8259 requires: quote, backslash and every control character
 * (U+0000..U+001F, plus U+007F, U+2028, U+2029). With {@link #asciiOnly()} (the default) every
 * non-ASCII character is written as a {@code \\uXXXX} escape too (surrogate pairs as two escapes), so
 * the output is pure ASCII; otherwise it is written as is.
 *
 * <p>Pretty output indents by {@code indent} spaces, one member per line, {@code ": "} after keys,
 * {@code {}} and {@code []} for empty containers, like Python's {@code json.dumps(indent=4)}.
 * Compact output has no whitespace at all.
 */
public final class JsonWriter {
    private final int indent;
    private final boolean asciiOnly;

    private JsonWriter(int indent, boolean asciiOnly) {
        this.indent = indent;
        this.asciiOnly = asciiOnly;
    }

    /** Pretty output with 4-space indentation, ASCII only. */
    public static JsonWriter pretty() {
        return new JsonWriter(4, true);
    }

    /** Compact output, ASCII only. */
    public static JsonWriter compact() {
        return new JsonWriter(-1, true);
    }

    /** The same writer with this indentation (negative: compact). */
    public JsonWriter withIndent(int spaces) {
        return new JsonWriter(spaces, asciiOnly);
    }

    /** The same writer escaping non-ASCII ({@code true}) or writing it as is ({@code false}). */
    public JsonWriter withAsciiOnly(boolean ascii) {
        return new JsonWriter(indent, ascii);
    }

    /** Whether non-ASCII characters are escaped. */
    public boolean asciiOnly() {
        return asciiOnly;
    }

    /** The JSON text of {@code value}. */
    public String write(Object value) {
        StringBuilder sb = new StringBuilder();
        write(value, sb);
        return sb.toString();
    }

    /** Appends the JSON text of {@code value} to {@code sb}. */
    public void write(Object value, StringBuilder sb) {
        value(value, sb, 0, new IdentityHashMap<>());
    }

    /** Shorthand for {@code pretty().write(value)}. */
    public static String toPrettyJson(Object value) {
        return pretty().write(value);
    }

    /** Shorthand for {@code compact().write(value)}. */
    public static String toJson(Object value) {
        return compact().write(value);
    }

    private void value(Object v, StringBuilder sb, int level, IdentityHashMap<Object, Boolean> open) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof CharSequence || v instanceof Character) {
            string(v.toString(), sb);
        } else if (v instanceof Boolean) {
            sb.append(v.toString());
        } else if (v instanceof Number) {
            number((Number) v, sb);
        } else if (v instanceof Enum<?>) {
            string(((Enum<?>) v).name(), sb);
        } else if (v instanceof Map<?, ?>) {
            enter(v, open);
            Map<?, ?> m = (Map<?, ?>) v;
            if (m.isEmpty()) {
                sb.append("{}");
            } else {
                sb.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    if (!(e.getKey() instanceof CharSequence)) {
                        throw new JsonException("JSON object keys must be strings, found "
                                + (e.getKey() == null ? "null" : e.getKey().getClass().getName()));
                    }
                    if (!first) {
                        sb.append(',');
                    }
                    first = false;
                    newline(sb, level + 1);
                    string(e.getKey().toString(), sb);
                    sb.append(indent >= 0 ? ": " : ":");
                    value(e.getValue(), sb, level + 1, open);
                }
                newline(sb, level);
                sb.append('}');
            }
            open.remove(v);
        } else if (v instanceof Iterable<?> || v instanceof Object[]) {
            enter(v, open);
            Iterable<?> it = v instanceof Object[] ? java.util.Arrays.asList((Object[]) v) : (Iterable<?>) v;
            if (v instanceof Collection<?> && ((Collection<?>) v).isEmpty()
                    || v instanceof Object[] && ((Object[]) v).length == 0) {
                sb.append("[]");
            } else {
                sb.append('[');
                boolean first = true;
                for (Object o : it) {
                    if (!first) {
                        sb.append(',');
                    }
                    first = false;
                    newline(sb, level + 1);
                    value(o, sb, level + 1, open);
                }
                if (first) {
                    sb.append(']');
                } else {
                    newline(sb, level);
                    sb.append(']');
                }
            }
            open.remove(v);
        } else if (v instanceof int[] || v instanceof long[] || v instanceof boolean[] || v instanceof short[]) {
            Object[] boxed;
            if (v instanceof int[]) {
                boxed = java.util.Arrays.stream((int[]) v).boxed().toArray();
            } else if (v instanceof long[]) {
                boxed = java.util.Arrays.stream((long[]) v).boxed().toArray();
            } else if (v instanceof short[]) {
                short[] s = (short[]) v;
                boxed = new Object[s.length];
                for (int i = 0; i < s.length; i++) {
                    boxed[i] = s[i];
                }
            } else {
                boolean[] b = (boolean[]) v;
                boxed = new Object[b.length];
                for (int i = 0; i < b.length; i++) {
                    boxed[i] = b[i];
                }
            }
            value(boxed, sb, level, open);
        } else {
            throw new JsonException("cannot write a " + v.getClass().getName() + " as JSON");
        }
    }

    private static void enter(Object v, IdentityHashMap<Object, Boolean> open) {
        if (open.put(v, Boolean.TRUE) != null) {
            throw new JsonException("cyclic structure: a container contains itself");
        }
    }

    private void newline(StringBuilder sb, int level) {
        if (indent < 0) {
            return;
        }
        sb.append('\n');
        for (int i = 0; i < level * indent; i++) {
            sb.append(' ');
        }
    }

    private static void number(Number n, StringBuilder sb) {
        if (n instanceof Double || n instanceof Float) {
            double d = n.doubleValue();
            if (Double.isNaN(d) || Double.isInfinite(d)) {
                throw new JsonException("JSON has no representation for " + d);
            }
            if (d == Math.rint(d) && Math.abs(d) < 1e15) {
                sb.append((long) d);
                if (d == 0 && 1 / d < 0) {
                    sb.setLength(sb.length() - 1);
                    sb.append("-0");
                }
            } else {
                sb.append(n instanceof Float ? Float.toString((Float) n) : Double.toString(d));
            }
        } else if (n instanceof BigDecimal) {
            sb.append(((BigDecimal) n).toString());
        } else if (n instanceof BigInteger || n instanceof Long || n instanceof Integer || n instanceof Short
                || n instanceof Byte) {
            sb.append(n.toString());
        } else {
            // AtomicLong and other integral-looking numbers
            BigDecimal bd;
            try {
                bd = new BigDecimal(n.toString());
            } catch (NumberFormatException e) {
                throw new JsonException("cannot write number " + n + " as JSON");
            }
            sb.append(bd.toString());
        }
    }

    private void string(String s, StringBuilder sb) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': sb.append("\\\""); break;
                case '\\': sb.append("\\\\"); break;
                case '\b': sb.append("\\b"); break;
                case '\f': sb.append("\\f"); break;
                case '\n': sb.append("\\n"); break;
                case '\r': sb.append("\\r"); break;
                case '\t': sb.append("\\t"); break;
                default:
                    if (c < 0x20 || c == 0x7f || c == '\u2028' || c == '\u2029' || (asciiOnly && c > 0x7e)) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
            }
        }
        sb.append('"');
    }
}
