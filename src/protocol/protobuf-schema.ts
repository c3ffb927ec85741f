/**
 * The `.proto` text of the Codec messages, as a server returns it from `GET /codec/schema`
 * (Content-Type `text/plain`).
 *
 * `CodecFrame` travels in protobuf streams behind a 4-byte unsigned big-endian length prefix.
 * `CodecRequest` is a `POST /v1/completions/codec` body and has no prefix. Its `temperature` is
 * `optional`, so code generated from this text (protobufjs, protoc) writes a temperature of 0
 * and the server decodes greedily. Without `optional`, proto3 code leaves a 0 out, and the
 * server samples at its default temperature. `optional` does not change the wire format. Field 4 of
 * `CodecFrame` is `tool_calls` on every engine that ships it. A proposed delta-varint
 * variant names field 4 `base_id` instead, so that variant is not supported here.
 */
export const CODEC_PROTO_SCHEMA = `syntax = "proto3";

message CodecFrame {
  repeated uint32 ids = 1;
  bool done = 2;
  optional string finish_reason = 3;
  repeated ToolCall tool_calls = 4;
}

message ToolCall {
  optional string name = 1;
  string arguments_json = 2;
  optional string id = 3;
}

message CodecRequest {
  repeated uint32 prompt_ids = 1;
  uint32 max_tokens = 2;
  optional float temperature = 3;
  repeated string stop = 4;
  string stream_format = 5;
}
`;
