/**
 * The Codec client library: frame codecs for the msgpack, msgpack-delta and protobuf wire
 * modes, stream decoding, tokenizer maps (validation, hashing, loading, building from Hugging
 * Face tokenizer.json), text encoding and decoding, translation between maps, the ToolWatcher,
 * `.well-known/codec/` discovery and version signalling. It uses only web-standard APIs, so it
 * runs in browsers as well as in Node.
 *
 * The zstd decoder is a separate entry point, `codec-serve/client/zstd` (zstd-decoder.ts), which
 * callers pass to `decodeResponse`. Nothing here imports it, so bundles of this entry point
 * leave the zstd-codec package out.
 */

export { BINARY_CONTENT_TYPES } from "./frame.js";
export type {
  BinaryStreamFormat,
  CodecFrame,
  DecodableStreamFormat,
  StreamFormat,
  ToolCall,
} from "./frame.js";

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
export {
  CodecInvalidPatternError,
  CodecInvalidProgramError,
  CodecInvalidTokenizerJsonError,
  CodecUnsupportedProgramVersionError,
  CodecUnsupportedTokenizerError,
  SUPPORTED_PROGRAM_VERSIONS,
  ToolWatcherError,
} from "./tokenizer-errors.js";
export {
  CodecDictHashMismatchError,
  CodecDiscoveryFetchError,
  CodecDiscoveryIdMismatchError,
  CodecDiscoveryNotFoundError,
  CodecDiscoveryPointerError,
  CodecVersionPolicyError,
  CodecVersionRequiredError,
} from "./discovery-errors.js";
export type { VersionRequiredDetails } from "./discovery-errors.js";
export type { CodecErrorCode, MalformedFrameDetails, StreamTruncatedDetails } from "./errors.js";

export { isTokenId, MAX_TOKEN_ID } from "./token-id.js";
export {
  decodeMsgpackFrame,
  decodeMsgpackFrameBytes,
  decodeMsgpackValue,
  encodeMsgpackFrame,
} from "./msgpack-frame.js";
export {
  decodeMsgpackDeltaFrame,
  encodeMsgpackDeltaFrame,
  isMsgpackDeltaFrame,
  MsgpackDeltaEncoder,
  zigzagDecode,
  zigzagEncode,
} from "./msgpack-delta-frame.js";
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
export type { CodecRequest, MsgpackCodecRequest } from "./codec-request.js";
export { decodeStream, DEFAULT_MAX_FRAME_BYTES } from "./decode-stream.js";
export {
  CODEC_ZSTD_DICT_HEADER,
  decodeContent,
  decodeResponse,
  readZstdDictHash,
} from "./content-encoding.js";
export type { ContentDecoder, DecodeResponseOptions, ZstdDecoder } from "./content-encoding.js";
export { CodecContentEncodingError, CodecZstdDictError } from "./content-encoding-errors.js";
export type { ZstdDictProblem } from "./content-encoding-errors.js";
export { CodecHttpError, parseHttpError, throwIfHttpError } from "./http-errors.js";
export type { HttpErrorDetails } from "./http-errors.js";
export type { DecodeStreamOptions } from "./decode-stream.js";

export { normalizeMapHash, sha256Hex } from "./map-hash.js";
export { clearMapCache, loadMap } from "./load-map.js";
export type { LoadMapOptions } from "./load-map.js";

export { BYTE_TO_CODE_POINT, byteLevelKeyToBytes, bytesToByteLevel } from "./byte-level.js";
export { Detokenizer } from "./detokenizer.js";
export type { DetokenizerOptions, RenderOptions } from "./detokenizer.js";
export { MAX_DETOKENIZER_ID } from "./detokenizer-table.js";

export { BPETokenizer } from "./bpe-tokenizer.js";
export type { BPETokenizerOptions, Tokenizer } from "./bpe-tokenizer.js";
export { LongestMatchTokenizer, pickTokenizer, tokenize } from "./tokenize.js";
export { compileProgram, runProgram } from "./pretokenizer-program.js";
export type { CompiledProgram } from "./pretokenizer-program.js";
export type { AlternationOp } from "./pretokenizer-op-types.js";
export type { ProgramStage } from "./pretokenizer-stages.js";
export { compilePreTokenizerPattern, splitByPattern } from "./pretokenizer-pattern.js";
export { METASPACE } from "./metaspace.js";
export { translate } from "./translate.js";
export type { TranslateOptions } from "./translate.js";
export { DEFAULT_REGION_CAP, ToolWatcher } from "./tool-watcher.js";
export type { ToolWatcherEvent } from "./tool-watcher.js";

export { buildMapFromTokenizerJson } from "./hf-tokenizer-json.js";
export type { BuildMapOptions, BuiltTokenizerMap } from "./hf-tokenizer-json.js";
export { serializeTokenizerMap, serializeTokenizerMapBytes } from "./map-serialize.js";
export type { SerializedTokenizerMap } from "./map-serialize.js";
export { detectToolCalling, TOOL_CALLING_CONVENTIONS } from "./tool-calling-conventions.js";

export { discoverMap, discoverZstdDict, wellKnownDictUrl, wellKnownMapUrl } from "./discover.js";
export type { DiscoverMapOptions, DiscoverZstdDictOptions, MapPointer } from "./discover.js";
export { WELL_KNOWN_CODEC_PATH } from "./well-known-fetch.js";
export {
  CODEC_CLIENT_VERSION,
  CODEC_CLIENT_VERSION_HEADER,
  CODEC_MIN_VERSION_HEADER,
  CODEC_REQUIRED_FEATURES_HEADER,
  fetchVersionPolicy,
  parseVersionRequired,
  throwIfVersionRequired,
  withCodecClientVersion,
} from "./version-signaling.js";
export type { FetchVersionPolicyOptions, VersionPolicy } from "./version-signaling.js";
