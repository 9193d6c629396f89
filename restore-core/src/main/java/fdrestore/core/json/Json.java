package fdrestore.core.json;

/**
 * Entry points of fdrestore's small JSON library (no third-party dependency). See
 * {@link JsonReader} for the data model and {@link JsonWriter} for the output forms.
 */
public final class Json {
    private Json() {
    }

    /** Parses {@code text} (strict RFC 8259) to Map/List/String/Long/BigDecimal/Boolean/null. */
    public static Object parse(String text) {
        return JsonReader.parse(text);
    }

    /** Pretty JSON (4-space indent, ASCII only). */
    public static String pretty(Object value) {
        return JsonWriter.pretty().write(value);
    }

    /** Compact JSON (no whitespace, ASCII only). */
    public static String compact(Object value) {
        return JsonWriter.compact().write(value);
    }
}
