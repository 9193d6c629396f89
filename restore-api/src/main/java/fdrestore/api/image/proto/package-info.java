/**
 * Protobuf messages generated from src/main/proto, wire-compatible with CRIU's images.
 *
 * <p>Generated; imports nothing of fdrestore. Anything may import it. The .proto files ship in the API jar
 * under {@code fdrestore/proto/}.
 */
package fdrestore.api.image.proto;
