package fdrestore.core.json;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonWriterTest {

    private static Map<String, Object> sample() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", "fd");
        m.put("n", 3);
        m.put("list", List.of(1L, true, "x"));
        m.put("empty", Map.of());
        m.put("none", new ArrayList<>());
        m.put("nil", null);
        return m;
    }

    @Test
    void compactHasNoWhitespace() {
        assertEquals("{\"name\":\"fd\",\"n\":3,\"list\":[1,true,\"x\"],\"empty\":{},\"none\":[],\"nil\":null}",
                Json.compact(sample()));
    }

    @Test
    void prettyIsIndentedLikePythonJsonDumps() {
        assertEquals("{\n"
                + "    \"name\": \"fd\",\n"
                + "    \"n\": 3,\n"
                + "    \"list\": [\n"
                + "        1,\n"
                + "        true,\n"
                + "        \"x\"\n"
                + "    ],\n"
                + "    \"empty\": {},\n"
                + "    \"none\": [],\n"
                + "    \"nil\": null\n"
                + "}", Json.pretty(sample()));
        assertEquals("[\n  1\n]", JsonWriter.pretty().withIndent(2).write(List.of(1)));
    }

    @Test
    void escapesControlCharactersQuotesAndNonAscii() {
        String s = "q\"b\\s/\b\f\n\r\t\u0000\u001f\u007f\u00e9\u20ac\ud83d\ude00\u2028";
        assertEquals("\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0000\\u001f\\u007f\\u00e9\\u20ac\\ud83d\\ude00\\u2028\"",
                Json.compact(s));
        assertEquals("\"\u00e9\u20ac\ud83d\ude00\\u0001\\u2028\"",
                JsonWriter.compact().withAsciiOnly(false).write("\u00e9\u20ac\ud83d\ude00\u0001\u2028"));
        for (int c = 0; c < 0x20; c++) {
            String out = Json.compact(String.valueOf((char) c));
            assertTrue(out.chars().allMatch(ch -> ch >= 0x20 && ch < 0x7f), "escaped U+" + c + ": " + out);
        }
    }

    @Test
    void writtenTextParsesBackToTheSameValue() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("s", "tab\there \u00fc \ud83d\ude00 \u0000");
        m.put("big", new BigInteger("18446744073709551615"));
        m.put("dec", new BigDecimal("-12.5e-3"));
        m.put("nested", List.of(Map.of("k", List.of()), List.of(List.of())));
        for (String text : List.of(Json.pretty(m), Json.compact(m),
                JsonWriter.pretty().withAsciiOnly(false).write(m))) {
            Map<?, ?> back = (Map<?, ?>) Json.parse(text);
            assertEquals(m.get("s"), back.get("s"));
            assertEquals(0, new BigDecimal("18446744073709551615").compareTo((BigDecimal) back.get("big")));
            assertEquals(0, new BigDecimal("-12.5e-3").compareTo((BigDecimal) back.get("dec")));
            assertEquals(m.get("nested"), back.get("nested"));
        }
    }

    @Test
    void numbersAndOtherTypes() {
        assertEquals("[1,-2,3,4,1.5,2,\"NAME\",\"c\",[1,2],[true]]", Json.compact(List.of(1, -2L, (short) 3,
                (byte) 4, 1.5, 2.0, Kind.NAME, 'c',
                new int[] {1, 2}, new boolean[] {true})));
        assertEquals("[]", Json.compact(new Object[0]));
        assertEquals("[[]]", Json.pretty(List.of(List.of())).replaceAll("\\s", ""));
    }

    enum Kind { NAME }

    @Test
    void refusesWhatJsonCannotRepresent() {
        assertThrows(JsonException.class, () -> Json.compact(Double.NaN));
        assertThrows(JsonException.class, () -> Json.compact(Double.POSITIVE_INFINITY));
        Map<Object, Object> badKey = new HashMap<>();
        badKey.put(1, "x");
        assertThrows(JsonException.class, () -> Json.compact(badKey));
        assertThrows(JsonException.class, () -> Json.compact(new Object()));
        List<Object> self = new ArrayList<>();
        self.add(self);
        JsonException e = assertThrows(JsonException.class, () -> Json.compact(self));
        assertTrue(e.getMessage().contains("cyclic"), e.getMessage());
        // a shared (not cyclic) value is fine
        List<Integer> shared = Arrays.asList(1, 2);
        assertEquals("[[1,2],[1,2]]", Json.compact(List.of(shared, shared)));
    }
}
