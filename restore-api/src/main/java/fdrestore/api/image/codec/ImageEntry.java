package fdrestore.api.image.codec;

import com.google.protobuf.Message;
import java.util.Arrays;
import java.util.Objects;

/**
 * One entry of an image: the decoded message and the raw bytes that followed it in the image
 * ({@code null} when the image kind has no payload). The payload array is copied in and out.
 */
public final class ImageEntry {
    private final Message message;
    private final byte[] payload;

    public ImageEntry(Message message, byte[] payload) {
        this.message = Objects.requireNonNull(message, "message");
        this.payload = payload == null ? null : payload.clone();
    }

    /** An entry without payload. */
    public static ImageEntry of(Message message) {
        return new ImageEntry(message, null);
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

    /** A copy of the payload, or null when there is none. */
    public byte[] payload() {
        return payload == null ? null : payload.clone();
    }

    /** The payload length, or -1 when there is none. */
    public int payloadLength() {
        return payload == null ? -1 : payload.length;
    }

    boolean hasPayload() {
        return payload != null;
    }

    byte[] payloadNoCopy() {
        return payload;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ImageEntry e && message.equals(e.message) && Arrays.equals(payload, e.payload);
    }

    @Override
    public int hashCode() {
        return 31 * message.hashCode() + Arrays.hashCode(payload);
    }

    @Override
    public String toString() {
        return message.getDescriptorForType().getName() + "{" + message.toString().replace('\n', ' ').trim()
                + "}" + (payload == null ? "" : " + " + payload.length + " payload bytes");
    }
}
