/**
 * The Codec client library: frame codecs for the msgpack and protobuf wire modes, stream
 * decoding, tokenizer maps (validation, hashing, loading) and the detokenizer. It uses only
 * web-standard APIs, so it runs in browsers as well as in Node.
 */

export { BINARY_CONTENT_TYPES } from "./frame.js";
export type { BinaryStreamFormat, CodecFrame, StreamFormat, ToolCall } from "./frame.js";

export { validateTokenizerMap } from "./tokenizer-map.js";
export type {
  MapEncoder,
  PreTokenizerProgram,
  TokenizerMap,
  ToolCallingConvention,
  ZstdDictionaryEntry,
} from "./tokenizer-map.js";

export {
  CODEC_ERROR_CODES,
  CodecError,
  CodecFrameTooLargeError,
  CodecInvalidArgumentError,
  CodecInvalidHashError,
  CodecInvalidMapError,
  CodecMalformedFrameError,
  CodecMalformedRequestError,
  CodecMapFetchError,
  CodecMapHashMismatchError,
  CodecStreamMissingDoneError,
  CodecStreamTruncatedError,
  CodecUnsupportedHashAlgorithmError,
  isCodecError,
} from "./errors.js";
export type { CodecErrorCode, MalformedFrameDetails, StreamTruncatedDetails } from "./errors.js";

export { isTokenId, MAX_TOKEN_ID } from "./token-id.js";
export {
  decodeMsgpackFrame,
  decodeMsgpackFrameBytes,
  encodeMsgpackFrame,
} from "./msgpack-frame.js";
export {
  decodeProtobufFrameMessage,
  encodeProtobufFrame,
  encodeProtobufFrameMessage,
  PROTOBUF_PREFIX_BYTES,
} from "./protobuf-frame.js";
export { CODEC_PROTO_SCHEMA } from "./protobuf-schema.js";
export {
  decodeProtobufRequest,
  encodeMsgpackRequest,
  encodeProtobufRequest,
} from "./codec-request.js";
export type { CodecRequest } from "./codec-request.js";
export { decodeStream, DEFAULT_MAX_FRAME_BYTES } from "./decode-stream.js";
export type { DecodeStreamOptions } from "./decode-stream.js";

export { normalizeMapHash, sha256Hex } from "./map-hash.js";
export { clearMapCache, loadMap } from "./load-map.js";
export type { LoadMapOptions } from "./load-map.js";

export { BYTE_TO_CODE_POINT, byteLevelKeyToBytes, bytesToByteLevel } from "./byte-level.js";
export { Detokenizer } from "./detokenizer.js";
export type { RenderOptions } from "./detokenizer.js";
export { MAX_DETOKENIZER_ID } from "./detokenizer-table.js";
