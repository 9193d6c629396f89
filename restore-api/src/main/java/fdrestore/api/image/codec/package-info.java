/** CRIU image framing: magics, size-prefixed protobuf entries, raw payloads; strict, bounded decoding. */
package fdrestore.api.image.codec;
