/**
 * The logical Codec frame shared by the msgpack and protobuf wire modes.
 *
 * `ids` are raw vocabulary token IDs (uint32) generated since the previous frame.
 * The last frame of a stream has `done: true` and a `finish_reason`; nothing follows it.
 */
export interface CodecFrame {
  ids: number[];
  done: boolean;
  /** Present on the terminal frame: "stop", "length", "abort", "error" or another engine value. */
  finish_reason?: string;
  /** Tool-call regions that closed during the chunk this frame carries. */
  tool_calls?: ToolCall[];
}

/** A tool call detected by the server-side ToolWatcher. */
export interface ToolCall {
  /** The whole trimmed region body text, possibly empty. */
  arguments_json: string;
  name?: string;
  /** `tc_` followed by an 8-digit lowercase hex sequence number counted per request. */
  id?: string;
}

/** Binary wire modes that every Codec engine ships. */
export type BinaryStreamFormat = "msgpack" | "protobuf";

/**
 * Formats `decodeStream` reads: the binary wire modes and the opt-in delta variants, so a client
 * can pass the `stream_format` it requested. `msgpack-delta` frames carry zigzag ID differences.
 * `protobuf-delta` is read as plain protobuf: no implementation defines its field numbers, and
 * this server responds to a `protobuf-delta` request with plain protobuf frames.
 */
export type DecodableStreamFormat = BinaryStreamFormat | "msgpack-delta" | "protobuf-delta";

/**
 * Every value of the `stream_format` request field. `msgpack-delta` and `protobuf-delta` are the
 * opt-in delta-varint variants; a server may answer either with the plain format instead.
 */
export type StreamFormat = "json" | BinaryStreamFormat | "msgpack-delta" | "protobuf-delta";

/** Every `stream_format` that asks for Codec frames instead of JSON. */
export const FRAME_STREAM_FORMATS = [
  "msgpack",
  "protobuf",
  "msgpack-delta",
  "protobuf-delta",
] as const satisfies readonly DecodableStreamFormat[];

/** Every value of the `stream_format` request field. */
export const STREAM_FORMATS = [
  "json",
  ...FRAME_STREAM_FORMATS,
] as const satisfies readonly StreamFormat[];

/** Response Content-Type of each binary wire mode. */
export const BINARY_CONTENT_TYPES: Readonly<Record<BinaryStreamFormat, string>> = {
  msgpack: "application/x-msgpack",
  protobuf: "application/x-protobuf",
};
