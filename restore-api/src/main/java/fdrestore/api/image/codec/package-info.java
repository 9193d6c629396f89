/**
 * CRIU image framing: magics, size-prefixed protobuf entries, raw payloads; strict, bounded decoding.
 *
 * <p>Imports the generated messages. Imported by the image model, core's dump and restore, plugins and the app.
 */
package fdrestore.api.image.codec;
