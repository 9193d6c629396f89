/**
 * CRIU image framing: magics, size-prefixed protobuf entries, raw payloads; strict, bounded decoding.
 *
 * <p>Imports the generated messages. Imported by the image model, dump, restore, plugins and the app.
 */
package fdrestore.core.image.codec;
