package fdrestore.core.json;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A strict RFC 8259 JSON parser. Objects become insertion-ordered {@code Map<String, Object>}
 * (duplicate keys are an error), arrays {@code List<Object>}, strings {@code String}, {@code true}
 * and {@code false} {@code Boolean}, {@code null} Java null. Numbers without fraction or exponent
 * that fit a long become {@code Long}; every other number becomes {@code BigDecimal} (exact). The
 * returned maps and lists are unmodifiable. No comments, no trailing commas, no leading zeros, no
 * NaN, no control characters in strings, nothing after the value but whitespace.
 */
public final class JsonReader {
    /** Nesting deeper than this is rejected (guards the stack). */
    public static final int MAX_DEPTH = 512;

    private final String text;
    private int pos;
    private int depth;

    private JsonReader(String text) {
        this.text = text;
    }

    /** Parses one JSON value that makes up the whole of {@code text}. */
    public static Object parse(String text) {
        JsonReader r = new JsonReader(text);
        r.skipWs();
        if (r.pos >= text.length()) {
            throw r.error("empty input: expected a JSON value");
        }
        Object v = r.value();
        r.skipWs();
        if (r.pos < text.length()) {
            throw r.error("unexpected " + r.describe(r.pos) + " after the JSON value");
        }
        return v;
    }

    private Object value() {
        if (pos >= text.length()) {
            throw error("unexpected end of input: expected a value");
        }
        char c = text.charAt(pos);
        switch (c) {
            case '{':
                return object();
            case '[':
                return array();
            case '"':
                return string();
            case 't':
                return literal("true", Boolean.TRUE);
            case 'f':
                return literal("false", Boolean.FALSE);
            case 'n':
                return literal("null", null);
            default:
                if (c == '-' || (c >= '0' && c <= '9')) {
                    return number();
                }
                throw error("unexpected " + describe(pos) + ": expected a value");
        }
    }

    private Object literal(String word, Object v) {
        if (!text.startsWith(word, pos)) {
            throw error("invalid literal: expected '" + word + "'");
        }
        pos += word.length();
        return v;
    }

    private Map<String, Object> object() {
        enter();
        pos++; // {
        Map<String, Object> map = new LinkedHashMap<>();
        skipWs();
        if (peek() == '}') {
            pos++;
            depth--;
            return Collections.unmodifiableMap(map);
        }
        while (true) {
            skipWs();
            if (peek() != '"') {
                throw error("expected a string key, found " + describe(pos));
            }
            int keyPos = pos;
            String key = string();
            skipWs();
            expect(':', "':' after an object key");
            skipWs();
            Object v = value();
            if (map.containsKey(key)) {
                pos = keyPos;
                throw error("duplicate key \"" + key + "\"");
            }
            map.put(key, v);
            skipWs();
            char c = peek();
            if (c == ',') {
                pos++;
                skipWs();
                if (peek() == '}') {
                    throw error("trailing comma in object");
                }
            } else if (c == '}') {
                pos++;
                depth--;
                return Collections.unmodifiableMap(map);
            } else {
                throw error("expected ',' or '}' in object, found " + describe(pos));
            }
        }
    }

    private List<Object> array() {
        enter();
        pos++; // [
        List<Object> list = new ArrayList<>();
        skipWs();
        if (peek() == ']') {
            pos++;
            depth--;
            return Collections.unmodifiableList(list);
        }
        while (true) {
            skipWs();
            list.add(value());
            skipWs();
            char c = peek();
            if (c == ',') {
                pos++;
                skipWs();
                if (peek() == ']') {
                    throw error("trailing comma in array");
                }
            } else if (c == ']') {
                pos++;
                depth--;
                return Collections.unmodifiableList(list);
            } else {
                throw error("expected ',' or ']' in array, found " + describe(pos));
            }
        }
    }

    private void enter() {
        if (++depth > MAX_DEPTH) {
            throw error("nesting deeper than " + MAX_DEPTH);
        }
    }

    private String string() {
        int start = pos;
        pos++; // opening quote
        StringBuilder sb = new StringBuilder();
        while (true) {
            if (pos >= text.length()) {
                pos = start;
                throw error("unterminated string");
            }
            char c = text.charAt(pos);
            if (c == '"') {
                pos++;
                return sb.toString();
            }
            if (c < 0x20) {
                throw error("control character " + describe(pos) + " in string (must be escaped)");
            }
            if (c != '\\') {
                sb.append(c);
                pos++;
                continue;
            }
            if (pos + 1 >= text.length()) {
                throw error("unterminated escape sequence");
            }
            char e = text.charAt(pos + 1);
            switch (e) {
                case '"': sb.append('"'); break;
                case '\\': sb.append('\\'); break;
                case '/': sb.append('/'); break;
                case 'b': sb.append('\b'); break;
                case 'f': sb.append('\f'); break;
                case 'n': sb.append('\n'); break;
                case 'r': sb.append('\r'); break;
                case 't': sb.append('\t'); break;
                case 'u': {
                    if (pos + 6 > text.length()) {
                        throw error("truncated \\u escape");
                    }
                    int v = 0;
                    for (int i = pos + 2; i < pos + 6; i++) {
                        int d = Character.digit(text.charAt(i), 16);
                        if (d < 0) {
                            throw error("invalid hex digit in \\u escape");
                        }
                        v = v * 16 + d;
                    }
                    sb.append((char) v);
                    pos += 6;
                    continue;
                }
                default:
                    throw error("invalid escape sequence '\\" + e + "'");
            }
            pos += 2;
        }
    }

    private Object number() {
        int start = pos;
        if (peek() == '-') {
            pos++;
        }
        if (pos >= text.length() || !isDigit(text.charAt(pos))) {
            throw error("invalid number: expected a digit");
        }
        if (text.charAt(pos) == '0') {
            pos++;
            if (pos < text.length() && isDigit(text.charAt(pos))) {
                throw error("invalid number: leading zero");
            }
        } else {
            while (pos < text.length() && isDigit(text.charAt(pos))) {
                pos++;
            }
        }
        boolean integral = true;
        if (pos < text.length() && text.charAt(pos) == '.') {
            integral = false;
            pos++;
            if (pos >= text.length() || !isDigit(text.charAt(pos))) {
                throw error("invalid number: expected a digit after '.'");
            }
            while (pos < text.length() && isDigit(text.charAt(pos))) {
                pos++;
            }
        }
        if (pos < text.length() && (text.charAt(pos) == 'e' || text.charAt(pos) == 'E')) {
            integral = false;
            pos++;
            if (pos < text.length() && (text.charAt(pos) == '+' || text.charAt(pos) == '-')) {
                pos++;
            }
            if (pos >= text.length() || !isDigit(text.charAt(pos))) {
                throw error("invalid number: expected a digit in the exponent");
            }
            while (pos < text.length() && isDigit(text.charAt(pos))) {
                pos++;
            }
        }
        String s = text.substring(start, pos);
        if (integral && s.length() <= 20) {
            try {
                return Long.parseLong(s);
            } catch (NumberFormatException ignored) {
                // out of long range: fall through to BigDecimal
            }
        }
        try {
            return new BigDecimal(s);
        } catch (NumberFormatException | ArithmeticException e) {
            pos = start;
            throw error("number out of range: " + s);
        }
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private void expect(char c, String what) {
        if (peek() != c) {
            throw error("expected " + what + ", found " + describe(pos));
        }
        pos++;
    }

    private char peek() {
        if (pos >= text.length()) {
            throw error("unexpected end of input");
        }
        return text.charAt(pos);
    }

    private void skipWs() {
        while (pos < text.length()) {
            char c = text.charAt(pos);
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                pos++;
            } else {
                break;
            }
        }
    }

    private String describe(int at) {
        if (at >= text.length()) {
            return "end of input";
        }
        char c = text.charAt(at);
        if (c < 0x20 || c == 0x7f) {
            return String.format("character U+%04X", (int) c);
        }
        return "'" + c + "'";
    }

    private JsonException error(String problem) {
        int at = Math.min(pos, text.length());
        int line = 1;
        int col = 1;
        for (int i = 0; i < at; i++) {
            if (text.charAt(i) == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        return new JsonException(problem, at, line, col);
    }
}
