package fdrestore.core.json;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class JsonReaderTest {

    @Test
    void parsesAllValueKinds() {
        Object v = Json.parse(" {\"a\": [1, -2, 3.5, 1e3, true, false, null, \"x\"], \"b\": {}, \"c\": []}\n");
        Map<?, ?> m = (Map<?, ?>) v;
        assertEquals(List.of("a", "b", "c"), List.copyOf(m.keySet()), "insertion order kept");
        List<?> a = (List<?>) m.get("a");
        assertEquals(1L, a.get(0));
        assertEquals(-2L, a.get(1));
        assertEquals(new BigDecimal("3.5"), a.get(2));
        assertEquals(new BigDecimal("1e3"), a.get(3));
        assertEquals(Boolean.TRUE, a.get(4));
        assertEquals(Boolean.FALSE, a.get(5));
        assertNull(a.get(6));
        assertEquals("x", a.get(7));
        assertEquals(Map.of(), m.get("b"));
        assertEquals(List.of(), m.get("c"));
        assertThrows(UnsupportedOperationException.class, a::clear, "results are unmodifiable");
    }

    @Test
    void numbersKeepTheirExactValue() {
        assertEquals(Long.MAX_VALUE, Json.parse("9223372036854775807"));
        assertEquals(Long.MIN_VALUE, Json.parse("-9223372036854775808"));
        assertEquals(new BigDecimal("18446744073709551615"), Json.parse("18446744073709551615"));
        assertEquals(new BigDecimal("-0.0"), Json.parse("-0.0"));
        assertEquals(0L, Json.parse("-0"));
        assertEquals(new BigDecimal("1.5E-7"), Json.parse("1.5E-7"));
    }

    @Test
    void stringEscapes() {
        assertEquals("a\"b\\c/d\b\f\n\r\t\u00e9\u20ac\ud83d\ude00",
                Json.parse("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\u20AC\\ud83d\\ude00\""));
        assertEquals("h\u00e9llo \u65e5\u672c", Json.parse("\"h\u00e9llo \u65e5\u672c\""), "raw non-ASCII accepted");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "''|empty input|1|1",
        "'   '|empty input|1|4",
        "'[1,]'|trailing comma in array|1|4",
        "'{\"a\":1,}'|trailing comma in object|1|8",
        "'{\"a\":1 \"b\":2}'|expected ',' or '}'|1|8",
        "'[1 2]'|expected ',' or ']'|1|4",
        "'01'|leading zero|1|2",
        "'1.'|digit after '.'|1|3",
        "'1e'|exponent|1|3",
        "'-'|expected a digit|1|2",
        "'+1'|expected a value|1|1",
        "'.5'|expected a value|1|1",
        "'NaN'|expected a value|1|1",
        "'tru'|expected 'true'|1|1",
        "'nul'|expected 'null'|1|1",
        "'\"abc'|unterminated string|1|1",
        "'\"a\\x\"'|invalid escape sequence|1|3",
        "'\"\\u12G4\"'|invalid hex digit|1|2",
        "'\"\\u12\"'|truncated|1|2",
        "'{\"a\":1,\"a\":2}'|duplicate key \"a\"|1|8",
        "'{1:2}'|expected a string key|1|2",
        "'{\"a\" 1}'|expected ':'|1|6",
        "'[1] x'|after the JSON value|1|5",
        "'[\n1,\n]'|trailing comma in array|3|1",
        "'// c\n1'|expected a value|1|1",
        "'[1'|end of input|1|3",
    })
    void rejectsMalformedInputWithAPosition(String text, String phrase, int line, int column) {
        JsonException e = assertThrows(JsonException.class, () -> Json.parse(text));
        assertTrue(e.getMessage().contains(phrase), "'" + phrase + "' missing from: " + e.getMessage());
        assertEquals(line, e.line(), e.getMessage());
        assertEquals(column, e.column(), e.getMessage());
        assertTrue(e.getMessage().contains("line " + line + ", column " + column), e.getMessage());
    }

    @Test
    void rejectsRawControlCharactersInStrings() {
        JsonException e = assertThrows(JsonException.class, () -> Json.parse("\"a\u0001b\""));
        assertTrue(e.getMessage().contains("U+0001"), e.getMessage());
        assertEquals(2, e.offset());
        assertThrows(JsonException.class, () -> Json.parse("\"a\nb\""));
    }

    @Test
    void rejectsExcessiveNesting() {
        char[] deep = new char[100_000];
        Arrays.fill(deep, '[');
        JsonException e = assertThrows(JsonException.class, () -> Json.parse(new String(deep)));
        assertTrue(e.getMessage().contains("nesting deeper than"), e.getMessage());
        String ok = "[".repeat(JsonReader.MAX_DEPTH) + "]".repeat(JsonReader.MAX_DEPTH);
        assertTrue(Json.parse(ok) instanceof List);
    }
}
