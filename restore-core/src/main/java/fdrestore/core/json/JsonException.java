package fdrestore.core.json;

/**
 * Malformed JSON text, or a value the writer cannot represent. For parse errors the message and the
 * accessors give the position (0-based character offset, 1-based line and column).
 */
public final class JsonException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final long offset;
    private final int line;
    private final int column;

    /** A parse error at a position. */
    public JsonException(String problem, long offset, int line, int column) {
        super(problem + " at line " + line + ", column " + column + " (offset " + offset + ")");
        this.offset = offset;
        this.line = line;
        this.column = column;
    }

    /** A write error (no position). */
    public JsonException(String problem) {
        super(problem);
        this.offset = -1;
        this.line = -1;
        this.column = -1;
    }

    /** The 0-based character offset of the problem, or -1 for write errors. */
    public long offset() {
        return offset;
    }

    /** The 1-based line, or -1 for write errors. */
    public int line() {
        return line;
    }

    /** The 1-based column, or -1 for write errors. */
    public int column() {
        return column;
    }
}
