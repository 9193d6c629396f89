/**
 * Protobuf messages generated from src/main/proto, wire-compatible with CRIU's images.
 *
 * <p>Generated; imports nothing of core. Anything may import it.
 */
package fdrestore.core.image.proto;
