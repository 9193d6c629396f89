package fdrestore.app;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A validator for the subset of JSON Schema (2020-12) that docs/fdrestore.schema.json uses: type (one or
 * a list), const, enum, properties, required, additionalProperties (false or a schema), items, minimum,
 * $ref to "#/$defs/NAME", oneOf and anyOf. A keyword outside this subset is an error, so the schema
 * cannot silently use one this validator would ignore. No JSON Schema library is served to this build
 * (json-schema-validator needs a Jackson stack); this one is small enough to read.
 */
final class SchemaValidator {
    private static final java.util.Set<String> KNOWN = java.util.Set.of("$schema", "$id", "$defs", "$ref", "title",
            "description", "type", "const", "enum", "properties", "required", "additionalProperties", "items",
            "minimum", "oneOf", "anyOf");

    private final Map<String, Object> root;

    SchemaValidator(Map<String, Object> root) {
        this.root = root;
    }

    /** The problems of {@code value} against the root schema; empty when it validates. */
    List<String> validate(Object value) {
        List<String> problems = new ArrayList<>();
        check(root, value, "$", problems);
        return problems;
    }

    @SuppressWarnings("unchecked")
    private void check(Map<String, Object> schema, Object v, String path, List<String> problems) {
        for (String k : schema.keySet()) {
            if (!KNOWN.contains(k)) {
                throw new IllegalArgumentException("schema keyword " + k + " at " + path + " is outside the validator's subset");
            }
        }
        if (schema.get("$ref") instanceof String ref) {
            String prefix = "#/$defs/";
            if (!ref.startsWith(prefix)) {
                throw new IllegalArgumentException("only local $defs references: " + ref);
            }
            Object def = ((Map<String, Object>) root.get("$defs")).get(ref.substring(prefix.length()));
            if (def == null) {
                throw new IllegalArgumentException("no definition " + ref);
            }
            check((Map<String, Object>) def, v, path, problems);
        }
        if (schema.containsKey("type")) {
            Object t = schema.get("type");
            List<Object> types = t instanceof List<?> l ? (List<Object>) l : List.of(t);
            if (types.stream().noneMatch(x -> is((String) x, v))) {
                problems.add(path + ": " + describe(v) + " is not " + types);
                return;
            }
        }
        if (schema.containsKey("const") && !same(schema.get("const"), v)) {
            problems.add(path + ": " + describe(v) + " is not " + schema.get("const"));
        }
        if (schema.get("enum") instanceof List<?> e && e.stream().noneMatch(x -> same(x, v))) {
            problems.add(path + ": " + describe(v) + " is none of " + e);
        }
        if (schema.get("minimum") instanceof Number min && v instanceof Number n
                && new BigDecimal(n.toString()).compareTo(new BigDecimal(min.toString())) < 0) {
            problems.add(path + ": " + n + " is below " + min);
        }
        if (v instanceof Map<?, ?> obj) {
            Map<String, Object> props = (Map<String, Object>) schema.getOrDefault("properties", Map.of());
            if (schema.get("required") instanceof List<?> req) {
                for (Object r : req) {
                    if (!obj.containsKey(r)) {
                        problems.add(path + ": member " + r + " is missing");
                    }
                }
            }
            for (Map.Entry<?, ?> m : obj.entrySet()) {
                String key = (String) m.getKey();
                Object sub = props.get(key);
                if (sub == null) {
                    sub = schema.get("additionalProperties");
                    if (Boolean.FALSE.equals(sub)) {
                        problems.add(path + ": member " + key + " is not in the schema");
                        continue;
                    }
                }
                if (sub instanceof Map<?, ?> s) {
                    check((Map<String, Object>) s, m.getValue(), path + "." + key, problems);
                }
            }
        }
        if (v instanceof List<?> list && schema.get("items") instanceof Map<?, ?> items) {
            for (int i = 0; i < list.size(); i++) {
                check((Map<String, Object>) items, list.get(i), path + "[" + i + "]", problems);
            }
        }
        for (String comb : List.of("oneOf", "anyOf")) {
            if (schema.get(comb) instanceof List<?> alts) {
                int matched = 0;
                List<String> why = new ArrayList<>();
                for (Object alt : alts) {
                    List<String> p = new ArrayList<>();
                    check((Map<String, Object>) alt, v, path, p);
                    if (p.isEmpty()) {
                        matched++;
                    } else {
                        why.add(p.get(0));
                    }
                }
                if (matched == 0 || (comb.equals("oneOf") && matched > 1)) {
                    problems.add(path + ": " + comb + " matched " + matched + " alternatives" + (matched == 0 ? ": " + why : ""));
                }
            }
        }
    }

    private static boolean is(String type, Object v) {
        return switch (type) {
            case "object" -> v instanceof Map;
            case "array" -> v instanceof List;
            case "string" -> v instanceof String;
            case "boolean" -> v instanceof Boolean;
            case "null" -> v == null;
            case "integer" -> v instanceof Long || v instanceof Integer
                    || v instanceof BigDecimal b && b.stripTrailingZeros().scale() <= 0;
            case "number" -> v instanceof Number;
            default -> throw new IllegalArgumentException("unknown type " + type);
        };
    }

    private static boolean same(Object a, Object b) {
        if (a instanceof Number x && b instanceof Number y) {
            return new BigDecimal(x.toString()).compareTo(new BigDecimal(y.toString())) == 0;
        }
        return java.util.Objects.equals(a, b);
    }

    private static String describe(Object v) {
        String s = String.valueOf(v);
        return s.length() > 60 ? s.substring(0, 60) + "..." : s;
    }
}
