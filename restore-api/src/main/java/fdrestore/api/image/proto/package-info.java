/** Protobuf messages generated from src/main/proto, wire-compatible with CRIU's images. */
package fdrestore.api.image.proto;
