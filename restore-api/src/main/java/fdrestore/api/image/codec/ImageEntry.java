package fdrestore.api.image.codec;

import com.google.protobuf.Message;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Objects;

/**
 * One entry of an image: the decoded message and the raw bytes that followed it in the image
 * ({@code null} when the image kind has no payload). The bytes are a {@link Payload}, a view of the image
 * file or of the array it was read into: {@link #payloadView()} streams them; {@link #payload()} copies
 * them into an array and is for small payloads only.
 */
public final class ImageEntry {
    /** The largest payload {@link #payload()} copies into an array: 64 MiB. */
    public static final int MAX_PAYLOAD_ARRAY = 64 << 20;

    private final Message message;
    private final Payload payload;

    /** An entry whose payload is a copy of {@code payload} (null: none). */
    public ImageEntry(Message message, byte[] payload) {
        this(message, payload == null ? null : Payload.of(payload));
    }

    /** An entry whose payload is {@code payload} (null: none). */
    public ImageEntry(Message message, Payload payload) {
        this.message = Objects.requireNonNull(message, "message");
        this.payload = payload;
    }

    /** An entry without payload. */
    public static ImageEntry of(Message message) {
        return new ImageEntry(message, (Payload) null);
    }

    public Message message() {
        return message;
    }

    /** The message as type {@code type}; fails with a clear message when it is another type. */
    public <T extends Message> T message(Class<T> type) {
        if (!type.isInstance(message)) {
            throw new ClassCastException("entry is a " + message.getDescriptorForType().getName()
                    + ", not a " + type.getSimpleName());
        }
        return type.cast(message);
    }

    /** The payload as a view (nothing is read until it is read), or null when there is none. */
    public Payload payloadView() {
        return payload;
    }

    /**
     * A copy of the payload, or null when there is none: for small payloads (tests, a dump's own); one
     * above {@link #MAX_PAYLOAD_ARRAY} bytes is refused with an {@link UncheckedIOException}, before any
     * of it is read.
     */
    public byte[] payload() {
        if (payload == null) {
            return null;
        }
        try {
            return payload.bytes(MAX_PAYLOAD_ARRAY);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The payload length, or -1 when there is none. */
    public long payloadLength() {
        return payload == null ? -1 : payload.length();
    }

    boolean hasPayload() {
        return payload != null;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ImageEntry e && message.equals(e.message) && Objects.equals(payload, e.payload);
    }

    @Override
    public int hashCode() {
        return 31 * message.hashCode() + Objects.hashCode(payload);
    }

    @Override
    public String toString() {
        return message.getDescriptorForType().getName() + "{" + message.toString().replace('\n', ' ').trim()
                + "}" + (payload == null ? "" : " + " + payload.length() + " payload bytes");
    }
}
