package fdrestore.core.image.codec;

/** Placeholder replaced by the codec (issue 2). */
final class Magic {
    private Magic() {
    }
}
