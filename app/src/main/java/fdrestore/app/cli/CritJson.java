package fdrestore.app.cli;

import static fdrestore.app.cli.CritFields.SPECIAL;
import static fdrestore.app.cli.CritText.base64;
import static fdrestore.app.cli.CritText.flags;
import static fdrestore.app.cli.CritText.ipAddress;
import static fdrestore.app.cli.CritText.ipWords;
import static fdrestore.app.cli.CritText.parseInt;
import static fdrestore.app.cli.CritText.quotedPrintable;
import static fdrestore.app.cli.CritText.unbase64;
import static fdrestore.app.cli.CritText.unflags;
import static fdrestore.app.cli.CritText.unquotedPrintable;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.UnknownFieldSet;
import fdrestore.api.image.codec.ImageEntry;
import fdrestore.api.image.codec.ImageFile;
import fdrestore.api.image.codec.Magic;
import fdrestore.api.image.proto.GhostChunkEntry;
import fdrestore.api.image.proto.GhostFileEntry;
import fdrestore.api.image.proto.TcpStreamEntry;
import fdrestore.app.cli.CritFields.Conv;
import fdrestore.app.cli.CritFields.Special;
import java.io.ByteArrayOutputStream;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * An image as crit's JSON ({@code crit decode --pretty}), and back. The JSON is made by walking the
 * protobuf descriptors of fdrestore's own messages: one member per set field, in field-number order,
 * under the field's name; 64-bit integers as plain numbers; bytes as base64 in lines of 76 characters
 * (Python's {@code base64.encodebytes}); the raw payload after an entry under {@code "extra"} (for
 * tcp-stream an object with {@code inq} and {@code outq}). crit prints some fields specially, from
 * options criu's .proto files carry and fdrestore's do not: {@link CritFields#SPECIAL} lists them per field
 * (hexadecimal, open flags, a criu dictionary, an enum name, a device number, an IP address, a unix
 * socket name in quoted-printable). See docs/IMAGES.md, "crit's JSON".
 *
 * <p>protobuf-java-util's JsonFormat is not used: it prints 64-bit integers as strings, bytes on one
 * line, and has no notion of any of the special fields, so each of its documents would need rewriting
 * member by member, and it would bring guava and gson into the distribution for that.
 *
 * <p>A message fdrestore models only in part (the task core of core-N.img) keeps the fields it does not
 * know as protobuf unknown fields. They are written, in base64, under {@link #UNKNOWN}, a member crit
 * never prints, so that encode gives back the same bytes.
 */
public final class CritJson {
    /** The member holding the fields fdrestore's messages do not model (not crit's). */
    static final String UNKNOWN = "fdrestore_unknown_fields";

    private CritJson() {
    }

    /**
     * Image kinds fdrestore never reads for a restore but decodes for crit's JSON: no payload, entry 0 of
     * {@code head} type when there is one, then entries of {@code entry} type. Magic numbers are criu's.
     */
    record Extra(String critName, java.util.regex.Pattern fileName, int typeMagic, Message head, Message entry) {
    }

    static final List<Extra> EXTRA = List.of(
            new Extra("FILE_LOCKS", java.util.regex.Pattern.compile("filelocks\\.img"), 0x54323616, null,
                    fdrestore.api.image.proto.FileLockEntry.getDefaultInstance()),
            new Extra("MEMFD_INODE", java.util.regex.Pattern.compile("memfd\\.img"), 0x48453499, null,
                    fdrestore.api.image.proto.MemfdInodeEntry.getDefaultInstance()),
            new Extra("PAGEMAP", java.util.regex.Pattern.compile("pagemap(-shmem)?-[0-9]+\\.img"), 0x56084025,
                    fdrestore.api.image.proto.PagemapHead.getDefaultInstance(),
                    fdrestore.api.image.proto.PagemapEntry.getDefaultInstance()));

    /** The extra kind of a file name, or null. */
    static Extra extraFor(String fileName) {
        for (Extra x : EXTRA) {
            if (x.fileName().matcher(fileName).matches()) {
                return x;
            }
        }
        return null;
    }

    private static int intLE(byte[] b, int off) {
        return (b[off] & 0xff) | (b[off + 1] & 0xff) << 8 | (b[off + 2] & 0xff) << 16 | (b[off + 3] & 0xff) << 24;
    }

    /** crit's document of the image {@code bytes} ({@code source} names it in errors). */
    static Map<String, Object> decode(byte[] bytes, java.nio.file.Path source) throws fdrestore.api.image.codec.ImageFormatException {
        if (bytes.length >= 8 && intLE(bytes, 0) == Magic.COMMON_MAGIC) {
            for (Extra x : EXTRA) {
                if (intLE(bytes, 4) == x.typeMagic()) {
                    return decodeExtra(x, bytes, source);
                }
            }
        }
        return decode(fdrestore.api.image.codec.ImageReader.read(bytes, source, null));
    }

    private static Map<String, Object> decodeExtra(Extra x, byte[] b, java.nio.file.Path source)
            throws fdrestore.api.image.codec.ImageFormatException {
        List<Object> entries = new ArrayList<>();
        int pos = 8;
        for (int i = 0; pos < b.length; i++) {
            if (b.length - pos < 4) {
                throw new fdrestore.api.image.codec.ImageFormatException(source, i, pos, "truncated size prefix");
            }
            long len = Integer.toUnsignedLong(intLE(b, pos));
            if (len > b.length - pos - 4) {
                throw new fdrestore.api.image.codec.ImageFormatException(source, i, pos, "entry size " + len
                        + " bytes runs past the end of the file");
            }
            Message proto = i == 0 && x.head() != null ? x.head() : x.entry();
            try {
                entries.add(message(proto.getParserForType().parsePartialFrom(b, pos + 4, (int) len)));
            } catch (InvalidProtocolBufferException e) {
                throw new fdrestore.api.image.codec.ImageFormatException(source, i, pos + 4, "invalid protobuf for "
                        + proto.getDescriptorForType().getName() + ": " + e.getMessage(), e);
            }
            pos += 4 + (int) len;
        }
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("magic", x.critName());
        doc.put("entries", entries);
        return doc;
    }

    // ---- decode -----------------------------------------------------------------------------------

    /** crit's document of an image: {"magic": NAME, "entries": [...]}. */
    static Map<String, Object> decode(ImageFile image) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("magic", image.magic().critName());
        List<Object> entries = new ArrayList<>();
        for (ImageEntry e : image.entries()) {
            Message msg = e.message();
            if (image.magic() == Magic.CORE) {
                // a restore models the core in part; the image command reads all of it
                try {
                    msg = fdrestore.api.image.proto.CritCoreEntry.parser().parsePartialFrom(msg.toByteArray());
                } catch (InvalidProtocolBufferException ex) {
                    throw new IllegalArgumentException("core entry: " + ex.getMessage(), ex);
                }
            }
            Map<String, Object> m = message(msg);
            if (e.payload() != null) {
                byte[] p = e.payload();
                if (image.magic() == Magic.TCP_STREAM) {
                    TcpStreamEntry t = (TcpStreamEntry) e.message();
                    Map<String, Object> x = new LinkedHashMap<>();
                    int in = (int) Math.min(t.getInqLen(), p.length);
                    x.put("inq", base64(java.util.Arrays.copyOfRange(p, 0, in)));
                    x.put("outq", base64(java.util.Arrays.copyOfRange(p, in, p.length)));
                    m.put("extra", x);
                } else {
                    m.put("extra", base64(p));
                }
            }
            entries.add(m);
        }
        doc.put("entries", entries);
        return doc;
    }

    static Map<String, Object> message(Message msg) {
        return message(msg, false);
    }

    /** @param hex every integer as hex: crit's hex option on the field that holds this message */
    static Map<String, Object> message(Message msg, boolean hex) {
        Map<String, Object> d = new LinkedHashMap<>();
        String type = msg.getDescriptorForType().getName();
        for (Map.Entry<FieldDescriptor, Object> f : msg.getAllFields().entrySet()) {
            FieldDescriptor fd = f.getKey();
            Special sp = SPECIAL.get(type + "." + fd.getName());
            if (fd.isRepeated()) {
                List<?> values = (List<?>) f.getValue();
                List<Object> out = new ArrayList<>();
                if (sp != null && sp.conv() == Conv.IPADD) {
                    out.add(ipAddress(values));
                } else {
                    for (Object v : values) {
                        out.add(value(fd, v, sp, hex));
                    }
                }
                d.put(fd.getName(), out);
            } else {
                d.put(fd.getName(), value(fd, f.getValue(), sp, hex));
            }
        }
        if (!msg.getUnknownFields().asMap().isEmpty()) {
            d.put(UNKNOWN, base64(msg.getUnknownFields().toByteArray()));
        }
        return d;
    }

    private static Object value(FieldDescriptor fd, Object v, Special sp, boolean hex) {
        switch (fd.getJavaType()) {
            case MESSAGE:
                return message((Message) v, hex || sp != null && sp.conv() == Conv.HEX);
            case BYTE_STRING:
                byte[] b = ((ByteString) v).toByteArray();
                if (sp != null && sp.conv() == Conv.MESSAGE) {
                    try {
                        return message(sp.message().getParserForType().parsePartialFrom(b));
                    } catch (InvalidProtocolBufferException e) {
                        throw new IllegalArgumentException("field " + fd.getFullName() + ": not a "
                                + sp.message().getDescriptorForType().getName() + ": " + e.getMessage(), e);
                    }
                }
                return sp != null && sp.conv() == Conv.UNIX_NAME ? quotedPrintable(b) : base64(b);
            case ENUM:
                return ((com.google.protobuf.Descriptors.EnumValueDescriptor) v).getName();
            case BOOLEAN:
            case STRING:
                return v;
            case INT:
            case LONG:
                return integer(fd, ((Number) v).longValue(), hex && (sp == null || sp.conv() != Conv.ENUM)
                        ? Special.of(Conv.HEX) : sp);
            default:
                throw new IllegalArgumentException("field " + fd.getFullName() + ": type " + fd.getType() + " has no crit form");
        }
    }

    private static boolean unsigned(FieldDescriptor fd) {
        FieldDescriptor.Type t = fd.getType();
        return t == FieldDescriptor.Type.UINT32 || t == FieldDescriptor.Type.UINT64 || t == FieldDescriptor.Type.FIXED32
                || t == FieldDescriptor.Type.FIXED64;
    }

    private static Object integer(FieldDescriptor fd, long raw, Special sp) {
        boolean wide = fd.getJavaType() == FieldDescriptor.JavaType.LONG;
        long v = unsigned(fd) && !wide ? Integer.toUnsignedLong((int) raw) : raw;
        Number n = unsigned(fd) && wide && v < 0 ? new BigInteger(Long.toUnsignedString(v)) : (Number) v;
        if (sp == null) {
            return n;
        }
        switch (sp.conv()) {
            case HEX:
                return "0x" + (n instanceof BigInteger bi ? bi.toString(16) : Long.toHexString(v));
            case FLAGS:
                return flags(v, sp.flags());
            case DICT:
                return sp.names().containsKey(v) ? sp.names().get(v) : n;
            case ENUM:
                String name = sp.names().get(v);
                if (name == null) {
                    throw new IllegalArgumentException("field " + fd.getFullName() + ": " + v + " is no value of its enum");
                }
                return name;
            case DEV:
                return (v >>> 20) + ":" + (v & ((1 << 20) - 1));
            case ODEV:
                return (((v >>> 8) & 0xfff) | ((v >>> 32) & ~0xfffL)) + ":" + ((v & 0xff) | ((v >>> 12) & ~0xffL));
            default:
                return n;
        }
    }

    // ---- encode -----------------------------------------------------------------------------------

    /** The image bytes of a crit document; fails with a message naming the entry and the member. */
    static byte[] encodeBytes(Object json) {
        if (json instanceof Map<?, ?> doc && doc.get("entries") instanceof List<?> list) {
            for (Extra x : EXTRA) {
                if (x.critName().equals(doc.get("magic"))) {
                    ByteArrayOutputStream out = new ByteArrayOutputStream();
                    writeIntLE(out, Magic.COMMON_MAGIC);
                    writeIntLE(out, x.typeMagic());
                    for (int i = 0; i < list.size(); i++) {
                        if (!(list.get(i) instanceof Map<?, ?> e)) {
                            throw new IllegalArgumentException("entry " + i + ": an object is expected");
                        }
                        Message proto = i == 0 && x.head() != null ? x.head() : x.entry();
                        Message m;
                        try {
                            m = toMessage(e, proto.newBuilderForType(), "");
                        } catch (IllegalArgumentException ex) {
                            throw new IllegalArgumentException("entry " + i + ": " + ex.getMessage(), ex);
                        }
                        if (!m.isInitialized()) {
                            throw new IllegalArgumentException("entry " + i + ": missing " + m.findInitializationErrors());
                        }
                        byte[] body = m.toByteArray();
                        writeIntLE(out, body.length);
                        out.writeBytes(body);
                    }
                    return out.toByteArray();
                }
            }
        }
        return fdrestore.api.image.codec.ImageWriter.toBytes(encode(json));
    }

    private static void writeIntLE(ByteArrayOutputStream out, int v) {
        out.write(v);
        out.write(v >>> 8);
        out.write(v >>> 16);
        out.write(v >>> 24);
    }

    /** The image of a crit document; fails with a message naming the entry and the member. */
    static ImageFile encode(Object json) {
        if (!(json instanceof Map<?, ?> doc) || !(doc.get("magic") instanceof String name)
                || !(doc.get("entries") instanceof List<?> list)) {
            throw new IllegalArgumentException("not a crit image document: an object with \"magic\" and \"entries\" is expected");
        }
        Magic magic = null;
        for (Magic m : Magic.values()) {
            if (m.critName().equals(name)) {
                magic = m;
            }
        }
        if (magic == null) {
            throw new IllegalArgumentException("magic " + name + " is no image kind fdrestore knows");
        }
        List<ImageEntry> entries = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            if (!(list.get(i) instanceof Map<?, ?> e)) {
                throw new IllegalArgumentException("entry " + i + ": an object is expected");
            }
            Message proto = magic == Magic.GHOST_FILE && i > 0 ? GhostChunkEntry.getDefaultInstance()
                    : magic == Magic.CORE ? fdrestore.api.image.proto.CritCoreEntry.getDefaultInstance() : magic.prototype();
            Message m;
            try {
                m = toMessage(e, proto.newBuilderForType(), "");
                if (magic == Magic.CORE) {
                    m = magic.parser().parsePartialFrom(m.toByteArray());
                }
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException("entry " + i + ": " + ex.getMessage(), ex);
            } catch (InvalidProtocolBufferException ex) {
                throw new IllegalArgumentException("entry " + i + ": " + ex.getMessage(), ex);
            }
            byte[] payload = null;
            Object extra = e.get("extra");
            if (extra instanceof Map<?, ?> x) {
                byte[] in = unbase64(String.valueOf(x.get("inq")));
                byte[] out = unbase64(String.valueOf(x.get("outq")));
                payload = new byte[in.length + out.length];
                System.arraycopy(in, 0, payload, 0, in.length);
                System.arraycopy(out, 0, payload, in.length, out.length);
            } else if (extra instanceof String s) {
                payload = unbase64(s);
            } else if (magic.payloadKind() != Magic.PayloadKind.NONE && !(magic == Magic.GHOST_FILE && m instanceof GhostFileEntry g
                    && g.getChunks())) {
                payload = new byte[0]; // crit leaves out an empty payload
            }
            entries.add(new ImageEntry(m, payload));
        }
        return new ImageFile(magic, entries);
    }

    private static Message toMessage(Map<?, ?> d, Message.Builder b, String path) {
        String type = b.getDescriptorForType().getName();
        for (Map.Entry<?, ?> member : d.entrySet()) {
            String key = String.valueOf(member.getKey());
            if (key.equals("extra") && path.isEmpty()) {
                continue;
            }
            if (key.equals(UNKNOWN)) {
                try {
                    b.setUnknownFields(UnknownFieldSet.parseFrom(unbase64(String.valueOf(member.getValue()))));
                } catch (InvalidProtocolBufferException e) {
                    throw new IllegalArgumentException(path + key + ": " + e.getMessage(), e);
                }
                continue;
            }
            FieldDescriptor fd = b.getDescriptorForType().findFieldByName(key);
            if (fd == null) {
                throw new IllegalArgumentException(path + key + ": " + type + " has no such field in fdrestore's images");
            }
            Special sp = SPECIAL.get(type + "." + key);
            Object v = member.getValue();
            String where = path + key;
            if (fd.isRepeated()) {
                if (!(v instanceof List<?> values)) {
                    throw new IllegalArgumentException(where + ": a list is expected");
                }
                if (sp != null && sp.conv() == Conv.IPADD && !values.isEmpty() && values.get(0) instanceof String a) {
                    for (long w : ipWords(a)) {
                        b.addRepeatedField(fd, fieldValue(fd, w));
                    }
                    continue;
                }
                for (int i = 0; i < values.size(); i++) {
                    b.addRepeatedField(fd, single(fd, values.get(i), sp, b, where + "[" + i + "]"));
                }
            } else {
                b.setField(fd, single(fd, v, sp, b, where));
            }
        }
        return b.buildPartial();
    }

    private static Object single(FieldDescriptor fd, Object v, Special sp, Message.Builder parent, String where) {
        switch (fd.getJavaType()) {
            case MESSAGE:
                if (!(v instanceof Map<?, ?> m)) {
                    throw new IllegalArgumentException(where + ": an object is expected");
                }
                return toMessage(m, parent.newBuilderForField(fd), where + ".");
            case BYTE_STRING:
                if (sp != null && sp.conv() == Conv.MESSAGE) {
                    if (!(v instanceof Map<?, ?> m)) {
                        throw new IllegalArgumentException(where + ": an object is expected");
                    }
                    return toMessage(m, sp.message().newBuilderForType(), where + ".").toByteString();
                }
                String s = String.valueOf(v);
                return ByteString.copyFrom(sp != null && sp.conv() == Conv.UNIX_NAME ? unquotedPrintable(s) : unbase64(s));
            case BOOLEAN:
                if (!(v instanceof Boolean)) {
                    throw new IllegalArgumentException(where + ": true or false is expected");
                }
                return v;
            case STRING:
                return String.valueOf(v);
            case ENUM:
                com.google.protobuf.Descriptors.EnumValueDescriptor ev = fd.getEnumType().findValueByName(String.valueOf(v));
                if (ev == null) {
                    throw new IllegalArgumentException(where + ": " + v + " is no value of " + fd.getEnumType().getName());
                }
                return ev;
            case INT:
            case LONG:
                return fieldValue(fd, integerOf(v, sp, where));
            default:
                throw new IllegalArgumentException(where + ": type " + fd.getType() + " has no crit form");
        }
    }

    private static Object fieldValue(FieldDescriptor fd, long v) {
        return fd.getJavaType() == FieldDescriptor.JavaType.INT ? (Object) (int) v : (Object) v;
    }

    private static long integerOf(Object v, Special sp, String where) {
        if (v instanceof Long l) {
            return l;
        }
        if (v instanceof BigDecimal bd) {
            try {
                return bd.toBigIntegerExact().longValue();
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException(where + ": an integer is expected, not " + v);
            }
        }
        if (!(v instanceof String s)) {
            throw new IllegalArgumentException(where + ": an integer is expected, not " + v);
        }
        try {
            if (sp != null) {
                switch (sp.conv()) {
                    case FLAGS:
                        return unflags(s, sp.flags());
                    case DEV: {
                        String[] p = s.split(":");
                        return Long.parseLong(p[0]) << 20 | Long.parseLong(p[1]);
                    }
                    case ODEV: {
                        String[] p = s.split(":");
                        long major = Long.parseLong(p[0]);
                        long minor = Long.parseLong(p[1]);
                        return (major & 0xfff) << 8 | (major & ~0xfffL) << 32 | (minor & 0xff) | (minor & ~0xffL) << 12;
                    }
                    case DICT:
                    case ENUM:
                        for (Map.Entry<Long, String> n : sp.names().entrySet()) {
                            if (n.getValue().equals(s)) {
                                return n.getKey();
                            }
                        }
                        if (sp.conv() == Conv.ENUM) {
                            throw new IllegalArgumentException(s + " is no value of the field's enum");
                        }
                        break;
                    default:
                        break;
                }
            }
            return parseInt(s);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(where + ": " + (e.getMessage() != null ? e.getMessage() : "cannot read " + s), e);
        }
    }

}
